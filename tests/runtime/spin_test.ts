// The threads' spin-before-sleep time (InitOptions.spinMicros): validated, and every setting gives the
// same results, including sleeping at once (0) and calls spaced out past the spin time.
import assert from "node:assert/strict";
import { createRuntime, kernels as K } from "../../runtime/mod.ts";

Deno.test("spinMicros: out-of-range values are rejected by name", async () => {
  for (const bad of [-1, 2001, Number.NaN, "5" as unknown as number]) {
    await assert.rejects(
      () => createRuntime({ backend: "wasm-mt", threads: 2, spinMicros: bad }),
      (e: Error) => e instanceof RangeError && /spinMicros must be a number in \[0, 2000\]/.test(e.message),
      `spinMicros ${bad}`,
    );
  }
});

Deno.test("spinMicros 0, default and 2000 give the same split results, with pauses between calls", async () => {
  const n = 4099;
  for (const spinMicros of [0, undefined, 2000]) {
    const rt = await createRuntime({ backend: "wasm-mt", threads: 2, parallelMinCost: 1, spinMicros });
    try {
      const y = rt.heap.alloc(n * 4);
      for (let round = 0; round < 6; round++) {
        await rt.enqueue(() => K.fill(rt, { y, len: n, value: round + 1 }));
        const got = rt.heap.f32.subarray(y >> 2, (y >> 2) + n);
        assert.ok(
          got.every((v) => v === round + 1),
          `spin ${spinMicros}, round ${round}: a slice was not filled`,
        );
        // every other round, wait past the spin time so the worker has gone to sleep
        if (round % 2) await new Promise((r) => setTimeout(r, 5));
      }
      assert.equal(rt.setSpinMicros(50), spinMicros ?? 200, "setSpinMicros returns the old value");
      rt.heap.free(y);
    } finally {
      await rt.close();
    }
  }
});
