/**
 * Launchers of the elementwise kernels: typed wrappers that choose work units and cost. Launchers call
 * `rt.exec` (unqueued); ops run them inside `rt.enqueue` so multi-kernel launchers stay in order.
 * @module
 */
import type { Runtime } from "../runtime.ts";

/** y = max(x, 0) over `len` floats. `x` may equal `y`. */
export function reluForward(rt: Runtime, b: { x: number; y: number; len: number }): Promise<void> {
  return rt.exec("relu_forward", [b.x, b.y], { units: b.len });
}

/** dx = dy where y > 0, else 0, over `len` floats (y is the forward output). */
export function reluBackward(
  rt: Runtime,
  b: { y: number; dy: number; dx: number; len: number },
): Promise<void> {
  return rt.exec("relu_backward_input", [b.y, b.dy, b.dx], { units: b.len });
}

/** y = value over `len` floats. */
export function fill(rt: Runtime, b: { y: number; len: number; value: number }): Promise<void> {
  return rt.exec("fill", [b.y, b.value], { units: b.len });
}

/** y = alpha * x over `len` floats. `x` may equal `y`. */
export function scale(rt: Runtime, b: { x: number; y: number; len: number; alpha: number }): Promise<void> {
  return rt.exec("scale", [b.x, b.y, b.alpha], { units: b.len });
}

/** y += alpha * x over `len` floats. */
export function axpy(rt: Runtime, b: { x: number; y: number; len: number; alpha: number }): Promise<void> {
  return rt.exec("axpy", [b.x, b.y, b.alpha], { units: b.len, cost: 2 * b.len });
}

/** y = alpha * a + beta * b over `len` floats. `y` may equal `a` or `b`. */
export function addScaled(
  rt: Runtime,
  b: { a: number; b: number; y: number; len: number; alpha: number; beta: number; relu?: boolean },
): Promise<void> {
  return rt.exec("add_scaled", [b.a, b.b, b.y, b.alpha, b.beta, b.relu ? 1 : 0], {
    units: b.len,
    cost: 3 * b.len,
  });
}

/** y = a * b elementwise over `len` floats. */
export function mul(rt: Runtime, b: { a: number; b: number; y: number; len: number }): Promise<void> {
  return rt.exec("mul", [b.a, b.b, b.y], { units: b.len });
}

/** y[o, c, i] += bias[c] for y of shape [outer, channels, inner]. */
export function biasAdd(
  rt: Runtime,
  b: { y: number; bias: number; outer: number; channels: number; inner: number },
): Promise<void> {
  return rt.exec("bias_add", [b.y, b.bias, b.channels, b.inner], { units: b.outer * b.channels * b.inner });
}

/** y[c] (+)= sum over o, i of x[o, c, i], x of shape [outer, channels, inner], y of shape [channels]. */
export function sumToChannels(
  rt: Runtime,
  b: { x: number; y: number; outer: number; channels: number; inner: number; accumulate: boolean },
): Promise<void> {
  return rt.exec("sum_to_channels", [b.x, b.y, b.outer, b.channels, b.inner, b.accumulate ? 1 : 0], {
    units: b.channels,
    cost: b.outer * b.channels * b.inner,
  });
}

/**
 * dst[r * dstStride + k] (+)= src[r * srcStride + k] for r < rows, k < cols (strides in floats;
 * `accumulate` adds instead of copying).
 */
export function copyStrided(
  rt: Runtime,
  b: {
    src: number;
    srcStride: number;
    dst: number;
    dstStride: number;
    rows: number;
    cols: number;
    accumulate?: boolean;
  },
): Promise<void> {
  if (b.cols === 0) return Promise.resolve();
  return rt.exec("copy_strided", [b.src, b.srcStride, b.dst, b.dstStride, b.cols, b.accumulate ? 1 : 0], {
    units: b.rows * b.cols,
  });
}
