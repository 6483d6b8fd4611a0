import { MR, micro, micro4, packA } from "./gemm";
import { madd } from "./_simd";
import { copyRows, dyTiles4, inputTiles4, loadRowHi, loadRowLo, outputTiles4 } from "./winograd";
// Winograd F(2x2, 3x3) forward with the transforms and the 16 GEMMs fused per band of tile rows: a band's
// input tiles are transformed straight into packed GEMM panels in the thread's scratch, multiplied by the
// packed weights with the GEMM micro-kernels, and transformed back into the output, so the transformed
// tiles never leave the cache (the unfused path writes and reads them through memory: 4x the input, then
// 4x the output).

// up [16, ceil(kOut / 6), c, 6] = U [16, kOut, c] (winograd_weight's output) packed as GEMM A panels of 6
// rows (zero rows past kOut). Units: xi.
export function winograd_pack_u(u: usize, up: usize, kOut: i32, c: i32, start: i32, end: i32): void {
  const panels = (kOut + MR - 1) / MR;
  for (let xi = start; xi < end; xi++) {
    packA(u + (<usize>(xi * kOut * c) << 2), c, false, 0, kOut, 0, c, up + (<usize>(xi * panels * c * MR) << 2));
  }
}

// y [nimg, kOut, outH, outW] = conv3x3(x) (+ bias) (ReLU if relu != 0) for x [nimg, c, h, w] (padding pt,
// pl; stride 1), with up the packed transformed weights (winograd_pack_u). Units: (img, band of `rows` tile
// rows), the band fastest. Tiles of a band are numbered t = r * tw4 + tw (tw4 = tilesW rounded up to 4) and
// grouped in panels of 8. Scratch (winogradFusedScratchBytes in runtime/kernels/winograd.ts), in floats:
// padded band (2 rows + 2) x (2 tw4 + 12), then V [16, Q, c, 8] (Q = ceil(rows tw4 / 8)), then
// M [16, kOut, 8 Q] (+4), then 64 for partial micro-kernel tiles.
export function winograd_fused(
  x: usize, up: usize, bias: usize, y: usize, c: i32, kOut: i32, h: i32, w: i32, pt: i32, pl: i32,
  outH: i32, outW: i32, tilesH: i32, tilesW: i32, rows: i32, relu: i32, start: i32, end: i32, scratch: usize,
): void {
  const tw4 = (tilesW + 3) & ~3;
  const bands = (tilesH + rows - 1) / rows;
  const q8 = (rows * tw4 + 7) >> 3; // panels of 8 tiles
  const tb = q8 << 3;
  const wp = 2 * tw4 + 12, hp = 2 * rows + 2;
  const rowBytes = <usize>wp << 2;
  const pad = scratch;
  const v = pad + (<usize>(wp * hp) << 2);
  const vXi = <usize>(q8 * c * 8) << 2; // bytes between the xi of V
  const m = v + <usize>16 * vXi;
  const mXi = <usize>(kOut * tb) << 2;
  const tmp = m + <usize>16 * mXi + 16;
  const kPanels = (kOut + MR - 1) / MR;
  const zero = f32x4.splat(0);
  for (let u = start; u < end; u++) {
    const band = u % bands, img = u / bands;
    const th0 = band * rows, nr = min(rows, tilesH - th0);
    // 1. Input tiles of every channel into V (panel layout: V[xi][q][ch][j], tile t = 8 q + j). Panel lanes
    // past the band's tiles are zeroed (their products are never read, but must stay finite and fast).
    const valid = nr * tw4;
    for (let q = valid >> 3; q < q8; q++) {
      const j0 = max(0, valid - 8 * q);
      for (let xi = 0; xi < 16; xi++) {
        for (let ch = 0; ch < c; ch++) {
          memory.fill(v + <usize>xi * vXi + (<usize>((q * c + ch) * 8 + j0) << 2), 0, <usize>(8 - j0) << 2);
        }
      }
    }
    // Every channel writes the same cells of the padded band, so the zeros around them are set once.
    memory.fill(pad, 0, <usize>(wp * hp) << 2);
    for (let ch = 0; ch < c; ch++) {
      copyRows(x + (<usize>((img * c + ch) * h * w) << 2), pad, rowBytes, 2 * th0 - pt, 2 * nr + 2, pl, h, w);
      for (let r = 0; r < nr; r++) {
        for (let tw = 0; tw < tw4; tw += 4) {
          const t = r * tw4 + tw;
          const dst = v + (<usize>(((t >> 3) * c + ch) * 8 + (t & 7)) << 2);
          inputTiles4(pad + <usize>(2 * r) * rowBytes + (<usize>(2 * tw) << 2), rowBytes, dst, vXi, 4);
        }
      }
    }
    // 2. M_xi [kOut, tb] = U_xi [kOut, c] x V_xi [c, tb] with the GEMM micro-kernels (k = c).
    for (let xi = 0; xi < 16; xi++) {
      for (let kp = 0; kp < kPanels; kp++) {
        const mr = min(MR, kOut - kp * MR);
        const pa = up + (<usize>((xi * kPanels + kp) * c * MR) << 2);
        for (let q = 0; q < q8; q++) {
          const pb = v + <usize>xi * vXi + (<usize>(q * c * 8) << 2);
          const cp = m + <usize>xi * mXi + (<usize>(kp * MR * tb + q * 8) << 2);
          if (mr <= 4) micro4(pa, pb, c, cp, tb, mr, 8, true, tmp);
          else micro(pa, pb, c, cp, tb, mr, 8, true, tmp);
        }
      }
    }
    // 3. Output tiles A^T M A (+ bias) into y.
    for (let ko = 0; ko < kOut; ko++) {
      const b = bias != 0 ? f32x4.splat(load<f32>(bias + (<usize>ko << 2))) : zero;
      const plane = y + (<usize>((img * kOut + ko) * outH * outW) << 2);
      for (let r = 0; r < nr; r++) {
        const oh = 2 * (th0 + r);
        for (let tw = 0; tw < tilesW; tw += 4) {
          const ow = 2 * tw;
          const src = m + (<usize>(ko * tb + r * tw4 + tw) << 2);
          outputTiles4(src, mXi, b, relu, plane + (<usize>(oh * outW + ow) << 2), outW, outW - ow, oh + 1 < outH);
        }
      }
    }
  }
}

// Weight gradient, fused: du [parts, 16, kOut, c], part p (one unit) = sum over its bands of the 16 GEMMs
// E_xi [kOut, tiles] x V_xi^T [tiles, c] (E = A dY A^T, V = B^T d B, as winograd_dy and winograd_input
// compute them), for x [nimg, c, h, w] (padding pt, pl; stride 1) and dy [nimg, kOut, outH, outW]. The
// nimg * ceil(tilesH / rows) bands (img, band of `rows` tile rows; band fastest) are split evenly over the
// parts, and a part takes them `group` at a time: their tiles are transformed into the thread's scratch
// (tile-fastest rows, as the unfused transforms write them, but only a few hundred tiles, so they stay in
// cache), then every 2 x 4 block of dU_xi is summed over those tiles with SIMD lanes along the tiles and
// added up across lanes at the end. Nothing 4x-expanded goes through memory and nothing is packed. The
// launcher maps the parts' sums back with winograd_dweight (linear, so part by part, accumulating). Tiles
// past tilesW (tw4 = tilesW rounded up to 4) get E = 0. Scratch (winogradFusedWgradScratchBytes in
// runtime/kernels/winograd_fused.ts), in floats: padded band (2 rows + 2) x (2 tw4 + 12), then
// V [16, c4, T] and E [16, k2, T] (c4, k2: c and kOut rounded up to 4 and 2, the extra rows zero; T =
// group rows tw4 rounded up to 8; planes oddLines apart).
export function winograd_fused_wgrad(
  x: usize, dy: usize, du: usize, c: i32, kOut: i32, h: i32, w: i32, pt: i32, pl: i32, outH: i32, outW: i32,
  tilesH: i32, tilesW: i32, rows: i32, group: i32, nimg: i32, parts: i32, start: i32, end: i32, scratch: usize,
): void {
  const tw4 = (tilesW + 3) & ~3;
  const bands = (tilesH + rows - 1) / rows;
  const total = nimg * bands;
  const tb = (group * rows * tw4 + 7) & ~7; // the row length of V and E: a full group's tiles, rounded up to 8
  const c4 = (c + 3) & ~3, k2 = (kOut + 1) & ~1;
  const wp = 2 * tw4 + 12, hp = 2 * rows + 2;
  const rowBytes = <usize>wp << 2;
  const tRow = <usize>tb << 2; // bytes between the rows of a V or E plane
  const pad = scratch;
  const v = pad + (<usize>(wp * hp) << 2);
  // Bytes between the xi planes: an odd number of cache lines (as planeStride in
  // runtime/kernels/winograd.ts), so the 16 planes a transform writes together use different cache sets.
  const vXi = <usize>oddLines(c4 * tb) << 2;
  const e = v + <usize>16 * vXi;
  const eXi = <usize>oddLines(k2 * tb) << 2;
  const slotBytes = <usize>(16 * kOut * c) << 2;
  const zero = f32x4.splat(0);
  // The padding rows (channels past c and kOut) feed sums that are never stored; they are zeroed once so
  // stale scratch (denormals, say) cannot slow those sums down.
  for (let xi = 0; xi < 16; xi++) {
    if (c4 > c) memory.fill(v + <usize>xi * vXi + <usize>c * tRow, 0, <usize>(c4 - c) * tRow);
    if (k2 > kOut) memory.fill(e + <usize>xi * eXi + <usize>kOut * tRow, 0, <usize>(k2 - kOut) * tRow);
  }
  for (let p = start; p < end; p++) {
    const slot = du + <usize>p * slotBytes;
    const u0 = <i32>(<i64>p * total / parts), u1 = <i32>(<i64>(p + 1) * total / parts);
    if (u0 == u1) memory.fill(slot, 0, slotBytes);
    for (let g0 = u0; g0 < u1; g0 += group) {
      let t0 = 0; // tiles of this group so far
      for (let u = g0; u < min(u1, g0 + group); u++) {
        const band = u % bands, img = u / bands;
        const th0 = band * rows, nr = min(rows, tilesH - th0);
        // 1. V: input tiles; tile t0 + r tw4 + tw of channel ch at ch * tb + t0 + r tw4 + tw of each plane.
        memory.fill(pad, 0, <usize>(wp * hp) << 2);
        for (let ch = 0; ch < c; ch++) {
          copyRows(x + (<usize>((img * c + ch) * h * w) << 2), pad, rowBytes, 2 * th0 - pt, 2 * nr + 2, pl, h, w);
          for (let r = 0; r < nr; r++) {
            const dst = v + <usize>ch * tRow + (<usize>(t0 + r * tw4) << 2);
            const row = pad + <usize>(2 * r) * rowBytes;
            for (let tw = 0; tw < tw4; tw += 4) {
              inputTiles4(row + (<usize>(2 * tw) << 2), rowBytes, dst + (<usize>tw << 2), vXi, 4);
            }
          }
        }
        // 2. E: output-gradient tiles, laid out as V (zeros past the output).
        for (let ko = 0; ko < kOut; ko++) {
          const plane = dy + (<usize>((img * kOut + ko) * outH * outW) << 2);
          for (let r = 0; r < nr; r++) {
            const oh = 2 * (th0 + r);
            const second = oh + 1 < outH;
            const dst = e + <usize>ko * tRow + (<usize>(t0 + r * tw4) << 2);
            for (let tw = 0; tw < tw4; tw += 4) {
              const ow = 2 * tw;
              let lo0 = zero, hi0 = zero, lo1 = zero, hi1 = zero;
              if (ow < outW) {
                const r0 = plane + (<usize>(oh * outW + ow) << 2);
                lo0 = loadRowLo(r0, outW - ow);
                hi0 = loadRowHi(r0, outW - ow);
                if (second) {
                  lo1 = loadRowLo(r0 + (<usize>outW << 2), outW - ow);
                  hi1 = loadRowHi(r0 + (<usize>outW << 2), outW - ow);
                }
              }
              dyTiles4(lo0, hi0, lo1, hi1, dst + (<usize>tw << 2), eXi, 4);
            }
          }
        }
        t0 += nr * tw4;
      }
      // The sums take 8 tiles a step: zero the 4 after an odd number of 4-tile groups.
      if ((t0 & 7) != 0) {
        const zero4 = f32x4.splat(0), at = <usize>t0 << 2;
        for (let xi = 0; xi < 16; xi++) {
          for (let ch = 0; ch < c; ch++) v128.store(v + <usize>xi * vXi + <usize>ch * tRow + at, zero4);
          for (let ko = 0; ko < kOut; ko++) v128.store(e + <usize>xi * eXi + <usize>ko * tRow + at, zero4);
        }
        t0 += 4;
      }
      // 3. du_xi [kOut, c] (+)= E_xi [kOut, t0] V_xi^T over the group's t0 tiles (the first group of a part
      // overwrites).
      const first = g0 == u0;
      for (let xi = 0; xi < 16; xi++) {
        const ex = e + <usize>xi * eXi, vx = v + <usize>xi * vXi;
        const dx = slot + (<usize>(xi * kOut * c) << 2);
        for (let kb = 0; kb < k2; kb += 2) {
          for (let cb = 0; cb < c4; cb += 4) {
            dotBlock(ex + <usize>kb * tRow, vx + <usize>cb * tRow, tRow, t0, dx, kb, cb, kOut, c, first);
          }
        }
      }
    }
  }
}

// Rows kb, kb + 1 (those < kOut) and columns cb .. cb + 3 (those < c) of du [kOut, c] (first ? = : +=) the
// sums over t in [0, n) (n a multiple of 8) of ep[i][t] vp[j][t]: 2 rows of E at ep, 4 of V at vp, rows
// rowBytes apart; 8 accumulators with the tiles in their lanes (8 tiles a step), added up across lanes at
// the end.
@inline function dotBlock(
  ep: usize, vp: usize, rowBytes: usize, n: i32, du: usize, kb: i32, cb: i32, kOut: i32, c: i32, first: bool,
): void {
  let a00 = f32x4.splat(0), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
  const e1 = ep + rowBytes, v1 = vp + rowBytes, v2 = vp + 2 * rowBytes, v3 = vp + 3 * rowBytes;
  for (let o: usize = 0; o < (<usize>n << 2); o += 32) {
    let x0 = v128.load(ep + o), x1 = v128.load(e1 + o);
    let y = v128.load(vp + o);
    a00 = madd(x0, y, a00);
    a10 = madd(x1, y, a10);
    y = v128.load(v1 + o);
    a01 = madd(x0, y, a01);
    a11 = madd(x1, y, a11);
    y = v128.load(v2 + o);
    a02 = madd(x0, y, a02);
    a12 = madd(x1, y, a12);
    y = v128.load(v3 + o);
    a03 = madd(x0, y, a03);
    a13 = madd(x1, y, a13);
    x0 = v128.load(ep + o, 16);
    x1 = v128.load(e1 + o, 16);
    y = v128.load(vp + o, 16);
    a00 = madd(x0, y, a00);
    a10 = madd(x1, y, a10);
    y = v128.load(v1 + o, 16);
    a01 = madd(x0, y, a01);
    a11 = madd(x1, y, a11);
    y = v128.load(v2 + o, 16);
    a02 = madd(x0, y, a02);
    a12 = madd(x1, y, a12);
    y = v128.load(v3 + o, 16);
    a03 = madd(x0, y, a03);
    a13 = madd(x1, y, a13);
  }
  const cols = min(4, c - cb);
  const d = du + (<usize>(kb * c + cb) << 2);
  putRow(d, lanesSum4(a00, a01, a02, a03), cols, first);
  if (kb + 1 < kOut) putRow(d + (<usize>c << 2), lanesSum4(a10, a11, a12, a13), cols, first);
}

// [sum of a's lanes, of b's, of c's, of d's].
@inline function lanesSum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(v128.shuffle<f32>(a, b, 0, 4, 1, 5), v128.shuffle<f32>(a, b, 2, 6, 3, 7));
  const cd = f32x4.add(v128.shuffle<f32>(c, d, 0, 4, 1, 5), v128.shuffle<f32>(c, d, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(ab, cd, 0, 1, 4, 5), v128.shuffle<f32>(ab, cd, 2, 3, 6, 7));
}

// dst[0, n) (first ? = : +=) the first n (1..4) lanes of val.
@inline function putRow(dst: usize, val: v128, n: i32, first: bool): void {
  if (n == 4) {
    v128.store(dst, first ? val : f32x4.add(v128.load(dst), val));
    return;
  }
  for (let j = 0; j < n; j++) {
    const d = dst + (<usize>j << 2);
    const s = f32x4.extract_lane(val, 0);
    store<f32>(d, first ? s : load<f32>(d) + s);
    val = v128.shuffle<f32>(val, val, 1, 2, 3, 0);
  }
}

// n floats rounded up to an odd number of 16-float cache lines.
@inline function oddLines(n: i32): i32 {
  const lines = (n + 15) >> 4;
  return (lines | 1) << 4;
}
