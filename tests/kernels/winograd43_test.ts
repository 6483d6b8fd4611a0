import * as K from "../../runtime/kernels/mod.ts";
import { REF_KERNELS } from "../../runtime/mod.ts";
import assert from "node:assert/strict";
import { assertClose } from "../_util/assert_close.ts";
import { closeBackends, forEachBackend } from "../_util/backends.ts";
import { Buf } from "../_util/buffers.ts";
import { convForward, random3x3, same3x3, valid3x3 } from "../_util/conv_naive.ts";

/** A random 3x3 stride-1 convolution: odd sizes up to 21 (several 4x4 tiles), asymmetric padding 0-2. */
const randomGeom = (r: () => number) => random3x3(r, { maxC: 20, maxH: 21 });
import { int, rng, uniform } from "../_util/rng.ts";
import { checkForwardAndDx } from "../_util/conv_check.ts";
import { checkTransforms } from "../_util/winograd_check.ts";

forEachBackend("winograd43 kernels match their references on odd shapes", async (rt) => {
  const r = rng(71);
  // Fixed first cases: one image, a single tile; several images, channels not a multiple of 4.
  const cases = [
    same3x3(1, 1, 1, 1, 1),
    same3x3(2, 5, 9, 13, 7),
    ...Array.from({ length: 12 }, () => randomGeom(r)),
  ];
  for (const g of cases) {
    // Planes of V and M a little more than their size apart (the launcher pads them to odd cache lines);
    // rows of a plane T + 0..5 floats apart, the same in V and M (as the launcher passes one row stride).
    await checkTransforms(rt, r, g, "f43", 1e-5, (T, c, k) => {
      const ts = T + int(r, 0, 5);
      return { ts, sv: c * ts + int(r, 0, 5), sm: k * ts + int(r, 0, 5) };
    });
  }
});

Deno.test("the winograd43 references invert each other: one channel, one tile equals the direct 3x3 convolution", async () => {
  // Checks the reference matrices themselves (B^T, G, A^T), independently of the Wasm kernels.
  const { backend } = await import("../_util/backends.ts");
  const rt = await backend("ref");
  const r = rng(72);
  const g = valid3x3(1, 1, 6, 6, 1);
  const x = uniform(r, 36), w = uniform(r, 9);
  const X = new Buf(rt, x), W = new Buf(rt, w), U = new Buf(rt, 36), V = new Buf(rt, 36), Y = new Buf(rt, 16);
  REF_KERNELS.winograd43_weight(rt.heap, W.ptr, U.ptr, 1, 1, 0, 1);
  REF_KERNELS.winograd43_input(rt.heap, X.ptr, V.ptr, 1, 36, 6, 6, 0, 0, 1, 1, 1, 1, 1, 0, 1);
  const m = U.read().map((u, i) => u * V.read()[i]);
  const M = new Buf(rt, [...m, 0, 0, 0, 0]);
  REF_KERNELS.winograd43_output(rt.heap, M.ptr, Y.ptr, 0, 0, 1, 4, 4, 1, 1, 1, 1, 1, 0, 1);
  assertClose(Y.read(), convForward(g, x, w), { rtol: 1e-5, atol: 1e-5, label: "one tile" });
  for (const b of [X, W, U, V, Y, M]) b.free("one tile");
});

forEachBackend("Winograd F(4x4, 3x3) forward and input gradient match the direct convolution", async (rt) => {
  const old = K.setConvAlgorithm("winograd43");
  const oldChunk = K.setWinogradChunkBytes(8 << 20);
  try {
    const r = rng(73);
    const cases = [
      same3x3(2, 64, 14, 14, 48),
      same3x3(1, 17, 23, 9, 19),
      ...Array.from({ length: 14 }, () => randomGeom(r)),
    ];
    for (const [i, g] of cases.entries()) {
      assert.equal(K.winogradVariant(g), "f43", "the forced variant is used");
      K.setWinogradChunkBytes(i % 2 ? 1 : 8 << 20); // odd cases: one image per chunk
      await checkForwardAndDx(rt, r, g);
    }
  } finally {
    K.setWinogradChunkBytes(oldChunk);
    K.setConvAlgorithm(old);
  }
});

forEachBackend(
  "precomputed F(4x4, 3x3) weights are used, and weights of the other variant are not",
  async (rt) => {
    const old = K.setConvAlgorithm("winograd43");
    try {
      const r = rng(74);
      const g = same3x3(2, 9, 11, 10, 6);
      const { cIn: c, cOut: k } = g;
      const xs = g.n * c * g.h * g.w, ys = g.n * k * g.outH * g.outW;
      const x = uniform(r, xs), w = uniform(r, k * c * 9), want = convForward(g, x, w);
      const X = new Buf(rt, x), W = new Buf(rt, w), Z = new Buf(rt, k * c * 9); // Z: zero weights
      const U43 = new Buf(rt, 36 * k * c), U23 = new Buf(rt, 16 * k * c);
      await rt.enqueue(() => K.winogradWeights(rt, { w: W.ptr, u: U43.ptr, k, c, variant: "f43" }));
      await rt.enqueue(() => K.winogradWeights(rt, { w: W.ptr, u: U23.ptr, k, c }));
      const tol = { rtol: 1e-4, atol: 3e-5 * Math.sqrt(9 * c + 1) };
      // The F(4,3) weights stand in for the (zero) raw weights...
      const Y = new Buf(rt, ys);
      await rt.enqueue(() =>
        K.conv2dForward(rt, g, { x: X.ptr, w: Z.ptr, bias: 0, y: Y.ptr, u: U43.ptr, uVariant: "f43" })
      );
      assertClose(Y.read(), want, { ...tol, label: "f43 weights" });
      // ...while F(2,3) weights are ignored by an F(4,3) convolution (the raw weights are transformed).
      const Y2 = new Buf(rt, ys);
      await rt.enqueue(() =>
        K.conv2dForward(rt, g, { x: X.ptr, w: W.ptr, bias: 0, y: Y2.ptr, u: U23.ptr, uVariant: "f23" })
      );
      assertClose(Y2.read(), want, { ...tol, label: "f23 weights under f43" });
      for (const b of [X, W, Z, U43, U23, Y, Y2]) b.free("precomputed");
    } finally {
      K.setConvAlgorithm(old);
    }
  },
);

Deno.test("the automatic choice uses F(4x4, 3x3) only for inference on the shapes where it measured faster", () => {
  const old = K.setConvAlgorithm("auto");
  try {
    const big = same3x3(1, 64, 56, 56, 64);
    assert.equal(K.winogradVariant(big, true), "f43", "ResNet 64@56, inference");
    assert.equal(K.winogradVariant(big, false), "f23", "ResNet 64@56, training");
    assert.equal(K.winogradVariant(big), "f23", "training by default");
    assert.equal(K.useWinograd(big), true);
    assert.equal(K.winogradVariant(same3x3(1, 256, 14, 14, 256), true), "f23", "256@14");
    assert.equal(K.winogradVariant(same3x3(1, 8, 56, 56, 64), true), null, "too few input channels");
    const l4 = same3x3(1, 512, 7, 7, 512); // 16 2x2 tiles: F(2,3) only with pretransformed weights
    assert.equal(K.winogradVariant(l4, true, true), "f23", "512@7, pretransformed weights");
    assert.equal(K.winogradVariant(l4, true), null, "512@7, weights transformed per call");
    assert.equal(K.winogradVariant(same3x3(1, 64, 6, 6, 64), true, true), null, "6x6: 9 2x2 tiles");
    assert.equal(K.useWinogradWgrad(same3x3(1, 512, 7, 7, 512)), false, "weight gradient: 32 tiles");
    assert.equal(K.useWinogradWgrad(same3x3(2, 512, 7, 7, 512)), true, "weight gradient, 2 images");
    K.setConvAlgorithm("winograd");
    assert.equal(K.winogradVariant(big, true), "f23", "forced F(2,3)");
    K.setConvAlgorithm("winograd43");
    assert.equal(K.winogradVariant(same3x3(1, 1, 3, 3, 1)), "f43", "forced F(4,3)");
    K.setConvAlgorithm("gemm");
    assert.equal(K.winogradVariant(big, true), null, "forced GEMM");
  } finally {
    K.setConvAlgorithm(old);
  }
});

Deno.test("close backends (winograd43)", closeBackends);
