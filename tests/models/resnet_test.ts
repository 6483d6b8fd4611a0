/**
 * ResNet family without kernels: construction on the meta runtime, torchvision keys and shapes in order
 * (tests/fixtures/resnet_keys.json from tools/fixtures/make_resnet_keys.py), parameter counts (exact) and
 * MACs (spec/PARAMS.md, 3 decimals in G), output stride, stochastic-depth schedule, options and errors.
 */
import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";
import { createRuntime, type Runtime, withRuntime } from "../../tensor/mod.ts";
import { BasicBlock, Bottleneck, resnet, RESNETS, ZeroPadShortcut } from "../../models/resnet.ts";

await cnn.init({ threads: 1 });
const meta: Runtime = await createRuntime({ backend: "meta" });
const onMeta = <T>(fn: () => T): T => withRuntime(meta, fn);

/** spec/PARAMS.md and spec/features.md (§1.9, §1.11, §1.12, §1.14), [C]=[T] where torchvision has it. */
const PARAMS: Record<string, number> = {
  resnet18: 11_689_512,
  resnet34: 21_797_672,
  resnet50: 25_557_032,
  resnet101: 44_549_160,
  resnet152: 60_192_808,
  resnet50_v1: 25_557_032,
  resnext50_32x4d: 25_028_904,
  resnext101_32x8d: 88_791_336,
  resnext101_64x4d: 83_455_272,
  wide_resnet50_2: 68_883_240,
  wide_resnet101_2: 126_886_696,
  resnet20_cifar: 269_722,
  resnet32_cifar: 464_154,
  resnet44_cifar: 658_586,
  resnet56_cifar: 853_018,
  resnet110_cifar: 1_727_962,
  resnet1202_cifar: 19_421_274,
  resnet110_sd: 1_727_962,
  resnext29_8x64d: 34_426_698,
  resnext29_16x64d: 68_155_210,
  drn_a_18: 11_689_512,
  drn_a_34: 21_797_672,
  drn_a_50: 25_557_032,
  drn_c_26: 21_126_584,
  drn_c_42: 31_234_744,
  drn_d_22: 16_393_752,
  drn_d_54: 35_809_176,
};

/** fyu/drn README (rounded to 0.1 M) for rows PARAMS.md does not list exactly. */
const ROUNDED_M: Record<string, number> = { drn_c_58: 41.6, drn_d_38: 26.5, drn_d_105: 54.8 };

/** MACs in G at the native input (PARAMS.md; resnet50_v1 from features.md §1.9). */
const GMACS: Record<string, number> = {
  resnet18: 1.814,
  resnet34: 3.664,
  resnet50: 4.089,
  resnet101: 7.801,
  resnet152: 11.514,
  resnet50_v1: 3.858,
  resnext50_32x4d: 4.230,
  resnext101_32x8d: 16.414,
  wide_resnet50_2: 11.398,
  wide_resnet101_2: 22.753,
  resnet20_cifar: 0.041,
  resnet56_cifar: 0.125,
  resnet110_cifar: 0.253,
  resnext29_8x64d: 5.387,
  resnext29_16x64d: 10.689,
  drn_a_50: 19.079,
  drn_c_26: 16.971,
  drn_c_42: 25.064,
  drn_d_22: 13.034,
  drn_d_54: 28.487,
};

Deno.test("resnet family: every row is registered, with CIFAR rows at 32x32 / 10 classes", () => {
  for (const name of [...Object.keys(PARAMS), ...Object.keys(ROUNDED_M), "resnext101_64x4d"]) {
    assert.ok(cnn.models.list().includes(name), name);
    assert.equal(cnn.models.entry(name).family, "resnet");
  }
  assert.deepEqual(cnn.models.entry("resnet56_cifar").inputSize, [3, 32, 32]);
  assert.equal(cnn.models.entry("resnet56_cifar").numClasses, 10);
  assert.deepEqual(cnn.models.entry("drn_c_26").inputSize, [3, 224, 224]);
});

Deno.test("resnet family: parameter counts equal torchvision / the papers exactly", () => {
  for (const [name, want] of Object.entries(PARAMS)) {
    const m = onMeta(() => cnn.models.create(name));
    assert.equal(m.numParameters(), want, name);
    m.dispose();
  }
  for (const [name, millions] of Object.entries(ROUNDED_M)) {
    const m = onMeta(() => cnn.models.create(name));
    assert.equal(Math.round(m.numParameters() / 1e5) / 10, millions, name);
    m.dispose();
  }
});

Deno.test("resnet family: MACs match PARAMS.md to 3 decimals (G)", async () => {
  for (const [name, want] of Object.entries(GMACS)) {
    const s = await cnn.models.summary(name);
    assert.ok(
      Math.abs(s.totalMacs / 1e9 - want) <= 0.0005 + 1e-9,
      `${name}: ${s.totalMacs / 1e9} vs ${want}`,
    );
  }
});

Deno.test("resnet family: state_dict keys and shapes equal torchvision's, in order", async () => {
  const want: Record<string, [string, number[]][]> = JSON.parse(
    await Deno.readTextFile(new URL("../fixtures/resnet_keys.json", import.meta.url)),
  );
  assert.equal(Object.keys(want).length, 10);
  for (const [name, keys] of Object.entries(want)) {
    const m = onMeta(() => cnn.models.create(name));
    const got = [...m.stateDict()].map(([k, t]) => [k, [...t.shape]]);
    assert.deepEqual(got, keys, name);
    m.dispose();
  }
  // dilation changes no key or shape
  const os8 = onMeta(() => cnn.models.create("resnet50", { outputStride: 8 }));
  assert.deepEqual([...os8.stateDict()].map(([k, t]) => [k, [...t.shape]]), want.resnet50);
  os8.dispose();
});

Deno.test("resnet family: DRN-C / DRN-D keys follow fyu/drn (layer0 stem for D, 1x1 conv fc)", () => {
  const c = onMeta(() => cnn.models.create("drn_c_26"));
  const ck = [...c.stateDict().keys()];
  assert.equal(ck[0], "conv1.weight");
  assert.ok(ck.includes("layer2.0.downsample.0.weight"));
  assert.ok(ck.includes("layer7.0.conv2.weight") && ck.includes("layer8.0.bn2.running_var"));
  assert.ok(!ck.some((k) => k.startsWith("layer7.0.downsample"))); // 512 -> 512: no projection
  assert.deepEqual([...c.stateDict().get("fc.weight")!.shape], [1000, 512, 1, 1]);
  const d = onMeta(() => cnn.models.create("drn_d_22"));
  const dk = [...d.stateDict().keys()];
  assert.deepEqual(dk.slice(0, 2), ["layer0.0.weight", "layer0.1.weight"]);
  assert.ok(dk.includes("layer1.0.weight") && dk.includes("layer2.1.running_mean"));
  assert.ok(dk.includes("layer7.0.weight") && dk.includes("layer8.1.bias"));
  assert.ok(dk.includes("layer5.0.downsample.0.weight"));
  c.dispose();
  d.dispose();
});

function shapes(s: cnn.models.Summary): Map<string, number[]> {
  return new Map(s.rows.map((r) => [r.name, r.outputShape]));
}

Deno.test("resnet family: outputStride 8 / 16 dilate the last stages (28x28 / 14x14 at 224)", async () => {
  const os8 = shapes(await cnn.models.summary("resnet50", { modelOptions: { outputStride: 8 } }));
  assert.deepEqual(os8.get("layer4"), [1, 2048, 28, 28]);
  assert.deepEqual(os8.get("layer3"), [1, 1024, 28, 28]);
  const os16 = shapes(await cnn.models.summary("resnet50", { modelOptions: { outputStride: 16 } }));
  assert.deepEqual(os16.get("layer4"), [1, 2048, 14, 14]);
  assert.deepEqual(os16.get("layer3"), [1, 1024, 14, 14]);
  const drnA = shapes(await cnn.models.summary("drn_a_18"));
  assert.deepEqual(drnA.get("layer4"), [1, 512, 28, 28]);
  const drnC = shapes(await cnn.models.summary("drn_c_26"));
  assert.deepEqual(drnC.get("layer8"), [1, 512, 28, 28]);
  assert.deepEqual(drnC.get("fc"), [1, 1000, 1, 1]);
  const drnD = shapes(await cnn.models.summary("drn_d_22"));
  assert.deepEqual(drnD.get("layer8"), [1, 512, 28, 28]);
  const plain = shapes(await cnn.models.summary("resnet50"));
  assert.deepEqual(plain.get("layer4"), [1, 2048, 7, 7]);
});

Deno.test("resnet family: dilation rules (torchvision: previous dilation first; drn: 1 first)", () => {
  const tv = onMeta(() => resnet("resnet50", { outputStride: 8 }));
  const drn = onMeta(() => cnn.models.create("drn_a_50"));
  const dil = (m: cnn.nn.Module, path: string) =>
    (m.namedModules().find(([p]) => p === path)![1] as cnn.nn.Conv2d).options.dilation;
  assert.equal(dil(tv, "layer3.0.conv2"), 1);
  assert.equal(dil(tv, "layer3.1.conv2"), 2);
  assert.equal(dil(tv, "layer4.0.conv2"), 2);
  assert.equal(dil(tv, "layer4.2.conv2"), 4);
  assert.equal(dil(drn, "layer4.0.conv2"), 1);
  assert.equal(dil(drn, "layer4.1.conv2"), 4);
  const c = onMeta(() => cnn.models.create("drn_c_26"));
  assert.equal(dil(c, "layer5.0.conv1"), 2); // fyu/drn: first block of a dilated level already dilated
  assert.equal(dil(c, "layer6.1.conv2"), 4);
  assert.equal(dil(c, "layer7.0.conv1"), 2);
  assert.equal(dil(c, "layer8.0.conv1"), 1);
  for (const m of [tv, drn, c]) m.dispose();
});

Deno.test("resnet family: v1 puts the stride on the first 1x1, v1.5 on the 3x3", () => {
  const v1 = onMeta(() => cnn.models.create("resnet50_v1"));
  const v15 = onMeta(() => cnn.models.create("resnet50"));
  const conv = (m: cnn.nn.Module, p: string) => m.namedModules().find(([q]) => q === p)![1] as cnn.nn.Conv2d;
  assert.equal(conv(v1, "layer2.0.conv1").options.stride, 2);
  assert.equal(conv(v1, "layer2.0.conv2").options.stride, 1);
  assert.equal(conv(v15, "layer2.0.conv1").options.stride, 1);
  assert.equal(conv(v15, "layer2.0.conv2").options.stride, 2);
  v1.dispose();
  v15.dispose();
});

Deno.test("resnet family: CIFAR shortcut options A (no params), B (272,474), C (projection everywhere)", () => {
  const count = (o: Record<string, unknown>) => {
    const m = onMeta(() => cnn.models.create("resnet20_cifar", o));
    const n = m.numParameters();
    const ds = m.namedModules().filter(([p]) => p.endsWith("downsample"));
    m.dispose();
    return [n, ds.length];
  };
  assert.deepEqual(count({}), [269_722, 2]);
  assert.deepEqual(count({ shortcut: "B" }), [272_474, 2]);
  // C: a 1x1 conv + BN on all 9 blocks: 3(16·16+32) + (16·32+64) + 2(32·32+64) + (32·64+128) + 2(64·64+128)
  assert.deepEqual(count({ shortcut: "C" }), [269_722 + 864 + 2752 + 10_624, 9]);
  const a = onMeta(() =>
    cnn.models.create("resnet20_cifar", { shortcutADownsample: "avgpool", shortcutAPad: "both" })
  );
  const sc = a.namedModules().find(([p]) => p === "layer2.0.downsample")![1] as ZeroPadShortcut;
  assert.ok(sc instanceof ZeroPadShortcut);
  assert.equal(sc.downsampleMode, "avgpool");
  assert.equal(sc.pad, "both");
  a.dispose();
});

Deno.test("resnet family: option-A shortcut output shapes (subsample and avgpool, pad end and both)", () => {
  onMeta(() => {
    for (const downsample of ["subsample", "avgpool"] as const) {
      for (const pad of ["end", "both"] as const) {
        const s = new ZeroPadShortcut(16, 32, { stride: 2, downsample, pad });
        const y = s.forward(cnn.zeros([2, 16, 9, 9], { rt: meta }));
        assert.deepEqual(y.shape, [2, 32, 5, 5]);
      }
    }
  });
});

Deno.test("resnet family: stochastic depth decays survival linearly to pL (expected depth (3L-1)/4)", () => {
  const m = onMeta(() => cnn.models.create("resnet110_sd"));
  const drops = m.namedModules().filter(([, x]) => x instanceof cnn.nn.StochasticDepth).map(([, x]) =>
    x as cnn.nn.StochasticDepth
  );
  assert.equal(drops.length, 54);
  assert.ok(Math.abs(drops[0].p - 0.5 / 54) < 1e-12);
  assert.equal(drops.at(-1)!.p, 0.5);
  assert.ok(drops.every((d) => d.mode === "paper"));
  const expectedDepth = drops.reduce((s, d) => s + (1 - d.p), 0);
  assert.ok(Math.abs(expectedDepth - (3 * 54 - 1) / 4) < 1e-9, String(expectedDepth)); // 40.25
  m.dispose();
  const t = onMeta(() =>
    cnn.models.create("resnet20_cifar", { stochasticDepth: { pL: 0.8, mode: "inverted", rule: "timm" } })
  );
  const td = t.namedModules().filter(([, x]) => x instanceof cnn.nn.StochasticDepth).map(([, x]) =>
    x as cnn.nn.StochasticDepth
  );
  assert.equal(td[0].p, 0);
  assert.ok(Math.abs(td.at(-1)!.p - 0.2) < 1e-12);
  assert.ok(td.every((d) => d.mode === "inverted"));
  t.dispose();
});

Deno.test("resnet family: a dropped block runs no branch convs; eval gate is the survival prob", () => {
  const m = onMeta(() => cnn.models.create("resnet20_cifar", { stochasticDepth: { pL: 0.5 } }));
  let convs = 0;
  for (const [, x] of m.namedModules()) {
    if (x instanceof cnn.nn.Conv2d) {
      const f = x.forward.bind(x);
      x.forward = (t: cnn.Tensor) => (convs++, f(t));
    }
    if (x instanceof cnn.nn.StochasticDepth) x.gate = () => 0;
  }
  onMeta(() => cnn.noGrad(() => m.forward(cnn.zeros([2, 3, 32, 32], { rt: meta })).dispose()));
  assert.equal(convs, 1); // only the stem: option-A shortcuts have no convs
  m.dispose();
  const e = onMeta(() => cnn.models.create("resnet110_sd")).eval();
  const last = e.namedModules().filter(([, x]) => x instanceof cnn.nn.StochasticDepth).at(-1)![1];
  assert.equal((last as cnn.nn.StochasticDepth).gate(), 0.5);
  e.dispose();
});

Deno.test("resnet family: a seeded stochastic-depth gate pattern is reproducible", () => {
  const pattern = (seed: number) => {
    const g = new cnn.Generator(seed);
    const m = onMeta(() => cnn.models.create("resnet110_sd", { stochasticDepth: { pL: 0.5, generator: g } }));
    const drops = m.namedModules().filter(([, x]) => x instanceof cnn.nn.StochasticDepth).map(([, x]) =>
      x as cnn.nn.StochasticDepth
    );
    const gates = Array.from({ length: 20 }, () => drops.map((d) => d.gate()).join(""));
    m.dispose();
    return gates;
  };
  const a = pattern(7);
  assert.deepEqual(a, pattern(7));
  assert.notDeepEqual(a, pattern(8));
  // early blocks survive more often than late ones (p_1 = 1 - 0.5/54, p_L = 0.5)
  const kept = (i: number) => a.filter((s) => s[i] === "1").length;
  assert.ok(kept(0) >= kept(53));
});

Deno.test("resnet family: zeroInitResidual zeroes the last BN gamma of every block", async () => {
  const m = cnn.models.create("resnet20_cifar", { zeroInitResidual: true });
  const sd = m.stateDict();
  assert.deepEqual([...await sd.get("layer1.0.bn2.weight")!.toArray()], new Array(16).fill(0));
  assert.deepEqual([...await sd.get("bn1.weight")!.toArray()], new Array(16).fill(1));
  m.dispose();
  const b = onMeta(() => cnn.models.create("resnext29_8x64d", { zeroInitResidual: true }));
  assert.ok(b.namedModules().some(([, x]) => x instanceof Bottleneck));
  b.dispose();
});

Deno.test("resnet family: numClasses / inChannels / groups / widthPerGroup options", () => {
  const m = onMeta(() => cnn.models.create("resnet18", { numClasses: 7, inChannels: 1 }));
  assert.deepEqual([...m.stateDict().get("conv1.weight")!.shape], [64, 1, 7, 7]);
  assert.deepEqual([...m.stateDict().get("fc.weight")!.shape], [7, 512]);
  m.dispose();
  const x = onMeta(() => cnn.models.create("resnet50", { groups: 32, widthPerGroup: 4 }));
  assert.equal(x.numParameters(), 25_028_904);
  x.dispose();
  const c100 = onMeta(() => cnn.models.create("resnet20_cifar", { numClasses: 100 }));
  assert.equal(c100.numParameters(), 269_722 + 90 * 65);
  c100.dispose();
});

Deno.test("resnet family: bad options raise named errors", () => {
  assert.throws(
    () => onMeta(() => cnn.models.create("resnet50", { outputStride: 4 })),
    /Cannot create ResNet/,
  );
  assert.throws(
    () => onMeta(() => cnn.models.create("resnet50", { outputStride: 12 })),
    /Cannot create ResNet/,
  );
  assert.throws(
    () => onMeta(() => cnn.models.create("resnet18", { groups: 32, widthPerGroup: 4 })),
    /Cannot create BasicBlock/,
  );
  assert.throws(
    () => onMeta(() => cnn.models.create("resnet20_cifar", { shortcut: "D" })),
    /Cannot create ResNet/,
  );
  assert.throws(
    () => onMeta(() => cnn.models.create("resnet20_cifar", { stochasticDepth: { pL: 1.5 } })),
    /Cannot create ResNet/,
  );
  assert.throws(() => new ZeroPadShortcut(32, 16), /Cannot create option-A shortcut/);
  assert.ok(RESNETS.resnet18 && BasicBlock.expansion === 1 && Bottleneck.expansion === 4);
});

Deno.test("close meta runtime (resnet_test)", async () => {
  await meta.close();
  await cnn.shutdown();
});
