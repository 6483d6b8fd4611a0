/**
 * One check shared by the F(2x2, 3x3) and F(4x4, 3x3) transform-kernel tests: the weight, input and
 * output transforms of a variant against their references on a geometry, with given plane and row
 * strides (the gaps between planes and rows must stay untouched: compared as zeros).
 * @module
 */
import * as K from "../../runtime/kernels/mod.ts";
import { REF_KERNELS, type RefKernel, type Runtime } from "../../runtime/mod.ts";
import { assertClose } from "./assert_close.ts";
import { Buf } from "./buffers.ts";
import type { ConvGeom } from "./conv_naive.ts";
import { uniform } from "./rng.ts";

/** Strides of a case: rows of a plane ts (>= T) floats apart, planes of V and M sv (>= c ts), sm (>= k ts). */
export type Strides = (T: number, c: number, k: number) => { ts: number; sv: number; sm: number };

/**
 * The three transforms of a variant on `g` against their references (bias with and without ReLU, then
 * ReLU alone), within `tol` (the weight transform: 1e-6).
 */
export async function checkTransforms(
  rt: Runtime,
  r: () => number,
  g: ConvGeom,
  variant: K.WinogradVariant,
  tol: number,
  strides: Strides,
): Promise<void> {
  const label = JSON.stringify(g);
  const prefix = variant === "f23" ? "winograd" : "winograd43", m = variant === "f23" ? 2 : 4;
  const ref = (name: string) => REF_KERNELS[`${prefix}_${name}`] as RefKernel;
  const { cIn: c, cOut: k } = g, P = K.winogradPlanes(variant);
  const tilesH = Math.ceil(g.outH / m), tilesW = Math.ceil(g.outW / m), T = g.n * tilesH * tilesW;
  const { ts, sv, sm } = strides(T, c, k);
  // Weights
  const W = new Buf(rt, uniform(r, k * c * 9)), U = new Buf(rt, P * k * c), Ur = new Buf(rt, P * k * c);
  const groups = Math.ceil(k * c / 4);
  await rt.run(`${prefix}_weight`, [W.ptr, U.ptr, k, c], { units: groups });
  ref("weight")(rt.heap, W.ptr, Ur.ptr, k, c, 0, groups);
  assertClose(U.read(), Ur.read(), { rtol: 1e-6, atol: 1e-6, label: `weight ${label}` });
  // Input tiles; the gaps between planes and rows are never written: they stay 0 in both.
  const X = new Buf(rt, uniform(r, g.n * c * g.h * g.w));
  const V = new Buf(rt, new Float32Array(P * sv)), Vr = new Buf(rt, new Float32Array(P * sv));
  const inArgs = [X.ptr, V.ptr, c, c * g.h * g.w, g.h, g.w, g.padTop, g.padLeft, tilesH, tilesW, g.n, sv, ts];
  await rt.run(`${prefix}_input`, inArgs, {
    units: g.n * c,
    scratchBytes: K.winogradInputScratchBytes(variant, tilesH, tilesW),
  });
  ref("input")(rt.heap, X.ptr, Vr.ptr, ...inArgs.slice(2), 0, g.n * c);
  const close = { rtol: tol, atol: tol };
  assertClose(V.read(), Vr.read(), { ...close, label: `input ${label}` });
  // Output tiles (4 readable floats past M: the kernels load four tiles at once)
  const M = new Buf(rt, uniform(r, P * sm + 4)), bias = new Buf(rt, uniform(r, k));
  const ys = g.n * k * g.outH * g.outW;
  for (const [relu, b] of [[0, bias.ptr], [1, bias.ptr], [1, 0]]) {
    const Y = new Buf(rt, ys), Yr = new Buf(rt, ys);
    const outArgs = [k, g.outH, g.outW, tilesH, tilesW, g.n, sm, ts];
    await rt.run(`${prefix}_output`, [M.ptr, Y.ptr, b, relu, ...outArgs], {
      units: g.n * k,
      scratchBytes: K.winogradOutputScratchBytes(variant),
    });
    ref("output")(rt.heap, M.ptr, Yr.ptr, b, relu, ...outArgs, 0, g.n * k);
    assertClose(Y.read(), Yr.read(), { ...close, label: `output relu=${relu} bias=${b !== 0} ${label}` });
    Y.free(label);
    Yr.free(label);
  }
  for (const buf of [W, U, Ur, X, V, Vr, M, bias]) buf.free(label);
}
