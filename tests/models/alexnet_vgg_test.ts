/**
 * AlexNet, OverFeat and VGG without kernels: construction on the meta runtime, torchvision keys and shapes in
 * order (tests/fixtures/alexnet_vgg_keys.json from tools/fixtures/make_alexnet_vgg_keys.py), parameter
 * counts (exact) and MACs (spec/PARAMS.md and features.md, to 3 decimals in G), layer output sizes, the
 * paper variants' structure (groups, LRN, 1×1 convs, init) and errors.
 */
import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";
import { createRuntime, type Runtime, withRuntime } from "../../tensor/mod.ts";
import { alexnet, ALEXNETS } from "../../models/alexnet.ts";
import { OVERFEATS } from "../../models/overfeat.ts";
import { VGG_CONFIGS, VGGS } from "../../models/vgg.ts";
import { readFixture } from "../_util/fixture.ts";

await cnn.init({ threads: 1 });
const meta: Runtime = await createRuntime({ backend: "meta" });
const onMeta = <T>(fn: () => T): T => withRuntime(meta, fn);

/** spec/PARAMS.md ([T] torchvision, [C] paper tables, OverFeat's released weight layout). */
const PARAMS: Record<string, number> = {
  alexnet: 61_100_840,
  alexnet_paper: 60_965_224,
  vgg11: 132_863_336,
  vgg11_bn: 132_868_840,
  vgg13: 133_047_848,
  vgg13_bn: 133_053_736,
  vgg16: 138_357_544,
  vgg16_bn: 138_365_992,
  vgg19: 143_667_240,
  vgg19_bn: 143_678_248,
  vgg_a_lrn: 132_863_336,
  vgg_c: 133_638_952,
  overfeat_fast: 145_920_872,
  overfeat_accurate: 144_656_488,
};

/** MACs in G at the native input (PARAMS.md; alexnet_paper 0.724 from features.md §1.1). */
const GMACS: Record<string, number> = {
  alexnet: 0.714,
  alexnet_paper: 0.724,
  vgg11: 7.609,
  vgg11_bn: 7.609,
  vgg13: 11.308,
  vgg13_bn: 11.308,
  vgg16: 15.470,
  vgg16_bn: 15.470,
  vgg19: 19.632,
  vgg19_bn: 19.632,
  vgg_a_lrn: 7.609,
  overfeat_fast: 2.801,
  overfeat_accurate: 5.355,
};

Deno.test("alexnet/overfeat/vgg: every name is registered with its native input", () => {
  for (const name of Object.keys(PARAMS)) assert.ok(cnn.models.list().includes(name), name);
  assert.deepEqual(cnn.models.entry("alexnet").inputSize, [3, 224, 224]);
  assert.deepEqual(cnn.models.entry("alexnet_paper").inputSize, [3, 227, 227]);
  assert.deepEqual(cnn.models.entry("overfeat_fast").inputSize, [3, 231, 231]);
  assert.deepEqual(cnn.models.entry("overfeat_accurate").inputSize, [3, 221, 221]);
  assert.equal(cnn.models.entry("vgg_c").family, "vgg");
  assert.equal(Object.keys(VGGS).length, 10);
  assert.equal(Object.keys(ALEXNETS).length + Object.keys(OVERFEATS).length, 4);
});

Deno.test("alexnet/overfeat/vgg: parameter counts equal torchvision / the papers exactly", async () => {
  for (const [name, want] of Object.entries(PARAMS)) {
    const m = onMeta(() => cnn.models.create(name));
    assert.equal(m.numParameters(), want, name);
    m.dispose();
    await meta.sync(); // frees are queued: let them run before the next 0.5 GB model
  }
});

Deno.test("alexnet/overfeat/vgg: MACs match PARAMS.md to 3 decimals (G)", async () => {
  for (const [name, want] of Object.entries(GMACS)) {
    const s = await cnn.models.summary(name);
    assert.ok(
      Math.abs(s.totalMacs / 1e9 - want) <= 0.0005 + 1e-9,
      `${name}: ${s.totalMacs / 1e9} vs ${want}`,
    );
  }
});

Deno.test("alexnet/vgg: state_dict keys and shapes equal torchvision's, in order", async () => {
  const want: Record<string, [string, number[]][]> = JSON.parse(
    await Deno.readTextFile(new URL("../fixtures/alexnet_vgg_keys.json", import.meta.url)),
  );
  assert.equal(Object.keys(want).length, 9);
  for (const [name, keys] of Object.entries(want)) {
    const m = onMeta(() => cnn.models.create(name));
    const got = [...m.stateDict()].map(([k, t]) => [k, [...t.shape]]);
    assert.deepEqual(got, keys, name);
    m.dispose();
    await meta.sync();
  }
});

function shapes(s: cnn.models.Summary): [string, number[]][] {
  return s.rows.map((r) => [r.name, r.outputShape]);
}

Deno.test("alexnet_paper: layer sizes at 227 are 55, 27, 27, 13, 13, 13, 13, 6 (features.md §1.1)", async () => {
  const rows = shapes(await cnn.models.summary("alexnet_paper"));
  const convs = rows.filter(([n]) => /^features\.\d+$/.test(n));
  const sizes = convs.map(([, s]) => s[2]);
  // conv1 relu lrn pool | conv2 relu lrn pool | conv3 relu | conv4 relu | conv5 relu pool
  assert.deepEqual(sizes, [55, 55, 55, 27, 27, 27, 27, 13, 13, 13, 13, 13, 13, 13, 6]);
  assert.deepEqual(convs.map(([, s]) => s[1]), [
    ...[96, 96, 96, 96, 256, 256, 256, 256],
    ...[384, 384, 384, 384, 256, 256, 256],
  ]);
  assert.deepEqual(rows.at(-1)![1], [1, 1000]);
});

Deno.test("alexnet_paper: groups 2 on conv2/4/5, LRN (paper alpha) after conv1/conv2, 3/2 pools", () => {
  const m = onMeta(() => cnn.models.create("alexnet_paper"));
  const mods = new Map(m.namedModules());
  const conv = (p: string) => mods.get(p) as cnn.nn.Conv2d;
  assert.deepEqual(
    ["features.0", "features.4", "features.8", "features.10", "features.12"].map((p) =>
      conv(p).options.groups
    ),
    [1, 2, 1, 2, 2],
  );
  assert.deepEqual([...m.stateDict().get("features.4.weight")!.shape], [256, 48, 5, 5]);
  const lrns = [...mods].filter(([, x]) => x instanceof cnn.nn.LocalResponseNorm);
  assert.deepEqual(lrns.map(([p]) => p), ["features.2", "features.6"]);
  const o = (lrns[0][1] as cnn.nn.LocalResponseNorm).options;
  assert.deepEqual([o.size, o.alpha, o.beta, o.k, o.alphaConvention], [5, 1e-4, 0.75, 2, "paper"]);
  const pools = [...mods].filter(([, x]) => x instanceof cnn.nn.MaxPool2d).map(([p]) => p);
  assert.deepEqual(pools, ["features.3", "features.7", "features.14"]);
  // dropout after the ReLUs of fc6 and fc7
  const cls = [...mods].filter(([p]) => /^classifier\.\d+$/.test(p)).map(([, x]) => x.constructor.name);
  assert.deepEqual(cls, ["Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout", "Linear"]);
  m.dispose();
});

Deno.test("alexnet_paper: init N(0, 0.01), biases 1 in conv2, conv4, conv5 and the hidden FCs", async () => {
  // the paper row at reduced width (the init rule does not depend on width)
  const row = {
    layout: "paper" as const,
    convs: [
      { out: 4, kernel: 11, stride: 4, lrn: true, pool: true },
      { out: 8, kernel: 5, padding: 2, groups: 2, lrn: true, pool: true, bias: 1 },
      { out: 8, kernel: 3, padding: 1 },
      { out: 8, kernel: 3, padding: 1, groups: 2, bias: 1 },
      { out: 8, kernel: 3, padding: 1, groups: 2, pool: true, bias: 1 },
    ],
    hidden: [64, 64],
  };
  const m = alexnet(row, { numClasses: 10, generator: new cnn.Generator(3) });
  const sd = m.stateDict();
  const bias = async (k: string) => [...new Set(await sd.get(k)!.toArray())];
  assert.deepEqual(await bias("features.0.bias"), [0]);
  assert.deepEqual(await bias("features.4.bias"), [1]);
  assert.deepEqual(await bias("features.8.bias"), [0]);
  assert.deepEqual(await bias("features.10.bias"), [1]);
  assert.deepEqual(await bias("features.12.bias"), [1]);
  assert.deepEqual(await bias("classifier.0.bias"), [1]);
  assert.deepEqual(await bias("classifier.3.bias"), [1]);
  assert.deepEqual(await bias("classifier.6.bias"), [0]);
  const w = await sd.get("classifier.0.weight")!.toArray() as Float32Array;
  let s2 = 0;
  for (const v of w) s2 += v * v;
  const std = Math.sqrt(s2 / w.length);
  assert.ok(Math.abs(std - 0.01) < 0.001, `std ${std}`);
  m.dispose();
});

Deno.test("vgg: config C has 1x1 convs as the third conv of stages 3-5; A-LRN has LRN after conv1", async () => {
  const c = onMeta(() => cnn.models.create("vgg_c"));
  const convs = c.namedModules().filter(([, x]) => x instanceof cnn.nn.Conv2d) as [string, cnn.nn.Conv2d][];
  assert.equal(convs.length, 13);
  const ones = convs.filter(([, x]) => (x.options.kernelSize as readonly number[])[0] === 1).map(([p]) => p);
  assert.deepEqual(ones, ["features.14", "features.21", "features.28"]);
  assert.deepEqual([...c.stateDict().get("features.14.weight")!.shape], [256, 256, 1, 1]);
  c.dispose();
  await meta.sync();
  const a = onMeta(() => cnn.models.create("vgg_a_lrn"));
  const kinds = a.namedModules().filter(([p]) => /^features\.[0-3]$/.test(p)).map(([, x]) =>
    x.constructor.name
  );
  assert.deepEqual(kinds, ["Conv2d", "ReLU", "LocalResponseNorm", "MaxPool2d"]);
  a.dispose();
  await meta.sync();
  assert.equal(VGG_CONFIGS.vgg16.layers.filter((l) => l === "M").length, 5);
});

Deno.test("vgg / overfeat: output sizes (7x7 before the classifier; overfeat 6x6 / 5x5 maps)", async () => {
  const v = new Map(shapes(await cnn.models.summary("vgg16")));
  assert.deepEqual(v.get("features.30"), [1, 512, 7, 7]);
  assert.deepEqual(v.get("avgpool"), [1, 512, 7, 7]);
  const f = new Map(shapes(await cnn.models.summary("overfeat_fast")));
  assert.deepEqual(f.get("features.0"), [1, 96, 56, 56]);
  assert.deepEqual(f.get("features"), [1, 1024, 6, 6]);
  const a = new Map(shapes(await cnn.models.summary("overfeat_accurate")));
  assert.deepEqual(a.get("features.0"), [1, 96, 108, 108]);
  assert.deepEqual(a.get("features"), [1, 1024, 5, 5]);
  assert.deepEqual(a.get("classifier"), [1, 1000]);
});

Deno.test("alexnet/overfeat/vgg: numClasses / inChannels / batchNorm options", async () => {
  const m = onMeta(() => cnn.models.create("vgg11", { numClasses: 10, inChannels: 1, batchNorm: true }));
  assert.deepEqual([...m.stateDict().get("features.0.weight")!.shape], [64, 1, 3, 3]);
  assert.ok(m.stateDict().has("features.1.running_var"));
  assert.deepEqual([...m.stateDict().get("classifier.6.weight")!.shape], [10, 4096]);
  m.dispose();
  await meta.sync();
  const a = onMeta(() => cnn.models.create("alexnet", { numClasses: 10 }));
  assert.equal(a.numParameters(), 61_100_840 - 990 * 4097);
  a.dispose();
  const o = onMeta(() => cnn.models.create("overfeat_fast", { numClasses: 10 }));
  assert.equal(o.numParameters(), 145_920_872 - 990 * 4097);
  o.dispose();
  await meta.sync();
});

Deno.test("alexnet_paper / overfeat: a wrong input size is a named error", () => {
  onMeta(() => {
    const m = cnn.models.create("alexnet_paper");
    assert.throws(() => m.forward(cnn.zeros([1, 3, 224, 224], { rt: meta })), /Cannot run alexnet_paper/);
    const o = cnn.models.create("overfeat_accurate");
    assert.throws(() => o.forward(cnn.zeros([1, 3, 260, 260], { rt: meta })), /Cannot run OverFeat/);
    m.dispose();
    o.dispose();
  });
  assert.throws(() => onMeta(() => cnn.models.create("vgg11", { numClasses: 0 })), /Cannot create vgg11/);
});

Deno.test("alexnet_paper: the reduced parity fixture's torch module has our keys and shapes, in order", () => {
  const fx = readFixture(
    Deno.readFileSync(new URL("../fixtures/alexnet_paper_small_parity.safetensors", import.meta.url)),
  );
  const want = [...fx].filter(([k]) => k.startsWith("state.")).map(([k, a]) => [k.slice(6), a.shape]);
  const row = {
    layout: "paper" as const,
    convs: [
      { out: 8, kernel: 11, stride: 4, lrn: true, pool: true },
      { out: 16, kernel: 5, padding: 2, groups: 2, lrn: true, pool: true, bias: 1 },
      { out: 24, kernel: 3, padding: 1 },
      { out: 24, kernel: 3, padding: 1, groups: 2, bias: 1 },
      { out: 16, kernel: 3, padding: 1, groups: 2, pool: true, bias: 1 },
    ],
    hidden: [32, 32],
  };
  const m = onMeta(() => alexnet(row, { numClasses: 10 }));
  assert.deepEqual([...m.stateDict()].map(([k, t]) => [k, [...t.shape]]), want);
  m.dispose();
});

Deno.test("close meta runtime (alexnet_vgg_test)", async () => {
  await meta.close();
  await cnn.shutdown();
});
