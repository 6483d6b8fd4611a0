import { traced } from "../trace.ts";
/**
 * Softmax, log-softmax and cross-entropy with label smoothing (torch semantics).
 * @module
 */
import { kernels as K } from "../../runtime/mod.ts";
import { rangeError, typeError } from "../errors.ts";
import { needsGrad, record } from "../autograd.ts";
import { empty, type Tensor } from "../tensor.ts";
import { fmt } from "../shape.ts";
import { checkFloat, launch, node, out, save } from "./_util.ts";
import { add } from "./elementwise.ts";

function rows2d(op: string, x: Tensor, dim: number): [number, number] {
  checkFloat(op, "input", x, 2);
  if (dim !== 1 && dim !== -1) throw rangeError(`run ${op}`, `only dim 1 (classes) is supported, got ${dim}`);
  return [x.shape[0], x.shape[1]];
}

/**
 * Softmax over the classes of x [n, classes] (to train a classifier, prefer {@linkcode crossEntropy}).
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * console.log(await cnn.ops.softmax(cnn.tensor([0, 0], [1, 2]), 1).toArray()); // [0.5, 0.5]
 * ```
 */
export function softmax(x: Tensor, dim = 1): Tensor {
  const [rows, cols] = rows2d("softmax", x, dim);
  const rt = x.rt;
  const y = out(rt, x.shape);
  const [px, py] = [x.ptr, y.ptr];
  launch(rt, [x], [y], () => K.softmaxForward(rt, { x: px, y: py, rows, cols }));
  if (needsGrad(x)) recordRowwise("softmax", x, y, rows, cols, K.softmaxBackward);
  return traced("softmax", [x, dim], y);
}

/** Log-softmax over the classes of x [n, classes]. */
export function logSoftmax(x: Tensor, dim = 1): Tensor {
  const [rows, cols] = rows2d("logSoftmax", x, dim);
  const rt = x.rt;
  const y = out(rt, x.shape);
  const [px, py] = [x.ptr, y.ptr];
  launch(rt, [x], [y], () => K.logSoftmaxForward(rt, { x: px, y: py, rows, cols }));
  if (needsGrad(x)) recordRowwise("logSoftmax", x, y, rows, cols, K.logSoftmaxBackward);
  return traced("logSoftmax", [x, dim], y);
}

// Records the backward of a row-wise op whose gradient needs only its output y.
function recordRowwise(
  name: string,
  x: Tensor,
  y: Tensor,
  rows: number,
  cols: number,
  kernel: typeof K.softmaxBackward,
): void {
  const rt = x.rt;
  const s = save(y);
  record(
    y,
    node(name, [x], (g) => {
      const dx = out(rt, x.shape);
      const [pg, pdx, py] = [g.ptr, dx.ptr, s.ptrs[0]];
      launch(rt, [g], [dx], () => kernel(rt, { y: py, dy: pg, dx: pdx, rows, cols }));
      return [dx];
    }, s.release),
  );
}

/** Options of {@linkcode crossEntropy}. */
export interface CrossEntropyOptions {
  /** Label smoothing epsilon in [0, 1] (torch's label_smoothing). */
  labelSmoothing?: number;
  /** "mean" (default) or "sum" over the batch. */
  reduction?: "mean" | "sum";
}

/**
 * Cross-entropy of logits [n, classes] against integer labels, as torch.nn.functional.cross_entropy.
 * Returns a scalar tensor (shape []).
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const loss = cnn.ops.crossEntropy(cnn.tensor([0, 0], [1, 2]), new Int32Array([1]));
 * console.log(await loss.item()); // 0.693...
 * ```
 */
export function crossEntropy(
  logits: Tensor,
  labels: Int32Array | readonly number[],
  options: CrossEntropyOptions = {},
): Tensor {
  const action = "run crossEntropy";
  const [rows, cols] = rows2d("crossEntropy", logits, 1);
  if (!(labels instanceof Int32Array) && !Array.isArray(labels)) {
    throw typeError(action, "labels must be an Int32Array or an array of integers");
  }
  if (labels.length !== rows) {
    throw rangeError(action, `${labels.length} labels for logits ${fmt(logits.shape)}`);
  }
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (!Number.isInteger(l) || l < 0 || l >= cols) {
      throw rangeError(action, `labels[${i}] = ${l} is outside [0, ${cols})`);
    }
  }
  const eps = options.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps <= 1)) throw rangeError(action, `labelSmoothing must be in [0, 1], got ${eps}`);
  const reduction = options.reduction ?? "mean";
  if (reduction !== "mean" && reduction !== "sum") {
    throw rangeError(action, `reduction must be "mean" or "sum", got ${JSON.stringify(reduction)}`);
  }
  const rt = logits.rt;
  const lab = empty(rt, [rows], "int32");
  rt.heap.i32.set(labels instanceof Int32Array ? labels : Int32Array.from(labels), lab.ptr >> 2);
  const logp = out(rt, [rows, cols]);
  const losses = out(rt, [rows]);
  const y = out(rt, []);
  const [pl, plab, plogp, plosses, py] = [logits.ptr, lab.ptr, logp.ptr, losses.ptr, y.ptr];
  const k = reduction === "mean" ? 1 / rows : 1;
  launch(rt, [logits], [y], async () => {
    await K.crossEntropyForward(rt, {
      logits: pl,
      labels: plab,
      logProbs: plogp,
      losses: plosses,
      rows,
      cols,
    }, {
      smoothing: eps,
    });
    await K.sumToChannels(rt, { x: plosses, y: py, outer: 1, channels: 1, inner: rows, accumulate: false });
    if (k !== 1) await K.scale(rt, { x: py, y: py, len: 1, alpha: k });
  });
  if (needsGrad(logits)) {
    const s = save(lab, logp);
    record(
      y,
      node("crossEntropy", [logits], (g) => {
        const dl = out(rt, logits.shape);
        const [pg, pdl] = [g.ptr, dl.ptr];
        launch(rt, [g], [dl], () => {
          const scale = rt.heap.f32[pg >> 2] * k;
          return K.crossEntropyBackward(rt, {
            logProbs: s.ptrs[1],
            labels: s.ptrs[0],
            dlogits: pdl,
            rows,
            cols,
          }, {
            smoothing: eps,
            scale,
          });
        });
        return [dl];
      }, s.release),
    );
  }
  lab.dispose();
  logp.dispose();
  losses.dispose();
  return y;
}

/**
 * sum_i weights[i] * losses[i], for auxiliary heads (e.g. GoogLeNet's 0.3).
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const total = cnn.ops.weightedSum([cnn.tensor([1]), cnn.tensor([2])], [1, 0.3]);
 * console.log(await total.item()); // 1.6
 * ```
 */
export function weightedSum(losses: readonly Tensor[], weights: readonly number[]): Tensor {
  if (losses.length === 0 || losses.length !== weights.length) {
    throw rangeError(
      "run weightedSum",
      `needs as many weights as losses (>= 1), got ${losses.length} and ${weights.length}`,
    );
  }
  let acc = add(losses[0], losses[0], { alpha: weights[0], beta: 0 });
  for (let i = 1; i < losses.length; i++) {
    const next = add(acc, losses[i], { alpha: 1, beta: weights[i] });
    acc = next;
  }
  return acc;
}
