/**
 * Reference Winograd F(2x2, 3x3) transforms: the readable specification of `assembly/winograd.ts`
 * (same names and arguments, heap first). Tile t = (img * tilesH + th) * tilesW + tw covers outputs
 * [2th, 2th + 2) x [2tw, 2tw + 2); its 4x4 input patch starts at (2th - pt, 2tw - pl).
 *
 * The forward is Y_t = A^T [(G g G^T) .* (B^T d_t B)] A summed over input channels. Its adjoint with
 * respect to g (the weight gradient) is dW = G^T [sum_t (A dY_t A^T) .* (B^T d_t B)] G: `winograd_dy`
 * transforms the output-gradient tiles, 16 GEMMs sum over the tiles, `winograd_dweight` maps back.
 * @module
 */
import type { Heap } from "../heap.ts";
import { F23, sandwich, transpose, winogradTransforms } from "./_small_matrix.ts";

/** G of F(2x2, 3x3). */
const G = F23.G;
/** A^T of F(2x2, 3x3). */
const AT = F23.AT;

const A = transpose(AT);
const GT = transpose(G);

/** u[xi, ko, ci] = (G g G^T)[xi] for g = w[ko, ci] (3x3); unit q: the elements e = ko * c + ci in [4q, 4q + 4). */
export function winograd_weight(
  h: Heap,
  w: number,
  u: number,
  kOut: number,
  c: number,
  start: number,
  end: number,
): void {
  winogradTransforms.weight(F23, h.f32, w, u, kOut, c, start, end);
}

/**
 * v[xi, ch, t] (at xi * ps + ch * ts + t) = (B^T d B)[xi] for the tile's patch d of plane (img, ch); units
 * img * c + ch.
 */
export function winograd_input(
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
  ps: number,
  ts: number,
  start: number,
  end: number,
): void {
  const g = { x, v, c, imgStride, H, W, pt, pl };
  winogradTransforms.input(F23, h.f32, g, tilesH, tilesW, ps, ts, start, end);
}

/**
 * y[img, ko] tile = A^T M A (+ bias[ko], then ReLU if relu) from m[xi, ko, t] (at xi * ps + ko * ts + t);
 * units img * kOut + ko.
 */
export function winograd_output(
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
  ps: number,
  ts: number,
  start: number,
  end: number,
): void {
  const g = { m, y, bias, relu, kOut, outH, outW };
  winogradTransforms.output(F23, h.f32, g, tilesH, tilesW, ps, ts, start, end);
}

/**
 * e[xi, ko, t] (at xi * ps + ko * ts + t) = (A dY A^T)[xi] for the 2x2 output-gradient tile dY of plane (img, ko) of dy [nimg, kOut,
 * outH, outW] (zero where the tile runs past the output); units img * kOut + ko.
 */
export function winograd_dy(
  h: Heap,
  dy: number,
  e: number,
  kOut: number,
  outH: number,
  outW: number,
  tilesH: number,
  tilesW: number,
  _nimg: number, // images in the chunk (the units say which plane)
  ps: number,
  ts: number,
  start: number,
  end: number,
): void {
  const f = h.f32;
  for (let u = start; u < end; u++) {
    const img = Math.floor(u / kOut), ko = u % kOut;
    const at = (i: number, j: number) =>
      i >= outH || j >= outW ? 0 : f[(dy >> 2) + (u * outH + i) * outW + j];
    for (let th = 0; th < tilesH; th++) {
      for (let tw = 0; tw < tilesW; tw++) {
        const d = [0, 1].map((i) => [0, 1].map((j) => at(2 * th + i, 2 * tw + j)));
        const t = (img * tilesH + th) * tilesW + tw;
        const r = sandwich(A, d, AT);
        for (let xi = 0; xi < 16; xi++) f[(e >> 2) + xi * ps + ko * ts + t] = r[xi >> 2][xi & 3];
      }
    }
  }
}

/**
 * dw[ko, ci] (3x3) (+= if accumulate, else =) G^T D G for D[xi] = du[xi, ko, ci]; unit q: the elements
 * e = ko * c + ci in [4q, 4q + 4).
 */
export function winograd_dweight(
  h: Heap,
  du: number,
  dw: number,
  kOut: number,
  c: number,
  accumulate: number,
  start: number,
  end: number,
): void {
  const f = h.f32;
  for (let e = 4 * start; e < Math.min(4 * end, kOut * c); e++) {
    const D = [0, 1, 2, 3].map((i) => [0, 1, 2, 3].map((j) => f[(du >> 2) + (i * 4 + j) * kOut * c + e]));
    const r = sandwich(GT, D, G);
    for (let ij = 0; ij < 9; ij++) {
      const at = (dw >> 2) + e * 9 + ij;
      f[at] = (accumulate ? f[at] : 0) + r[Math.floor(ij / 3)][ij % 3];
    }
  }
}
