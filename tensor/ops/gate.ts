/**
 * Ops of gated residual connections (He et al. 2016b, exclusive and shortcut-only gating): the
 * element-wise product and the logistic sigmoid.
 * @module
 */
import { kernels as K } from "../../runtime/mod.ts";
import { rangeError } from "../errors.ts";
import { traced } from "../trace.ts";
import { needsGrad, record } from "../autograd.ts";
import { type Tensor, tensor, zeros } from "../tensor.ts";
import { fmt } from "../shape.ts";
import { checkFloat, launch, node, out, runtimeOf, save } from "./_util.ts";
import { reshape } from "./elementwise.ts";
import { concat } from "./concat.ts";
import { softmax } from "./loss.ts";
import { linear } from "./linear.ts";

/**
 * a * b element-wise for tensors of one shape; the gradient is g * b for a and g * a for b.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const y = cnn.ops.mul(cnn.tensor([1, 2]), cnn.tensor([3, 4]));
 * console.log(await y.toArray()); // Float32Array [3, 8]
 * ```
 */
export function mul(a: Tensor, b: Tensor): Tensor {
  checkFloat("mul", "a", a);
  checkFloat("mul", "b", b);
  if (a.shape.join() !== b.shape.join()) {
    throw rangeError("run mul", `shapes differ: a ${fmt(a.shape)}, b ${fmt(b.shape)}`);
  }
  const rt = runtimeOf("mul", a, b);
  const y = out(rt, a.shape);
  const len = a.size;
  const [pa, pb, py] = [a.ptr, b.ptr, y.ptr];
  launch(rt, [a, b], [y], () => K.mul(rt, { a: pa, b: pb, y: py, len }));
  if (needsGrad(a, b)) {
    const s = save(a, b);
    const times = (g: Tensor, other: number): Tensor => {
      const d = out(rt, a.shape);
      const [pg, pd] = [g.ptr, d.ptr];
      launch(rt, [g], [d], () => K.mul(rt, { a: pg, b: other, y: pd, len }));
      return d;
    };
    record(
      y,
      node("mul", [a, b], (g) => [
        a.requiresGrad ? times(g, s.ptrs[1]) : null,
        b.requiresGrad ? times(g, s.ptrs[0]) : null,
      ], s.release),
    );
  }
  return traced("mul", [a, b], y);
}

/**
 * 1 / (1 + exp(-x)) element-wise. There is no exp kernel, so it runs as the two-class softmax of
 * (x, 0) per element, whose first column is sigmoid(x); autograd goes through those ops (gradient
 * y (1 - y)).
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const y = cnn.ops.sigmoid(cnn.tensor([0, 100]));
 * console.log(await y.toArray()); // Float32Array [0.5, 1]
 * ```
 */
export function sigmoid(x: Tensor): Tensor {
  checkFloat("sigmoid", "x", x);
  const rt = x.rt;
  const m = x.size;
  const col = reshape(x, [m, 1]);
  const zero = zeros([m, 1], { rt });
  const pairs = concat([col, zero]);
  zero.dispose();
  const probs = softmax(pairs, 1);
  pairs.dispose();
  const pick = tensor([1, 0], [1, 2], { rt });
  const first = linear(probs, pick);
  probs.dispose();
  pick.dispose();
  return traced("sigmoid", [x], reshape(first, x.shape));
}
