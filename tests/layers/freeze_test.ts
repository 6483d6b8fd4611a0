import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";
import { kernels as K } from "../../runtime/mod.ts";
import { assertClose } from "../_util/assert_close.ts";

await cnn.init({ threads: 1 });

/** Gives every batch norm non-trivial statistics and affine parameters, so folding is exercised. */
async function randomizeBatchNorms(net: cnn.nn.Module, seed: number): Promise<void> {
  let s = seed;
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  for (const [k, t] of net.stateDict()) {
    if (k.endsWith("running_var")) await t.write(new Float32Array(t.size).map(() => 0.5 + rand()));
    else if (k.endsWith("running_mean") || (k.includes("bn") && k.endsWith("bias"))) {
      await t.write(new Float32Array(t.size).map(() => rand() - 0.5));
    } else if (k.includes("bn") && k.endsWith("weight")) {
      await t.write(new Float32Array(t.size).map(() => 0.5 + rand()));
    }
  }
}

function input(shape: number[]): cnn.Tensor {
  return cnn.tensor(new Float32Array(shape.reduce((a, b) => a * b)).map((_, i) => Math.sin(i * 0.37)), shape);
}

const CASES: [string, number[]][] = [
  ["resnet20_cifar", [2, 3, 32, 32]],
  ["resnet18", [1, 3, 64, 64]],
  ["resnext29_8x64d", [1, 3, 16, 16]],
  ["preact_resnet18", [1, 3, 64, 64]],
  ["densenet121", [1, 3, 64, 64]],
  ["googlenet", [1, 3, 96, 96]],
];

for (const [name, shape] of CASES) {
  Deno.test(`a frozen ${name} equals its eval-mode forward`, async () => {
    cnn.manualSeed(5);
    const net = cnn.models.create(name);
    await randomizeBatchNorms(net, 7);
    const x = input(shape);
    net.eval();
    const want = await cnn.noGrad(() => net.forward(x)).toArray();
    net.train();
    const frozen = await cnn.nn.freeze(net, shape);
    assert.equal(net.training, true, "the module's mode is restored");
    const got = await frozen.forward(x).toArray();
    const scale = Math.max(...want.map(Math.abs));
    assertClose(got, want, { rtol: 1e-4, atol: 1e-5 * scale, label: name });
    assert.ok(frozen.stats.ops < frozen.stats.traced, `${name}: fewer ops (${JSON.stringify(frozen.stats)})`);
    frozen.dispose();
    net.dispose();
  });
}

Deno.test("a frozen Sequential with LRN, pooling, dropout and linear layers equals its eval forward", async () => {
  cnn.manualSeed(9);
  const net = new cnn.nn.Sequential(
    new cnn.nn.Conv2d(3, 8, { kernelSize: 3, padding: 1, bias: true }),
    new cnn.nn.ReLU(),
    new cnn.nn.LocalResponseNorm(5, { alpha: 1e-4, beta: 0.75, k: 2 }),
    new cnn.nn.MaxPool2d({ kernelSize: 3, stride: 2 }),
    new cnn.nn.Conv2d(8, 16, { kernelSize: 3, padding: 1 }),
    new cnn.nn.BatchNorm2d(16),
    new cnn.nn.ReLU(),
    new cnn.nn.AdaptiveAvgPool2d(2),
    new cnn.nn.Flatten(),
    new cnn.nn.Dropout(0.5),
    new cnn.nn.Linear(64, 10),
  );
  await randomizeBatchNorms(net, 3);
  const x = input([2, 3, 15, 15]);
  net.eval();
  const want = await cnn.noGrad(() => net.forward(x)).toArray();
  const frozen = await cnn.nn.freeze(net, [2, 3, 15, 15]);
  assertClose(await frozen.forward(x).toArray(), want, { rtol: 1e-4, atol: 1e-6, label: "sequential" });
  assert.deepEqual([frozen.stats.foldedBatchNorms, frozen.stats.fusedRelus], [1, 2]);
  frozen.dispose();
});

Deno.test("freeze folds each conv's batch norm and ReLU, and transforms Winograd weights once", async () => {
  const net = cnn.models.create("resnet20_cifar");
  const frozen = await cnn.nn.freeze(net, [2, 3, 32, 32]);
  // 19 conv -> BN pairs (stem + 18 in the blocks); the ReLU after each block's first BN and the stem's.
  assert.deepEqual(
    { folded: frozen.stats.foldedBatchNorms, relus: frozen.stats.fusedRelus },
    { folded: 19, relus: 10 },
  );
  assert.ok(frozen.stats.winogradConvs > 0);
  const plain = await cnn.nn.freeze(net, [2, 3, 32, 32], {
    foldBatchNorm: false,
    fuseRelu: false,
    winograd: false,
  });
  assert.deepEqual(
    [plain.stats.foldedBatchNorms, plain.stats.fusedRelus, plain.stats.winogradConvs],
    [0, 0, 0],
  );
  const x = input([2, 3, 32, 32]);
  assertClose(await frozen.forward(x).toArray(), await plain.forward(x).toArray(), {
    rtol: 1e-4,
    atol: 1e-5,
    label: "rewritten vs plain replay",
  });
  frozen.dispose();
  plain.dispose();
});

Deno.test("a frozen model is a snapshot: changing the module afterwards does not change it", async () => {
  const net = cnn.models.create("resnet20_cifar").eval();
  const x = input([1, 3, 32, 32]);
  const frozen = await cnn.nn.freeze(net, [1, 3, 32, 32]);
  const before = await frozen.forward(x).toArray();
  for (const p of net.parameters()) await p.write(new Float32Array(p.size));
  const netAfter = await cnn.noGrad(() => net.forward(x)).toArray();
  assert.ok(netAfter.every((v) => v === 0), "the module's own output changed (all-zero weights)");
  assert.deepEqual(await frozen.forward(x).toArray(), before);
  frozen.dispose();
});

Deno.test("frozen forward rejects another shape and use after dispose, and does not leak", async () => {
  const net = cnn.models.create("resnet20_cifar");
  const frozen = await cnn.nn.freeze(net, [1, 3, 32, 32]);
  assert.throws(
    () => frozen.forward(cnn.zeros([2, 3, 32, 32])),
    /Cannot run frozen model: input has shape \[2,3,32,32\] but the model was frozen for \[1,3,32,32\]/,
  );
  await assert.rejects(() => cnn.nn.freeze(net, [1, 3, 0, 32]), /Cannot freeze model: inputShape must be/);
  const rt = cnn.runtime();
  const x = input([1, 3, 32, 32]);
  const y0 = frozen.forward(x);
  await y0.toArray();
  y0.dispose();
  await rt.sync();
  const used = rt.heap.bytesInUse;
  for (let i = 0; i < 20; i++) {
    const y = frozen.forward(x);
    await y.toArray();
    y.dispose();
  }
  await rt.sync();
  assert.equal(rt.heap.bytesInUse, used, "20 frozen forwards leave the heap as they found it");
  frozen.dispose();
  assert.throws(() => frozen.forward(x), /Cannot run frozen model: it was disposed/);
});

Deno.test("a frozen model precomputes F(4x4, 3x3) weights for the convolutions that run as F(4x4, 3x3)", async () => {
  cnn.manualSeed(11);
  // 32 channels on 24x24 (36 4x4 tiles: F(4,3) for inference), then on 12x12 (9 tiles: F(2,3)).
  const net = new cnn.nn.Sequential(
    new cnn.nn.Conv2d(32, 32, { kernelSize: 3, padding: 1 }),
    new cnn.nn.BatchNorm2d(32),
    new cnn.nn.ReLU(),
    new cnn.nn.MaxPool2d({ kernelSize: 2, stride: 2 }),
    new cnn.nn.Conv2d(32, 32, { kernelSize: 3, padding: 1, bias: true }),
    new cnn.nn.ReLU(),
  );
  await randomizeBatchNorms(net, 13);
  const shape = [2, 32, 24, 24];
  const x = input(shape);
  net.eval();
  const w0 = (net.at(0) as cnn.nn.Conv2d).weight;
  assert.equal(cnn.ops.winogradVariant(shape, w0, { padding: 1 }), "f43");
  assert.equal(cnn.ops.winogradVariant([2, 32, 12, 12], w0, { padding: 1 }), "f23");
  const frozen = await cnn.nn.freeze(net, shape);
  assert.equal(frozen.stats.winogradConvs, 2, "both convolutions get precomputed weights");
  const got = await frozen.forward(x).toArray();
  // Against the direct convolutions (implicit GEMM): F(4,3)'s rounding stays small.
  const old = K.setConvAlgorithm("gemm");
  const want = await cnn.noGrad(() => net.forward(x)).toArray();
  K.setConvAlgorithm(old);
  const scale = Math.max(...want.map(Math.abs));
  assertClose(got, want, { rtol: 1e-4, atol: 2e-5 * scale, label: "frozen F(4,3) vs GEMM" });
  // The eval forward without gradient runs F(4,3) too (transforming the weights itself).
  const evalOut = await cnn.noGrad(() => net.forward(x)).toArray();
  assertClose(got, evalOut, { rtol: 1e-5, atol: 1e-6 * scale, label: "frozen vs eval forward" });
  frozen.dispose();
  net.dispose();
});
