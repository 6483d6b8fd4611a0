// Every differentiable op through the public tensor API and the autograd tape: the gradient that
// backward() delivers to each input equals central finite differences of the op's own forward, on every
// backend. This checks the op wiring (which buffers a backward reads, accumulation when an input is used
// twice, shapes); kernel-level references are checked in tests/kernels/.
import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";
import { backend, BACKENDS, closeBackends } from "../_util/backends.ts";
import { kernelsReady, MODEL_KERNELS } from "../_util/kernels_ready.ts";
import { rng, uniform } from "../_util/rng.ts";

type Spec = { shape: number[]; min?: number };
interface Case {
  name: string;
  inputs: Spec[];
  f: (xs: cnn.Tensor[]) => cnn.Tensor;
  /** Finite-difference step (default 1e-2) and tolerance relative to the largest gradient. */
  eps?: number;
  tol?: number;
}

const ops = cnn.ops;
const CASES: Case[] = [
  {
    name: "conv2d stride 2, asymmetric padding, dilation 2, groups 2, bias",
    inputs: [{ shape: [2, 4, 7, 6] }, { shape: [6, 2, 3, 2] }, { shape: [6] }],
    f: ([x, w, b]) =>
      ops.conv2d(x, w, { bias: b, stride: [2, 1], padding: [1, 0, 2, 1], dilation: [2, 1], groups: 2 }),
  },
  {
    name: "conv2d 1x1 and depthwise",
    inputs: [{ shape: [1, 3, 5, 5] }, { shape: [3, 1, 3, 3] }],
    f: ([x, w]) => ops.conv2d(x, w, { padding: 1, groups: 3 }),
  },
  {
    name: "conv2d with fused relu",
    inputs: [{ shape: [2, 3, 5, 4] }, { shape: [4, 3, 1, 1] }, { shape: [4] }],
    f: ([x, w, b]) => ops.conv2d(x, w, { bias: b, relu: true }),
    eps: 1e-3, // small steps: a 1e-2 step carries an output across the ReLU kink for this seed
  },
  {
    name: "linear",
    inputs: [{ shape: [3, 7] }, { shape: [5, 7] }, { shape: [5] }],
    f: ([x, w, b]) => ops.linear(x, w, b),
  },
  {
    name: "max pool 3/2 padding 1 ceil mode",
    inputs: [{ shape: [2, 2, 7, 6] }],
    f: ([x]) => ops.maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1, ceilMode: true }),
    eps: 1e-3,
  },
  {
    name: "avg pool ceil mode, count_include_pad false",
    inputs: [{ shape: [2, 2, 7, 6] }],
    f: ([x]) =>
      ops.avgPool2d(x, { kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false }),
  },
  {
    name: "adaptive avg pool 7x5 -> 3x2",
    inputs: [{ shape: [2, 3, 7, 5] }],
    f: ([x]) => ops.adaptiveAvgPool2d(x, [3, 2]),
  },
  {
    name: "batch norm (training) with affine",
    inputs: [{ shape: [3, 4, 3, 2] }, { shape: [4] }, { shape: [4] }],
    f: ([x, g, b]) => ops.batchNorm(x, { weight: g, bias: b, training: true }),
    tol: 3e-2,
  },
  {
    name: "batch norm (training) with a fused ReLU",
    inputs: [{ shape: [3, 4, 3, 2] }, { shape: [4] }, { shape: [4] }],
    f: ([x, g, b]) => ops.batchNorm(x, { weight: g, bias: b, training: true, relu: true }),
    tol: 3e-2,
  },
  {
    name: "local response norm (torch convention)",
    inputs: [{ shape: [2, 5, 3, 3] }],
    f: ([x]) => ops.localResponseNorm(x, { size: 3, alpha: 0.3, beta: 0.75, k: 1 }),
  },
  {
    name: "relu, add with scales, input used twice",
    inputs: [{ shape: [2, 3, 4] }, { shape: [2, 3, 4] }],
    f: ([a, b]) => ops.add(ops.relu(ops.add(a, b, { alpha: 0.5, beta: 2 })), a, { beta: 0.2 }),
  },
  {
    name: "add with a fused relu, input used twice",
    inputs: [{ shape: [2, 3, 4] }, { shape: [2, 3, 4] }],
    f: ([a, b]) => ops.add(ops.add(a, b, { alpha: 0.5, beta: 2, relu: true }), a, { beta: 0.2, relu: true }),
    eps: 1e-3, // the two ReLUs: a smaller step keeps the differences off their kinks for this data
  },
  {
    // add(t1, t2) hands t1 and t2 views of one gradient; t1's other gradient must not be added into the
    // memory t2's view still reads (the engine adds to a shared gradient out of place), in either order
    name: "two non-leaves sharing a gradient, one used again",
    inputs: [{ shape: [2, 3, 5] }],
    f: ([a]) => {
      const t1 = ops.scale(a, 1.5), t2 = ops.scale(a, -2);
      const u = ops.add(ops.add(t1, t2), ops.relu(t1));
      return ops.add(ops.relu(t2), ops.add(u, ops.add(t2, t1)));
    },
  },
  {
    name: "concat along channels, then reshape",
    inputs: [{ shape: [2, 1, 3, 3] }, { shape: [2, 3, 3, 3] }],
    f: ([a, b]) => ops.reshape(ops.concat([a, b]), [2, 36]),
  },
  {
    name: "softmax and log-softmax",
    inputs: [{ shape: [3, 6] }],
    f: ([x]) => ops.add(ops.softmax(x, 1), ops.logSoftmax(x, 1)),
  },
  {
    name: "cross-entropy with label smoothing (mean)",
    inputs: [{ shape: [4, 5] }],
    f: ([x]) => ops.crossEntropy(x, new Int32Array([0, 4, 2, 2]), { labelSmoothing: 0.2 }),
  },
];

/** Sum of r * f(x) as a float64 number, with r fixed: the scalar the finite differences see. */
async function objective(rt: cnn.Runtime, c: Case, data: Float32Array[], r: Float32Array): Promise<number> {
  const y = cnn.noGrad(() => c.f(data.map((d, i) => cnn.tensor(d, c.inputs[i].shape, { rt }))));
  const v = await y.toArray() as Float32Array;
  let s = 0;
  for (let i = 0; i < v.length; i++) s += r[i] * v[i];
  return s;
}

for (const kind of BACKENDS) {
  for (const c of CASES) {
    Deno.test({
      name: `gradient of ${c.name} matches finite differences [${kind}]`,
      ignore: !kernelsReady(...MODEL_KERNELS, "lrnForward", "crossEntropyForward", "copyStrided"),
      fn: async () => {
        const rt = await backend(kind);
        const g = rng(c.name.length * 7 + 1);
        const data = c.inputs.map((s) => uniform(g, s.shape.reduce((a, b) => a * b, 1)));
        {
          const xs = data.map((d, i) => {
            const t = cnn.tensor(d, c.inputs[i].shape, { rt });
            t.requiresGrad = true;
            return t;
          });
          const y = c.f(xs);
          const r = uniform(g, y.size);
          await cnn.backward(y, cnn.tensor(r, y.shape, { rt }));
          const eps = c.eps ?? 1e-2;
          for (let k = 0; k < xs.length; k++) {
            const grad = await xs[k].grad!.toArray() as Float32Array;
            assert.equal(grad.length, data[k].length, `${c.name}: grad ${k} size`);
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
              const tol = (c.tol ?? 1e-2) * scale;
              if (!(Math.abs(fd - grad[i]) <= tol)) {
                assert.fail(
                  `${c.name}: d/dinput${k}[${i}] = ${grad[i]}, finite differences ${fd} (tol ${tol})`,
                );
              }
            }
          }
        }
      },
    });
  }
}

Deno.test("close backends (op gradients)", closeBackends);
