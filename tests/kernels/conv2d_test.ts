import * as K from "../../runtime/kernels/mod.ts";
import { assertClose } from "../_util/assert_close.ts";
import { closeBackends, forEachBackend } from "../_util/backends.ts";
import { Buf } from "../_util/buffers.ts";
import { convBackward, convForward, type ConvGeom, geom } from "../_util/conv_naive.ts";
import { dot, gradcheck } from "../_util/gradcheck.ts";
import { int, rng, uniform } from "../_util/rng.ts";

function randomGeom(r: ReturnType<typeof rng>): ConvGeom {
  for (;;) {
    const groups = [1, 1, 2, 3][int(r, 0, 3)];
    const depthwise = int(r, 0, 5) === 0;
    const cig = depthwise ? 1 : int(r, 1, 4), cog = int(r, 1, 4);
    const kh = int(r, 1, 5), kw = int(r, 1, 5);
    const g = geom({
      n: int(r, 1, 3),
      cIn: depthwise ? 4 : cig * groups,
      h: int(r, 1, 11),
      w: int(r, 1, 11),
      cOut: depthwise ? 4 * cog : cog * groups,
      kh,
      kw,
      strideH: int(r, 1, 3),
      strideW: int(r, 1, 3),
      padTop: int(r, 0, 2),
      padBottom: int(r, 0, 2),
      padLeft: int(r, 0, 2),
      padRight: int(r, 0, 2),
      dilationH: int(r, 1, 3),
      dilationW: int(r, 1, 2),
      groups: depthwise ? 4 : groups,
    });
    if (g.outH >= 1 && g.outW >= 1) return g;
  }
}

const FIXED: ConvGeom[] = [
  geom({
    n: 2,
    cIn: 3,
    h: 9,
    w: 9,
    cOut: 4,
    kh: 1,
    kw: 1,
    strideH: 1,
    strideW: 1,
    padTop: 0,
    padBottom: 0,
    padLeft: 0,
    padRight: 0,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
  }),
  geom({
    n: 1,
    cIn: 3,
    h: 31,
    w: 29,
    cOut: 5,
    kh: 11,
    kw: 11,
    strideH: 4,
    strideW: 4,
    padTop: 2,
    padBottom: 2,
    padLeft: 2,
    padRight: 2,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
  }),
  geom({
    n: 1,
    cIn: 4,
    h: 9,
    w: 8,
    cOut: 6,
    kh: 1,
    kw: 7,
    strideH: 1,
    strideW: 1,
    padTop: 0,
    padBottom: 0,
    padLeft: 3,
    padRight: 3,
    dilationH: 1,
    dilationW: 1,
    groups: 2,
  }),
  geom({
    n: 1,
    cIn: 4,
    h: 9,
    w: 8,
    cOut: 4,
    kh: 7,
    kw: 1,
    strideH: 2,
    strideW: 1,
    padTop: 3,
    padBottom: 3,
    padLeft: 0,
    padRight: 0,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
  }),
  geom({
    n: 2,
    cIn: 64,
    h: 5,
    w: 5,
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
    groups: 32,
  }),
  geom({
    n: 1,
    cIn: 3,
    h: 20,
    w: 17,
    cOut: 100,
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
  }),
];

forEachBackend("conv2d forward and both backwards match the direct convolution", async (rt) => {
  const r = rng(11);
  const cases = [...FIXED, ...Array.from({ length: 24 }, () => randomGeom(r))];
  for (const g of cases) {
    const label = JSON.stringify(g);
    const xs = g.n * g.cIn * g.h * g.w, ws = g.cOut * (g.cIn / g.groups) * g.kh * g.kw;
    const ys = g.n * g.cOut * g.outH * g.outW;
    const x = uniform(r, xs), w = uniform(r, ws), bias = uniform(r, g.cOut), dy = uniform(r, ys);
    const X = new Buf(rt, x),
      W = new Buf(rt, w),
      B = new Buf(rt, bias),
      Y = new Buf(rt, ys),
      Yr = new Buf(rt, ys);
    const relu = int(r, 0, 1) === 1;
    await rt.enqueue(() => K.conv2dForward(rt, g, { x: X.ptr, w: W.ptr, bias: B.ptr, y: Y.ptr }));
    await rt.enqueue(() => K.conv2dForward(rt, g, { x: X.ptr, w: W.ptr, bias: 0, y: Yr.ptr, relu }));
    const want = convForward(g, x, w, bias);
    const K1 = (g.cIn / g.groups) * g.kh * g.kw;
    const tol = { rtol: 1e-4, atol: 2e-5 * Math.sqrt(K1 + 1), label: `forward ${label}` };
    assertClose(Y.read(), want, tol);
    const wantRelu = convForward(g, x, w).map((v) => relu ? Math.max(v, 0) : v);
    assertClose(Yr.read(), wantRelu, { ...tol, label: `forward relu=${relu} no bias ${label}` });
    const DY = new Buf(rt, dy), DX = new Buf(rt, uniform(r, xs)), DW = new Buf(rt, uniform(r, ws));
    const DB = new Buf(rt, uniform(r, g.cOut));
    await rt.enqueue(() => K.conv2dBackwardInput(rt, g, { dy: DY.ptr, w: W.ptr, dx: DX.ptr }));
    await rt.enqueue(() =>
      K.conv2dBackwardWeight(rt, g, { dy: DY.ptr, x: X.ptr, dw: DW.ptr, dbias: DB.ptr })
    );
    const ref = convBackward(g, x, w, dy);
    const big = Math.sqrt(g.n * g.outH * g.outW + 1);
    assertClose(DX.read(), ref.dx, {
      rtol: 1e-4,
      atol: 2e-5 * Math.sqrt(g.cOut * g.kh * g.kw + 1),
      label: `dx ${label}`,
    });
    assertClose(DW.read(), ref.dw, { rtol: 1e-4, atol: 2e-5 * big, label: `dw ${label}` });
    assertClose(DB.read(), ref.db, { rtol: 1e-4, atol: 2e-5 * big, label: `db ${label}` });
    for (const b of [X, W, B, Y, Yr, DY, DX, DW, DB]) b.free(label);
  }
});

forEachBackend("conv2d in chunks of one image equals the direct convolution", async (rt) => {
  const old = K.setConvChunkBytes(1);
  try {
    const r = rng(12);
    for (let t = 0; t < 6; t++) {
      const g = { ...randomGeom(r), n: 3 };
      const xs = g.n * g.cIn * g.h * g.w, ws = g.cOut * (g.cIn / g.groups) * g.kh * g.kw;
      const ys = g.n * g.cOut * g.outH * g.outW;
      const x = uniform(r, xs), w = uniform(r, ws), dy = uniform(r, ys);
      const X = new Buf(rt, x), W = new Buf(rt, w), Y = new Buf(rt, ys), DY = new Buf(rt, dy);
      const DX = new Buf(rt, xs), DW = new Buf(rt, ws);
      await rt.enqueue(async () => {
        await K.conv2dForward(rt, g, { x: X.ptr, w: W.ptr, bias: 0, y: Y.ptr });
        await K.conv2dBackwardInput(rt, g, { dy: DY.ptr, w: W.ptr, dx: DX.ptr });
        await K.conv2dBackwardWeight(rt, g, { dy: DY.ptr, x: X.ptr, dw: DW.ptr, dbias: 0 });
      });
      const ref = convBackward(g, x, w, dy);
      const label = `chunked ${JSON.stringify(g)}`;
      assertClose(Y.read(), convForward(g, x, w), { rtol: 1e-4, atol: 1e-4, label });
      assertClose(DX.read(), ref.dx, { rtol: 1e-4, atol: 1e-4, label });
      assertClose(DW.read(), ref.dw, { rtol: 1e-4, atol: 1e-4, label });
      for (const b of [X, W, Y, DY, DX, DW]) b.free(label);
    }
  } finally {
    K.setConvChunkBytes(old);
  }
});

Deno.test("direct convolution backward matches finite differences", () => {
  const r = rng(5);
  for (let t = 0; t < 4; t++) {
    const g = randomGeom(r);
    const x = uniform(r, g.n * g.cIn * g.h * g.w), w = uniform(r, g.cOut * (g.cIn / g.groups) * g.kh * g.kw);
    const dy = uniform(r, g.n * g.cOut * g.outH * g.outW);
    const { dx, dw } = convBackward(g, x, w, dy);
    gradcheck((xv) => dot(dy, Float32Array.from(convForward(g, xv, w))), x, Float32Array.from(dx), {
      label: "dx",
    });
    gradcheck((wv) => dot(dy, Float32Array.from(convForward(g, x, wv))), w, Float32Array.from(dw), {
      label: "dw",
    });
  }
});

Deno.test("close backends (conv2d)", closeBackends);
