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
      if ("probe".includes(flags.filter) || !flags.filter) {
        const ms = await timeMs(
          () => rt.run("probe_peak", [1.0001, 0.5, iters, out], { units, cost: 1e12 }),
          flags.runs,
        );
        rows.push({ name: `probe_peak ${threads}T`, ms, flops: 128 * iters * units, note: "SIMD fma peak" });
      }
      if ("relu".includes(flags.filter) || !flags.filter) {
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
          name: `relu 4M ${threads}T`,
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
