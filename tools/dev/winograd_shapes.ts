/**
 * Times 3x3 stride-1 convolutions (forward, or with `--wgrad` the weight gradient) as implicit GEMM and
 * as Winograd F(2x2, 3x3), interleaved, best of several runs each, on ResNet-18/50 (batch 1) and
 * ResNet-20 CIFAR (batch 128) shapes.
 * Usage: deno run -A tools/dev/winograd_shapes.ts [threads=1] [--wgrad]
 * @module
 */
import { createRuntime } from "../../runtime/mod.ts";
import * as K from "../../runtime/kernels/mod.ts";

const wgrad = Deno.args.includes("--wgrad");
const threads = Number(Deno.args.filter((a) => a !== "--wgrad")[0] ?? 1);
const rt = await createRuntime({ backend: threads > 1 ? "wasm-mt" : "wasm", threads });
// Time per kernel of the Winograd path (the last round of each shape).
const parts = new Map<string, number>();
const exec = rt.exec.bind(rt);
rt.exec = async (k, a, o) => {
  const t0 = performance.now();
  await exec(k, a, o);
  parts.set(k, (parts.get(k) ?? 0) + performance.now() - t0);
};
// [images, channels in, h = w, channels out]
const shapes: number[][] = [
  [1, 64, 56, 64],
  [1, 128, 28, 128],
  [1, 256, 14, 256],
  [1, 512, 7, 512],
  [128, 16, 32, 16],
  [128, 32, 16, 32],
  [128, 64, 8, 64],
  [8, 16, 32, 16],
];
for (const [n, cIn, hw, cOut] of shapes) {
  const g: K.Conv2dGeometry = {
    n,
    cIn,
    h: hw,
    w: hw,
    cOut,
    kh: 3,
    kw: 3,
    strideH: 1,
    strideW: 1,
    padTop: 1,
    padBottom: 1,
    padLeft: 1,
    padRight: 1,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
    outH: hw,
    outW: hw,
  };
  const x = rt.heap.alloc(4 * n * cIn * hw * hw), w = rt.heap.alloc(4 * cOut * cIn * 9);
  const y = rt.heap.alloc(4 * n * cOut * hw * hw);
  rt.heap.f32.fill(0.5, x >> 2, (x >> 2) + n * cIn * hw * hw);
  rt.heap.f32.fill(0.25, w >> 2, (w >> 2) + cOut * cIn * 9);
  rt.heap.f32.fill(0.125, y >> 2, (y >> 2) + n * cOut * hw * hw);
  const best: Record<string, number> = { gemm: Infinity, winograd: Infinity };
  for (let round = 0; round < 7; round++) {
    parts.clear();
    for (const algo of ["gemm", "winograd"] as const) {
      const old = K.setConvAlgorithm(algo);
      const t0 = performance.now();
      if (wgrad) await rt.enqueue(() => K.conv2dBackwardWeight(rt, g, { dy: y, x, dw: w, dbias: 0 }));
      else await rt.enqueue(() => K.conv2dForward(rt, g, { x, w, bias: 0, y }));
      best[algo] = Math.min(best[algo], performance.now() - t0);
      K.setConvAlgorithm(old);
    }
  }
  const flops = 2 * n * cOut * cIn * 9 * hw * hw;
  const gf = (ms: number) => (flops / ms / 1e6).toFixed(1);
  console.log(
    `n${n} ${cIn}->${cOut} ${hw}x${hw}: gemm ${best.gemm.toFixed(2)} ms (${gf(best.gemm)} GF/s)` +
      ` winograd ${best.winograd.toFixed(2)} ms (${gf(best.winograd)} effective) ${
        (best.gemm / best.winograd).toFixed(2)
      }x auto=${(wgrad ? K.useWinogradWgrad : K.useWinograd)(g) ? "winograd" : "gemm"}\n   ` +
      [...parts].filter(([k]) => /winograd|batched/.test(k)).map(([k, ms]) => `${k} ${ms.toFixed(2)}`).join(
        ", ",
      ),
  );
  for (const p of [x, w, y]) rt.heap.free(p);
}
await rt.close();
