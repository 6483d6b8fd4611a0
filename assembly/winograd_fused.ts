import { MR, micro, micro4, packA } from "./gemm";
import { inputTiles4, outputTiles4 } from "./winograd";
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
      const src = x + (<usize>((img * c + ch) * h * w) << 2);
      // Padded row r holds input row 2 th0 - pt + r at column offset pl.
      for (let r = 0; r < 2 * nr + 2; r++) {
        const iy = 2 * th0 - pt + r;
        if (iy < 0 || iy >= h) continue;
        memory.copy(pad + <usize>r * rowBytes + (<usize>pl << 2), src + (<usize>(iy * w) << 2), <usize>w << 2);
      }
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
