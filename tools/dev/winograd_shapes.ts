/**
 * Times 3x3 stride-1 convolutions as implicit GEMM, Winograd F(2x2, 3x3) and F(4x4, 3x3), interleaved
 * (one run of each in turn per round), best of several rounds, on ResNet-18/50 and CIFAR shapes. The
 * forward times are inference times: the Winograd weights are transformed beforehand (as a frozen model
 * does), or with `--raw` on every call (as an eval forward does). With `--wgrad`, the weight gradient
 * instead (GEMM vs F(2x2, 3x3)).
 * Usage: deno run -A tools/dev/winograd_shapes.ts [threads=1] [--wgrad] [--raw] [--rounds=7] [--batch=1,64,128]
 *   [--shapes=n:cIn:hw:cOut,...]
 * @module
 */
import { createRuntime } from "../../runtime/mod.ts";
import * as K from "../../runtime/kernels/mod.ts";
import { same3x3 } from "./_conv.ts";

const flag = (name: string) => Deno.args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const wgrad = Deno.args.includes("--wgrad"), raw = Deno.args.includes("--raw");
const threads = Number(Deno.args.filter((a) => !a.startsWith("--"))[0] ?? 1);
const rounds = Number(flag("rounds") ?? 7);
const batches = (flag("batch") ?? "1,64,128").split(",").map(Number);
const rt = await createRuntime({ backend: threads > 1 ? "wasm-mt" : "wasm", threads });
// Time per kernel of each algorithm (all rounds).
const parts = new Map<string, number>();
let current = "";
const exec = rt.exec.bind(rt);
rt.exec = async (k, a, o) => {
  const t0 = performance.now();
  await exec(k, a, o);
  const key = `${current}:${k}`;
  parts.set(key, (parts.get(key) ?? 0) + performance.now() - t0);
};
// [images, channels in, h = w, channels out]: ResNet at batch 1 (and the small maps at 8), CIFAR at each batch.
// `--shapes=n:cIn:hw:cOut,...` replaces the list.
const shapes: number[][] = flag("shapes")?.split(",").map((s) => s.split(":").map(Number)) ?? [
  [1, 64, 56, 64],
  [1, 128, 28, 128],
  [1, 256, 14, 256],
  [1, 512, 7, 512],
  [8, 256, 14, 256],
  [8, 512, 7, 512],
  ...batches.flatMap((n) => [[n, 16, 32, 16], [n, 32, 16, 32], [n, 64, 8, 64]]),
];
const algos = wgrad ? ["gemm", "winograd"] as const : ["gemm", "winograd", "winograd43"] as const;
for (const [n, cIn, hw, cOut] of shapes) {
  const g = same3x3(n, cIn, hw, cOut);
  const x = rt.heap.alloc(4 * n * cIn * hw * hw), w = rt.heap.alloc(4 * cOut * cIn * 9);
  const y = rt.heap.alloc(4 * n * cOut * hw * hw);
  const u23 = rt.heap.alloc(4 * 16 * cOut * cIn), u43 = rt.heap.alloc(4 * 36 * cOut * cIn);
  rt.heap.f32.fill(0.5, x >> 2, (x >> 2) + n * cIn * hw * hw);
  rt.heap.f32.fill(0.25, w >> 2, (w >> 2) + cOut * cIn * 9);
  rt.heap.f32.fill(0.125, y >> 2, (y >> 2) + n * cOut * hw * hw);
  await rt.enqueue(() => K.winogradWeights(rt, { w, u: u23, k: cOut, c: cIn }));
  await rt.enqueue(() => K.winogradWeights(rt, { w, u: u43, k: cOut, c: cIn, variant: "f43" }));
  const best: Record<string, number> = { gemm: Infinity, winograd: Infinity, winograd43: Infinity };
  parts.clear();
  for (let round = 0; round < rounds; round++) {
    for (const algo of algos) {
      const old = K.setConvAlgorithm(algo);
      current = algo;
      const t0 = performance.now();
      if (wgrad) await rt.enqueue(() => K.conv2dBackwardWeight(rt, g, { dy: y, x, dw: w, dbias: 0 }));
      else {
        const [u, uVariant] = algo === "winograd43" ? [u43, "f43" as const] : [u23, "f23" as const];
        const pre = raw ? {} : { u, uVariant };
        await rt.enqueue(() => K.conv2dForward(rt, g, { x, w, bias: 0, y, ...pre, inference: true }));
      }
      best[algo] = Math.min(best[algo], performance.now() - t0);
      K.setConvAlgorithm(old);
    }
  }
  const auto = wgrad ? (K.useWinogradWgrad(g) ? "f23" : "gemm") : K.winogradVariant(g, true, !raw) ?? "gemm";
  const ms = (a: string) => best[a].toFixed(2);
  const line = wgrad
    ? `gemm ${ms("gemm")} f23 ${ms("winograd")} ms, gemm/f23 ${(best.gemm / best.winograd).toFixed(2)}`
    : `gemm ${ms("gemm")} f23 ${ms("winograd")} f43 ${ms("winograd43")} ms, f23/f43 ${
      (best.winograd / best.winograd43).toFixed(2)
    } gemm/f43 ${(best.gemm / best.winograd43).toFixed(2)}`;
  console.log(`t${threads} n${n} ${cIn}->${cOut} ${hw}x${hw}: ${line} auto=${auto}`);
  const share = [...parts].filter(([k]) => !k.startsWith("gemm:")).map(([k, t]) =>
    `${k.replace("winograd43:", "f43:").replace("winograd:", "f23:")} ${(t / rounds).toFixed(2)}`
  );
  console.log(`   mean per run: ${share.join(", ")}`);
  for (const p of [x, w, y, u23, u43]) rt.heap.free(p);
}
await rt.close();
