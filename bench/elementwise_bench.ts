/**
 * The machine's Wasm SIMD multiply-add peak (`probe_peak`, 1 and N threads) and ReLU bandwidth.
 * Kernel GFLOP/s elsewhere are quoted against this peak.
 * @module
 */
import { createRuntime, REF_KERNELS } from "../runtime/mod.ts";
import { type BenchFlags, type BenchRow, checkClose, timeMs } from "./_util.ts";

/** Runs the probe and ReLU cases. */
export async function bench(flags: BenchFlags): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const threads of [1, flags.threads]) {
    const rt = await createRuntime({ backend: threads > 1 ? "wasm-mt" : "wasm", threads });
    try {
      const out = rt.heap.alloc(16 * threads);
      const iters = 200_000, units = 8 * threads;
      {
        // The peak always runs: other rows are quoted as a fraction of it.
        const ms = await timeMs(
          () => rt.run("probe_peak", [1.0001, 0.5, iters, out], { units, cost: 1e12 }),
          flags.runs,
        );
        rows.push({
          name: "peak",
          threads,
          ms,
          flops: 128 * iters * units,
          note: "probe_peak: SIMD multiply-add",
        });
      }
      if ("relu_4m".includes(flags.filter)) {
        const n = 1 << 22;
        const x = rt.heap.alloc(4 * n), y = rt.heap.alloc(4 * n), yr = rt.heap.alloc(4 * n);
        const xs = rt.heap.f32.subarray(x >> 2, (x >> 2) + n);
        for (let i = 0; i < n; i++) xs[i] = Math.sin(i);
        await rt.run("relu_forward", [x, y], { units: n });
        REF_KERNELS.relu_forward(rt.heap, x, yr, 0, n);
        checkClose(
          rt.heap.f32.slice(y >> 2, (y >> 2) + n),
          rt.heap.f32.slice(yr >> 2, (yr >> 2) + n),
          0,
          "relu",
        );
        const ms = await timeMs(() => rt.run("relu_forward", [x, y], { units: n }), flags.runs);
        rows.push({
          name: "relu_4m",
          threads,
          ms,
          flops: 0,
          note: `${(8 * n / ms / 1e6).toFixed(1)} GB/s`,
        });
      }
    } finally {
      await rt.close();
    }
  }
  return rows;
}
