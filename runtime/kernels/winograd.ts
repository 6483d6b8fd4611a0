/**
 * Winograd convolution launchers: 3x3, stride 1, dilation 1, one group. The forward runs as F(2x2, 3x3)
 * (16 GEMMs, 4x4 input tiles) or, for inference where it measured faster, F(4x4, 3x3) (36 GEMMs, 6x6
 * input tiles, `winograd43_*`): the weights and input tiles are transformed (`winograd_weight`,
 * `winograd_input`), multiplied as GEMMs of [cOut, cIn] x [cIn, tiles] in one `sgemm_batched` call, and
 * transformed back into NCHW with bias and ReLU (`winograd_output`): 4 (F(2,3)) or 2.25 (F(4,3))
 * multiply-adds per output instead of 9. The weight gradient runs the F(2x2, 3x3) adjoint: output-gradient
 * tiles (`winograd_dy`) times input tiles as 16 GEMMs of [cOut, tiles] x [tiles, cIn], mapped back to 3x3
 * by `winograd_dweight`.
 * @module
 */
import type { Runtime } from "../runtime.ts";
import type { Conv2dGeometry, ConvForwardBuffers } from "./conv2d.ts";
import { GEMM_SCRATCH_BYTES, gemmTiling } from "./gemm.ts";

/**
 * Which algorithm 3x3 stride-1 convolutions use: "auto" picks by shape; "winograd" forces F(2x2, 3x3)
 * and "winograd43" F(4x4, 3x3) for every eligible convolution (forward and input gradient; the weight
 * gradient then runs as F(2x2, 3x3)); "direct" is the direct kernel of conv_direct.ts.
 */
export type ConvAlgorithm = "auto" | "gemm" | "winograd" | "winograd43" | "direct";
let algorithm: ConvAlgorithm = "auto";

/** A Winograd variant: F(2x2, 3x3) ("f23") or F(4x4, 3x3) ("f43"). */
export type WinogradVariant = "f23" | "f43";

/** Per variant: output tile side, input tile side, transformed planes, kernel names. */
const VARIANT = {
  f23: {
    m: 2,
    a: 4,
    planes: 16,
    weight: "winograd_weight",
    input: "winograd_input",
    output: "winograd_output",
  },
  f43: {
    m: 4,
    a: 6,
    planes: 36,
    weight: "winograd43_weight",
    input: "winograd43_input",
    output: "winograd43_output",
  },
} as const;

/** The planes of a variant's transformed weights: [planes, cOut, cIn] (16 for F(2,3), 36 for F(4,3)). */
export function winogradPlanes(variant: WinogradVariant): number {
  return VARIANT[variant].planes;
}

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

/** True if the convolution can run as Winograd (either variant). */
export function winogradApplies(g: Conv2dGeometry): boolean {
  return g.kh === 3 && g.kw === 3 && g.strideH === 1 && g.strideW === 1 && g.dilationH === 1 &&
    g.dilationW === 1 && g.groups === 1;
}

/**
 * True if, under "auto", F(4x4, 3x3) beats F(2x2, 3x3) on an (eligible) inference forward: it has at
 * least 32 4x4 tiles, so its 36 GEMMs (n = tiles) stay efficient. Measured interleaved, 1 and 2 threads
 * (tools/dev/winograd_shapes.ts): F(2,3) / F(4,3) time 1.2-1.7 on ResNet 64@56 and 128@28 (batch 1),
 * 256@14 and 512@7 at batch 8, CIFAR 16@32, 32@16, 64@8 at batch 64 and 128; but 0.6-0.7 with 4 tiles
 * (512@7, 64@8 at batch 1) and only 1.1-1.2 with 16 (256@14 at batch 1; 32@16 at batch 1, also 16
 * tiles, gained 1.4x but takes 0.1 ms).
 */
function f43Wins(g: Conv2dGeometry): boolean {
  return g.n * Math.ceil(g.outH / 4) * Math.ceil(g.outW / 4) >= 32;
}

/**
 * The Winograd variant a convolution's forward runs as, or null for implicit GEMM. Under "auto", Winograd
 * needs enough channels and tiles that the fewer multiply-adds outweigh the transforms (fewer tiles when
 * the weights are `pretransformed`, as in a frozen model), and F(4x4, 3x3) is used only for `inference`
 * (no gradient recorded: its larger rounding error stays out of training) on the shapes where it measured
 * faster; the input gradient (a forward of dy) always uses F(2x2, 3x3).
 */
export function winogradVariant(
  g: Conv2dGeometry,
  inference = false,
  pretransformed = false,
): WinogradVariant | null {
  if (algorithm === "gemm" || !winogradApplies(g)) return null;
  if (algorithm === "winograd") return "f23";
  if (algorithm === "winograd43") return "f43";
  if (!enoughWork(g, pretransformed ? 16 : 32)) return null;
  return inference && f43Wins(g) ? "f43" : "f23";
}

/**
 * True if the convolution has at least 16 input and output channels and `minTiles` 2x2 output tiles.
 * With pretransformed weights 16 tiles suffice: F(2,3) measured 1.2-1.5x faster than implicit GEMM with 16
 * (batch 1, 7x7 and 8x8 maps, 64-512 channels; tools/dev/winograd_shapes.ts, 1 and 2 threads), slower with
 * 9 (6x6); transforming the weights on every call (`--raw`) makes it slower there (512@7: the transform of
 * the 512x512 weights takes half the GEMMs' time), so 32 tiles then, as before.
 */
function enoughWork(g: Conv2dGeometry, minTiles: number): boolean {
  const tiles = g.n * Math.ceil(g.outH / 2) * Math.ceil(g.outW / 2);
  return g.cIn >= 16 && g.cOut >= 16 && tiles >= minTiles;
}

/** True if the convolution should run as Winograd (either variant; see {@linkcode winogradVariant}). */
export function useWinograd(g: Conv2dGeometry): boolean {
  return winogradVariant(g) !== null;
}

/** Scratch bytes per thread of a variant's input transform: one zero-padded input plane (and F(4,3)'s row tiles). */
export function winogradInputScratchBytes(variant: WinogradVariant, tilesH: number, tilesW: number): number {
  if (variant === "f43") return ((4 * tilesH + 2) * (4 * tilesW + 16) + 144) * 4;
  return (2 * tilesH + 2) * (2 * tilesW + 10) * 4;
}

/**
 * Floats between consecutive transform planes holding n floats each, and between the rows [T] of a plane
 * (n = T): n rounded up to whole 64-byte cache lines, and to an odd number of them, so the 16 (or 36)
 * planes a transform writes (or reads) together, and the rows a GEMM tile reads or writes together, fall in
 * different cache sets instead of evicting each other (with c T or T a multiple of 256 they would all map to
 * the same set: F(4,3) forwards measured 1.65-1.7x slower so on the CIFAR shapes at batch 64, 16x4096x16
 * GEMMs 1.5x on one thread).
 */
export function planeStride(n: number): number {
  const lines = Math.ceil(n / 16);
  return 16 * (lines % 2 === 0 ? lines + 1 : lines);
}

/** Scratch bytes per thread of a variant's output transform (`winograd43_output`'s row tiles; F(2,3): none). */
export function winogradOutputScratchBytes(variant: WinogradVariant): number {
  return variant === "f43" ? 448 : 0;
}

/**
 * u [planes, k, c] = the Winograd transform of the 3x3 weights w [k, c, 3, 3] for the variant (default
 * F(2x2, 3x3); planes: {@linkcode winogradPlanes}).
 */
export function winogradWeights(
  rt: Runtime,
  b: { w: number; u: number; k: number; c: number; variant?: WinogradVariant },
): Promise<void> {
  const v = VARIANT[b.variant ?? "f23"];
  return rt.exec(v.weight, [b.w, b.u, b.k, b.c], {
    units: Math.ceil(b.k * b.c / 4),
    cost: (v.planes * 3) * b.k * b.c,
  });
}

/**
 * y = conv(x, w) (+ bias) (ReLU if `relu`) by Winograd F(2x2, 3x3) or F(4x4, 3x3) (`variant`, default
 * F(2x2, 3x3)); bias may be 0 (none). `u`, when given, holds the weights transformed for `uVariant`
 * (default "f23"; see {@linkcode winogradWeights}), used instead of transforming them again if it is the
 * variant that runs.
 */
export async function conv2dWinograd(
  rt: Runtime,
  g: Conv2dGeometry,
  b: ConvForwardBuffers,
  variant: WinogradVariant = "f23",
): Promise<void> {
  const { cIn: c, cOut: k, h, w, outH, outW } = g;
  const V = VARIANT[variant], P = V.planes;
  const tilesH = Math.ceil(outH / V.m), tilesW = Math.ceil(outW / V.m), perImage = tilesH * tilesW;
  // One thread: chunks of budget / 8 keep V and M in cache between the transforms and the GEMMs (CIFAR
  // batch 128 shapes 1.03-1.09x); more threads: the whole budget (fewer dispatches; 0.5-1 MB chunks were
  // 1.2-1.5x slower on 2 threads).
  const share = rt.threads > 1 ? budget : budget / 8;
  const chunk = Math.max(1, Math.min(g.n, Math.floor(share / (P * (c + k) * perImage * 4))));
  const given = b.u && (b.uVariant ?? "f23") === variant ? b.u : 0;
  const u = given ? 0 : rt.heap.alloc(P * k * c * 4);
  const T0 = chunk * perImage;
  const v = rt.heap.alloc(P * planeStride(c * planeStride(T0)) * 4);
  const m = rt.heap.alloc((P * planeStride(k * planeStride(T0)) + 4) * 4); // +4: the output transform reads 4 tiles at once
  try {
    if (u) await winogradWeights(rt, { w: b.w, u, k, c, variant });
    const uw = given || u;
    for (let i0 = 0; i0 < g.n; i0 += chunk) {
      const nb = Math.min(chunk, g.n - i0), T = nb * perImage;
      const ts = planeStride(T), sv = planeStride(c * ts), sm = planeStride(k * ts);
      await rt.exec(
        V.input,
        [
          b.x + i0 * c * h * w * 4,
          v,
          c,
          c * h * w,
          h,
          w,
          g.padTop,
          g.padLeft,
          tilesH,
          tilesW,
          nb,
          sv,
          ts,
        ],
        { units: nb * c, cost: P * c * T, scratchBytes: winogradInputScratchBytes(variant, tilesH, tilesW) },
      );
      // M_xi [k, T] = U_xi [k, c] x V_xi [c, T] for the P planes xi.
      const { nt, units } = gemmTiling(k, T, rt.threads);
      await rt.exec(
        "sgemm_batched",
        [uw, v, m, k, T, c, c, ts, ts, 0, nt, k * c, sv, sm],
        { units: P * units, cost: 2 * P * k * T * c, scratchBytes: GEMM_SCRATCH_BYTES },
      );
      await rt.exec(
        V.output,
        [
          m,
          b.y + i0 * k * outH * outW * 4,
          b.bias,
          b.relu ? 1 : 0,
          k,
          outH,
          outW,
          tilesH,
          tilesW,
          nb,
          sm,
          ts,
        ],
        { units: nb * k, cost: P * k * T, scratchBytes: winogradOutputScratchBytes(variant) },
      );
    }
  } finally {
    rt.heap.free(m);
    rt.heap.free(v);
    if (u) rt.heap.free(u);
  }
}

/**
 * True if the weight gradient of the convolution should run as Winograd (always F(2x2, 3x3)): it applies,
 * and (under "auto") it has at least 16 channels in and out and 32 tiles.
 */
export function useWinogradWgrad(g: Conv2dGeometry): boolean {
  if (algorithm === "gemm" || !winogradApplies(g)) return false;
  return algorithm !== "auto" || enoughWork(g, 32);
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
  const v = rt.heap.alloc(16 * planeStride(c * planeStride(T0)) * 4);
  const e = rt.heap.alloc(16 * planeStride(k * planeStride(T0)) * 4);
  const du = rt.heap.alloc(16 * k * c * 4);
  try {
    for (let i0 = 0; i0 < g.n; i0 += chunk) {
      const nb = Math.min(chunk, g.n - i0), T = nb * perImage;
      const ts = planeStride(T), sv = planeStride(c * ts), se = planeStride(k * ts);
      await rt.exec(
        "winograd_input",
        [b.x + i0 * c * h * w * 4, v, c, c * h * w, h, w, g.padTop, g.padLeft, tilesH, tilesW, nb, sv, ts],
        { units: nb * c, cost: 16 * c * T, scratchBytes: winogradInputScratchBytes("f23", tilesH, tilesW) },
      );
      await rt.exec(
        "winograd_dy",
        [b.dy + i0 * k * outH * outW * 4, e, k, outH, outW, tilesH, tilesW, nb, se, ts],
        { units: nb * k, cost: 16 * k * T },
      );
      // dU_xi [k, c] (+)= E_xi [k, T] x V_xi^T [T, c] for the 16 xi (flags: 2 = transB, 4 = accumulate).
      const { nt, units } = gemmTiling(k, c, rt.threads);
      await rt.exec(
        "sgemm_batched",
        [e, v, du, k, c, T, ts, ts, c, i0 > 0 ? 6 : 2, nt, se, sv, k * c],
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
