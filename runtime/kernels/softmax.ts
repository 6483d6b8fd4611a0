/**
 * Launchers of the softmax, log-softmax and cross-entropy kernels (rows of a [rows, cols] matrix).
 * @module
 */
import type { Runtime } from "../runtime.ts";

// rough operations per element (exp ~ 20)
const COST = 24;

/** y = softmax(x) over each row of x [rows, cols]. `x` may equal `y`. */
export function softmaxForward(
  rt: Runtime,
  b: { x: number; y: number; rows: number; cols: number },
): Promise<void> {
  return rt.exec("softmax_forward", [b.x, b.y, b.cols], { units: b.rows, cost: COST * b.rows * b.cols });
}

/** dx = y * (dy - sum(dy * y)) per row, given the softmax output y. */
export function softmaxBackward(
  rt: Runtime,
  b: { y: number; dy: number; dx: number; rows: number; cols: number },
): Promise<void> {
  return rt.exec("softmax_backward", [b.y, b.dy, b.dx, b.cols], { units: b.rows, cost: 4 * b.rows * b.cols });
}

/** y = log_softmax(x) over each row of x [rows, cols]. `x` may equal `y`. */
export function logSoftmaxForward(
  rt: Runtime,
  b: { x: number; y: number; rows: number; cols: number },
): Promise<void> {
  return rt.exec("log_softmax_forward", [b.x, b.y, b.cols], { units: b.rows, cost: COST * b.rows * b.cols });
}

/** dx = dy - exp(y) * sum(dy) per row, given the log-softmax output y. */
export function logSoftmaxBackward(
  rt: Runtime,
  b: { y: number; dy: number; dx: number; rows: number; cols: number },
): Promise<void> {
  return rt.exec("log_softmax_backward", [b.y, b.dy, b.dx, b.cols], {
    units: b.rows,
    cost: COST * b.rows * b.cols,
  });
}

/**
 * Cross-entropy per row: logProbs = log_softmax(logits) [rows, cols]; losses [rows] =
 * (1 - s) * -logProbs[label] + s * mean_k(-logProbs[k]) (torch label smoothing s). labels: int32 [rows].
 */
export function crossEntropyForward(
  rt: Runtime,
  b: { logits: number; labels: number; logProbs: number; losses: number; rows: number; cols: number },
  o: { smoothing: number },
): Promise<void> {
  return rt.exec("cross_entropy_forward", [b.logits, b.labels, b.logProbs, b.losses, b.cols, o.smoothing], {
    units: b.rows,
    cost: COST * b.rows * b.cols,
  });
}

/**
 * dlogits = scale * (softmax - target) per row, target = (1 - s) * onehot(label) + s / cols, from the
 * forward's logProbs (`scale` is e.g. the upstream gradient / rows for a mean).
 */
export function crossEntropyBackward(
  rt: Runtime,
  b: { logProbs: number; labels: number; dlogits: number; rows: number; cols: number },
  o: { smoothing: number; scale: number },
): Promise<void> {
  return rt.exec("cross_entropy_backward", [b.logProbs, b.labels, b.dlogits, b.cols, o.smoothing, o.scale], {
    units: b.rows,
    cost: COST * b.rows * b.cols,
  });
}
