/**
 * Launchers of GEMM and convolution (im2col + GEMM). Multi-kernel launchers call `rt.exec` in order and
 * free their temporaries; ops run them inside `rt.enqueue`.
 * @module
 */
import type { Runtime } from "../runtime.ts";
import { sumToChannels } from "./elementwise.ts";

const MT = 96, NT = 256, KC = 256;
/** Scratch bytes per thread of the `sgemm` kernel (packed A and B blocks plus one partial tile). */
export const GEMM_SCRATCH_BYTES: number = (MT * KC + NT * KC + 48) * 4;

/** Arguments of {@linkcode gemm}: pointers to row-major matrices and their leading dimensions. */
export interface GemmArgs {
  m: number;
  n: number;
  k: number;
  a: number;
  b: number;
  c: number;
  transA?: boolean;
  transB?: boolean;
  lda?: number;
  ldb?: number;
  ldc?: number;
  accumulate?: boolean;
}

/** C (+)= op(A) op(B) with op(A) [m, k], op(B) [k, n], C [m, n]. */
export function gemm(rt: Runtime, g: GemmArgs): Promise<void> {
  const { m, n, k } = g;
  if (m === 0 || n === 0) return Promise.resolve();
  const lda = g.lda ?? (g.transA ? m : k);
  const ldb = g.ldb ?? (g.transB ? k : n);
  const ldc = g.ldc ?? n;
  const flags = (g.transA ? 1 : 0) | (g.transB ? 2 : 0) | (g.accumulate ? 4 : 0);
  const units = Math.ceil(m / MT) * Math.ceil(n / NT);
  return rt.exec("sgemm", [g.a, g.b, g.c, m, n, k, lda, ldb, ldc, flags], {
    units,
    cost: 2 * m * n * Math.max(k, 1),
    scratchBytes: GEMM_SCRATCH_BYTES,
  });
}

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

function colArgs(g: Conv2dGeometry): number[] {
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

/** y = conv(x, w) (+ bias) (ReLU if `relu`); bias may be 0 (none). */
export async function conv2dForward(
  rt: Runtime,
  g: Conv2dGeometry,
  b: { x: number; w: number; bias: number; y: number; relu?: boolean },
): Promise<void> {
  const cig = g.cIn / g.groups, cog = g.cOut / g.groups;
  const K = cig * g.kh * g.kw, HW = g.outH * g.outW, inHW = g.h * g.w;
  const direct = isPointwise(g);
  const col = direct ? 0 : rt.heap.alloc(K * HW * 4);
  try {
    for (let i = 0; i < g.n; i++) {
      for (let gr = 0; gr < g.groups; gr++) {
        const xg = b.x + ((i * g.cIn + gr * cig) * inHW) * 4;
        if (!direct) await rt.exec("im2col", [xg, col, ...colArgs(g)], { units: K, cost: K * HW });
        await gemm(rt, {
          m: cog,
          n: HW,
          k: K,
          a: b.w + gr * cog * K * 4,
          b: direct ? xg : col,
          c: b.y + ((i * g.cOut + gr * cog) * HW) * 4,
        });
      }
    }
  } finally {
    if (col) rt.heap.free(col);
  }
  if (b.bias || b.relu) {
    await rt.exec("bias_relu", [b.y, b.bias, g.cOut, HW, b.relu ? 1 : 0], {
      units: g.n * g.cOut,
      cost: g.n * g.cOut * HW,
    });
  }
}

/** dx = the input gradient of the convolution (overwritten). */
export async function conv2dBackwardInput(
  rt: Runtime,
  g: Conv2dGeometry,
  b: { dy: number; w: number; dx: number },
): Promise<void> {
  const cig = g.cIn / g.groups, cog = g.cOut / g.groups;
  const K = cig * g.kh * g.kw, HW = g.outH * g.outW, inHW = g.h * g.w;
  const direct = isPointwise(g);
  if (!direct) await rt.exec("fill", [b.dx, 0], { units: g.n * g.cIn * inHW });
  const col = direct ? 0 : rt.heap.alloc(K * HW * 4);
  try {
    for (let i = 0; i < g.n; i++) {
      for (let gr = 0; gr < g.groups; gr++) {
        const dxg = b.dx + ((i * g.cIn + gr * cig) * inHW) * 4;
        // col [K, HW] = W_g^T [K, cog] x dY_g [cog, HW]
        await gemm(rt, {
          m: K,
          n: HW,
          k: cog,
          a: b.w + gr * cog * K * 4,
          transA: true,
          b: b.dy + ((i * g.cOut + gr * cog) * HW) * 4,
          c: direct ? dxg : col,
        });
        if (!direct) await rt.exec("col2im", [col, dxg, ...colArgs(g)], { units: cig, cost: K * HW });
      }
    }
  } finally {
    if (col) rt.heap.free(col);
  }
}

/** dw (and dbias when non-zero) = the parameter gradients of the convolution (overwritten). */
export async function conv2dBackwardWeight(
  rt: Runtime,
  g: Conv2dGeometry,
  b: { dy: number; x: number; dw: number; dbias: number },
): Promise<void> {
  const cig = g.cIn / g.groups, cog = g.cOut / g.groups;
  const K = cig * g.kh * g.kw, HW = g.outH * g.outW, inHW = g.h * g.w;
  const direct = isPointwise(g);
  const col = direct ? 0 : rt.heap.alloc(K * HW * 4);
  try {
    for (let i = 0; i < g.n; i++) {
      for (let gr = 0; gr < g.groups; gr++) {
        const xg = b.x + ((i * g.cIn + gr * cig) * inHW) * 4;
        if (!direct) await rt.exec("im2col", [xg, col, ...colArgs(g)], { units: K, cost: K * HW });
        // dW_g [cog, K] (+)= dY_g [cog, HW] x col^T [HW, K]
        await gemm(rt, {
          m: cog,
          n: K,
          k: HW,
          a: b.dy + ((i * g.cOut + gr * cog) * HW) * 4,
          b: direct ? xg : col,
          transB: true,
          c: b.dw + gr * cog * K * 4,
          accumulate: i > 0,
        });
      }
    }
  } finally {
    if (col) rt.heap.free(col);
  }
  if (b.dbias) {
    await sumToChannels(rt, {
      x: b.dy,
      y: b.dbias,
      outer: g.n,
      channels: g.cOut,
      inner: HW,
      accumulate: false,
    });
  }
}
