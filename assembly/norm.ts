// Normalization kernels over NCHW f32 tensors (hw = product of the spatial dims; 1 for [n, c]).
// Batch-norm statistics sum each (n, c) plane in f32x4 lanes and add the plane sums in f64, in two
// passes (mean, then squared deviations).

// Sum of x[0..len) (f32 lanes, returned as f64).
@inline function planeSum(p: usize, len: i32): f64 {
  let a = f32x4.splat(0);
  let b = f32x4.splat(0);
  let i = 0;
  for (; i + 8 <= len; i += 8) {
    const o = <usize>i << 2;
    a = f32x4.add(a, v128.load(p + o));
    b = f32x4.add(b, v128.load(p + o, 16));
  }
  for (; i + 4 <= len; i += 4) a = f32x4.add(a, v128.load(p + (<usize>i << 2)));
  a = f32x4.add(a, b);
  let s: f64 = <f64>f32x4.extract_lane(a, 0) + <f64>f32x4.extract_lane(a, 1) +
    <f64>f32x4.extract_lane(a, 2) + <f64>f32x4.extract_lane(a, 3);
  for (; i < len; i++) s += <f64>load<f32>(p + (<usize>i << 2));
  return s;
}

// Sum of (x - m)^2 over x[0..len) (two accumulators, as planeSum: one dependent add chain measured
// 1.11-1.16x slower on the training forward).
@inline function planeSqDev(p: usize, len: i32, m: f32): f64 {
  const mv = f32x4.splat(m);
  let a = f32x4.splat(0), b = a;
  let i = 0;
  for (; i + 8 <= len; i += 8) {
    const o = <usize>i << 2;
    const d = f32x4.sub(v128.load(p + o), mv), e = f32x4.sub(v128.load(p + o, 16), mv);
    a = f32x4.add(a, f32x4.mul(d, d));
    b = f32x4.add(b, f32x4.mul(e, e));
  }
  for (; i + 4 <= len; i += 4) {
    const d = f32x4.sub(v128.load(p + (<usize>i << 2)), mv);
    a = f32x4.add(a, f32x4.mul(d, d));
  }
  a = f32x4.add(a, b);
  let s: f64 = <f64>f32x4.extract_lane(a, 0) + <f64>f32x4.extract_lane(a, 1) +
    <f64>f32x4.extract_lane(a, 2) + <f64>f32x4.extract_lane(a, 3);
  for (; i < len; i++) {
    const d = load<f32>(p + (<usize>i << 2)) - m;
    s += <f64>(d * d);
  }
  return s;
}

// Sum of dy and of dy * (x - m) over a plane; returns the first, stores the second at `out2`. With yp != 0,
// dy is first masked by yp > 0 (the backward of a ReLU applied to the batch norm's output yp).
@inline function planeDySums(xp: usize, dyp: usize, yp: usize, len: i32, m: f32, out2: usize): f64 {
  const mv = f32x4.splat(m);
  const zero = f32x4.splat(0);
  let a = f32x4.splat(0);
  let b = f32x4.splat(0);
  let i = 0;
  // The mask test stays out of the loops.
  if (yp == 0) {
    for (; i + 4 <= len; i += 4) {
      const o = <usize>i << 2;
      const g = v128.load(dyp + o);
      a = f32x4.add(a, g);
      b = f32x4.add(b, f32x4.mul(g, f32x4.sub(v128.load(xp + o), mv)));
    }
  } else {
    for (; i + 4 <= len; i += 4) {
      const o = <usize>i << 2;
      const g = v128.and(v128.load(dyp + o), f32x4.gt(v128.load(yp + o), zero));
      a = f32x4.add(a, g);
      b = f32x4.add(b, f32x4.mul(g, f32x4.sub(v128.load(xp + o), mv)));
    }
  }
  let s: f64 = <f64>f32x4.extract_lane(a, 0) + <f64>f32x4.extract_lane(a, 1) +
    <f64>f32x4.extract_lane(a, 2) + <f64>f32x4.extract_lane(a, 3);
  let t: f64 = <f64>f32x4.extract_lane(b, 0) + <f64>f32x4.extract_lane(b, 1) +
    <f64>f32x4.extract_lane(b, 2) + <f64>f32x4.extract_lane(b, 3);
  for (; i < len; i++) {
    const o = <usize>i << 2;
    const g = yp != 0 && !(load<f32>(yp + o) > 0) ? <f32>0 : load<f32>(dyp + o);
    s += <f64>g;
    t += <f64>(g * (load<f32>(xp + o) - m));
  }
  store<f64>(out2, t);
  return s;
}

// y = x * a + b over a plane (then max(y, 0) if relu).
@inline function planeAffine(xp: usize, yp: usize, len: i32, a: f32, b: f32, relu: bool): void {
  const av = f32x4.splat(a);
  const bv = f32x4.splat(b);
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const o = <usize>i << 2;
    const v = f32x4.add(f32x4.mul(v128.load(xp + o), av), bv);
    v128.store(yp + o, relu ? v128.and(v, f32x4.gt(v, zero)) : v);
  }
  for (; i < len; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(xp + o) * a + b;
    store<f32>(yp + o, relu && !(v > 0) ? <f32>0 : v);
  }
}

// x: [n, c, hw], gamma, beta (0: 1 and 0): [c] -> y: [n, c, hw] (then max(y, 0) if relu != 0), mean,
// invstd: [c]; runningMean, runningVar (0: none): [c] updated with momentum (unbiased variance).
// Units: channels.
export function batchnorm_train_forward(
  x: usize, y: usize, gamma: usize, beta: usize, mean: usize, invstd: usize,
  runningMean: usize, runningVar: usize, n: i32, c: i32, hw: i32, momentum: f32, eps: f32, relu: i32,
  start: i32, end: i32,
): void {
  const cnt = <f64>n * <f64>hw;
  for (let ch = start; ch < end; ch++) {
    let s: f64 = 0;
    for (let i = 0; i < n; i++) {
      s += planeSum(x + ((<usize>(i * c + ch) * <usize>hw) << 2), hw);
    }
    const m = s / cnt;
    const mf = <f32>m;
    let q: f64 = 0;
    for (let i = 0; i < n; i++) {
      q += planeSqDev(x + ((<usize>(i * c + ch) * <usize>hw) << 2), hw, mf);
    }
    const d = m - <f64>mf; // correction for the rounded mean
    const v = q / cnt - d * d;
    const is = 1.0 / Math.sqrt((v > 0 ? v : 0) + <f64>eps);
    const co = <usize>ch << 2;
    store<f32>(mean + co, mf);
    store<f32>(invstd + co, <f32>is);
    if (runningMean != 0) {
      const mo = <f64>momentum;
      store<f32>(runningMean + co, <f32>((1 - mo) * <f64>load<f32>(runningMean + co) + mo * m));
      const vu = cnt > 1 ? (v > 0 ? v : 0) * cnt / (cnt - 1) : v;
      store<f32>(runningVar + co, <f32>((1 - mo) * <f64>load<f32>(runningVar + co) + mo * vu));
    }
    const g: f64 = gamma != 0 ? <f64>load<f32>(gamma + co) : 1;
    const b: f64 = beta != 0 ? <f64>load<f32>(beta + co) : 0;
    const a = g * is;
    const bb = b - m * a;
    for (let i = 0; i < n; i++) {
      const o = (<usize>(i * c + ch) * <usize>hw) << 2;
      planeAffine(x + o, y + o, hw, <f32>a, <f32>bb, relu != 0);
    }
  }
}

// x: [n, c, hw], gamma, beta (0: 1 and 0), runningMean, runningVar: [c] -> y: [n, c, hw].
// Units: (n, c) planes.
export function batchnorm_eval_forward(
  x: usize, y: usize, gamma: usize, beta: usize, runningMean: usize, runningVar: usize,
  c: i32, hw: i32, eps: f32, start: i32, end: i32,
): void {
  for (let p = start; p < end; p++) {
    const ch = p % c;
    const co = <usize>ch << 2;
    const is = 1.0 / Math.sqrt(<f64>load<f32>(runningVar + co) + <f64>eps);
    const g: f64 = gamma != 0 ? <f64>load<f32>(gamma + co) : 1;
    const b: f64 = beta != 0 ? <f64>load<f32>(beta + co) : 0;
    const a = g * is;
    const bb = b - <f64>load<f32>(runningMean + co) * a;
    const o = (<usize>p * <usize>hw) << 2;
    planeAffine(x + o, y + o, hw, <f32>a, <f32>bb, false);
  }
}

// dx = k1 * dy + k2 * (x - m) + k3 over a plane (dx may be 0: skipped by the caller); dy masked by
// yp > 0 when yp != 0 (as in planeDySums).
@inline function planeDx(
  xp: usize, dyp: usize, yp: usize, dxp: usize, len: i32, m: f32, k1: f32, k2: f32, k3: f32,
): void {
  const mv = f32x4.splat(m);
  const v1 = f32x4.splat(k1);
  const v2 = f32x4.splat(k2);
  const v3 = f32x4.splat(k3);
  const zero = f32x4.splat(0);
  let i = 0;
  if (yp == 0) {
    for (; i + 4 <= len; i += 4) {
      const o = <usize>i << 2;
      const t = f32x4.add(f32x4.mul(v128.load(dyp + o), v1), v3);
      v128.store(dxp + o, f32x4.add(t, f32x4.mul(f32x4.sub(v128.load(xp + o), mv), v2)));
    }
  } else {
    for (; i + 4 <= len; i += 4) {
      const o = <usize>i << 2;
      const g = v128.and(v128.load(dyp + o), f32x4.gt(v128.load(yp + o), zero));
      const t = f32x4.add(f32x4.mul(g, v1), v3);
      v128.store(dxp + o, f32x4.add(t, f32x4.mul(f32x4.sub(v128.load(xp + o), mv), v2)));
    }
  }
  for (; i < len; i++) {
    const o = <usize>i << 2;
    const g = yp != 0 && !(load<f32>(yp + o) > 0) ? <f32>0 : load<f32>(dyp + o);
    store<f32>(dxp + o, g * k1 + k3 + (load<f32>(xp + o) - m) * k2);
  }
}

// x, dy: [n, c, hw], gamma (0: 1), mean, invstd: [c] (from the training forward) -> dx: [n, c, hw],
// dgamma, dbeta: [c] (each may be 0: not computed). y (0: none): the forward's output when it applied a
// ReLU, whose backward comes first (dy where y > 0, else 0). Units: channels. `scratch`: 8 bytes per
// thread.
export function batchnorm_backward(
  x: usize, dy: usize, y: usize, gamma: usize, mean: usize, invstd: usize, dx: usize, dgamma: usize,
  dbeta: usize, n: i32, c: i32, hw: i32, start: i32, end: i32, scratch: usize,
): void {
  const cnt = <f64>n * <f64>hw;
  for (let ch = start; ch < end; ch++) {
    const co = <usize>ch << 2;
    const mf = load<f32>(mean + co);
    const is = <f64>load<f32>(invstd + co);
    let sdy: f64 = 0, sdyx: f64 = 0;
    for (let i = 0; i < n; i++) {
      const o = (<usize>(i * c + ch) * <usize>hw) << 2;
      sdy += planeDySums(x + o, dy + o, y != 0 ? y + o : 0, hw, mf, scratch);
      sdyx += load<f64>(scratch);
    }
    if (dbeta != 0) store<f32>(dbeta + co, <f32>sdy);
    if (dgamma != 0) store<f32>(dgamma + co, <f32>(sdyx * is));
    if (dx != 0) {
      const g: f64 = gamma != 0 ? <f64>load<f32>(gamma + co) : 1;
      const k1 = g * is;
      const k2 = -g * is * is * is * sdyx / cnt;
      const k3 = -k1 * sdy / cnt;
      for (let i = 0; i < n; i++) {
        const o = (<usize>(i * c + ch) * <usize>hw) << 2;
        planeDx(x + o, dy + o, y != 0 ? y + o : 0, dx + o, hw, mf, <f32>k1, <f32>k2, <f32>k3);
      }
    }
  }
}

// Eval-mode backward (statistics are constants): x, dy: [n, c, hw], gamma (0: 1), runningMean,
// runningVar: [c] -> dx: [n, c, hw], dgamma, dbeta: [c] (each may be 0). Units: channels.
// `scratch`: 8 bytes per thread.
export function batchnorm_eval_backward(
  x: usize, dy: usize, gamma: usize, runningMean: usize, runningVar: usize, dx: usize, dgamma: usize,
  dbeta: usize, n: i32, c: i32, hw: i32, eps: f32, start: i32, end: i32, scratch: usize,
): void {
  for (let ch = start; ch < end; ch++) {
    const co = <usize>ch << 2;
    const mf = load<f32>(runningMean + co);
    const is = 1.0 / Math.sqrt(<f64>load<f32>(runningVar + co) + <f64>eps);
    if (dgamma != 0 || dbeta != 0) {
      let sdy: f64 = 0, sdyx: f64 = 0;
      for (let i = 0; i < n; i++) {
        const o = (<usize>(i * c + ch) * <usize>hw) << 2;
        sdy += planeDySums(x + o, dy + o, 0, hw, mf, scratch);
        sdyx += load<f64>(scratch);
      }
      if (dbeta != 0) store<f32>(dbeta + co, <f32>sdy);
      if (dgamma != 0) store<f32>(dgamma + co, <f32>(sdyx * is));
    }
    if (dx != 0) {
      const g: f64 = gamma != 0 ? <f64>load<f32>(gamma + co) : 1;
      for (let i = 0; i < n; i++) {
        const o = (<usize>(i * c + ch) * <usize>hw) << 2;
        planeDx(x + o, dy + o, 0, dx + o, hw, mf, <f32>(g * is), 0, 0);
      }
    }
  }
}

// ln(v) for v > 0 (f64, no tables): v = 2^e * m with m in [sqrt(1/2), sqrt(2)), atanh series.
@inline function lnPos(v: f64): f64 {
  const bits = reinterpret<u64>(v);
  let e = <i32>((bits >> 52) & 0x7ff) - 1023;
  let m = reinterpret<f64>((bits & 0x000fffffffffffff) | 0x3ff0000000000000);
  if (m > 1.4142135623730951) {
    m *= 0.5;
    e += 1;
  }
  const t = (m - 1) / (m + 1);
  const t2 = t * t;
  const poly = 1 + t2 * (1.0 / 3 + t2 * (1.0 / 5 + t2 * (1.0 / 7 + t2 * (1.0 / 9 + t2 * (1.0 / 11 +
    t2 * (1.0 / 13 + t2 * (1.0 / 15)))))));
  return <f64>e * 0.6931471805599453 + 2 * t * poly;
}

// exp(v) for |v| < 700 (f64, no tables).
@inline function expF64(v: f64): f64 {
  const k = Math.floor(v * 1.4426950408889634 + 0.5);
  const r = v - k * 0.6931471805599453;
  let p: f64 = 1.0 / 479001600; // Taylor to r^12 (|r| <= 0.35)
  p = p * r + 1.0 / 39916800;
  p = p * r + 1.0 / 3628800;
  p = p * r + 1.0 / 362880;
  p = p * r + 1.0 / 40320;
  p = p * r + 1.0 / 5040;
  p = p * r + 1.0 / 720;
  p = p * r + 1.0 / 120;
  p = p * r + 1.0 / 24;
  p = p * r + 1.0 / 6;
  p = p * r + 0.5;
  p = p * r + 1;
  p = p * r + 1;
  return p * reinterpret<f64>(<u64>(<i64>k + 1023) << 52);
}

// s^-beta for s > 0.
@inline function powNeg(s: f32, beta: f32): f32 {
  return <f32>expF64(-<f64>beta * lnPos(<f64>s));
}

// s^-0.75 in four lanes.
@inline function powNeg075(s: v128): v128 {
  const r = f32x4.sqrt(s);
  return f32x4.div(f32x4.splat(1), f32x4.mul(r, f32x4.sqrt(r)));
}

// Local response norm across channels. x: [n, c, hw] -> y, scale: [n, c, hw] with
// scale = k + alpha * sum(x^2 over channels ch - size/2 .. ch + (size-1)/2) and y = x * scale^-beta.
// Units: n*hw pixel positions.
export function lrn_forward(
  x: usize, y: usize, scale: usize, c: i32, hw: i32, size: i32, alpha: f32, beta: f32, k: f32,
  start: i32, end: i32,
): void {
  const fast = beta == 0.75;
  const av = f32x4.splat(alpha);
  const kv = f32x4.splat(k);
  let u = start;
  while (u < end) {
    const img = u / hw;
    const p0 = u - img * hw;
    let p1 = p0 + (end - u);
    if (p1 > hw) p1 = hw;
    u += p1 - p0;
    const base = <usize>img * <usize>c * <usize>hw;
    for (let ch = 0; ch < c; ch++) {
      let lo = ch - size / 2;
      if (lo < 0) lo = 0;
      let hi = ch + (size - 1) / 2;
      if (hi > c - 1) hi = c - 1;
      const row = (base + <usize>ch * <usize>hw) << 2;
      let p = p0;
      for (; p + 4 <= p1; p += 4) {
        let acc = f32x4.splat(0);
        for (let j = lo; j <= hi; j++) {
          const v = v128.load(x + ((base + <usize>j * <usize>hw + <usize>p) << 2));
          acc = f32x4.add(acc, f32x4.mul(v, v));
        }
        const s = f32x4.add(kv, f32x4.mul(av, acc));
        const o = row + (<usize>p << 2);
        v128.store(scale + o, s);
        let f: v128;
        if (fast) {
          f = powNeg075(s);
        } else {
          f = f32x4.splat(powNeg(f32x4.extract_lane(s, 0), beta));
          f = f32x4.replace_lane(f, 1, powNeg(f32x4.extract_lane(s, 1), beta));
          f = f32x4.replace_lane(f, 2, powNeg(f32x4.extract_lane(s, 2), beta));
          f = f32x4.replace_lane(f, 3, powNeg(f32x4.extract_lane(s, 3), beta));
        }
        v128.store(y + o, f32x4.mul(v128.load(x + o), f));
      }
      for (; p < p1; p++) {
        let acc: f32 = 0;
        for (let j = lo; j <= hi; j++) {
          const v = load<f32>(x + ((base + <usize>j * <usize>hw + <usize>p) << 2));
          acc += v * v;
        }
        const s = k + alpha * acc;
        const o = row + (<usize>p << 2);
        store<f32>(scale + o, s);
        const f = fast ? f32x4.extract_lane(powNeg075(f32x4.splat(s)), 0) : powNeg(s, beta);
        store<f32>(y + o, load<f32>(x + o) * f);
      }
    }
  }
}

// LRN backward. x, y, scale (from the forward), dy: [n, c, hw] -> dx: [n, c, hw]:
// dx_i = dy_i * scale_i^-beta - 2 alpha beta x_i * sum over channels j whose window holds i of
// dy_j y_j / scale_j. Units: n*hw pixel positions.
export function lrn_backward(
  x: usize, y: usize, scale: usize, dy: usize, dx: usize, c: i32, hw: i32, size: i32, alpha: f32,
  beta: f32, start: i32, end: i32,
): void {
  const fast = beta == 0.75;
  const cf: f32 = -2 * alpha * beta;
  const cv = f32x4.splat(cf);
  let u = start;
  while (u < end) {
    const img = u / hw;
    const p0 = u - img * hw;
    let p1 = p0 + (end - u);
    if (p1 > hw) p1 = hw;
    u += p1 - p0;
    const base = <usize>img * <usize>c * <usize>hw;
    for (let ch = 0; ch < c; ch++) {
      // channels j with ch in [j - size/2, j + (size-1)/2]
      let lo = ch - (size - 1) / 2;
      if (lo < 0) lo = 0;
      let hi = ch + size / 2;
      if (hi > c - 1) hi = c - 1;
      const row = (base + <usize>ch * <usize>hw) << 2;
      let p = p0;
      for (; p + 4 <= p1; p += 4) {
        let acc = f32x4.splat(0);
        for (let j = lo; j <= hi; j++) {
          const o = (base + <usize>j * <usize>hw + <usize>p) << 2;
          acc = f32x4.add(acc, f32x4.div(f32x4.mul(v128.load(dy + o), v128.load(y + o)), v128.load(scale + o)));
        }
        const o = row + (<usize>p << 2);
        const s = v128.load(scale + o);
        let f: v128;
        if (fast) {
          f = powNeg075(s);
        } else {
          f = f32x4.splat(powNeg(f32x4.extract_lane(s, 0), beta));
          f = f32x4.replace_lane(f, 1, powNeg(f32x4.extract_lane(s, 1), beta));
          f = f32x4.replace_lane(f, 2, powNeg(f32x4.extract_lane(s, 2), beta));
          f = f32x4.replace_lane(f, 3, powNeg(f32x4.extract_lane(s, 3), beta));
        }
        const t = f32x4.mul(v128.load(dy + o), f);
        v128.store(dx + o, f32x4.add(t, f32x4.mul(cv, f32x4.mul(v128.load(x + o), acc))));
      }
      for (; p < p1; p++) {
        let acc: f32 = 0;
        for (let j = lo; j <= hi; j++) {
          const o = (base + <usize>j * <usize>hw + <usize>p) << 2;
          acc += load<f32>(dy + o) * load<f32>(y + o) / load<f32>(scale + o);
        }
        const o = row + (<usize>p << 2);
        const s = load<f32>(scale + o);
        const f = fast ? f32x4.extract_lane(powNeg075(f32x4.splat(s)), 0) : powNeg(s, beta);
        store<f32>(dx + o, load<f32>(dy + o) * f + cf * load<f32>(x + o) * acc);
      }
    }
  }
}
