// Softmax, log-softmax and cross-entropy over the rows of a [rows, cols] matrix. Work units are rows.
// Pointers are byte addresses of f32 buffers (labels: i32) in the shared memory.
import { expf1, expv, logd } from "./_math";
import { hsum } from "./_simd";

// Largest value of the row p[0..cols).
@inline function rowMax(p: usize, cols: i32): f32 {
  let m = f32x4.splat(-Infinity);
  let i = 0;
  for (; i + 4 <= cols; i += 4) m = f32x4.pmax(m, v128.load(p + (<usize>i << 2)));
  let s = max(max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
  for (; i < cols; i++) s = max(s, load<f32>(p + (<usize>i << 2)));
  return s;
}

// Sum of the row p[0..cols).
@inline function rowSum(p: usize, cols: i32): f32 {
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= cols; i += 4) acc = f32x4.add(acc, v128.load(p + (<usize>i << 2)));
  let s = hsum(acc);
  for (; i < cols; i++) s += load<f32>(p + (<usize>i << 2));
  return s;
}

// y[k] = (x[k] - max) - log(sum_j exp(x[j] - max)) over one row (y may equal x).
@inline function logSoftmaxRow(x: usize, y: usize, cols: i32): void {
  const m = rowMax(x, cols);
  const vm = f32x4.splat(m);
  let acc = f32x4.splat(0);
  let acc1 = f32x4.splat(0);
  let i = 0;
  for (; i + 8 <= cols; i += 8) {
    const o = <usize>i << 2;
    acc = f32x4.add(acc, expv(f32x4.sub(v128.load(x + o), vm)));
    acc1 = f32x4.add(acc1, expv(f32x4.sub(v128.load(x + o + 16), vm)));
  }
  for (; i + 4 <= cols; i += 4) acc = f32x4.add(acc, expv(f32x4.sub(v128.load(x + (<usize>i << 2)), vm)));
  let s = hsum(f32x4.add(acc, acc1));
  for (; i < cols; i++) s += expf1(load<f32>(x + (<usize>i << 2)) - m);
  // (x - max) - log(sum) keeps the precision of x near the max (x - lse would cancel)
  const ls = <f32>logd(<f64>s);
  const vl = f32x4.splat(ls);
  i = 0;
  for (; i + 4 <= cols; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.sub(f32x4.sub(v128.load(x + o), vm), vl));
  }
  for (; i < cols; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, (load<f32>(x + o) - m) - ls);
  }
}

// x: [rows, cols] -> y: [rows, cols];  y = exp(x - max) / sum(exp(x - max)) per row (y may equal x)
export function softmax_forward(x: usize, y: usize, cols: i32, start: i32, end: i32): void {
  for (let r = start; r < end; r++) {
    const off = (<usize>r * <usize>cols) << 2;
    const xp = x + off, yp = y + off;
    const m = rowMax(xp, cols);
    const vm = f32x4.splat(m);
    let acc = f32x4.splat(0);
    let acc1 = f32x4.splat(0);
    let i = 0;
    for (; i + 8 <= cols; i += 8) {
      const o = <usize>i << 2;
      const e0 = expv(f32x4.sub(v128.load(xp + o), vm));
      const e1 = expv(f32x4.sub(v128.load(xp + o + 16), vm));
      v128.store(yp + o, e0);
      v128.store(yp + o + 16, e1);
      acc = f32x4.add(acc, e0);
      acc1 = f32x4.add(acc1, e1);
    }
    for (; i + 4 <= cols; i += 4) {
      const o = <usize>i << 2;
      const e = expv(f32x4.sub(v128.load(xp + o), vm));
      v128.store(yp + o, e);
      acc = f32x4.add(acc, e);
    }
    let s = hsum(f32x4.add(acc, acc1));
    for (; i < cols; i++) {
      const o = <usize>i << 2;
      const e = expf1(load<f32>(xp + o) - m);
      store<f32>(yp + o, e);
      s += e;
    }
    const inv = <f32>1 / s;
    const vi = f32x4.splat(inv);
    i = 0;
    for (; i + 4 <= cols; i += 4) {
      const o = <usize>i << 2;
      v128.store(yp + o, f32x4.mul(v128.load(yp + o), vi));
    }
    for (; i < cols; i++) {
      const o = <usize>i << 2;
      store<f32>(yp + o, load<f32>(yp + o) * inv);
    }
  }
}

// y: [rows, cols] (softmax output), dy: [rows, cols] -> dx: [rows, cols];
// dx = y * (dy - sum(dy * y)) per row
export function softmax_backward(y: usize, dy: usize, dx: usize, cols: i32, start: i32, end: i32): void {
  for (let r = start; r < end; r++) {
    const off = (<usize>r * <usize>cols) << 2;
    const yp = y + off, gp = dy + off, dp = dx + off;
    let acc = f32x4.splat(0);
    let i = 0;
    for (; i + 4 <= cols; i += 4) {
      const o = <usize>i << 2;
      acc = f32x4.add(acc, f32x4.mul(v128.load(gp + o), v128.load(yp + o)));
    }
    let d = hsum(acc);
    for (; i < cols; i++) {
      const o = <usize>i << 2;
      d += load<f32>(gp + o) * load<f32>(yp + o);
    }
    const vd = f32x4.splat(d);
    i = 0;
    for (; i + 4 <= cols; i += 4) {
      const o = <usize>i << 2;
      v128.store(dp + o, f32x4.mul(v128.load(yp + o), f32x4.sub(v128.load(gp + o), vd)));
    }
    for (; i < cols; i++) {
      const o = <usize>i << 2;
      store<f32>(dp + o, load<f32>(yp + o) * (load<f32>(gp + o) - d));
    }
  }
}

// x: [rows, cols] -> y: [rows, cols];  y = x - logsumexp(x) per row (y may equal x)
export function log_softmax_forward(x: usize, y: usize, cols: i32, start: i32, end: i32): void {
  for (let r = start; r < end; r++) {
    const off = (<usize>r * <usize>cols) << 2;
    logSoftmaxRow(x + off, y + off, cols);
  }
}

// y: [rows, cols] (log-softmax output), dy: [rows, cols] -> dx: [rows, cols];
// dx = dy - exp(y) * sum(dy) per row
export function log_softmax_backward(y: usize, dy: usize, dx: usize, cols: i32, start: i32, end: i32): void {
  for (let r = start; r < end; r++) {
    const off = (<usize>r * <usize>cols) << 2;
    const yp = y + off, gp = dy + off, dp = dx + off;
    const s = rowSum(gp, cols);
    const vs = f32x4.splat(s);
    let i = 0;
    for (; i + 4 <= cols; i += 4) {
      const o = <usize>i << 2;
      v128.store(dp + o, f32x4.sub(v128.load(gp + o), f32x4.mul(expv(v128.load(yp + o)), vs)));
    }
    for (; i < cols; i++) {
      const o = <usize>i << 2;
      store<f32>(dp + o, load<f32>(gp + o) - expf1(load<f32>(yp + o)) * s);
    }
  }
}

// logits: [rows, cols], labels: [rows] i32 -> logProbs: [rows, cols], losses: [rows];
// logProbs = log_softmax(logits); losses[r] = (1 - s) * -logProbs[r, label] + s * mean_k(-logProbs[r, k])
export function cross_entropy_forward(
  logits: usize, labels: usize, logProbs: usize, losses: usize, cols: i32, smoothing: f32, start: i32, end: i32,
): void {
  for (let r = start; r < end; r++) {
    const off = (<usize>r * <usize>cols) << 2;
    const lp = logProbs + off;
    logSoftmaxRow(logits + off, lp, cols);
    const label = load<i32>(labels + (<usize>r << 2));
    let loss = -load<f32>(lp + (<usize>label << 2));
    if (smoothing != 0) {
      const mean = -rowSum(lp, cols) / <f32>cols;
      loss = (1 - smoothing) * loss + smoothing * mean;
    }
    store<f32>(losses + (<usize>r << 2), loss);
  }
}

// logProbs: [rows, cols], labels: [rows] i32 -> dlogits: [rows, cols];
// dlogits[r, k] = scale * (exp(logProbs[r, k]) - s / cols - (1 - s) * (k == label))
export function cross_entropy_backward(
  logProbs: usize, labels: usize, dlogits: usize, cols: i32, smoothing: f32, scale: f32, start: i32, end: i32,
): void {
  const u = smoothing / <f32>cols;
  const vu = f32x4.splat(u);
  const vs = f32x4.splat(scale);
  for (let r = start; r < end; r++) {
    const off = (<usize>r * <usize>cols) << 2;
    const lp = logProbs + off, dp = dlogits + off;
    let i = 0;
    for (; i + 4 <= cols; i += 4) {
      const o = <usize>i << 2;
      v128.store(dp + o, f32x4.mul(f32x4.sub(expv(v128.load(lp + o)), vu), vs));
    }
    for (; i < cols; i++) {
      const o = <usize>i << 2;
      store<f32>(dp + o, (expf1(load<f32>(lp + o)) - u) * scale);
    }
    const lo = <usize>load<i32>(labels + (<usize>r << 2)) << 2;
    store<f32>(dp + lo, (expf1(load<f32>(lp + lo)) - u - (1 - smoothing)) * scale);
  }
}
