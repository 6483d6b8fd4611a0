/**
 * The identity-mappings ablation nets (models/identity_mappings.ts): the module tree each option builds
 * (names and shapes of parameters at depth 8 / 11 / 14, parameter counts equal to the pre-act family's
 * ResNet-110 / 164 for the default options), forward shapes for every order × shortcut, each unit order
 * against the same modules composed by hand, the shortcut formulas (constant scaling, gates with
 * g = sigmoid(0) = 1/2 equal to constant scaling, very negative / positive gate bias, dropout on the
 * shortcut, 1×1 conv shortcut), SGD steps lowering the loss, and errors that name the bad option.
 */
import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";
import { createRuntime, type Runtime, withRuntime } from "../../tensor/mod.ts";
import {
  identityMappingResNet,
  type IdentityMappingUnit,
  ORDERS,
  type ShortcutKind,
  SHORTCUTS,
} from "../../models/identity_mappings.ts";
import { preactResNet } from "../../models/preact_resnet.ts";
import { kernelsReady, MODEL_KERNELS } from "../_util/kernels_ready.ts";
import { rng, uniform } from "../_util/rng.ts";

await cnn.init({ threads: 1 });
const READY = kernelsReady(...MODEL_KERNELS, "reluForward", "reluBackward", "mul", "copyStrided");
const meta: Runtime = await createRuntime({ backend: "meta" });
const onMeta = <T>(fn: () => T): T => withRuntime(meta, fn);
const ops = cnn.ops;

function shapes(net: cnn.nn.Module): Map<string, number[]> {
  return new Map(net.namedParameters().map(([k, t]) => [k, [...t.shape]]));
}

function unit(net: cnn.nn.Module, stage: number, i: number): IdentityMappingUnit {
  const layer = (net as unknown as Record<string, cnn.nn.Sequential>)[`layer${stage}`];
  return layer.at(i) as IdentityMappingUnit;
}

async function values(t: cnn.Tensor): Promise<Float32Array> {
  return await t.toArray() as Float32Array;
}

function close(got: Float32Array, want: ArrayLike<number>, tol: number, label: string): void {
  assert.equal(got.length, want.length, `${label}: length`);
  for (let i = 0; i < got.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol * Math.max(1, Math.abs(want[i])))) {
      assert.fail(`${label}[${i}]: got ${got[i]}, want ${want[i]}`);
    }
  }
}

Deno.test("module tree: default (basic, full-preact, identity) at depth 8", () => {
  const s = shapes(onMeta(() => identityMappingResNet(8)));
  assert.deepEqual(s.get("conv1.weight"), [16, 3, 3, 3]);
  assert.deepEqual(s.get("layer1.0.bn1.weight"), [16]);
  assert.deepEqual(s.get("layer1.0.conv1.weight"), [16, 16, 3, 3]);
  assert.deepEqual(s.get("layer2.0.bn1.weight"), [16]); // BN before conv1 sees the unit input
  assert.deepEqual(s.get("layer2.0.conv1.weight"), [32, 16, 3, 3]);
  assert.deepEqual(s.get("layer2.0.bn2.weight"), [32]);
  assert.deepEqual(s.get("layer2.0.downsample.0.weight"), [32, 16, 1, 1]);
  assert.ok(!s.has("layer2.0.downsample.1.weight"), "pre-activation projection has no BN");
  assert.ok(!s.has("layer1.0.downsample.0.weight"), "identity where the shape is kept");
  assert.ok(!s.has("bn1.weight"), "full-preact stem is a plain conv");
  assert.deepEqual(s.get("bn.weight"), [64]);
  assert.deepEqual(s.get("fc.weight"), [10, 64]);
  assert.ok(![...s.keys()].some((k) => k.includes("gate")));
});

Deno.test("module tree: default options match the pre-act family (keys, shapes, ResNet-110/164 counts)", () => {
  onMeta(() => {
    for (
      const [depth, block, depths] of [[8, "basic", 1], [11, "bottleneck", 1], [20, "basic", 3]] as const
    ) {
      const ours = shapes(identityMappingResNet(depth, { block }));
      const theirs = shapes(preactResNet({ block, depths: [depths, depths, depths], layout: "cifar" }));
      assert.deepEqual([...ours.keys()].sort(), [...theirs.keys()].sort(), `${block} ${depth}`);
      for (const [k, v] of ours) assert.deepEqual(v, theirs.get(k), k);
    }
    assert.equal(identityMappingResNet(110).numParameters(), 1_730_522);
    assert.equal(identityMappingResNet(164, { block: "bottleneck" }).numParameters(), 1_703_258);
  });
});

Deno.test("module tree: post-activation orders put BN after each conv, a BN'd stem and projection", () => {
  for (const order of ["original", "bn-after-add", "relu-before-add"] as const) {
    const net = onMeta(() => identityMappingResNet(8, { order }));
    const s = shapes(net);
    assert.deepEqual(s.get("bn1.weight"), [16], order);
    assert.deepEqual(s.get("layer2.0.bn1.weight"), [32], `${order}: bn1 follows conv1`);
    assert.deepEqual(s.get("layer2.0.bn2.weight"), [32], order);
    assert.deepEqual(s.get("layer2.0.downsample.0.weight"), [32, 16, 1, 1], order);
    assert.deepEqual(s.get("layer2.0.downsample.1.weight"), [32], `${order}: projection conv → BN`);
    assert.ok(!s.has("bn.weight"), `${order}: no head BN`);
    assert.deepEqual(net.namedChildren().map(([k]) => k), [
      "conv1",
      "bn1",
      "relu",
      "layer1",
      "layer2",
      "layer3",
      "avgpool",
      "flatten",
      "fc",
    ]);
  }
  const relu = onMeta(() => identityMappingResNet(8, { order: "relu-only-preact" }));
  const s = shapes(relu);
  assert.deepEqual(s.get("bn1.weight"), [16]);
  assert.deepEqual(s.get("layer2.0.bn1.weight"), [32]);
  assert.ok(!s.has("layer2.0.downsample.1.weight"));
  assert.deepEqual(relu.namedChildren().map(([k]) => k), [
    "conv1",
    "bn1",
    "layer1",
    "layer2",
    "layer3",
    "relu",
    "avgpool",
    "flatten",
    "fc",
  ]);
  const full = onMeta(() => identityMappingResNet(8));
  assert.deepEqual(full.namedChildren().map(([k]) => k), [
    "conv1",
    "layer1",
    "layer2",
    "layer3",
    "bn",
    "relu",
    "avgpool",
    "flatten",
    "fc",
  ]);
});

Deno.test("module tree: bottleneck depth 11 (9n + 2), stride on the first 1x1", () => {
  const net = onMeta(() => identityMappingResNet(11, { block: "bottleneck", order: "original" }));
  const s = shapes(net);
  assert.deepEqual(s.get("layer1.0.conv1.weight"), [16, 16, 1, 1]);
  assert.deepEqual(s.get("layer1.0.conv2.weight"), [16, 16, 3, 3]);
  assert.deepEqual(s.get("layer1.0.conv3.weight"), [64, 16, 1, 1]);
  assert.deepEqual(s.get("layer1.0.bn3.weight"), [64]);
  assert.deepEqual(s.get("layer1.0.downsample.0.weight"), [64, 16, 1, 1]);
  assert.deepEqual(s.get("layer2.0.conv1.weight"), [32, 64, 1, 1]);
  assert.deepEqual(s.get("layer3.0.conv3.weight"), [256, 64, 1, 1]);
  assert.deepEqual(s.get("fc.weight"), [10, 256]);
  assert.equal(unit(net, 2, 0).conv1.options.stride, 2);
  assert.equal(unit(net, 2, 0).conv2.options.stride, 1);
  const full = shapes(onMeta(() => identityMappingResNet(11, { block: "bottleneck" })));
  assert.deepEqual(full.get("layer1.0.bn1.weight"), [16]);
  assert.deepEqual(full.get("layer1.0.bn3.weight"), [16]);
  assert.deepEqual(full.get("layer2.0.bn1.weight"), [64]);
  assert.deepEqual(full.get("bn.weight"), [256]);
});

Deno.test("module tree: each shortcut adds exactly what it describes", () => {
  const base = shapes(onMeta(() => identityMappingResNet(14)));
  for (const sc of ["constant", "dropout"] as const) {
    const s = shapes(onMeta(() => identityMappingResNet(14, { shortcut: sc })));
    assert.deepEqual([...s.keys()], [...base.keys()], `${sc} adds no parameters`);
  }
  const drop = onMeta(() => identityMappingResNet(14, { shortcut: "dropout", shortcutDropout: 0.3 }));
  assert.equal(unit(drop, 1, 1).dropout!.p, 0.3);
  assert.equal(unit(onMeta(() => identityMappingResNet(14, { shortcut: "dropout" })), 3, 0).dropout!.p, 0.5);

  const conv = shapes(onMeta(() => identityMappingResNet(14, { shortcut: "conv1x1" })));
  for (let st = 1; st <= 3; st++) {
    for (let i = 0; i < 2; i++) {
      const c = 16 * 2 ** (st - 1);
      assert.deepEqual(conv.get(`layer${st}.${i}.downsample.0.weight`), [
        c,
        i === 0 && st > 1 ? c / 2 : c,
        1,
        1,
      ]);
    }
  }
  assert.equal(conv.size, base.size + 4); // 4 new projections (2 were there already)

  for (const sc of ["exclusive-gating", "shortcut-gating"] as const) {
    const net = onMeta(() => identityMappingResNet(14, { shortcut: sc }));
    const s = shapes(net);
    assert.deepEqual(s.get("layer1.1.gate.weight"), [16, 16, 1, 1], sc);
    assert.deepEqual(s.get("layer1.1.gate.bias"), [16], sc);
    assert.deepEqual(s.get("layer2.0.gate.weight"), [32, 16, 1, 1], sc);
    assert.equal(unit(net, 2, 0).gate!.options.stride, 2);
    assert.equal(s.size, base.size + 12, `${sc}: weight and bias of 6 gates`);
  }
});

Deno.test("gate bias starts at gateBias (default -6)", async () => {
  for (const [opt, want] of [[{}, -6], [{ gateBias: 0 }, 0], [{ gateBias: -2.5 }, -2.5]] as const) {
    const net = identityMappingResNet(8, { shortcut: "exclusive-gating", ...opt });
    for (let st = 1; st <= 3; st++) {
      const b = await values(unit(net, st, 0).gate!.bias!);
      assert.ok(b.every((v) => v === want), `stage ${st}: ${b[0]} != ${want}`);
    }
    net.dispose();
  }
});

Deno.test({
  name: "forward shapes for every order x shortcut (basic 8, bottleneck 11), 1 input channel, 7 classes",
  ignore: !READY,
  fn: async () => {
    const x = cnn.tensor(uniform(rng(1), 2 * 8 * 8), [2, 1, 8, 8]);
    for (const order of ORDERS) {
      for (const shortcut of SHORTCUTS) {
        const net = identityMappingResNet(8, { order, shortcut, inChannels: 1, numClasses: 7 });
        const y = net.forward(x);
        assert.deepEqual(y.shape, [2, 7], `${order} ${shortcut}`);
        assert.ok((await values(y)).every(Number.isFinite), `${order} ${shortcut} finite`);
        net.eval();
        const e = net.forward(x);
        assert.deepEqual(e.shape, [2, 7]);
        y.dispose();
        e.dispose();
        net.dispose();
      }
    }
    for (const order of ["original", "full-preact"] as const) {
      for (const shortcut of ["identity", "exclusive-gating"] as const) {
        const net = identityMappingResNet(11, { block: "bottleneck", order, shortcut, inChannels: 1 });
        const y = net.forward(x);
        assert.deepEqual(y.shape, [2, 10]);
        y.dispose();
        net.dispose();
      }
    }
  },
});

/** The unit layer1.0 (16 → 16, stride 1) of a depth-8 net in eval mode, and an input for it. */
function probe(opts: Parameters<typeof identityMappingResNet>[1]): { u: IdentityMappingUnit; x: cnn.Tensor } {
  const net = identityMappingResNet(8, opts);
  net.eval();
  const x = cnn.tensor(uniform(rng(5), 2 * 16 * 4 * 4), [2, 16, 4, 4]);
  return { u: unit(net, 1, 0), x };
}

Deno.test({
  name: "each unit order equals its modules composed by hand (Fig. 4)",
  ignore: !READY,
  fn: async () => {
    for (const block of ["basic", "bottleneck"] as const) {
      for (const order of ORDERS) {
        const net = identityMappingResNet(block === "basic" ? 8 : 11, { order, block });
        net.eval();
        // unit 2.0 of the basic net, 1.0 of the bottleneck: both have a projection
        const u = block === "basic" ? unit(net, 2, 0) : unit(net, 1, 0);
        const cin = u.conv1.weight.shape[1];
        // non-trivial running statistics and affine parameters so that every BN matters
        for (const [, m] of u.namedModules()) {
          if (m instanceof cnn.nn.BatchNorm2d) {
            const c = m.weight!.size;
            await m.weight!.write(uniform(rng(c + 1), c).map((v) => 1 + 0.5 * v));
            await m.bias!.write(uniform(rng(c + 2), c));
            await m.running_mean.write(uniform(rng(c + 3), c));
            await m.running_var.write(uniform(rng(c + 4), c).map((v) => 1.5 + v));
          }
        }
        const x = cnn.tensor(uniform(rng(9), 2 * cin * 8 * 8), [2, cin, 8, 8]);
        const got = await values(u.forward(x));
        const convs = [u.conv1, u.conv2, ...(u.conv3 ? [u.conv3] : [])];
        const bns = [u.bn1, u.bn2, ...(u.bn3 ? [u.bn3] : [])];
        const k = convs.length;
        const relu = ops.relu;
        let want: cnn.Tensor;
        if (order === "full-preact") {
          const pre = relu(bns[0].forward(x));
          let t = convs[0].forward(pre);
          for (let i = 1; i < k; i++) t = convs[i].forward(relu(bns[i].forward(t)));
          want = ops.add(u.downsample!.forward(pre), t);
        } else if (order === "relu-only-preact") {
          const pre = relu(x);
          let t = pre;
          for (let i = 0; i < k; i++) {
            t = bns[i].forward(convs[i].forward(t));
            if (i < k - 1) t = relu(t);
          }
          want = ops.add(u.downsample!.forward(pre), t);
        } else {
          let t = x;
          for (let i = 0; i < k - 1; i++) t = relu(bns[i].forward(convs[i].forward(t)));
          t = convs[k - 1].forward(t);
          const h = u.downsample!.forward(x);
          if (order === "original") want = relu(ops.add(h, bns[k - 1].forward(t)));
          else if (order === "bn-after-add") want = relu(bns[k - 1].forward(ops.add(h, t)));
          else want = ops.add(h, relu(bns[k - 1].forward(t)));
        }
        close(got, await values(want), 1e-5, `${block} ${order}`);
        net.dispose();
      }
    }
  },
});

Deno.test({
  name: "with F zeroed (last conv weight 0) a unit outputs its scaled shortcut, activated as the order says",
  ignore: !READY,
  fn: async () => {
    const inv = 1 / Math.sqrt(1 + 1e-5); // eval BN with running statistics 0 / 1, gamma 1, beta 0
    const cases: [ShortcutKind, Record<string, unknown>, number][] = [
      ["identity", {}, 1],
      ["constant", {}, 0.5],
      ["constant", { scaleResidual: true }, 0.5],
      ["constant", { lambda: 0.25 }, 0.25],
      ["exclusive-gating", { gateBias: -40 }, 1], // g ≈ 0: identity
      ["exclusive-gating", { gateBias: 40 }, 0], // g ≈ 1: F only
      ["shortcut-gating", { gateBias: -40 }, 1],
      ["shortcut-gating", { gateBias: 40 }, 0],
      ["dropout", {}, 1], // eval mode: identity
    ];
    for (const order of ORDERS) {
      for (const [shortcut, extra, scale] of cases) {
        const { u, x } = probe({ order, shortcut, ...extra });
        await u.conv2.weight.write(new Float32Array(u.conv2.weight.size));
        const xs = await values(x);
        const got = await values(u.forward(x));
        const want = xs.map((v) => {
          const s = scale * v;
          if (order === "original") return Math.max(s, 0);
          if (order === "bn-after-add") return Math.max(s * inv, 0);
          return s;
        });
        close(got, want, 1e-5, `${order} ${shortcut} ${JSON.stringify(extra)}`);
      }
    }
  },
});

Deno.test({
  name:
    "gates at g = sigmoid(0) = 1/2 equal constant scaling: exclusive ~ both scaled, shortcut-only ~ lambda h + F",
  ignore: !READY,
  fn: async () => {
    for (const order of ["original", "full-preact"] as const) {
      for (
        const [gating, scaleResidual] of [["exclusive-gating", true], ["shortcut-gating", false]] as const
      ) {
        const gated = probe({ order, shortcut: gating, gateBias: 0 });
        await gated.u.gate!.weight.write(new Float32Array(gated.u.gate!.weight.size));
        const constant = probe({ order, shortcut: "constant", scaleResidual });
        constant.u.loadStateDict(gated.u.stateDict(), { strict: false });
        const a = await values(gated.u.forward(gated.x));
        const b = await values(constant.u.forward(gated.x));
        close(a, b, 1e-5, `${order} ${gating}`);
        // and differs from the plain identity unit
        const id = probe({ order });
        id.u.loadStateDict(gated.u.stateDict(), { strict: false });
        const c = await values(id.u.forward(gated.x));
        assert.ok(c.some((v, i) => Math.abs(v - a[i]) > 1e-3), `${order} ${gating} is not identity`);
      }
    }
  },
});

Deno.test({
  name: "dropout shortcut in training: each shortcut element dropped or doubled; 1x1 conv shortcut is a conv",
  ignore: !READY,
  fn: async () => {
    const { u, x } = probe({ shortcut: "dropout" });
    u.train();
    await u.conv2.weight.write(new Float32Array(u.conv2.weight.size));
    const xs = await values(x);
    const y = await values(u.forward(x));
    let dropped = 0;
    y.forEach((v, i) => {
      if (v === 0) dropped++;
      else assert.ok(Math.abs(v - 2 * xs[i]) <= 1e-5 * Math.max(1, Math.abs(xs[i])), `element ${i}`);
    });
    assert.ok(dropped > 0.3 * y.length && dropped < 0.7 * y.length, `${dropped} of ${y.length} dropped`);

    const c = probe({ shortcut: "conv1x1" });
    await c.u.conv2.weight.write(new Float32Array(c.u.conv2.weight.size));
    const got = await values(c.u.forward(c.x));
    const pre = ops.relu(c.u.bn1.forward(c.x));
    const want = await values(ops.conv2d(pre, (c.u.downsample!.at(0) as cnn.nn.Conv2d).weight));
    close(got, want, 1e-5, "conv1x1 shortcut");
  },
});

Deno.test({
  name: "a few SGD steps lower the loss on a tiny batch, gradients reach the gates",
  ignore: !READY,
  fn: async () => {
    const configs: [number, Parameters<typeof identityMappingResNet>[1]][] = [
      [8, {}],
      [8, { order: "original", shortcut: "exclusive-gating", gateBias: -2 }],
      [8, { order: "relu-before-add", shortcut: "shortcut-gating", gateBias: 0 }],
      [8, { order: "bn-after-add", shortcut: "constant", scaleResidual: true }],
      [8, { order: "relu-only-preact", shortcut: "conv1x1" }],
      [11, { block: "bottleneck", order: "full-preact" }],
    ];
    const x = cnn.tensor(uniform(rng(3), 4 * 3 * 8 * 8), [4, 3, 8, 8]);
    const labels = new Int32Array([0, 1, 2, 3]);
    for (const [depth, opts] of configs) {
      cnn.manualSeed(11);
      const net = identityMappingResNet(depth, { ...opts, numClasses: 4 });
      const opt = new cnn.optim.SGD(net.parameters(), { lr: 0.05, momentum: 0.9 });
      const losses: number[] = [];
      for (let s = 0; s < 6; s++) {
        opt.zeroGrad();
        const loss = ops.crossEntropy(net.forward(x), labels);
        losses.push(await loss.item());
        await cnn.backward(loss);
        if (s === 0 && opts?.shortcut?.includes("gating")) {
          const g = await values(unit(net, 2, 0).gate!.weight.grad!);
          assert.ok(g.some((v) => v !== 0), "gate weight gradient");
        }
        await opt.step();
        loss.dispose();
      }
      const label = `${depth} ${JSON.stringify(opts)}: ${losses.map((l) => l.toFixed(3)).join(" ")}`;
      assert.ok(losses.every(Number.isFinite), label);
      assert.ok(losses[losses.length - 1] < losses[0] - 0.05, label);
      net.dispose();
    }
  },
});

Deno.test("bad options give errors naming them", () => {
  onMeta(() => {
    const bad: [number, Record<string, unknown>, RegExp][] = [
      [9, {}, /depth must be 6n \+ 2 .* basic units, got 9/],
      [2, {}, /depth must be 6n \+ 2/],
      [21, { block: "bottleneck" }, /depth must be 9n \+ 2 .* bottleneck units, got 21/],
      [8, { block: "wide" }, /block must be "basic" or "bottleneck", got "wide"/],
      [8, { shortcut: "gated" }, /shortcut must be one of identity, .*, got "gated"/],
      [8, { order: "preact" }, /order must be one of original, .*, got "preact"/],
      [
        8,
        { gateBias: -6 },
        /option gateBias applies to shortcut exclusive-gating or shortcut-gating, not identity/,
      ],
      [8, { shortcut: "dropout", scaleResidual: true }, /option scaleResidual applies to shortcut constant/],
      [8, { shortcut: "constant", lambda: NaN }, /lambda must be finite/],
      [8, { shortcut: "constant", scaleResidual: "yes" }, /scaleResidual must be a boolean/],
      [8, { shortcut: "dropout", shortcutDropout: 1 }, /shortcutDropout must be in \[0, 1\), got 1/],
      [8, { shortcutDropout: 0.2 }, /option shortcutDropout applies to shortcut dropout/],
      [8, { numClasses: 0 }, /numClasses must be an integer >= 1, got 0/],
      [8, { gatebias: 0 }, /unknown option "gatebias"/],
    ];
    for (const [depth, opts, re] of bad) {
      assert.throws(
        () => identityMappingResNet(depth, opts as never),
        re,
        `${depth} ${JSON.stringify(opts)}`,
      );
    }
  });
});

Deno.test("close the meta runtime", async () => {
  await meta.close();
});
