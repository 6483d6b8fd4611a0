/**
 * Launchers of convolution: the forward pass and the weight gradient as implicit GEMMs over image
 * chunks (`conv2d_gemm`, `conv2d_gemm_wgrad` pack the im2col operand straight from the images), and
 * the input gradient as a convolution with flipped weights (stride 1) or GEMM + col2im.
 * @module
 */
import type { Runtime } from "../runtime.ts";
import { axpy, sumToChannels } from "./elementwise.ts";
import { conv2dDirect, conv2dDirectWeightGrad, useDirect, useDirectWgrad } from "./conv_direct.ts";
import { gemm, GEMM_SCRATCH_BYTES, gemmTiling } from "./gemm.ts";
import {
  conv2dWinogradFused,
  conv2dWinogradFusedWeightGrad,
  useWinogradFused,
  useWinogradFusedWgrad,
} from "./winograd_fused.ts";
import {
  conv2dWinograd,
  conv2dWinogradWeightGrad,
  useWinogradWgrad,
  type WinogradVariant,
  winogradVariant,
} from "./winograd.ts";

/** Geometry of a convolution (NCHW input, weight [cOut, cIn / groups, kh, kw]). */
export interface Conv2dGeometry {
  n: number;
  cIn: number;
  h: number;
  w: number;
  cOut: number;
  kh: number;
  kw: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
  dilationH: number;
  dilationW: number;
  groups: number;
  outH: number;
  outW: number;
}

function isPointwise(g: Conv2dGeometry): boolean {
  return g.kh === 1 && g.kw === 1 && g.strideH === 1 && g.strideW === 1 && g.padTop === 0 &&
    g.padLeft === 0 &&
    g.padBottom === 0 && g.padRight === 0;
}

function geoArgs(g: Conv2dGeometry): number[] {
  return [
    g.h,
    g.w,
    g.kh,
    g.kw,
    g.strideH,
    g.strideW,
    g.padTop,
    g.padLeft,
    g.dilationH,
    g.dilationW,
    g.outH,
    g.outW,
  ];
}

/** Bytes of column (or CNHW) buffer a chunk may use; images are processed in chunks that fit. */
let colBudget = 48 << 20;

/** @internal Sets the chunk budget in bytes (tests use a tiny one to exercise chunking). */
export function setConvChunkBytes(bytes: number): number {
  const old = colBudget;
  colBudget = bytes;
  return old;
}

interface Plan {
  cig: number;
  cog: number;
  K: number;
  HW: number;
  inHW: number;
  /** Images per chunk. */
  nb: number;
}

function plan(g: Conv2dGeometry): Plan {
  const cig = g.cIn / g.groups, cog = g.cOut / g.groups;
  const K = cig * g.kh * g.kw, HW = g.outH * g.outW;
  const perImage = 4 * Math.max(K, g.cOut) * HW;
  const nb = Math.max(1, Math.min(g.n, Math.floor(colBudget / perImage)));
  return { cig, cog, K, HW, inHW: g.h * g.w, nb };
}

/** Images per chunk when only the CNHW buffer [cOut, nb * HW] is needed (implicit GEMM paths). */
function cnhwChunk(g: Conv2dGeometry, p: Plan): number {
  return Math.max(1, Math.min(g.n, Math.floor(colBudget / (4 * g.cOut * p.HW))));
}

/** Scratch bytes per thread of `conv2d_gemm_wgrad`: sgemm's, then the position groups of a k block. */
const WGRAD_SCRATCH_BYTES = GEMM_SCRATCH_BYTES + 4096;

/**
 * T_g [cog, nb * HW] = W_g [cog, K] x im2col(images [i0, i0 + nb) of x, group gr), with the im2col
 * matrix never materialized (`conv2d_gemm`). t: the chunk's output rows, ldc = nb * HW.
 */
function convGemm(
  rt: Runtime,
  g: Conv2dGeometry,
  p: Plan,
  x: number,
  w: number,
  i0: number,
  nb: number,
  gr: number,
  t: number,
) {
  const src = x + ((i0 * g.cIn + gr * p.cig) * p.inHW) * 4;
  const a = w + gr * p.cog * p.K * 4;
  const cols = nb * p.HW;
  const { nt, units } = gemmTiling(p.cog, cols, rt.threads);
  return rt.exec(
    "conv2d_gemm",
    [a, src, t, p.cog, p.cig, g.cIn * p.inHW, nb, ...geoArgs(g), nt],
    { units, cost: 2 * p.cog * cols * p.K, scratchBytes: GEMM_SCRATCH_BYTES },
  );
}

/**
 * Buffers of a forward convolution: y = conv(x, w) (+ bias) (ReLU if `relu`); bias may be 0 (none).
 * `inference`: no gradient will be taken through this call (it may then run as Winograd F(4x4, 3x3)). `u`:
 * weights transformed for the Winograd variant `uVariant` (default "f23"), used if the convolution runs as
 * that variant (see winograd.ts).
 */
export interface ConvForwardBuffers {
  x: number;
  w: number;
  bias: number;
  y: number;
  relu?: boolean;
  u?: number;
  uVariant?: WinogradVariant;
  inference?: boolean;
}

/**
 * The Winograd variant the forward of `g` runs as, or null (direct kernel or implicit GEMM): the one choice
 * conv2dForward makes, also asked by ops that precompute transformed weights.
 */
export function forwardWinogradVariant(
  g: Conv2dGeometry,
  inference: boolean,
  pretransformed: boolean,
): WinogradVariant | null {
  return useDirect(g) ? null : winogradVariant(g, inference, pretransformed);
}

/** y = conv(x, w) (+ bias) (ReLU if `relu`), by the algorithm the geometry calls for. */
export async function conv2dForward(rt: Runtime, g: Conv2dGeometry, b: ConvForwardBuffers): Promise<void> {
  if (useDirect(g)) return conv2dDirect(rt, g, b);
  const variant = forwardWinogradVariant(g, b.inference ?? false, (b.u ?? 0) !== 0);
  if (variant === "f23" && useWinogradFused(g, rt.threads)) {
    return conv2dWinogradFused(rt, g, { ...b, u: (b.uVariant ?? "f23") === "f23" ? b.u : 0 });
  }
  if (variant) return conv2dWinograd(rt, g, b, variant);
  const p = plan(g);
  if (g.n === 1 && isPointwise(g)) {
    // One image, 1x1: the input is already the GEMM's B; write y directly.
    for (let gr = 0; gr < g.groups; gr++) {
      await gemm(rt, {
        m: p.cog,
        n: p.HW,
        k: p.K,
        a: b.w + gr * p.cog * p.K * 4,
        b: b.x + gr * p.cig * p.inHW * 4,
        c: b.y + gr * p.cog * p.HW * 4,
      });
    }
    if (b.bias || b.relu) {
      await rt.exec("bias_relu", [b.y, b.bias, g.cOut, p.HW, b.relu ? 1 : 0], {
        units: g.cOut,
        cost: g.cOut * p.HW,
      });
    }
    return;
  }
  // Only the CNHW output T of a chunk is buffered (no im2col copy).
  const chunk = cnhwChunk(g, p);
  const t = rt.heap.alloc(g.cOut * chunk * p.HW * 4);
  try {
    for (let i0 = 0; i0 < g.n; i0 += chunk) {
      const nb = Math.min(chunk, g.n - i0), cols = nb * p.HW;
      for (let gr = 0; gr < g.groups; gr++) {
        // T_g [cog, nb * HW] = W_g [cog, K] x im2col(x)_g [K, nb * HW]
        await convGemm(rt, g, p, b.x, b.w, i0, nb, gr, t + gr * p.cog * cols * 4);
      }
      await rt.exec(
        "from_cnhw",
        [t, b.y + i0 * g.cOut * p.HW * 4, b.bias, b.relu ? 1 : 0, g.cOut, p.HW, nb],
        {
          units: nb * g.cOut,
          cost: cols * g.cOut,
        },
      );
    }
  } finally {
    rt.heap.free(t);
  }
}

/**
 * dx = the input gradient of the convolution (overwritten). Stride-1 convolutions whose padding is at
 * most the dilated kernel extent run as a forward convolution of dy with flipped, transposed weights
 * (an implicit GEMM with k = cOut * kh * kw, instead of a GEMM with k = cOut and a col2im scatter).
 */
export async function conv2dBackwardInput(
  rt: Runtime,
  g: Conv2dGeometry,
  b: { dy: number; w: number; dx: number },
): Promise<void> {
  const p = plan(g);
  const eh = g.dilationH * (g.kh - 1), ew = g.dilationW * (g.kw - 1);
  if (
    g.strideH === 1 && g.strideW === 1 && !isPointwise(g) && g.padTop <= eh && g.padBottom <= eh &&
    g.padLeft <= ew && g.padRight <= ew
  ) {
    const wt = rt.heap.alloc(g.cOut * p.cig * g.kh * g.kw * 4);
    try {
      await rt.exec("flip_weights", [b.w, wt, p.cog, p.cig, g.kh, g.kw], {
        units: g.cOut * p.cig,
        cost: g.cOut * p.K,
      });
      const t: Conv2dGeometry = {
        ...g,
        cIn: g.cOut,
        cOut: g.cIn,
        h: g.outH,
        w: g.outW,
        outH: g.h,
        outW: g.w,
        padTop: eh - g.padTop,
        padBottom: eh - g.padBottom,
        padLeft: ew - g.padLeft,
        padRight: ew - g.padRight,
      };
      await conv2dForward(rt, t, { x: b.dy, w: wt, bias: 0, y: b.dx });
    } finally {
      rt.heap.free(wt);
    }
    return;
  }
  await rt.exec("fill", [b.dx, 0], { units: g.n * g.cIn * p.inHW });
  const col = rt.heap.alloc(p.K * p.nb * p.HW * 4);
  const t = rt.heap.alloc(g.cOut * p.nb * p.HW * 4);
  try {
    for (let i0 = 0; i0 < g.n; i0 += p.nb) {
      const nb = Math.min(p.nb, g.n - i0), cols = nb * p.HW;
      await rt.exec("to_cnhw", [b.dy + i0 * g.cOut * p.HW * 4, t, g.cOut, p.HW, nb], {
        units: nb * g.cOut,
        cost: cols * g.cOut,
      });
      for (let gr = 0; gr < g.groups; gr++) {
        // col [K, nb * HW] = W_g^T [K, cog] x dY_g [cog, nb * HW]
        await gemm(rt, {
          m: p.K,
          n: cols,
          k: p.cog,
          a: b.w + gr * p.cog * p.K * 4,
          transA: true,
          b: t + gr * p.cog * cols * 4,
          c: col,
        });
        const dst = b.dx + ((i0 * g.cIn + gr * p.cig) * p.inHW) * 4;
        await rt.exec("col2im", [col, dst, p.cig, g.cIn * p.inHW, cols, ...geoArgs(g)], {
          units: nb * p.cig,
          cost: p.K * cols,
        });
      }
    }
  } finally {
    rt.heap.free(col);
    rt.heap.free(t);
  }
}

/** dw (and dbias when non-zero) = the parameter gradients of the convolution (overwritten). */
export async function conv2dBackwardWeight(
  rt: Runtime,
  g: Conv2dGeometry,
  b: { dy: number; x: number; dw: number; dbias: number },
): Promise<void> {
  const p = plan(g);
  if (useDirectWgrad(g)) await conv2dDirectWeightGrad(rt, g, b);
  else if (useWinogradWgrad(g)) {
    if (useWinogradFusedWgrad(g)) await conv2dWinogradFusedWeightGrad(rt, g, b);
    else await conv2dWinogradWeightGrad(rt, g, b);
  } else await wgradGemm(rt, g, p, b);
  if (b.dbias) {
    await sumToChannels(rt, {
      x: b.dy,
      y: b.dbias,
      outer: g.n,
      channels: g.cOut,
      inner: p.HW,
      accumulate: false,
    });
  }
}

/** dw = the weight gradient as implicit GEMMs over image chunks (`conv2d_gemm_wgrad`). */
async function wgradGemm(
  rt: Runtime,
  g: Conv2dGeometry,
  p: Plan,
  b: { dy: number; x: number; dw: number },
): Promise<void> {
  const chunk = cnhwChunk(g, p);
  const t = rt.heap.alloc(g.cOut * chunk * p.HW * 4);
  try {
    for (let i0 = 0; i0 < g.n; i0 += chunk) {
      const nb = Math.min(chunk, g.n - i0), cols = nb * p.HW;
      await rt.exec("to_cnhw", [b.dy + i0 * g.cOut * p.HW * 4, t, g.cOut, p.HW, nb], {
        units: nb * g.cOut,
        cost: cols * g.cOut,
      });
      for (let gr = 0; gr < g.groups; gr++) {
        // dW_g [cog, K] (+)= dY_g [cog, nb * HW] x im2col(x)_g^T [nb * HW, K]
        const src = b.x + ((i0 * g.cIn + gr * p.cig) * p.inHW) * 4;
        const { nt, units } = gemmTiling(p.cog, p.K, rt.threads);
        const dw = b.dw + gr * p.cog * p.K * 4;
        // Fewer output tiles than threads (a 1x1 convolution with few channels): split the positions too.
        const kparts = units < rt.threads && cols >= 2048 ? Math.ceil(rt.threads / units) : 1;
        const partial = kparts > 1 ? rt.heap.alloc((kparts - 1) * p.cog * p.K * 4) : 0;
        try {
          await rt.exec(
            "conv2d_gemm_wgrad",
            [
              t + gr * p.cog * cols * 4,
              src,
              dw,
              p.cog,
              p.cig,
              g.cIn * p.inHW,
              nb,
              ...geoArgs(g),
              i0 > 0 ? 1 : 0,
              nt,
              kparts,
              partial,
            ],
            { units: kparts * units, cost: 2 * p.cog * p.K * cols, scratchBytes: WGRAD_SCRATCH_BYTES },
          );
          for (let q = 1; q < kparts; q++) {
            const x = partial + (q - 1) * p.cog * p.K * 4;
            await axpy(rt, { x, y: dw, len: p.cog * p.K, alpha: 1 });
          }
        } finally {
          if (partial) rt.heap.free(partial);
        }
      }
    }
  } finally {
    rt.heap.free(t);
  }
}
