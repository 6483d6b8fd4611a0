/**
 * Winograd F(2x2, 3x3) convolution launcher: 3x3, stride 1, dilation 1, one group. The weights and
 * input tiles are transformed (`winograd_weight`, `winograd_input`), multiplied as 16 GEMMs of
 * [cOut, cIn] x [cIn, tiles] in one `sgemm_batched` call, and transformed back into NCHW with bias and
 * ReLU (`winograd_output`): 4 multiply-adds per output instead of 9. The weight gradient runs the
 * adjoint: output-gradient tiles (`winograd_dy`) times input tiles as 16 GEMMs of [cOut, tiles] x
 * [tiles, cIn], mapped back to 3x3 by `winograd_dweight`.
 * @module
 */
import type { Runtime } from "../runtime.ts";
import type { Conv2dGeometry } from "./conv2d.ts";
import { GEMM_SCRATCH_BYTES, gemmTiling } from "./gemm.ts";

/**
 * Which algorithm 3x3 stride-1 convolutions use: "auto" picks by shape; "direct" is the direct kernel of
 * conv_direct.ts.
 */
export type ConvAlgorithm = "auto" | "gemm" | "winograd" | "direct";
let algorithm: ConvAlgorithm = "auto";

/** @internal Forces the algorithm of eligible convolutions (tests and benchmarks); returns the old one. */
export function setConvAlgorithm(a: ConvAlgorithm): ConvAlgorithm {
  const old = algorithm;
  algorithm = a;
  return old;
}

/** @internal The algorithm set by {@linkcode setConvAlgorithm}. */
export function convAlgorithm(): ConvAlgorithm {
  return algorithm;
}

/** Bytes of the V and M (or E) buffers a chunk may use; images are processed in chunks that fit. */
let budget = 8 << 20;

/** @internal Sets the chunk budget in bytes (tests use a tiny one to exercise chunking); returns the old one. */
export function setWinogradChunkBytes(bytes: number): number {
  const old = budget;
  budget = bytes;
  return old;
}

/** True if the convolution can run as Winograd F(2x2, 3x3). */
export function winogradApplies(g: Conv2dGeometry): boolean {
  return g.kh === 3 && g.kw === 3 && g.strideH === 1 && g.strideW === 1 && g.dilationH === 1 &&
    g.dilationW === 1 && g.groups === 1;
}

/**
 * True if the convolution should run as Winograd: it applies, and (under "auto") it has enough channels
 * and tiles that the 2.25x fewer multiply-adds outweigh the transforms.
 */
export function useWinograd(g: Conv2dGeometry): boolean {
  if (algorithm === "gemm" || !winogradApplies(g)) return false;
  if (algorithm === "winograd") return true;
  const tiles = g.n * Math.ceil(g.outH / 2) * Math.ceil(g.outW / 2);
  return g.cIn >= 16 && g.cOut >= 16 && tiles >= 32;
}

/**
 * Floats between consecutive transform planes holding n floats each: n rounded up to whole 64-byte cache
 * lines, and to an odd number of them, so the 16 planes a transform writes (or reads) together fall in
 * different cache sets instead of evicting each other (with n = c T a multiple of 256 they would all map
 * to the same set).
 */
export function planeStride(n: number): number {
  const lines = Math.ceil(n / 16);
  return 16 * (lines % 2 === 0 ? lines + 1 : lines);
}

/** Scratch bytes per thread of `winograd_input`: one zero-padded input plane. */
function inputScratchBytes(tilesH: number, tilesW: number): number {
  return (2 * tilesH + 2) * (2 * tilesW + 10) * 4;
}

/** u [16, k, c] = the Winograd transform of the 3x3 weights w [k, c, 3, 3]. */
export function winogradWeights(
  rt: Runtime,
  b: { w: number; u: number; k: number; c: number },
): Promise<void> {
  return rt.exec("winograd_weight", [b.w, b.u, b.k, b.c], {
    units: Math.ceil(b.k * b.c / 4),
    cost: 40 * b.k * b.c,
  });
}

/**
 * y = conv(x, w) (+ bias) (ReLU if `relu`) by Winograd F(2x2, 3x3); bias may be 0 (none). `u`, when
 * given, holds the transformed weights (see {@linkcode winogradWeights}), which are then not recomputed.
 */
export async function conv2dWinograd(
  rt: Runtime,
  g: Conv2dGeometry,
  b: { x: number; w: number; bias: number; y: number; relu?: boolean; u?: number },
): Promise<void> {
  const { cIn: c, cOut: k, h, w, outH, outW } = g;
  const tilesH = Math.ceil(outH / 2), tilesW = Math.ceil(outW / 2), perImage = tilesH * tilesW;
  const chunk = Math.max(1, Math.min(g.n, Math.floor(budget / (16 * (c + k) * perImage * 4))));
  const u = b.u ? 0 : rt.heap.alloc(16 * k * c * 4);
  const T0 = chunk * perImage;
  const v = rt.heap.alloc(16 * planeStride(c * T0) * 4);
  const m = rt.heap.alloc((16 * planeStride(k * T0) + 4) * 4); // +4: the output transform reads 4 tiles at once
  try {
    if (u) await winogradWeights(rt, { w: b.w, u, k, c });
    const uw = b.u || u;
    for (let i0 = 0; i0 < g.n; i0 += chunk) {
      const nb = Math.min(chunk, g.n - i0), T = nb * perImage;
      const sv = planeStride(c * T), sm = planeStride(k * T);
      await rt.exec(
        "winograd_input",
        [b.x + i0 * c * h * w * 4, v, c, c * h * w, h, w, g.padTop, g.padLeft, tilesH, tilesW, nb, sv],
        { units: nb * c, cost: 16 * c * T, scratchBytes: inputScratchBytes(tilesH, tilesW) },
      );
      // M_xi [k, T] = U_xi [k, c] x V_xi [c, T] for the 16 xi.
      const { nt, units } = gemmTiling(k, T, rt.threads);
      await rt.exec(
        "sgemm_batched",
        [uw, v, m, k, T, c, c, T, T, 0, nt, k * c, sv, sm],
        { units: 16 * units, cost: 32 * k * T * c, scratchBytes: GEMM_SCRATCH_BYTES },
      );
      await rt.exec(
        "winograd_output",
        [m, b.y + i0 * k * outH * outW * 4, b.bias, b.relu ? 1 : 0, k, outH, outW, tilesH, tilesW, nb, sm],
        { units: nb * k, cost: 16 * k * T },
      );
    }
  } finally {
    rt.heap.free(m);
    rt.heap.free(v);
    if (u) rt.heap.free(u);
  }
}

/**
 * True if the weight gradient of the convolution should run as Winograd: it applies, and (under "auto")
 * it has enough channels and tiles.
 */
export function useWinogradWgrad(g: Conv2dGeometry): boolean {
  return useWinograd(g);
}

/**
 * dw = the weight gradient of the convolution (overwritten) by Winograd F(2x2, 3x3):
 * dU_xi [k, c] = E_xi [k, T] x V_xi^T [T, c] summed over image chunks, where E = A dY A^T
 * (`winograd_dy`) and V = B^T d B (`winograd_input`), then dw = G^T dU G (`winograd_dweight`).
 */
export async function conv2dWinogradWeightGrad(
  rt: Runtime,
  g: Conv2dGeometry,
  b: { dy: number; x: number; dw: number },
): Promise<void> {
  const { cIn: c, cOut: k, h, w, outH, outW } = g;
  const tilesH = Math.ceil(outH / 2), tilesW = Math.ceil(outW / 2), perImage = tilesH * tilesW;
  // The GEMMs read V and E right after the transforms wrote them: a small chunk keeps them in cache
  // (measured on the ResNet-20 CIFAR shapes, 1 thread: 1.4-1.9x over conv2d_gemm_wgrad with a
  // budget / 8 chunk, 1.3-1.4x with the forward's).
  // With more threads, fewer and larger chunks: each launch costs a dispatch and a join, and on 2 threads
  // a budget / 2 chunk measured 1.3x (16 and 32 channels, CIFAR batch 128) over budget / 8.
  const share = rt.threads > 1 ? budget / 2 : budget / 8;
  const chunk = Math.max(1, Math.min(g.n, Math.floor(share / (16 * (c + k) * perImage * 4))));
  const T0 = chunk * perImage;
  const v = rt.heap.alloc(16 * planeStride(c * T0) * 4);
  const e = rt.heap.alloc(16 * planeStride(k * T0) * 4);
  const du = rt.heap.alloc(16 * k * c * 4);
  try {
    for (let i0 = 0; i0 < g.n; i0 += chunk) {
      const nb = Math.min(chunk, g.n - i0), T = nb * perImage;
      const sv = planeStride(c * T), se = planeStride(k * T);
      await rt.exec(
        "winograd_input",
        [b.x + i0 * c * h * w * 4, v, c, c * h * w, h, w, g.padTop, g.padLeft, tilesH, tilesW, nb, sv],
        { units: nb * c, cost: 16 * c * T, scratchBytes: inputScratchBytes(tilesH, tilesW) },
      );
      await rt.exec(
        "winograd_dy",
        [b.dy + i0 * k * outH * outW * 4, e, k, outH, outW, tilesH, tilesW, nb, se],
        { units: nb * k, cost: 16 * k * T },
      );
      // dU_xi [k, c] (+)= E_xi [k, T] x V_xi^T [T, c] for the 16 xi (flags: 2 = transB, 4 = accumulate).
      const { nt, units } = gemmTiling(k, c, rt.threads);
      await rt.exec(
        "sgemm_batched",
        [e, v, du, k, c, T, T, T, c, i0 > 0 ? 6 : 2, nt, se, sv, k * c],
        { units: 16 * units, cost: 32 * k * T * c, scratchBytes: GEMM_SCRATCH_BYTES },
      );
    }
    await rt.exec("winograd_dweight", [du, b.dw, k, c, 0], { units: Math.ceil(k * c / 4), cost: 40 * k * c });
  } finally {
    rt.heap.free(du);
    rt.heap.free(e);
    rt.heap.free(v);
  }
}
