/**
 * Reference fused Winograd F(2x2, 3x3) forward: the readable specification of
 * `assembly/winograd_fused.ts` (same names and arguments, heap first). Per tile: V = B^T d B of every input
 * channel, M_xi = sum_ch U_xi[ko, ch] V_xi[ch], Y = A^T M A (+ bias) (ReLU), the weights U read from the
 * packed panels of `winograd_pack_u`. The fused weight gradient (`winograd_fused_wgrad`): per tile,
 * E = A dY A^T of every output-gradient channel and V of every input channel, du_xi[ko, ch] = sum of
 * E[ko]_xi V[ch]_xi over the tiles of each part's bands.
 * @module
 */
import type { Heap } from "../heap.ts";
import { F23, sandwich, transpose } from "./_small_matrix.ts";

const MR = 6;

/** up[((xi * panels + kp) * c + p) * 6 + i] = u[xi, 6 kp + i, p] (0 past kOut), panels = ceil(kOut / 6); units xi. */
export function winograd_pack_u(
  h: Heap,
  u: number,
  up: number,
  kOut: number,
  c: number,
  start: number,
  end: number,
): void {
  const f = h.f32, panels = Math.ceil(kOut / MR);
  for (let xi = start; xi < end; xi++) {
    for (let kp = 0; kp < panels; kp++) {
      for (let p = 0; p < c; p++) {
        for (let i = 0; i < MR; i++) {
          const k = kp * MR + i;
          f[(up >> 2) + ((xi * panels + kp) * c + p) * MR + i] = k < kOut
            ? f[(u >> 2) + (xi * kOut + k) * c + p]
            : 0;
        }
      }
    }
  }
}

/**
 * y[img, ko] = the F(2x2, 3x3) convolution of x (padding pt, pl) for the tiles of units u = (img, band of
 * `rows` tile rows), band fastest (+ bias[ko]) (ReLU if relu). The trailing scratch pointer is unused.
 */
export function winograd_fused(
  h_: Heap,
  x: number,
  up: number,
  bias: number,
  y: number,
  c: number,
  kOut: number,
  h: number,
  w: number,
  pt: number,
  pl: number,
  outH: number,
  outW: number,
  tilesH: number,
  tilesW: number,
  rows: number,
  relu: number,
  start: number,
  end: number,
): void {
  const f = h_.f32, panels = Math.ceil(kOut / MR), bands = Math.ceil(tilesH / rows);
  const U = (xi: number, k: number, ch: number) =>
    f[(up >> 2) + ((xi * panels + Math.floor(k / MR)) * c + ch) * MR + (k % MR)];
  for (let u = start; u < end; u++) {
    const img = Math.floor(u / bands), th0 = (u % bands) * rows;
    for (let th = th0; th < Math.min(tilesH, th0 + rows); th++) {
      for (let tw = 0; tw < tilesW; tw++) {
        // V[ch] = B^T d B for the 4x4 patch at input (2 th - pt, 2 tw - pl), zero outside the image.
        const V = Array.from({ length: c }, (_, ch) => {
          const at = (i: number, j: number) => {
            const iy = 2 * th - pt + i, ix = 2 * tw - pl + j;
            return iy < 0 || iy >= h || ix < 0 || ix >= w
              ? 0
              : f[(x >> 2) + ((img * c + ch) * h + iy) * w + ix];
          };
          const d = [0, 1, 2, 3].map((i) => [0, 1, 2, 3].map((j) => at(i, j)));
          return sandwich(F23.BT, d, transpose(F23.BT));
        });
        for (let ko = 0; ko < kOut; ko++) {
          const M = [0, 1, 2, 3].map((i) =>
            [0, 1, 2, 3].map((j) => V.reduce((s, v, ch) => s + U(i * 4 + j, ko, ch) * v[i][j], 0))
          );
          const r = sandwich(F23.AT, M, transpose(F23.AT));
          for (let i = 0; i < 2; i++) {
            for (let j = 0; j < 2; j++) {
              const oh = 2 * th + i, ow = 2 * tw + j;
              if (oh >= outH || ow >= outW) continue;
              const val = r[i][j] + (bias ? f[(bias >> 2) + ko] : 0);
              f[(y >> 2) + ((img * kOut + ko) * outH + oh) * outW + ow] = relu && val < 0 ? 0 : val;
            }
          }
        }
      }
    }
  }
}

/**
 * du[p, xi, ko, ch] = sum over the tiles of part p's bands of E[ko]_xi V[ch]_xi, with E = A dY A^T (dY the
 * 2x2 output-gradient tile, zero past the output) and V = B^T d B (d the 4x4 input patch, zero outside the
 * image); the nimg * ceil(tilesH / rows) bands (band fastest) split evenly over `parts` (`group`, the
 * bands the kernel transforms at once, changes only the order of the sums). Units: parts. The trailing
 * scratch pointer is unused.
 */
export function winograd_fused_wgrad(
  h_: Heap,
  x: number,
  dy: number,
  du: number,
  c: number,
  kOut: number,
  h: number,
  w: number,
  pt: number,
  pl: number,
  outH: number,
  outW: number,
  tilesH: number,
  tilesW: number,
  rows: number,
  _group: number,
  nimg: number,
  parts: number,
  start: number,
  end: number,
): void {
  const f = h_.f32, bands = Math.ceil(tilesH / rows), total = nimg * bands;
  const A = transpose(F23.AT);
  for (let p = start; p < end; p++) {
    const slot = (du >> 2) + p * 16 * kOut * c;
    f.fill(0, slot, slot + 16 * kOut * c);
    const u0 = Math.floor(p * total / parts), u1 = Math.floor((p + 1) * total / parts);
    for (let u = u0; u < u1; u++) {
      const img = Math.floor(u / bands), th0 = (u % bands) * rows;
      for (let th = th0; th < Math.min(tilesH, th0 + rows); th++) {
        for (let tw = 0; tw < tilesW; tw++) {
          const V = Array.from({ length: c }, (_, ch) => {
            const d = [0, 1, 2, 3].map((i) =>
              [0, 1, 2, 3].map((j) => {
                const iy = 2 * th - pt + i, ix = 2 * tw - pl + j;
                return iy < 0 || iy >= h || ix < 0 || ix >= w
                  ? 0
                  : f[(x >> 2) + ((img * c + ch) * h + iy) * w + ix];
              })
            );
            return sandwich(F23.BT, d, transpose(F23.BT));
          });
          for (let ko = 0; ko < kOut; ko++) {
            const dY = [0, 1].map((i) =>
              [0, 1].map((j) => {
                const oh = 2 * th + i, ow = 2 * tw + j;
                return oh >= outH || ow >= outW
                  ? 0
                  : f[(dy >> 2) + ((img * kOut + ko) * outH + oh) * outW + ow];
              })
            );
            const E = sandwich(A, dY, F23.AT);
            for (let xi = 0; xi < 16; xi++) {
              const ev = E[xi >> 2][xi & 3];
              for (let ch = 0; ch < c; ch++) {
                f[slot + (xi * kOut + ko) * c + ch] += ev * V[ch][xi >> 2][xi & 3];
              }
            }
          }
        }
      }
    }
  }
}
