import * as K from "../../runtime/kernels/mod.ts";
import { REF_KERNELS } from "../../runtime/mod.ts";
import assert from "node:assert/strict";
import { assertClose } from "../_util/assert_close.ts";
import { closeBackends, forEachBackend } from "../_util/backends.ts";
import { Buf } from "../_util/buffers.ts";
import { convBackward, geom, random3x3, same3x3 } from "../_util/conv_naive.ts";

/** A random 3x3 stride-1 convolution: odd sizes up to 13, asymmetric padding 0-2, 1-3 images, 1-20 channels. */
const randomGeom = (r: () => number) => random3x3(r, { maxC: 20, maxH: 13 });
import { int, rng, uniform } from "../_util/rng.ts";
import { checkForwardAndDx } from "../_util/conv_check.ts";
import { checkTransforms } from "../_util/winograd_check.ts";

forEachBackend("winograd kernels match their references on odd shapes", async (rt) => {
  const r = rng(41);
  for (let t = 0; t < 12; t++) {
    // Plane and row strides: dense on even cases, padded (as the launcher pads them) on odd ones.
    await checkTransforms(rt, r, randomGeom(r), "f23", 1e-6, (T, c, k) => {
      const ts = t % 2 ? K.planeStride(T) : T;
      return t % 2
        ? { ts, sv: K.planeStride(c * ts), sm: K.planeStride(k * ts) }
        : { ts, sv: c * ts, sm: k * ts };
    });
  }
});

forEachBackend("winograd weight-gradient kernels match their references on odd shapes", async (rt) => {
  const r = rng(44);
  for (let t = 0; t < 12; t++) {
    const g = randomGeom(r);
    const label = JSON.stringify(g);
    const { cIn: c, cOut: k } = g;
    const tilesH = Math.ceil(g.outH / 2), tilesW = Math.ceil(g.outW / 2), T = g.n * tilesH * tilesW;
    // Output-gradient tiles
    const ts = t % 2 ? K.planeStride(T) : T;
    const se = t % 2 ? K.planeStride(k * ts) : k * ts;
    const DY = new Buf(rt, uniform(r, g.n * k * g.outH * g.outW));
    const E = new Buf(rt, 16 * se), Er = new Buf(rt, 16 * se);
    if (se > k * T) { // padding (planes and rows) stays 0 in both
      E.write(new Float32Array(16 * se));
      Er.write(new Float32Array(16 * se));
    }
    const dyArgs = [k, g.outH, g.outW, tilesH, tilesW, g.n, se, ts];
    await rt.run("winograd_dy", [DY.ptr, E.ptr, ...dyArgs], { units: g.n * k });
    REF_KERNELS.winograd_dy(rt.heap, DY.ptr, Er.ptr, ...dyArgs, 0, g.n * k);
    assertClose(E.read(), Er.read(), { rtol: 1e-6, atol: 1e-6, label: `dy ${label}` });
    // dU -> dW, overwriting then accumulating
    const DU = new Buf(rt, uniform(r, 16 * k * c)), dw0 = uniform(r, k * c * 9);
    const groups = Math.ceil(k * c / 4);
    for (const acc of [0, 1]) {
      const DW = new Buf(rt, dw0), DWr = new Buf(rt, dw0);
      await rt.run("winograd_dweight", [DU.ptr, DW.ptr, k, c, acc], { units: groups });
      REF_KERNELS.winograd_dweight(rt.heap, DU.ptr, DWr.ptr, k, c, acc, 0, groups);
      assertClose(DW.read(), DWr.read(), { rtol: 1e-6, atol: 1e-6, label: `dweight acc=${acc} ${label}` });
      DW.free(label);
      DWr.free(label);
    }
    for (const b of [DY, E, Er, DU]) b.free(label);
  }
});

forEachBackend("sgemm_batched matches its reference", async (rt) => {
  const r = rng(42);
  for (let t = 0; t < 6; t++) {
    const [m, n, k, batch] = [int(r, 1, 130), int(r, 1, 300), int(r, 1, 40), int(r, 1, 4)];
    const A = new Buf(rt, uniform(r, batch * m * k)), B = new Buf(rt, uniform(r, batch * k * n));
    const C = new Buf(rt, batch * m * n), Cr = new Buf(rt, batch * m * n);
    const { nt, units } = K.gemmTiling(m, n, rt.threads);
    const args = [A.ptr, B.ptr, C.ptr, m, n, k, k, n, n, 0, nt, m * k, k * n, m * n];
    await rt.run("sgemm_batched", args, { units: batch * units, scratchBytes: K.GEMM_SCRATCH_BYTES });
    REF_KERNELS.sgemm_batched(rt.heap, A.ptr, B.ptr, Cr.ptr, ...args.slice(3), 0, batch * units);
    const label = `m${m} n${n} k${k} batch ${batch}`;
    assertClose(C.read(), Cr.read(), { rtol: 1e-5, atol: 1e-5 * Math.sqrt(k), label });
    for (const b of [A, B, C, Cr]) b.free(label);
  }
});

forEachBackend("Winograd convolution forward and input gradient match the direct convolution", async (rt) => {
  const old = K.setConvAlgorithm("winograd");
  const oldFused = K.setWinogradFused("off"); // the unfused path (winograd_fused_test.ts covers the fused one)
  try {
    const r = rng(43);
    const cases = [
      same3x3(2, 64, 14, 14, 48),
      ...Array.from({ length: 16 }, () => randomGeom(r)),
    ];
    for (const g of cases) {
      assert.ok(K.useWinograd(g), "the forced algorithm is used");
      await checkForwardAndDx(rt, r, g);
    }
  } finally {
    K.setWinogradFused(oldFused);
    K.setConvAlgorithm(old);
  }
});

forEachBackend("Winograd weight gradient (unfused and fused) matches the direct convolution", async (rt) => {
  const old = K.setConvAlgorithm("winograd");
  const oldChunk = K.setWinogradChunkBytes(8 << 20);
  const oldFused = K.setWinogradFused("off");
  const oldTiles = K.setWgradBandTiles(0);
  try {
    const r = rng(45);
    const cases = [
      same3x3(3, 24, 15, 10, 40),
      same3x3(2, 70, 9, 9, 66), // more than 64 channels
      ...Array.from({ length: 16 }, () => randomGeom(r)),
    ];
    for (const [i, g] of cases.entries()) {
      assert.ok(K.useWinogradWgrad(g), "the forced algorithm is used");
      K.setWinogradChunkBytes(i % 2 ? 1 : 8 << 20); // odd cases: one image per chunk (accumulated dU)
      // Every third case unfused; the others fused, with bands of 1 to 40 tiles (partial last bands).
      K.setWinogradFused(i % 3 === 0 ? "off" : "on");
      K.setWgradBandTiles(int(r, 1, 40));
      const label = `${i % 3 === 0 ? "unfused" : "fused"} ${JSON.stringify(g)}`;
      const xs = g.n * g.cIn * g.h * g.w, ws = g.cOut * g.cIn * 9, ys = g.n * g.cOut * g.outH * g.outW;
      const x = uniform(r, xs), dy = uniform(r, ys);
      const X = new Buf(rt, x), DY = new Buf(rt, dy), DW = new Buf(rt, ws), DB = new Buf(rt, g.cOut);
      await rt.enqueue(() =>
        K.conv2dBackwardWeight(rt, g, { dy: DY.ptr, x: X.ptr, dw: DW.ptr, dbias: DB.ptr })
      );
      const want = convBackward(g, x, new Float32Array(ws), dy);
      const n = g.n * g.outH * g.outW;
      assertClose(DW.read(), want.dw, { rtol: 1e-4, atol: 3e-5 * Math.sqrt(n), label: `dw ${label}` });
      assertClose(DB.read(), want.db, { rtol: 1e-4, atol: 3e-5 * Math.sqrt(n), label: `dbias ${label}` });
      for (const b of [X, DY, DW, DB]) b.free(label);
    }
  } finally {
    K.setWgradBandTiles(oldTiles);
    K.setWinogradFused(oldFused);
    K.setWinogradChunkBytes(oldChunk);
    K.setConvAlgorithm(old);
  }
});

Deno.test("the automatic choice uses Winograd only for 3x3 stride-1 single-group convolutions with enough work", () => {
  const base = {
    n: 1,
    cIn: 64,
    h: 56,
    w: 56,
    cOut: 64,
    kh: 3,
    kw: 3,
    strideH: 1,
    strideW: 1,
    padTop: 1,
    padBottom: 1,
    padLeft: 1,
    padRight: 1,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
  };
  assert.equal(K.useWinograd(geom(base)), true);
  assert.equal(K.useWinograd(geom({ ...base, cIn: 3 })), false, "too few input channels");
  assert.equal(K.useWinograd(geom({ ...base, strideH: 2, strideW: 2 })), false, "stride 2");
  assert.equal(K.useWinograd(geom({ ...base, groups: 2 })), false, "groups");
  assert.equal(K.useWinograd(geom({ ...base, dilationH: 2, dilationW: 2 })), false, "dilation");
  assert.equal(K.useWinograd(geom({ ...base, kh: 5, kw: 5 })), false, "5x5");
  assert.equal(K.useWinogradWgrad(geom(base)), true, "weight gradient");
  assert.equal(
    K.useWinogradWgrad(geom({ ...base, cOut: 8 })),
    false,
    "weight gradient, too few output channels",
  );
  assert.equal(
    K.useWinogradWgrad(geom({ ...base, strideH: 2, strideW: 2 })),
    false,
    "weight gradient, stride 2",
  );
});

Deno.test("Winograd plane strides are whole cache lines, an odd number of them, at least the plane", () => {
  for (const n of [1, 15, 16, 17, 32, 33, 256, 4096, 16 * 4096, 1000]) {
    const s = K.planeStride(n);
    assert.ok(s >= n, `stride ${s} >= ${n}`);
    assert.equal(s % 16, 0, `stride ${s} is whole 64-byte lines`);
    assert.equal((s / 16) % 2, 1, `stride ${s} is an odd number of lines`);
    assert.ok(s < n + 32, `stride ${s} wastes less than two lines over ${n}`);
  }
});

Deno.test("close backends (winograd)", closeBackends);
