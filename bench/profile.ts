/**
 * `deno task bench --profile=<model> [--batch=1] [--size=224] [--threads=2]`: eval-mode inference time
 * per layer type (the kernels each op launches, grouped), with the convolutions' GFLOP/s against the
 * Wasm SIMD peak measured in the same run, so the next optimization is obvious.
 * @module
 */
import * as cnn from "../mod.ts";
import { type BenchFlags, timeMs } from "./_util.ts";

/** The layer type a kernel works for. */
function layerType(kernel: string): string {
  if (/^(conv2d_gemm|sgemm|from_cnhw|to_cnhw|im2col|col2im|bias_relu|bias_add|flip_weights)/.test(kernel)) {
    return "convolution / linear";
  }
  if (kernel.startsWith("batchnorm")) return "batch norm";
  if (kernel.startsWith("relu")) return "ReLU";
  if (kernel.startsWith("add_scaled") || kernel === "axpy") return "residual add";
  if (kernel.includes("pool")) return "pooling";
  if (kernel.startsWith("lrn")) return "LRN";
  if (kernel.startsWith("copy") || kernel.startsWith("concat")) return "concat / copy";
  return kernel;
}

/** Profiles `model`; returns the lines to print. */
export async function profile(model: string, flags: BenchFlags, args: readonly string[]): Promise<string[]> {
  const get = (k: string, d: number) => Number(args.find((a) => a.startsWith(`--${k}=`))?.split("=")[1] ?? d);
  const batch = get("batch", 1);
  await cnn.init({ threads: flags.threads });
  const size = get("size", cnn.models.entry(model).inputSize[1]);
  const s = await cnn.models.summary(model, { inputSize: [3, size, size] });
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

  const net = cnn.models.create(model);
  net.eval();
  const x = cnn.tensor(
    new Float32Array(batch * 3 * size * size).map((_, i) => Math.sin(i * 0.01)),
    [batch, 3, size, size],
  );
  const forward = async () => {
    const y = cnn.noGrad(() => net.forward(x));
    await y.toArray();
    y.dispose();
  };
  await forward();
  const times = new Map<string, number>();
  const orig = rt.exec.bind(rt);
  const patched = rt as unknown as { exec: typeof rt.exec };
  patched.exec = async (k, a, o) => {
    const t0 = performance.now();
    await orig(k, a, o);
    const type = layerType(k);
    times.set(type, (times.get(type) ?? 0) + performance.now() - t0);
  };
  const runs = Math.max(2, Math.min(5, flags.runs));
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await forward();
  const total = (performance.now() - t0) / runs;
  patched.exec = orig;
  x.dispose();
  net.dispose();
  await cnn.shutdown();

  const flops = 2 * s.totalMacs * batch;
  const lines = [
    `${model} batch ${batch} ${size}x${size}, ${flags.threads} thread(s): ${
      total.toFixed(1)
    } ms per forward, ` +
    `${(flops / 1e9).toFixed(2)} GFLOP; measured peak ${peak.toFixed(1)} GFLOP/s`,
  ];
  let inKernels = 0;
  for (const [type, t] of [...times].sort((a, b) => b[1] - a[1])) {
    const ms = t / runs;
    inKernels += ms;
    const conv = type === "convolution / linear";
    const g = flops / ms / 1e6;
    lines.push(
      `${type.padEnd(22)} ${ms.toFixed(1).padStart(8)} ms ${(100 * ms / total).toFixed(0).padStart(4)} %` +
        (conv ? `   ${g.toFixed(1)} GFLOP/s = ${(100 * g / peak).toFixed(0)} % of peak` : ""),
    );
  }
  lines.push(`${"outside kernels".padEnd(22)} ${(total - inKernels).toFixed(1).padStart(8)} ms`);
  return lines;
}
