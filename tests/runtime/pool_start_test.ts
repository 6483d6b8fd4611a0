// Guards the worker start race fixed in runtime/pool.ts: a worker must read the call counter before
// announcing "ready", or a call started right after creation is never seen (the caller hangs).
import assert from "node:assert/strict";
import { createRuntime, kernels as K } from "../../runtime/mod.ts";

Deno.test("a 2-thread runtime runs a split call immediately after creation, 20 times", async () => {
  const n = 1001;
  for (let round = 0; round < 20; round++) {
    const rt = await createRuntime({ backend: "wasm-mt", threads: 2, parallelMinCost: 1 });
    try {
      assert.equal(rt.threads, 2);
      const y = rt.heap.alloc(n * 4);
      await rt.enqueue(() => K.fill(rt, { y, len: n, value: round + 1 }));
      const got = rt.heap.f32.subarray(y >> 2, (y >> 2) + n);
      // the second half is the worker's slice
      assert.ok(got.every((v) => v === round + 1), `round ${round}: a slice was not filled`);
      rt.heap.free(y);
    } finally {
      await rt.close();
    }
  }
});
