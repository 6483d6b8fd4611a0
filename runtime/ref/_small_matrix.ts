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
export const F23: { BT: number[][]; G: number[][]; AT: number[][] } = {
  BT: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
  G: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
  AT: [[1, 1, 1, 0], [0, 1, -1, -1]],
};
