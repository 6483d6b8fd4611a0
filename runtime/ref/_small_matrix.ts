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
