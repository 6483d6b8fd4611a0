/**
 * Launchers of the normalization kernels: batch norm (training and eval, forward and backward) and
 * local response norm across channels. Tensors are [n, c, hw] float32 (hw = product of the spatial
 * dims). Batch-norm statistics split over channels; LRN over pixel positions.
 * @module
 */
import type { Runtime } from "../runtime.ts";

/** Batch-norm geometry: x is [n, c, hw]. */
export interface BatchNormGeometry {
  n: number;
  c: number;
  hw: number;
}

/**
 * Training forward: per-channel batch mean and biased variance normalize x; `mean` and `invstd`
 * (1/sqrt(var + eps), [c]) are written for the backward; `runningMean/runningVar` (0: none) move by
 * `momentum` towards the mean and the unbiased variance, as torch. gamma/beta 0 mean 1/0. `relu`: y =
 * max(y, 0) in the same pass.
 */
export function batchNormTrainForward(
  rt: Runtime,
  g: BatchNormGeometry,
  b: {
    x: number;
    y: number;
    gamma: number;
    beta: number;
    mean: number;
    invstd: number;
    runningMean: number;
    runningVar: number;
  },
  o: { momentum: number; eps: number; relu?: boolean },
): Promise<void> {
  return rt.exec("batchnorm_train_forward", [
    b.x,
    b.y,
    b.gamma,
    b.beta,
    b.mean,
    b.invstd,
    b.runningMean,
    b.runningVar,
    g.n,
    g.c,
    g.hw,
    o.momentum,
    o.eps,
    o.relu ? 1 : 0,
  ], { units: g.c, cost: 4 * g.n * g.c * g.hw });
}

/** Eval forward: y = (x - runningMean) / sqrt(runningVar + eps) * gamma + beta (gamma/beta 0: 1/0). */
export function batchNormEvalForward(
  rt: Runtime,
  g: BatchNormGeometry,
  b: { x: number; y: number; gamma: number; beta: number; runningMean: number; runningVar: number },
  o: { eps: number },
): Promise<void> {
  return rt.exec("batchnorm_eval_forward", [
    b.x,
    b.y,
    b.gamma,
    b.beta,
    b.runningMean,
    b.runningVar,
    g.c,
    g.hw,
    o.eps,
  ], { units: g.n * g.c, cost: 2 * g.n * g.c * g.hw });
}

/**
 * Training backward from the forward's mean/invstd: dx, dgamma = sum(dy * xhat), dbeta = sum(dy).
 * gamma 0 means 1; any of dx/dgamma/dbeta may be 0 (not computed).
 */
export function batchNormBackward(
  rt: Runtime,
  g: BatchNormGeometry,
  b: {
    x: number;
    dy: number;
    /** The forward's output when it applied a ReLU (its backward then comes first); 0 or absent: none. */
    y?: number;
    gamma: number;
    mean: number;
    invstd: number;
    dx: number;
    dgamma: number;
    dbeta: number;
  },
): Promise<void> {
  return rt.exec("batchnorm_backward", [
    b.x,
    b.dy,
    b.y ?? 0,
    b.gamma,
    b.mean,
    b.invstd,
    b.dx,
    b.dgamma,
    b.dbeta,
    g.n,
    g.c,
    g.hw,
  ], { units: g.c, cost: 4 * g.n * g.c * g.hw, scratchBytes: 16 });
}

/**
 * Eval-mode backward (running statistics are constants): dx = dy * gamma / sqrt(runningVar + eps),
 * dgamma, dbeta as in training. gamma 0 means 1; any of dx/dgamma/dbeta may be 0.
 */
export function batchNormEvalBackward(
  rt: Runtime,
  g: BatchNormGeometry,
  b: {
    x: number;
    dy: number;
    gamma: number;
    runningMean: number;
    runningVar: number;
    dx: number;
    dgamma: number;
    dbeta: number;
  },
  o: { eps: number },
): Promise<void> {
  return rt.exec("batchnorm_eval_backward", [
    b.x,
    b.dy,
    b.gamma,
    b.runningMean,
    b.runningVar,
    b.dx,
    b.dgamma,
    b.dbeta,
    g.n,
    g.c,
    g.hw,
    o.eps,
  ], { units: g.c, cost: 4 * g.n * g.c * g.hw, scratchBytes: 16 });
}

/** LRN geometry: x is [n, c, hw]. */
export interface LrnGeometry {
  n: number;
  c: number;
  hw: number;
}

/**
 * LRN options: window of `size` channels (size/2 before, (size-1)/2 after, as torch), `alpha` as
 * applied to the raw sum of squares (the op divides by size for torch's convention), exponent `beta`,
 * offset `k`.
 */
export type LrnOptions = { size: number; alpha: number; beta: number; k: number };

/** LRN forward: scale = k + alpha * windowed sum of x^2, y = x * scale^-beta (scale kept for backward). */
export function lrnForward(
  rt: Runtime,
  g: LrnGeometry,
  b: { x: number; y: number; scale: number },
  o: LrnOptions,
): Promise<void> {
  return rt.exec("lrn_forward", [b.x, b.y, b.scale, g.c, g.hw, o.size, o.alpha, o.beta, o.k], {
    units: g.n * g.hw,
    cost: g.n * g.c * g.hw * (o.size + 4),
  });
}

/** LRN backward from the forward's x, y and scale: dx [n, c, hw]. */
export function lrnBackward(
  rt: Runtime,
  g: LrnGeometry,
  b: { x: number; y: number; scale: number; dy: number; dx: number },
  o: LrnOptions,
): Promise<void> {
  return rt.exec("lrn_backward", [b.x, b.y, b.scale, b.dy, b.dx, g.c, g.hw, o.size, o.alpha, o.beta], {
    units: g.n * g.hw,
    cost: g.n * g.c * g.hw * (2 * o.size + 4),
  });
}
