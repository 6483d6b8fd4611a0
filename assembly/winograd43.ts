import { madd } from "./_simd";
import { clearRows, copyRows, gather4, storeTile } from "./winograd";
// Winograd F(4x4, 3x3) forward convolution (stride 1, dilation 1, one group), Lavin-Gray points
// 0, 1, -1, 2, -2, inf: each 4x4 output tile is A^T [(G g G^T) .* (B^T d B)] A for the tile's 6x6 input
// patch d, so the 9 multiply-adds per output and input channel become 36 / 16 = 2.25 (in 36 GEMMs, one
// per element xi = 6 * row + column of the 6x6 transformed tile):
//   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1],
//   G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1],
//   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
// Tiles: t = (img * tilesH + th) * tilesW + tw covers outputs [4th, 4th + 4) x [4tw, 4tw + 4); its patch
// starts at input (4th - pt, 4tw - pl). T = nimg * tilesH * tilesW. The launcher is
// runtime/kernels/winograd.ts; the readable reference is runtime/ref/winograd43.ts.

// u [36, kOut, c] = G g G^T for every weight g = w[ko, ci] (w: [kOut, c, 3, 3]). Elements e = ko * c + ci
// go four at a time (SIMD lanes). Units: groups of four elements, ceil(kOut * c / 4) (the last may be
// partial).
export function winograd43_weight(w: usize, u: usize, kOut: i32, c: i32, start: i32, end: i32): void {
  const total = kOut * c;
  const plane = <usize>total << 2;
  for (let q = start; q < end; q++) {
    const e = q * 4, n = min(4, total - e);
    const g = w + (<usize>e * 9 << 2);
    // gij, lane l: w[e + l] at row i, column j (lanes past n repeat lane 0).
    const s1: usize = n > 1 ? 36 : 0, s2: usize = n > 2 ? 72 : 0, s3: usize = n > 3 ? 108 : 0;
    const g00 = gather4(g, 0, s1, s2, s3), g01 = gather4(g, 4, s1, s2, s3), g02 = gather4(g, 8, s1, s2, s3);
    const g10 = gather4(g, 12, s1, s2, s3), g11 = gather4(g, 16, s1, s2, s3), g12 = gather4(g, 20, s1, s2, s3);
    const g20 = gather4(g, 24, s1, s2, s3), g21 = gather4(g, 28, s1, s2, s3), g22 = gather4(g, 32, s1, s2, s3);
    // Row i of t = G g is (gRow(i, g0j, g1j, g2j))_j; row i of u = t G^T is gRow(., ti0, ti1, ti2).
    // (Unrolled: i is a constant in each inlined gRow, so its branches fold away.)
    const dst = u + (<usize>e << 2);
    weightRow43(dst, plane, 0, gRow(0, g00, g10, g20), gRow(0, g01, g11, g21), gRow(0, g02, g12, g22), n);
    weightRow43(dst, plane, 6, gRow(1, g00, g10, g20), gRow(1, g01, g11, g21), gRow(1, g02, g12, g22), n);
    weightRow43(dst, plane, 12, gRow(2, g00, g10, g20), gRow(2, g01, g11, g21), gRow(2, g02, g12, g22), n);
    weightRow43(dst, plane, 18, gRow(3, g00, g10, g20), gRow(3, g01, g11, g21), gRow(3, g02, g12, g22), n);
    weightRow43(dst, plane, 24, gRow(4, g00, g10, g20), gRow(4, g01, g11, g21), gRow(4, g02, g12, g22), n);
    weightRow43(dst, plane, 30, g20, g21, g22, n);
  }
}

// Stores row xi0 / 6 of the transformed weights, G [t0, t1, t2], to planes xi0 .. xi0 + 5 (first n lanes).
@inline function weightRow43(dst: usize, plane: usize, xi0: i32, t0: v128, t1: v128, t2: v128, n: i32): void {
  storeTile(dst, plane, xi0, gRow(0, t0, t1, t2), n);
  storeTile(dst, plane, xi0 + 1, gRow(1, t0, t1, t2), n);
  storeTile(dst, plane, xi0 + 2, gRow(2, t0, t1, t2), n);
  storeTile(dst, plane, xi0 + 3, gRow(3, t0, t1, t2), n);
  storeTile(dst, plane, xi0 + 4, gRow(4, t0, t1, t2), n);
  storeTile(dst, plane, xi0 + 5, t2, n);
}

// Element i of G [a, b, c]: a / 4, -(a + b + c) / 6, -(a - b + c) / 6, a / 24 + b / 12 + c / 6,
// a / 24 - b / 12 + c / 6, c.
@inline function gRow(i: i32, a: v128, b: v128, c: v128): v128 {
  if (i == 0) return f32x4.mul(a, f32x4.splat(0.25));
  if (i == 5) return c;
  if (i < 3) {
    const ac = f32x4.add(a, c);
    return f32x4.mul(i == 1 ? f32x4.add(ac, b) : f32x4.sub(ac, b), f32x4.splat(-1.0 / 6.0));
  }
  const p = madd(c, f32x4.splat(1.0 / 6.0), f32x4.mul(a, f32x4.splat(1.0 / 24.0)));
  const s = f32x4.mul(b, f32x4.splat(1.0 / 12.0));
  return i == 3 ? f32x4.add(p, s) : f32x4.sub(p, s);
}

// v [36, c, T] = B^T d B for the 6x6 patch d of every tile of every input plane, rows ts (>= T) and the 36
// planes vStride (>= c * ts) floats apart (a stride that is not a multiple of 4 KB keeps the planes' rows from sharing
// cache sets). x: the chunk's first image, images [c, h, w] imgStride floats apart. Units: img * c + ch (one plane each). The plane is
// first copied into the zero-padded scratch image (input at row pt, column pl), so four tiles of a row
// transform together (SIMD lanes) without bounds checks: each patch row is transformed by B into the
// 36-vector area after the image, then the columns by B^T into the 36 planes of v.
// scratch: (4 * tilesH + 2) * (4 * tilesW + 16) + 144 floats (winograd43InputScratchBytes,
// runtime/kernels/winograd.ts).
export function winograd43_input(
  x: usize, v: usize, c: i32, imgStride: i32, h: i32, w: i32, pt: i32, pl: i32, tilesH: i32, tilesW: i32,
  nimg: i32, vStride: i32, ts: i32, start: i32, end: i32, scratch: usize,
): void {
  const wp = 4 * tilesW + 16, hp = 4 * tilesH + 2;
  const rowBytes = <usize>wp << 2;
  const tmp = scratch + (<usize>(wp * hp) << 2);
  const xiStride = <usize>vStride << 2;
  memory.fill(scratch, 0, <usize>(wp * hp) << 2);
  for (let u = start; u < end; u++) {
    const img = u / c, ch = u % c;
    copyRows(x + (<usize>(img * imgStride + ch * h * w) << 2), scratch, rowBytes, -pt, h + pt, pl, h, w);
    for (let th = 0; th < tilesH; th++) {
      const t0 = (img * tilesH + th) * tilesW;
      const row0 = scratch + <usize>(4 * th) * rowBytes;
      for (let tw = 0; tw < tilesW; tw += 4) {
        const p = row0 + (<usize>(4 * tw) << 2);
        for (let r = 0; r < 6; r++) inputRow(p + <usize>r * rowBytes, tmp + <usize>r * 96);
        const dst = v + (<usize>(ch * ts + t0 + tw) << 2);
        const n = min(4, tilesW - tw);
        for (let j = 0; j < 6; j++) inputColumn(tmp + <usize>j * 16, dst, xiStride, j, n);
      }
    }
    // Clear the copied rows for the next plane (the zero border stays).
    clearRows(scratch, rowBytes, pt, h, pl, w);
  }
}

// One patch row of four tiles: dj, lane l = q[4l + j] (j < 6), then d B = [4d0 - 5d2 + d4,
// -4d1 - 4d2 + d3 + d4, 4d1 - 4d2 - d3 + d4, -2d1 - d2 + 2d3 + d4, 2d1 - d2 - 2d3 + d4, 4d1 - 5d3 + d5]
// stored as six vectors at out.
@inline function inputRow(q: usize, out: usize): void {
  const w0 = v128.load(q), w1 = v128.load(q, 16), w2 = v128.load(q, 32), w3 = v128.load(q, 48);
  const w4 = v128.load(q, 64);
  const a0 = v128.shuffle<f32>(w0, w1, 0, 4, 1, 5), a1 = v128.shuffle<f32>(w2, w3, 0, 4, 1, 5);
  const a2 = v128.shuffle<f32>(w0, w1, 2, 6, 3, 7), a3 = v128.shuffle<f32>(w2, w3, 2, 6, 3, 7);
  const d0 = v128.shuffle<f32>(a0, a1, 0, 1, 4, 5), d1 = v128.shuffle<f32>(a0, a1, 2, 3, 6, 7);
  const d2 = v128.shuffle<f32>(a2, a3, 0, 1, 4, 5), d3 = v128.shuffle<f32>(a2, a3, 2, 3, 6, 7);
  const d4 = v128.shuffle<f32>(d0, w4, 1, 2, 3, 4), d5 = v128.shuffle<f32>(d1, w4, 1, 2, 3, 5);
  bt6(d0, d1, d2, d3, d4, d5, out, 16, 4);
}

// Column j of the six row-transformed vectors (96 bytes apart from col) by B^T into planes 6i + j of v
// (the first n lanes).
@inline function inputColumn(col: usize, dst: usize, xiStride: usize, j: i32, n: i32): void {
  const d0 = v128.load(col), d1 = v128.load(col, 96), d2 = v128.load(col, 192);
  const d3 = v128.load(col, 288), d4 = v128.load(col, 384), d5 = v128.load(col, 480);
  bt6(d0, d1, d2, d3, d4, d5, dst + <usize>j * xiStride, 6 * xiStride, n);
}

// The six entries of B^T [d0 .. d5] (the first n lanes) stored at out, step bytes apart.
@inline function bt6(d0: v128, d1: v128, d2: v128, d3: v128, d4: v128, d5: v128, out: usize, step: usize, n: i32): void {
  const four = f32x4.splat(4), mfive = f32x4.splat(-5), mfour = f32x4.splat(-4);
  const p = madd(d2, mfour, d4), q = madd(d1, mfour, d3);
  const r = f32x4.sub(d4, d2), s = f32x4.sub(d3, d1);
  const s2 = f32x4.add(s, s);
  storeTile(out, step, 0, f32x4.add(f32x4.mul(d0, four), madd(d2, mfive, d4)), n);
  storeTile(out, step, 1, f32x4.add(p, q), n);
  storeTile(out, step, 2, f32x4.sub(p, q), n);
  storeTile(out, step, 3, f32x4.add(r, s2), n);
  storeTile(out, step, 4, f32x4.sub(r, s2), n);
  storeTile(out, step, 5, f32x4.add(f32x4.mul(d1, four), madd(d3, mfive, d5)), n);
}

// y [nimg, kOut, outH, outW] = A^T M A (+ bias[ko]) (then max(., 0) if relu) for every tile, where
// M [36, kOut, T] holds the 36 GEMM products, rows ts and planes mStride (>= kOut * ts) floats apart (with at least 3
// readable floats after the last plane: four tiles load together). Units: img * kOut + ko (one output plane each). bias: 0 for none. scratch: 448 bytes
// per thread (24 column-transformed vectors, then the 4 output vectors of a row).
export function winograd43_output(
  m: usize, y: usize, bias: usize, relu: i32, kOut: i32, outH: i32, outW: i32, tilesH: i32, tilesW: i32,
  nimg: i32, mStride: i32, ts: i32, start: i32, end: i32, scratch: usize,
): void {
  const xiStride = <usize>mStride << 2;
  const zero = f32x4.splat(0);
  for (let u = start; u < end; u++) {
    const img = u / kOut, ko = u % kOut;
    const b = bias != 0 ? f32x4.splat(load<f32>(bias + (<usize>ko << 2))) : zero;
    const plane = y + (<usize>u * <usize>(outH * outW) << 2);
    for (let th = 0; th < tilesH; th++) {
      const t0 = (img * tilesH + th) * tilesW;
      const oh = 4 * th, rows = min(4, outH - oh);
      for (let tw = 0; tw < tilesW; tw += 4) {
        const src = m + (<usize>(ko * ts + t0 + tw) << 2);
        // Columns j: s_ij (i < 4) = A^T [M_0j .. M_5j], at scratch + 16 (6i + j).
        for (let j = 0; j < 6; j++) {
          const c = src + <usize>j * xiStride;
          at4(
            v128.load(c), v128.load(c + 6 * xiStride), v128.load(c + 12 * xiStride),
            v128.load(c + 18 * xiStride), v128.load(c + 24 * xiStride), v128.load(c + 30 * xiStride),
            scratch + (<usize>j << 4), 96,
          );
        }
        const ow = 4 * tw;
        const cols = outW - ow;
        for (let i = 0; i < rows; i++) {
          // Row i: y_ij (lane l: tile tw + l) = A^T [s_i0 .. s_i5] + bias, stored as 4 per tile.
          const s = scratch + <usize>i * 96;
          at4(
            v128.load(s), v128.load(s, 16), v128.load(s, 32), v128.load(s, 48), v128.load(s, 64), v128.load(s, 80),
            scratch + 384, 16,
          );
          let y0 = f32x4.add(v128.load(scratch, 384), b), y1 = f32x4.add(v128.load(scratch, 400), b);
          let y2 = f32x4.add(v128.load(scratch, 416), b), y3 = f32x4.add(v128.load(scratch, 432), b);
          if (relu) {
            y0 = f32x4.max(y0, zero); y1 = f32x4.max(y1, zero);
            y2 = f32x4.max(y2, zero); y3 = f32x4.max(y3, zero);
          }
          // Transpose: tile l's four outputs, columns 4(tw + l) .. 4(tw + l) + 3.
          const a0 = v128.shuffle<f32>(y0, y1, 0, 4, 1, 5), a1 = v128.shuffle<f32>(y2, y3, 0, 4, 1, 5);
          const a2 = v128.shuffle<f32>(y0, y1, 2, 6, 3, 7), a3 = v128.shuffle<f32>(y2, y3, 2, 6, 3, 7);
          const dst = plane + (<usize>((oh + i) * outW + ow) << 2);
          storeRow16(
            dst,
            v128.shuffle<f32>(a0, a1, 0, 1, 4, 5), v128.shuffle<f32>(a0, a1, 2, 3, 6, 7),
            v128.shuffle<f32>(a2, a3, 0, 1, 4, 5), v128.shuffle<f32>(a2, a3, 2, 3, 6, 7),
            cols,
          );
        }
      }
    }
  }
}

// A^T [a0 .. a5] = [a0 + a1 + a2 + a3 + a4, (a1 - a2) + 2 (a3 - a4), (a1 + a2) + 4 (a3 + a4),
// (a1 - a2) + 8 (a3 - a4) + a5], stored at out, step bytes apart.
@inline function at4(a0: v128, a1: v128, a2: v128, a3: v128, a4: v128, a5: v128, out: usize, step: usize): void {
  const p1 = f32x4.add(a1, a2), m1 = f32x4.sub(a1, a2), p2 = f32x4.add(a3, a4), m2 = f32x4.sub(a3, a4);
  v128.store(out, f32x4.add(f32x4.add(a0, p1), p2));
  v128.store(out + step, madd(m2, f32x4.splat(2), m1));
  v128.store(out + 2 * step, madd(p2, f32x4.splat(4), p1));
  v128.store(out + 3 * step, f32x4.add(madd(m2, f32x4.splat(8), m1), a5));
}

// Stores the first min(16, n) floats of r0, r1, r2, r3 (4 floats each) at dst.
@inline function storeRow16(dst: usize, r0: v128, r1: v128, r2: v128, r3: v128, n: i32): void {
  if (n >= 16) {
    v128.store(dst, r0); v128.store(dst, r1, 16); v128.store(dst, r2, 32); v128.store(dst, r3, 48);
    return;
  }
  let r = r0;
  let d = dst;
  for (let q = 0; q < 4; q++) {
    if (q == 1) r = r1;
    else if (q == 2) r = r2;
    else if (q == 3) r = r3;
    const left = n - 4 * q;
    if (left <= 0) return;
    if (left >= 4) {
      v128.store(d, r);
    } else {
      v128.store32_lane(d, r, 0);
      if (left > 1) v128.store32_lane(d, r, 1, 4);
      if (left > 2) v128.store32_lane(d, r, 2, 8);
    }
    d += 16;
  }
}
