/**
 * Cost of dispatching a kernel call to the worker pool: 1,000 tiny calls forced onto every thread,
 * against the same calls on the calling thread. Usage: deno run -A tools/dev/dispatch.ts [threads=2]
 * @module
 */
import { createRuntime } from "../../runtime/mod.ts";

const threads = Number(Deno.args[0] ?? 2);
const rt = await createRuntime({ backend: "wasm-mt", threads });
const x = rt.heap.alloc(4 * 1024);
for (let r = 0; r < 3; r++) {
  let t0 = performance.now();
  for (let i = 0; i < 1000; i++) await rt.enqueue(() => rt.exec("fill", [x, 0], { units: 1024 }));
  const one = performance.now() - t0;
  t0 = performance.now();
  for (let i = 0; i < 1000; i++) await rt.enqueue(() => rt.exec("fill", [x, 0], { units: 1024, cost: 1e12 }));
  const all = performance.now() - t0;
  console.log(
    `per call: ${one.toFixed(2)} us on the calling thread, ${all.toFixed(2)} us split over ${threads}`,
  );
}
await rt.close();
