/**
 * GEMM launcher (`sgemm` kernel); the convolutions in conv2d.ts are built on it. Ops run launchers
 * inside `rt.enqueue`.
 * @module
 */
import type { Runtime } from "../runtime.ts";

const MT = 96, NT = 256, KC = 256;
/**
 * Scratch bytes per thread of the `sgemm` and `conv2d_gemm` kernels (packed A and B blocks plus one
 * partial tile).
 */
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

/**
 * Columns per GEMM tile: the multiple of 8 in [32, 256] whose tiles split most evenly over the threads
 * (the busiest thread's columns, ceil(units / threads) * nt, against an even share), the widest of
 * those within 1% of the best; e.g. n = 144 on 2 threads gets 72 + 72, not 136 + 8.
 */
function columnTile(m: number, n: number, threads: number): number {
  if (threads <= 1) return NT;
  const tilesM = Math.ceil(m / MT);
  const share = (tilesM * n) / threads;
  let best = NT, bestEff = 0;
  for (let nt = NT; nt >= 32; nt -= 8) {
    const units = tilesM * Math.ceil(n / nt);
    const eff = share / (Math.ceil(units / threads) * nt);
    if (eff > bestEff + 0.01) {
      best = nt;
      bestEff = eff;
    }
  }
  return best;
}

/**
 * @internal The tiling of an m x n GEMM-like kernel (`sgemm`, `conv2d_gemm`) on `threads` threads:
 * the column tile nt and the work units, ceil(m / 96) * ceil(n / nt) tiles of C.
 */
export function gemmTiling(m: number, n: number, threads: number): { nt: number; units: number } {
  const nt = columnTile(m, n, threads);
  return { nt, units: Math.ceil(m / MT) * Math.ceil(n / nt) };
}

/** C (+)= op(A) op(B) with op(A) [m, k], op(B) [k, n], C [m, n]. */
export function gemm(rt: Runtime, g: GemmArgs): Promise<void> {
  const { m, n, k } = g;
  if (m === 0 || n === 0) return Promise.resolve();
  const lda = g.lda ?? (g.transA ? m : k);
  const ldb = g.ldb ?? (g.transB ? k : n);
  const ldc = g.ldc ?? n;
  const flags = (g.transA ? 1 : 0) | (g.transB ? 2 : 0) | (g.accumulate ? 4 : 0);
  const { nt, units } = gemmTiling(m, n, rt.threads);
  return rt.exec("sgemm", [g.a, g.b, g.c, m, n, k, lda, ldb, ldc, flags, nt], {
    units,
    cost: 2 * m * n * Math.max(k, 1),
    scratchBytes: GEMM_SCRATCH_BYTES,
  });
}
