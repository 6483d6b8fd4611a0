/**
 * Reference elementwise kernels: the readable specification of `assembly/elementwise.ts`, with the
 * same arguments (byte pointers, then the slice [start, end)).
 * @module
 */
import type { Heap } from "../heap.ts";

/** y[i] = max(x[i], 0) for i in [start, end). */
export function relu_forward(h: Heap, x: number, y: number, start: number, end: number): void {
  const m = h.f32;
  for (let i = start; i < end; i++) {
    const v = m[(x >> 2) + i];
    m[(y >> 2) + i] = v > 0 ? v : 0;
  }
}

/** dx[i] = y[i] > 0 ? dy[i] : 0 for i in [start, end). */
export function relu_backward_input(
  h: Heap,
  y: number,
  dy: number,
  dx: number,
  start: number,
  end: number,
): void {
  const m = h.f32;
  for (let i = start; i < end; i++) m[(dx >> 2) + i] = m[(y >> 2) + i] > 0 ? m[(dy >> 2) + i] : 0;
}
