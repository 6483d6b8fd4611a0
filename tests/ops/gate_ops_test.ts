// ops.mul and ops.sigmoid (gated shortcuts of He et al. 2016b): values against plain float64 math and
// gradients against central finite differences through the public tensor API, on every backend (the
// same harness as gradcheck_ops_test.ts).
import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";
import { backend, BACKENDS, closeBackends } from "../_util/backends.ts";
import { kernelsReady, MODEL_KERNELS } from "../_util/kernels_ready.ts";
import { rng, uniform } from "../_util/rng.ts";

await cnn.init({ threads: 1 });
const ops = cnn.ops;
const READY = kernelsReady(...MODEL_KERNELS, "mul", "copyStrided");

interface Case {
  name: string;
  inputs: number[][];
  f: (xs: cnn.Tensor[]) => cnn.Tensor;
  eps?: number;
}

const CASES: Case[] = [
  { name: "mul", inputs: [[2, 3, 4], [2, 3, 4]], f: ([a, b]) => ops.mul(a, b) },
  {
    name: "mul with an input used twice",
    inputs: [[3, 5]],
    f: ([a]) => ops.mul(a, ops.add(a, a, { beta: 2 })),
  },
  { name: "sigmoid", inputs: [[2, 3, 2, 2]], f: ([x]) => ops.sigmoid(ops.scale(x, 3)) },
  {
    name: "gated sum h + g (F - h)",
    inputs: [[1, 2, 3, 3], [1, 2, 3, 3], [1, 2, 3, 3]],
    f: ([z, h, f]) => ops.add(h, ops.mul(ops.sigmoid(z), ops.add(f, h, { beta: -1 }))),
  },
];

async function objective(rt: cnn.Runtime, c: Case, data: Float32Array[], r: Float32Array): Promise<number> {
  const y = cnn.noGrad(() => c.f(data.map((d, i) => cnn.tensor(d, c.inputs[i], { rt }))));
  const v = await y.toArray() as Float32Array;
  let s = 0;
  for (let i = 0; i < v.length; i++) s += r[i] * v[i];
  return s;
}

for (const kind of BACKENDS) {
  for (const c of CASES) {
    Deno.test({
      name: `gradient of ${c.name} matches finite differences [${kind}]`,
      ignore: !READY,
      fn: async () => {
        const rt = await backend(kind);
        const g = rng(c.name.length * 11 + 3);
        const data = c.inputs.map((s) => uniform(g, s.reduce((a, b) => a * b, 1)));
        const xs = data.map((d, i) => {
          const t = cnn.tensor(d, c.inputs[i], { rt });
          t.requiresGrad = true;
          return t;
        });
        const y = c.f(xs);
        const r = uniform(g, y.size);
        await cnn.backward(y, cnn.tensor(r, y.shape, { rt }));
        const eps = c.eps ?? 1e-2;
        for (let k = 0; k < xs.length; k++) {
          const grad = await xs[k].grad!.toArray() as Float32Array;
          assert.equal(grad.length, data[k].length);
          let scale = 1e-3;
          for (const v of grad) scale = Math.max(scale, Math.abs(v));
          for (let i = 0; i < data[k].length; i++) {
            const orig = data[k][i];
            data[k][i] = orig + eps;
            const up = await objective(rt, c, data, r);
            data[k][i] = orig - eps;
            const down = await objective(rt, c, data, r);
            data[k][i] = orig;
            const fd = (up - down) / (2 * eps);
            const tol = 1e-2 * scale;
            if (!(Math.abs(fd - grad[i]) <= tol)) {
              assert.fail(
                `${c.name}: d/dinput${k}[${i}] = ${grad[i]}, finite differences ${fd} (tol ${tol})`,
              );
            }
          }
        }
      },
    });
  }

  Deno.test({
    name: `sigmoid and mul values [${kind}]`,
    ignore: !READY,
    fn: async () => {
      const rt = await backend(kind);
      const xs = [-40, -6, -1.5, 0, 0.25, 3, 40];
      const y = await ops.sigmoid(cnn.tensor(xs, [xs.length], { rt })).toArray() as Float32Array;
      xs.forEach((x, i) => {
        const want = 1 / (1 + Math.exp(-x));
        assert.ok(
          Math.abs(y[i] - want) <= 1e-6 * Math.max(1, want) + 1e-12,
          `sigmoid(${x}) = ${y[i]}, want ${want}`,
        );
      });
      assert.equal(y[3], 0.5);
      const t = cnn.tensor([1, -2, 3, 0.5], [2, 2], { rt });
      const s = ops.sigmoid(t);
      assert.deepEqual(s.shape, [2, 2]);
      const m = await ops.mul(t, cnn.tensor([2, 3, -1, 4], [2, 2], { rt })).toArray();
      assert.deepEqual([...m], [2, -6, -3, 2]);
    },
  });
}

Deno.test("mul names mismatched shapes", () => {
  assert.throws(
    () => ops.mul(cnn.zeros([2, 3]), cnn.zeros([3, 2])),
    /mul.*shapes differ: a \[2, 3\], b \[3, 2\]/,
  );
});

Deno.test("close backends (gate ops)", closeBackends);
