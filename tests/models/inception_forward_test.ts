/**
 * Inception family parity with torch (fixtures from tools/fixtures/make_inception_parity.py, torch 1.13 /
 * torchvision 0.14, seeded weights and random BN statistics):
 * - committed small fixture: a GoogLeNet Inception module, an Inception v3 InceptionC (asymmetric 1x7 /
 *   7x1 kernels) and a reduced-width InceptionE (split branches): eval forward, train-mode forward,
 *   gradients of every parameter for a fixed upstream gradient, updated running statistics;
 * - large fixtures (tests/fixtures/large/, skipped visibly when absent): googlenet (transform_input) and
 *   googlenet_paper (vs a torch replica) eval logits and train-mode forwardAux + googlenetLoss +
 *   gradients; inception_v3 eval logits;
 * - the aux-loss weighting on fixed logits, and aux gradients reaching only the layers below their tap.
 * Guarded by kernelsReady() until the kernels merge.
 */
import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";
import { exists, type FixtureArray, readFixture } from "../_util/fixture.ts";
import { kernelsReady, MODEL_KERNELS } from "../_util/kernels_ready.ts";
import { googlenet, googlenetLoss, inceptionModule } from "../../models/googlenet.ts";
import { inceptionC, inceptionV3 } from "../../models/inception_v3.ts";
import { BasicConv2d, FlatInception, type InceptionNet } from "../../models/_inception_blocks.ts";

const READY = kernelsReady(...MODEL_KERNELS, "crossEntropyForward", "crossEntropyBackward");
if (READY) await cnn.init({ threads: 1 });

const SMALL = new URL("../fixtures/inception_blocks_parity.safetensors", import.meta.url);
const large = (name: string) => new URL(`../fixtures/large/${name}_parity.safetensors`, import.meta.url);

/** Writes the fixture's `<prefix><key>` arrays into the model (every key present, shapes equal). */
async function loadState(model: cnn.nn.Module, fx: Map<string, FixtureArray>, prefix: string): Promise<void> {
  const sd = model.stateDict();
  for (const [key, t] of sd) {
    const src = fx.get(prefix + key);
    assert.ok(src, `fixture has no ${prefix}${key}`);
    assert.deepEqual(src.shape, [...t.shape], key);
    await t.write(src.data);
  }
  const extra = [...fx.keys()].filter((k) => k.startsWith(prefix) && !sd.has(k.slice(prefix.length)));
  assert.deepEqual(extra, []);
}

function tensorOf(fx: Map<string, FixtureArray>, name: string): cnn.Tensor {
  const a = fx.get(name);
  assert.ok(a, `fixture has no ${name}`);
  return cnn.tensor(a.data, a.shape);
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

async function close(t: cnn.Tensor, want: FixtureArray, tol: number, what: string): Promise<void> {
  assert.deepEqual([...t.shape], want.shape, what);
  const e = relErr(await t.toArray() as Float32Array, want.data);
  assert.ok(e < tol, `${what}: rel err ${e}`);
}

/** The reduced InceptionE of the fixture script (SmallE): InceptionE's wiring with small widths. */
function smallE(cIn: number): FlatInception {
  const k = (kernelSize: number | [number, number], padding: number | [number, number] = 0) => ({
    kernelSize,
    padding,
  });
  const c = (name: string, i: number, o: number, opts: ReturnType<typeof k>): [string, BasicConv2d] => [
    name,
    new BasicConv2d(i, o, opts),
  ];
  return new FlatInception([
    c("branch1x1", cIn, 6, k(1)),
    c("branch3x3_1", cIn, 5, k(1)),
    c("branch3x3_2a", 5, 4, k([1, 3], [0, 1])),
    c("branch3x3_2b", 5, 4, k([3, 1], [1, 0])),
    c("branch3x3dbl_1", cIn, 7, k(1)),
    c("branch3x3dbl_2", 7, 5, k(3, 1)),
    c("branch3x3dbl_3a", 5, 4, k([1, 3], [0, 1])),
    c("branch3x3dbl_3b", 5, 4, k([3, 1], [1, 0])),
    c("branch_pool", cIn, 3, k(1)),
  ], [
    ["branch1x1"],
    ["branch3x3_1", { split: [["branch3x3_2a"], ["branch3x3_2b"]] }],
    ["branch3x3dbl_1", "branch3x3dbl_2", { split: [["branch3x3dbl_3a"], ["branch3x3dbl_3b"]] }],
    [{ pool: "avg", kernelSize: 3, stride: 1, padding: 1 }, "branch_pool"],
  ]);
}

const BLOCKS: [string, () => cnn.nn.Module][] = [
  ["inc", () => inceptionModule(16, 8, 6, 8, 4, 6, 6)],
  ["v3c", () => inceptionC(8, 4)],
  ["v3e", () => smallE(8)],
];

for (const [name, make] of BLOCKS) {
  Deno.test({
    name: `inception block ${name}: eval forward, train forward, parameter gradients, running stats vs torch`,
    ignore: !READY,
    fn: async () => {
      const fx = readFixture(Deno.readFileSync(SMALL));
      const block = make();
      await loadState(block, fx, `${name}.w.`);
      const x = tensorOf(fx, `${name}.x`);
      block.eval();
      const ev = cnn.noGrad(() => block.forward(x));
      await close(ev, fx.get(`${name}.eval`)!, 1e-4, `${name} eval`);
      block.train();
      const y = block.forward(x);
      await close(y, fx.get(`${name}.train`)!, 1e-4, `${name} train`);
      const gy = tensorOf(fx, `${name}.gy`);
      await cnn.backward(y, gy);
      const params = block.namedParameters();
      assert.ok(params.length > 10);
      for (const [k, p] of params) {
        assert.ok(p.grad, `${name}.${k} has no gradient`);
        await close(p.grad, fx.get(`${name}.grad.${k}`)!, 1e-3, `${name} grad ${k}`);
      }
      const sd = block.stateDict();
      for (const k of [...fx.keys()].filter((k) => k.startsWith(`${name}.after.`))) {
        await close(sd.get(k.slice(`${name}.after.`.length))!, fx.get(k)!, 1e-4, k);
      }
      for (const t of [x, ev, y, gy]) t.dispose();
      block.dispose();
    },
  });
}

async function evalParity(fixture: string, make: () => cnn.nn.Module): Promise<void> {
  const fx = readFixture(Deno.readFileSync(large(fixture)));
  const model = make();
  await loadState(model, fx, "w.");
  model.eval();
  const x = tensorOf(fx, "x");
  const y = cnn.noGrad(() => model.forward(x));
  await close(y, fx.get("eval")!, 1e-4, `${fixture} eval`);
  x.dispose();
  y.dispose();
  model.dispose();
}

/** forwardAux in training (dropout off) + googlenetLoss + backward vs the fixture's train.* and grad.*. */
async function trainParity(fixture: string, make: () => InceptionNet): Promise<void> {
  const fx = readFixture(Deno.readFileSync(large(fixture)));
  const model = make();
  await loadState(model, fx, "w.");
  model.train();
  const x = tensorOf(fx, "x");
  const out = model.forwardAux(x);
  await close(out.logits, fx.get("train.logits")!, 1e-4, "train logits");
  assert.equal(out.aux.length, 2);
  // torchvision's tuple positions: module aux1 (on 4a) first, then aux2 (on 4d)
  await close(out.aux[0], fx.get("train.aux1")!, 1e-4, "train aux1 (first, torchvision tuple position)");
  await close(out.aux[1], fx.get("train.aux2")!, 1e-4, "train aux2");
  const labels = Int32Array.from(fx.get("labels")!.data);
  const loss = googlenetLoss(out, labels);
  const want = fx.get("train.loss")!.data[0];
  assert.ok(Math.abs(await loss.item() - want) < 1e-4 * Math.max(1, want), "loss");
  await cnn.backward(loss);
  const params = new Map(model.namedParameters());
  const grads = [...fx.keys()].filter((k) => k.startsWith("grad."));
  assert.ok(grads.length >= 5);
  for (const k of grads) {
    const p = params.get(k.slice(5))!;
    assert.ok(p.grad, `${k} has no gradient`);
    await close(p.grad, fx.get(k)!, 1e-3, k);
  }
  for (const t of [x, out.logits, ...out.aux, loss]) t.dispose();
  model.dispose();
}

Deno.test({
  name: "googlenet (transform_input) eval logits match torchvision (large fixture)",
  ignore: !READY || !exists(large("googlenet")),
  fn: () => evalParity("googlenet", () => googlenet({ transformInput: true })),
});

Deno.test({
  name: "googlenet train-mode forwardAux + googlenetLoss + gradients match torchvision (large fixture)",
  ignore: !READY || !exists(large("googlenet")),
  fn: () => trainParity("googlenet", () => googlenet({ transformInput: true, dropout: 0, dropoutAux: 0 })),
});

Deno.test({
  name: "googlenet_paper (LRN, 5x5, no BN) eval logits match a torch replica (large fixture)",
  ignore: !READY || !exists(large("googlenet_paper")),
  fn: () => evalParity("googlenet_paper", () => googlenet({ variant: "paper" })),
});

Deno.test({
  name: "googlenet_paper train-mode forwardAux + 0.3-weighted loss + gradients match a torch replica",
  ignore: !READY || !exists(large("googlenet_paper")),
  fn: () => trainParity("googlenet_paper", () => googlenet({ variant: "paper", dropout: 0, dropoutAux: 0 })),
});

Deno.test({
  name: "inception_v3 eval logits match torchvision (large fixture)",
  ignore: !READY || !exists(large("inception_v3")),
  fn: () => evalParity("inception_v3", () => inceptionV3()),
});

Deno.test({
  name: "googlenetLoss = CE(main) + 0.3 (CE(aux1) + CE(aux2)) on fixed logits; auxWeight changes 0.3",
  ignore: !READY,
  fn: async () => {
    const rows = [[2, -1, 0.5], [0, 1, -3]];
    const logsumexp = (r: number[]) => Math.log(r.reduce((s, v) => s + Math.exp(v), 0));
    const ce = (r: number[][], labels: number[]) =>
      r.reduce((s, row, i) => s + logsumexp(row) - row[labels[i]], 0) / r.length;
    const main = rows;
    const a2 = rows.map((r) => r.map((v) => v * 2));
    const a1 = rows.map((r) => r.map((v) => -v));
    const labels = [0, 2];
    const t = (r: number[][]) => cnn.tensor(r.flat(), [2, 3]);
    const out = { logits: t(main), aux: [t(a2), t(a1)] };
    const want = ce(main, labels) + 0.3 * (ce(a1, labels) + ce(a2, labels));
    assert.ok(Math.abs(await googlenetLoss(out, labels).item() - want) < 1e-5);
    const w1 = ce(main, labels) + (ce(a1, labels) + ce(a2, labels));
    assert.ok(Math.abs(await googlenetLoss(out, labels, { auxWeight: 1 }).item() - w1) < 1e-5);
    assert.ok(
      Math.abs(await googlenetLoss({ logits: out.logits, aux: [] }, labels).item() - ce(main, labels)) < 1e-5,
    );
  },
});

Deno.test({
  name: "googlenet aux1 loss alone: gradients reach conv1..inception4a only (not 4b-5b, fc, aux2)",
  ignore: !READY,
  fn: async () => {
    cnn.manualSeed(3);
    const model = googlenet({ numClasses: 5, dropoutAux: 0 });
    model.train();
    const x = cnn.tensor(Float32Array.from({ length: 2 * 3 * 64 * 64 }, (_, i) => Math.sin(i * 0.37)), [
      2,
      3,
      64,
      64,
    ]);
    const out = model.forwardAux(x);
    const loss = cnn.ops.crossEntropy(out.aux[0], new Int32Array([1, 4]));
    await cnn.backward(loss);
    const has = (prefix: string) =>
      model.namedParameters().filter(([k]) => k.startsWith(prefix)).every(([, p]) => p.grad !== null);
    const none = (prefix: string) =>
      model.namedParameters().filter(([k]) => k.startsWith(prefix)).every(([, p]) => p.grad === null);
    for (const p of ["conv1.", "inception3a.", "inception4a.", "aux1."]) {
      assert.ok(has(p), `${p} gets a gradient`);
    }
    for (const p of ["inception4b.", "inception4e.", "inception5b.", "aux2.", "fc."]) {
      assert.ok(none(p), `${p} gets no gradient from aux1`);
    }
    for (const t of [x, out.logits, ...out.aux, loss]) t.dispose();
    model.dispose();
  },
});
