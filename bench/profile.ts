/**
 * `deno task bench --profile=<model> [--batch=1] [--size=224] [--threads=2] [--frozen] [--train]
 * [--top=12] [--options=<json>]`: time per layer type (the kernels each op launches, grouped) of eval-mode inference, of the
 * frozen model (`--frozen`, cnn.nn.freeze) or of a training step (`--train`: forward, backward, SGD),
 * with the convolutions' GFLOP/s against the Wasm SIMD peak measured in the same run, then the `--top`
 * kernel launches by total time (kernel and its size arguments), so the next optimization is obvious.
 * Kernels are awaited one by one here, so the total is a little above the plain run's.
 * @module
 */
import * as cnn from "../mod.ts";
import { type BenchFlags, sgdStep, timeMs } from "./_util.ts";

/** The layer type a kernel works for. */
function layerType(kernel: string): string {
  if (kernel.startsWith("winograd") || kernel === "sgemm_batched") return "convolution (Winograd)";
  if (/^(conv2d_gemm|sgemm|from_cnhw|to_cnhw|im2col|col2im|bias_relu|bias_add|flip_weights)/.test(kernel)) {
    return "convolution / linear (GEMM)";
  }
  if (kernel.startsWith("batchnorm")) return "batch norm";
  if (kernel.startsWith("relu")) return "ReLU";
  if (kernel.startsWith("add_scaled") || kernel === "axpy") return "residual add";
  if (kernel.includes("pool")) return "pooling";
  if (kernel.startsWith("lrn")) return "LRN";
  if (kernel.startsWith("copy") || kernel.startsWith("concat")) return "concat / copy";
  if (kernel.startsWith("sgd")) return "optimizer";
  if (kernel.includes("softmax") || kernel.includes("cross")) return "loss";
  return kernel;
}

/** A launch's signature: the kernel and its small integer arguments (sizes, not pointers). */
function signature(kernel: string, args: readonly number[]): string {
  const sizes = args.filter((a) => Number.isInteger(a) && a >= 0 && a < 65536);
  return `${kernel}(${sizes.join(",")})`;
}

/** Profiles `model`; returns the lines to print. */
export async function profile(model: string, flags: BenchFlags, args: readonly string[]): Promise<string[]> {
  const get = (k: string, d: number) => Number(args.find((a) => a.startsWith(`--${k}=`))?.split("=")[1] ?? d);
  const train = args.includes("--train"), frozenMode = args.includes("--frozen");
  const batch = get("batch", train ? 128 : 1);
  const top = get("top", 12);
  const optArg = args.find((a) => a.startsWith("--options="));
  const options = optArg ? JSON.parse(optArg.slice("--options=".length)) : undefined;
  await cnn.init({ threads: flags.threads });
  const size = get("size", cnn.models.entry(model).inputSize[1]);
  const s = await cnn.models.summary(model, { inputSize: [3, size, size], modelOptions: options });
  const rt = cnn.runtime();
  // The peak of this runtime (the bench's `peak` probe).
  const out = rt.heap.alloc(16 * rt.threads);
  const units = 8 * rt.threads, iters = 100_000;
  const peakMs = await timeMs(
    () => rt.run("probe_peak", [1.0001, 0.5, iters, out], { units, cost: 1e12 }),
    3,
  );
  rt.heap.free(out);
  const peak = 128 * iters * units / peakMs / 1e6;

  const net = cnn.models.create(model, options);
  const shape = [batch, 3, size, size];
  const x = cnn.tensor(new Float32Array(batch * 3 * size * size).map((_, i) => Math.sin(i * 0.01)), shape);
  let step: () => Promise<void>;
  let cleanup = () => {};
  if (train) {
    step = sgdStep(net, x);
  } else {
    net.eval();
    const frozen = frozenMode ? await cnn.nn.freeze(net, shape) : null;
    cleanup = () => frozen?.dispose();
    step = async () => {
      const y = frozen ? frozen.forward(x) : cnn.noGrad(() => net.forward(x));
      await y.toArray();
      y.dispose();
    };
  }
  await step();
  const runs = Math.max(2, Math.min(5, flags.runs));
  // Unprofiled time first, then the profiled runs.
  const plain = await timeMs(step, runs);
  const times = new Map<string, number>();
  const launches = new Map<string, { ms: number; count: number }>();
  const orig = rt.exec.bind(rt);
  const patched = rt as unknown as { exec: typeof rt.exec };
  patched.exec = async (k, a, o) => {
    const t0 = performance.now();
    await orig(k, a, o);
    const dt = performance.now() - t0;
    const type = layerType(k);
    times.set(type, (times.get(type) ?? 0) + dt);
    const sig = signature(k, a);
    const l = launches.get(sig) ?? { ms: 0, count: 0 };
    l.ms += dt;
    l.count++;
    launches.set(sig, l);
  };
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await step();
  const total = (performance.now() - t0) / runs;
  patched.exec = orig;
  cleanup();
  x.dispose();
  net.dispose();
  await cnn.shutdown();

  const flops = 2 * s.totalMacs * batch * (train ? 3 : 1);
  const what = train ? "training step" : frozenMode ? "frozen forward" : "forward";
  const lines = [
    `${model} batch ${batch} ${size}x${size}, ${flags.threads} thread(s): ${what} ${plain.toFixed(1)} ms ` +
    `(${total.toFixed(1)} ms profiled), ${(flops / 1e9).toFixed(2)} GFLOP` +
    `${train ? " (3x forward)" : ""}; measured peak ${peak.toFixed(1)} GFLOP/s` +
    (train ? `; ${(batch * 1000 / plain).toFixed(0)} images/s` : ""),
  ];
  let inKernels = 0, convMs = 0;
  for (const [type, t] of [...times].sort((a, b) => b[1] - a[1])) {
    const ms = t / runs;
    inKernels += ms;
    if (type.startsWith("convolution")) convMs += ms;
    lines.push(
      `${type.padEnd(28)} ${ms.toFixed(1).padStart(8)} ms ${(100 * ms / total).toFixed(0).padStart(4)} %`,
    );
  }
  lines.push(`${"outside kernels".padEnd(28)} ${(total - inKernels).toFixed(1).padStart(8)} ms`);
  const g = flops / convMs / 1e6;
  lines.push(
    `convolutions: ${g.toFixed(1)} effective GFLOP/s (all the model's FLOPs over their time) = ` +
      `${(100 * g / peak).toFixed(0)} % of peak`,
  );
  lines.push(`top ${top} launches (kernel(size arguments): ms per run, launches per run):`);
  for (const [sig, l] of [...launches].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)) {
    lines.push(`  ${(l.ms / runs).toFixed(2).padStart(8)} ms  x${l.count / runs}  ${sig}`);
  }
  return lines;
}
