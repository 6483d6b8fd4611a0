/**
 * DenseNet family without kernels: torchvision keys and shapes in order (tests/fixtures/densenet_keys.json
 * from tools/fixtures/make_densenet_keys.py), parameter counts (exact: spec/PARAMS.md, features.md §1.15),
 * MACs (PARAMS.md, 3 decimals in G), channel arithmetic (⌊θm⌋ transitions), the CIFAR layouts, the
 * densenet[_bc]_<L>_<k> resolver and errors. Big models are built on the meta runtime.
 */
import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";
import { createRuntime, type Runtime, withRuntime } from "../../tensor/mod.ts";
import { readFixture } from "../_util/fixture.ts";
import { cifarDenseNetConfig, type DenseLayer, DenseNet, resolveDenseNet } from "../../models/densenet.ts";

await cnn.init({ threads: 1 });
const meta: Runtime = await createRuntime({ backend: "meta" });
const onMeta = <T>(fn: () => T): T => withRuntime(meta, fn);

const PARAMS: Record<string, number> = {
  densenet121: 7_978_856,
  densenet161: 28_681_000,
  densenet169: 14_149_480,
  densenet201: 20_013_928,
  densenet264: 33_337_704,
  densenet_40_12: 1_019_722,
  densenet_100_12: 6_979_642,
  densenet_100_24: 27_249_082,
  densenet_bc_100_12: 769_162,
  densenet_bc_250_24: 15_324_406,
  densenet_bc_190_40: 25_624_430,
};

const GMACS: Record<string, number> = {
  densenet121: 2.834,
  densenet161: 7.728,
  densenet169: 3.360,
  densenet201: 4.291,
  densenet_40_12: 0.265,
  densenet_bc_100_12: 0.288,
  densenet_bc_250_24: 5.419,
};

Deno.test("densenet family: every row is registered with its input size and classes", () => {
  for (const name of Object.keys(PARAMS)) {
    assert.ok(cnn.models.list().includes(name), name);
    assert.equal(cnn.models.entry(name).family, "densenet");
  }
  assert.deepEqual(cnn.models.entry("densenet121").inputSize, [3, 224, 224]);
  assert.equal(cnn.models.entry("densenet121").numClasses, 1000);
  assert.deepEqual(cnn.models.entry("densenet_bc_100_12").inputSize, [3, 32, 32]);
  assert.equal(cnn.models.entry("densenet_bc_100_12").numClasses, 10);
});

Deno.test("densenet family: state_dict keys and shapes equal torchvision's, in order", async () => {
  const want: Record<string, [string, number[]][]> = JSON.parse(
    await Deno.readTextFile(new URL("../fixtures/densenet_keys.json", import.meta.url)),
  );
  assert.deepEqual(Object.keys(want), ["densenet121", "densenet161", "densenet169", "densenet201"]);
  for (const [name, keys] of Object.entries(want)) {
    const m = onMeta(() => cnn.models.create(name));
    const got = [...m.stateDict()].map(([k, t]) => [k, [...t.shape]]);
    assert.deepEqual(got, keys, name);
    m.dispose();
  }
});

Deno.test("densenet family: parameter counts are exact", () => {
  for (const [name, want] of Object.entries(PARAMS)) {
    const m = onMeta(() => cnn.models.create(name));
    assert.equal(m.numParameters(), want, name);
    m.dispose();
  }
});

Deno.test("densenet family: MACs match PARAMS.md to 3 decimals (G)", async () => {
  for (const [name, want] of Object.entries(GMACS)) {
    const s = await cnn.models.summary(name);
    assert.ok(
      Math.abs(s.totalMacs / 1e9 - want) <= 0.0005 + 1e-9,
      `${name}: ${s.totalMacs / 1e9} vs ${want}`,
    );
  }
});

Deno.test("densenet family: channel arithmetic, floor(theta m) transitions and output shapes", async () => {
  // k = 5, blocks [3, 3], 8 stem channels: 8 + 15 = 23 -> floor(11.5) = 11 -> 11 + 15 = 26
  const m = onMeta(() =>
    new DenseNet({ growthRate: 5, blockConfig: [3, 3], initFeatures: 8, layout: "cifar" })
  );
  const sd = m.stateDict();
  assert.deepEqual([...sd.get("features.denseblock1.denselayer3.norm1.weight")!.shape], [18]);
  assert.deepEqual([...sd.get("features.denseblock1.denselayer3.conv1.weight")!.shape], [20, 18, 1, 1]);
  assert.deepEqual([...sd.get("features.denseblock1.denselayer3.conv2.weight")!.shape], [5, 20, 3, 3]);
  assert.deepEqual([...sd.get("features.transition1.conv.weight")!.shape], [11, 23, 1, 1]);
  assert.deepEqual([...sd.get("features.norm5.weight")!.shape], [26]);
  assert.deepEqual([...sd.get("classifier.weight")!.shape], [10, 26]);
  assert.ok(!sd.has("features.norm0.weight")); // CIFAR stem is a plain conv
  assert.deepEqual([...sd.get("features.conv0.weight")!.shape], [8, 3, 3, 3]);
  m.dispose();
  const s = await cnn.models.summary("densenet121");
  const shapes = new Map(s.rows.map((r) => [r.name, r.outputShape]));
  assert.deepEqual(shapes.get("features.pool0"), [1, 64, 56, 56]);
  assert.deepEqual(shapes.get("features.denseblock1"), [1, 256, 56, 56]);
  assert.deepEqual(shapes.get("features.transition1"), [1, 128, 28, 28]);
  assert.deepEqual(shapes.get("features.denseblock4"), [1, 1024, 7, 7]);
  assert.deepEqual(shapes.get("features.norm5"), [1, 1024, 7, 7]);
  assert.deepEqual(shapes.get("features.denseblock1.denselayer6"), [1, 32, 56, 56]);
  const c = await cnn.models.summary("densenet_bc_100_12");
  const cs = new Map(c.rows.map((r) => [r.name, r.outputShape]));
  assert.deepEqual(cs.get("features.conv0"), [1, 24, 32, 32]);
  assert.deepEqual(cs.get("features.denseblock1"), [1, 24 + 16 * 12, 32, 32]);
  assert.deepEqual(cs.get("features.transition2"), [1, 150, 8, 8]);
  assert.deepEqual(cs.get("features.norm5"), [1, 342, 8, 8]);
});

Deno.test("densenet family: plain CIFAR DenseNet has no bottleneck and no compression", () => {
  const m = onMeta(() => cnn.models.create("densenet_40_12"));
  const sd = m.stateDict();
  assert.deepEqual([...sd.get("features.conv0.weight")!.shape], [16, 3, 3, 3]);
  assert.deepEqual([...sd.get("features.denseblock1.denselayer1.conv1.weight")!.shape], [12, 16, 3, 3]);
  assert.ok(!sd.has("features.denseblock1.denselayer1.norm2.weight"));
  assert.deepEqual([...sd.get("features.transition1.conv.weight")!.shape], [160, 160, 1, 1]);
  assert.ok(!sd.has("features.denseblock1.denselayer13.norm1.weight"));
  m.dispose();
});

Deno.test("densenet family: dropout placement (torchvision: layer output; paper: every conv) adds no keys", () => {
  const tv = onMeta(() => cnn.models.create("densenet121", { dropout: 0.2 }));
  const l = (tv as DenseNet).features.at("denseblock1").namedChildren()[0][1] as DenseLayer;
  assert.equal(l.drop1, null);
  assert.equal(l.drop2?.p, 0.2);
  assert.equal(tv.numParameters(), 7_978_856);
  const paper = onMeta(() => cnn.models.create("densenet_bc_100_12", { dropout: 0.2 }));
  const pl = (paper as DenseNet).features.at("denseblock2").namedChildren()[0][1] as DenseLayer;
  assert.equal(pl.drop1?.p, 0.2);
  assert.equal(pl.drop2?.p, 0.2);
  const tr = (paper as DenseNet).features.at("transition1") as cnn.nn.Sequential;
  assert.deepEqual(tr.namedChildren().map(([n]) => n), ["norm", "relu", "conv", "drop", "pool"]);
  assert.equal(paper.numParameters(), 769_162);
  tv.dispose();
  paper.dispose();
});

Deno.test("densenet family: any densenet_<3n+4>_<k> / densenet_bc_<6n+4>_<k> resolves", () => {
  const m = onMeta(() => cnn.models.create("densenet_bc_40_8"));
  // 6 layers per block, stem 16
  assert.ok(m.stateDict().has("features.denseblock3.denselayer6.conv2.weight"));
  assert.ok(!m.stateDict().has("features.denseblock3.denselayer7.conv2.weight"));
  m.dispose();
  assert.ok(!cnn.models.list().includes("densenet_bc_40_8"));
  assert.equal(resolveDenseNet("densenet_bc_41_12"), undefined);
  assert.ok(resolveDenseNet("densenet_41_12") === undefined);
  assert.ok(resolveDenseNet("densenet_43_12")); // 3 x 13 + 4
  assert.throws(() => cnn.models.entry("densenet_bc_42_12"), /Cannot create model: unknown model/);
  assert.throws(() => cifarDenseNetConfig(42, 12, true), /Cannot create DenseNet: depth must be 6n \+ 4/);
});

Deno.test("densenet family: invalid rows raise named errors", () => {
  const bad = (o: Record<string, unknown>, re: RegExp) =>
    assert.throws(() => onMeta(() => cnn.models.create("densenet121", o)), re);
  bad({ growthRate: 0 }, /Cannot create DenseNet: growthRate must be an integer >= 1/);
  bad({ blockConfig: [6, 0] }, /Cannot create DenseNet: blockConfig must be integers >= 1/);
  bad({ compression: 0 }, /Cannot create DenseNet: compression must be in \(0, 1\]/);
  bad({ bnSize: -1 }, /Cannot create DenseNet: bnSize must be an integer >= 0/);
  bad({ dropoutPlacement: "after" }, /Cannot create DenseNet: dropoutPlacement must be/);
});

Deno.test("densenet family: the parity fixtures' torch state_dicts have our keys and shapes, in order", () => {
  const cases: [string, string, cnn.models.ModelOptions][] = [
    ["densenet_bc_small_parity", "densenet_bc_100_12", { blockConfig: [2, 2, 2] }],
    ["densenet_small_parity", "densenet_40_12", { growthRate: 6, blockConfig: [2, 2, 2] }],
  ];
  for (const [file, name, options] of cases) {
    const fx = readFixture(Deno.readFileSync(new URL(`../fixtures/${file}.safetensors`, import.meta.url)));
    const want = [...fx].filter(([k]) => k.startsWith("state.")).map(([k, v]) => [k.slice(6), v.shape]);
    const m = onMeta(() => cnn.models.create(name, options));
    assert.deepEqual([...m.stateDict()].map(([k, t]) => [k, [...t.shape]]), want, file);
    m.dispose();
  }
});

Deno.test("close meta runtime (densenet)", async () => {
  await meta.close();
});
