/**
 * `deno task bench`: runs every `bench/*_bench.ts` (each exports `bench(flags): Promise<BenchRow[]>`)
 * and prints one table, or JSON with `--json`. Flags: `--filter=<substring> --runs=<n> --threads=<n>`.
 * @module
 */
import { type BenchRow, formatRows, gflops, parseFlags } from "./_util.ts";

const flags = parseFlags(Deno.args);
const dir = new URL(".", import.meta.url);
const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith("_bench.ts")).sort();
const all: BenchRow[] = [];
for (const f of files) {
  const mod = await import(new URL(f, dir).href);
  const rows: BenchRow[] = await mod.bench(flags);
  all.push(...rows);
  if (!flags.json && rows.length) console.log(`\n# ${f}\n${formatRows(rows)}`);
}
if (flags.json) {
  console.log(JSON.stringify(
    {
      date: new Date().toISOString(),
      threads: flags.threads,
      rows: all.map((r) => ({ ...r, gflops: gflops(r) })),
    },
    null,
    1,
  ));
}
