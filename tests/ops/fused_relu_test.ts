// The fused ReLU options equal the unfused ops exactly, forward and every gradient, on every backend:
// batchNorm(x, { relu: true }) and relu(batchNorm(x)) in training mode (one kernel each way) and eval mode
// (composed); add(a, b, { relu: true }) and relu(add(a, b)).
import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";
import { closeBackends, forEachBackend } from "../_util/backends.ts";
import { rng, uniform } from "../_util/rng.ts";

const ops = cnn.ops;

forEachBackend(
  "batchNorm with relu equals relu(batchNorm): outputs, gradients, running statistics",
  async (rt) => {
    const r = rng(91);
    for (
      const [shape, training] of [[[4, 5, 3, 7], true], [[2, 3, 1, 1], true], [[3, 4, 5, 5], false]] as [
        number[],
        boolean,
      ][]
    ) {
      const x0 = uniform(r, shape.reduce((a, b) => a * b, 1), -2, 2);
      const g0 = uniform(r, shape[1]), b0 = uniform(r, shape[1]), dy = uniform(r, x0.length);
      const run = async (fused: boolean) => {
        const x = cnn.tensor(x0, [...shape], { rt }), g = cnn.tensor(g0, [shape[1]], { rt });
        const b = cnn.tensor(b0, [shape[1]], { rt });
        const rm = cnn.tensor(uniform(rng(1), shape[1]), [shape[1]], { rt });
        const rv = cnn.tensor(uniform(rng(2), shape[1], 0.5, 2), [shape[1]], { rt });
        for (const t of [x, g, b]) t.requiresGrad = true;
        const o = { weight: g, bias: b, runningMean: rm, runningVar: rv, training };
        const y = fused ? ops.batchNorm(x, { ...o, relu: true }) : ops.relu(ops.batchNorm(x, o));
        await cnn.backward(y, cnn.tensor(dy, y.shape, { rt }));
        const res = await Promise.all([y, x.grad!, g.grad!, b.grad!, rm, rv].map((t) => t.toArray()));
        for (const t of [x, g, b, rm, rv, y]) t.dispose();
        return res;
      };
      const [fused, plain] = [await run(true), await run(false)];
      const names = ["y", "dx", "dgamma", "dbeta", "runningMean", "runningVar"];
      fused.forEach((v, i) =>
        assert.deepEqual(v, plain[i], `${names[i]} ${JSON.stringify(shape)} training=${training}`)
      );
      // the ReLU did something: some outputs are zero and some gradients blocked
      assert.ok(
        (fused[0] as Float32Array).some((v) => v === 0) && (fused[0] as Float32Array).some((v) => v > 0),
      );
    }
  },
);

forEachBackend("add with relu equals relu(add): output and gradients, an input used twice", async (rt) => {
  const r = rng(92);
  const n = 203, a0 = uniform(r, n), b0 = uniform(r, n), dy = uniform(r, n);
  for (
    const [alpha, beta, same] of [[1, 1, false], [0.5, -2, false], [1, 0.25, true]] as [
      number,
      number,
      boolean,
    ][]
  ) {
    const run = async (fused: boolean) => {
      const a = cnn.tensor(a0, [n], { rt }), b = cnn.tensor(b0, [n], { rt });
      a.requiresGrad = b.requiresGrad = true;
      const o = { alpha, beta };
      const bb = same ? a : b;
      const y = fused ? ops.add(a, bb, { ...o, relu: true }) : ops.relu(ops.add(a, bb, o));
      await cnn.backward(y, cnn.tensor(dy, [n], { rt }));
      const res = await Promise.all([y, a.grad!, ...(same ? [] : [b.grad!])].map((t) => t.toArray()));
      for (const t of [a, b, y]) t.dispose();
      return res;
    };
    const [fused, plain] = [await run(true), await run(false)];
    fused.forEach((v, i) =>
      assert.deepEqual(v, plain[i], `output ${i} alpha=${alpha} beta=${beta} same=${same}`)
    );
    assert.ok(
      (fused[0] as Float32Array).some((v) => v === 0) && (fused[0] as Float32Array).some((v) => v > 0),
    );
  }
});

Deno.test("close backends (fused relu)", closeBackends);
