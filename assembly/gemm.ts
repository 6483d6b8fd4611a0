import { madd } from "./_simd";
// Single-precision GEMM and the convolution helpers built on it (im2col, col2im).
//
// sgemm: C (+)= op(A) op(B), row-major, op(A): [m, k], op(B): [k, n], C: [m, n] with leading
// dimensions lda, ldb, ldc. The work units are tiles of C of GEMM_MT rows x GEMM_NT columns, numbered
// with the row tile fastest. Each unit packs its A block into panels of 6 rows and its B block into
// panels of 8 columns (zero-padded) in the thread's scratch, then runs a 6x8 register-blocked SIMD
// micro-kernel over k blocks of GEMM_KC.
// Scratch per thread: GEMM_SCRATCH_BYTES (see runtime/kernels/gemm.ts, which passes the same number).

@inline const MR: i32 = 6;
@inline const NR: i32 = 8;
@inline const MT: i32 = 96; // rows of C per unit (a multiple of MR)
@inline const NT: i32 = 256; // columns of C per unit (a multiple of NR)
@inline const KC: i32 = 256; // k per packed block

// Packs rows [i0, i0 + mb) x k [p0, p0 + kb) of op(A) into panels of MR rows: pa[(r * kb + p) * MR + i].
@inline function packA(a: usize, lda: i32, transA: bool, i0: i32, mb: i32, p0: i32, kb: i32, pa: usize): void {
  const panels = (mb + MR - 1) / MR;
  for (let r = 0; r < panels; r++) {
    const base = pa + (<usize>(r * kb * MR) << 2);
    for (let i = 0; i < MR; i++) {
      const row = i0 + r * MR + i;
      if (r * MR + i >= mb) {
        for (let p = 0; p < kb; p++) store<f32>(base + (<usize>(p * MR + i) << 2), 0);
      } else if (transA) {
        // op(A)[row, p] = a[p * lda + row]
        for (let p = 0; p < kb; p++) {
          store<f32>(base + (<usize>(p * MR + i) << 2), load<f32>(a + (<usize>((p0 + p) * lda + row) << 2)));
        }
      } else {
        const src = a + (<usize>(row * lda + p0) << 2);
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
    if (!transB && cols == NR) {
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
// mr x nr corner. tmp: 48 floats of scratch for partial tiles.
@inline function micro(
  pa: usize, pb: usize, pbStride: usize, kb: i32, c: usize, ldc: i32, mr: i32, nr: i32, first: bool, tmp: usize,
): void {
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
    pb += pbStride;
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
  for (let i = 0; i < mr; i++) {
    const dst = c + <usize>i * row;
    for (let j = 0; j < nr; j++) {
      const v = load<f32>(tmp + (<usize>(i * NR + j) << 2));
      const d = dst + (<usize>j << 2);
      store<f32>(d, first ? v : load<f32>(d) + v);
    }
  }
}

// a: op(A) [m, k], b: op(B) [k, n], c: [m, n] (ldc). flags: 1 = transA, 2 = transB, 4 = accumulate.
// Units: ceil(m / 96) * ceil(n / 256) tiles of C. scratch: GEMM_SCRATCH_BYTES.
export function sgemm(
  a: usize, b: usize, c: usize, m: i32, n: i32, k: i32, lda: i32, ldb: i32, ldc: i32, flags: i32,
  start: i32, end: i32, scratch: usize,
): void {
  const transA = (flags & 1) != 0, transB = (flags & 2) != 0, acc = (flags & 4) != 0;
  const tilesM = (m + MT - 1) / MT;
  const pa = scratch;
  const pb = scratch + (<usize>(MT * KC) << 2);
  const tmp = pb + (<usize>(NT * KC) << 2);
  for (let u = start; u < end; u++) {
    const i0 = (u % tilesM) * MT, j0 = (u / tilesM) * NT;
    const mb = min(MT, m - i0), nb = min(NT, n - j0);
    if (k == 0) {
      if (!acc) {
        for (let i = 0; i < mb; i++) memory.fill(c + (<usize>((i0 + i) * ldc + j0) << 2), 0, <usize>nb << 2);
      }
      continue;
    }
    // Without a transpose, full 8-column panels of B are read in place (row stride ldb): packing would
    // copy all of B once per row tile, which costs as much as the multiply when m is small (convs).
    const direct = !transB;
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kb = min(KC, k - p0);
      const fullPanels = direct ? nb / NR : 0;
      if (fullPanels * NR < nb) {
        // Pack only what cannot be read in place: all panels, or the last partial one.
        const pj = j0 + fullPanels * NR;
        packB(b, ldb, transB, pj, nb - fullPanels * NR, p0, kb, pb);
      }
      packA(a, lda, transA, i0, mb, p0, kb, pa);
      const first = p0 == 0 && !acc;
      for (let q = 0; q * NR < nb; q++) {
        const nr = min(NR, nb - q * NR);
        let bp: usize, bs: usize;
        if (q < fullPanels) {
          bp = b + (<usize>(p0 * ldb + j0 + q * NR) << 2);
          bs = <usize>ldb << 2;
        } else {
          bp = pb + (<usize>((q - fullPanels) * kb * NR) << 2);
          bs = 32;
        }
        for (let r = 0; r * MR < mb; r++) {
          const mr = min(MR, mb - r * MR);
          const cp = c + (<usize>((i0 + r * MR) * ldc + j0 + q * NR) << 2);
          micro(pa + (<usize>(r * kb * MR) << 2), bp, bs, kb, cp, ldc, mr, nr, first, tmp);
        }
      }
    }
  }
}

// x: images of [C, H, W] at imgStride floats apart -> col: [C * kh * kw, ldcol]; image i fills the
// columns [i * outH * outW, (i + 1) * outH * outW) of every row; zero where the window reads padding.
// Units: images x (C * kh * kw) rows, image-major.
export function im2col(
  x: usize, col: usize, c: i32, imgStride: i32, ldcol: i32, h: i32, w: i32, kh: i32, kw: i32, strideH: i32,
  strideW: i32, padTop: i32, padLeft: i32, dilationH: i32, dilationW: i32, outH: i32, outW: i32, start: i32,
  end: i32,
): void {
  const rows = c * kh * kw;
  const hw = outH * outW;
  for (let u = start; u < end; u++) {
    const img = u / rows, r = u % rows;
    const kj = r % kw, ki = (r / kw) % kh, ch = r / (kw * kh);
    const plane = x + (<usize>img * <usize>imgStride << 2) + (<usize>(ch * h * w) << 2);
    let dst = col + ((<usize>r * <usize>ldcol + <usize>img * <usize>hw) << 2);
    const offW = kj * dilationW - padLeft;
    // Output columns whose input column is inside [0, w): ow in [lo, hi).
    let lo = 0;
    if (offW < 0) lo = (-offW + strideW - 1) / strideW;
    let hi = outW;
    const lim = w - offW; // need ow * strideW < lim
    if (lim <= 0) hi = 0;
    else hi = min(outW, (lim + strideW - 1) / strideW);
    if (lo > hi) lo = hi;
    for (let oh = 0; oh < outH; oh++) {
      const ih = oh * strideH - padTop + ki * dilationH;
      if (ih < 0 || ih >= h) {
        memory.fill(dst, 0, <usize>outW << 2);
      } else {
        const srcRow = plane + (<usize>(ih * w) << 2);
        if (lo > 0) memory.fill(dst, 0, <usize>lo << 2);
        if (strideW == 1) {
          memory.copy(dst + (<usize>lo << 2), srcRow + (<usize>(lo + offW) << 2), <usize>(hi - lo) << 2);
        } else {
          for (let ow = lo; ow < hi; ow++) {
            store<f32>(dst + (<usize>ow << 2), load<f32>(srcRow + (<usize>(ow * strideW + offW) << 2)));
          }
        }
        if (hi < outW) memory.fill(dst + (<usize>hi << 2), 0, <usize>(outW - hi) << 2);
      }
      dst += <usize>outW << 2;
    }
  }
}

// col: [C * kh * kw, ldcol] (layout of im2col) -> dx: images of [C, H, W] at imgStride floats apart,
// dx += the columns scattered back (the adjoint of im2col). Units: images x C planes (each writes only
// its own plane, so threads never collide).
export function col2im(
  col: usize, dx: usize, c: i32, imgStride: i32, ldcol: i32, h: i32, w: i32, kh: i32, kw: i32, strideH: i32,
  strideW: i32, padTop: i32, padLeft: i32, dilationH: i32, dilationW: i32, outH: i32, outW: i32, start: i32,
  end: i32,
): void {
  const hw = outH * outW;
  for (let u = start; u < end; u++) {
    const img = u / c, ch = u % c;
    const plane = dx + (<usize>img * <usize>imgStride << 2) + (<usize>(ch * h * w) << 2);
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++) {
        const r = (ch * kh + ki) * kw + kj;
        let src = col + ((<usize>r * <usize>ldcol + <usize>img * <usize>hw) << 2);
        const offW = kj * dilationW - padLeft;
        for (let oh = 0; oh < outH; oh++) {
          const ih = oh * strideH - padTop + ki * dilationH;
          if (ih >= 0 && ih < h) {
            const dstRow = plane + (<usize>(ih * w) << 2);
            for (let ow = 0; ow < outW; ow++) {
              const iw = ow * strideW + offW;
              if (iw >= 0 && iw < w) {
                const d = dstRow + (<usize>iw << 2);
                store<f32>(d, load<f32>(d) + load<f32>(src + (<usize>ow << 2)));
              }
            }
          }
          src += <usize>outW << 2;
        }
      }
    }
  }
}

// src: [n, c, hw] -> dst: [c, n * hw] (dst[ch, i * hw + j] = src[i, ch, j]). Units: the n * c rows.
export function to_cnhw(src: usize, dst: usize, c: i32, hw: i32, n: i32, start: i32, end: i32): void {
  for (let u = start; u < end; u++) {
    const i = u / c, ch = u % c;
    memory.copy(
      dst + ((<usize>ch * <usize>n * <usize>hw + <usize>i * <usize>hw) << 2),
      src + (<usize>u * <usize>hw << 2),
      <usize>hw << 2,
    );
  }
}

// src: [c, n * hw] -> dst: [n, c, hw], adding bias[ch] (bias != 0) and applying ReLU (relu != 0).
// Units: the n * c rows.
export function from_cnhw(
  src: usize, dst: usize, bias: usize, relu: i32, c: i32, hw: i32, n: i32, start: i32, end: i32,
): void {
  const zero = f32x4.splat(0);
  for (let u = start; u < end; u++) {
    const i = u / c, ch = u % c;
    const s = src + ((<usize>ch * <usize>n * <usize>hw + <usize>i * <usize>hw) << 2);
    const d = dst + (<usize>u * <usize>hw << 2);
    const bv = bias != 0 ? load<f32>(bias + (<usize>ch << 2)) : <f32>0;
    const b4 = f32x4.splat(bv);
    let j = 0;
    for (; j + 4 <= hw; j += 4) {
      const o = <usize>j << 2;
      let v = f32x4.add(v128.load(s + o), b4);
      if (relu) v = f32x4.max(v, zero);
      v128.store(d + o, v);
    }
    for (; j < hw; j++) {
      const o = <usize>j << 2;
      let v = load<f32>(s + o) + bv;
      if (relu && !(v > 0)) v = v != v ? v : 0;
      store<f32>(d + o, v);
    }
  }
}

// y: [outer, C, inner] -> y = relu(y) (+ bias[c] first when bias != 0). Units: the outer * C planes.
export function bias_relu(y: usize, bias: usize, channels: i32, inner: i32, relu: i32, start: i32, end: i32): void {
  const zero = f32x4.splat(0);
  for (let pl = start; pl < end; pl++) {
    const bv = bias != 0 ? load<f32>(bias + (<usize>(pl % channels) << 2)) : <f32>0;
    const b4 = f32x4.splat(bv);
    const p = y + (<usize>pl * <usize>inner << 2);
    let i = 0;
    for (; i + 4 <= inner; i += 4) {
      const q = p + (<usize>i << 2);
      let v = f32x4.add(v128.load(q), b4);
      if (relu) v = f32x4.max(v, zero);
      v128.store(q, v);
    }
    for (; i < inner; i++) {
      const q = p + (<usize>i << 2);
      let v = load<f32>(q) + bv;
      if (relu && !(v > 0)) v = v != v ? v : 0;
      store<f32>(q, v);
    }
  }
}
