/**
 * WRN block types (Zagoruyko & Komodakis, arXiv:1605.07146, section 2, Tables 1 and 2) in
 * models/preact_resnet.ts: the module tree each block type builds (keys, conv kernel shapes, padding,
 * stride on the first conv, BN widths, dropout between consecutive convs), parameter counts against a
 * formula written here, WRN-d-k with B(3,3) unchanged, a unit's forward against the same modules composed
 * by hand, forward shapes, SGD steps lowering the loss, and RangeErrors for bad depths, kernels and l.
 */
import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";
import { createRuntime, type Runtime, withRuntime } from "../../tensor/mod.ts";
import {
  PreActBasicBlock,
  PreActKernelBlock,
  type PreActResNet,
  preactResNet,
  wrn,
  wrnConfig,
} from "../../models/preact_resnet.ts";
import { kernelsReady, MODEL_KERNELS } from "../_util/kernels_ready.ts";
import { rng, uniform } from "../_util/rng.ts";

await cnn.init({ threads: 1 });
const READY = kernelsReady(...MODEL_KERNELS, "reluForward", "reluBackward");
const meta: Runtime = await createRuntime({ backend: "meta" });
const onMeta = <T>(fn: () => T): T => withRuntime(meta, fn);
const ops = cnn.ops;

/** The block types of Table 1 plus B(3)×l of Table 2 for l = 1, 3, 4. */
const BLOCKS: readonly (readonly number[])[] = [
  [3, 3],
  [3, 1, 3],
  [1, 3, 1],
  [1, 3],
  [3, 1],
  [3, 1, 1],
  [3],
  [3, 3, 3],
  [3, 3, 3, 3],
];

/** The depth giving one unit per stage: 10 (n = (depth - 4) / 6 for every block type). */
const depthOf = (_kernels: readonly number[]) => 10;

function unit(net: cnn.nn.Module, stage: number, i: number): cnn.nn.Module {
  return (net as unknown as Record<string, cnn.nn.Sequential>)[`layer${stage}`].at(i);
}

function convOf(u: cnn.nn.Module, i: number): cnn.nn.Conv2d {
  return (u as unknown as Record<string, cnn.nn.Conv2d>)[`conv${i}`];
}

/** Parameters of WRN-depth-k with block type `kernels`, from the paper's layout (not from the code). */
function expectedParams(depth: number, k: number, kernels: readonly number[], classes = 10): number {
  const n = (depth - 4) / 6;
  let total = 16 * 3 * 3 * 3; // stem
  let cin = 16;
  for (const w of [16 * k, 32 * k, 64 * k]) {
    for (let j = 0; j < n; j++) {
      kernels.forEach((ks, i) => {
        const inC = i === 0 ? cin : w;
        total += 2 * inC + inC * w * ks * ks; // BN (γ, β) in front of the conv, then the conv
      });
      if (cin !== w) total += cin * w; // 1×1 projection
      cin = w;
    }
  }
  return total + 2 * cin + cin * classes + classes; // head BN and FC
}

function throwsRange(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof RangeError, `not a RangeError: ${e}`);
    assert.match(e.message, re);
    return true;
  });
}

Deno.test("structure: every block type's unit keys, kernel shapes, padding and stride (n = 1, k = 1)", () => {
  for (const kernels of BLOCKS) {
    const c = kernels.length;
    const label = `B(${kernels})`;
    const net = onMeta(() => wrn(depthOf(kernels), 1, { block: kernels }));
    const keys = [...net.stateDict().keys()];
    for (const [stage, cin, w, stride] of [[1, 16, 16, 1], [2, 16, 32, 2], [3, 32, 64, 2]]) {
      const u = unit(net, stage, 0);
      const p = `layer${stage}.0.`;
      assert.ok(
        c === 2 && kernels[0] === 3 && kernels[1] === 3
          ? u instanceof PreActBasicBlock
          : u instanceof PreActKernelBlock,
        label,
      );
      // bn1, conv1, bn2, conv2, ..., then the projection where the shape changes (stages 2 and 3)
      const want = kernels.flatMap((_, i) => [`${p}bn${i + 1}.weight`, `${p}conv${i + 1}.weight`]);
      if (cin !== w) want.push(`${p}downsample.0.weight`);
      assert.deepEqual(keys.filter((x) => x.startsWith(p) && x.endsWith(".weight")), want, `${label} ${p}`);
      assert.ok(!keys.some((x) => x.startsWith(`${p}conv${c + 1}`)), label);
      assert.ok(!keys.some((x) => x.startsWith(p) && x.includes("downsample.1")), `${label}: no BN`);
      const sd = net.stateDict();
      kernels.forEach((ks, i) => {
        const inC = i === 0 ? cin : w;
        assert.deepEqual([...sd.get(`${p}bn${i + 1}.weight`)!.shape], [inC], `${label} ${p}bn${i + 1}`);
        assert.deepEqual([...sd.get(`${p}conv${i + 1}.weight`)!.shape], [w, inC, ks, ks], label);
        const conv = convOf(u, i + 1);
        assert.equal(conv.options.padding, ks === 3 ? 1 : 0, `${label} ${p}conv${i + 1} padding`);
        assert.equal(conv.options.stride, i === 0 ? stride : 1, `${label} ${p}conv${i + 1} stride`);
        assert.equal(conv.bias, null, label);
      });
      if (cin !== w) {
        const proj = (u as PreActKernelBlock).downsample!.at(0) as cnn.nn.Conv2d;
        assert.deepEqual([...proj.weight.shape], [w, cin, 1, 1], label);
        assert.equal(proj.options.stride, stride, label);
      }
    }
    assert.ok(!keys.some((x) => x.startsWith("layer1.1.") || x.startsWith("layer4")), `${label}: n = 1`);
    assert.deepEqual(keys.slice(0, 1), ["conv1.weight"]);
    assert.deepEqual(keys.slice(-2), ["fc.weight", "fc.bias"]);
    net.dispose();
  }
});

Deno.test("structure: n = (depth - 4) / 6 units per stage; widths 16k, 32k, 64k for every conv", () => {
  const net = onMeta(() => wrn(40, 2, { block: [1, 3, 1] })) as PreActResNet; // Table 1: n = 6
  assert.deepEqual(net.config.depths, [6, 6, 6]);
  assert.deepEqual(net.config.kernels, [1, 3, 1]);
  const sd = net.stateDict();
  assert.ok(sd.has("layer3.5.conv3.weight") && !sd.has("layer3.6.conv1.weight"));
  assert.deepEqual([...sd.get("layer1.0.conv1.weight")!.shape], [32, 16, 1, 1]);
  assert.deepEqual([...sd.get("layer1.0.conv2.weight")!.shape], [32, 32, 3, 3]);
  assert.deepEqual([...sd.get("layer3.5.conv3.weight")!.shape], [128, 128, 1, 1]);
  assert.deepEqual([...sd.get("layer1.0.downsample.0.weight")!.shape], [32, 16, 1, 1]); // 16 -> 32
  assert.ok(!sd.has("layer1.1.downsample.0.weight"));
  net.dispose();
  assert.deepEqual(wrnConfig(22, 2, [3, 1, 3]).depths, [3, 3, 3]);
  assert.deepEqual(wrnConfig(40, 2, [3, 1]).depths, [6, 6, 6]);
  assert.deepEqual(wrnConfig(40, 2, [3]).depths, [6, 6, 6]); // l = 1
  assert.deepEqual(wrnConfig(16, 2, [3, 3, 3, 3]).depths, [2, 2, 2]); // l = 4
  // l alone is B(3)×l; with a matching block it is that block
  const deep = onMeta(() => wrn(16, 2, { l: 4 }));
  const same = onMeta(() => wrn(16, 2, { block: [3, 3, 3, 3], l: 4 }));
  assert.deepEqual([...deep.stateDict().keys()], [...same.stateDict().keys()]);
  assert.deepEqual([...deep.stateDict().get("layer2.0.conv4.weight")!.shape], [64, 64, 3, 3]);
  deep.dispose();
  same.dispose();
});

Deno.test("structure: dropout sits in front of every conv after the first, adding no keys", () => {
  for (const kernels of BLOCKS) {
    const label = `B(${kernels})`;
    const depth = 16; // n = 2
    const plain = onMeta(() => wrn(depth, 1, { block: kernels }));
    const drop = onMeta(() => wrn(depth, 1, { block: kernels, dropout: 0.3 }));
    const dropouts = drop.namedModules().filter(([, m]) => m instanceof cnn.nn.Dropout);
    assert.equal(dropouts.length, 3 * 2 * (kernels.length - 1), label);
    assert.ok(dropouts.every(([, m]) => (m as cnn.nn.Dropout).p === 0.3), label);
    assert.equal(plain.namedModules().filter(([, m]) => m instanceof cnn.nn.Dropout).length, 0, label);
    assert.deepEqual([...drop.stateDict().keys()], [...plain.stateDict().keys()], label);
    assert.equal(drop.numParameters(), plain.numParameters(), label);
    plain.dispose();
    drop.dispose();
  }
  // module order inside a unit: BN → (ReLU in forward) → dropout → conv, from the second conv on
  const net = onMeta(() => wrn(10, 1, { block: [3, 1, 3], dropout: 0.3 }));
  assert.deepEqual(unit(net, 2, 0).namedChildren().map(([n]) => n), [
    "bn1",
    "conv1",
    "bn2",
    "dropout2",
    "conv2",
    "bn3",
    "dropout3",
    "conv3",
    "downsample",
  ]);
  const u = unit(net, 1, 0) as PreActKernelBlock;
  assert.equal(u.dropoutBefore(1), null);
  assert.equal(u.dropoutBefore(3)!.p, 0.3);
  assert.equal(u.conv(2).weight.shape[2], 1);
  net.dispose();
  // B(3,3) keeps PreActBasicBlock's single `dropout`
  const b33 = onMeta(() => wrn(10, 1, { dropout: 0.3 }));
  assert.deepEqual(unit(b33, 1, 0).namedChildren().map(([n]) => n), [
    "bn1",
    "conv1",
    "bn2",
    "dropout",
    "conv2",
  ]);
  b33.dispose();
});

Deno.test("parameter counts match the formula", () => {
  const cases: [number, number, readonly number[], number][] = [
    [16, 4, [3, 3], 10],
    [28, 10, [3, 3], 100],
    [22, 2, [3, 1, 3], 10],
    [40, 2, [1, 3, 1], 10],
    [40, 2, [1, 3], 10],
    [40, 2, [3, 1], 10],
    [40, 2, [3, 1, 1], 10],
    [40, 2, [3], 10],
    [16, 2, [3, 3, 3, 3], 10],
    [34, 3, [3, 1, 3], 100],
  ];
  for (const [d, k, kernels, classes] of cases) {
    const net = onMeta(() => wrn(d, k, { block: kernels, numClasses: classes }));
    assert.equal(net.numParameters(), expectedParams(d, k, kernels, classes), `WRN-${d}-${k} B(${kernels})`);
    net.dispose();
  }
  assert.equal(expectedParams(16, 4, [3, 3]), 2_748_890); // the formula agrees with the existing table
});

Deno.test("wrn_<d>_<k> (B(3,3)) is unchanged: keys, row and parameter counts", () => {
  const reg = onMeta(() => cnn.models.create("wrn_16_4"));
  const keys = [...reg.stateDict().keys()];
  assert.equal(reg.numParameters(), 2_748_890);
  for (
    const other of [
      () => wrn(16, 4),
      () => wrn(16, 4, { block: [3, 3] }),
      () => wrn(16, 4, { l: 2 }),
      () => preactResNet(wrnConfig(16, 4)),
      () => preactResNet(wrnConfig(16, 4), { kernels: [3, 3] }),
    ]
  ) {
    const m = onMeta(other);
    assert.deepEqual([...m.stateDict().keys()], keys);
    assert.equal(m.numParameters(), 2_748_890);
    assert.ok(unit(m, 1, 0) instanceof PreActBasicBlock);
    m.dispose();
  }
  assert.deepEqual(wrnConfig(16, 4), {
    block: "basic",
    depths: [2, 2, 2],
    layout: "cifar",
    widths: [64, 128, 256],
    stemWidth: 16,
  });
  // a PreActKernelBlock of [3, 3] has the basic block's keys and shapes
  const [a, b] = onMeta(() => [
    new PreActKernelBlock(16, 32, { kernels: [3, 3], stride: 2 }),
    new PreActBasicBlock(16, 32, { stride: 2, strideOn: "3x3", dropout: 0 }),
  ]);
  assert.deepEqual(
    [...a.stateDict()].map(([k, t]) => [k, [...t.shape]]),
    [...b.stateDict()].map(([k, t]) => [k, [...t.shape]]),
  );
  a.dispose();
  b.dispose();
  // the registry names take the block options too
  const t1 = onMeta(() => cnn.models.create("wrn_22_2", { block: [3, 1, 3], dropout: 0.3 }));
  assert.equal(t1.numParameters(), expectedParams(22, 2, [3, 1, 3]));
  assert.ok(t1.stateDict().has("layer3.1.conv3.weight"));
  t1.dispose();
  reg.dispose();
});

Deno.test({
  name: "a unit's forward equals its modules composed by hand; dropout p = 1 leaves the shortcut",
  ignore: !READY,
  fn: async () => {
    cnn.manualSeed(5);
    const x = cnn.tensor(uniform(rng(1), 2 * 8 * 6 * 6), [2, 8, 6, 6]);
    const u = new PreActKernelBlock(8, 12, { kernels: [3, 1, 3], stride: 2 });
    const got = await u.forward(x).toArray() as Float32Array;
    const pre = ops.relu(u.bn1.forward(x));
    let t = u.conv(1).forward(pre);
    for (const i of [2, 3]) t = u.conv(i).forward(ops.relu(u.bn(i).forward(t)));
    const want = await ops.add(u.downsample!.forward(pre), t).toArray() as Float32Array;
    assert.equal(got.length, 2 * 12 * 3 * 3);
    for (let i = 0; i < got.length; i++) {
      assert.ok(Math.abs(got[i] - want[i]) <= 1e-5 * Math.max(1, Math.abs(want[i])), `[${i}]`);
    }
    // B(3,3) as a kernel block computes what PreActBasicBlock computes with the same weights
    const k33 = new PreActKernelBlock(8, 12, { kernels: [3, 3], stride: 2 });
    const basic = new PreActBasicBlock(8, 12, { stride: 2, strideOn: "3x3", dropout: 0 });
    basic.loadStateDict(k33.stateDict());
    const a = await k33.forward(x).toArray() as Float32Array;
    const b = await basic.forward(x).toArray() as Float32Array;
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-5, `B(3,3) [${i}]`);
    // dropout p = 1 in front of conv2 zeroes the branch (identity shortcut): y = x in training only
    const d = new PreActKernelBlock(8, 8, { kernels: [3, 3, 3], dropout: 1 });
    const xs = await x.toArray() as Float32Array;
    const yTrain = await d.forward(x).toArray() as Float32Array;
    for (let i = 0; i < xs.length; i++) assert.ok(Math.abs(yTrain[i] - xs[i]) <= 1e-6, `dropout [${i}]`);
    d.eval();
    const yEval = await d.forward(x).toArray() as Float32Array;
    assert.ok(yEval.some((v, i) => Math.abs(v - xs[i]) > 1e-3), "eval mode keeps the branch");
    for (const m of [u, k33, basic, d]) m.dispose();
  },
});

Deno.test({
  name: "forward: every block type maps 2x3x32x32 to 2x10 logits (train and eval)",
  ignore: !READY,
  fn: async () => {
    const x = cnn.tensor(uniform(rng(2), 2 * 3 * 32 * 32), [2, 3, 32, 32]);
    for (const kernels of BLOCKS) {
      cnn.manualSeed(3);
      const net = wrn(depthOf(kernels), 1, { block: kernels, dropout: 0.3 });
      // the stages: 32x32 -> 16x16 -> 8x8 at widths 16, 32, 64
      let t = (net as unknown as Record<string, cnn.nn.Module>).conv1.forward(x);
      for (const [i, shape] of [[1, [2, 16, 32, 32]], [2, [2, 32, 16, 16]], [3, [2, 64, 8, 8]]] as const) {
        const next = (net as unknown as Record<string, cnn.nn.Module>)[`layer${i}`].forward(t);
        t.dispose();
        t = next;
        assert.deepEqual([...t.shape], shape, `B(${kernels}) layer${i}`);
      }
      t.dispose();
      for (const mode of ["train", "eval"]) {
        if (mode === "eval") net.eval();
        const y = net.forward(x);
        assert.deepEqual([...y.shape], [2, 10], `B(${kernels}) ${mode}`);
        assert.ok((await y.toArray() as Float32Array).every(Number.isFinite), `B(${kernels}) ${mode}`);
        y.dispose();
      }
      net.dispose();
    }
    x.dispose();
  },
});

Deno.test({
  name: "a few SGD steps lower the loss on a tiny batch",
  ignore: !READY,
  fn: async () => {
    const x = cnn.tensor(uniform(rng(3), 4 * 3 * 8 * 8), [4, 3, 8, 8]);
    const labels = new Int32Array([0, 1, 2, 3]);
    const configs: [number, Parameters<typeof wrn>[2]][] = [
      [10, { block: [3, 1, 3] }],
      [10, { block: [1, 3], dropout: 0.1 }],
      [10, { l: 1 }],
      [10, { l: 4 }],
    ];
    for (const [depth, opts] of configs) {
      cnn.manualSeed(11);
      const net = wrn(depth, 1, { ...opts, numClasses: 4 });
      const opt = new cnn.optim.SGD(net.parameters(), { lr: 0.05, momentum: 0.9 });
      const losses: number[] = [];
      for (let s = 0; s < 6; s++) {
        opt.zeroGrad();
        const loss = ops.crossEntropy(net.forward(x), labels);
        losses.push(await loss.item());
        await cnn.backward(loss);
        await opt.step();
        loss.dispose();
      }
      const label = `WRN-${depth}-1 ${JSON.stringify(opts)}: ${losses.map((l) => l.toFixed(3)).join(" ")}`;
      assert.ok(losses.every(Number.isFinite), label);
      assert.ok(losses[losses.length - 1] < losses[0] - 0.05, label);
      net.dispose();
    }
    x.dispose();
  },
});

Deno.test("bad depth, kernels and l raise RangeErrors that say what is wrong", () => {
  onMeta(() => {
    throwsRange(
      () => wrnConfig(15, 2, [3, 1, 3]),
      /^Cannot create WRN: depth must be 6n \+ 4 with n >= 1 \(n units per stage, B\(3,1,3\)\), got 15$/,
    );
    throwsRange(() => wrn(17, 2, { block: [3, 1, 3] }), /depth must be 6n \+ 4 .* got 17/);
    throwsRange(() => wrn(4, 2), /depth must be 6n \+ 4 with n >= 1 \(n units per stage, B\(3,3\)\)/);
    throwsRange(() => wrn(27, 2, { l: 3 }), /depth must be 6n \+ 4 .*B\(3,3,3\)\), got 27/);
    throwsRange(
      () => wrn(16, 2, { block: [3, 2] }),
      /^Cannot create WRN: block must hold odd integers >= 1 .*got 2 at index 1 of \[3,2\]$/,
    );
    throwsRange(() => wrnConfig(16, 2, [4, 4]), /kernels must hold odd integers >= 1 .*got 4 at index 0/);
    throwsRange(() => wrn(16, 2, { block: [] }), /block must be a non-empty list of kernel sizes/);
    throwsRange(() => wrn(16, 2, { block: [3, 1.5] }), /got 1.5 at index 1/);
    throwsRange(() => wrn(16, 2, { block: "basic" as never }), /block must be a non-empty list/);
    throwsRange(
      () => wrn(16, 2, { l: 0 }),
      /^Cannot create WRN: l \(convs per block\) must be an integer >= 1, got 0$/,
    );
    throwsRange(() => wrn(16, 2, { l: 1.5 }), /l \(convs per block\) must be an integer >= 1, got 1.5/);
    throwsRange(() => wrn(16, 2, { block: [3, 3], l: 3 }), /l = 3 but block B\(3,3\) has 2 convs/);
    throwsRange(() => wrn(16, 0), /k must be an integer >= 1, got 0/);
    throwsRange(() => wrn(16, 2, { kernels: [3, 3] } as never), /give the block type as option block/);
    throwsRange(
      () => cnn.models.create("wrn_16_4", { block: [3, 1, 3], l: 2 }),
      /l = 2 but block B\(3,1,3\) has 3 convs/,
    );
    throwsRange(
      () => preactResNet(wrnConfig(16, 2), { kernels: [3, 0] }),
      /Cannot create PreActResNet: kernels must hold odd integers >= 1/,
    );
    throwsRange(
      () => cnn.models.create("preact_resnet50", { kernels: [3, 1, 3] }),
      /Cannot create PreActResNet: kernels apply to block "basic" only, got block "bottleneck"/,
    );
    throwsRange(
      () => new PreActKernelBlock(16, 16, { kernels: [2] }),
      /Cannot create PreActKernelBlock: kernels must hold odd integers/,
    );
  });
});

Deno.test("close the meta runtime (wrn blocks)", async () => {
  await meta.close();
});

Deno.test("Table 1 of the WRN paper: WRN-d-2 parameter counts per block type round to the paper's", () => {
  const table: [number, number[], number][] = [
    [40, [1, 3, 1], 1.4],
    [40, [3, 1], 1.2],
    [40, [1, 3], 1.3],
    [40, [3, 1, 1], 1.3],
    [28, [3, 3], 1.5],
    [22, [3, 1, 3], 1.1],
  ];
  for (const [depth, block, millions] of table) {
    const net = onMeta(() => wrn(depth, 2, { block }));
    assert.equal(Math.round(net.numParameters() / 1e5) / 10, millions, `WRN-${depth}-2 B(${block})`);
    net.dispose();
  }
});
