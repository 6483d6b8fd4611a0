/**
 * Inception-v4 / Inception-ResNet-v1 / v2 whole-model parity with torch reference modules written in
 * tools/fixtures/make_inception_v4_parity.py (Cadene layouts, our parameter names; seed 1234): reduced
 * models (width × 1/8, input 107, few blocks; committed) in eval mode, and one train-mode forward/backward
 * of the reduced IR-v2 (dropout 0: logits, loss, gradients, running statistics). Also residual scaling: a
 * block with s = 1 is relu(x + up(branches)), and d out / d x = 1 + s · dF/dx on the linear final block.
 * Guarded by kernelsReady() until the kernels merge.
 */
import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";
import { type FixtureArray, readFixture } from "../_util/fixture.ts";
import { kernelsReady, MODEL_KERNELS } from "../_util/kernels_ready.ts";
import type { MixedBlock } from "../../models/inception_v4.ts";

const READY = kernelsReady(
  ...MODEL_KERNELS,
  "avgPool2dBackward",
  "maxPool2dBackward",
  "batchNormBackward",
  "batchNormEvalBackward",
);
if (READY) await cnn.init({ threads: 1 });

const fixture = (name: string) =>
  readFixture(Deno.readFileSync(new URL(`../fixtures/${name}_small_parity.safetensors`, import.meta.url)));
const SMALL: Record<string, cnn.models.ModelOptions> = {
  inception_v4: { widthMultiplier: 1 / 8, depths: [1, 1, 1], numClasses: 10 },
  inception_resnet_v1: { widthMultiplier: 1 / 8, depths: [1, 1, 1], numClasses: 10 },
  inception_resnet_v2: { widthMultiplier: 1 / 8, depths: [1, 1, 2], numClasses: 10 },
};

async function loadState(model: cnn.nn.Module, fx: Map<string, FixtureArray>): Promise<void> {
  const sd = model.stateDict();
  for (const [key, t] of sd) {
    const src = fx.get(`state.${key}`);
    assert.ok(src, `fixture has no state.${key}`);
    assert.deepEqual(src.shape, [...t.shape], key);
    await t.write(src.data);
  }
  assert.deepEqual([...fx.keys()].filter((k) => k.startsWith("state.") && !sd.has(k.slice(6))), []);
}

function input(fx: Map<string, FixtureArray>): cnn.Tensor {
  const x = fx.get("input")!;
  return cnn.tensor(x.data, x.shape);
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0, m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / (m || 1);
}

for (const [name, options] of Object.entries(SMALL)) {
  Deno.test({
    name: `${name} (reduced) eval logits match the torch reference`,
    ignore: !READY,
    fn: async () => {
      const fx = fixture(name);
      const model = cnn.models.create(name, options);
      await loadState(model, fx);
      model.eval();
      const x = input(fx);
      const y = cnn.noGrad(() => model.forward(x));
      const err = relErr(await y.toArray() as Float32Array, fx.get("logits")!.data);
      assert.ok(err < 1e-4, `${name}: eval logits rel err ${err}`);
      x.dispose();
      y.dispose();
      model.dispose();
    },
  });
}

Deno.test({
  name:
    "inception_resnet_v2 (reduced) train-mode forward/backward matches torch (logits, loss, grads, stats)",
  ignore: !READY,
  fn: async () => {
    const fx = fixture("inception_resnet_v2");
    const model = cnn.models.create("inception_resnet_v2", { ...SMALL.inception_resnet_v2, dropout: 0 });
    await loadState(model, fx);
    model.train();
    const x = input(fx);
    const logits = model.forward(x);
    const loss = cnn.ops.crossEntropy(logits, Int32Array.from(fx.get("train.labels")!.data));
    await cnn.backward(loss);
    const eLogits = relErr(await logits.toArray() as Float32Array, fx.get("train.logits")!.data);
    assert.ok(eLogits < 1e-4, `train logits rel err ${eLogits}`);
    const wantLoss = fx.get("train.loss")!.data[0];
    assert.ok(Math.abs(await loss.item() - wantLoss) < 1e-4 * Math.max(1, wantLoss), "loss");
    const params = new Map(model.namedParameters());
    const grads = [...fx.keys()].filter((k) => k.startsWith("grad."));
    assert.ok(grads.length >= 5);
    for (const k of grads) {
      const p = params.get(k.slice(5))!;
      assert.ok(p.grad, `${k} has no gradient`);
      const e = relErr(await p.grad.toArray() as Float32Array, fx.get(k)!.data);
      assert.ok(e < 1e-3, `${k}: rel err ${e}`);
    }
    const state = model.stateDict();
    for (const k of [...fx.keys()].filter((k) => k.startsWith("train.") && k.includes("running_"))) {
      const e = relErr(await state.get(k.slice(6))!.toArray() as Float32Array, fx.get(k)!.data);
      assert.ok(e < 1e-4, `${k}: rel err ${e}`);
    }
    for (const t of [x, logits, loss]) t.dispose();
    model.dispose();
  },
});

Deno.test({
  name: "residual scaling: s = 1 gives relu(x + up(branches)); the final block is x + up(branches)",
  ignore: !READY,
  fn: async () => {
    const net = cnn.models.create("inception_resnet_v2", {
      widthMultiplier: 1 / 8,
      depths: [1, 1, 2],
      residualScale: 1,
    }).eval();
    const mods = new Map(net.namedModules());
    const x = cnn.tensor(Float32Array.from({ length: 2 * 260 * 3 * 3 }, (_, i) => Math.sin(i)), [
      2,
      260,
      3,
      3,
    ]);
    await cnn.noGrad(async () => {
      for (const [path, relu] of [["repeat_2.0", true], ["block8", false]] as const) {
        const b = mods.get(path) as MixedBlock;
        assert.equal(b.scale, 1);
        const y = b.forward(x);
        const cat = b.branches(x);
        const up = (b as unknown as { conv2d: cnn.nn.Conv2d }).conv2d.forward(cat);
        const sum = cnn.ops.add(x, up);
        const want = relu ? cnn.ops.relu(sum) : sum;
        const e = relErr(await y.toArray() as Float32Array, await want.toArray() as Float32Array);
        assert.ok(e < 1e-6, `${path}: ${e}`);
      }
    });
    x.dispose();
    net.dispose();
  },
});

Deno.test({
  name: "residual scaling: d sum(out) / dx = 1 + s * d sum(F) / dx on the linear final Block8 (s = 0.3)",
  ignore: !READY,
  fn: async () => {
    const grad = async (scale: number) => {
      const net = cnn.models.create("inception_resnet_v2", {
        widthMultiplier: 1 / 8,
        depths: [1, 1, 2],
        generator: new cnn.Generator(5),
      }).eval();
      const b = new Map(net.namedModules()).get("block8") as MixedBlock;
      (b as unknown as { scale: number }).scale = scale;
      const x = cnn.tensor(Float32Array.from({ length: 260 * 9 }, (_, i) => Math.cos(i)), [1, 260, 3, 3]);
      x.requiresGrad = true;
      const y = b.forward(x);
      await cnn.backward(y, cnn.tensor(new Float32Array(y.size).fill(1), y.shape));
      const g = await x.grad!.toArray() as Float32Array;
      net.dispose();
      return g;
    };
    const g0 = await grad(0);
    const g1 = await grad(1);
    const g3 = await grad(0.3);
    for (let i = 0; i < g0.length; i++) {
      assert.ok(Math.abs(g0[i] - 1) < 1e-6);
      assert.ok(Math.abs(g3[i] - (1 + 0.3 * (g1[i] - 1))) < 1e-4, `at ${i}`);
    }
  },
});

Deno.test({
  name: "close runtime (inception_v4_forward_test)",
  ignore: !READY,
  fn: () => cnn.shutdown(),
});
