/**
 * Launchers of batch norm (units: channels) and LRN (units: the n * hw positions).
 * @module
 */
import type { Runtime } from "../runtime.ts";

/** Batch-norm geometry: x seen as [n, c, hw]. */
export interface BatchNormGeometry {
  n: number;
  c: number;
  hw: number;
}
/** LRN geometry: x seen as [n, c, hw]. */
export type LrnGeometry = BatchNormGeometry;
/** LRN constants (alpha already in torch's per-window form: alpha / size for the torch convention). */
export type LrnOptions = { size: number; alpha: number; beta: number; k: number };

const cost = (g: BatchNormGeometry) => 3 * g.n * g.c * g.hw;

/** Training forward: batch statistics to mean/invstd, running statistics updated when given (non-0). */
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
  o: { momentum: number; eps: number },
): Promise<void> {
  return rt.exec("batch_norm_train_forward", [
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
  ], { units: g.c, cost: cost(g) });
}

/** Eval forward with running statistics. */
export function batchNormEvalForward(
  rt: Runtime,
  g: BatchNormGeometry,
  b: { x: number; y: number; gamma: number; beta: number; runningMean: number; runningVar: number },
  o: { eps: number },
): Promise<void> {
  return rt.exec(
    "batch_norm_eval_forward",
    [b.x, b.y, b.gamma, b.beta, b.runningMean, b.runningVar, g.n, g.c, g.hw, o.eps],
    { units: g.c, cost: cost(g) },
  );
}

/** Training backward: dx, dgamma, dbeta (all overwritten). */
export function batchNormBackward(
  rt: Runtime,
  g: BatchNormGeometry,
  b: {
    x: number;
    dy: number;
    gamma: number;
    mean: number;
    invstd: number;
    dx: number;
    dgamma: number;
    dbeta: number;
  },
): Promise<void> {
  return rt.exec(
    "batch_norm_backward",
    [b.x, b.dy, b.gamma, b.mean, b.invstd, b.dx, b.dgamma, b.dbeta, g.n, g.c, g.hw],
    { units: g.c, cost: cost(g) },
  );
}

/** Eval-mode backward: dx, dgamma, dbeta (all overwritten). */
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
  return rt.exec("batch_norm_eval_backward", [
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
  ], { units: g.c, cost: cost(g) });
}

/** LRN forward: writes y and the per-element scale the backward needs. */
export function lrnForward(
  rt: Runtime,
  g: LrnGeometry,
  b: { x: number; y: number; scale: number },
  o: LrnOptions,
): Promise<void> {
  return rt.exec("lrn_forward", [b.x, b.y, b.scale, g.n, g.c, g.hw, o.size, o.alpha, o.beta, o.k], {
    units: g.n * g.hw,
    cost: g.n * g.hw * g.c * (o.size + 20),
  });
}

/** LRN backward (dx overwritten). */
export function lrnBackward(
  rt: Runtime,
  g: LrnGeometry,
  b: { x: number; y: number; scale: number; dy: number; dx: number },
  o: LrnOptions,
): Promise<void> {
  return rt.exec("lrn_backward", [b.x, b.y, b.scale, b.dy, b.dx, g.n, g.c, g.hw, o.size, o.alpha, o.beta], {
    units: g.n * g.hw,
    cost: g.n * g.hw * g.c * (o.size + 20),
  });
}
