/**
 * Channel concatenation (Inception branches, DenseNet features) and its inverse.
 * @module
 */
import { kernels as K } from "../../runtime/mod.ts";
import { rangeError } from "../errors.ts";
import { traced } from "../trace.ts";
import { needsGrad, record } from "../autograd.ts";
import type { Tensor } from "../tensor.ts";
import { fmt } from "../shape.ts";
import { checkFloat, launch, node, out, runtimeOf } from "./_util.ts";

/**
 * Concatenates tensors [n, c_i, ...] along dimension 1 (channels).
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const y = cnn.ops.concat([cnn.zeros([2, 3, 4, 4]), cnn.zeros([2, 5, 4, 4])]);
 * console.log(y.shape); // [2, 8, 4, 4]
 * ```
 */
export function concat(xs: readonly Tensor[]): Tensor {
  const action = "run concat";
  if (!Array.isArray(xs) || xs.length === 0) throw rangeError(action, "needs a non-empty array of tensors");
  xs.forEach((x, i) => checkFloat("concat", `inputs[${i}]`, x));
  const first = xs[0];
  if (first.rank < 2) throw rangeError(action, `inputs must have rank >= 2, got ${fmt(first.shape)}`);
  const rest = first.shape.slice(2);
  for (let i = 1; i < xs.length; i++) {
    const s = xs[i].shape;
    if (s.length !== first.rank || s[0] !== first.shape[0] || s.slice(2).join() !== rest.join()) {
      throw rangeError(
        action,
        `inputs[${i}] has shape ${fmt(s)}, incompatible with inputs[0] ${fmt(first.shape)}`,
      );
    }
  }
  const rt = runtimeOf("concat", ...xs);
  const n = first.shape[0];
  const inner = rest.reduce((p: number, d: number) => p * d, 1);
  const cs = xs.map((x) => x.shape[1]);
  const cTotal = cs.reduce((p, c) => p + c, 0);
  const y = out(rt, [n, cTotal, ...rest]);
  const ptrs = xs.map((x) => x.ptr);
  const py = y.ptr;
  launch(rt, xs, [y], async () => {
    let off = 0;
    for (let i = 0; i < xs.length; i++) {
      await K.copyStrided(rt, {
        src: ptrs[i],
        srcStride: cs[i] * inner,
        dst: py + off * inner * 4,
        dstStride: cTotal * inner,
        rows: n,
        cols: cs[i] * inner,
      });
      off += cs[i];
    }
  });
  if (needsGrad(...xs)) {
    record(
      y,
      node("concat", xs, (g) => {
        const pg = g.ptr;
        const grads: (Tensor | null)[] = [];
        let off = 0;
        for (let i = 0; i < xs.length; i++) {
          if (xs[i].requiresGrad) {
            const dx = out(rt, xs[i].shape);
            const [pdx, o, c] = [dx.ptr, off, cs[i]];
            launch(rt, [g], [dx], () =>
              K.copyStrided(rt, {
                src: pg + o * inner * 4,
                srcStride: cTotal * inner,
                dst: pdx,
                dstStride: c * inner,
                rows: n,
                cols: c * inner,
              }));
            grads.push(dx);
          } else grads.push(null);
          off += cs[i];
        }
        return grads;
      }),
    );
  }
  return traced("concat", [xs], y);
}
