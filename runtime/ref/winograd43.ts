/**
 * Reference Winograd F(4x4, 3x3) forward transforms: the readable specification of
 * `assembly/winograd43.ts` (same names and arguments, heap first). Tile t = (img * tilesH + th) * tilesW
 * + tw covers outputs [4th, 4th + 4) x [4tw, 4tw + 4); its 6x6 input patch starts at (4th - pt, 4tw - pl).
 * The forward is Y_t = A^T [(G g G^T) .* (B^T d_t B)] A summed over input channels, with the Lavin-Gray
 * points 0, 1, -1, 2, -2 and infinity; element xi of a 6x6 transformed tile is (row, column) =
 * (floor(xi / 6), xi % 6).
 * @module
 */
import type { Heap } from "../heap.ts";
import { sandwich, transpose } from "./_small_matrix.ts";

/** B^T of F(4x4, 3x3). */
const BT = [
  [4, 0, -5, 0, 1, 0],
  [0, -4, -4, 1, 1, 0],
  [0, 4, -4, -1, 1, 0],
  [0, -2, -1, 2, 1, 0],
  [0, 2, -1, -2, 1, 0],
  [0, 4, 0, -5, 0, 1],
];
/** G of F(4x4, 3x3). */
const G = [
  [1 / 4, 0, 0],
  [-1 / 6, -1 / 6, -1 / 6],
  [-1 / 6, 1 / 6, -1 / 6],
  [1 / 24, 1 / 12, 1 / 6],
  [1 / 24, -1 / 12, 1 / 6],
  [0, 0, 1],
];
/** A^T of F(4x4, 3x3). */
const AT = [
  [1, 1, 1, 1, 1, 0],
  [0, 1, -1, 2, -2, 0],
  [0, 1, 1, 4, 4, 0],
  [0, 1, -1, 8, -8, 1],
];
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** u[xi, ko, ci] = (G g G^T)[xi] for g = w[ko, ci] (3x3); unit q: the elements e = ko * c + ci in [4q, 4q + 4). */
export function winograd43_weight(
  h: Heap,
  w: number,
  u: number,
  kOut: number,
  c: number,
  start: number,
  end: number,
): void {
  const f = h.f32;
  for (let e = 4 * start; e < Math.min(4 * end, kOut * c); e++) {
    const g = range(3).map((i) => range(3).map((j) => f[(w >> 2) + e * 9 + i * 3 + j]));
    const t = sandwich(G, g, transpose(G));
    for (let xi = 0; xi < 36; xi++) f[(u >> 2) + xi * kOut * c + e] = t[Math.floor(xi / 6)][xi % 6];
  }
}

/**
 * v[xi, ch, t] = (B^T d B)[xi] for the tile's 6x6 patch d of plane (img, ch), planes xi vStride floats
 * apart; units img * c + ch. The last argument, the Wasm kernel's scratch pointer, is unused.
 */
export function winograd43_input(
  h: Heap,
  x: number,
  v: number,
  c: number,
  imgStride: number,
  H: number,
  W: number,
  pt: number,
  pl: number,
  tilesH: number,
  tilesW: number,
  _nimg: number, // images in the chunk (the units say which plane)
  vStride: number,
  ts: number,
  start: number,
  end: number,
): void {
  const f = h.f32;
  for (let u = start; u < end; u++) {
    const img = Math.floor(u / c), ch = u % c;
    const at = (i: number, j: number) =>
      i < 0 || i >= H || j < 0 || j >= W ? 0 : f[(x >> 2) + img * imgStride + (ch * H + i) * W + j];
    for (let th = 0; th < tilesH; th++) {
      for (let tw = 0; tw < tilesW; tw++) {
        const d = range(6).map((i) => range(6).map((j) => at(4 * th - pt + i, 4 * tw - pl + j)));
        const t = (img * tilesH + th) * tilesW + tw;
        const r = sandwich(BT, d, transpose(BT));
        for (let xi = 0; xi < 36; xi++) {
          f[(v >> 2) + xi * vStride + ch * ts + t] = r[Math.floor(xi / 6)][xi % 6];
        }
      }
    }
  }
}

/**
 * y[img, ko] tile = A^T M A (+ bias[ko], then ReLU if relu) from m[xi, ko, t] (planes xi mStride floats
 * apart); units img * kOut + ko. The last argument, the Wasm kernel's scratch pointer, is unused.
 */
export function winograd43_output(
  h: Heap,
  m: number,
  y: number,
  bias: number,
  relu: number,
  kOut: number,
  outH: number,
  outW: number,
  tilesH: number,
  tilesW: number,
  _nimg: number, // images in the chunk (the units say which plane)
  mStride: number,
  ts: number,
  start: number,
  end: number,
): void {
  const f = h.f32;
  for (let u = start; u < end; u++) {
    const img = Math.floor(u / kOut), ko = u % kOut;
    const b = bias ? f[(bias >> 2) + ko] : 0;
    for (let th = 0; th < tilesH; th++) {
      for (let tw = 0; tw < tilesW; tw++) {
        const t = (img * tilesH + th) * tilesW + tw;
        const M = range(6).map((i) => range(6).map((j) => f[(m >> 2) + (i * 6 + j) * mStride + ko * ts + t]));
        const r = sandwich(AT, M, transpose(AT));
        for (let i = 0; i < 4; i++) {
          for (let j = 0; j < 4; j++) {
            const oh = 4 * th + i, ow = 4 * tw + j;
            if (oh >= outH || ow >= outW) continue;
            const val = r[i][j] + b;
            f[(y >> 2) + (u * outH + oh) * outW + ow] = relu && val < 0 ? 0 : val;
          }
        }
      }
    }
  }
}
