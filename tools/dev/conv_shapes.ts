/**
 * Times `conv2d_gemm` alone on ResNet-CIFAR-like shapes (one group, one chunk), against im2col + sgemm.
 * Usage: deno run -A tools/dev/conv_shapes.ts [threads=1]
 * @module
 */
import { createRuntime } from "../../runtime/mod.ts";
import * as K from "../../runtime/kernels/mod.ts";

const threads = Number(Deno.args[0] ?? 1);
const rt = await createRuntime({ backend: threads > 1 ? "wasm-mt" : "wasm", threads });
/** The fastest of n timed runs (the machine is shared; the minimum is the least disturbed). */
const time = async (f: () => Promise<void>, n = 7) => {
  await f();
  let best = Infinity;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await f();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
};
// [images, cin, h, w, cout, k, stride, pad]
const shapes: number[][] = [
  [128, 16, 28, 28, 16, 3, 1, 1],
  [128, 32, 14, 14, 32, 3, 1, 1],
  [128, 64, 7, 7, 64, 3, 1, 1],
  [128, 16, 28, 28, 32, 3, 2, 1],
  [128, 32, 14, 14, 64, 3, 2, 1],
  [128, 16, 28, 28, 32, 1, 1, 0],
];
for (const [n, cIn, h, w, cOut, k, s, pad] of shapes) {
  const outH = Math.floor((h + 2 * pad - k) / s) + 1, outW = Math.floor((w + 2 * pad - k) / s) + 1;
  const hw = outH * outW, kk = cIn * k * k, cols = n * hw;
  const x = rt.heap.alloc(4 * n * cIn * h * w), wt = rt.heap.alloc(4 * cOut * kk);
  const t = rt.heap.alloc(4 * cOut * cols), col = rt.heap.alloc(4 * kk * cols);
  rt.heap.f32.fill(0.5, x >> 2, (x >> 2) + n * cIn * h * w);
  rt.heap.f32.fill(0.25, wt >> 2, (wt >> 2) + cOut * kk);
  const geo = [h, w, k, k, s, s, pad, pad, 1, 1, outH, outW];
  const { nt, units } = K.gemmTiling(cOut, cols, threads);
  const flops = 2 * cOut * cols * kk;
  const implicit = await time(() =>
    rt.run("conv2d_gemm", [wt, x, t, cOut, cIn, cIn * h * w, n, ...geo, nt], {
      units,
      cost: flops,
      scratchBytes: K.GEMM_SCRATCH_BYTES,
    })
  );
  const i2c = await time(() =>
    rt.run("im2col", [x, col, cIn, cIn * h * w, cols, ...geo], { units: n * kk, cost: n * kk * hw })
  );
  const gemm = await time(() =>
    rt.enqueue(() => K.gemm(rt, { m: cOut, n: cols, k: kk, a: wt, b: col, c: t }))
  );
  const gf = (ms: number) => `${(flops / ms / 1e6).toFixed(1)} GF/s`;
  console.log(
    `m${cOut} n${cols} k${kk} ${h}x${w} ${k}x${k}/${s}: conv2d_gemm ${implicit.toFixed(2)} ms ${
      gf(implicit)
    }` +
      ` | im2col ${i2c.toFixed(2)} + sgemm ${gemm.toFixed(2)} ms ${gf(gemm)}`,
  );
  for (const p of [x, wt, t, col]) rt.heap.free(p);
}
await rt.close();
