/**
 * Reference normalization kernels: the readable specification of `assembly/norm.ts`, with the same
 * arguments. x is [n, c, hw] (hw = product of the spatial dims). Statistics are computed in float64.
 * @module
 */
import type { Heap } from "../heap.ts";

/** Float64 sums of each channel's plane values: calls `f(value index)` for every element of `ch`. */
function forChannel(n: number, c: number, hw: number, ch: number, f: (i: number) => void): void {
  for (let i = 0; i < n; i++) {
    const base = (i * c + ch) * hw;
    for (let j = 0; j < hw; j++) f(base + j);
  }
}

/**
 * Training forward over channels [start, end): batch mean and biased variance normalize x; mean and
 * 1/sqrt(var + eps) are stored; runningMean/runningVar (0: none) move by `momentum` towards the mean
 * and the unbiased variance. gamma/beta 0 mean 1/0. relu != 0: y = max(y, 0).
 */
export function batchnorm_train_forward(
  hp: Heap,
  x: number,
  y: number,
  gamma: number,
  beta: number,
  mean: number,
  invstd: number,
  runningMean: number,
  runningVar: number,
  n: number,
  c: number,
  hw: number,
  momentum: number,
  eps: number,
  relu: number,
  start: number,
  end: number,
): void {
  const m = hp.f32, X = x >> 2, Y = y >> 2;
  const cnt = n * hw;
  for (let ch = start; ch < end; ch++) {
    let s = 0;
    forChannel(n, c, hw, ch, (i) => s += m[X + i]);
    const mu = s / cnt;
    let q = 0;
    forChannel(n, c, hw, ch, (i) => q += (m[X + i] - mu) ** 2);
    const v = q / cnt;
    const is = 1 / Math.sqrt(v + eps);
    m[(mean >> 2) + ch] = mu;
    m[(invstd >> 2) + ch] = is;
    if (runningMean !== 0) {
      const rm = (runningMean >> 2) + ch, rv = (runningVar >> 2) + ch;
      m[rm] = (1 - momentum) * m[rm] + momentum * mu;
      m[rv] = (1 - momentum) * m[rv] + momentum * (cnt > 1 ? v * cnt / (cnt - 1) : v);
    }
    const g = gamma ? m[(gamma >> 2) + ch] : 1, b = beta ? m[(beta >> 2) + ch] : 0;
    forChannel(n, c, hw, ch, (i) => {
      const v = (m[X + i] - mu) * is * g + b;
      m[Y + i] = relu && !(v > 0) ? 0 : v;
    });
  }
}

/** Eval forward over (n, c) planes [start, end): y = (x - runningMean) / sqrt(runningVar + eps) * gamma + beta. */
export function batchnorm_eval_forward(
  hp: Heap,
  x: number,
  y: number,
  gamma: number,
  beta: number,
  runningMean: number,
  runningVar: number,
  c: number,
  hw: number,
  eps: number,
  start: number,
  end: number,
): void {
  const m = hp.f32;
  for (let p = start; p < end; p++) {
    const ch = p % c;
    const mu = m[(runningMean >> 2) + ch], is = 1 / Math.sqrt(m[(runningVar >> 2) + ch] + eps);
    const g = gamma ? m[(gamma >> 2) + ch] : 1, b = beta ? m[(beta >> 2) + ch] : 0;
    for (let j = p * hw; j < (p + 1) * hw; j++) m[(y >> 2) + j] = (m[(x >> 2) + j] - mu) * is * g + b;
  }
}

/**
 * Training backward over channels [start, end): with xhat = (x - mean) * invstd and M = n*hw,
 * dbeta = sum dy, dgamma = sum dy * xhat, dx = gamma * invstd * (dy - dbeta/M - xhat * dgamma/M).
 * gamma 0 means 1; dx, dgamma, dbeta 0 are not written. y != 0: the forward applied a ReLU with output y,
 * so dy is first replaced by (y > 0 ? dy : 0).
 */
export function batchnorm_backward(
  hp: Heap,
  x: number,
  dy: number,
  y: number,
  gamma: number,
  mean: number,
  invstd: number,
  dx: number,
  dgamma: number,
  dbeta: number,
  n: number,
  c: number,
  hw: number,
  start: number,
  end: number,
  _scratch?: number,
): void {
  const m = hp.f32, X = x >> 2, DY = dy >> 2;
  const cnt = n * hw;
  // The gradient reaching the batch norm: dy, or with a ReLU after it (y != 0) dy where y > 0, else 0.
  const G = (i: number) => y && !(m[(y >> 2) + i] > 0) ? 0 : m[DY + i];
  for (let ch = start; ch < end; ch++) {
    const mu = m[(mean >> 2) + ch], is = m[(invstd >> 2) + ch];
    let sdy = 0, sdyx = 0;
    forChannel(n, c, hw, ch, (i) => {
      sdy += G(i);
      sdyx += G(i) * (m[X + i] - mu) * is;
    });
    if (dbeta) m[(dbeta >> 2) + ch] = sdy;
    if (dgamma) m[(dgamma >> 2) + ch] = sdyx;
    if (dx) {
      const g = gamma ? m[(gamma >> 2) + ch] : 1;
      forChannel(n, c, hw, ch, (i) => {
        const xhat = (m[X + i] - mu) * is;
        m[(dx >> 2) + i] = g * is * (G(i) - sdy / cnt - xhat * sdyx / cnt);
      });
    }
  }
}

/**
 * Eval backward over channels [start, end) (statistics are constants): dx = dy * gamma * invstd,
 * dgamma = sum dy * xhat, dbeta = sum dy with invstd = 1/sqrt(runningVar + eps).
 */
export function batchnorm_eval_backward(
  hp: Heap,
  x: number,
  dy: number,
  gamma: number,
  runningMean: number,
  runningVar: number,
  dx: number,
  dgamma: number,
  dbeta: number,
  n: number,
  c: number,
  hw: number,
  eps: number,
  start: number,
  end: number,
  _scratch?: number,
): void {
  const m = hp.f32, X = x >> 2, DY = dy >> 2;
  for (let ch = start; ch < end; ch++) {
    const mu = m[(runningMean >> 2) + ch], is = 1 / Math.sqrt(m[(runningVar >> 2) + ch] + eps);
    const g = gamma ? m[(gamma >> 2) + ch] : 1;
    let sdy = 0, sdyx = 0;
    forChannel(n, c, hw, ch, (i) => {
      sdy += m[DY + i];
      sdyx += m[DY + i] * (m[X + i] - mu) * is;
      if (dx) m[(dx >> 2) + i] = m[DY + i] * g * is;
    });
    if (dbeta) m[(dbeta >> 2) + ch] = sdy;
    if (dgamma) m[(dgamma >> 2) + ch] = sdyx;
  }
}

/** Positions [start, end) of n*hw as (image, position) pairs. */
function forPositions(hw: number, start: number, end: number, f: (img: number, p: number) => void): void {
  for (let u = start; u < end; u++) f(Math.floor(u / hw), u % hw);
}

/**
 * LRN forward over pixel positions [start, end) of n*hw: scale = k + alpha * sum of x^2 over channels
 * ch - floor(size/2) .. ch + floor((size-1)/2) (clipped), y = x * scale^-beta.
 */
export function lrn_forward(
  hp: Heap,
  x: number,
  y: number,
  scale: number,
  c: number,
  hw: number,
  size: number,
  alpha: number,
  beta: number,
  k: number,
  start: number,
  end: number,
): void {
  const m = hp.f32;
  forPositions(hw, start, end, (img, p) => {
    const at = (ch: number) => (img * c + ch) * hw + p;
    for (let ch = 0; ch < c; ch++) {
      let acc = 0;
      const lo = Math.max(0, ch - Math.floor(size / 2)),
        hi = Math.min(c - 1, ch + Math.floor((size - 1) / 2));
      for (let j = lo; j <= hi; j++) acc += m[(x >> 2) + at(j)] ** 2;
      const s = k + alpha * acc;
      m[(scale >> 2) + at(ch)] = s;
      m[(y >> 2) + at(ch)] = m[(x >> 2) + at(ch)] * s ** -beta;
    }
  });
}

/**
 * LRN backward over pixel positions: dx_i = dy_i * scale_i^-beta - 2 alpha beta x_i *
 * sum over channels j whose window contains i of dy_j * y_j / scale_j.
 */
export function lrn_backward(
  hp: Heap,
  x: number,
  y: number,
  scale: number,
  dy: number,
  dx: number,
  c: number,
  hw: number,
  size: number,
  alpha: number,
  beta: number,
  start: number,
  end: number,
): void {
  const m = hp.f32;
  forPositions(hw, start, end, (img, p) => {
    const at = (ch: number) => (img * c + ch) * hw + p;
    for (let ch = 0; ch < c; ch++) {
      let acc = 0;
      const lo = Math.max(0, ch - Math.floor((size - 1) / 2)),
        hi = Math.min(c - 1, ch + Math.floor(size / 2));
      for (let j = lo; j <= hi; j++) {
        acc += m[(dy >> 2) + at(j)] * m[(y >> 2) + at(j)] / m[(scale >> 2) + at(j)];
      }
      const i = at(ch);
      m[(dx >> 2) + i] = m[(dy >> 2) + i] * m[(scale >> 2) + i] ** -beta -
        2 * alpha * beta * m[(x >> 2) + i] * acc;
    }
  });
}
