/**
 * Reference GEMM: the readable specification of `assembly/gemm.ts`, with the
 * same arguments (byte pointers, sizes, then the slice [start, end) and the unused scratch pointer).
 * @module
 */
import type { Heap } from "../heap.ts";

const MT = 96;

/** C (+)= op(A) op(B) over tiles [start, end) of 96 x nt (row tile fastest); flags 1 transA, 2 transB, 4 accumulate. */
export function sgemm(
  h: Heap,
  a: number,
  b: number,
  c: number,
  m: number,
  n: number,
  k: number,
  lda: number,
  ldb: number,
  ldc: number,
  flags: number,
  nt: number,
  start: number,
  end: number,
): void {
  const f = h.f32;
  const ta = (flags & 1) !== 0, tb = (flags & 2) !== 0, acc = (flags & 4) !== 0;
  const A = (i: number, p: number) => f[(a >> 2) + (ta ? p * lda + i : i * lda + p)];
  const B = (p: number, j: number) => f[(b >> 2) + (tb ? j * ldb + p : p * ldb + j)];
  const tilesM = Math.ceil(m / MT);
  for (let u = start; u < end; u++) {
    const i0 = (u % tilesM) * MT, j0 = Math.floor(u / tilesM) * nt;
    for (let i = i0; i < Math.min(m, i0 + MT); i++) {
      for (let j = j0; j < Math.min(n, j0 + nt); j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += A(i, p) * B(p, j);
        const o = (c >> 2) + i * ldc + j;
        f[o] = acc ? f[o] + s : s;
      }
    }
  }
}

/** A batch of equal GEMMs: GEMM i uses a + 4 * i * sa, b + 4 * i * sb, c + 4 * i * sc; unit u is tile u % per of GEMM floor(u / per). */
export function sgemm_batched(
  h: Heap,
  a: number,
  b: number,
  c: number,
  m: number,
  n: number,
  k: number,
  lda: number,
  ldb: number,
  ldc: number,
  flags: number,
  nt: number,
  sa: number,
  sb: number,
  sc: number,
  start: number,
  end: number,
): void {
  const per = Math.ceil(m / MT) * Math.ceil(n / nt);
  for (let u = start; u < end; u++) {
    const i = Math.floor(u / per), t = u % per;
    sgemm(h, a + 4 * i * sa, b + 4 * i * sb, c + 4 * i * sc, m, n, k, lda, ldb, ldc, flags, nt, t, t + 1);
  }
}
