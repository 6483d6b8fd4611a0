/**
 * Inception family without kernels (meta runtime): registry rows, torchvision state_dict keys and shapes
 * in order (tests/fixtures/inception_keys.json from tools/fixtures/make_inception_keys.py), exact
 * parameter counts, MACs (spec/PARAMS.md), per-module channels and spatial sizes, aux heads (train only,
 * torchvision order), presets and option errors.
 */
import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";
import { createRuntime, type Runtime, withRuntime } from "../../tensor/mod.ts";
import { googlenet } from "../../models/googlenet.ts";
import { inceptionV3 } from "../../models/inception_v3.ts";
import { bnInception } from "../../models/bn_inception.ts";
import type { InceptionNet } from "../../models/_inception_blocks.ts";
import { BatchNorm2d, type Conv2d, LocalResponseNorm, type Module } from "../../layers/mod.ts";

await cnn.init({ threads: 1 });
const meta: Runtime = await createRuntime({ backend: "meta" });
const onMeta = <T>(fn: () => T): T => withRuntime(meta, fn);

const KEYS: Record<string, [string, number[]][]> = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/inception_keys.json", import.meta.url)),
);

function keysOf(m: Module): [string, number[]][] {
  return [...m.stateDict()].map(([k, t]) => [k, [...t.shape]]);
}

Deno.test("inception family: registered rows with their native input sizes", () => {
  const rows: [string, string, number][] = [
    ["googlenet", "googlenet", 224],
    ["googlenet_paper", "googlenet", 224],
    ["bn_inception", "bn_inception", 224],
    ["inception_v3", "inception_v3", 299],
  ];
  for (const [name, family, size] of rows) {
    const e = cnn.models.entry(name);
    assert.equal(e.family, family);
    assert.deepEqual(e.inputSize, [3, size, size]);
    assert.equal(e.numClasses, 1000);
  }
});

Deno.test("inception family: state_dict keys and shapes equal torchvision's, in order", () => {
  const cases: [string, () => Module][] = [
    ["googlenet", () => googlenet()],
    ["googlenet_noaux", () => googlenet({ auxLogits: false })],
    ["inception_v3", () => inceptionV3()],
    ["inception_v3_noaux", () => inceptionV3({ auxLogits: false })],
  ];
  for (const [name, make] of cases) {
    const m = onMeta(make);
    assert.deepEqual(keysOf(m), KEYS[name], name);
    m.dispose();
  }
  // the registry builds the same models
  const viaRegistry = onMeta(() => cnn.models.create("inception_v3"));
  assert.deepEqual(keysOf(viaRegistry), KEYS.inception_v3);
});

Deno.test("inception family: parameter counts (PARAMS.md, features.md §1.4-1.6)", () => {
  const cases: [string, () => Module, number][] = [
    ["googlenet (aux)", () => googlenet(), 13_004_888],
    ["googlenet (no aux)", () => googlenet({ auxLogits: false }), 6_624_904],
    // paper main path 6,998,552 [C]; the two paper aux heads add 6,379,728
    ["googlenet_paper (no aux)", () => googlenet({ variant: "paper", auxLogits: false }), 6_998_552],
    ["googlenet_paper (aux)", () => googlenet({ variant: "paper" }), 6_998_552 + 6_379_728],
    ["inception_v3 (aux)", () => inceptionV3(), 27_161_264],
    ["inception_v3 (no aux)", () => inceptionV3({ auxLogits: false }), 23_834_568],
    // BN-Inception: no published exact count (paper "13.6M" unverified, PARAMS.md); 11,278,528 equals a
    // torch replica of the same Fig. 5 table, 11,285,224 with a plain 7x7 stem.
    ["bn_inception", () => bnInception(), 11_278_528],
    ["bn_inception (plain stem)", () => bnInception({ separableStem: false }), 11_285_224],
  ];
  for (const [name, make, expected] of cases) {
    const m = onMeta(make);
    assert.equal(m.numParameters(), expected, name);
    m.dispose();
  }
});

Deno.test("inception family: MACs (PARAMS.md: googlenet 1.498G, inception_v3 5.713G)", async () => {
  const exact: [string, number, Record<string, unknown>?][] = [
    ["googlenet", 1_498_376_192],
    // torchvision's count + the real 5x5s: sum of H*W*c5red*c5*(25-9) over the nine modules = 84,295,680
    ["googlenet_paper", 1_498_376_192 + 84_295_680],
    ["inception_v3", 5_713_216_096],
    // equals a torch replica of Fig. 5 with forward hooks
    ["bn_inception", 1_948_605_440],
  ];
  for (const [name, macs] of exact) {
    const s = await cnn.models.summary(name);
    assert.equal(s.totalMacs, macs, name);
  }
  // PARAMS.md's rounded figures, to 3 decimals in G
  assert.equal(((await cnn.models.summary("googlenet")).totalMacs / 1e9).toFixed(3), "1.498");
  assert.equal(((await cnn.models.summary("inception_v3")).totalMacs / 1e9).toFixed(3), "5.713");
});

function shapes(s: cnn.models.Summary, names: string[]): number[][] {
  return names.map((n) => s.rows.find((r) => r.name === n)!.outputShape);
}

Deno.test("googlenet: per-module channels and concat order (branch widths)", async () => {
  const s = await cnn.models.summary("googlenet");
  const blocks = ["3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b"].map((b) => `inception${b}`);
  assert.deepEqual(shapes(s, blocks).map((x) => x[1]), [256, 480, 512, 512, 512, 528, 832, 832, 1024]);
  assert.deepEqual(shapes(s, blocks).map((x) => x[2]), [28, 28, 14, 14, 14, 14, 14, 7, 7]);
  // branch order [1x1, 3x3, "5x5", pool] of inception4e: 256, 320, 128, 128
  const b = ["branch1", "branch2", "branch3", "branch4"].map((x) => `inception4e.${x}`);
  assert.deepEqual(shapes(s, b).map((x) => x[1]), [256, 320, 128, 128]);
  const p = await cnn.models.summary("googlenet_paper");
  assert.deepEqual(shapes(p, blocks).map((x) => x[1]), [256, 480, 512, 512, 512, 528, 832, 832, 1024]);
  assert.deepEqual(shapes(p, blocks).map((x) => x[2]), [28, 28, 14, 14, 14, 14, 14, 7, 7]);
});

Deno.test("inception_v3: spatial sizes 299 -> 149 -> 147 -> 147 -> 73 -> 71 -> 35 -> 17 -> 8", async () => {
  const s = await cnn.models.summary("inception_v3");
  const at = (n: string) => s.rows.find((r) => r.name === n)!.outputShape;
  assert.deepEqual(at("Conv2d_1a_3x3"), [1, 32, 149, 149]);
  assert.deepEqual(at("Conv2d_2a_3x3"), [1, 32, 147, 147]);
  assert.deepEqual(at("Conv2d_2b_3x3"), [1, 64, 147, 147]);
  assert.deepEqual(at("Conv2d_3b_1x1"), [1, 80, 73, 73]);
  assert.deepEqual(at("Conv2d_4a_3x3"), [1, 192, 71, 71]);
  assert.deepEqual(at("Mixed_5b"), [1, 256, 35, 35]);
  assert.deepEqual(at("Mixed_5d"), [1, 288, 35, 35]);
  assert.deepEqual(at("Mixed_6a"), [1, 768, 17, 17]);
  assert.deepEqual(at("Mixed_6e"), [1, 768, 17, 17]);
  assert.deepEqual(at("Mixed_7a"), [1, 1280, 8, 8]);
  assert.deepEqual(at("Mixed_7c"), [1, 2048, 8, 8]);
  assert.deepEqual(at("fc"), [1, 1000]);
  // asymmetric kernels keep the grid: 1x7 pads (0, 3), 7x1 pads (3, 0)
  assert.deepEqual(at("Mixed_6b.branch7x7_2"), [1, 128, 17, 17]);
  assert.deepEqual(at("Mixed_6b.branch7x7_3"), [1, 192, 17, 17]);
  const m = onMeta(() => inceptionV3());
  const c = (m as unknown as Record<string, Record<string, { conv: Conv2d }>>).Mixed_6b;
  assert.deepEqual(c.branch7x7_2.conv.options.padding, [0, 3]);
  assert.deepEqual(c.branch7x7_3.conv.options.padding, [3, 0]);
  assert.deepEqual(c.branch7x7_2.conv.weight.shape, [128, 128, 1, 7]);
  m.dispose();
});

Deno.test("bn_inception: Fig. 5 channels and grid sizes (3c, 4e reduce with stride 2)", async () => {
  const s = await cnn.models.summary("bn_inception");
  const blocks = ["3a", "3b", "3c", "4a", "4b", "4c", "4d", "4e", "5a", "5b"].map((b) => `inception${b}`);
  assert.deepEqual(shapes(s, blocks).map((x) => x[1]), [256, 320, 576, 576, 576, 608, 608, 1056, 1024, 1024]);
  assert.deepEqual(shapes(s, blocks).map((x) => x[2]), [28, 28, 14, 14, 14, 14, 14, 7, 7, 7]);
  assert.deepEqual(shapes(s, ["conv1", "conv3"]), [[1, 64, 112, 112], [1, 192, 56, 56]]);
  const m = onMeta(() => bnInception());
  const keys = [...m.stateDict().keys()];
  assert.ok(keys.includes("conv1.depthwise.weight") && keys.includes("conv1.pointwise.weight"));
  assert.deepEqual(m.stateDict().get("conv1.depthwise.weight")!.shape, [24, 1, 7, 7]);
  assert.ok(!keys.includes("inception3c.branch1.conv.weight"), "reductions have no 1x1 branch");
  assert.ok(!keys.some((k) => k.endsWith("conv.bias")), "no conv bias (BN follows every conv)");
  assert.ok(!m.namedModules().some(([, x]) => x instanceof LocalResponseNorm), "no LRN");
  assert.equal(cnn.models.hasAux(m), false);
  m.dispose();
});

Deno.test("googlenet_paper: no BN, conv biases, two LRNs, real 5x5, torchvision keeps 3x3", () => {
  const p = onMeta(() => googlenet({ variant: "paper" }));
  assert.ok(!p.namedModules().some(([, m]) => m instanceof BatchNorm2d));
  assert.equal(p.namedModules().filter(([, m]) => m instanceof LocalResponseNorm).length, 2);
  const sd = p.stateDict();
  assert.deepEqual(sd.get("inception3a.branch3.1.conv.weight")!.shape, [32, 16, 5, 5]);
  assert.deepEqual(sd.get("inception3a.branch1.conv.bias")!.shape, [64]);
  assert.deepEqual(sd.get("aux1.conv.conv.bias")!.shape, [128]);
  const t = onMeta(() => googlenet());
  assert.deepEqual(t.stateDict().get("inception3a.branch3.1.conv.weight")!.shape, [32, 16, 3, 3]);
  const t5 = onMeta(() => googlenet({ fiveKernel: 5 }));
  assert.deepEqual(t5.stateDict().get("inception3a.branch3.1.conv.weight")!.shape, [32, 16, 5, 5]);
  for (const m of [p, t, t5]) m.dispose();
});

Deno.test("inception family: aux outputs in training only, torchvision order, shapes", () => {
  const cases: [string, () => InceptionNet, number, number][] = [
    ["googlenet", () => googlenet({ numClasses: 7 }), 224, 2],
    ["googlenet_paper", () => googlenet({ variant: "paper", numClasses: 7 }), 224, 2],
    ["inception_v3", () => inceptionV3({ numClasses: 7 }), 299, 1],
  ];
  for (const [name, make, size, nAux] of cases) {
    const m = onMeta(make);
    assert.ok(cnn.models.hasAux(m), name);
    const x = onMeta(() => cnn.zeros([2, 3, size, size]));
    m.train();
    const out = onMeta(() => m.forwardAux(x));
    assert.deepEqual(out.logits.shape, [2, 7], name);
    assert.equal(out.aux.length, nAux, name);
    for (const a of out.aux) assert.deepEqual(a.shape, [2, 7], name);
    assert.deepEqual(onMeta(() => m.forward(x)).shape, [2, 7]);
    m.eval();
    const ev = onMeta(() => m.forwardAux(x));
    assert.equal(ev.aux.length, 0, `${name}: no aux in eval mode`);
    assert.deepEqual(ev.logits.shape, [2, 7]);
    m.dispose();
  }
  const noAux = onMeta(() => googlenet({ auxLogits: false }));
  assert.equal(cnn.models.hasAux(noAux), false);
  assert.equal(cnn.models.hasAux(onMeta(() => inceptionV3({ auxLogits: false }))), false);
  noAux.dispose();
});

Deno.test("inception family: options (classes, transformInput) and named errors", () => {
  const m = onMeta(() => cnn.models.create("googlenet", { numClasses: 10, transformInput: true }));
  assert.deepEqual(m.stateDict().get("fc.weight")!.shape, [10, 1024]);
  assert.deepEqual(m.stateDict().get("aux2.fc2.weight")!.shape, [10, 1024]);
  assert.deepEqual(keysOf(m).map((k) => k[0]), KEYS.googlenet.map((k) => k[0]), "transform adds no keys");
  assert.deepEqual(onMeta(() => m.forward(cnn.zeros([1, 3, 224, 224]))).shape, [1, 10]);
  m.dispose();
  assert.throws(
    () => onMeta(() => googlenet({ variant: "v9" as "paper" })),
    /Cannot create googlenet: variant/,
  );
  assert.throws(() => onMeta(() => googlenet({ fiveKernel: 4 as 5 })), /fiveKernel must be 3 or 5/);
  assert.throws(() => onMeta(() => googlenet({ auxLogits: "yes" as unknown as boolean })), /auxLogits/);
  assert.throws(
    () => onMeta(() => googlenet({ inChannels: 1, transformInput: true })),
    /transformInput needs 3 input channels/,
  );
  assert.throws(() => onMeta(() => inceptionV3({ dropout: 2 })), /dropout must be in \[0, 1\]/);
  assert.throws(() => onMeta(() => bnInception({ separableStem: 1 as unknown as boolean })), /separableStem/);
  const mono = onMeta(() => cnn.models.create("inception_v3", { inChannels: 1, numClasses: 5 }));
  assert.deepEqual(mono.stateDict().get("Conv2d_1a_3x3.conv.weight")!.shape, [32, 1, 3, 3]);
  mono.dispose();
});

Deno.test("close meta runtime (inception_test)", async () => {
  await meta.close();
});
