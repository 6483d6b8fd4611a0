/**
 * Reference of the peak probe: the same arithmetic, scalar.
 * @module
 */
import type { Heap } from "../heap.ts";

/** Runs `iters` rounds of 16 multiply-adds c = a*b + c per lane and adds their sum into out[0..4]. */
export function probe_peak(
  h: Heap,
  a: number,
  b: number,
  iters: number,
  out: number,
  start: number,
  end: number,
): void {
  const m = h.f32;
  for (let u = start; u < end; u++) {
    let c = 0;
    for (let i = 0; i < iters; i++) c = Math.fround(Math.fround(a * b) + c);
    for (let l = 0; l < 4; l++) m[(out >> 2) + l] = Math.fround(m[(out >> 2) + l] + Math.fround(16 * c));
  }
}
