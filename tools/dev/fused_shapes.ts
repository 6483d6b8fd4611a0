/**
 * Times Winograd F(2x2, 3x3) fused (winograd_fused, winograd_fused_wgrad) against unfused (transforms and
 * batched GEMMs through memory), interleaved, best of 7, and checks they agree: the forward, fused with each
 * band height in tile rows given after `forward`, or with `wgrad` the weight gradient, fused with each
 * group size in tiles given after it (0 or none: automatic).
 * Usage: deno run -A tools/dev/fused_shapes.ts [threads=2] [forward|wgrad] [sizes...]
 * @module
 */
import { createRuntime } from "../../runtime/mod.ts";
import * as K from "../../runtime/kernels/mod.ts";
import { same3x3 } from "./_conv.ts";
const threads = Number(Deno.args[0] ?? 2);
const wgrad = Deno.args[1] === "wgrad";
const sizes = Deno.args.slice(2).map(Number);
const variants = ["off", ...(sizes.length ? sizes : [0]).map((t) => `on:${t}`)];
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
  [8, 128, 28, 128],
  [8, 256, 14, 256],
  [16, 512, 7, 512],
];
for (const [n, cIn, hw, cOut] of shapes) {
  const g = same3x3(n, cIn, hw, cOut);
  const x = rt.heap.alloc(4 * n * cIn * hw * hw), w = rt.heap.alloc(4 * cOut * cIn * 9);
  const dy = rt.heap.alloc(4 * n * cOut * hw * hw);
  const outs = variants.map(() => rt.heap.alloc(4 * (wgrad ? cOut * cIn * 9 : n * cOut * hw * hw)));
  {
    const f = rt.heap.f32;
    for (let i = 0; i < n * cIn * hw * hw; i++) f[(x >> 2) + i] = Math.sin(i * 0.37);
    for (let i = 0; i < cOut * cIn * 9; i++) f[(w >> 2) + i] = Math.cos(i * 0.11) * 0.1;
    for (let i = 0; i < n * cOut * hw * hw; i++) f[(dy >> 2) + i] = Math.cos(i * 0.23);
  }
  const best = variants.map(() => 1e9);
  for (let r = 0; r < 8; r++) {
    for (const [i, v] of variants.entries()) {
      const [m, t] = v.split(":");
      const old = K.setWinogradFused(m as "on" | "off");
      const oldT = wgrad ? K.setWgradBandTiles(Number(t ?? 0)) : K.setFusedBandRows(Number(t ?? 0));
      const t0 = performance.now();
      if (wgrad) {
        await rt.enqueue(() => K.conv2dBackwardWeight(rt, g, { x, dy, dw: outs[i], dbias: 0 }));
      } else await rt.enqueue(() => K.conv2dForward(rt, g, { x, w, bias: 0, y: outs[i] }));
      if (r) best[i] = Math.min(best[i], performance.now() - t0);
      K.setWinogradFused(old);
      if (wgrad) K.setWgradBandTiles(oldT);
      else K.setFusedBandRows(oldT);
    }
  }
  const f = rt.heap.f32, len = wgrad ? cOut * cIn * 9 : n * cOut * hw * hw;
  const errs = outs.slice(1).map((o) => {
    let err = 0, sc = 0;
    for (let i = 0; i < len; i++) {
      err = Math.max(err, Math.abs(f[(outs[0] >> 2) + i] - f[(o >> 2) + i]));
      sc = Math.max(sc, Math.abs(f[(outs[0] >> 2) + i]));
    }
    return (err / sc).toExponential(1);
  });
  const cols = variants.slice(1).map((v, i) =>
    `${v} ${best[i + 1].toFixed(2)} (${(best[0] / best[i + 1]).toFixed(2)}x, err ${errs[i]})`
  );
  console.log(`n${n} ${cIn}->${cOut} ${hw}: unfused ${best[0].toFixed(2)} ms | ${cols.join(" | ")}`);
  for (const p of [x, w, dy, ...outs]) rt.heap.free(p);
}
await rt.close();
