/**
 * Times the F(2x2, 3x3) forward fused (winograd_fused) and unfused (transforms and batched GEMMs through
 * memory), interleaved, best of 7, and checks they agree. Usage: deno run -A tools/dev/fused_shapes.ts [threads=2]
 * @module
 */
import { createRuntime } from "../../runtime/mod.ts";
import * as K from "../../runtime/kernels/mod.ts";
import { same3x3 } from "./_conv.ts";
const threads = Number(Deno.args[0] ?? 2);
const rt = await createRuntime({ backend: threads > 1 ? "wasm-mt" : "wasm", threads });
const shapes: number[][] = [
  [128, 16, 32, 16],
  [128, 32, 16, 32],
  [128, 64, 8, 64],
  [64, 16, 32, 16],
  [8, 16, 32, 16],
  [8, 64, 56, 64],
  [1, 64, 56, 64],
  [1, 16, 32, 16],
];
for (const [n, cIn, hw, cOut] of shapes) {
  const g = same3x3(n, cIn, hw, cOut);
  const x = rt.heap.alloc(4 * n * cIn * hw * hw),
    w = rt.heap.alloc(4 * cOut * cIn * 9),
    y = rt.heap.alloc(4 * n * cOut * hw * hw),
    y2 = rt.heap.alloc(4 * n * cOut * hw * hw);
  {
    const f = rt.heap.f32;
    for (let i = 0; i < n * cIn * hw * hw; i++) f[(x >> 2) + i] = Math.sin(i * 0.37);
    for (let i = 0; i < cOut * cIn * 9; i++) f[(w >> 2) + i] = Math.cos(i * 0.11) * 0.1;
  }
  const best: Record<string, number> = { off: 1e9, on: 1e9 };
  for (let r = 0; r < 8; r++) {
    for (const m of ["off", "on"] as const) {
      const old = K.setWinogradFused(m);
      const t0 = performance.now();
      await rt.enqueue(() => K.conv2dForward(rt, g, { x, w, bias: 0, y: m === "on" ? y2 : y }));
      if (r) best[m] = Math.min(best[m], performance.now() - t0);
      K.setWinogradFused(old);
    }
  }
  const f = rt.heap.f32;
  let err = 0, sc = 0;
  for (let i = 0; i < n * cOut * hw * hw; i++) {
    err = Math.max(err, Math.abs(f[(y >> 2) + i] - f[(y2 >> 2) + i]));
    sc = Math.max(sc, Math.abs(f[(y >> 2) + i]));
  }
  console.log(
    `n${n} ${cIn}->${cOut} ${hw}: unfused ${best.off.toFixed(2)} fused ${best.on.toFixed(2)} ms ${
      (best.off / best.on).toFixed(2)
    }x relerr ${(err / sc).toExponential(1)}`,
  );
  for (const p of [x, w, y, y2]) rt.heap.free(p);
}
await rt.close();
