/**
 * Small dense matrix helpers of the reference Winograd transforms (not kernels: not in REF_KERNELS).
 * @module
 */

/** L X R for small dense matrices. */
export function sandwich(l: number[][], x: number[][], r: number[][]): number[][] {
  const lx = l.map((row) => x[0].map((_, j) => row.reduce((s, v, p) => s + v * x[p][j], 0)));
  return lx.map((row) => r[0].map((_, j) => row.reduce((s, v, p) => s + v * r[p][j], 0)));
}

/** The transpose of a. */
export function transpose(a: number[][]): number[][] {
  return a[0].map((_, j) => a.map((row) => row[j]));
}

/** The matrices of Winograd F(2x2, 3x3): B^T (4x4), G (4x3), A^T (2x4). */
export const F23: WinogradMatrices = {
  BT: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
  G: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
  AT: [[1, 1, 1, 0], [0, 1, -1, -1]],
};

/** The matrices of Winograd F(4x4, 3x3) (Lavin-Gray points 0, 1, -1, 2, -2, infinity): B^T (6x6), G (6x3), A^T (4x6). */
export const F43: WinogradMatrices = {
  BT: [
    [4, 0, -5, 0, 1, 0],
    [0, -4, -4, 1, 1, 0],
    [0, 4, -4, -1, 1, 0],
    [0, -2, -1, 2, 1, 0],
    [0, 2, -1, -2, 1, 0],
    [0, 4, 0, -5, 0, 1],
  ],
  G: [
    [1 / 4, 0, 0],
    [-1 / 6, -1 / 6, -1 / 6],
    [-1 / 6, 1 / 6, -1 / 6],
    [1 / 24, 1 / 12, 1 / 6],
    [1 / 24, -1 / 12, 1 / 6],
    [0, 0, 1],
  ],
  AT: [
    [1, 1, 1, 1, 1, 0],
    [0, 1, -1, 2, -2, 0],
    [0, 1, 1, 4, 4, 0],
    [0, 1, -1, 8, -8, 1],
  ],
};

/** B^T, G and A^T of a Winograd F(m x m, 3x3): tiles of a = m + 2 inputs, m outputs. */
export interface WinogradMatrices {
  BT: number[][];
  G: number[][];
  AT: number[][];
}

/**
 * The three forward transforms of the reference Winograd kernels, for either variant (a x a transformed
 * tiles, element xi = (row, column) = (floor(xi / a), xi % a)); arguments as the kernels'. Tile
 * t = (img * tilesH + th) * tilesW + tw covers outputs [m th, m th + m) x [m tw, m tw + m); its input patch
 * starts at (m th - pt, m tw - pl).
 */
export const winogradTransforms = {
  /** u[xi, ko, ci] = (G g G^T)[xi] for g = w[ko, ci] (3x3); unit q: the elements e = ko * c + ci in [4q, 4q + 4). */
  weight(
    F: WinogradMatrices,
    f: Float32Array,
    w: number,
    u: number,
    kOut: number,
    c: number,
    start: number,
    end: number,
  ) {
    const a = F.BT.length, GT = transpose(F.G);
    for (let e = 4 * start; e < Math.min(4 * end, kOut * c); e++) {
      const g = [0, 1, 2].map((i) => [0, 1, 2].map((j) => f[(w >> 2) + e * 9 + i * 3 + j]));
      const t = sandwich(F.G, g, GT);
      for (let xi = 0; xi < a * a; xi++) f[(u >> 2) + xi * kOut * c + e] = t[Math.floor(xi / a)][xi % a];
    }
  },
  /** v[xi, ch, t] (at xi * ps + ch * ts + t) = (B^T d B)[xi] for the tile's patch d of plane (img, ch); units img * c + ch. */
  input(
    F: WinogradMatrices,
    f: Float32Array,
    g: { x: number; v: number; c: number; imgStride: number; H: number; W: number; pt: number; pl: number },
    tilesH: number,
    tilesW: number,
    ps: number,
    ts: number,
    start: number,
    end: number,
  ) {
    const a = F.BT.length, m = F.AT.length, B = transpose(F.BT);
    for (let u = start; u < end; u++) {
      const img = Math.floor(u / g.c), ch = u % g.c;
      const at = (i: number, j: number) =>
        i < 0 || i >= g.H || j < 0 || j >= g.W
          ? 0
          : f[(g.x >> 2) + img * g.imgStride + (ch * g.H + i) * g.W + j];
      for (let th = 0; th < tilesH; th++) {
        for (let tw = 0; tw < tilesW; tw++) {
          const d = range(a).map((i) => range(a).map((j) => at(m * th - g.pt + i, m * tw - g.pl + j)));
          const t = (img * tilesH + th) * tilesW + tw;
          const r = sandwich(F.BT, d, B);
          for (let xi = 0; xi < a * a; xi++) {
            f[(g.v >> 2) + xi * ps + ch * ts + t] = r[Math.floor(xi / a)][xi % a];
          }
        }
      }
    }
  },
  /** y[img, ko] tile = A^T M A (+ bias[ko], then ReLU if relu) from m[xi, ko, t] (at xi * ps + ko * ts + t); units img * kOut + ko. */
  output(
    F: WinogradMatrices,
    f: Float32Array,
    g: { m: number; y: number; bias: number; relu: number; kOut: number; outH: number; outW: number },
    tilesH: number,
    tilesW: number,
    ps: number,
    ts: number,
    start: number,
    end: number,
  ) {
    const a = F.BT.length, m = F.AT.length, A = transpose(F.AT);
    for (let u = start; u < end; u++) {
      const img = Math.floor(u / g.kOut), ko = u % g.kOut;
      const b = g.bias ? f[(g.bias >> 2) + ko] : 0;
      for (let th = 0; th < tilesH; th++) {
        for (let tw = 0; tw < tilesW; tw++) {
          const t = (img * tilesH + th) * tilesW + tw;
          const M = range(a).map((i) => range(a).map((j) => f[(g.m >> 2) + (i * a + j) * ps + ko * ts + t]));
          const r = sandwich(F.AT, M, A);
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < m; j++) {
              const oh = m * th + i, ow = m * tw + j;
              if (oh >= g.outH || ow >= g.outW) continue;
              const val = r[i][j] + b;
              f[(g.y >> 2) + (u * g.outH + oh) * g.outW + ow] = g.relu && val < 0 ? 0 : val;
            }
          }
        }
      }
    }
  },
};

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
