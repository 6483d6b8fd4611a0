import * as K from "../../runtime/kernels/mod.ts";
import { REF_KERNELS } from "../../runtime/mod.ts";
import assert from "node:assert/strict";
import { assertClose } from "../_util/assert_close.ts";
import { closeBackends, forEachBackend } from "../_util/backends.ts";
import { Buf } from "../_util/buffers.ts";
import { convBackward, convForward, type ConvGeom, geom, random3x3, same3x3 } from "../_util/conv_naive.ts";

/** A random 3x3 stride-1 convolution: odd sizes (13 x 19), asymmetric padding 0-2, 1-3 images, 1-14 channels. */
const randomGeom = (r: () => number, outWMultipleOf4 = false) =>
  random3x3(r, { maxC: 14, maxH: 13, maxW: 19, outWMultipleOf4 });
import { rng, uniform } from "../_util/rng.ts";

/** The padded plane of the launcher: outH + 2 rows, ceil(outW / 8) * 8 + 4 columns. */
const planeOf = (g: ConvGeom) => ({ hp: g.outH + 2, wp: Math.ceil(g.outW / 8) * 8 + 4 });

forEachBackend("direct 3x3 kernels match their references on odd shapes", async (rt) => {
  const r = rng(61);
  for (let t = 0; t < 12; t++) {
    const g = randomGeom(r, t % 2 === 0);
    const label = JSON.stringify(g);
    const { cIn: c, cOut: k } = g;
    const { hp, wp } = planeOf(g);
    // Padding
    const X = new Buf(rt, uniform(r, g.n * c * g.h * g.w));
    const XP = new Buf(rt, g.n * c * hp * wp), XPr = new Buf(rt, g.n * c * hp * wp);
    const padArgs = [g.h, g.w, hp, wp, g.padTop, g.padLeft];
    await rt.run("direct3x3_pad", [X.ptr, XP.ptr, ...padArgs], { units: g.n * c });
    REF_KERNELS.direct3x3_pad(rt.heap, X.ptr, XPr.ptr, ...padArgs, 0, g.n * c);
    assert.deepEqual(XP.read(), XPr.read(), `pad ${label}`);
    // Weights
    const blocks = Math.ceil(k / 6);
    const W = new Buf(rt, uniform(r, k * c * 9));
    const WQ = new Buf(rt, blocks * 6 * c * 9), WQr = new Buf(rt, blocks * 6 * c * 9);
    await rt.run("direct3x3_weights", [W.ptr, WQ.ptr, k, c], { units: blocks });
    REF_KERNELS.direct3x3_weights(rt.heap, W.ptr, WQr.ptr, k, c, 0, blocks);
    assert.deepEqual(WQ.read(), WQr.read(), `weights ${label}`);
    // Forward, with and without bias and ReLU
    const ys = g.n * k * g.outH * g.outW, bias = new Buf(rt, uniform(r, k));
    for (const [b, relu] of [[0, 0], [bias.ptr, 1], [bias.ptr, 0]]) {
      const Y = new Buf(rt, ys), Yr = new Buf(rt, ys);
      const args = [XP.ptr, WQ.ptr, b, 0, c, k, g.outH, g.outW, hp, wp, relu];
      const units = g.n * blocks * g.outH;
      await rt.run("direct3x3_forward", [...args.slice(0, 3), Y.ptr, ...args.slice(4)], {
        units,
        cost: 1e9,
        scratchBytes: 256,
      });
      REF_KERNELS.direct3x3_forward(rt.heap, ...args.slice(0, 3), Yr.ptr, ...args.slice(4), 0, units);
      const tol = {
        rtol: 1e-5,
        atol: 1e-5 * Math.sqrt(9 * c),
        label: `forward bias=${!!b} relu=${relu} ${label}`,
      };
      assertClose(Y.read(), Yr.read(), tol);
      Y.free(label);
      Yr.free(label);
    }
    // Weight gradient in two image chunks (first, then last), overwriting or accumulating dw
    if (g.outW % 4 === 0) {
      const units = Math.ceil(k / 4) * c * 3;
      const DY = new Buf(rt, uniform(r, ys)), dw0 = uniform(r, k * c * 9);
      for (const accumulate of [0, 1]) {
        const ACC = new Buf(rt, units * 48), ACCr = new Buf(rt, units * 48);
        const DW = new Buf(rt, dw0), DWr = new Buf(rt, dw0);
        const n1 = Math.ceil(g.n / 2);
        for (const [i0, nb, first, last] of [[0, n1, 1, n1 === g.n ? 1 : 0], [n1, g.n - n1, 0, 1]]) {
          if (nb === 0) continue;
          const dyAt = DY.ptr + i0 * k * g.outH * g.outW * 4, xpAt = XP.ptr + i0 * c * hp * wp * 4;
          const tail = [nb, c, k, g.outH, g.outW, hp, wp, first, last, accumulate];
          await rt.run("direct3x3_wgrad", [dyAt, xpAt, ACC.ptr, DW.ptr, ...tail], { units, cost: 1e9 });
          REF_KERNELS.direct3x3_wgrad(rt.heap, dyAt, xpAt, ACCr.ptr, DWr.ptr, ...tail, 0, units);
        }
        const tol = {
          rtol: 1e-5,
          atol: 1e-5 * Math.sqrt(g.n * ys),
          label: `wgrad acc=${accumulate} ${label}`,
        };
        assertClose(ACC.read(), ACCr.read(), tol);
        assertClose(DW.read(), DWr.read(), tol);
        for (const b of [ACC, ACCr, DW, DWr]) b.free(label);
      }
      DY.free(label);
    }
    for (const b of [X, XP, XPr, W, WQ, WQr, bias]) b.free(label);
  }
});

forEachBackend(
  "direct convolution forward, input and weight gradients match the naive convolution",
  async (rt) => {
    const old = K.setConvAlgorithm("direct");
    const oldChunk = K.setDirectChunkBytes(8 << 20);
    try {
      const r = rng(62);
      const cases = [
        ...Array.from({ length: 14 }, (_, i) => randomGeom(r, i % 2 === 0)),
        same3x3(3, 20, 9, 16, 13),
      ];
      for (const [i, g] of cases.entries()) {
        assert.ok(K.useDirect(g), "the forced algorithm is used");
        assert.equal(K.useDirectWgrad(g), g.outW % 4 === 0);
        K.setDirectChunkBytes(i % 3 === 1 ? 1 : 8 << 20); // every third case: one image per chunk
        const label = JSON.stringify(g);
        const xs = g.n * g.cIn * g.h * g.w, ws = g.cOut * g.cIn * 9, ys = g.n * g.cOut * g.outH * g.outW;
        const x = uniform(r, xs), w = uniform(r, ws), bias = uniform(r, g.cOut), dy = uniform(r, ys);
        const X = new Buf(rt, x), W = new Buf(rt, w), B = new Buf(rt, bias), Y = new Buf(rt, ys);
        const Yr = new Buf(rt, ys), DY = new Buf(rt, dy), DX = new Buf(rt, xs);
        const DW = new Buf(rt, ws), DB = new Buf(rt, g.cOut);
        const relu = i % 2 === 1;
        await rt.enqueue(() => K.conv2dForward(rt, g, { x: X.ptr, w: W.ptr, bias: B.ptr, y: Y.ptr }));
        await rt.enqueue(() => K.conv2dForward(rt, g, { x: X.ptr, w: W.ptr, bias: 0, y: Yr.ptr, relu }));
        await rt.enqueue(() => K.conv2dBackwardInput(rt, g, { dy: DY.ptr, w: W.ptr, dx: DX.ptr }));
        await rt.enqueue(() =>
          K.conv2dBackwardWeight(rt, g, { dy: DY.ptr, x: X.ptr, dw: DW.ptr, dbias: DB.ptr })
        );
        const tol = { rtol: 1e-4, atol: 3e-5 * Math.sqrt(9 * g.cIn + 1) };
        assertClose(Y.read(), convForward(g, x, w, bias), { ...tol, label: `forward ${label}` });
        const wantRelu = convForward(g, x, w).map((v) => relu ? Math.max(v, 0) : v);
        assertClose(Yr.read(), wantRelu, { ...tol, label: `forward relu=${relu} ${label}` });
        const want = convBackward(g, x, w, dy);
        const dxTol = { rtol: 1e-4, atol: 3e-5 * Math.sqrt(9 * g.cOut + 1) };
        assertClose(DX.read(), want.dx, { ...dxTol, label: `dx ${label}` });
        const n = g.n * g.outH * g.outW;
        assertClose(DW.read(), want.dw, { rtol: 1e-4, atol: 3e-5 * Math.sqrt(n), label: `dw ${label}` });
        assertClose(DB.read(), want.db, { rtol: 1e-4, atol: 3e-5 * Math.sqrt(n), label: `dbias ${label}` });
        for (const b of [X, W, B, Y, Yr, DY, DX, DW, DB]) b.free(label);
      }
    } finally {
      K.setDirectChunkBytes(oldChunk);
      K.setConvAlgorithm(old);
    }
  },
);

Deno.test("the automatic choice uses the direct kernels only for 3x3 stride-1 convolutions of at most 4 input channels", () => {
  const base = same3x3(128, 16, 32, 32, 16);
  const stem = geom({ ...base, cIn: 3 });
  assert.equal(K.useDirect(stem), true, "3 -> 16");
  assert.equal(K.useDirectWgrad(stem), true, "3 -> 16 weight gradient");
  assert.equal(K.useDirect(geom({ ...base, cIn: 3, cOut: 64, h: 224, w: 224 })), true, "3 -> 64 at 224");
  assert.equal(K.useDirect(base), false, "16 -> 16 runs as Winograd");
  assert.equal(K.useWinograd(base), true);
  assert.equal(K.useDirect(geom({ ...stem, strideH: 2, strideW: 2 })), false, "stride 2");
  assert.equal(K.useDirect(geom({ ...stem, cIn: 4, cOut: 4, groups: 2 })), false, "groups");
  assert.equal(K.useDirect(geom({ ...stem, dilationH: 2, dilationW: 2 })), false, "dilation");
  assert.equal(K.useDirect(geom({ ...stem, kh: 5, kw: 5 })), false, "5x5");
  assert.equal(K.useDirectWgrad(geom({ ...stem, w: 30 })), false, "weight gradient needs outW % 4 == 0");
  const old = K.setConvAlgorithm("gemm");
  try {
    assert.equal(K.useDirect(stem), false, "forced GEMM");
  } finally {
    K.setConvAlgorithm(old);
  }
});

Deno.test("close backends (direct)", closeBackends);
