import { blockUnits, KC, MR, MT, NR, NT } from "./gemm";
// Convolution helpers around the GEMM: batched im2col/col2im over image chunks, NCHW <-> CNHW
// transposes with the bias/ReLU epilogue, weight flipping for stride-1 input gradients; and
// conv2d_gemm, an implicit-GEMM convolution that packs its B operand straight from the images.

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
        // The columns ow whose iw = ow * strideW + offW falls inside [0, w): [ow0, ow1).
        const ow0 = offW >= 0 ? 0 : (strideW - 1 - offW) / strideW;
        const ow1 = min(outW, w - offW <= 0 ? 0 : (w - 1 - offW) / strideW + 1);
        const step = <usize>strideW << 2;
        for (let oh = 0; oh < outH; oh++) {
          const ih = oh * strideH - padTop + ki * dilationH;
          if (ih >= 0 && ih < h && ow0 < ow1) {
            let d = plane + (<usize>(ih * w + ow0 * strideW + offW) << 2);
            let ow = ow0;
            if (strideW == 1) {
              for (; ow + 4 <= ow1; ow += 4) {
                v128.store(d, f32x4.add(v128.load(d), v128.load(src + (<usize>ow << 2))));
                d += 16;
              }
            }
            for (; ow < ow1; ow++) {
              store<f32>(d, load<f32>(d) + load<f32>(src + (<usize>ow << 2)));
              d += step;
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

// w: [groups * cog, cig, kh, kw] -> wt: [groups * cig, cog, kh, kw], spatially flipped:
// wt[g * cig + ci, co, kh-1-i, kw-1-j] = w[g * cog + co, ci, i, j]. With it, the input gradient of a
// stride-1 convolution is a plain convolution of dy. Units: the kernels o * cig + ci of w (kh * kw
// elements each; no divisions per element).
export function flip_weights(w: usize, wt: usize, cog: i32, cig: i32, kh: i32, kw: i32, start: i32, end: i32): void {
  const khw = kh * kw;
  for (let u = start; u < end; u++) {
    const ci = u % cig, o = u / cig;
    const g = o / cog, co = o % cog;
    const src = w + (<usize>(u * khw) << 2);
    // The last element of the destination kernel; walking the source forward walks it backward.
    const dst = wt + (<usize>(((g * cig + ci) * cog + co) * khw + khw - 1) << 2);
    for (let e = 0; e < khw; e++) store<f32>(dst - (<usize>e << 2), load<f32>(src + (<usize>e << 2)));
  }
}

// Stores 8 floats gathered from x at the byte offsets oa (lanes 0-3) and ob (lanes 4-7) to dst,
// cleared where the masks ma, mb are 0 (those lanes' offsets must be 0 or another valid address).
@inline function gather8(x: usize, oa: v128, ob: v128, ma: v128, mb: v128, dst: usize): void {
  let va = v128.load32_zero(x + <usize>i32x4.extract_lane(oa, 0));
  va = v128.load32_lane(x + <usize>i32x4.extract_lane(oa, 1), va, 1);
  va = v128.load32_lane(x + <usize>i32x4.extract_lane(oa, 2), va, 2);
  va = v128.load32_lane(x + <usize>i32x4.extract_lane(oa, 3), va, 3);
  let vb = v128.load32_zero(x + <usize>i32x4.extract_lane(ob, 0));
  vb = v128.load32_lane(x + <usize>i32x4.extract_lane(ob, 1), vb, 1);
  vb = v128.load32_lane(x + <usize>i32x4.extract_lane(ob, 2), vb, 2);
  vb = v128.load32_lane(x + <usize>i32x4.extract_lane(ob, 3), vb, 3);
  v128.store(dst, v128.and(va, ma));
  v128.store(dst + 16, v128.and(vb, mb));
}

// Packs k [p0, p0 + kb) x columns [j0, j0 + nb) of the implicit im2col matrix of conv2d_gemm into
// panels of NR columns (zero-padded): pb[(q * kb + p) * NR + j]. Row p = (c, ki, kj), column
// j = (img, oh, ow) holds x[img, c, oh * sh - pt + ki * dh, ow * sw - pl + kj * dw], 0 outside.
// Each panel is filled tap by tap (ki, kj), then channel by channel: the padding masks and input
// offsets depend only on the tap, and a channel adds h * w to the offsets.
// ci: 96 bytes of scratch for one panel's column geometry (ih, iw, input offset; 8 x i32 each).
@inline function packConvB(
  x: usize, imgStride: i32, nimg: i32, cig: i32, h: i32, w: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32,
  pl: i32, dh: i32, dw: i32, outH: i32, outW: i32, j0: i32, nb: i32, p0: i32, kb: i32, pb: usize, ci: usize,
): void {
  const plane = h * w, hw = outH * outW, taps = kh * kw, pEnd = p0 + kb;
  // Floats readable from x: the chunk's images, the last one up to the group's last channel.
  const limit = (nimg - 1) * imgStride + cig * plane;
  // Stride 1 and outW == w ("same" padding): consecutive columns of one image read consecutive input
  // floats for every tap, across output rows too.
  const wide = sh == 1 && sw == 1 && outW == w;
  const hv = i32x4.splat(h), wv = i32x4.splat(w), plane4 = i32x4.splat(plane << 2);
  const step = <usize>(taps * NR) << 2; // bytes from one channel's row of a tap to the next channel's
  const panels = (nb + NR - 1) / NR;
  for (let q = 0; q < panels; q++) {
    const col0 = j0 + q * NR, cols = min(NR, nb - q * NR);
    let img = col0 / hw;
    const r0 = col0 % hw;
    let oh = r0 / outW, ow = r0 % outW;
    // How a row of the panel is read: 1 = one 8-float window of x (stride 1, one output row or one
    // wide image), 2 = every other float of a 15-float window (stride 2, one output row), 0 = gather.
    let mode = 0;
    if (cols == NR && sw == 1 && (ow + NR <= outW || (wide && r0 + NR <= hw))) mode = 1;
    else if (cols == NR && sw == 2 && ow + NR <= outW) mode = 2;
    const span = mode == 2 ? 2 * NR - 1 : NR;
    for (let j = 0; j < NR; j++) {
      const o = <usize>j << 2;
      if (j < cols) {
        const ih = oh * sh - pt, iw = ow * sw - pl;
        store<i32>(ci + o, ih);
        store<i32>(ci + 32 + o, iw);
        store<i32>(ci + 64 + o, img * imgStride + ih * w + iw);
        if (++ow == outW) {
          ow = 0;
          if (++oh == outH) {
            oh = 0;
            img++;
          }
        }
      } else {
        store<i32>(ci + o, -0x40000000); // never inside: padding columns read as 0
        store<i32>(ci + 32 + o, 0);
        store<i32>(ci + 64 + o, 0);
      }
    }
    const b0 = load<i32>(ci + 64);
    const iha = v128.load(ci), ihb = v128.load(ci + 16);
    const iwa = v128.load(ci + 32), iwb = v128.load(ci + 48);
    const ba = v128.load(ci + 64), bb = v128.load(ci + 80);
    const panel = pb + (<usize>(q * kb * NR) << 2);
    for (let ki = 0; ki < kh; ki++) {
      const di = ki * dh;
      const di4 = i32x4.splat(di);
      const ra = i32x4.lt_u(i32x4.add(iha, di4), hv), rb = i32x4.lt_u(i32x4.add(ihb, di4), hv);
      for (let kj = 0; kj < kw; kj++) {
        const t = ki * kw + kj;
        // The channels c whose row p = c * taps + t lies in [p0, pEnd).
        let p = t;
        if (p < p0) p += (p0 - t + taps - 1) / taps * taps;
        if (p >= pEnd) continue;
        const dj = kj * dw;
        const dj4 = i32x4.splat(dj);
        const ma = v128.and(ra, i32x4.lt_u(i32x4.add(iwa, dj4), wv));
        const mb = v128.and(rb, i32x4.lt_u(i32x4.add(iwb, dj4), wv));
        let dst = panel + (<usize>(p - p0) << 5);
        let off = (p / taps) * plane + di * w + dj; // input offset of the tap in channel p / taps
        if (!v128.any_true(v128.or(ma, mb))) {
          // The tap reads only padding for these columns.
          const zero = f32x4.splat(0);
          for (; p < pEnd; p += taps) {
            v128.store(dst, zero);
            v128.store(dst + 16, zero);
            dst += step;
          }
        } else if (mode == 0) {
          let oa = i32x4.shl(v128.and(i32x4.add(ba, i32x4.splat(off)), ma), 2);
          let ob = i32x4.shl(v128.and(i32x4.add(bb, i32x4.splat(off)), mb), 2);
          const sa = v128.and(plane4, ma), sb = v128.and(plane4, mb);
          for (; p < pEnd; p += taps) {
            gather8(x, oa, ob, ma, mb, dst);
            oa = i32x4.add(oa, sa);
            ob = i32x4.add(ob, sb);
            dst += step;
          }
        } else {
          for (; p < pEnd; p += taps) {
            const s = b0 + off;
            if (s >= 0 && s + span <= limit) {
              const src = x + (<usize>s << 2);
              if (mode == 1) {
                v128.store(dst, v128.and(v128.load(src), ma));
                v128.store(dst + 16, v128.and(v128.load(src + 16), mb));
              } else {
                // Floats 0, 2, .., 14 of the window: [0, 8) from two loads, 8 and 10 from [8, 12), 12 and
                // 14 from [11, 15) (the window ends at float 14).
                const v0 = v128.load(src), v1 = v128.load(src + 16);
                const v2 = v128.load(src + 32), v3 = v128.load(src + 44);
                v128.store(dst, v128.and(v128.shuffle<f32>(v0, v1, 0, 2, 4, 6), ma));
                v128.store(dst + 16, v128.and(v128.shuffle<f32>(v2, v3, 0, 2, 5, 7), mb));
              }
            } else {
              const oa = i32x4.shl(v128.and(i32x4.add(ba, i32x4.splat(off)), ma), 2);
              const ob = i32x4.shl(v128.and(i32x4.add(bb, i32x4.splat(off)), mb), 2);
              gather8(x, oa, ob, ma, mb, dst);
            }
            off += plane;
            dst += step;
          }
        }
      }
    }
  }
}

// Implicit-GEMM convolution of one group over a chunk of images, with no im2col buffer:
// c [m, n] = a [m, k] x B [k, n], n = nimg * outH * outW, k = cig * kh * kw, where B is the im2col
// matrix of x (row p = (ci, ki, kj), column j = (img, oh, ow); the layout im2col writes) packed
// directly from the images. a: the group's weights [m = cog, cig, kh, kw] (row-major, lda = k);
// x: the group's first channel of the first image, images [cig, h, w] at imgStride floats apart;
// c: row-major with ldc = n (the CNHW layout from_cnhw reads). Same tiling as sgemm: units are
// ceil(m / 96) * ceil(n / nt) tiles of c, row tile fastest; nt: a multiple of 8 in [8, 256].
// scratch: GEMM_SCRATCH_BYTES (packed A block, packed B block, 48 floats of partial tile).
export function conv2d_gemm(
  a: usize, x: usize, c: usize, m: i32, cig: i32, imgStride: i32, nimg: i32, h: i32, w: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, outH: i32, outW: i32, nt: i32, start: i32, end: i32,
  scratch: usize,
): void {
  const k = cig * kh * kw, n = nimg * outH * outW;
  const tilesM = (m + MT - 1) / MT;
  const pa = scratch;
  const pb = scratch + (<usize>(MT * KC) << 2);
  const tmp = pb + (<usize>(NT * KC) << 2);
  let u = start;
  while (u < end) {
    const tj = u / tilesM;
    const uEnd = min(end, (tj + 1) * tilesM);
    const j0 = tj * nt, nb = min(nt, n - j0);
    if (k == 0) {
      for (let v = u; v < uEnd; v++) {
        const i0 = (v % tilesM) * MT, mb = min(MT, m - i0);
        for (let i = 0; i < mb; i++) memory.fill(c + (<usize>((i0 + i) * n + j0) << 2), 0, <usize>nb << 2);
      }
      u = uEnd;
      continue;
    }
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kb = min(KC, k - p0);
      packConvB(x, imgStride, nimg, cig, h, w, kh, kw, sh, sw, pt, pl, dh, dw, outH, outW, j0, nb, p0, kb, pb, tmp);
      const first = p0 == 0;
      blockUnits(a, k, false, m, u, uEnd, tilesM, p0, kb, pa, pb, c, n, j0, nb, first, tmp);
    }
    u = uEnd;
  }
}

// Row jj of a 4-position group for the weight-gradient packing: x at the group's four input offsets
// plus the tap offset of row jj, masked where the tap reads padding. g: the group's geometry (ih x4,
// iw x4, input offset x4), kind: 2 = one window, no padding; 1 = one window; 4 = every other float of
// one 8-float window (stride 2), no padding; 3 = the same with padding; 0 = gather. ci: the panel's tap
// rows (di x8, dj x8, tap offset x8).
@inline function tapRow(x: usize, g: usize, kind: i32, ci: usize, jj: i32, hv: v128, wv: v128, limit: i32): v128 {
  const o = <usize>jj << 2;
  const off = load<i32>(ci + 64 + o);
  const s = load<i32>(g + 32) + off;
  if (kind == 2) return v128.load(x + (<usize>s << 2));
  if (kind == 4 && s + 8 <= limit) return evenOf8(x + (<usize>s << 2));
  const mask = v128.and(
    i32x4.lt_u(i32x4.add(v128.load(g), v128.load32_splat(ci + o)), hv),
    i32x4.lt_u(i32x4.add(v128.load(g + 16), v128.load32_splat(ci + 32 + o)), wv),
  );
  if (kind == 1 && s >= 0 && s + 4 <= limit) return v128.and(v128.load(x + (<usize>s << 2)), mask);
  if (kind >= 3 && s >= 0 && s + 8 <= limit) return v128.and(evenOf8(x + (<usize>s << 2)), mask);
  // Gather; lanes outside the image read x[0] and are then cleared.
  const oa = i32x4.shl(v128.and(i32x4.add(v128.load(g + 32), i32x4.splat(off)), mask), 2);
  let v = v128.load32_zero(x + <usize>i32x4.extract_lane(oa, 0));
  v = v128.load32_lane(x + <usize>i32x4.extract_lane(oa, 1), v, 1);
  v = v128.load32_lane(x + <usize>i32x4.extract_lane(oa, 2), v, 2);
  v = v128.load32_lane(x + <usize>i32x4.extract_lane(oa, 3), v, 3);
  return v128.and(v, mask);
}

// Floats 0, 2, 4, 6 of the 8 at p.
@inline function evenOf8(p: usize): v128 {
  return v128.shuffle<f32>(v128.load(p), v128.load(p, 16), 0, 2, 4, 6);
}

// Stores the 4x4 transpose of rows r0..r3 to dst, dst + 32, dst + 64, dst + 96 (4 floats each).
@inline function transpose4(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize): void {
  const lo01 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), hi01 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const lo23 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5), hi23 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(lo01, lo23, 0, 1, 4, 5));
  v128.store(dst + 32, v128.shuffle<f32>(lo01, lo23, 2, 3, 6, 7));
  v128.store(dst + 64, v128.shuffle<f32>(hi01, hi23, 0, 1, 4, 5));
  v128.store(dst + 96, v128.shuffle<f32>(hi01, hi23, 2, 3, 6, 7));
}

// Packs k [p0, p0 + kb) x columns [j0, j0 + nb) of the transposed implicit im2col matrix of
// conv2d_gemm_wgrad into panels of NR columns (zero-padded): pb[(q * kb + p) * NR + j]. Row p is a
// position (img, oh, ow), column j a tap row (c, ki, kj), the value x[img, c, oh * sh - pt + ki * dh,
// ow * sw - pl + kj * dw], 0 outside. Positions go in groups of 4 (geo: 64 bytes a group); a group whose
// input offsets are consecutive reads one 4-float window per tap row, unmasked when every tap of every
// position is inside the image; 8 tap rows x 4 positions are then transposed into the panel. A last
// partial group writes up to 3 zero rows past kb: they land in the next panel (packed afterwards) or,
// after the last panel, in unused space (kb < KC then). ci: 96 bytes for the panel's tap rows.
@inline function packConvBT(
  x: usize, imgStride: i32, nimg: i32, cig: i32, h: i32, w: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32,
  pl: i32, dh: i32, dw: i32, outH: i32, outW: i32, j0: i32, nb: i32, p0: i32, kb: i32, pb: usize, ci: usize,
  geo: usize,
): void {
  const plane = h * w, hw = outH * outW;
  const limit = (nimg - 1) * imgStride + cig * plane;
  const ehMax = (kh - 1) * dh, ewMax = (kw - 1) * dw;
  const hv = i32x4.splat(h), wv = i32x4.splat(w);
  const groups = (kb + 3) >> 2;
  let img = p0 / hw;
  const r0 = p0 % hw;
  let oh = r0 / outW, ow = r0 % outW;
  for (let gi = 0; gi < groups; gi++) {
    const g = geo + (<usize>gi << 6);
    let inside = true;
    for (let l = 0; l < 4; l++) {
      const o = <usize>l << 2;
      if (gi * 4 + l < kb) {
        const ih = oh * sh - pt, iw = ow * sw - pl;
        store<i32>(g + o, ih);
        store<i32>(g + 16 + o, iw);
        store<i32>(g + 32 + o, img * imgStride + ih * w + iw);
        inside = inside && ih >= 0 && ih + ehMax < h && iw >= 0 && iw + ewMax < w;
        if (++ow == outW) {
          ow = 0;
          if (++oh == outH) {
            oh = 0;
            img++;
          }
        }
      } else {
        store<i32>(g + o, -0x40000000); // never inside: rows past kb read as 0
        store<i32>(g + 16 + o, 0);
        store<i32>(g + 32 + o, load<i32>(g + 32) + l);
        inside = false;
      }
    }
    const b = load<i32>(g + 32);
    const window = load<i32>(g + 36) == b + 1 && load<i32>(g + 40) == b + 2 && load<i32>(g + 44) == b + 3;
    const window2 = load<i32>(g + 36) == b + 2 && load<i32>(g + 40) == b + 4 && load<i32>(g + 44) == b + 6;
    store<i32>(g + 48, window ? (inside ? 2 : 1) : window2 ? (inside ? 4 : 3) : 0);
  }
  const panels = (nb + NR - 1) / NR;
  for (let q = 0; q < panels; q++) {
    const cols = min(NR, nb - q * NR);
    let j = j0 + q * NR;
    let kj = j % kw, ki = (j / kw) % kh, c = j / (kw * kh);
    for (let jj = 0; jj < NR; jj++) {
      const o = <usize>jj << 2;
      if (jj < cols) {
        store<i32>(ci + o, ki * dh);
        store<i32>(ci + 32 + o, kj * dw);
        store<i32>(ci + 64 + o, c * plane + ki * dh * w + kj * dw);
        if (++kj == kw) {
          kj = 0;
          if (++ki == kh) {
            ki = 0;
            c++;
          }
        }
      } else {
        store<i32>(ci + o, -0x40000000); // never inside: padding columns read as 0
        store<i32>(ci + 32 + o, 0);
        store<i32>(ci + 64 + o, 0);
      }
    }
    // A partial panel has padding columns: never the unmasked path.
    const full = cols == NR;
    let dst = pb + (<usize>(q * kb * NR) << 2);
    for (let gi = 0; gi < groups; gi++) {
      const g = geo + (<usize>gi << 6);
      let kind = load<i32>(g + 48);
      if ((kind == 2 || kind == 4) && !full) kind--;
      const v0 = tapRow(x, g, kind, ci, 0, hv, wv, limit), v1 = tapRow(x, g, kind, ci, 1, hv, wv, limit);
      const v2 = tapRow(x, g, kind, ci, 2, hv, wv, limit), v3 = tapRow(x, g, kind, ci, 3, hv, wv, limit);
      transpose4(v0, v1, v2, v3, dst);
      const v4 = tapRow(x, g, kind, ci, 4, hv, wv, limit), v5 = tapRow(x, g, kind, ci, 5, hv, wv, limit);
      const v6 = tapRow(x, g, kind, ci, 6, hv, wv, limit), v7 = tapRow(x, g, kind, ci, 7, hv, wv, limit);
      transpose4(v4, v5, v6, v7, dst + 16);
      dst += <usize>(4 * NR) << 2;
    }
  }
}

// Implicit-GEMM weight gradient of one group over a chunk of images, with no im2col buffer:
// c [m, n] (+)= a [m, k] x B [k, n], k = nimg * outH * outW, n = cig * kh * kw, where B is the
// transposed im2col matrix of x (row p = (img, oh, ow), column j = (ci, ki, kj)) packed directly from
// the images. a: the group's output gradient rows [m = cog, k] (lda = k, the CNHW layout to_cnhw
// writes); x: as in conv2d_gemm; c: the group's weight gradient [m, n] (ldc = n). flags: 1 = accumulate.
// Same tiling as sgemm: ceil(m / 96) * ceil(n / nt) tiles of c, row tile fastest; nt: a multiple of 8 in
// [8, 256]. Split k: the positions are cut into kparts equal ranges and the units are kparts * tiles,
// the part slowest; part 0 sums into c (as flags say), part q > 0 overwrites its own [m, n] partial sums
// at cp + (q - 1) m n floats (the launcher adds them to c), so few tiles still keep every thread busy.
// scratch: GEMM_SCRATCH_BYTES + 4096 (sgemm's layout, then the position groups of one k block).
export function conv2d_gemm_wgrad(
  a: usize, x: usize, c: usize, m: i32, cig: i32, imgStride: i32, nimg: i32, h: i32, w: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, outH: i32, outW: i32, flags: i32, nt: i32, kparts: i32,
  cp: usize, start: i32, end: i32, scratch: usize,
): void {
  const k = nimg * outH * outW, n = cig * kh * kw, acc = (flags & 1) != 0;
  const tilesM = (m + MT - 1) / MT;
  const tiles = tilesM * ((n + nt - 1) / nt);
  const pa = scratch;
  const pb = scratch + (<usize>(MT * KC) << 2);
  const tmp = pb + (<usize>(NT * KC) << 2);
  const geo = tmp + (<usize>(MR * NR) << 2);
  let u = start;
  while (u < end) {
    const part = u / tiles, base = part * tiles;
    const tj = (u - base) / tilesM;
    const uEnd = min(end, base + (tj + 1) * tilesM);
    const j0 = tj * nt, nb = min(nt, n - j0);
    const k0 = <i32>(<i64>part * k / kparts), k1 = <i32>(<i64>(part + 1) * k / kparts);
    const dst = part == 0 ? c : cp + (<usize>((part - 1) * m * n) << 2);
    if (k0 == k1 && (part > 0 || !acc)) {
      // No positions: the sums are zero.
      for (let v = u; v < uEnd; v++) {
        const i0 = ((v - base) % tilesM) * MT, mb = min(MT, m - i0);
        for (let i = 0; i < mb; i++) memory.fill(dst + (<usize>((i0 + i) * n + j0) << 2), 0, <usize>nb << 2);
      }
    }
    for (let p0 = k0; p0 < k1; p0 += KC) {
      const kb = min(KC, k1 - p0);
      packConvBT(x, imgStride, nimg, cig, h, w, kh, kw, sh, sw, pt, pl, dh, dw, outH, outW, j0, nb, p0, kb, pb, tmp, geo);
      const first = p0 == k0 && (part > 0 || !acc);
      blockUnits(a, k, false, m, u - base, uEnd - base, tilesM, p0, kb, pa, pb, dst, n, j0, nb, first, tmp);
    }
    u = uEnd;
  }
}
