// ops.winogradWeights / winogradVariant and conv2d's `winogradWeights` option for both Winograd variants:
// the precomputed weights are used when they match the variant that runs, ignored otherwise, and
// validated; F(4x4, 3x3) runs only without gradient.
import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";
import { kernels as K } from "../../runtime/mod.ts";
import { assertClose } from "../_util/assert_close.ts";
import { rng, uniform } from "../_util/rng.ts";
import { same3x3 } from "../_util/conv_naive.ts";

await cnn.init({ threads: 1 });
const ops = cnn.ops;

Deno.test("conv2d uses precomputed F(4x4, 3x3) weights where F(4x4, 3x3) runs, and F(2x2, 3x3) ones otherwise", async () => {
  const r = rng(81);
  // 32 channels on 24x24: 36 4x4 tiles, so inference runs as F(4x4, 3x3) under "auto".
  const x = cnn.tensor(uniform(r, 32 * 24 * 24), [1, 32, 24, 24]);
  const w = cnn.tensor(uniform(r, 32 * 32 * 9), [32, 32, 3, 3]);
  const w2 = cnn.tensor(uniform(r, 32 * 32 * 9), [32, 32, 3, 3]);
  const bias = cnn.tensor(uniform(r, 32), [32]);
  const opts = { padding: 1, bias, relu: true };
  assert.equal(ops.winogradVariant(x.shape, w, opts), "f43");
  assert.equal(ops.runsAsWinograd(x.shape, w, opts), true);
  const old = K.setConvAlgorithm("gemm");
  const want = await ops.conv2d(x, w, opts).toArray(), want2 = await ops.conv2d(x, w2, opts).toArray();
  K.setConvAlgorithm(old);
  const u43 = ops.winogradWeights(w2, "f43"), u23 = ops.winogradWeights(w2);
  assert.deepEqual([u43.shape, u23.shape], [[36, 32, 32], [16, 32, 32]]);
  const tol = { rtol: 1e-4, atol: 1e-4 };
  // The F(4,3) weights (of w2) replace w's; the F(2,3) ones do not match the variant and are ignored.
  const y43 = await cnn.noGrad(() => ops.conv2d(x, w, { ...opts, winogradWeights: u43 })).toArray();
  assertClose(y43, want2, { ...tol, label: "f43 weights used" });
  const y23 = await cnn.noGrad(() => ops.conv2d(x, w, { ...opts, winogradWeights: u23 })).toArray();
  assertClose(y23, want, { ...tol, label: "f23 weights ignored" });
  // Under forced F(2,3) it is the other way round.
  K.setConvAlgorithm("winograd");
  try {
    assert.equal(ops.winogradVariant(x.shape, w, opts), "f23");
    const y = await cnn.noGrad(() => ops.conv2d(x, w, { ...opts, winogradWeights: u23 })).toArray();
    assertClose(y, want2, { ...tol, label: "f23 weights used" });
  } finally {
    K.setConvAlgorithm(old);
  }
  for (const t of [x, w, w2, bias, u43, u23]) t.dispose();
});

Deno.test("conv2d rejects Winograd weights of the wrong shape, and winogradWeights an unknown variant", () => {
  const x = cnn.zeros([1, 4, 8, 8]), w = cnn.zeros([6, 4, 3, 3]);
  assert.throws(
    () => ops.conv2d(x, w, { padding: 1, winogradWeights: cnn.zeros([25, 6, 4]) }),
    /Cannot run conv2d: winogradWeights has shape \[25, 6, 4\], expected \[16, 6, 4\] or \[36, 6, 4\]/,
  );
  assert.throws(
    () => ops.winogradWeights(w, "f63" as "f43"),
    /Cannot run winogradWeights: variant must be "f23" or "f43", got "f63"/,
  );
  assert.equal(ops.winogradVariant([1, 4, 8, 8], w, { padding: 1 }), null, "too few channels");
});

Deno.test("with gradients recorded, conv2d runs as F(2x2, 3x3), not F(4x4, 3x3)", () => {
  const g = same3x3(1, 32, 24, 24, 32);
  assert.equal(K.winogradVariant(g, false), "f23");
  assert.equal(K.winogradVariant(g, true), "f43");
});
