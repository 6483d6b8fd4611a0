/**
 * Whole-model parity helpers of the preact/WRN and DenseNet forward tests: load a fixture's
 * `state.<key>` arrays into a model, compare eval logits, and run one train-mode forward/backward against
 * the fixture's logits, loss, every gradient and the updated running statistics. Fixture layout: see
 * tools/fixtures/_parity_common.py.
 * @module
 */
import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";
import type { FixtureArray } from "../_util/fixture.ts";

/** A fixture as read by readFixture. */
export type Fixture = Map<string, FixtureArray>;

/** Writes `state.<key>` into the model; every model key must be present with its shape, and no extra. */
export async function loadState(model: cnn.nn.Module, fx: Fixture): Promise<void> {
  const sd = model.stateDict();
  for (const [key, t] of sd) {
    const src = fx.get(`state.${key}`);
    assert.ok(src, `fixture has no state.${key}`);
    assert.deepEqual(src.shape, [...t.shape], key);
    await t.write(src.data);
  }
  const extra = [...fx.keys()].filter((k) => k.startsWith("state.") && !sd.has(k.slice(6)));
  assert.deepEqual(extra, [], "fixture keys the model lacks");
}

/** max |a - b| / max |b|. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0, m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / (m || 1);
}

function input(fx: Fixture): cnn.Tensor {
  const x = fx.get("input")!;
  return cnn.tensor(x.data, x.shape);
}

/** Eval-mode logits of `name` (with options) vs the fixture, within 1e-4 of max |logit|. */
export async function evalParity(
  name: string,
  fx: Fixture,
  options: cnn.models.ModelOptions = {},
): Promise<void> {
  const model = cnn.models.create(name, options);
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

/**
 * One train-mode pass: logits and loss (1e-4), every parameter gradient (1e-3 of its max), running
 * statistics after the pass (1e-4) and num_batches_tracked.
 */
export async function trainParity(
  name: string,
  fx: Fixture,
  options: cnn.models.ModelOptions = {},
): Promise<void> {
  const model = cnn.models.create(name, options);
  await loadState(model, fx);
  model.train();
  const x = input(fx);
  const logits = model.forward(x);
  const labels = Int32Array.from(fx.get("train.labels")!.data);
  const loss = cnn.ops.crossEntropy(logits, labels);
  await cnn.backward(loss);
  const eLogits = relErr(await logits.toArray() as Float32Array, fx.get("train.logits")!.data);
  assert.ok(eLogits < 1e-4, `${name}: train logits rel err ${eLogits}`);
  const wantLoss = fx.get("train.loss")!.data[0];
  const gotLoss = await loss.item();
  assert.ok(Math.abs(gotLoss - wantLoss) < 1e-4 * Math.max(1, wantLoss), `loss ${gotLoss} vs ${wantLoss}`);
  const named = model.namedParameters();
  assert.equal(named.length, [...fx.keys()].filter((k) => k.startsWith("grad.")).length);
  for (const [k, p] of named) {
    assert.ok(p.grad, `${k} has no gradient`);
    const e = relErr(await p.grad.toArray() as Float32Array, fx.get(`grad.${k}`)!.data);
    assert.ok(e < 1e-3, `${name}: grad ${k} rel err ${e}`);
  }
  for (const [k, t] of model.stateDict()) {
    const want = fx.get(`train.${k}`);
    if (!want) continue;
    if (t.dtype === "int64") assert.equal(await t.item(), want.data[0], k);
    else {
      const e = relErr(await t.toArray(), want.data);
      assert.ok(e < 1e-4, `${name}: ${k} after the pass rel err ${e}`);
    }
  }
  for (const t of [x, logits, loss]) t.dispose();
  model.dispose();
}
