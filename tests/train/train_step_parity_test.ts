// Issue 3 proof: a small conv net (BN, LRN, grouped + dilated + asymmetric conv, max/avg/adaptive pooling,
// linear) against PyTorch 1.13: forward logits, two SGD steps (Nesterov, weight decay, label smoothing,
// train-mode BN): loss, every gradient, momentum buffers, updated weights and BN running stats; then the
// eval-mode logits. Fixture: tools/fixtures/make_train_step_fixture.py.
import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";
import { assertClose } from "../_util/assert_close.ts";
import { backend, BACKENDS, closeBackends } from "../_util/backends.ts";
import { type FixtureArray, readFixture } from "../_util/fixture.ts";
import { kernelsReady, MODEL_KERNELS } from "../_util/kernels_ready.ts";

const FIX = readFixture(Deno.readFileSync(new URL("../fixtures/train_step.safetensors", import.meta.url)));
const get = (k: string): FixtureArray => {
  const v = FIX.get(k);
  if (!v) throw new Error(`fixture has no ${k}`);
  return v;
};

function buildNet(): cnn.nn.Sequential {
  const nn = cnn.nn;
  return new nn.Sequential(
    new nn.Conv2d(3, 8, { kernelSize: 3, padding: 1 }),
    new nn.BatchNorm2d(8),
    new nn.ReLU(),
    new nn.LocalResponseNorm(3, { alpha: 1e-2, beta: 0.75, k: 2 }),
    new nn.Conv2d(8, 8, { kernelSize: 3, padding: 2, dilation: 2, groups: 2, bias: false }),
    new nn.BatchNorm2d(8, { momentum: 0.2 }),
    new nn.ReLU(),
    new nn.MaxPool2d({ kernelSize: 3, stride: 2, padding: 1 }),
    new nn.Conv2d(8, 16, { kernelSize: [1, 3], padding: [0, 1] }),
    new nn.ReLU(),
    new nn.AvgPool2d({ kernelSize: 2, stride: 2, ceilMode: true, countIncludePad: false }),
    new nn.AdaptiveAvgPool2d(1),
    new nn.Flatten(),
    new nn.Linear(16, 5),
  );
}

/** Relative closeness: |a - b| <= 1e-4 * max|b| + 1e-6. */
function close(actual: ArrayLike<number>, expected: FixtureArray, label: string): void {
  let scale = 0;
  for (const v of expected.data) scale = Math.max(scale, Math.abs(v));
  assertClose(actual, expected.data, { rtol: 0, atol: 1e-4 * scale + 1e-6, label });
}

for (const kind of BACKENDS) {
  Deno.test({
    name: `small net: forward, two Nesterov SGD steps and eval match PyTorch [${kind}]`,
    ignore: !kernelsReady(...MODEL_KERNELS, "sgdStep", "lrnForward", "crossEntropyForward"),
    fn: async () => {
      const rt = await backend(kind);
      const { net, x, init } = cnn.withRuntime(rt, () => {
        const net = buildNet();
        const x = cnn.tensor(get("x").data, get("x").shape);
        const init = new Map<string, cnn.Tensor>();
        for (const key of net.stateDict().keys()) {
          const f = get(`init.${key}`);
          init.set(
            key,
            key.endsWith("num_batches_tracked")
              ? cnn.tensor(BigInt64Array.from(f.data, (v) => BigInt(v)), f.shape, { dtype: "int64" })
              : cnn.tensor(f.data, f.shape),
          );
        }
        return { net, x, init };
      });
      net.loadStateDict(init, { strict: true });
      const labels = new Int32Array(Array.from(get("y").data));
      const named = [...net.namedParameters()];
      const opt = new cnn.optim.SGD(named.map(([, p]) => p), {
        lr: 0.1,
        momentum: 0.9,
        nesterov: true,
        weightDecay: 5e-4,
      });
      net.train();
      for (const step of [1, 2]) {
        opt.zeroGrad();
        const logits = net.forward(x);
        const loss = cnn.nn.crossEntropy(logits, labels, { labelSmoothing: 0.1 });
        close(await logits.toArray(), get(`step${step}.logits`), `step${step} logits`);
        close([await loss.item()], get(`step${step}.loss`), `step${step} loss`);
        await loss.backward();
        for (const [name, p] of named) {
          assert.ok(p.grad, `step${step}: ${name} has no gradient`);
          close(await p.grad.toArray(), get(`step${step}.grad.${name}`), `step${step} grad ${name}`);
        }
        await opt.step();
        const sd = await opt.stateDict();
        named.forEach(([name], i) => {
          const buf = sd.state[String(i)]?.momentum_buffer as Float32Array;
          close(buf, get(`step${step}.momentum.${name}`), `step${step} momentum ${name}`);
        });
        for (const [key, t] of net.stateDict()) {
          const want = get(`step${step}.state.${key}`);
          if (t.dtype === "int64") assert.equal(await t.item(), want.data[0], key);
          else close(await t.toArray(), want, `step${step} state ${key}`);
        }
        logits.dispose();
        loss.dispose();
      }
      net.eval();
      const out = cnn.noGrad(() => net.forward(x));
      close(await out.toArray(), get("eval.logits"), "eval logits");
    },
  });
}

Deno.test("close backends (train step parity)", closeBackends);
