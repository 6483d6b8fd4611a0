import { expf1, logd } from "./_math";
// Batch normalization and local response normalization over NCHW tensors seen as [n, c, hw].
// Batch-norm units are channels (each thread owns whole channels); statistics accumulate in f64.

// x, y: [n, c, hw]; gamma, beta: [c]; mean, invstd: [c] written (batch statistics); runningMean and
// runningVar: [c] updated with momentum (unbiased variance) when runningMean != 0.
export function batch_norm_train_forward(
  x: usize, y: usize, gamma: usize, beta: usize, mean: usize, invstd: usize, runningMean: usize,
  runningVar: usize, n: i32, c: i32, hw: i32, momentum: f32, eps: f32, start: i32, end: i32,
): void {
  const count = <f64>n * <f64>hw;
  const stride = <usize>c * <usize>hw << 2;
  for (let ch = start; ch < end; ch++) {
    const base = x + (<usize>ch * <usize>hw << 2);
    let s: f64 = 0;
    for (let i = 0; i < n; i++) {
      const p = base + <usize>i * stride;
      let acc = f32x4.splat(0);
      let j = 0;
      for (; j + 4 <= hw; j += 4) acc = f32x4.add(acc, v128.load(p + (<usize>j << 2)));
      let t = <f64>f32x4.extract_lane(acc, 0) + <f64>f32x4.extract_lane(acc, 1) +
        <f64>f32x4.extract_lane(acc, 2) + <f64>f32x4.extract_lane(acc, 3);
      for (; j < hw; j++) t += <f64>load<f32>(p + (<usize>j << 2));
      s += t;
    }
    const mu = s / count;
    const m4 = f32x4.splat(<f32>mu);
    let q: f64 = 0;
    for (let i = 0; i < n; i++) {
      const p = base + <usize>i * stride;
      let acc = f32x4.splat(0);
      let j = 0;
      for (; j + 4 <= hw; j += 4) {
        const d = f32x4.sub(v128.load(p + (<usize>j << 2)), m4);
        acc = f32x4.add(acc, f32x4.mul(d, d));
      }
      let t = <f64>f32x4.extract_lane(acc, 0) + <f64>f32x4.extract_lane(acc, 1) +
        <f64>f32x4.extract_lane(acc, 2) + <f64>f32x4.extract_lane(acc, 3);
      for (; j < hw; j++) {
        const d = <f64>load<f32>(p + (<usize>j << 2)) - mu;
        t += d * d;
      }
      q += t;
    }
    const varB = q / count;
    const inv = 1.0 / Math.sqrt(varB + <f64>eps);
    store<f32>(mean + (<usize>ch << 2), <f32>mu);
    store<f32>(invstd + (<usize>ch << 2), <f32>inv);
    if (runningMean != 0) {
      const rm = runningMean + (<usize>ch << 2), rv = runningVar + (<usize>ch << 2);
      const unbiased = count > 1 ? q / (count - 1) : varB;
      store<f32>(rm, <f32>((1 - <f64>momentum) * <f64>load<f32>(rm) + <f64>momentum * mu));
      store<f32>(rv, <f32>((1 - <f64>momentum) * <f64>load<f32>(rv) + <f64>momentum * unbiased));
    }
    const scale = <f32>(<f64>load<f32>(gamma + (<usize>ch << 2)) * inv);
    const shift = <f32>(<f64>load<f32>(beta + (<usize>ch << 2)) - mu * <f64>scale);
    normalize(x, y, ch, n, hw, stride, scale, shift);
  }
}

// y = x * scale + shift over channel ch of [n, c, hw].
@inline function normalize(x: usize, y: usize, ch: i32, n: i32, hw: i32, stride: usize, scale: f32, shift: f32): void {
  const s4 = f32x4.splat(scale), b4 = f32x4.splat(shift);
  const off = <usize>ch * <usize>hw << 2;
  for (let i = 0; i < n; i++) {
    const p = x + off + <usize>i * stride, q = y + off + <usize>i * stride;
    let j = 0;
    for (; j + 4 <= hw; j += 4) {
      const o = <usize>j << 2;
      v128.store(q + o, f32x4.add(f32x4.mul(v128.load(p + o), s4), b4));
    }
    for (; j < hw; j++) {
      const o = <usize>j << 2;
      store<f32>(q + o, load<f32>(p + o) * scale + shift);
    }
  }
}

// Eval mode: y = (x - runningMean) / sqrt(runningVar + eps) * gamma + beta.
export function batch_norm_eval_forward(
  x: usize, y: usize, gamma: usize, beta: usize, runningMean: usize, runningVar: usize, n: i32, c: i32,
  hw: i32, eps: f32, start: i32, end: i32,
): void {
  const stride = <usize>c * <usize>hw << 2;
  for (let ch = start; ch < end; ch++) {
    const o = <usize>ch << 2;
    const inv = 1.0 / Math.sqrt(<f64>load<f32>(runningVar + o) + <f64>eps);
    const scale = <f32>(<f64>load<f32>(gamma + o) * inv);
    const shift = <f32>(<f64>load<f32>(beta + o) - <f64>load<f32>(runningMean + o) * <f64>scale);
    normalize(x, y, ch, n, hw, stride, scale, shift);
  }
}

// Training-mode backward. dgamma = sum dy * xhat, dbeta = sum dy,
// dx = gamma * invstd / N * (N dy - dbeta - xhat * dgamma), xhat = (x - mean) * invstd.
export function batch_norm_backward(
  x: usize, dy: usize, gamma: usize, mean: usize, invstd: usize, dx: usize, dgamma: usize, dbeta: usize,
  n: i32, c: i32, hw: i32, start: i32, end: i32,
): void {
  const stride = <usize>c * <usize>hw << 2;
  const count = <f64>n * <f64>hw;
  for (let ch = start; ch < end; ch++) {
    const o = <usize>ch << 2;
    const mu = load<f32>(mean + o), inv = load<f32>(invstd + o);
    const off = <usize>ch * <usize>hw << 2;
    let sdy: f64 = 0, sdyx: f64 = 0;
    for (let i = 0; i < n; i++) {
      const p = x + off + <usize>i * stride, g = dy + off + <usize>i * stride;
      for (let j = 0; j < hw; j++) {
        const d = <f64>load<f32>(g + (<usize>j << 2));
        sdy += d;
        sdyx += d * (<f64>load<f32>(p + (<usize>j << 2)) - <f64>mu);
      }
    }
    const dg = sdyx * <f64>inv;
    store<f32>(dgamma + o, <f32>dg);
    store<f32>(dbeta + o, <f32>sdy);
    const k = <f64>load<f32>(gamma + o) * <f64>inv / count;
    // dx = k * (N dy - sdy - (x - mu) * inv * dg) = a * dy + b * x + c0
    const a = <f32>(k * count), b = <f32>(-k * <f64>inv * dg), c0 = <f32>(-k * sdy + k * <f64>inv * dg * <f64>mu);
    const a4 = f32x4.splat(a), b4 = f32x4.splat(b), c4 = f32x4.splat(c0);
    for (let i = 0; i < n; i++) {
      const p = x + off + <usize>i * stride, g = dy + off + <usize>i * stride, q = dx + off + <usize>i * stride;
      let j = 0;
      for (; j + 4 <= hw; j += 4) {
        const t = <usize>j << 2;
        v128.store(q + t, f32x4.add(f32x4.add(f32x4.mul(v128.load(g + t), a4), f32x4.mul(v128.load(p + t), b4)), c4));
      }
      for (; j < hw; j++) {
        const t = <usize>j << 2;
        store<f32>(q + t, load<f32>(g + t) * a + load<f32>(p + t) * b + c0);
      }
    }
  }
}

// Eval-mode backward: dx = dy * gamma * inv, dgamma = sum dy * (x - rm) * inv, dbeta = sum dy.
export function batch_norm_eval_backward(
  x: usize, dy: usize, gamma: usize, runningMean: usize, runningVar: usize, dx: usize, dgamma: usize,
  dbeta: usize, n: i32, c: i32, hw: i32, eps: f32, start: i32, end: i32,
): void {
  const stride = <usize>c * <usize>hw << 2;
  for (let ch = start; ch < end; ch++) {
    const o = <usize>ch << 2;
    const inv = 1.0 / Math.sqrt(<f64>load<f32>(runningVar + o) + <f64>eps);
    const mu = <f64>load<f32>(runningMean + o);
    const a = <f32>(<f64>load<f32>(gamma + o) * inv);
    const off = <usize>ch * <usize>hw << 2;
    let sdy: f64 = 0, sdyx: f64 = 0;
    for (let i = 0; i < n; i++) {
      const p = x + off + <usize>i * stride, g = dy + off + <usize>i * stride, q = dx + off + <usize>i * stride;
      for (let j = 0; j < hw; j++) {
        const t = <usize>j << 2;
        const d = load<f32>(g + t);
        sdy += <f64>d;
        sdyx += <f64>d * (<f64>load<f32>(p + t) - mu);
        store<f32>(q + t, d * a);
      }
    }
    store<f32>(dgamma + o, <f32>(sdyx * inv));
    store<f32>(dbeta + o, <f32>sdy);
  }
}

// s^-beta for s >= k > 0 (Math.pow would pull a global into the module).
@inline function powNeg(s: f32, beta: f32): f32 {
  return expf1(<f32>(-<f64>beta * logd(<f64>s)));
}

// LRN across channels: scale = k + alpha * sum of x^2 over channels [ch - size/2, ch + (size-1)/2]
// (clipped), y = x * scale^-beta. x, y, scale: [n, c, hw]. Units: n * hw positions.
export function lrn_forward(
  x: usize, y: usize, scale: usize, n: i32, c: i32, hw: i32, size: i32, alpha: f32, beta: f32, k: f32,
  start: i32, end: i32,
): void {
  const before = size / 2, after = (size - 1) / 2;
  for (let u = start; u < end; u++) {
    const img = u / hw, pos = u % hw;
    const base = <usize>img * <usize>c * <usize>hw + <usize>pos;
    for (let ch = 0; ch < c; ch++) {
      let s: f32 = 0;
      const lo = max(0, ch - before), hi = min(c - 1, ch + after);
      for (let j = lo; j <= hi; j++) {
        const v = load<f32>(x + ((base + <usize>j * <usize>hw) << 2));
        s += v * v;
      }
      const sc = k + alpha * s;
      const q = (base + <usize>ch * <usize>hw) << 2;
      store<f32>(scale + q, sc);
      store<f32>(y + q, load<f32>(x + q) * powNeg(sc, beta));
    }
  }
}

// dx_j = dy_j scale_j^-beta - 2 alpha beta x_j sum_{i: j in window(i)} dy_i y_i / scale_i.
export function lrn_backward(
  x: usize, y: usize, scale: usize, dy: usize, dx: usize, n: i32, c: i32, hw: i32, size: i32, alpha: f32,
  beta: f32, start: i32, end: i32,
): void {
  const before = size / 2, after = (size - 1) / 2;
  for (let u = start; u < end; u++) {
    const img = u / hw, pos = u % hw;
    const base = <usize>img * <usize>c * <usize>hw + <usize>pos;
    for (let j = 0; j < c; j++) {
      // channels i whose window [i - before, i + after] contains j: i in [j - after, j + before]
      let s: f32 = 0;
      const lo = max(0, j - after), hi = min(c - 1, j + before);
      for (let i = lo; i <= hi; i++) {
        const q = (base + <usize>i * <usize>hw) << 2;
        s += load<f32>(dy + q) * load<f32>(y + q) / load<f32>(scale + q);
      }
      const q = (base + <usize>j * <usize>hw) << 2;
      const sj = load<f32>(scale + q);
      store<f32>(
        dx + q,
        load<f32>(dy + q) * powNeg(sj, beta) - 2 * alpha * beta * load<f32>(x + q) * s,
      );
    }
  }
}
