// Issue 8: a worker that dies mid-run is detected, the pending call rejects with a clear error, the pool
// is rebuilt and the next call succeeds with correct results; concurrent callers never interleave.
import assert from "node:assert/strict";
import { createRuntime, REF_KERNELS } from "../../runtime/mod.ts";
import { Buf } from "../_util/buffers.ts";

Deno.test("a terminated worker fails the pending call clearly; the pool is rebuilt and works", async () => {
  const rt = await createRuntime({ backend: "wasm-mt", threads: 2, parallelMinCost: 1 });
  try {
    const n = 4096;
    const x = new Buf(rt, Float32Array.from({ length: n }, (_, i) => Math.sin(i)));
    const y = new Buf(rt, n), ref = new Buf(rt, n);
    REF_KERNELS.relu_forward(rt.heap, x.ptr, ref.ptr, 0, n);
    // probe_peak with many iterations keeps the worker busy long enough to be killed mid-call.
    const out = rt.heap.alloc(64);
    const long = rt.run("probe_peak", [1, 0.5, 40_000_000, out], { units: 3, cost: 1e12 });
    setTimeout(() => rt.terminateWorkerForTest(1), 50);
    // The death is detected by the call in flight or, if that call won the race, by the next one.
    let err: unknown = null;
    try {
      await long;
    } catch (e) {
      err = e;
    }
    if (err === null) {
      await new Promise((r) => setTimeout(r, 100));
      try {
        await rt.run("probe_peak", [1, 0.5, 1000, out], { units: 2, cost: 1e12 });
      } catch (e) {
        err = e;
      }
    }
    assert.match(String(err), /Cannot run kernel probe_peak: .*worker 1 stopped/);
    assert.match(rt.report.fallbackReason ?? "", /workers restarted after: worker 1 stopped/);
    await rt.run("relu_forward", [x.ptr, y.ptr], { units: n });
    assert.deepEqual(y.read(), ref.read());
    assert.equal(rt.report.threads, 2);
  } finally {
    await rt.close();
  }
});

Deno.test("concurrent callers on one runtime serialize without corrupting each other", async () => {
  const rt = await createRuntime({ backend: "wasm-mt", threads: 2, parallelMinCost: 1 });
  try {
    const n = 1000;
    const bufs = Array.from(
      { length: 8 },
      (_, k) => new Buf(rt, Float32Array.from({ length: n }, (_, i) => (i % 7) - 3 + k)),
    );
    const outs = bufs.map(() => new Buf(rt, n));
    // Eight async tasks each run a read-modify chain on their own buffers, interleaved by awaits.
    await Promise.all(bufs.map(async (b, k) => {
      for (let r = 0; r < 20; r++) {
        await rt.run("relu_forward", [b.ptr, outs[k].ptr], { units: n });
        await rt.enqueue(() => {
          const v = outs[k].read();
          for (let i = 0; i < n; i++) v[i] = v[i] - 1;
          b.write(v);
        });
      }
    }));
    for (let k = 0; k < 8; k++) {
      const v = outs[k].read();
      // After 20 rounds of y = relu(x); x = y - 1 from x0 = (i%7)-3+k, each element is max(x0 - 19, 0)...
      for (let i = 0; i < n; i++) {
        let x = (i % 7) - 3 + k, y = 0;
        for (let r = 0; r < 20; r++) {
          y = Math.max(x, 0);
          x = y - 1;
        }
        if (v[i] !== y) assert.fail(`task ${k} element ${i}: ${v[i]} != ${y}`);
      }
    }
  } finally {
    await rt.close();
  }
});
