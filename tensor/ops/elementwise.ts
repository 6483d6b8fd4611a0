/**
 * Element-wise ops: relu, scaled add (residual connections), scale, reshape views, clone.
 * @module
 */
import { kernels as K } from "../../runtime/mod.ts";
import { rangeError } from "../errors.ts";
import { traced } from "../trace.ts";
import { needsGrad, record } from "../autograd.ts";
import { type Tensor, view } from "../tensor.ts";
import { fmt } from "../shape.ts";
import { checkFloat, launch, node, out, runtimeOf, save } from "./_util.ts";

/**
 * max(x, 0).
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const y = cnn.ops.relu(cnn.tensor([-1, 2]));
 * console.log(await y.toArray()); // Float32Array [0, 2]
 * ```
 */
export function relu(x: Tensor): Tensor {
  checkFloat("relu", "x", x);
  const rt = x.rt;
  const y = out(rt, x.shape);
  const len = x.size;
  const [px, py] = [x.ptr, y.ptr];
  launch(rt, [x], [y], () => K.reluForward(rt, { x: px, y: py, len }));
  if (needsGrad(x)) {
    const s = save(y);
    record(
      y,
      node("relu", [x], (g) => {
        const dx = out(rt, x.shape);
        const pg = g.ptr, pdx = dx.ptr;
        launch(rt, [g], [dx], () => K.reluBackward(rt, { y: s.ptrs[0], dy: pg, dx: pdx, len }));
        return [dx];
      }, s.release),
    );
  }
  return traced("relu", [x], y);
}

/**
 * alpha * a + beta * b for tensors of one shape (a residual connection with scaling); with `relu`, then
 * max(., 0): in one pass (and its backward with the add's) when a gradient is recorded, else as a
 * separate `relu` (so traces of inference show the two ops). Equal to `relu(add(a, b))` either way.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const y = cnn.ops.add(cnn.tensor([1, 2]), cnn.tensor([3, 4]), { beta: 0.5 });
 * console.log(await y.toArray()); // Float32Array [2.5, 4]
 * ```
 */
export function add(
  a: Tensor,
  b: Tensor,
  options: { alpha?: number; beta?: number; relu?: boolean } = {},
): Tensor {
  checkFloat("add", "a", a);
  checkFloat("add", "b", b);
  const alpha = options.alpha ?? 1, beta = options.beta ?? 1;
  if (a.shape.join() !== b.shape.join()) {
    throw rangeError("run add", `shapes differ: a ${fmt(a.shape)}, b ${fmt(b.shape)}`);
  }
  if (!Number.isFinite(alpha) || !Number.isFinite(beta)) {
    throw rangeError("run add", `alpha and beta must be finite, got ${alpha}, ${beta}`);
  }
  const grad = needsGrad(a, b);
  if (options.relu && !grad) {
    const t = add(a, b, { alpha, beta });
    const y = relu(t);
    t.dispose();
    return y;
  }
  const rt = runtimeOf("add", a, b);
  const y = out(rt, a.shape);
  const len = a.size;
  const [pa, pb, py] = [a.ptr, b.ptr, y.ptr];
  const fused = options.relu === true;
  launch(rt, [a, b], [y], () => K.addScaled(rt, { a: pa, b: pb, y: py, len, alpha, beta, relu: fused }));
  if (grad) {
    // With the ReLU, its output y masks the incoming gradient first (dy where y > 0).
    const s = fused ? save(y) : null;
    record(
      y,
      node(fused ? "add+relu" : "add", [a, b], (g) => {
        let gm = g;
        if (s) {
          gm = out(rt, g.shape);
          const pg = g.ptr, pm = gm.ptr;
          launch(rt, [g], [gm], () => K.reluBackward(rt, { y: s.ptrs[0], dy: pg, dx: pm, len }));
        }
        const res = [
          a.requiresGrad ? scaledGrad(gm, alpha) : null,
          b.requiresGrad ? scaledGrad(gm, beta) : null,
        ];
        if (gm !== g) gm.dispose();
        return res;
      }, s?.release),
    );
  }
  return traced("add", [a, b, options], y);
}

/** c * g as a gradient for an input: with c = 1 a view sharing g's memory (autograd copies it before accumulating into it, if it is still shared). */
function scaledGrad(g: Tensor, c: number): Tensor {
  return c === 1 ? view(g, g.shape) : scale(g, c);
}

/** alpha * x. */
export function scale(x: Tensor, alpha: number): Tensor {
  checkFloat("scale", "x", x);
  const rt = x.rt;
  const y = out(rt, x.shape);
  const len = x.size;
  const [px, py] = [x.ptr, y.ptr];
  launch(rt, [x], [y], () => K.scale(rt, { x: px, y: py, len, alpha }));
  if (needsGrad(x)) record(y, node("scale", [x], (g) => [scale(g, alpha)]));
  return traced("scale", [x, alpha], y);
}

/** A copy with its own memory (no gradient link). */
export function clone(x: Tensor): Tensor {
  const rt = x.rt;
  const y = out(rt, x.shape);
  const len = x.size;
  const [px, py] = [x.ptr, y.ptr];
  launch(rt, [x], [y], () => K.scale(rt, { x: px, y: py, len, alpha: 1 }));
  return traced("clone", [x], y);
}

/** A tensor of ones shaped like `x`. */
export function onesLike(x: Tensor): Tensor {
  const rt = x.rt;
  const y = out(rt, x.shape);
  const py = y.ptr, len = x.size;
  launch(rt, [], [y], () => K.fill(rt, { y: py, len, value: 1 }));
  return y;
}

/** acc += g in place (both float32, same shape). */
export function addInto(acc: Tensor, g: Tensor): void {
  const rt = acc.rt;
  const [pa, pg, len] = [acc.ptr, g.ptr, acc.size];
  launch(rt, [acc, g], [acc], () => K.axpy(rt, { x: pg, y: pa, len, alpha: 1 }));
}

/**
 * The same data with another shape (one entry may be -1). Shares memory with `x`.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * console.log(cnn.tensor([1, 2, 3, 4, 5, 6]).reshape([2, -1]).shape); // [2, 3]
 * ```
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const s = [...shape];
  const free = s.indexOf(-1);
  if (free >= 0 && s.indexOf(-1, free + 1) >= 0) {
    throw rangeError("reshape", `only one -1 allowed in ${fmt(shape)}`);
  }
  const known = s.reduce((p, d, i) => (i === free ? p : p * d), 1);
  for (const d of s) {
    if (d !== -1 && (!Number.isInteger(d) || d < 0)) {
      throw rangeError("reshape", `bad entry in shape ${fmt(shape)}`);
    }
  }
  if (free >= 0) {
    if (known === 0 || x.size % known !== 0) {
      throw rangeError("reshape", `cannot infer -1 in ${fmt(shape)} from ${x.size} elements`);
    }
    s[free] = x.size / known;
  }
  if (s.reduce((p, d) => p * d, 1) !== x.size) {
    throw rangeError("reshape", `shape ${fmt(x.shape)} (${x.size} elements) into ${fmt(shape)}`);
  }
  const y = view(x, s);
  if (needsGrad(x)) record(y, node("reshape", [x], (g) => [view(g, x.shape)]));
  return traced("reshape", [x, shape], y);
}
