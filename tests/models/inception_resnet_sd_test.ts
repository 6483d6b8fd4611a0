import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";

await cnn.init({ threads: 1 });

const small = { widthMultiplier: 1 / 8, depths: [2, 2, 2] as [number, number, number], numClasses: 5 };

Deno.test("Inception-ResNet stochastic depth: one gate per residual block, summary, eval scaling, errors", async () => {
  const s = await cnn.models.summary("inception_resnet_v2", {
    inputSize: [3, 75, 75],
    modelOptions: { ...small, stochasticDepth: { pL: 0.5 } },
  });
  // 6 blocks, linear rule: survival 1 - (i / 6)(1 - 0.5), i = 1..6 -> sum = 6 - 0.5 * 21 / 6 = 4.25.
  assert.deepEqual(s.stochasticDepth, { blocks: 6, expectedBlocks: 4.25 });

  const x = cnn.tensor(new Float32Array(2 * 3 * 75 * 75).map((_, i) => Math.sin(i * 0.1)), [2, 3, 75, 75]);
  cnn.manualSeed(4);
  const plain = cnn.models.create("inception_resnet_v2", small).eval();
  cnn.manualSeed(4);
  const sure = cnn.models.create("inception_resnet_v2", { ...small, stochasticDepth: { pL: 1 } }).eval();
  const want = await cnn.noGrad(() => plain.forward(x)).toArray();
  assert.deepEqual(await cnn.noGrad(() => sure.forward(x)).toArray(), want, "p_L = 1: nothing drops");
  cnn.manualSeed(4);
  const half = cnn.models.create("inception_resnet_v2", { ...small, stochasticDepth: { pL: 0.5 } }).eval();
  const scaled = await cnn.noGrad(() => half.forward(x)).toArray();
  assert.ok(scaled.some((v, i) => Math.abs(v - want[i]) > 1e-6), "paper mode scales the branches at test");
  // Training with p_L = 0: the last block (drop probability 1) never runs its branches; the output is finite.
  cnn.manualSeed(4);
  const net = cnn.models.create("inception_resnet_v2", { ...small, stochasticDepth: { pL: 0 } });
  net.train();
  const y = await net.forward(x).toArray();
  assert.ok(y.every(Number.isFinite));
  assert.throws(
    () => cnn.models.create("inception_v4", { widthMultiplier: 1 / 8, stochasticDepth: { pL: 0.5 } }),
    /Cannot create inception_v4: stochasticDepth applies to the residual blocks of Inception-ResNet only/,
  );
});
