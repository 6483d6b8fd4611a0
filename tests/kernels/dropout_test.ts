import assert from "node:assert/strict";
import { createRuntime, kernels as K, REF_KERNELS, type Runtime } from "../../runtime/mod.ts";
import { assertClose } from "../_util/assert_close.ts";
import { closeBackends, forEachBackend } from "../_util/backends.ts";
import { Buf } from "../_util/buffers.ts";
import { rng, uniform } from "../_util/rng.ts";

async function forward(rt: Runtime, x: Float32Array, p: number, seed: number): Promise<Float32Array> {
  const bx = new Buf(rt, x), by = new Buf(rt, x.length);
  await rt.enqueue(() => K.dropoutForward(rt, { x: bx.ptr, y: by.ptr, len: x.length }, { p, seed }));
  const y = by.read();
  bx.free("dropout x");
  by.free("dropout y");
  return y;
}

forEachBackend("dropout forward/backward match ref exactly on odd sizes", async (rt) => {
  const r = rng(41);
  for (const n of [1, 3, 5, 17, 1023, 4099]) {
    for (const [p, seed] of [[0.5, 1], [0.1, -7], [0.9, 123456789], [1, 3]]) {
      const x = new Buf(rt, uniform(r, n)), y = new Buf(rt, n), yRef = new Buf(rt, n);
      await rt.enqueue(() => K.dropoutForward(rt, { x: x.ptr, y: y.ptr, len: n }, { p, seed }));
      REF_KERNELS.dropout_forward(rt.heap, x.ptr, yRef.ptr, p, seed, 0, n);
      const label = `dropout n=${n} p=${p}`;
      assertClose(y.read(), yRef.read(), { rtol: 0, atol: 0, label });
      const dy = new Buf(rt, uniform(r, n)), dx = new Buf(rt, n), dxRef = new Buf(rt, n);
      await rt.enqueue(() => K.dropoutBackward(rt, { dy: dy.ptr, dx: dx.ptr, len: n }, { p, seed }));
      REF_KERNELS.dropout_backward(rt.heap, dy.ptr, dxRef.ptr, p, seed, 0, n);
      assertClose(dx.read(), dxRef.read(), { rtol: 0, atol: 0, label: `${label} backward` });
      for (const b of [x, y, yRef, dy, dx, dxRef]) b.free(label);
    }
  }
});

forEachBackend(
  "dropout keeps 1-p within 3 sigma, scales by 1/(1-p); backward uses the same mask",
  async (rt) => {
    const n = 100_003;
    const ones = new Float32Array(n).fill(1);
    for (const [p, seed] of [[0.5, 42], [0.2, 7], [0.8, -1]]) {
      const y = await forward(rt, ones, p, seed);
      const scale = Math.fround(1 / (1 - p));
      let kept = 0;
      for (const v of y) {
        if (v !== 0) {
          assert.equal(v, scale);
          kept++;
        }
      }
      const sigma = Math.sqrt(n * p * (1 - p));
      assert.ok(Math.abs(kept - n * (1 - p)) < 3 * sigma, `p=${p}: kept ${kept} of ${n}`);
      // backward of ones is the same mask, scaled
      const dx = new Buf(rt, n), dy = new Buf(rt, ones);
      await rt.enqueue(() => K.dropoutBackward(rt, { dy: dy.ptr, dx: dx.ptr, len: n }, { p, seed }));
      assert.deepEqual(dx.read(), y);
      dx.free();
      dy.free();
      // another seed gives another mask
      const y2 = await forward(rt, ones, p, seed + 1);
      let same = 0;
      for (let i = 0; i < n; i++) if ((y[i] === 0) === (y2[i] === 0)) same++;
      const agree = p * p + (1 - p) * (1 - p);
      assert.ok(
        Math.abs(same - n * agree) < 4 * Math.sqrt(n * agree * (1 - agree)),
        `seeds agree on ${same}`,
      );
    }
  },
);

Deno.test("dropout mask is the same on 1 and 2 threads", async () => {
  const n = 10_007;
  const x = uniform(rng(43), n);
  const one = await createRuntime({ backend: "wasm", threads: 1 });
  const two = await createRuntime({ backend: "wasm-mt", threads: 2, parallelMinCost: 1 });
  try {
    for (const [p, seed] of [[0.5, 9], [0.3, -123]]) {
      assert.deepEqual(await forward(two, x, p, seed), await forward(one, x, p, seed));
    }
  } finally {
    await one.close();
    await two.close();
  }
});

Deno.test("close backends (dropout)", closeBackends);
