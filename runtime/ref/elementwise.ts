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

/** y[i] = value for i in [start, end). */
export function fill(h: Heap, y: number, value: number, start: number, end: number): void {
  h.f32.fill(value, (y >> 2) + start, (y >> 2) + end);
}

/** y[i] = alpha * x[i] for i in [start, end). */
export function scale(h: Heap, x: number, y: number, alpha: number, start: number, end: number): void {
  const m = h.f32;
  for (let i = start; i < end; i++) m[(y >> 2) + i] = alpha * m[(x >> 2) + i];
}

/** y[i] += alpha * x[i] for i in [start, end). */
export function axpy(h: Heap, x: number, y: number, alpha: number, start: number, end: number): void {
  const m = h.f32;
  for (let i = start; i < end; i++) m[(y >> 2) + i] += alpha * m[(x >> 2) + i];
}

/** y[i] = alpha * a[i] + beta * b[i] (then max(y[i], 0) if relu != 0) for i in [start, end). */
export function add_scaled(
  h: Heap,
  a: number,
  b: number,
  y: number,
  alpha: number,
  beta: number,
  relu: number,
  start: number,
  end: number,
): void {
  const m = h.f32;
  for (let i = start; i < end; i++) {
    const v = Math.fround(alpha * m[(a >> 2) + i] + beta * m[(b >> 2) + i]);
    m[(y >> 2) + i] = relu && !(v > 0) ? 0 : v;
  }
}

/** y[i] = a[i] * b[i] for i in [start, end). */
export function mul(h: Heap, a: number, b: number, y: number, start: number, end: number): void {
  const m = h.f32;
  for (let i = start; i < end; i++) m[(y >> 2) + i] = m[(a >> 2) + i] * m[(b >> 2) + i];
}

/** y [outer, channels, inner]: y[e] += bias[channel of e] for the elements e in [start, end). */
export function bias_add(
  h: Heap,
  y: number,
  bias: number,
  channels: number,
  inner: number,
  start: number,
  end: number,
): void {
  const m = h.f32;
  for (let e = start; e < end; e++) m[(y >> 2) + e] += m[(bias >> 2) + (Math.floor(e / inner) % channels)];
}

/** x [outer, channels, inner] -> y [channels]: y[c] (+)= sum over outer and inner, for c in [start, end). */
export function sum_to_channels(
  h: Heap,
  x: number,
  y: number,
  outer: number,
  channels: number,
  inner: number,
  accumulate: number,
  start: number,
  end: number,
): void {
  const m = h.f32;
  for (let c = start; c < end; c++) {
    let s = 0;
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) s += m[(x >> 2) + (o * channels + c) * inner + i];
    }
    m[(y >> 2) + c] = accumulate ? m[(y >> 2) + c] + s : s;
  }
}

/**
 * dst[r * dstStride + k] (+)= src[r * srcStride + k] for the elements e = r * cols + k in [start, end)
 * (strides in floats).
 */
export function copy_strided(
  h: Heap,
  src: number,
  srcStride: number,
  dst: number,
  dstStride: number,
  cols: number,
  accumulate: number,
  start: number,
  end: number,
): void {
  const m = h.f32;
  for (let e = start; e < end; e++) {
    const r = Math.floor(e / cols), k = e % cols;
    const v = m[(src >> 2) + r * srcStride + k];
    const d = (dst >> 2) + r * dstStride + k;
    m[d] = accumulate ? m[d] + v : v;
  }
}
