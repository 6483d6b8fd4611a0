/**
 * Shared benchmark helpers: timing with warm-up, flag parsing, and one result row format so
 * `bench/run.ts` can print a table (or JSON with `--json`). Every bench checks results before timing.
 * @module
 */

import * as cnn from "../mod.ts";

/**
 * One SGD step (momentum 0.9) of `net` on the fixed batch `x`: forward, cross-entropy against labels
 * i % 10, backward, update. Puts `net` in training mode; the step frees what it made.
 */
export function sgdStep(net: cnn.nn.Module, x: cnn.Tensor, lr = 0.01): () => Promise<void> {
  net.train();
  const opt = new cnn.optim.SGD(net.parameters(), { lr, momentum: 0.9 });
  const labels = new Int32Array(x.shape[0]).map((_, i) => i % 10);
  return () =>
    cnn.tidy(async () => {
      const loss = cnn.nn.crossEntropy(net.forward(x), labels);
      await loss.backward();
      await opt.step();
      opt.zeroGrad();
      await loss.item();
    });
}

/** One measured case. */
export interface BenchRow {
  /** Case name, e.g. "sgemm_1024" (the thread count is a separate field). */
  name: string;
  /** Threads the case ran on. */
  threads: number;
  /** Median milliseconds per call. */
  ms: number;
  /** Fastest call in milliseconds, where the case records it. */
  bestMs?: number;
  /** Work per call in floating-point operations (for GFLOP/s), or 0. */
  flops: number;
  /** Extra figures, e.g. the ratio to the reference. */
  note?: string;
}

/** Command-line flags shared by the benches. */
export interface BenchFlags {
  json: boolean;
  filter: string;
  runs: number;
  threads: number;
}

/** Parses `--json --filter=<s> --runs=<n> --threads=<n>`. */
export function parseFlags(args: readonly string[]): BenchFlags {
  const get = (k: string) => args.find((a) => a.startsWith(`--${k}=`))?.split("=")[1];
  return {
    json: args.includes("--json"),
    filter: get("filter") ?? "",
    runs: Number(get("runs") ?? 7),
    threads: Number(get("threads") ?? 2),
  };
}

/** Median time of `runs` calls of `fn` after one warm-up call, in milliseconds. */
export async function timeMs(fn: () => Promise<void> | void, runs: number): Promise<number> {
  return (await timeStats(fn, runs)).median;
}

/** Median and fastest of `runs` calls of `fn` after one warm-up call, in milliseconds. */
export async function timeStats(
  fn: () => Promise<void> | void,
  runs: number,
): Promise<{ median: number; best: number }> {
  await fn();
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return { median: t[t.length >> 1], best: t[0] };
}

/** GFLOP/s of a row (0 when it has no FLOP count). */
export function gflops(row: BenchRow): number {
  return row.flops > 0 ? row.flops / row.ms / 1e6 : 0;
}

/** Formats rows as an aligned text table; `peak` maps a thread count to the probe's GFLOP/s. */
export function formatRows(rows: readonly BenchRow[], peak: ReadonlyMap<number, number>): string {
  const w = Math.max(4, ...rows.map((r) => r.name.length));
  const head = `${"case".padEnd(w)}  thr  ${"ms".padStart(9)}  ${"GFLOP/s".padStart(8)}  ${
    "%peak".padStart(5)
  }  ${"best ms".padStart(9)}  ${"GFLOP/s".padStart(8)}  note`;
  const lines = [head];
  for (const r of rows) {
    const g = gflops(r);
    const p = peak.get(r.threads);
    const frac = g && p ? `${(100 * g / p).toFixed(0)}%` : "-";
    const best = r.bestMs === undefined ? "-" : r.bestMs.toFixed(3);
    const gb = r.bestMs !== undefined && r.flops > 0 ? (r.flops / r.bestMs / 1e6).toFixed(1) : "-";
    lines.push(
      `${r.name.padEnd(w)}  ${String(r.threads).padStart(3)}  ${r.ms.toFixed(3).padStart(9)}  ${
        (g ? g.toFixed(1) : "-").padStart(8)
      }  ${frac.padStart(5)}  ${best.padStart(9)}  ${gb.padStart(8)}  ${r.note ?? ""}`,
    );
  }
  return lines.join("\n");
}

/** Throws when a result differs from its reference by more than `tol` (relative to max |ref|). */
export function checkClose(got: Float32Array, want: Float32Array, tol: number, what: string): void {
  if (got.length !== want.length) {
    throw new Error(`Cannot bench ${what}: length ${got.length} != ${want.length}`);
  }
  let scale = 1e-30, err = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    err = Math.max(err, Math.abs(got[i] - want[i]));
  }
  if (!(err / scale <= tol)) {
    throw new Error(`Cannot bench ${what}: result differs from reference (rel ${err / scale})`);
  }
}
