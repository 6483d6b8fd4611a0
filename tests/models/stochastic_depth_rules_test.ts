// Stochastic depth survival rules (Huang et al.): linear decay and uniform, with the expected number of
// kept residual blocks reported by summary() and the options shown in its header.
import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";

Deno.test("stochastic depth: linear and uniform rules, expected depth in summary()", async () => {
  // resnet20_cifar has 9 residual blocks; p_L = 0.5.
  const linear = await cnn.models.summary("resnet20_cifar", {
    modelOptions: { stochasticDepth: { pL: 0.5 } } as cnn.models.ModelOptions,
  });
  // sum over l = 1..9 of 1 - (l / 9)(1 - 0.5) = 9 - 0.5 * 5 = 6.5
  assert.deepEqual(linear.stochasticDepth, { blocks: 9, expectedBlocks: 6.5 });
  assert.match(linear.toString(), /^resnet20_cifar \{"stochasticDepth":\{"pL":0\.5\}\}/);
  assert.match(linear.toString(), /stochastic depth: expected 6\.50 of 9 residual blocks/);
  const uniform = await cnn.models.summary("resnet20_cifar", {
    modelOptions: { stochasticDepth: { pL: 0.8, rule: "uniform" } } as cnn.models.ModelOptions,
  });
  assert.equal(uniform.stochasticDepth!.blocks, 9);
  assert.ok(Math.abs(uniform.stochasticDepth!.expectedBlocks - 7.2) < 1e-9);
  const plain = await cnn.models.summary("resnet20_cifar");
  assert.equal(plain.stochasticDepth, undefined);
  assert.doesNotMatch(plain.toString(), /stochastic depth/);
  await assert.rejects(
    () =>
      cnn.models.summary("resnet20_cifar", {
        modelOptions: { stochasticDepth: { rule: "cubic" } } as unknown as cnn.models.ModelOptions,
      }),
    /stochasticDepth\.rule must be "linear", "uniform" or "timm", got cubic/,
  );
});
