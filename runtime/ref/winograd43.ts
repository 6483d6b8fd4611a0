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
import { F43, winogradTransforms } from "./_small_matrix.ts";

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
  winogradTransforms.weight(F43, h.f32, w, u, kOut, c, start, end);
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
  const g = { x, v, c, imgStride, H, W, pt, pl };
  winogradTransforms.input(F43, h.f32, g, tilesH, tilesW, vStride, ts, start, end);
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
  const g = { m, y, bias, relu, kOut, outH, outW };
  winogradTransforms.output(F43, h.f32, g, tilesH, tilesW, mStride, ts, start, end);
}
