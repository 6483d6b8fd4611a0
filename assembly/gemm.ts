import { madd } from "./_simd";
// Single-precision GEMM (linear layers; the strided input gradient of convolutions with col2im).
// The implicit-GEMM convolutions in conv2d.ts reuse packA, micro, micro4 and the tile constants with
// their own B packing.
//
// sgemm: C (+)= op(A) op(B), row-major, op(A): [m, k], op(B): [k, n], C: [m, n] with leading
// dimensions lda, ldb, ldc. The work units are tiles of C of GEMM_MT rows x GEMM_NT columns, numbered
// with the row tile fastest (GEMM_NT is the widest column tile; the launcher may pass a narrower one). Each unit packs its A block into panels of 6 rows and its B block into
// panels of 8 columns (zero-padded) in the thread's scratch, then runs a 6x8 register-blocked SIMD
// micro-kernel over k blocks of GEMM_KC (micro4, 4x8, for a last row panel of at most 4 rows).
// Scratch per thread: GEMM_SCRATCH_BYTES (see runtime/kernels/gemm.ts, which passes the same number).

@inline export const MR: i32 = 6;
@inline export const NR: i32 = 8;
@inline export const MT: i32 = 96; // rows of C per unit (a multiple of MR)
@inline export const NT: i32 = 256; // columns of C per unit (a multiple of NR)
@inline export const KC: i32 = 256; // k per packed block

// Packs rows [i0, i0 + mb) x k [p0, p0 + kb) of op(A) into panels of MR rows: pa[(r * kb + p) * MR + i].
@inline export function packA(a: usize, lda: i32, transA: bool, i0: i32, mb: i32, p0: i32, kb: i32, pa: usize): void {
  const panels = (mb + MR - 1) / MR;
  for (let r = 0; r < panels; r++) {
    const base = pa + (<usize>(r * kb * MR) << 2);
    const rows = min(MR, mb - r * MR);
    const row0 = i0 + r * MR;
    if (transA && rows == MR) {
      // op(A)[row, p] = a[p * lda + row]: six contiguous values per p.
      for (let p = 0; p < kb; p++) {
        const src = a + (<usize>((p0 + p) * lda + row0) << 2);
        const dst = base + (<usize>(p * MR) << 2);
        v128.store(dst, v128.load(src));
        store<u64>(dst + 16, load<u64>(src + 16));
      }
    } else if (transA) {
      for (let p = 0; p < kb; p++) {
        const src = a + (<usize>((p0 + p) * lda + row0) << 2);
        const dst = base + (<usize>(p * MR) << 2);
        for (let i = 0; i < MR; i++) store<f32>(dst + (<usize>i << 2), i < rows ? load<f32>(src + (<usize>i << 2)) : 0);
      }
    } else if (rows == MR) {
      // Six rows, four k at a time: transpose 6x4 blocks with shuffles.
      const s0 = a + (<usize>(row0 * lda + p0) << 2);
      const ld = <usize>lda << 2;
      let p = 0;
      for (; p + 4 <= kb; p += 4) {
        const src = s0 + (<usize>p << 2);
        const r0 = v128.load(src), r1 = v128.load(src + ld), r2 = v128.load(src + 2 * ld);
        const r3 = v128.load(src + 3 * ld), r4 = v128.load(src + 4 * ld), r5 = v128.load(src + 5 * ld);
        const lo01 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), hi01 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
        const lo23 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5), hi23 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
        const lo45 = v128.shuffle<f32>(r4, r5, 0, 4, 1, 5), hi45 = v128.shuffle<f32>(r4, r5, 2, 6, 3, 7);
        const dst = base + (<usize>(p * MR) << 2);
        v128.store(dst, v128.shuffle<f32>(lo01, lo23, 0, 1, 4, 5));
        v128.store(dst + 16, v128.shuffle<f32>(lo45, lo01, 0, 1, 6, 7));
        v128.store(dst + 32, v128.shuffle<f32>(lo23, lo45, 2, 3, 6, 7));
        v128.store(dst + 48, v128.shuffle<f32>(hi01, hi23, 0, 1, 4, 5));
        v128.store(dst + 64, v128.shuffle<f32>(hi45, hi01, 0, 1, 6, 7));
        v128.store(dst + 80, v128.shuffle<f32>(hi23, hi45, 2, 3, 6, 7));
      }
      for (; p < kb; p++) {
        for (let i = 0; i < MR; i++) {
          store<f32>(base + (<usize>(p * MR + i) << 2), load<f32>(s0 + <usize>i * ld + (<usize>p << 2)));
        }
      }
    } else {
      for (let i = 0; i < MR; i++) {
        if (i >= rows) {
          for (let p = 0; p < kb; p++) store<f32>(base + (<usize>(p * MR + i) << 2), 0);
          continue;
        }
        const src = a + (<usize>((row0 + i) * lda + p0) << 2);
        for (let p = 0; p < kb; p++) store<f32>(base + (<usize>(p * MR + i) << 2), load<f32>(src + (<usize>p << 2)));
      }
    }
  }
}

// Packs k [p0, p0 + kb) x columns [j0, j0 + nb) of op(B) into panels of NR columns: pb[(q * kb + p) * NR + j].
@inline function packB(b: usize, ldb: i32, transB: bool, j0: i32, nb: i32, p0: i32, kb: i32, pb: usize): void {
  const panels = (nb + NR - 1) / NR;
  for (let q = 0; q < panels; q++) {
    const base = pb + (<usize>(q * kb * NR) << 2);
    const cols = min(NR, nb - q * NR);
    const col0 = j0 + q * NR;
    if (!transB && cols == NR && nb - q * NR >= 2 * NR) {
      // Two panels per pass: each 64-byte row segment of B is read once.
      const base2 = base + (<usize>(kb * NR) << 2);
      for (let p = 0; p < kb; p++) {
        const src = b + (<usize>((p0 + p) * ldb + col0) << 2);
        const off = <usize>(p * NR) << 2;
        v128.store(base + off, v128.load(src));
        v128.store(base + off + 16, v128.load(src + 16));
        v128.store(base2 + off, v128.load(src + 32));
        v128.store(base2 + off + 16, v128.load(src + 48));
      }
      q++;
    } else if (!transB && cols == NR) {
      for (let p = 0; p < kb; p++) {
        const src = b + (<usize>((p0 + p) * ldb + col0) << 2);
        const dst = base + (<usize>(p * NR) << 2);
        v128.store(dst, v128.load(src));
        v128.store(dst + 16, v128.load(src + 16));
      }
    } else if (!transB) {
      for (let p = 0; p < kb; p++) {
        const src = b + (<usize>((p0 + p) * ldb + col0) << 2);
        const dst = base + (<usize>(p * NR) << 2);
        for (let j = 0; j < NR; j++) store<f32>(dst + (<usize>j << 2), j < cols ? load<f32>(src + (<usize>j << 2)) : 0);
      }
    } else if (cols == NR) {
      // op(B)[p, col] = b[col * ldb + p]: eight columns, four k at a time, two 4x4 transposes.
      const s0 = b + (<usize>(col0 * ldb + p0) << 2);
      const ld = <usize>ldb << 2;
      let p = 0;
      for (; p + 4 <= kb; p += 4) {
        const dst = base + (<usize>(p * NR) << 2);
        for (let h = 0; h < 2; h++) {
          const src = s0 + <usize>(h * 4) * ld + (<usize>p << 2);
          const r0 = v128.load(src), r1 = v128.load(src + ld), r2 = v128.load(src + 2 * ld), r3 = v128.load(src + 3 * ld);
          const lo01 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), hi01 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
          const lo23 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5), hi23 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
          const d = dst + (<usize>h << 4);
          v128.store(d, v128.shuffle<f32>(lo01, lo23, 0, 1, 4, 5));
          v128.store(d + 32, v128.shuffle<f32>(lo01, lo23, 2, 3, 6, 7));
          v128.store(d + 64, v128.shuffle<f32>(hi01, hi23, 0, 1, 4, 5));
          v128.store(d + 96, v128.shuffle<f32>(hi01, hi23, 2, 3, 6, 7));
        }
      }
      for (; p < kb; p++) {
        for (let j = 0; j < NR; j++) {
          store<f32>(base + (<usize>(p * NR + j) << 2), load<f32>(s0 + <usize>j * ld + (<usize>p << 2)));
        }
      }
    } else {
      // op(B)[p, col] = b[col * ldb + p]
      for (let j = 0; j < NR; j++) {
        if (j >= cols) {
          for (let p = 0; p < kb; p++) store<f32>(base + (<usize>(p * NR + j) << 2), 0);
          continue;
        }
        const src = b + (<usize>((col0 + j) * ldb + p0) << 2);
        for (let p = 0; p < kb; p++) store<f32>(base + (<usize>(p * NR + j) << 2), load<f32>(src + (<usize>p << 2)));
      }
    }
  }
}

// 6x8 micro-kernel: acc = sum_p pa[p, 0..6) x pb[p, 0..8); then C (first ? = : +=) acc on the valid
// mr x nr corner. tmp: 48 floats of scratch for partial tiles. bs: bytes between rows p of B (32 for a
// packed panel; 4 ldb when B is read in place).
@inline export function micro(pa: usize, pb: usize, kb: i32, c: usize, ldc: i32, mr: i32, nr: i32, first: bool, tmp: usize, bs: usize = 32): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  let c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (let p = 0; p < kb; p++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb + 16);
    let a = v128.load32_splat(pa);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.load32_splat(pa + 4);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    a = v128.load32_splat(pa + 8);
    c20 = madd(a, b0, c20);
    c21 = madd(a, b1, c21);
    a = v128.load32_splat(pa + 12);
    c30 = madd(a, b0, c30);
    c31 = madd(a, b1, c31);
    a = v128.load32_splat(pa + 16);
    c40 = madd(a, b0, c40);
    c41 = madd(a, b1, c41);
    a = v128.load32_splat(pa + 20);
    c50 = madd(a, b0, c50);
    c51 = madd(a, b1, c51);
    pa += 24;
    pb += bs;
  }
  const row = <usize>ldc << 2;
  if (mr == MR && nr == NR) {
    if (first) {
      v128.store(c, c00); v128.store(c + 16, c01); c += row;
      v128.store(c, c10); v128.store(c + 16, c11); c += row;
      v128.store(c, c20); v128.store(c + 16, c21); c += row;
      v128.store(c, c30); v128.store(c + 16, c31); c += row;
      v128.store(c, c40); v128.store(c + 16, c41); c += row;
      v128.store(c, c50); v128.store(c + 16, c51);
    } else {
      v128.store(c, f32x4.add(v128.load(c), c00)); v128.store(c + 16, f32x4.add(v128.load(c + 16), c01)); c += row;
      v128.store(c, f32x4.add(v128.load(c), c10)); v128.store(c + 16, f32x4.add(v128.load(c + 16), c11)); c += row;
      v128.store(c, f32x4.add(v128.load(c), c20)); v128.store(c + 16, f32x4.add(v128.load(c + 16), c21)); c += row;
      v128.store(c, f32x4.add(v128.load(c), c30)); v128.store(c + 16, f32x4.add(v128.load(c + 16), c31)); c += row;
      v128.store(c, f32x4.add(v128.load(c), c40)); v128.store(c + 16, f32x4.add(v128.load(c + 16), c41)); c += row;
      v128.store(c, f32x4.add(v128.load(c), c50)); v128.store(c + 16, f32x4.add(v128.load(c + 16), c51));
    }
    return;
  }
  v128.store(tmp, c00); v128.store(tmp + 16, c01);
  v128.store(tmp + 32, c10); v128.store(tmp + 48, c11);
  v128.store(tmp + 64, c20); v128.store(tmp + 80, c21);
  v128.store(tmp + 96, c30); v128.store(tmp + 112, c31);
  v128.store(tmp + 128, c40); v128.store(tmp + 144, c41);
  v128.store(tmp + 160, c50); v128.store(tmp + 176, c51);
  storePartial(tmp, c, ldc, mr, nr, first);
}

// C (first ? = : +=) the valid mr x nr corner of the 6x8 tile at tmp (row-major, 8 floats a row).
@inline function storePartial(tmp: usize, c: usize, ldc: i32, mr: i32, nr: i32, first: bool): void {
  const row = <usize>ldc << 2;
  for (let i = 0; i < mr; i++) {
    const dst = c + <usize>i * row;
    const src = tmp + (<usize>(i * NR) << 2);
    if (nr == NR) {
      if (first) {
        v128.store(dst, v128.load(src)); v128.store(dst + 16, v128.load(src + 16));
      } else {
        v128.store(dst, f32x4.add(v128.load(dst), v128.load(src)));
        v128.store(dst + 16, f32x4.add(v128.load(dst + 16), v128.load(src + 16)));
      }
      continue;
    }
    for (let j = 0; j < nr; j++) {
      const v = load<f32>(src + (<usize>j << 2));
      const d = dst + (<usize>j << 2);
      store<f32>(d, first ? v : load<f32>(d) + v);
    }
  }
}

// 4x8 micro-kernel for the last row panel when it has at most 4 valid rows: as micro, but computes
// only rows 0-3 of the 6-row packed A panel (m = 16 is 6 + 6 + 4 rows).
@inline export function micro4(pa: usize, pb: usize, kb: i32, c: usize, ldc: i32, mr: i32, nr: i32, first: bool, tmp: usize, bs: usize = 32): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (let p = 0; p < kb; p++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb + 16);
    let a = v128.load32_splat(pa);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.load32_splat(pa + 4);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    a = v128.load32_splat(pa + 8);
    c20 = madd(a, b0, c20);
    c21 = madd(a, b1, c21);
    a = v128.load32_splat(pa + 12);
    c30 = madd(a, b0, c30);
    c31 = madd(a, b1, c31);
    pa += 24;
    pb += bs;
  }
  v128.store(tmp, c00); v128.store(tmp + 16, c01);
  v128.store(tmp + 32, c10); v128.store(tmp + 48, c11);
  v128.store(tmp + 64, c20); v128.store(tmp + 80, c21);
  v128.store(tmp + 96, c30); v128.store(tmp + 112, c31);
  storePartial(tmp, c, ldc, mr, nr, first);
}

// The units [u, uEnd) of one column tile (C columns [j0, j0 + nb)) over one k block [p0, p0 + kb) of B:
// packs each unit's A rows and runs the micro-kernels; first: overwrite C instead of adding. B comes from
// the packed block pb, or, when b != 0, is a non-transposed B (rows ldb floats apart) read in place: full
// 8-column panels straight from b, a partial last panel packed into pb first.
@inline export function blockUnits(
  a: usize, lda: i32, transA: bool, m: i32, u: i32, uEnd: i32, tilesM: i32, p0: i32, kb: i32, pa: usize,
  pb: usize, c: usize, ldc: i32, j0: i32, nb: i32, first: bool, tmp: usize, b: usize = 0, ldb: i32 = 0,
): void {
  for (let v = u; v < uEnd; v++) {
    const i0 = (v % tilesM) * MT, mb = min(MT, m - i0);
    packA(a, lda, transA, i0, mb, p0, kb, pa);
    for (let q = 0; q * NR < nb; q++) {
      const nr = min(NR, nb - q * NR);
      const cp = c + (<usize>(i0 * ldc + j0 + q * NR) << 2);
      if (b == 0) {
        rowPanels(pa, pb + (<usize>(q * kb * NR) << 2), 32, kb, mb, cp, ldc, nr, first, tmp);
      } else if (nr == NR) {
        rowPanels(pa, b + (<usize>(p0 * ldb + j0 + q * NR) << 2), <usize>ldb << 2, kb, mb, cp, ldc, nr, first, tmp);
      } else {
        packB(b, ldb, false, j0 + q * NR, nr, p0, kb, pb);
        rowPanels(pa, pb, 32, kb, mb, cp, ldc, nr, first, tmp);
      }
    }
  }
}

// The row panels of one 8-column panel: C rows [0, mb) at c (+)= packed A (pa) x B panel (bp, bs bytes
// between rows p).
@inline function rowPanels(pa: usize, bp: usize, bs: usize, kb: i32, mb: i32, c: usize, ldc: i32, nr: i32, first: bool, tmp: usize): void {
  for (let r = 0; r * MR < mb; r++) {
    const mr = min(MR, mb - r * MR);
    const cp = c + (<usize>(r * MR * ldc) << 2);
    const ap = pa + (<usize>(r * kb * MR) << 2);
    if (mr <= 4) micro4(ap, bp, kb, cp, ldc, mr, nr, first, tmp, bs);
    else micro(ap, bp, kb, cp, ldc, mr, nr, first, tmp, bs);
  }
}

// GEMMs with at most this many rows read a non-transposed B in place instead of packing it (packing pays
// only when many rows reuse each packed element: 1.02-1.32x at m <= 48, never slower).
@inline const IN_PLACE_B_M: i32 = 48;

// a: op(A) [m, k], b: op(B) [k, n], c: [m, n] (ldc). flags: 1 = transA, 2 = transB, 4 = accumulate.
// nt: columns per tile, a multiple of 8 in [8, 256] (the launcher picks it so threads balance).
// Units: ceil(m / 96) * ceil(n / nt) tiles of C, row tile fastest. scratch: GEMM_SCRATCH_BYTES.
export function sgemm(
  a: usize, b: usize, c: usize, m: i32, n: i32, k: i32, lda: i32, ldb: i32, ldc: i32, flags: i32,
  nt: i32, start: i32, end: i32, scratch: usize,
): void {
  sgemmUnits(a, b, c, m, n, k, lda, ldb, ldc, flags, nt, start, end, scratch);
}

// A batch of equal GEMMs: for i in [0, batch), C_i (+)= op(A_i) op(B_i) with A_i at a + i * sa floats,
// B_i at b + i * sb, C_i at c + i * sc (each as in sgemm). Units: batch * ceil(m / 96) * ceil(n / nt),
// unit u is tile u % per (numbered as in sgemm) of GEMM floor(u / per). scratch: GEMM_SCRATCH_BYTES.
export function sgemm_batched(
  a: usize, b: usize, c: usize, m: i32, n: i32, k: i32, lda: i32, ldb: i32, ldc: i32, flags: i32,
  nt: i32, sa: i32, sb: i32, sc: i32, start: i32, end: i32, scratch: usize,
): void {
  const per = ((m + MT - 1) / MT) * ((n + nt - 1) / nt);
  let u = start;
  while (u < end) {
    const i = u / per;
    const uEnd = min(end, (i + 1) * per);
    const ai = a + (<usize>i * <usize>sa << 2), bi = b + (<usize>i * <usize>sb << 2), ci = c + (<usize>i * <usize>sc << 2);
    sgemmUnits(ai, bi, ci, m, n, k, lda, ldb, ldc, flags, nt, u - i * per, uEnd - i * per, scratch);
    u = uEnd;
  }
}

// The units [start, end) of one GEMM (see sgemm).
@inline function sgemmUnits(
  a: usize, b: usize, c: usize, m: i32, n: i32, k: i32, lda: i32, ldb: i32, ldc: i32, flags: i32,
  nt: i32, start: i32, end: i32, scratch: usize,
): void {
  const transA = (flags & 1) != 0, transB = (flags & 2) != 0, acc = (flags & 4) != 0;
  const tilesM = (m + MT - 1) / MT;
  const pa = scratch;
  const pb = scratch + (<usize>(MT * KC) << 2);
  const tmp = pb + (<usize>(NT * KC) << 2);
  // The units of one column tile in this slice share each packed B block.
  let u = start;
  while (u < end) {
    const tj = u / tilesM;
    const uEnd = min(end, (tj + 1) * tilesM);
    const j0 = tj * nt, nb = min(nt, n - j0);
    if (k == 0) {
      if (!acc) {
        for (let v = u; v < uEnd; v++) {
          const i0 = (v % tilesM) * MT, mb = min(MT, m - i0);
          for (let i = 0; i < mb; i++) memory.fill(c + (<usize>((i0 + i) * ldc + j0) << 2), 0, <usize>nb << 2);
        }
      }
      u = uEnd;
      continue;
    }
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kb = min(KC, k - p0);
      const first = p0 == 0 && !acc;
      if (!transB && m <= IN_PLACE_B_M) {
        blockUnits(a, lda, transA, m, u, uEnd, tilesM, p0, kb, pa, pb, c, ldc, j0, nb, first, tmp, b, ldb);
        continue;
      }
      packB(b, ldb, transB, j0, nb, p0, kb, pb);
      blockUnits(a, lda, transA, m, u, uEnd, tilesM, p0, kb, pa, pb, c, ldc, j0, nb, first, tmp);
    }
    u = uEnd;
  }
}
