import { createRuntime } from "../../runtime/mod.ts";
import * as K from "../../runtime/kernels/mod.ts";
const rt = await createRuntime({
  backend: Deno.args[0] === "2" ? "wasm-mt" : "wasm",
  threads: Number(Deno.args[0] ?? 1),
});
const peakOut = rt.heap.alloc(64);
const t = async (f: () => Promise<void>, n = 5) => {
  await f();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await f();
  return (performance.now() - t0) / n;
};
const pk = await t(() => rt.run("probe_peak", [1.0001, 0.5, 200000, peakOut], { units: 8, cost: 1e12 }));
console.log("peak GF/s", (128 * 200000 * 8 / pk / 1e6).toFixed(1));
// Shapes from the command line after the thread count: m,n,k[,ta[,tb]] (ta/tb 0 or 1).
const given = Deno.args.slice(1).map((a) => {
  const v = a.split(",").map(Number);
  return [v[0], v[1], v[2], v[3] === 1, v[4] === 1] as [number, number, number, boolean, boolean];
});
for (
  const [m, n, k, ta, tb] of given.length ? given : [
    [16, 87024, 144, false, false],
    [16, 144, 87024, false, true],
    [32, 25088, 288, false, false],
    [144, 50176, 16, true, false],
    [16, 144, 50176, false, true],
    [1024, 1024, 1024, false, false],
    [64, 3136, 576, false, false],
  ] as [number, number, number, boolean, boolean][]
) {
  const a = rt.heap.alloc(4 * m * k), b = rt.heap.alloc(4 * k * n), c = rt.heap.alloc(4 * m * n);
  const ms = await t(() => rt.enqueue(() => K.gemm(rt, { m, n, k, a, b, c, transA: ta, transB: tb })));
  console.log(
    `${m}x${n}x${k} ta=${ta} tb=${tb}: ${ms.toFixed(2)} ms ${(2 * m * n * k / ms / 1e6).toFixed(1)} GF/s`,
  );
  rt.heap.free(a);
  rt.heap.free(b);
  rt.heap.free(c);
}
await rt.close();
