/**
 * Reference softmax, log-softmax and cross-entropy kernels: the readable specification of
 * `assembly/softmax.ts` (rows of a [rows, cols] matrix; work units are rows). Computed in float64.
 * @module
 */
import type { Heap } from "../heap.ts";

function logSumExp(m: Float32Array, base: number, cols: number): number {
  let mx = -Infinity;
  for (let k = 0; k < cols; k++) mx = Math.max(mx, m[base + k]);
  let s = 0;
  for (let k = 0; k < cols; k++) s += Math.exp(m[base + k] - mx);
  return mx + Math.log(s);
}

/** y = exp(x - logsumexp(x)) per row, rows in [start, end). */
export function softmax_forward(
  h: Heap,
  x: number,
  y: number,
  cols: number,
  start: number,
  end: number,
): void {
  const m = h.f32;
  for (let r = start; r < end; r++) {
    const lse = logSumExp(m, (x >> 2) + r * cols, cols);
    for (let k = 0; k < cols; k++) m[(y >> 2) + r * cols + k] = Math.exp(m[(x >> 2) + r * cols + k] - lse);
  }
}

/** dx = y * (dy - sum(dy * y)) per row (y: the softmax output). */
export function softmax_backward(
  h: Heap,
  y: number,
  dy: number,
  dx: number,
  cols: number,
  start: number,
  end: number,
): void {
  const m = h.f32;
  for (let r = start; r < end; r++) {
    const [py, pg, pd] = [(y >> 2) + r * cols, (dy >> 2) + r * cols, (dx >> 2) + r * cols];
    let d = 0;
    for (let k = 0; k < cols; k++) d += m[pg + k] * m[py + k];
    for (let k = 0; k < cols; k++) m[pd + k] = m[py + k] * (m[pg + k] - d);
  }
}

/** y = x - logsumexp(x) per row, rows in [start, end). */
export function log_softmax_forward(
  h: Heap,
  x: number,
  y: number,
  cols: number,
  start: number,
  end: number,
): void {
  const m = h.f32;
  for (let r = start; r < end; r++) {
    const lse = logSumExp(m, (x >> 2) + r * cols, cols);
    for (let k = 0; k < cols; k++) m[(y >> 2) + r * cols + k] = m[(x >> 2) + r * cols + k] - lse;
  }
}

/** dx = dy - exp(y) * sum(dy) per row (y: the log-softmax output). */
export function log_softmax_backward(
  h: Heap,
  y: number,
  dy: number,
  dx: number,
  cols: number,
  start: number,
  end: number,
): void {
  const m = h.f32;
  for (let r = start; r < end; r++) {
    const [py, pg, pd] = [(y >> 2) + r * cols, (dy >> 2) + r * cols, (dx >> 2) + r * cols];
    let s = 0;
    for (let k = 0; k < cols; k++) s += m[pg + k];
    for (let k = 0; k < cols; k++) m[pd + k] = m[pg + k] - Math.exp(m[py + k]) * s;
  }
}

/**
 * logProbs = log_softmax(logits); losses[r] = (1 - s) * -logProbs[r, label[r]] + s * mean_k(-logProbs[r, k])
 * (torch's label smoothing), rows in [start, end). labels are int32.
 */
export function cross_entropy_forward(
  h: Heap,
  logits: number,
  labels: number,
  logProbs: number,
  losses: number,
  cols: number,
  smoothing: number,
  start: number,
  end: number,
): void {
  const m = h.f32;
  for (let r = start; r < end; r++) {
    const base = (logits >> 2) + r * cols, out = (logProbs >> 2) + r * cols;
    const lse = logSumExp(m, base, cols);
    let sum = 0;
    for (let k = 0; k < cols; k++) {
      const v = m[base + k] - lse;
      m[out + k] = v;
      sum += v;
    }
    const nll = -(m[base + h.i32[(labels >> 2) + r]] - lse);
    m[(losses >> 2) + r] = (1 - smoothing) * nll + smoothing * (-sum / cols);
  }
}

/** dlogits[r, k] = scale * (exp(logProbs[r, k]) - s / cols - (1 - s) * (k == label[r])), rows in [start, end). */
export function cross_entropy_backward(
  h: Heap,
  logProbs: number,
  labels: number,
  dlogits: number,
  cols: number,
  smoothing: number,
  scale: number,
  start: number,
  end: number,
): void {
  const m = h.f32;
  for (let r = start; r < end; r++) {
    const label = h.i32[(labels >> 2) + r];
    for (let k = 0; k < cols; k++) {
      const target = smoothing / cols + (k === label ? 1 - smoothing : 0);
      m[(dlogits >> 2) + r * cols + k] = scale * (Math.exp(m[(logProbs >> 2) + r * cols + k]) - target);
    }
  }
}
