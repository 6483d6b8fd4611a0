/**
 * Pre-activation ResNet / WRN family without kernels: construction on the meta runtime, parameter counts
 * (exact: spec/PARAMS.md and features.md §1.14; ImageNet rows and preact-110 [C] from the torch reference
 * module in tools/fixtures/make_preact_parity.py), MACs (PARAMS.md, 3 decimals in G), layout (projection
 * only where the shape changes, stride placement, dropout between the convs), the wrn_<d>_<k> resolver
 * and errors.
 */
import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";
import { createRuntime, type Runtime, withRuntime } from "../../tensor/mod.ts";
import { readFixture } from "../_util/fixture.ts";
import {
  type PreActBasicBlock,
  type PreActBottleneck,
  type PreActResNet,
  resolveWrn,
  wrnConfig,
} from "../../models/preact_resnet.ts";

await cnn.init({ threads: 1 });
const meta: Runtime = await createRuntime({ backend: "meta" });
const onMeta = <T>(fn: () => T): T => withRuntime(meta, fn);

const PARAMS: Record<string, number> = {
  preact_resnet18: 11_687_720,
  preact_resnet34: 21_795_880,
  preact_resnet50: 25_549_352,
  preact_resnet101: 44_541_480,
  preact_resnet152: 60_185_128,
  preact_resnet200: 64_666_152,
  preact_resnet110_cifar: 1_730_522,
  preact_resnet164_cifar: 1_703_258,
  preact_resnet1001_cifar: 10_327_706,
  wrn_16_4: 2_748_890,
  wrn_16_8: 10_961_370,
  wrn_22_8: 17_158_106,
  wrn_28_10: 36_479_194,
  wrn_40_4: 8_949_210,
  wrn_40_10: 55_841_754,
};

const GMACS: Record<string, number> = {
  preact_resnet164_cifar: 0.245,
  preact_resnet1001_cifar: 1.488,
  wrn_28_10: 5.243,
  wrn_16_8: 1.548,
};

Deno.test("preact family: every row is registered with its input size and classes", () => {
  for (const name of Object.keys(PARAMS)) {
    assert.ok(cnn.models.list().includes(name), name);
  }
  assert.equal(cnn.models.entry("preact_resnet50").family, "preact_resnet");
  assert.deepEqual(cnn.models.entry("preact_resnet50").inputSize, [3, 224, 224]);
  assert.equal(cnn.models.entry("preact_resnet50").numClasses, 1000);
  assert.deepEqual(cnn.models.entry("preact_resnet164_cifar").inputSize, [3, 32, 32]);
  assert.equal(cnn.models.entry("wrn_28_10").family, "wrn");
  assert.equal(cnn.models.entry("wrn_28_10").numClasses, 10);
});

Deno.test("preact family: parameter counts are exact", () => {
  for (const [name, want] of Object.entries(PARAMS)) {
    const m = onMeta(() => cnn.models.create(name));
    assert.equal(m.numParameters(), want, name);
    m.dispose();
  }
  // a 100-class head adds 90 x (final width + 1 bias): PARAMS.md's note omits the 90 biases
  const c100 = onMeta(() => cnn.models.create("preact_resnet164_cifar", { numClasses: 100 }));
  assert.equal(c100.numParameters(), 1_703_258 + 90 * 257);
  c100.dispose();
  const w100 = onMeta(() => cnn.models.create("wrn_28_10", { numClasses: 100 }));
  assert.equal(w100.numParameters(), 36_479_194 + 90 * 641);
  w100.dispose();
});

Deno.test("preact family: MACs match PARAMS.md to 3 decimals (G)", async () => {
  for (const [name, want] of Object.entries(GMACS)) {
    const s = await cnn.models.summary(name);
    assert.ok(
      Math.abs(s.totalMacs / 1e9 - want) <= 0.0005 + 1e-9,
      `${name}: ${s.totalMacs / 1e9} vs ${want}`,
    );
  }
});

Deno.test("preact family: keys, projection only where the shape changes, final BN before the head", () => {
  const m = onMeta(() => cnn.models.create("wrn_16_4")) as PreActResNet;
  const keys = [...m.stateDict().keys()];
  assert.deepEqual(keys.slice(0, 3), ["conv1.weight", "layer1.0.bn1.weight", "layer1.0.bn1.bias"]);
  assert.deepEqual(keys.slice(-7), [
    "bn.weight",
    "bn.bias",
    "bn.running_mean",
    "bn.running_var",
    "bn.num_batches_tracked",
    "fc.weight",
    "fc.bias",
  ]);
  // unit order: bn1, conv1, bn2, conv2, downsample
  const u = keys.filter((k) => k.startsWith("layer2.0.") && k.endsWith("weight"));
  assert.deepEqual(u, [
    "layer2.0.bn1.weight",
    "layer2.0.conv1.weight",
    "layer2.0.bn2.weight",
    "layer2.0.conv2.weight",
    "layer2.0.downsample.0.weight",
  ]);
  // 16 -> 64 at stage 1 projects; the second unit of each stage does not
  for (const k of ["layer1.0", "layer2.0", "layer3.0"]) {
    assert.ok(keys.includes(`${k}.downsample.0.weight`), k);
  }
  for (const k of ["layer1.1", "layer2.1", "layer3.1"]) {
    assert.ok(!keys.some((x) => x.startsWith(`${k}.downsample`)), k);
  }
  assert.ok(!keys.some((k) => k.includes("downsample.1"))); // no BN on the projection
  assert.ok(!keys.some((k) => k.includes(".bias") && k.includes("conv"))); // bias-free convs
  // the stage-1 unit of WRN-28-10 with k = 1 keeps 16 channels: identity shortcut
  const narrow = onMeta(() => cnn.models.create("wrn_10_1"));
  assert.ok(!narrow.stateDict().has("layer1.0.downsample.0.weight"));
  assert.ok(narrow.stateDict().has("layer2.0.downsample.0.weight"));
  m.dispose();
  narrow.dispose();
});

Deno.test("preact family: bottleneck stride on the first 1x1 (CIFAR) or the 3x3 (ImageNet)", () => {
  const cifar = onMeta(() => cnn.models.create("preact_resnet164_cifar")) as PreActResNet;
  const cu = (cifar as unknown as Record<string, cnn.nn.Sequential>).layer2.at(0) as PreActBottleneck;
  assert.equal(cu.conv1.options.stride, 2);
  assert.equal(cu.conv2.options.stride, 1);
  assert.equal((cu.downsample!.at(0) as cnn.nn.Conv2d).options.stride, 2);
  const inet = onMeta(() => cnn.models.create("preact_resnet50")) as PreActResNet;
  const iu = (inet as unknown as Record<string, cnn.nn.Sequential>).layer3.at(0) as PreActBottleneck;
  assert.equal(iu.conv1.options.stride, 1);
  assert.equal(iu.conv2.options.stride, 2);
  // ImageNet stage 1 projects 64 -> 256 at stride 1
  const first = (inet as unknown as Record<string, cnn.nn.Sequential>).layer1.at(0) as PreActBottleneck;
  assert.deepEqual([...first.downsample!.at(0).parameters()[0].shape], [256, 64, 1, 1]);
  const moved = onMeta(() => cnn.models.create("preact_resnet50", { strideOn: "1x1" })) as PreActResNet;
  const mu = (moved as unknown as Record<string, cnn.nn.Sequential>).layer3.at(0) as PreActBottleneck;
  assert.equal(mu.conv1.options.stride, 2);
  for (const m of [cifar, inet, moved]) m.dispose();
});

Deno.test("preact family: output shapes (ImageNet 7x7 before the pool, WRN 8x8)", async () => {
  const s = await cnn.models.summary("preact_resnet18");
  const shapes = new Map(s.rows.map((r) => [r.name, r.outputShape]));
  assert.deepEqual(shapes.get("maxpool"), [1, 64, 56, 56]);
  assert.deepEqual(shapes.get("layer4"), [1, 512, 7, 7]);
  assert.deepEqual(shapes.get("fc"), [1, 1000]);
  const w = await cnn.models.summary("wrn_28_10");
  const ws = new Map(w.rows.map((r) => [r.name, r.outputShape]));
  assert.deepEqual(ws.get("layer3"), [1, 640, 8, 8]);
  assert.deepEqual(ws.get("bn"), [1, 640, 8, 8]);
});

Deno.test("preact family: dropout sits between the convs and adds no keys or parameters", () => {
  const plain = onMeta(() => cnn.models.create("wrn_16_4"));
  const drop = onMeta(() => cnn.models.create("wrn_16_4", { dropout: 0.3 }));
  assert.deepEqual([...drop.stateDict().keys()], [...plain.stateDict().keys()]);
  assert.equal(drop.numParameters(), plain.numParameters());
  const u = (drop as unknown as Record<string, cnn.nn.Sequential>).layer1.at(0) as PreActBasicBlock;
  assert.equal(u.dropout?.p, 0.3);
  const names = u.namedChildren().map(([n]) => n);
  assert.deepEqual(names, ["bn1", "conv1", "bn2", "dropout", "conv2", "downsample"]);
  assert.equal(
    ((plain as unknown as Record<string, cnn.nn.Sequential>).layer1.at(0) as PreActBasicBlock).dropout,
    null,
  );
  plain.dispose();
  drop.dispose();
});

Deno.test("preact family: any wrn_<6n+4>_<k> resolves; others are unknown names", () => {
  const e = cnn.models.entry("wrn_34_3");
  assert.equal(e.family, "wrn");
  const m = onMeta(() => cnn.models.create("wrn_34_3"));
  // 3 stages of 5 units, widths 48/96/192
  assert.deepEqual([...m.stateDict().get("layer3.4.conv2.weight")!.shape], [192, 192, 3, 3]);
  assert.ok(!m.stateDict().has("layer1.5.conv1.weight"));
  m.dispose();
  assert.ok(!cnn.models.list().includes("wrn_34_3"));
  assert.equal(resolveWrn("wrn_35_2"), undefined);
  assert.equal(resolveWrn("wrn_28_0"), undefined);
  assert.equal(resolveWrn("resnet18"), undefined);
  assert.throws(() => cnn.models.entry("wrn_35_2"), /Cannot create model: unknown model "wrn_35_2"/);
  assert.deepEqual(wrnConfig(28, 10).widths, [160, 320, 640]);
  assert.throws(() => wrnConfig(27, 2), /Cannot create WRN: depth must be 6n \+ 4/);
  assert.throws(() => wrnConfig(28, 0), /Cannot create WRN: k must be an integer >= 1/);
});

Deno.test("preact family: invalid rows raise named errors", () => {
  assert.throws(
    () => onMeta(() => cnn.models.create("preact_resnet50", { block: "wide" as never })),
    /Cannot create PreActResNet: block must be/,
  );
  assert.throws(
    () => onMeta(() => cnn.models.create("preact_resnet50", { depths: [3, 0] })),
    /Cannot create PreActResNet: depths must be integers >= 1/,
  );
  assert.throws(
    () => onMeta(() => cnn.models.create("preact_resnet50", { widths: [256, 512] })),
    /Cannot create PreActResNet: 4 depths but 2 widths/,
  );
  assert.throws(
    () => onMeta(() => cnn.models.create("preact_resnet164_cifar", { widths: [66, 128, 256] })),
    /Cannot create PreActBottleneck: output channels 66 are not divisible by 4/,
  );
});

Deno.test("preact family: the parity fixtures' torch state_dicts have our keys and shapes, in order", () => {
  const cases: [string, string, cnn.models.ModelOptions][] = [
    ["preact_small_parity", "preact_resnet164_cifar", { depths: [2, 1, 1], widths: [32, 64, 128] }],
    ["wrn_10_1_parity", "wrn_10_1", {}],
  ];
  for (const [file, name, options] of cases) {
    const fx = readFixture(Deno.readFileSync(new URL(`../fixtures/${file}.safetensors`, import.meta.url)));
    const want = [...fx].filter(([k]) => k.startsWith("state.")).map(([k, v]) => [k.slice(6), v.shape]);
    const m = onMeta(() => cnn.models.create(name, options));
    assert.deepEqual([...m.stateDict()].map(([k, t]) => [k, [...t.shape]]), want, file);
    m.dispose();
  }
});

Deno.test("close meta runtime (preact)", async () => {
  await meta.close();
});
