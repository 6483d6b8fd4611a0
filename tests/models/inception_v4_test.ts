/**
 * Inception-v4 / Inception-ResNet-v1 / v2 without kernels: construction on the meta runtime, parameter counts
 * (PARAMS.md: 42,679,816, 22,756,328, 55,843,464 exactly), MACs (6.206 G for IR-v1 to 3 decimals; the timm
 * cards' 12.3 / 13.2 G to 0.05), spatial sizes, the release layout (10/20/10 blocks, scales 0.17/0.10/0.20,
 * final linear Block8), the paper preset and options, Cadene-style keys.
 */
import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";
import { createRuntime, type Runtime, withRuntime } from "../../tensor/mod.ts";
import { readFixture } from "../_util/fixture.ts";
import { BasicConv2d, INCEPTION_V4S, inceptionV4, MixedBlock } from "../../models/inception_v4.ts";

await cnn.init({ threads: 1 });
const meta: Runtime = await createRuntime({ backend: "meta" });
const onMeta = <T>(fn: () => T): T => withRuntime(meta, fn);

const PARAMS: Record<string, number> = {
  inception_v4: 42_679_816,
  inception_resnet_v1: 22_756_328,
  inception_resnet_v2: 55_843_464,
};

Deno.test("inception_v4 family: registered at 299, exact parameter counts", async () => {
  assert.deepEqual(Object.keys(INCEPTION_V4S).sort(), Object.keys(PARAMS).sort());
  for (const [name, want] of Object.entries(PARAMS)) {
    assert.deepEqual(cnn.models.entry(name).inputSize, [3, 299, 299]);
    const m = onMeta(() => cnn.models.create(name));
    assert.equal(m.numParameters(), want, name);
    m.dispose();
    await meta.sync();
  }
  // TF-slim's 1001-class heads (PARAMS.md cross-checks)
  const v4 = onMeta(() => cnn.models.create("inception_v4", { numClasses: 1001 }));
  assert.equal(v4.numParameters(), 42_681_353);
  v4.dispose();
  const v2 = onMeta(() => cnn.models.create("inception_resnet_v2", { numClasses: 1001 }));
  assert.equal(v2.numParameters(), 55_845_001);
  v2.dispose();
  await meta.sync();
});

Deno.test("inception_v4 family: MACs (IR-v1 6.206 G; v4 12.3 G and IR-v2 13.2 G per the timm cards)", async () => {
  const g = async (n: string) => (await cnn.models.summary(n)).totalMacs / 1e9;
  const v1 = await g("inception_resnet_v1");
  assert.ok(Math.abs(v1 - 6.206) <= 0.0005, String(v1));
  const v4 = await g("inception_v4");
  assert.ok(Math.abs(v4 - 12.3) <= 0.05, String(v4));
  const v2 = await g("inception_resnet_v2");
  assert.ok(Math.abs(v2 - 13.2) <= 0.05, String(v2));
});

function shapes(s: cnn.models.Summary): Map<string, number[]> {
  return new Map(s.rows.map((r) => [r.name, r.outputShape]));
}

Deno.test("inception_v4 family: grid sizes 149, 147, 73, 71, 35, 17, 8 and widths 384/1024/1536", async () => {
  const v4 = shapes(await cnn.models.summary("inception_v4"));
  assert.deepEqual(v4.get("features.0"), [1, 32, 149, 149]);
  assert.deepEqual(v4.get("features.2"), [1, 64, 147, 147]);
  assert.deepEqual(v4.get("features.3"), [1, 160, 73, 73]);
  assert.deepEqual(v4.get("features.4"), [1, 192, 71, 71]);
  assert.deepEqual(v4.get("features.5"), [1, 384, 35, 35]);
  assert.deepEqual(v4.get("features.9"), [1, 384, 35, 35]);
  assert.deepEqual(v4.get("features.10"), [1, 1024, 17, 17]);
  assert.deepEqual(v4.get("features.18"), [1, 1536, 8, 8]);
  assert.deepEqual(v4.get("features.21"), [1, 1536, 8, 8]);
  const v2 = shapes(await cnn.models.summary("inception_resnet_v2"));
  assert.deepEqual(v2.get("mixed_5b"), [1, 320, 35, 35]);
  assert.deepEqual(v2.get("mixed_6a"), [1, 1088, 17, 17]);
  assert.deepEqual(v2.get("mixed_7a"), [1, 2080, 8, 8]);
  assert.deepEqual(v2.get("conv2d_7b"), [1, 1536, 8, 8]);
  const v1 = shapes(await cnn.models.summary("inception_resnet_v1"));
  assert.deepEqual(v1.get("conv2d_4b"), [1, 256, 35, 35]);
  assert.deepEqual(v1.get("mixed_6a"), [1, 896, 17, 17]);
  assert.deepEqual(v1.get("mixed_7a"), [1, 1792, 8, 8]);
  assert.deepEqual(v1.get("last_linear"), [1, 1000]);
});

Deno.test("inception_resnet_v2: release layout 10/20/9+1 blocks, scales 0.17/0.10/0.20, final Block8 linear", () => {
  const m = onMeta(() => cnn.models.create("inception_resnet_v2"));
  const mods = new Map(m.namedModules());
  const blocks = (p: string) =>
    [...mods].filter(([k, x]) => new RegExp(`^${p}\\.\\d+$`).test(k) && x instanceof MixedBlock)
      .map(([, x]) => x as MixedBlock);
  const [a, b, c] = [blocks("repeat"), blocks("repeat_1"), blocks("repeat_2")];
  assert.deepEqual([a.length, b.length, c.length], [10, 20, 9]);
  assert.ok(a.every((x) => x.scale === 0.17 && x.activate && x.residual));
  assert.ok(b.every((x) => x.scale === 0.1 && x.activate));
  assert.ok(c.every((x) => x.scale === 0.2 && x.activate));
  const last = mods.get("block8") as MixedBlock;
  assert.equal(last.scale, 1);
  assert.equal(last.activate, false);
  assert.ok(!mods.has("block8.relu"));
  // BN only on the traditional layers: the up-projection is a conv with bias and no BN
  const sd = m.stateDict();
  assert.deepEqual([...sd.get("repeat.0.conv2d.weight")!.shape], [320, 128, 1, 1]);
  assert.ok(sd.has("repeat.0.conv2d.bias") && !sd.has("repeat.0.conv2d.bn.weight"));
  assert.deepEqual([...sd.get("repeat_1.3.branch1.1.conv.weight")!.shape], [160, 128, 1, 7]);
  assert.deepEqual([...sd.get("block8.conv2d.weight")!.shape], [2080, 448, 1, 1]);
  assert.equal((mods.get("conv2d_1a.bn") as cnn.nn.BatchNorm2d).eps, 0.001);
  const keys = [...sd.keys()];
  assert.deepEqual(keys.slice(0, 7), [
    "conv2d_1a.conv.weight",
    "conv2d_1a.bn.weight",
    "conv2d_1a.bn.bias",
    "conv2d_1a.bn.running_mean",
    "conv2d_1a.bn.running_var",
    "conv2d_1a.bn.num_batches_tracked",
    "conv2d_2a.conv.weight",
  ]);
  assert.deepEqual(keys.slice(-2), ["last_linear.weight", "last_linear.bias"]);
  assert.ok(
    keys.includes("mixed_5b.branch3.1.conv.weight") && keys.includes("mixed_7a.branch2.2.bn.running_var"),
  );
  m.dispose();
});

Deno.test("inception_v4: Cadene keys (features.N, Inception-C split branches, port kernel order)", () => {
  const m = onMeta(() => cnn.models.create("inception_v4"));
  const sd = m.stateDict();
  const shape = (k: string) => [...sd.get(k)!.shape];
  assert.deepEqual(shape("features.3.conv.conv.weight"), [96, 64, 3, 3]);
  assert.deepEqual(shape("features.4.branch1.1.conv.weight"), [64, 64, 1, 7]);
  assert.deepEqual(shape("features.5.conv.conv.weight"), [192, 192, 3, 3]);
  assert.deepEqual(shape("features.6.branch3.1.conv.weight"), [96, 384, 1, 1]);
  assert.deepEqual(shape("features.11.branch2.1.conv.weight"), [192, 192, 7, 1]); // port: (7,1) first
  assert.deepEqual(shape("features.19.branch1_0.conv.weight"), [384, 1536, 1, 1]);
  assert.deepEqual(shape("features.19.branch1_1a.conv.weight"), [256, 384, 1, 3]);
  assert.deepEqual(shape("features.19.branch1_1b.conv.weight"), [256, 384, 3, 1]);
  assert.deepEqual(shape("features.19.branch2_0.1.conv.weight"), [448, 384, 3, 1]); // port: (3,1) then (1,3)
  assert.deepEqual(shape("features.19.branch2_0.2.conv.weight"), [512, 448, 1, 3]);
  assert.deepEqual(shape("features.21.branch2_3b.conv.weight"), [256, 512, 3, 1]);
  assert.deepEqual(shape("last_linear.weight"), [1000, 1536]);
  assert.ok(!sd.has("features.22.branch0.conv.weight"));
  const avg = m.namedModules().find(([p]) => p === "features.6.branch3.0")![1] as cnn.nn.AvgPool2d;
  assert.equal(avg.options.countIncludePad, false);
  m.dispose();
});

Deno.test("inception_v4 family: options (paper depths, residualScale, widthMultiplier) and errors", () => {
  const p = onMeta(() =>
    cnn.models.create("inception_resnet_v2", { depths: [5, 10, 5], residualScale: 0.3 })
  );
  const blocks = p.namedModules().filter(([, x]) => x instanceof MixedBlock && x.residual).map(([, x]) =>
    x as MixedBlock
  );
  assert.equal(blocks.length, 20);
  assert.deepEqual([...new Set(blocks.map((b) => b.scale))], [0.3, 1]);
  p.dispose();
  const s = onMeta(() => inceptionV4("inception_resnet_v1", { residualScale: [1, 1, 1] }));
  assert.ok(s.namedModules().every(([, x]) => !(x instanceof MixedBlock) || x.scale === 1));
  assert.equal(s.numParameters(), 22_756_328);
  s.dispose();
  const small = onMeta(() =>
    cnn.models.create("inception_resnet_v2", { widthMultiplier: 1 / 8, depths: [1, 1, 2], numClasses: 10 })
  );
  assert.deepEqual([...small.stateDict().get("conv2d_7b.conv.weight")!.shape], [192, 260, 1, 1]);
  small.dispose();
  assert.throws(
    () => onMeta(() => cnn.models.create("inception_v4", { widthMultiplier: 0.3 })),
    /Cannot create/,
  );
  assert.throws(
    () => onMeta(() => cnn.models.create("inception_resnet_v2", { depths: [1, 1, 0] })),
    /Cannot create inception_resnet_v2/,
  );
  assert.throws(
    () =>
      onMeta(() =>
        cnn.models.create("inception_v4", { depths: [1, 2] as unknown as [number, number, number] })
      ),
    /Cannot create inception_v4/,
  );
  assert.ok(new BasicConv2d(3, 4, [1, 3], 1, [0, 1]).bn.eps === 0.001);
});

Deno.test("inception_v4 family: the reduced parity fixtures' torch modules have our keys and shapes, in order", () => {
  const rows: [string, cnn.models.ModelOptions][] = [
    ["inception_v4", { depths: [1, 1, 1] }],
    ["inception_resnet_v1", { depths: [1, 1, 1] }],
    ["inception_resnet_v2", { depths: [1, 1, 2] }],
  ];
  for (const [name, o] of rows) {
    const fx = readFixture(
      Deno.readFileSync(new URL(`../fixtures/${name}_small_parity.safetensors`, import.meta.url)),
    );
    const want = [...fx].filter(([k]) => k.startsWith("state.")).map(([k, a]) => [k.slice(6), a.shape]);
    const m = onMeta(() => cnn.models.create(name, { ...o, widthMultiplier: 1 / 8, numClasses: 10 }));
    assert.deepEqual([...m.stateDict()].map(([k, t]) => [k, [...t.shape]]), want, name);
    m.dispose();
  }
});

Deno.test("close meta runtime (inception_v4_test)", async () => {
  await meta.close();
  await cnn.shutdown();
});
