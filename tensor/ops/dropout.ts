/**
 * Inverted dropout with a counter-based mask: the same (seed, index) always gives the same decision,
 * whatever the threading, and backward recomputes the mask instead of storing it.
 * @module
 */
import { kernels as K } from "../../runtime/mod.ts";
import { rangeError } from "../errors.ts";
import { traced } from "../trace.ts";
import { needsGrad, record } from "../autograd.ts";
import type { Tensor } from "../tensor.ts";
import { defaultGenerator, type Generator } from "../random.ts";
import { checkFloat, launch, node, out } from "./_util.ts";
import { clone } from "./elementwise.ts";

/** Options of {@linkcode dropout}. */
export interface DropoutOptions {
  /** Probability of zeroing an element, in [0, 1]. */
  p: number;
  /** Identity when false (eval mode). */
  training: boolean;
  /** Where the mask seed is drawn from (default: the global generator). */
  generator?: Generator;
}

/**
 * Zeroes elements with probability p and scales the rest by 1/(1-p) in training; identity otherwise.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const y = cnn.ops.dropout(cnn.full([8], 1), { p: 0.5, training: true });
 * console.log(await y.toArray()); // zeros and 2s
 * ```
 */
export function dropout(x: Tensor, options: DropoutOptions): Tensor {
  checkFloat("dropout", "input", x);
  const { p } = options;
  if (!(p >= 0 && p <= 1)) throw rangeError("run dropout", `p must be in [0, 1], got ${p}`);
  if (!options.training || p === 0) return traced("dropout", [x, options], identity(x));
  const seed = (options.generator ?? defaultGenerator).nextU32() | 0;
  const rt = x.rt;
  const y = out(rt, x.shape);
  const [px, py, len] = [x.ptr, y.ptr, x.size];
  launch(rt, [x], [y], () => K.dropoutForward(rt, { x: px, y: py, len }, { p, seed }));
  if (needsGrad(x)) {
    record(
      y,
      node("dropout", [x], (g) => {
        const dx = out(rt, x.shape);
        const [pg, pdx] = [g.ptr, dx.ptr];
        launch(rt, [g], [dx], () => K.dropoutBackward(rt, { dy: pg, dx: pdx, len }, { p, seed }));
        return [dx];
      }),
    );
  }
  return traced("dropout", [x, options], y);
}

function identity(x: Tensor): Tensor {
  const y = clone(x);
  if (needsGrad(x)) record(y, node("identity", [x], (g) => [clone(g)]));
  return y;
}
