/**
 * AlexNet / VGG whole-model parity with torch (fixtures from tools/fixtures/make_alexnet_vgg_parity.py, seed
 * 1234): the alexnet_paper layout at reduced width (groups 2, LRN, 227 input; committed) in eval mode and
 * one train-mode forward/backward (dropout 0: logits, loss, parameter gradients); torchvision `alexnet` and
 * `vgg11_bn` eval logits (tests/fixtures/large/, skipped visibly when absent). Guarded by kernelsReady()
 * until the kernels merge.
 */
import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";
import { exists, type FixtureArray, readFixture } from "../_util/fixture.ts";
import { kernelsReady, MODEL_KERNELS } from "../_util/kernels_ready.ts";
import { alexnet, type AlexNetConfig } from "../../models/alexnet.ts";

const READY = kernelsReady(...MODEL_KERNELS, "lrnForward", "lrnBackward");
if (READY) await cnn.init({ threads: 1 });

const SMALL = new URL("../fixtures/alexnet_paper_small_parity.safetensors", import.meta.url);
const large = (name: string) => new URL(`../fixtures/large/${name}_parity.safetensors`, import.meta.url);

/** The alexnet_paper row at reduced width (as SMALL_CONVS in the fixture script). */
const SMALL_ROW: AlexNetConfig = {
  layout: "paper",
  convs: [
    { out: 8, kernel: 11, stride: 4, lrn: true, pool: true },
    { out: 16, kernel: 5, padding: 2, groups: 2, lrn: true, pool: true, bias: 1 },
    { out: 24, kernel: 3, padding: 1 },
    { out: 24, kernel: 3, padding: 1, groups: 2, bias: 1 },
    { out: 16, kernel: 3, padding: 1, groups: 2, pool: true, bias: 1 },
  ],
  hidden: [32, 32],
};

/** Writes the fixture's `state.<key>` arrays into the model (every key present, shapes equal, no extras). */
async function loadState(model: cnn.nn.Module, fx: Map<string, FixtureArray>): Promise<void> {
  const sd = model.stateDict();
  for (const [key, t] of sd) {
    const src = fx.get(`state.${key}`);
    assert.ok(src, `fixture has no state.${key}`);
    assert.deepEqual(src.shape, [...t.shape], key);
    await t.write(src.data);
  }
  const extra = [...fx.keys()].filter((k) => k.startsWith("state.") && !sd.has(k.slice(6)));
  assert.deepEqual(extra, []);
}

function input(fx: Map<string, FixtureArray>): cnn.Tensor {
  const x = fx.get("input")!;
  return cnn.tensor(x.data, x.shape);
}

/** max |a - b| / max |b|. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0, m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / (m || 1);
}

async function evalParity(model: cnn.nn.Module, fx: Map<string, FixtureArray>, name: string): Promise<void> {
  await loadState(model, fx);
  model.eval();
  const x = input(fx);
  const y = cnn.noGrad(() => model.forward(x));
  const want = fx.get("logits")!;
  assert.deepEqual([...y.shape], want.shape);
  const err = relErr(await y.toArray() as Float32Array, want.data);
  assert.ok(err < 1e-4, `${name}: eval logits rel err ${err}`);
  x.dispose();
  y.dispose();
  model.dispose();
}

Deno.test({
  name: "alexnet_paper layout (reduced width: groups, LRN, 227) eval logits match torch",
  ignore: !READY,
  fn: () =>
    evalParity(
      alexnet(SMALL_ROW, { numClasses: 10 }),
      readFixture(Deno.readFileSync(SMALL)),
      "alexnet_paper",
    ),
});

Deno.test({
  name: "alexnet_paper layout train-mode forward/backward matches torch (dropout 0: logits, loss, grads)",
  ignore: !READY,
  fn: async () => {
    const fx = readFixture(Deno.readFileSync(SMALL));
    const model = alexnet(SMALL_ROW, { numClasses: 10, dropout: 0 });
    await loadState(model, fx);
    model.train();
    const x = input(fx);
    const logits = model.forward(x);
    const labels = Int32Array.from(fx.get("train.labels")!.data);
    const loss = cnn.ops.crossEntropy(logits, labels);
    await cnn.backward(loss);
    const eLogits = relErr(await logits.toArray() as Float32Array, fx.get("train.logits")!.data);
    assert.ok(eLogits < 1e-4, `train logits rel err ${eLogits}`);
    const wantLoss = fx.get("train.loss")!.data[0];
    assert.ok(Math.abs(await loss.item() - wantLoss) < 1e-4 * Math.max(1, wantLoss), "loss");
    const params = new Map(model.namedParameters());
    const grads = [...fx.keys()].filter((k) => k.startsWith("grad."));
    assert.ok(grads.length >= 5);
    for (const k of grads) {
      const p = params.get(k.slice(5))!;
      assert.ok(p.grad, `${k} has no gradient`);
      const e = relErr(await p.grad.toArray() as Float32Array, fx.get(k)!.data);
      assert.ok(e < 1e-3, `${k}: rel err ${e}`);
    }
    for (const t of [x, logits, loss]) t.dispose();
    model.dispose();
  },
});

for (const name of ["alexnet", "vgg11_bn"]) {
  Deno.test({
    name: `${name} eval logits match torchvision (large fixture)`,
    ignore: !READY || !exists(large(name)),
    fn: () => evalParity(cnn.models.create(name), readFixture(Deno.readFileSync(large(name))), name),
  });
}

Deno.test({
  name: "close runtime (alexnet_vgg_forward_test)",
  ignore: !READY,
  fn: () => cnn.shutdown(),
});
