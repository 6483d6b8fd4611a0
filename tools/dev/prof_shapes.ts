/**
 * Profiles one training step of a model: step time, then per-shape time (and GF/s) of the GEMM-like
 * kernels (`sgemm`, `conv2d_gemm`), and the time of every other kernel by name.
 * Usage: deno run -A tools/dev/prof_shapes.ts [model=resnet8_cifar] [batch=128] [threads=2] [steps=3]
 * [--eval] (`--eval`: eval-mode inference of the model at its own input size instead of a training step)
 * @module
 */
import * as cnn from "../../mod.ts";
import { sgdStep } from "../../bench/_util.ts";

const evalMode = Deno.args.includes("--eval");
const args = Deno.args.filter((a) => a !== "--eval");
await cnn.init({ threads: Number(args[2] ?? 2) });
const rt = cnn.runtime();
const steps = Number(args[3] ?? 3);
const times = new Map<string, [number, number, number]>();
const orig = rt.exec.bind(rt);

function label(k: string, a: readonly number[], units: number, cost: number): string {
  switch (k) {
    case "sgemm":
      return `sgemm m${a[3]} n${a[4]} k${a[5]} f${a[9]} nt${a[10]} u${units}`;
    case "conv2d_gemm":
    case "conv2d_gemm_wgrad": {
      // (w, x, c, m, cig, imgStride, nimg, h, w, kh, kw, sh, sw, pt, pl, dh, dw, outH, outW, nt)
      const [m, cig, , nimg, h, w, kh, kw, sh] = a.slice(3);
      const n = nimg * a[17] * a[18], kk = cig * kh * kw;
      if (k === "conv2d_gemm") {
        return `conv2d_gemm m${m} n${n} k${kk} ${h}x${w} ${kh}x${kw}/${sh} nt${a[19]} u${units}`;
      }
      return `conv2d_gemm_wgrad m${m} n${kk} k${n} ${h}x${w} ${kh}x${kw}/${sh} nt${a[20]} u${units}`;
    }
    case "im2col":
      return `im2col u${units} cost${cost}`;
  }
  return k;
}

// deno-lint-ignore no-explicit-any
(rt as any).exec = async (k: string, a: number[], o: { units: number; cost?: number }) => {
  const t0 = performance.now();
  await orig(k, a, o);
  const key = label(k, a, o.units, o.cost ?? o.units);
  const e = times.get(key) ?? [0, 0, 0];
  e[0] += performance.now() - t0;
  e[1]++;
  e[2] += o.cost ?? o.units;
  times.set(key, e);
};
const model = args[0] ?? "resnet8_cifar";
const B = Number(args[1] ?? 128);
let step: () => Promise<void>;
if (evalMode) {
  const net = cnn.models.create(model);
  const [c, h, w] = cnn.models.entry(model).inputSize;
  const x = cnn.tensor(new Float32Array(B * c * h * w).map(() => Math.random()), [B, c, h, w]);
  net.eval();
  step = async () => {
    const out = cnn.noGrad(() => net.forward(x));
    await out.toArray();
    out.dispose();
  };
} else {
  const net = cnn.models.create(model, { inChannels: 1, numClasses: 10 });
  const x = cnn.tensor(new Float32Array(B * 784).map(() => Math.random()), [B, 1, 28, 28]);
  step = sgdStep(net, x, 0.1);
}
await step();
times.clear();
const t0 = performance.now();
for (let i = 0; i < steps; i++) await step();
console.log(`step ${((performance.now() - t0) / steps).toFixed(1)} ms`);
for (const [k, [t, c, f]] of [...times].sort((a, b) => b[1][0] - a[1][0])) {
  const gf = /^(sgemm|conv2d_gemm)/.test(k) ? (f / t / 1e6).toFixed(1) + " GF/s" : "";
  console.log(k.padEnd(62), (t / steps).toFixed(1), "ms", c / steps, "calls", gf);
}
await cnn.shutdown();
