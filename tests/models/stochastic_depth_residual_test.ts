/**
 * Stochastic depth on the pre-activation / WRN family (models/preact_resnet.ts) and the identity-mappings
 * nets (models/identity_mappings.ts), with the option and survival rules of models/resnet.ts
 * (models/_stochastic_depth.ts): which units get which drop probability, unchanged state-dict keys,
 * summary()'s expected depth, eval mode equal to the expectation (paper: F × p_l; inverted: F), train mode
 * dropping whole branches (no branch BN runs) in the pattern of a seeded generator, SGD steps lowering
 * the loss, and the errors.
 */
import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";
import { createRuntime, type Runtime, withRuntime } from "../../tensor/mod.ts";
import { identityMappingResNet } from "../../models/identity_mappings.ts";
import { PreActKernelBlock, wrn } from "../../models/preact_resnet.ts";
import { dropProbabilities } from "../../models/_stochastic_depth.ts";
import { kernelsReady, MODEL_KERNELS } from "../_util/kernels_ready.ts";
import { rng, uniform } from "../_util/rng.ts";

await cnn.init({ threads: 1 });
const READY = kernelsReady(...MODEL_KERNELS, "reluForward", "reluBackward", "mul", "copyStrided");
const meta: Runtime = await createRuntime({ backend: "meta" });
const onMeta = <T>(fn: () => T): T => withRuntime(meta, fn);
const ops = cnn.ops;

/** The stochastic-depth gates in forward order, with the unit that holds each. */
function gates(net: cnn.nn.Module): [string, cnn.nn.StochasticDepth][] {
  return net.namedModules().filter((e): e is [string, cnn.nn.StochasticDepth] =>
    e[1] instanceof cnn.nn.StochasticDepth
  );
}

function close(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, label: string): void {
  assert.equal(got.length, want.length, `${label}: length`);
  for (let i = 0; i < got.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol * Math.max(1, Math.abs(want[i])))) {
      assert.fail(`${label}[${i}]: got ${got[i]}, want ${want[i]}`);
    }
  }
}

Deno.test("structure: one gate per unit, drop probabilities by rule, mode passed on, keys unchanged", () => {
  // WRN-16-1: 2 units per stage, 6 in all; linear rule: unit i (1-based) drops with (i / 6)(1 - 0.5)
  const w = onMeta(() => wrn(16, 1, { block: [3, 1, 3], stochasticDepth: { pL: 0.5 } }));
  const wg = gates(w);
  assert.deepEqual(
    wg.map(([k]) => k),
    ["0", "1"].flatMap((i) => [1, 2, 3].map((s) => `layer${s}.${i}.drop`)).sort(),
  );
  assert.deepEqual(wg.map(([, g]) => g.p), [1, 2, 3, 4, 5, 6].map((i) => i / 6 * 0.5));
  assert.ok(wg.every(([, g]) => g.mode === "paper"));
  assert.ok(w.namedModules().filter(([, m]) => m instanceof PreActKernelBlock).length === 6);
  const plain = onMeta(() => wrn(16, 1, { block: [3, 1, 3] }));
  assert.deepEqual([...w.stateDict().keys()], [...plain.stateDict().keys()]);
  assert.equal(gates(plain).length, 0);
  // registry names: B(3,3) units and bottlenecks, uniform rule, inverted mode
  const b = onMeta(() =>
    cnn.models.create("preact_resnet164_cifar", {
      depths: [1, 2, 1],
      stochasticDepth: { pL: 0.8, rule: "uniform", mode: "inverted" },
    })
  );
  assert.deepEqual(gates(b).map(([k]) => k), [
    "layer1.0.drop",
    "layer2.0.drop",
    "layer2.1.drop",
    "layer3.0.drop",
  ]);
  assert.ok(gates(b).every(([, g]) => Math.abs(g.p - 0.2) < 1e-12 && g.mode === "inverted"));
  const r18 = onMeta(() => cnn.models.create("preact_resnet18", { stochasticDepth: { rule: "timm" } }));
  assert.deepEqual(gates(r18).map(([, g]) => g.p), dropProbabilities({ rule: "timm" }, 8, "x"));
  assert.equal(gates(r18)[0][1].p, 0);
  // identity mappings: 3n units in forward order, every order and shortcut
  const im = onMeta(() =>
    identityMappingResNet(14, {
      order: "original",
      shortcut: "exclusive-gating",
      stochasticDepth: { pL: 0.4 },
    })
  );
  assert.deepEqual(
    gates(im).map(([k]) => k),
    [1, 2, 3].flatMap((s) => [0, 1].map((i) => `layer${s}.${i}.drop`)),
  );
  assert.deepEqual(gates(im).map(([, g]) => g.p), [1, 2, 3, 4, 5, 6].map((i) => i / 6 * 0.6));
  const imPlain = onMeta(() =>
    identityMappingResNet(14, { order: "original", shortcut: "exclusive-gating" })
  );
  assert.deepEqual([...im.stateDict().keys()], [...imPlain.stateDict().keys()]);
  for (const m of [w, plain, b, r18, im, imPlain]) m.dispose();
});

Deno.test("summary() reports the expected depth for WRN, pre-act and identity-mappings nets", async () => {
  const s = await cnn.models.summary("wrn_10_1", {
    modelOptions: { block: [3, 1, 3], stochasticDepth: { pL: 0.5 } },
  });
  // 3 units: 3 - 0.5 (1 + 2 + 3) / 3 = 2
  assert.deepEqual(s.stochasticDepth, { blocks: 3, expectedBlocks: 2 });
  assert.match(s.toString(), /^wrn_10_1 \{"block":\[3,1,3\],"stochasticDepth":\{"pL":0\.5\}\}/);
  assert.match(s.toString(), /stochastic depth: expected 2\.00 of 3 residual blocks kept in training/);
  const p = await cnn.models.summary("preact_resnet110_cifar", {
    modelOptions: { stochasticDepth: { pL: 0.5 } },
  });
  // 54 units: (3L - 1) / 4 = 40.25 kept in expectation
  assert.equal(p.stochasticDepth!.blocks, 54);
  assert.ok(Math.abs(p.stochasticDepth!.expectedBlocks - 40.25) < 1e-9);
  const net = onMeta(() => identityMappingResNet(20, { stochasticDepth: { pL: 0.8, rule: "uniform" } }));
  const i = await cnn.models.summary(net, { inputSize: [3, 32, 32] });
  assert.equal(i.stochasticDepth!.blocks, 9);
  assert.ok(Math.abs(i.stochasticDepth!.expectedBlocks - 7.2) < 1e-9);
  assert.match(i.toString(), /stochastic depth: expected 7\.20 of 9 residual blocks/);
  net.dispose();
  assert.equal((await cnn.models.summary("wrn_10_1")).stochasticDepth, undefined);
});

/** The unit's output with its gate forced to `g` (restored after). */
async function withGate(
  unit: cnn.nn.Module & { drop: cnn.nn.StochasticDepth | null },
  g: number | null,
  x: cnn.Tensor,
) {
  const d = unit.drop!;
  if (g !== null) Object.defineProperty(d, "gate", { value: () => g, configurable: true });
  try {
    const y = cnn.noGrad(() => unit.forward(x));
    const a = await y.toArray() as Float32Array;
    y.dispose();
    return a;
  } finally {
    if (g !== null) delete (d as unknown as Record<string, unknown>).gate;
  }
}

Deno.test({
  name:
    "eval: paper mode gives skip + p_l F, inverted mode skip + F (units with identity and projection shortcuts)",
  ignore: !READY,
  fn: async () => {
    const r = rng(5);
    for (const mode of ["paper", "inverted"] as const) {
      const nets: [string, cnn.nn.Module][] = [
        ["wrn B(3,1,3)", wrn(10, 1, { block: [3, 1, 3], stochasticDepth: { pL: 0.3, mode } })],
        ["wrn B(3,3)", wrn(10, 1, { stochasticDepth: { pL: 0.3, mode } })],
        [
          "preact bottleneck",
          cnn.models.create("preact_resnet164_cifar", {
            depths: [1, 1, 1],
            stochasticDepth: { pL: 0.3, mode },
          }),
        ],
        [
          "im full-preact exclusive-gating",
          identityMappingResNet(8, {
            shortcut: "exclusive-gating",
            gateBias: 0,
            stochasticDepth: { pL: 0.3, mode },
          }),
        ],
        [
          "im relu-before-add constant",
          identityMappingResNet(8, {
            order: "relu-before-add",
            shortcut: "constant",
            scaleResidual: true,
            stochasticDepth: { pL: 0.3, mode },
          }),
        ],
        [
          "im relu-only-preact shortcut-gating",
          identityMappingResNet(8, {
            order: "relu-only-preact",
            shortcut: "shortcut-gating",
            stochasticDepth: { pL: 0.3, mode },
          }),
        ],
      ];
      for (const [label, net] of nets) {
        net.eval();
        // the orders here add nothing after the merge, so the output is linear in the gate
        for (const [path, g] of gates(net)) {
          const unit = net.namedModules().find(([k]) => k === path.slice(0, -".drop".length))![1] as
            & cnn.nn.Module
            & { drop: cnn.nn.StochasticDepth };
          const cin = firstInputChannels(unit);
          const x = cnn.tensor(uniform(r, 2 * cin * 8 * 8), [2, cin, 8, 8]);
          const y0 = await withGate(unit, 0, x);
          const y1 = await withGate(unit, 1, x);
          const y = await withGate(unit, null, x);
          const s = mode === "paper" ? 1 - g.p : 1;
          close(y, y0.map((v, i) => v + s * (y1[i] - v)), 1e-4, `${mode} ${label} ${path}`);
          x.dispose();
        }
        net.dispose();
      }
    }
  },
});

/** Input channels of a unit: its first conv's input channels (bn1 may sit after conv1). */
function firstInputChannels(unit: cnn.nn.Module): number {
  const conv = unit.namedModules().find(([k, m]) =>
    k === "conv1" && m instanceof cnn.nn.Conv2d
  )![1] as cnn.nn.Conv2d;
  return conv.weight.shape[1];
}

Deno.test({
  name: "train: a seeded generator drops whole branches (no branch BN runs, identity units pass x through)",
  ignore: !READY,
  fn: async () => {
    const x = cnn.tensor(uniform(rng(9), 2 * 3 * 16 * 16), [2, 3, 16, 16]);
    const builds: [string, (g: cnn.Generator) => cnn.nn.Module, string][] = [
      [
        "wrn B(1,3)",
        (g) => wrn(16, 1, { block: [1, 3], stochasticDepth: { pL: 0.3, rule: "uniform", generator: g } }),
        "bn2",
      ],
      [
        "im full-preact",
        (g) => identityMappingResNet(14, { stochasticDepth: { pL: 0.3, rule: "uniform", generator: g } }),
        "bn2",
      ],
      [
        "im original conv1x1",
        (g) =>
          identityMappingResNet(14, {
            order: "original",
            shortcut: "conv1x1",
            stochasticDepth: { pL: 0.3, rule: "uniform", generator: g },
          }),
        "bn2",
      ],
    ];
    for (const [label, build, branchBn] of builds) {
      const net = build(new cnn.Generator(21)).train();
      const steps = 4;
      for (let s = 0; s < steps; s++) {
        const y = net.forward(x);
        await y.toArray();
        y.dispose();
      }
      // replay the draws: one uniform per unit per step, kept when < p_l = 0.3
      const replay = new cnn.Generator(21);
      const units = gates(net).map(([k]) => k.slice(0, -".drop".length));
      const kept = units.map(() => 0);
      for (let s = 0; s < steps; s++) units.forEach((_, i) => kept[i] += replay.uniform() < 0.3 ? 1 : 0);
      assert.ok(
        kept.some((k) => k < steps) && kept.some((k) => k > 0),
        `${label}: the seed drops some, keeps some`,
      );
      const sd = net.stateDict();
      for (const [i, u] of units.entries()) {
        const n = await sd.get(`${u}.${branchBn}.num_batches_tracked`)!.item();
        assert.equal(n, kept[i], `${label}: ${u} branch BN ran ${n} times, kept ${kept[i]}`);
      }
      net.dispose();
    }
    // a dropped identity unit outputs its input, and the gradient flows through it
    const unit = new PreActKernelBlock(3, 3, { kernels: [3, 3], drop: new cnn.nn.StochasticDepth(1) });
    const xi = cnn.tensor(uniform(rng(2), 2 * 3 * 4 * 4), [2, 3, 4, 4]);
    xi.requiresGrad = true;
    const yi = unit.forward(xi);
    close(await yi.toArray() as Float32Array, await xi.toArray() as Float32Array, 0, "dropped unit");
    const ones = cnn.tensor(new Float32Array(yi.size).fill(1), yi.shape);
    await cnn.backward(yi, ones);
    close(await xi.grad!.toArray() as Float32Array, new Float32Array(xi.size).fill(1), 0, "gradient");
    assert.equal(unit.conv(1).weight.grad ?? null, null);
    for (const t of [x, xi, yi, ones]) t.dispose();
    unit.dispose();
  },
});

Deno.test({
  name: "a few SGD steps lower the loss with stochastic depth (WRN, pre-act bottleneck, identity mappings)",
  ignore: !READY,
  fn: async () => {
    const x = cnn.tensor(uniform(rng(3), 4 * 3 * 8 * 8), [4, 3, 8, 8]);
    const labels = new Int32Array([0, 1, 2, 3]);
    const builds: [string, () => cnn.nn.Module][] = [
      [
        "wrn B(3,1,3)",
        () =>
          wrn(10, 1, {
            block: [3, 1, 3],
            numClasses: 4,
            stochasticDepth: { pL: 0.5, generator: new cnn.Generator(1) },
          }),
      ],
      [
        "preact bottleneck inverted",
        () =>
          cnn.models.create("preact_resnet164_cifar", {
            depths: [1, 1, 1],
            numClasses: 4,
            stochasticDepth: { pL: 0.5, mode: "inverted", generator: new cnn.Generator(2) },
          }),
      ],
      [
        "im original exclusive-gating",
        () =>
          identityMappingResNet(8, {
            order: "original",
            shortcut: "exclusive-gating",
            gateBias: -2,
            numClasses: 4,
            stochasticDepth: { pL: 0.5, generator: new cnn.Generator(3) },
          }),
      ],
      [
        "im full-preact",
        () =>
          identityMappingResNet(8, {
            numClasses: 4,
            stochasticDepth: { pL: 0.5, rule: "uniform", generator: new cnn.Generator(4) },
          }),
      ],
    ];
    for (const [label, build] of builds) {
      cnn.manualSeed(11);
      const net = build();
      const opt = new cnn.optim.SGD(net.parameters(), { lr: 0.05, momentum: 0.9 });
      const losses: number[] = [];
      for (let s = 0; s < 8; s++) {
        opt.zeroGrad();
        const loss = ops.crossEntropy(net.forward(x), labels);
        losses.push(await loss.item());
        await cnn.backward(loss);
        opt.step();
        loss.dispose();
      }
      assert.ok(losses.every(Number.isFinite), `${label}: ${losses}`);
      assert.ok(
        Math.min(...losses.slice(-2)) < losses[0],
        `${label}: losses ${losses.map((l) => l.toFixed(3))}`,
      );
      net.dispose();
    }
    x.dispose();
  },
});

Deno.test("errors name the bad stochastic-depth option", () => {
  assert.throws(
    () => onMeta(() => wrn(10, 1, { stochasticDepth: { pL: 1.5 } })),
    /Cannot create PreActResNet: stochasticDepth\.pL must be in \[0, 1\], got 1\.5/,
  );
  assert.throws(
    () => onMeta(() => identityMappingResNet(8, { stochasticDepth: { rule: "cubic" as "linear" } })),
    /Cannot create identityMappingResNet: stochasticDepth\.rule must be "linear", "uniform" or "timm", got cubic/,
  );
  assert.throws(
    () => onMeta(() => identityMappingResNet(8, { stochasticDepth: { mode: "row" as "paper" } })),
    /mode must be "paper" or "inverted", got "row"/,
  );
  assert.throws(
    () => onMeta(() => cnn.models.create("preact_resnet18", { stochasticDepth: 0.5 })),
    /Cannot create PreActResNet: stochasticDepth must be an object, got 0\.5/,
  );
});
