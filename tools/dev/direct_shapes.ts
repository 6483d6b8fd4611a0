/**
 * Times 3x3 stride-1 convolutions (forward, or with `--wgrad` the weight gradient) with each algorithm
 * forced (implicit GEMM, Winograd F(2x2, 3x3), direct), interleaved, best of 7 runs each, and prints
 * which one "auto" picks. Usage: deno run -A tools/dev/direct_shapes.ts [threads=1] [--wgrad]
 * @module
 */
import { createRuntime } from "../../runtime/mod.ts";
import * as K from "../../runtime/kernels/mod.ts";
import { same3x3 } from "./_conv.ts";

const wgrad = Deno.args.includes("--wgrad");
const threads = Number(Deno.args.filter((a) => !a.startsWith("--"))[0] ?? 1);
const rt = await createRuntime({ backend: threads > 1 ? "wasm-mt" : "wasm", threads });
// [images, channels in, h = w, channels out]
const shapes = [
  [128, 3, 32, 16],
  [128, 16, 32, 16],
  [128, 16, 32, 32],
  [128, 32, 16, 32],
  [128, 64, 8, 64],
  [1, 3, 224, 64],
  [1, 64, 56, 64],
];
const algos = ["gemm", "winograd", "direct"] as const;
for (const [n, cIn, hw, cOut] of shapes) {
  const g = same3x3(n, cIn, hw, cOut);
  const x = rt.heap.alloc(4 * n * cIn * hw * hw), w = rt.heap.alloc(4 * cOut * cIn * 9);
  const y = rt.heap.alloc(4 * n * cOut * hw * hw);
  rt.heap.f32.fill(0.5, x >> 2, (x >> 2) + n * cIn * hw * hw);
  rt.heap.f32.fill(0.25, w >> 2, (w >> 2) + cOut * cIn * 9);
  rt.heap.f32.fill(0.125, y >> 2, (y >> 2) + n * cOut * hw * hw);
  const auto = wgrad
    ? (K.useDirectWgrad(g) ? "direct" : K.useWinogradWgrad(g) ? "winograd" : "gemm")
    : (K.useDirect(g) ? "direct" : K.useWinograd(g) ? "winograd" : "gemm");
  const best: Record<string, number> = { gemm: Infinity, winograd: Infinity, direct: Infinity };
  for (let round = 0; round < 8; round++) {
    for (const algo of algos) {
      const old = K.setConvAlgorithm(algo);
      const t0 = performance.now();
      if (wgrad) await rt.enqueue(() => K.conv2dBackwardWeight(rt, g, { dy: y, x, dw: w, dbias: 0 }));
      else await rt.enqueue(() => K.conv2dForward(rt, g, { x, w, bias: 0, y }));
      if (round > 0) best[algo] = Math.min(best[algo], performance.now() - t0);
      K.setConvAlgorithm(old);
    }
  }
  const flops = 2 * n * cOut * cIn * 9 * hw * hw;
  console.log(
    `n${n} ${cIn}->${cOut} ${hw}x${hw} ${wgrad ? "wgrad" : "forward"}: ` +
      algos.map((a) => `${a} ${best[a].toFixed(2)} ms (${(flops / best[a] / 1e6).toFixed(1)})`).join(", ") +
      `; direct vs best other ${
        (Math.min(best.gemm, best.winograd) / best.direct).toFixed(2)
      }x; auto=${auto}`,
  );
  for (const p of [x, w, y]) rt.heap.free(p);
}
await rt.close();
