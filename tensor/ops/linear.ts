/**
 * Fully connected layer: y = x W^T + b.
 * @module
 */
import { kernels as K } from "../../runtime/mod.ts";
import { rangeError } from "../errors.ts";
import { traced } from "../trace.ts";
import { needsGrad, record } from "../autograd.ts";
import type { Tensor } from "../tensor.ts";
import { fmt } from "../shape.ts";
import { checkFloat, launch, node, out, runtimeOf, save } from "./_util.ts";

/**
 * x [n, in] times weight [out, in] transposed, plus bias [out].
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const y = cnn.ops.linear(cnn.tensor([1, 2], [1, 2]), cnn.tensor([1, 0, 0, 1, 1, 1], [3, 2]));
 * console.log(await y.toArray()); // Float32Array [1, 2, 3]
 * ```
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  const action = "run linear";
  checkFloat("linear", "input", x, 2);
  checkFloat("linear", "weight", weight, 2);
  if (bias) checkFloat("linear", "bias", bias, 1);
  const [n, inF] = x.shape;
  const [outF, wIn] = weight.shape;
  if (wIn !== inF) {
    throw rangeError(
      action,
      `input ${fmt(x.shape)} has ${inF} features but weight ${fmt(weight.shape)} expects ${wIn}`,
    );
  }
  if (bias && bias.size !== outF) {
    throw rangeError(action, `bias has shape ${fmt(bias.shape)}, expected [${outF}]`);
  }
  const rt = runtimeOf("linear", x, weight, bias);
  const y = out(rt, [n, outF]);
  const [px, pw, pb, py] = [x.ptr, weight.ptr, bias ? bias.ptr : 0, y.ptr];
  launch(rt, [x, weight, bias], [y], async () => {
    await K.gemm(rt, { m: n, n: outF, k: inF, a: px, b: pw, c: py, transB: true });
    if (pb) await K.biasAdd(rt, { y: py, bias: pb, outer: n, channels: outF, inner: 1 });
  });
  if (needsGrad(x, weight, bias)) {
    const s = save(x, weight);
    const inputs = bias ? [x, weight, bias] : [x, weight];
    record(
      y,
      node("linear", inputs, (g) => {
        const pg = g.ptr;
        let dx: Tensor | null = null, dw: Tensor | null = null, db: Tensor | null = null;
        if (x.requiresGrad) {
          dx = out(rt, x.shape);
          const pdx = dx.ptr;
          launch(rt, [g], [dx], () => K.gemm(rt, { m: n, n: inF, k: outF, a: pg, b: s.ptrs[1], c: pdx }));
        }
        if (weight.requiresGrad) {
          dw = out(rt, weight.shape);
          const pdw = dw.ptr;
          launch(
            rt,
            [g],
            [dw],
            () => K.gemm(rt, { m: outF, n: inF, k: n, a: pg, b: s.ptrs[0], c: pdw, transA: true }),
          );
        }
        if (bias && bias.requiresGrad) {
          db = out(rt, bias.shape);
          const pdb = db.ptr;
          launch(
            rt,
            [g],
            [db],
            () =>
              K.sumToChannels(rt, { x: pg, y: pdb, outer: n, channels: outF, inner: 1, accumulate: false }),
          );
        }
        return bias ? [dx, dw, db] : [dx, dw];
      }, s.release),
    );
  }
  return traced("linear", [x, weight, bias], y);
}
