/**
 * One check shared by the convolution algorithm tests: a launcher's forward (with a bias; without one and
 * with a random ReLU) and input gradient against the naive float64 convolution, on random data.
 * @module
 */
import * as K from "../../runtime/kernels/mod.ts";
import type { Runtime } from "../../runtime/mod.ts";
import { assertClose } from "./assert_close.ts";
import { Buf } from "./buffers.ts";
import { convBackward, convForward, type ConvGeom } from "./conv_naive.ts";
import { int, uniform } from "./rng.ts";

/** Runs conv2dForward (twice) and conv2dBackwardInput on `g` and compares them to the naive convolution. */
export async function checkForwardAndDx(rt: Runtime, r: () => number, g: ConvGeom): Promise<void> {
  const label = JSON.stringify(g);
  const xs = g.n * g.cIn * g.h * g.w, ws = g.cOut * g.cIn * g.kh * g.kw, ys = g.n * g.cOut * g.outH * g.outW;
  const x = uniform(r, xs), w = uniform(r, ws), bias = uniform(r, g.cOut), dy = uniform(r, ys);
  const X = new Buf(rt, x), W = new Buf(rt, w), B = new Buf(rt, bias), Y = new Buf(rt, ys);
  const Yr = new Buf(rt, ys), DY = new Buf(rt, dy), DX = new Buf(rt, xs);
  const relu = int(r, 0, 1) === 1;
  await rt.enqueue(() => K.conv2dForward(rt, g, { x: X.ptr, w: W.ptr, bias: B.ptr, y: Y.ptr }));
  await rt.enqueue(() => K.conv2dForward(rt, g, { x: X.ptr, w: W.ptr, bias: 0, y: Yr.ptr, relu }));
  await rt.enqueue(() => K.conv2dBackwardInput(rt, g, { dy: DY.ptr, w: W.ptr, dx: DX.ptr }));
  const tol = { rtol: 1e-4, atol: 3e-5 * Math.sqrt(g.kh * g.kw * g.cIn + 1) };
  assertClose(Y.read(), convForward(g, x, w, bias), { ...tol, label: `forward ${label}` });
  const wantRelu = convForward(g, x, w).map((v) => relu ? Math.max(v, 0) : v);
  assertClose(Yr.read(), wantRelu, { ...tol, label: `forward relu=${relu} ${label}` });
  const dxTol = { rtol: 1e-4, atol: 3e-5 * Math.sqrt(g.kh * g.kw * g.cOut + 1) };
  assertClose(DX.read(), convBackward(g, x, w, dy).dx, { ...dxTol, label: `dx ${label}` });
  for (const b of [X, W, B, Y, Yr, DY, DX]) b.free(label);
}
