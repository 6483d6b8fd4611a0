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
