// Winograd F(2x2, 3x3) convolution (stride 1, dilation 1, one group): each 2x2 output tile is
// A^T [ (G g G^T) .* (B^T d B) ] A for the tile's 4x4 input patch d, so the 9 multiply-adds per output
// and input channel become 4 (in 16 GEMMs, one per element xi of the 4x4 transformed tile):
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
//   A^T = [1 1 1 0; 0 1 -1 -1].
// Tiles: t = (img * tilesH + th) * tilesW + tw covers outputs [2th, 2th + 2) x [2tw, 2tw + 2); its patch
// starts at input (2th - pt, 2tw - pl). T = nimg * tilesH * tilesW. The launcher is
// runtime/kernels/winograd.ts; the readable reference is runtime/ref/winograd.ts.

// u [16, kOut, c] = G g G^T for every weight g = w[ko, ci] (w: [kOut, c, 3, 3]). Elements e = ko * c + ci
// go four at a time (SIMD lanes), so each of the 16 planes of u gets whole vectors. Units: groups of
// four elements, ceil(kOut * c / 4) (the last may be partial).
export function winograd_weight(w: usize, u: usize, kOut: i32, c: i32, start: i32, end: i32): void {
  const total = kOut * c;
  const plane = <usize>total << 2;
  const half = f32x4.splat(0.5);
  for (let q = start; q < end; q++) {
    const e = q * 4, n = min(4, total - e);
    const g = w + (<usize>e * 9 << 2);
    // gij, lane l: w[e + l] at row i, column j (floats 9l + 3i + j from g; lanes past n repeat lane 0).
    const s1: usize = n > 1 ? 36 : 0, s2: usize = n > 2 ? 72 : 0, s3: usize = n > 3 ? 108 : 0;
    const g00 = gather4(g, 0, s1, s2, s3), g01 = gather4(g, 4, s1, s2, s3), g02 = gather4(g, 8, s1, s2, s3);
    const g10 = gather4(g, 12, s1, s2, s3), g11 = gather4(g, 16, s1, s2, s3), g12 = gather4(g, 20, s1, s2, s3);
    const g20 = gather4(g, 24, s1, s2, s3), g21 = gather4(g, 28, s1, s2, s3), g22 = gather4(g, 32, s1, s2, s3);
    // t = G g: rows g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2.
    const t10 = f32x4.mul(f32x4.add(f32x4.add(g00, g10), g20), half);
    const t11 = f32x4.mul(f32x4.add(f32x4.add(g01, g11), g21), half);
    const t12 = f32x4.mul(f32x4.add(f32x4.add(g02, g12), g22), half);
    const t20 = f32x4.mul(f32x4.add(f32x4.sub(g00, g10), g20), half);
    const t21 = f32x4.mul(f32x4.add(f32x4.sub(g01, g11), g21), half);
    const t22 = f32x4.mul(f32x4.add(f32x4.sub(g02, g12), g22), half);
    // u = t G^T: row i -> [ti0, (ti0 + ti1 + ti2) / 2, (ti0 - ti1 + ti2) / 2, ti2].
    const dst = u + (<usize>e << 2);
    weightRow(dst, plane, 0, g00, g01, g02, half, n);
    weightRow(dst, plane, 4, t10, t11, t12, half, n);
    weightRow(dst, plane, 8, t20, t21, t22, half, n);
    weightRow(dst, plane, 12, g20, g21, g22, half, n);
  }
}

// Lanes: the floats at g + off, g + s1 + off, g + s2 + off, g + s3 + off (byte offsets).
@inline export function gather4(g: usize, off: usize, s1: usize, s2: usize, s3: usize): v128 {
  let v = v128.load32_zero(g + off);
  v = v128.load32_lane(g + s1 + off, v, 1);
  v = v128.load32_lane(g + s2 + off, v, 2);
  return v128.load32_lane(g + s3 + off, v, 3);
}

// Stores row i = xi0 / 4 of the transformed tiles: [t0, (t0 + t1 + t2) / 2, (t0 - t1 + t2) / 2, t2]
// to planes xi0 .. xi0 + 3 (the first n lanes).
@inline function weightRow(dst: usize, plane: usize, xi0: i32, t0: v128, t1: v128, t2: v128, half: v128, n: i32): void {
  storeTile(dst, plane, xi0, t0, n);
  storeTile(dst, plane, xi0 + 1, f32x4.mul(f32x4.add(f32x4.add(t0, t1), t2), half), n);
  storeTile(dst, plane, xi0 + 2, f32x4.mul(f32x4.add(f32x4.sub(t0, t1), t2), half), n);
  storeTile(dst, plane, xi0 + 3, t2, n);
}

// v [16, c, T] = B^T d B for the 4x4 patch d of every tile of every input plane (the 16 planes [c, T] ps
// floats apart, rows ts >= T floats apart, ps >= c ts: launchers pad both so that planes and rows accessed
// together fall in different cache sets). x: the chunk's first
// image, images [c, h, w] imgStride floats apart. Units: img * c + ch (one plane each). The plane is
// first copied into a zero-padded scratch image of (2 * tilesH + 2) x (2 * tilesW + 10) floats (input
// at row pt, column pl), so four tiles of a row transform together without bounds checks.
// scratch: inputScratchBytes (runtime/kernels/winograd.ts).
export function winograd_input(
  x: usize, v: usize, c: i32, imgStride: i32, h: i32, w: i32, pt: i32, pl: i32, tilesH: i32, tilesW: i32,
  nimg: i32, ps: i32, ts: i32, start: i32, end: i32, scratch: usize,
): void {
  const wp = 2 * tilesW + 10, hp = 2 * tilesH + 2;
  const rowBytes = <usize>wp << 2;
  const xiStride = <usize>ps << 2; // bytes between the planes of consecutive xi
  memory.fill(scratch, 0, <usize>(wp * hp) << 2);
  for (let u = start; u < end; u++) {
    const img = u / c, ch = u % c;
    const src = x + (<usize>(img * imgStride + ch * h * w) << 2);
    copyRows(src, scratch, rowBytes, -pt, h + pt, pl, h, w);
    for (let th = 0; th < tilesH; th++) {
      const t0 = (img * tilesH + th) * tilesW;
      const row0 = scratch + <usize>(2 * th) * rowBytes;
      for (let tw = 0; tw < tilesW; tw += 4) {
        const n = min(4, tilesW - tw);
        inputTiles4(row0 + (<usize>(2 * tw) << 2), rowBytes, v + (<usize>(ch * ts + t0 + tw) << 2), xiStride, n);
      }
    }
    // Clear the copied rows for the next plane (the zero border stays).
    clearRows(scratch, rowBytes, pt, h, pl, w);
  }
}

// Copies rows of the plane src [h, w] into a zero-bordered scratch image: scratch row r (rowBytes apart)
// holds input row iy0 + r at column offset pl, for r in [0, rows); rows outside the image stay as they are.
// Shared by the unfused and fused input transforms.
@inline export function copyRows(
  src: usize, pad: usize, rowBytes: usize, iy0: i32, rows: i32, pl: i32, h: i32, w: i32,
): void {
  for (let r = 0; r < rows; r++) {
    const iy = iy0 + r;
    if (iy < 0 || iy >= h) continue;
    memory.copy(pad + <usize>r * rowBytes + (<usize>pl << 2), src + (<usize>(iy * w) << 2), <usize>w << 2);
  }
}

// Zeroes the w floats at column pl of scratch rows [r0, r0 + rows) (undoes copyRows of a whole plane).
@inline export function clearRows(pad: usize, rowBytes: usize, r0: i32, rows: i32, pl: i32, w: i32): void {
  for (let r = r0; r < r0 + rows; r++) memory.fill(pad + <usize>r * rowBytes + (<usize>pl << 2), 0, <usize>w << 2);
}

// The 16 transformed values B^T d B of four tiles side by side (lane l: the tile whose 4x4 patch starts at
// p + 8 l bytes in a padded plane with rows rowBytes apart), stored as xi = 4 * row + j at dst + xi *
// xiStride (the first n lanes). Shared by winograd_input and the fused kernels.
@inline export function inputTiles4(p: usize, rowBytes: usize, dst: usize, xiStride: usize, n: i32): void {
  // R[r][j], lane l: d[r][j] of tile tw + l = padded[2th + r][2(tw + l) + j], rows transformed by B.
  let a0: v128, a1: v128, a2: v128, a3: v128; // B^T applied down the columns, per j
  let b0: v128, b1: v128, b2: v128, b3: v128;
  let e0: v128, e1: v128, e2: v128, e3: v128;
  let f0: v128, f1: v128, f2: v128, f3: v128;
  // Row r: d_j, then d B = [d0 - d2, d1 + d2, d2 - d1, d1 - d3].
  {
    const w0 = v128.load(p), w1 = v128.load(p, 16), w2 = v128.load(p, 32);
    const d0 = v128.shuffle<f32>(w0, w1, 0, 2, 4, 6), d1 = v128.shuffle<f32>(w0, w1, 1, 3, 5, 7);
    const d2 = v128.shuffle<f32>(d0, w2, 1, 2, 3, 4), d3 = v128.shuffle<f32>(d1, w2, 1, 2, 3, 5);
    a0 = f32x4.sub(d0, d2); a1 = f32x4.add(d1, d2); a2 = f32x4.sub(d2, d1); a3 = f32x4.sub(d1, d3);
  }
  {
    const q = p + rowBytes;
    const w0 = v128.load(q), w1 = v128.load(q, 16), w2 = v128.load(q, 32);
    const d0 = v128.shuffle<f32>(w0, w1, 0, 2, 4, 6), d1 = v128.shuffle<f32>(w0, w1, 1, 3, 5, 7);
    const d2 = v128.shuffle<f32>(d0, w2, 1, 2, 3, 4), d3 = v128.shuffle<f32>(d1, w2, 1, 2, 3, 5);
    b0 = f32x4.sub(d0, d2); b1 = f32x4.add(d1, d2); b2 = f32x4.sub(d2, d1); b3 = f32x4.sub(d1, d3);
  }
  {
    const q = p + 2 * rowBytes;
    const w0 = v128.load(q), w1 = v128.load(q, 16), w2 = v128.load(q, 32);
    const d0 = v128.shuffle<f32>(w0, w1, 0, 2, 4, 6), d1 = v128.shuffle<f32>(w0, w1, 1, 3, 5, 7);
    const d2 = v128.shuffle<f32>(d0, w2, 1, 2, 3, 4), d3 = v128.shuffle<f32>(d1, w2, 1, 2, 3, 5);
    e0 = f32x4.sub(d0, d2); e1 = f32x4.add(d1, d2); e2 = f32x4.sub(d2, d1); e3 = f32x4.sub(d1, d3);
  }
  {
    const q = p + 3 * rowBytes;
    const w0 = v128.load(q), w1 = v128.load(q, 16), w2 = v128.load(q, 32);
    const d0 = v128.shuffle<f32>(w0, w1, 0, 2, 4, 6), d1 = v128.shuffle<f32>(w0, w1, 1, 3, 5, 7);
    const d2 = v128.shuffle<f32>(d0, w2, 1, 2, 3, 4), d3 = v128.shuffle<f32>(d1, w2, 1, 2, 3, 5);
    f0 = f32x4.sub(d0, d2); f1 = f32x4.add(d1, d2); f2 = f32x4.sub(d2, d1); f3 = f32x4.sub(d1, d3);
  }
  // Columns by B^T: rows (a, b, e, f) -> [a - e, b + e, e - b, b - f]; xi = 4 * row + j.
  storeTile(dst, xiStride, 0, f32x4.sub(a0, e0), n); storeTile(dst, xiStride, 1, f32x4.sub(a1, e1), n);
  storeTile(dst, xiStride, 2, f32x4.sub(a2, e2), n); storeTile(dst, xiStride, 3, f32x4.sub(a3, e3), n);
  storeTile(dst, xiStride, 4, f32x4.add(b0, e0), n); storeTile(dst, xiStride, 5, f32x4.add(b1, e1), n);
  storeTile(dst, xiStride, 6, f32x4.add(b2, e2), n); storeTile(dst, xiStride, 7, f32x4.add(b3, e3), n);
  storeTile(dst, xiStride, 8, f32x4.sub(e0, b0), n); storeTile(dst, xiStride, 9, f32x4.sub(e1, b1), n);
  storeTile(dst, xiStride, 10, f32x4.sub(e2, b2), n); storeTile(dst, xiStride, 11, f32x4.sub(e3, b3), n);
  storeTile(dst, xiStride, 12, f32x4.sub(b0, f0), n); storeTile(dst, xiStride, 13, f32x4.sub(b1, f1), n);
  storeTile(dst, xiStride, 14, f32x4.sub(b2, f2), n); storeTile(dst, xiStride, 15, f32x4.sub(b3, f3), n);
}

// Stores the first n lanes (1..4) of val to dst + xi * xiStride.
@inline export function storeTile(dst: usize, xiStride: usize, xi: i32, val: v128, n: i32): void {
  const d = dst + <usize>xi * xiStride;
  if (n == 4) {
    v128.store(d, val);
    return;
  }
  v128.store32_lane(d, val, 0);
  if (n > 1) v128.store32_lane(d, val, 1, 4);
  if (n > 2) v128.store32_lane(d, val, 2, 8);
}

// y [nimg, kOut, outH, outW] = A^T M A (+ bias[ko]) (then max(., 0) if relu) for every tile, where
// M [16, kOut, T] (planes ps, rows ts floats apart) holds the 16 GEMM products (with at least 3 readable floats after its end: four
// tiles load together). Units: img * kOut + ko (one output plane each). bias: 0 for none.
export function winograd_output(
  m: usize, y: usize, bias: usize, relu: i32, kOut: i32, outH: i32, outW: i32, tilesH: i32, tilesW: i32,
  nimg: i32, ps: i32, ts: i32, start: i32, end: i32,
): void {
  const xiStride = <usize>ps << 2;
  const zero = f32x4.splat(0);
  for (let u = start; u < end; u++) {
    const img = u / kOut, ko = u % kOut;
    const b = bias != 0 ? f32x4.splat(load<f32>(bias + (<usize>ko << 2))) : zero;
    const plane = y + (<usize>u * <usize>(outH * outW) << 2);
    for (let th = 0; th < tilesH; th++) {
      const t0 = (img * tilesH + th) * tilesW;
      const oh = 2 * th;
      for (let tw = 0; tw < tilesW; tw += 4) {
        const ow = 2 * tw;
        outputTiles4(m + (<usize>(ko * ts + t0 + tw) << 2), xiStride, b, relu, plane + (<usize>(oh * outW + ow) << 2), outW, outW - ow, oh + 1 < outH);
      }
    }
  }
}

// A^T M A (+ b) (then max(., 0) if relu) for four tiles side by side, M's 16 values of lane l at src + 4 l +
// xi * xiStride: writes the 2x2 outputs as the first `cols` (<= 8) floats of the output row at r0 and, if
// `second`, of the next row (outW floats further). Shared by winograd_output and winograd_fused.
@inline export function outputTiles4(
  src: usize, xiStride: usize, b: v128, relu: i32, r0: usize, outW: i32, cols: i32, second: bool,
): void {
  const zero = f32x4.splat(0);
  // s0 = M0 + M1 + M2, s1 = M1 - M2 - M3 down the rows of the 4x4 tile (xi = 4 * row + j).
  const m00 = v128.load(src), m01 = v128.load(src + xiStride), m02 = v128.load(src + 2 * xiStride);
  const m03 = v128.load(src + 3 * xiStride), m10 = v128.load(src + 4 * xiStride);
  const m11 = v128.load(src + 5 * xiStride), m12 = v128.load(src + 6 * xiStride);
  const m13 = v128.load(src + 7 * xiStride), m20 = v128.load(src + 8 * xiStride);
  const m21 = v128.load(src + 9 * xiStride), m22 = v128.load(src + 10 * xiStride);
  const m23 = v128.load(src + 11 * xiStride), m30 = v128.load(src + 12 * xiStride);
  const m31 = v128.load(src + 13 * xiStride), m32 = v128.load(src + 14 * xiStride);
  const m33 = v128.load(src + 15 * xiStride);
  const s00 = f32x4.add(f32x4.add(m00, m10), m20), s01 = f32x4.add(f32x4.add(m01, m11), m21);
  const s02 = f32x4.add(f32x4.add(m02, m12), m22), s03 = f32x4.add(f32x4.add(m03, m13), m23);
  const s10 = f32x4.sub(f32x4.sub(m10, m20), m30), s11 = f32x4.sub(f32x4.sub(m11, m21), m31);
  const s12 = f32x4.sub(f32x4.sub(m12, m22), m32), s13 = f32x4.sub(f32x4.sub(m13, m23), m33);
  let y00 = f32x4.add(f32x4.add(f32x4.add(s00, s01), s02), b);
  let y01 = f32x4.add(f32x4.sub(f32x4.sub(s01, s02), s03), b);
  let y10 = f32x4.add(f32x4.add(f32x4.add(s10, s11), s12), b);
  let y11 = f32x4.add(f32x4.sub(f32x4.sub(s11, s12), s13), b);
  if (relu) {
    y00 = f32x4.max(y00, zero); y01 = f32x4.max(y01, zero);
    y10 = f32x4.max(y10, zero); y11 = f32x4.max(y11, zero);
  }
  // Output row oh: y00, y01 interleaved cover columns 2tw .. 2tw + 7.
  storeRow(r0, v128.shuffle<f32>(y00, y01, 0, 4, 1, 5), v128.shuffle<f32>(y00, y01, 2, 6, 3, 7), cols);
  if (second) {
    storeRow(r0 + (<usize>outW << 2), v128.shuffle<f32>(y10, y11, 0, 4, 1, 5), v128.shuffle<f32>(y10, y11, 2, 6, 3, 7), cols);
  }
}

// Stores the first min(8, n) floats of lo (4 floats) then hi (4 floats) at dst.
@inline function storeRow(dst: usize, lo: v128, hi: v128, n: i32): void {
  if (n >= 8) {
    v128.store(dst, lo);
    v128.store(dst, hi, 16);
    return;
  }
  if (n >= 4) {
    v128.store(dst, lo);
    if (n > 4) v128.store32_lane(dst, hi, 0, 16);
    if (n > 5) v128.store32_lane(dst, hi, 1, 20);
    if (n > 6) v128.store32_lane(dst, hi, 2, 24);
    return;
  }
  v128.store32_lane(dst, lo, 0);
  if (n > 1) v128.store32_lane(dst, lo, 1, 4);
  if (n > 2) v128.store32_lane(dst, lo, 2, 8);
}

// Weight gradient: the adjoint of the forward with respect to g is dW = G^T [sum_t (A dY_t A^T) .* V_t] G
// (V_t = B^T d_t B from winograd_input), so winograd_dy transforms the output-gradient tiles, 16 GEMMs
// dU_xi [kOut, c] = E_xi [kOut, T] x V_xi^T [T, c] sum over the tiles, and winograd_dweight maps back.

// e [16, kOut, T] (planes ps, rows ts floats apart) = A dY A^T for the 2x2 tile dY of every tile of every output-gradient plane of
// dy [nimg, kOut, outH, outW] (zeros where the tile runs past the output); A = (A^T)^T, so each row
// [p, q] of a tile becomes [p, p + q, p - q, -q], and likewise down the columns. Units: img * kOut + ko.
export function winograd_dy(
  dy: usize, e: usize, kOut: i32, outH: i32, outW: i32, tilesH: i32, tilesW: i32, nimg: i32, ps: i32, ts: i32,
  start: i32, end: i32,
): void {
  const xiStride = <usize>ps << 2;
  const zero = f32x4.splat(0);
  for (let u = start; u < end; u++) {
    const img = u / kOut, ko = u % kOut;
    const plane = dy + (<usize>u * <usize>(outH * outW) << 2);
    for (let th = 0; th < tilesH; th++) {
      const t0 = (img * tilesH + th) * tilesW;
      const oh = 2 * th;
      const last = oh + 1 >= outH; // the tile's second row is past the output
      for (let tw = 0; tw < tilesW; tw += 4) {
        // Four tiles: row r holds outputs (oh + r, 2tw .. 2tw + 7); p lanes the even columns, q the odd.
        const ow = 2 * tw;
        const r0 = plane + (<usize>(oh * outW + ow) << 2);
        const lo0 = loadRowLo(r0, outW - ow), hi0 = loadRowHi(r0, outW - ow);
        let lo1 = zero, hi1 = zero;
        if (!last) {
          lo1 = loadRowLo(r0 + (<usize>outW << 2), outW - ow);
          hi1 = loadRowHi(r0 + (<usize>outW << 2), outW - ow);
        }
        const dst = e + (<usize>(ko * ts + t0 + tw) << 2);
        dyTiles4(lo0, hi0, lo1, hi1, dst, xiStride, min(4, tilesW - tw));
      }
    }
  }
}

// The 16 values A dY A^T of four 2x2 output-gradient tiles side by side, from their two rows (lo: the 4
// floats at 2 tw, hi: the 4 after), stored as storeTile does (xi = 4 * row + j, the first n lanes). Shared
// by winograd_dy and the fused weight gradient.
@inline export function dyTiles4(
  lo0: v128, hi0: v128, lo1: v128, hi1: v128, dst: usize, xiStride: usize, n: i32,
): void {
  const p0 = v128.shuffle<f32>(lo0, hi0, 0, 2, 4, 6), q0 = v128.shuffle<f32>(lo0, hi0, 1, 3, 5, 7);
  const p1 = v128.shuffle<f32>(lo1, hi1, 0, 2, 4, 6), q1 = v128.shuffle<f32>(lo1, hi1, 1, 3, 5, 7);
  // Across the row: [p, p + q, p - q, -q]; then down: rows (a, b) -> [a, a + b, a - b, -b].
  const a0 = p0, a1 = f32x4.add(p0, q0), a2 = f32x4.sub(p0, q0), a3 = f32x4.neg(q0);
  const b0 = p1, b1 = f32x4.add(p1, q1), b2 = f32x4.sub(p1, q1), b3 = f32x4.neg(q1);
  storeTile(dst, xiStride, 0, a0, n); storeTile(dst, xiStride, 1, a1, n);
  storeTile(dst, xiStride, 2, a2, n); storeTile(dst, xiStride, 3, a3, n);
  storeTile(dst, xiStride, 4, f32x4.add(a0, b0), n); storeTile(dst, xiStride, 5, f32x4.add(a1, b1), n);
  storeTile(dst, xiStride, 6, f32x4.add(a2, b2), n); storeTile(dst, xiStride, 7, f32x4.add(a3, b3), n);
  storeTile(dst, xiStride, 8, f32x4.sub(a0, b0), n); storeTile(dst, xiStride, 9, f32x4.sub(a1, b1), n);
  storeTile(dst, xiStride, 10, f32x4.sub(a2, b2), n); storeTile(dst, xiStride, 11, f32x4.sub(a3, b3), n);
  storeTile(dst, xiStride, 12, f32x4.neg(b0), n); storeTile(dst, xiStride, 13, f32x4.neg(b1), n);
  storeTile(dst, xiStride, 14, f32x4.neg(b2), n); storeTile(dst, xiStride, 15, f32x4.neg(b3), n);
}

// The floats [0, 4) of the row at src whose first n floats are valid (zeros past them).
@inline export function loadRowLo(src: usize, n: i32): v128 {
  if (n >= 4) return v128.load(src);
  let v = v128.load32_zero(src);
  if (n > 1) v = v128.load32_lane(src, v, 1, 4);
  if (n > 2) v = v128.load32_lane(src, v, 2, 8);
  return v;
}

// The floats [4, 8) of the row at src whose first n floats are valid (zeros past them).
@inline export function loadRowHi(src: usize, n: i32): v128 {
  if (n >= 8) return v128.load(src, 16);
  if (n <= 4) return f32x4.splat(0);
  let v = v128.load32_zero(src, 16);
  if (n > 5) v = v128.load32_lane(src, v, 1, 20);
  if (n > 6) v = v128.load32_lane(src, v, 2, 24);
  return v;
}

// dw [kOut, c, 3, 3] (+= if accumulate, else =) G^T D G for each element e = ko * c + ci, where
// D[xi] = du[xi, ko, ci] (du: [16, kOut, c], the summed GEMM products). G^T maps a column (or row)
// [d0, d1, d2, d3] to [d0 + (d1 + d2) / 2, (d1 - d2) / 2, (d1 + d2) / 2 + d3]. Elements go four at a time
// (SIMD lanes) as in winograd_weight. Units: groups of four elements, ceil(kOut * c / 4).
export function winograd_dweight(du: usize, dw: usize, kOut: i32, c: i32, accumulate: i32, start: i32, end: i32): void {
  const total = kOut * c;
  const plane = <usize>total << 2;
  const half = f32x4.splat(0.5);
  for (let q = start; q < end; q++) {
    const e = q * 4, n = min(4, total - e);
    const src = du + (<usize>e << 2);
    // Columns j of D by G^T (lanes past n are zeros and never stored).
    let r00: v128, r01: v128, r02: v128, r03: v128; // row 0 of G^T D, columns j
    let r10: v128, r11: v128, r12: v128, r13: v128;
    let r20: v128, r21: v128, r22: v128, r23: v128;
    {
      const d0 = loadTile(src, plane, 0, n), d1 = loadTile(src, plane, 4, n);
      const d2 = loadTile(src, plane, 8, n), d3 = loadTile(src, plane, 12, n);
      r00 = f32x4.add(d0, f32x4.mul(f32x4.add(d1, d2), half));
      r10 = f32x4.mul(f32x4.sub(d1, d2), half);
      r20 = f32x4.add(f32x4.mul(f32x4.add(d1, d2), half), d3);
    }
    {
      const d0 = loadTile(src, plane, 1, n), d1 = loadTile(src, plane, 5, n);
      const d2 = loadTile(src, plane, 9, n), d3 = loadTile(src, plane, 13, n);
      r01 = f32x4.add(d0, f32x4.mul(f32x4.add(d1, d2), half));
      r11 = f32x4.mul(f32x4.sub(d1, d2), half);
      r21 = f32x4.add(f32x4.mul(f32x4.add(d1, d2), half), d3);
    }
    {
      const d0 = loadTile(src, plane, 2, n), d1 = loadTile(src, plane, 6, n);
      const d2 = loadTile(src, plane, 10, n), d3 = loadTile(src, plane, 14, n);
      r02 = f32x4.add(d0, f32x4.mul(f32x4.add(d1, d2), half));
      r12 = f32x4.mul(f32x4.sub(d1, d2), half);
      r22 = f32x4.add(f32x4.mul(f32x4.add(d1, d2), half), d3);
    }
    {
      const d0 = loadTile(src, plane, 3, n), d1 = loadTile(src, plane, 7, n);
      const d2 = loadTile(src, plane, 11, n), d3 = loadTile(src, plane, 15, n);
      r03 = f32x4.add(d0, f32x4.mul(f32x4.add(d1, d2), half));
      r13 = f32x4.mul(f32x4.sub(d1, d2), half);
      r23 = f32x4.add(f32x4.mul(f32x4.add(d1, d2), half), d3);
    }
    // Then each row by G: dw[e + l] row i = lane l of [ri0 + (ri1 + ri2) / 2, (ri1 - ri2) / 2, (ri1 + ri2) / 2 + ri3].
    const dst = dw + (<usize>e * 9 << 2);
    dweightRow(dst, 0, r00, r01, r02, r03, half, n, accumulate);
    dweightRow(dst, 12, r10, r11, r12, r13, half, n, accumulate);
    dweightRow(dst, 24, r20, r21, r22, r23, half, n, accumulate);
  }
}

// The first n lanes of du plane xi at src (zeros past them, so nothing past the buffer is read).
@inline function loadTile(src: usize, plane: usize, xi: i32, n: i32): v128 {
  const s = src + <usize>xi * plane;
  if (n == 4) return v128.load(s);
  let v = v128.load32_zero(s);
  if (n > 1) v = v128.load32_lane(s, v, 1, 4);
  if (n > 2) v = v128.load32_lane(s, v, 2, 8);
  return v;
}

// Row i of the 3x3 gradients of the n elements (lanes) at dst (off = 12 i bytes from each element's
// first float; elements 36 bytes apart): [t0 + (t1 + t2) / 2, (t1 - t2) / 2, (t1 + t2) / 2 + t3].
@inline function dweightRow(dst: usize, off: usize, t0: v128, t1: v128, t2: v128, t3: v128, half: v128, n: i32, accumulate: i32): void {
  const s = f32x4.mul(f32x4.add(t1, t2), half);
  const c0 = f32x4.add(t0, s), c1 = f32x4.mul(f32x4.sub(t1, t2), half), c2 = f32x4.add(s, t3);
  scatter3(dst + off, c0, c1, c2, 0, accumulate);
  if (n > 1) scatter3(dst + off, c0, c1, c2, 1, accumulate);
  if (n > 2) scatter3(dst + off, c0, c1, c2, 2, accumulate);
  if (n > 3) scatter3(dst + off, c0, c1, c2, 3, accumulate);
}

// Stores lane l of c0, c1, c2 to the three floats at dst + 36 l (adding to them if accumulate).
@inline function scatter3(dst: usize, c0: v128, c1: v128, c2: v128, l: i32, accumulate: i32): void {
  const p = dst + <usize>l * 36;
  let v0 = f32x4.extract_lane(c0, 0), v1 = f32x4.extract_lane(c1, 0), v2 = f32x4.extract_lane(c2, 0);
  if (l == 1) { v0 = f32x4.extract_lane(c0, 1); v1 = f32x4.extract_lane(c1, 1); v2 = f32x4.extract_lane(c2, 1); }
  if (l == 2) { v0 = f32x4.extract_lane(c0, 2); v1 = f32x4.extract_lane(c1, 2); v2 = f32x4.extract_lane(c2, 2); }
  if (l == 3) { v0 = f32x4.extract_lane(c0, 3); v1 = f32x4.extract_lane(c1, 3); v2 = f32x4.extract_lane(c2, 3); }
  if (accumulate) {
    v0 += load<f32>(p); v1 += load<f32>(p, 4); v2 += load<f32>(p, 8);
  }
  store<f32>(p, v0); store<f32>(p, v1, 4); store<f32>(p, v2, 8);
}
