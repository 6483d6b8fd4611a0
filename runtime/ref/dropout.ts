/**
 * Reference dropout kernels: the readable specification of `assembly/dropout.ts`. Element i is kept
 * when hash(seed, i) >= floor(p * 2^32) (unsigned), and kept values are scaled by 1 / (1 - p).
 * @module
 */
import type { Heap } from "../heap.ts";

/** lowbias32: a bijective 32-bit integer mixer. */
function mix32(h: number): number {
  h = (h ^ (h >>> 16)) >>> 0;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h = (h ^ (h >>> 15)) >>> 0;
  h = Math.imul(h, 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** True if element `i` is kept for (`p`, `seed`). */
function dropoutKeep(p: number, seed: number, i: number): boolean {
  if (p >= 1) return false;
  const thr = Math.floor(p * 4294967296);
  const k1 = mix32(seed >>> 0);
  const k2 = mix32((seed ^ 0x9e3779b9) >>> 0);
  const hash = mix32((mix32((i ^ k1) >>> 0) + k2) >>> 0);
  return hash >= thr;
}

function apply(h: Heap, x: number, y: number, p: number, seed: number, start: number, end: number): void {
  const m = h.f32;
  const s = Math.fround(1 / (1 - p));
  for (let i = start; i < end; i++) m[(y >> 2) + i] = dropoutKeep(p, seed, i) ? m[(x >> 2) + i] * s : 0;
}

/** y[i] = keep(i) ? x[i] / (1 - p) : 0 for i in [start, end). */
export function dropout_forward(
  h: Heap,
  x: number,
  y: number,
  p: number,
  seed: number,
  start: number,
  end: number,
): void {
  apply(h, x, y, p, seed, start, end);
}

/** dx[i] = keep(i) ? dy[i] / (1 - p) : 0 for i in [start, end): the forward's mask. */
export function dropout_backward(
  h: Heap,
  dy: number,
  dx: number,
  p: number,
  seed: number,
  start: number,
  end: number,
): void {
  apply(h, dy, dx, p, seed, start, end);
}
