/**
 * The helper every family's forward uses to run layers in sequence.
 * @module
 */
import type { Tensor } from "../tensor/mod.ts";

/**
 * Runs `x` through `steps` in order, releasing each intermediate result (never `x` itself) as soon as
 * the next one exists. Autograd keeps what it saved, so this is safe in training.
 */
export function chain(x: Tensor, steps: readonly ((t: Tensor) => Tensor)[]): Tensor {
  let y = x;
  for (const f of steps) {
    const next = f(y);
    if (y !== x && next !== y) y.dispose();
    y = next;
  }
  return y;
}
