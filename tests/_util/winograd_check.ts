/**
 * One check shared by the F(2x2, 3x3) and F(4x4, 3x3) transform-kernel tests: the weight, input and
 * output transforms of a variant against their references on a geometry, with given plane and row
 * strides (the gaps between planes and rows must stay untouched: compared as zeros).
 * @module
 */
import { REF_KERNELS, type Runtime } from "../../runtime/mod.ts";
import type { RefKernel } from "../../runtime/mod.ts";
import { assertClose } from "./assert_close.ts";
import { Buf } from "./buffers.ts";
import type { ConvGeom } from "./conv_naive.ts";
import { uniform } from "./rng.ts";

/** A Winograd variant's kernels as the tests drive them. */
export interface TransformVariant {
  /** Kernel name prefix: "winograd" or "winograd43". */
  prefix: string;
  /** Output tile side (2 or 4) and transformed planes (16 or 36). */
  m: number;
  planes: number;
  inputScratch(tilesH: number, tilesW: number): number;
  outputScratch: number;
  /** Tolerance of the input and output transforms (the weight transform: 1e-6). */
  tol: number;
}

/** Strides of a case: rows of a plane ts (>= T) floats apart, planes of V and M sv (>= c ts), sm (>= k ts). */
export type Strides = (T: number, c: number, k: number) => { ts: number; sv: number; sm: number };

/** The three transforms of `v` on `g` against their references (bias with and without ReLU, then ReLU alone). */
export async function checkTransforms(
  rt: Runtime,
  r: () => number,
  g: ConvGeom,
  v: TransformVariant,
  strides: Strides,
): Promise<void> {
  const label = JSON.stringify(g);
  const ref = (name: string) => REF_KERNELS[`${v.prefix}_${name}`] as RefKernel;
  const { cIn: c, cOut: k } = g, P = v.planes;
  const tilesH = Math.ceil(g.outH / v.m), tilesW = Math.ceil(g.outW / v.m), T = g.n * tilesH * tilesW;
  const { ts, sv, sm } = strides(T, c, k);
  // Weights
  const W = new Buf(rt, uniform(r, k * c * 9)), U = new Buf(rt, P * k * c), Ur = new Buf(rt, P * k * c);
  const groups = Math.ceil(k * c / 4);
  await rt.run(`${v.prefix}_weight`, [W.ptr, U.ptr, k, c], { units: groups });
  ref("weight")(rt.heap, W.ptr, Ur.ptr, k, c, 0, groups);
  assertClose(U.read(), Ur.read(), { rtol: 1e-6, atol: 1e-6, label: `weight ${label}` });
  // Input tiles; the gaps between planes and rows are never written: they stay 0 in both.
  const X = new Buf(rt, uniform(r, g.n * c * g.h * g.w));
  const V = new Buf(rt, new Float32Array(P * sv)), Vr = new Buf(rt, new Float32Array(P * sv));
  const inArgs = [X.ptr, V.ptr, c, c * g.h * g.w, g.h, g.w, g.padTop, g.padLeft, tilesH, tilesW, g.n, sv, ts];
  await rt.run(`${v.prefix}_input`, inArgs, { units: g.n * c, scratchBytes: v.inputScratch(tilesH, tilesW) });
  ref("input")(rt.heap, X.ptr, Vr.ptr, ...inArgs.slice(2), 0, g.n * c);
  const tol = { rtol: v.tol, atol: v.tol };
  assertClose(V.read(), Vr.read(), { ...tol, label: `input ${label}` });
  // Output tiles (4 readable floats past M: the kernels load four tiles at once)
  const M = new Buf(rt, uniform(r, P * sm + 4)), bias = new Buf(rt, uniform(r, k));
  const ys = g.n * k * g.outH * g.outW;
  for (const [relu, b] of [[0, bias.ptr], [1, bias.ptr], [1, 0]]) {
    const Y = new Buf(rt, ys), Yr = new Buf(rt, ys);
    const outArgs = [k, g.outH, g.outW, tilesH, tilesW, g.n, sm, ts];
    await rt.run(`${v.prefix}_output`, [M.ptr, Y.ptr, b, relu, ...outArgs], {
      units: g.n * k,
      scratchBytes: v.outputScratch,
    });
    ref("output")(rt.heap, M.ptr, Yr.ptr, b, relu, ...outArgs, 0, g.n * k);
    assertClose(Y.read(), Yr.read(), { ...tol, label: `output relu=${relu} bias=${b !== 0} ${label}` });
    Y.free(label);
    Yr.free(label);
  }
  for (const buf of [W, U, Ur, X, V, Vr, M, bias]) buf.free(label);
}
