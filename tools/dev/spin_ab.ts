/**
 * Whole-network time with the worker threads spinning before they sleep (`spinMicros`) for each of the
 * given settings, interleaved in one process, best and median of `rounds` each (the jobs of _jobs.ts).
 * Usage: deno run -A tools/dev/spin_ab.ts [threads=2] [rounds=7] [spins=0,200] (microseconds to compare)
 * @module
 */
import * as cnn from "../../mod.ts";
import { standardJobs } from "./_jobs.ts";

const threads = Number(Deno.args[0] ?? 2), rounds = Number(Deno.args[1] ?? 7);
const spins = (Deno.args[2] ?? "0,200").split(",").map(Number);
await cnn.init({ threads });
const rt = cnn.runtime();
for (const j of await standardJobs()) {
  await j.run();
  const t: Record<number, number[]> = Object.fromEntries(spins.map((us) => [us, []]));
  for (let r = 0; r < rounds; r++) {
    for (const us of spins) {
      const old = rt.setSpinMicros(us);
      const t0 = performance.now();
      await j.run();
      t[us].push(performance.now() - t0);
      rt.setSpinMicros(old);
    }
  }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
  const parts = spins.map((us) =>
    `spin ${us} us: best ${Math.min(...t[us]).toFixed(2)} median ${med(t[us]).toFixed(2)}`
  );
  console.log(
    `${j.name}: ${parts.join("; ")} ms; ${(med(t[spins[0]]) / med(t[spins[spins.length - 1]])).toFixed(2)}x`,
  );
  j.done();
}
await cnn.shutdown();
