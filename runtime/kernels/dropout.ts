/**
 * Launchers of the dropout kernels. The mask is a hash of (seed, element index): identical on any
 * thread count, and recomputed by the backward instead of stored.
 * @module
 */
import type { Runtime } from "../runtime.ts";

/** y = x / (1 - p) where kept, else 0, over `len` floats (p in [0, 1]; seed an int32). */
export function dropoutForward(
  rt: Runtime,
  b: { x: number; y: number; len: number },
  o: { p: number; seed: number },
): Promise<void> {
  return rt.exec("dropout_forward", [b.x, b.y, o.p, o.seed | 0], { units: b.len, cost: 8 * b.len });
}

/** dx = dy / (1 - p) where the forward with the same (p, seed) kept, else 0. */
export function dropoutBackward(
  rt: Runtime,
  b: { dy: number; dx: number; len: number },
  o: { p: number; seed: number },
): Promise<void> {
  return rt.exec("dropout_backward", [b.dy, b.dx, o.p, o.seed | 0], { units: b.len, cost: 8 * b.len });
}
