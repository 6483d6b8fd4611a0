/**
 * Reference batch norm and LRN: the readable specification of `assembly/norm.ts` (same names and
 * arguments, heap first). Batch norm units are channels; LRN units are the n * hw positions.
 * @module
 */
import type { Heap } from "../heap.ts";

/** Training forward: batch statistics, running statistics (unbiased variance) when runningMean != 0. */
export function batch_norm_train_forward(
  hp: Heap,
  x: number,
  y: number,
  gamma: number,
  beta: number,
  mean: number,
  invstd: number,
  rm: number,
  rv: number,
  n: number,
  c: number,
  hw: number,
  momentum: number,
  eps: number,
  start: number,
  end: number,
): void {
  const f = hp.f32;
  const at = (i: number, ch: number, j: number) => (x >> 2) + (i * c + ch) * hw + j;
  for (let ch = start; ch < end; ch++) {
    let s = 0, q = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < hw; j++) s += f[at(i, ch, j)];
    const mu = s / (n * hw);
    for (let i = 0; i < n; i++) for (let j = 0; j < hw; j++) q += (f[at(i, ch, j)] - mu) ** 2;
    const v = q / (n * hw), inv = 1 / Math.sqrt(v + eps);
    f[(mean >> 2) + ch] = mu;
    f[(invstd >> 2) + ch] = inv;
    if (rm) {
      f[(rm >> 2) + ch] = (1 - momentum) * f[(rm >> 2) + ch] + momentum * mu;
      f[(rv >> 2) + ch] = (1 - momentum) * f[(rv >> 2) + ch] + momentum * (n * hw > 1 ? q / (n * hw - 1) : v);
    }
    const g = f[(gamma >> 2) + ch], b = f[(beta >> 2) + ch];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < hw; j++) f[(y >> 2) + (i * c + ch) * hw + j] = (f[at(i, ch, j)] - mu) * inv * g + b;
    }
  }
}

/** Eval forward with the running statistics. */
export function batch_norm_eval_forward(
  hp: Heap,
  x: number,
  y: number,
  gamma: number,
  beta: number,
  rm: number,
  rv: number,
  n: number,
  c: number,
  hw: number,
  eps: number,
  start: number,
  end: number,
): void {
  const f = hp.f32;
  for (let ch = start; ch < end; ch++) {
    const inv = 1 / Math.sqrt(f[(rv >> 2) + ch] + eps);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < hw; j++) {
        const o = (i * c + ch) * hw + j;
        f[(y >> 2) + o] = (f[(x >> 2) + o] - f[(rm >> 2) + ch]) * inv * f[(gamma >> 2) + ch] +
          f[(beta >> 2) + ch];
      }
    }
  }
}

/** Training backward. */
export function batch_norm_backward(
  hp: Heap,
  x: number,
  dy: number,
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
): void {
  const f = hp.f32;
  const N = n * hw;
  for (let ch = start; ch < end; ch++) {
    const mu = f[(mean >> 2) + ch], inv = f[(invstd >> 2) + ch], g = f[(gamma >> 2) + ch];
    let sdy = 0, sdyx = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < hw; j++) {
        const o = (i * c + ch) * hw + j;
        sdy += f[(dy >> 2) + o];
        sdyx += f[(dy >> 2) + o] * (f[(x >> 2) + o] - mu) * inv;
      }
    }
    f[(dgamma >> 2) + ch] = sdyx;
    f[(dbeta >> 2) + ch] = sdy;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < hw; j++) {
        const o = (i * c + ch) * hw + j;
        const xhat = (f[(x >> 2) + o] - mu) * inv;
        f[(dx >> 2) + o] = (g * inv / N) * (N * f[(dy >> 2) + o] - sdy - xhat * sdyx);
      }
    }
  }
}

/** Eval-mode backward. */
export function batch_norm_eval_backward(
  hp: Heap,
  x: number,
  dy: number,
  gamma: number,
  rm: number,
  rv: number,
  dx: number,
  dgamma: number,
  dbeta: number,
  n: number,
  c: number,
  hw: number,
  eps: number,
  start: number,
  end: number,
): void {
  const f = hp.f32;
  for (let ch = start; ch < end; ch++) {
    const inv = 1 / Math.sqrt(f[(rv >> 2) + ch] + eps);
    let sdy = 0, sdyx = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < hw; j++) {
        const o = (i * c + ch) * hw + j;
        const d = f[(dy >> 2) + o];
        sdy += d;
        sdyx += d * (f[(x >> 2) + o] - f[(rm >> 2) + ch]) * inv;
        f[(dx >> 2) + o] = d * f[(gamma >> 2) + ch] * inv;
      }
    }
    f[(dgamma >> 2) + ch] = sdyx;
    f[(dbeta >> 2) + ch] = sdy;
  }
}

/** LRN forward: scale = k + alpha * window sum of squares, y = x * scale^-beta. */
export function lrn_forward(
  hp: Heap,
  x: number,
  y: number,
  scale: number,
  _n: number,
  c: number,
  hw: number,
  size: number,
  alpha: number,
  beta: number,
  k: number,
  start: number,
  end: number,
): void {
  const f = hp.f32;
  const before = Math.floor(size / 2), after = Math.floor((size - 1) / 2);
  for (let u = start; u < end; u++) {
    const img = Math.floor(u / hw), pos = u % hw;
    for (let ch = 0; ch < c; ch++) {
      let s = 0;
      for (let j = Math.max(0, ch - before); j <= Math.min(c - 1, ch + after); j++) {
        s += f[(x >> 2) + (img * c + j) * hw + pos] ** 2;
      }
      const o = (img * c + ch) * hw + pos;
      const sc = k + alpha * s;
      f[(scale >> 2) + o] = sc;
      f[(y >> 2) + o] = f[(x >> 2) + o] * sc ** -beta;
    }
  }
}

/** LRN backward. */
export function lrn_backward(
  hp: Heap,
  x: number,
  y: number,
  scale: number,
  dy: number,
  dx: number,
  _n: number,
  c: number,
  hw: number,
  size: number,
  alpha: number,
  beta: number,
  start: number,
  end: number,
): void {
  const f = hp.f32;
  const before = Math.floor(size / 2), after = Math.floor((size - 1) / 2);
  for (let u = start; u < end; u++) {
    const img = Math.floor(u / hw), pos = u % hw;
    for (let j = 0; j < c; j++) {
      let s = 0;
      for (let i = Math.max(0, j - after); i <= Math.min(c - 1, j + before); i++) {
        const o = (img * c + i) * hw + pos;
        s += f[(dy >> 2) + o] * f[(y >> 2) + o] / f[(scale >> 2) + o];
      }
      const o = (img * c + j) * hw + pos;
      f[(dx >> 2) + o] = f[(dy >> 2) + o] * f[(scale >> 2) + o] ** -beta -
        2 * alpha * beta * f[(x >> 2) + o] * s;
    }
  }
}
