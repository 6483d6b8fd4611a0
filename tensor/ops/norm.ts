/**
 * Normalization: batch norm (training and eval) and local response normalization.
 * @module
 */
import { kernels as K } from "../../runtime/mod.ts";
import { rangeError } from "../errors.ts";
import { traced } from "../trace.ts";
import { needsGrad, record } from "../autograd.ts";
import { full, type Tensor } from "../tensor.ts";
import { fmt } from "../shape.ts";
import { checkFloat, launch, node, out, runtimeOf, save } from "./_util.ts";
import { relu } from "./elementwise.ts";

/** Options of {@linkcode batchNorm}. */
export interface BatchNormOptions {
  /** gamma [c] (null: 1). */
  weight?: Tensor | null;
  /** beta [c] (null: 0). */
  bias?: Tensor | null;
  /** Updated in place in training mode; used in eval mode. */
  runningMean?: Tensor | null;
  runningVar?: Tensor | null;
  /** Batch statistics (true) or running statistics (false). */
  training: boolean;
  /** Weight of the new batch statistic in the running average (torch: 0.1). */
  momentum?: number;
  eps?: number;
  /**
   * Apply a ReLU to the result: in training mode in the same pass (and its backward inside the batch
   * norm's), else as a separate `relu`; equal to `relu(batchNorm(x))` either way.
   */
  relu?: boolean;
}

/**
 * Batch normalization over channel 1 of x [n, c, ...] (torch semantics: biased variance to normalize,
 * unbiased variance in the running average).
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const y = cnn.ops.batchNorm(cnn.tensor([1, 2, 3, 4], [4, 1]), { training: true });
 * console.log(await y.toArray()); // ~[-1.34, -0.45, 0.45, 1.34]
 * ```
 */
export function batchNorm(x: Tensor, options: BatchNormOptions): Tensor {
  const action = "run batchNorm";
  checkFloat("batchNorm", "input", x);
  if (x.rank < 2) throw rangeError(action, `input must have rank >= 2 (N, C, ...), got ${fmt(x.shape)}`);
  const [n, c] = x.shape;
  const hw = x.size / Math.max(1, n * c);
  const eps = options.eps ?? 1e-5;
  const momentum = options.momentum ?? 0.1;
  if (!(eps > 0)) throw rangeError(action, `eps must be > 0, got ${eps}`);
  if (!(momentum >= 0 && momentum <= 1)) {
    throw rangeError(action, `momentum must be in [0, 1], got ${momentum}`);
  }
  const checkVec = (name: string, t: Tensor | null | undefined): Tensor | null => {
    if (!t) return null;
    checkFloat("batchNorm", name, t, 1);
    if (t.size !== c) throw rangeError(action, `${name} has shape ${fmt(t.shape)}, expected [${c}]`);
    return t;
  };
  const weight = checkVec("weight", options.weight);
  const bias = checkVec("bias", options.bias);
  const rMean = checkVec("runningMean", options.runningMean);
  const rVar = checkVec("runningVar", options.runningVar);
  if (!rMean !== !rVar) throw rangeError(action, "give both runningMean and runningVar, or neither");
  if (!options.training && !rMean) throw rangeError(action, "eval mode needs runningMean and runningVar");
  if (options.training && n * hw <= 1) {
    throw rangeError(
      action,
      `expected more than 1 value per channel when training, got input ${fmt(x.shape)}`,
    );
  }
  if (options.relu && !options.training) {
    // Eval mode composes the two ops (a frozen model folds the batch norm into the convolution and fuses
    // the ReLU there, and sees them as separate steps).
    const t = batchNorm(x, { ...options, relu: false });
    const y = relu(t);
    t.dispose();
    return y;
  }
  const rt = runtimeOf("batchNorm", x, weight, bias, rMean, rVar);
  const gamma = weight ?? full([c], 1, { rt });
  const beta = bias ?? full([c], 0, { rt });
  const g = { n, c, hw };
  const y = out(rt, x.shape);
  const [px, py, pg, pb] = [x.ptr, y.ptr, gamma.ptr, beta.ptr];
  const [prm, prv] = [rMean ? rMean.ptr : 0, rVar ? rVar.ptr : 0];
  const grad = needsGrad(x, weight, bias);
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  const pack = (dx: Tensor | null, dg: Tensor, db: Tensor): (Tensor | null)[] => {
    const res: (Tensor | null)[] = [dx];
    if (weight) res.push(dg);
    else dg.dispose();
    if (bias) res.push(db);
    else db.dispose();
    return res;
  };
  if (options.training) {
    const mean = out(rt, [c]), invstd = out(rt, [c]);
    const [pm, pi] = [mean.ptr, invstd.ptr];
    launch(rt, [x, gamma, beta, rMean, rVar], [y, mean, invstd], () =>
      K.batchNormTrainForward(rt, g, {
        x: px,
        y: py,
        gamma: pg,
        beta: pb,
        mean: pm,
        invstd: pi,
        runningMean: prm,
        runningVar: prv,
      }, { momentum, eps, relu: options.relu }));
    if (grad) {
      // With the ReLU, its output y masks the incoming gradient (dy where y > 0).
      const s = options.relu ? save(x, gamma, mean, invstd, y) : save(x, gamma, mean, invstd);
      record(
        y,
        node(options.relu ? "batchNorm+relu" : "batchNorm", inputs, (gy) => {
          const dx = out(rt, x.shape), dg = out(rt, [c]), db = out(rt, [c]);
          const [pgy, pdx, pdg, pdb] = [gy.ptr, dx.ptr, dg.ptr, db.ptr];
          const [sx, sg, sm, si, sy = 0] = s.ptrs;
          launch(rt, [gy], [dx, dg, db], () =>
            K.batchNormBackward(rt, g, {
              x: sx,
              dy: pgy,
              y: sy,
              gamma: sg,
              mean: sm,
              invstd: si,
              dx: pdx,
              dgamma: pdg,
              dbeta: pdb,
            }));
          return pack(dx, dg, db);
        }, s.release),
      );
    }
    mean.dispose();
    invstd.dispose();
  } else {
    launch(
      rt,
      [x, gamma, beta, rMean, rVar],
      [y],
      () =>
        K.batchNormEvalForward(rt, g, {
          x: px,
          y: py,
          gamma: pg,
          beta: pb,
          runningMean: prm,
          runningVar: prv,
        }, { eps }),
    );
    if (grad) {
      const s = save(x, gamma, rMean, rVar);
      record(
        y,
        node("batchNorm(eval)", inputs, (gy) => {
          const dx = out(rt, x.shape), dg = out(rt, [c]), db = out(rt, [c]);
          const [pgy, pdx, pdg, pdb] = [gy.ptr, dx.ptr, dg.ptr, db.ptr];
          const [sx, sg, sm, sv] = s.ptrs;
          launch(rt, [gy], [dx, dg, db], () =>
            K.batchNormEvalBackward(rt, g, {
              x: sx,
              dy: pgy,
              gamma: sg,
              runningMean: sm,
              runningVar: sv,
              dx: pdx,
              dgamma: pdg,
              dbeta: pdb,
            }, { eps }));
          return pack(dx, dg, db);
        }, s.release),
      );
    }
  }
  if (!weight) gamma.dispose();
  if (!bias) beta.dispose();
  return traced("batchNorm", [x, options], y);
}

/** Options of {@linkcode localResponseNorm}. */
export interface LrnOptions {
  /** Channels in the window (n). */
  size: number;
  alpha?: number;
  beta?: number;
  k?: number;
  /**
   * "torch" (torch, Caffe, ONNX: alpha is divided by size) or "paper" (AlexNet paper, TF: alpha applies to
   * the raw sum). Default "torch".
   */
  alphaConvention?: "torch" | "paper";
}

/**
 * Local response normalization across channels: y = x / (k + a * sum(x^2 over the window))^beta.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const y = cnn.ops.localResponseNorm(cnn.full([1, 3, 1, 1], 1), { size: 5, alpha: 5e-4, beta: 0.75, k: 2 });
 * console.log(y.shape);
 * ```
 */
export function localResponseNorm(x: Tensor, options: LrnOptions): Tensor {
  const action = "run localResponseNorm";
  checkFloat("localResponseNorm", "input", x);
  if (x.rank < 3) throw rangeError(action, `input must have rank >= 3 (N, C, ...), got ${fmt(x.shape)}`);
  const { size } = options;
  if (!Number.isInteger(size) || size < 1) {
    throw rangeError(action, `size must be an integer >= 1, got ${size}`);
  }
  const alpha0 = options.alpha ?? 1e-4, beta = options.beta ?? 0.75, k = options.k ?? 1;
  const conv = options.alphaConvention ?? "torch";
  if (conv !== "torch" && conv !== "paper") {
    throw rangeError(action, `alphaConvention must be "torch" or "paper", got ${JSON.stringify(conv)}`);
  }
  if (!(k > 0) || !(alpha0 >= 0) || !Number.isFinite(beta)) {
    throw rangeError(
      action,
      `need k > 0, alpha >= 0 and finite beta, got k=${k} alpha=${alpha0} beta=${beta}`,
    );
  }
  const o = { size, alpha: conv === "torch" ? alpha0 / size : alpha0, beta, k };
  const [n, c] = x.shape;
  const g = { n, c, hw: x.size / Math.max(1, n * c) };
  const rt = x.rt;
  const y = out(rt, x.shape), scale = out(rt, x.shape);
  const [px, py, ps] = [x.ptr, y.ptr, scale.ptr];
  launch(rt, [x], [y, scale], () => K.lrnForward(rt, g, { x: px, y: py, scale: ps }, o));
  if (needsGrad(x)) {
    const s = save(x, y, scale);
    record(
      y,
      node("localResponseNorm", [x], (gy) => {
        const dx = out(rt, x.shape);
        const [pg, pdx] = [gy.ptr, dx.ptr];
        const [sx, sy, ss] = s.ptrs;
        launch(rt, [gy], [dx], () => K.lrnBackward(rt, g, { x: sx, y: sy, scale: ss, dy: pg, dx: pdx }, o));
        return [dx];
      }, s.release),
    );
  }
  scale.dispose();
  return traced("localResponseNorm", [x, options], y);
}
