/**
 * `deno task bench`: runs every `bench/*_bench.ts` (each exports `bench(flags): Promise<BenchRow[]>`;
 * `elementwise_bench.ts` first, whose `peak` rows are the machine's measured Wasm SIMD peak) and prints
 * one table per file with the fraction of that peak: the median of the runs, and for the GEMM,
 * convolution and model cases also the fastest run. `--json` prints one JSON object per line:
 * `{"name","threads","ms","best_ms","gflops","peak_gflops"}` (best_ms null where not recorded). Flags:
 * `--filter=<substring> --runs=<n> --threads=<n>`; `--profile=<model>` prints that model's time per layer
 * type instead (see profile.ts; `--frozen`, `--train`).
 * @module
 */
import { type BenchRow, formatRows, gflops, parseFlags } from "./_util.ts";

const flags = parseFlags(Deno.args);
const profiled = Deno.args.find((a) => a.startsWith("--profile="))?.split("=")[1];
if (profiled) {
  const { profile } = await import("./profile.ts");
  for (const line of await profile(profiled, flags, Deno.args)) console.log(line);
  Deno.exit(0);
}
const dir = new URL(".", import.meta.url);
const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith("_bench.ts")).sort((
  a,
  b,
) => a === "elementwise_bench.ts" ? -1 : b === "elementwise_bench.ts" ? 1 : a < b ? -1 : 1);
const peak = new Map<number, number>();
for (const f of files) {
  const mod = await import(new URL(f, dir).href);
  const rows: BenchRow[] = await mod.bench(flags);
  for (const r of rows) if (r.name === "peak") peak.set(r.threads, gflops(r));
  if (flags.json) {
    for (const r of rows) {
      const g = gflops(r);
      console.log(
        JSON.stringify({
          name: r.name,
          threads: r.threads,
          ms: r.ms,
          best_ms: r.bestMs ?? null,
          gflops: g,
          peak_gflops: peak.get(r.threads) ?? null,
        }),
      );
    }
  } else if (rows.length) console.log(`\n# ${f}\n${formatRows(rows, peak)}`);
}
