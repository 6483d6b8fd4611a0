/**
 * Best-of times of a few whole-network jobs (frozen ResNet-20 b1/b64, frozen ResNet-18 b1, frozen ResNet-50
 * b1, a ResNet-20 training step at b128) in one process, for comparing two checkouts run alternately.
 * Usage: deno run -A tools/dev/models_quick.ts [threads=2] [rounds=5]
 * @module
 */
import * as cnn from "../../mod.ts";
import { standardJobs } from "./_jobs.ts";

const threads = Number(Deno.args[0] ?? 2), rounds = Number(Deno.args[1] ?? 5);
await cnn.init({ threads });
const out: string[] = [];
for (const j of await standardJobs()) {
  const train = j.name.includes("train");
  let best = Infinity;
  for (let i = 0; i <= (train ? rounds : 2 * rounds); i++) {
    const t0 = performance.now();
    await j.run();
    if (i) best = Math.min(best, performance.now() - t0);
  }
  out.push(`${j.name} ${best.toFixed(2)}${train ? ` (${(128000 / best).toFixed(0)} images/s)` : ""}`);
  j.done();
}
console.log(out.join("  "));
await cnn.shutdown();
