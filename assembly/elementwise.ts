// Elementwise kernels. Every kernel works on the element slice [start, end) and allocates nothing.
// Pointers are byte addresses of f32 buffers in the shared memory.
import { hsum, madd } from "./_simd";

// x: [n] -> y: [n];  y = max(x, 0)
export function relu_forward(x: usize, y: usize, start: i32, end: i32): void {
  const zero = f32x4.splat(0);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.max(v128.load(x + o), zero));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(y + o, v > 0 ? v : 0);
  }
}

// y: [n] (forward output), dy: [n] -> dx: [n];  dx = dy where y > 0, else 0
export function relu_backward_input(y: usize, dy: usize, dx: usize, start: i32, end: i32): void {
  const zero = f32x4.splat(0);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    const mask = f32x4.gt(v128.load(y + o), zero);
    v128.store(dx + o, v128.and(v128.load(dy + o), mask));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, load<f32>(y + o) > 0 ? load<f32>(dy + o) : 0);
  }
}

// y: [n];  y = value
export function fill(y: usize, value: f32, start: i32, end: i32): void {
  const v = f32x4.splat(value);
  let i = start;
  for (; i + 4 <= end; i += 4) v128.store(y + (<usize>i << 2), v);
  for (; i < end; i++) store<f32>(y + (<usize>i << 2), value);
}

// x: [n] -> y: [n];  y = alpha * x  (x may equal y)
export function scale(x: usize, y: usize, alpha: f32, start: i32, end: i32): void {
  const a = f32x4.splat(alpha);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.mul(v128.load(x + o), a));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(x + o) * alpha);
  }
}

// x: [n], y: [n];  y += alpha * x
export function axpy(x: usize, y: usize, alpha: f32, start: i32, end: i32): void {
  const a = f32x4.splat(alpha);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, madd(v128.load(x + o), a, v128.load(y + o)));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(y + o) + alpha * load<f32>(x + o));
  }
}

// a: [n], b: [n] -> y: [n];  y = alpha * a + beta * b, then max(y, 0) if relu != 0  (y may equal a or b)
export function add_scaled(
  a: usize, b: usize, y: usize, alpha: f32, beta: f32, relu: i32, start: i32, end: i32,
): void {
  const va = f32x4.splat(alpha);
  const vb = f32x4.splat(beta);
  const zero = f32x4.splat(0);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    const v = f32x4.add(f32x4.mul(v128.load(a + o), va), f32x4.mul(v128.load(b + o), vb));
    v128.store(y + o, relu != 0 ? v128.and(v, f32x4.gt(v, zero)) : v);
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    const v = alpha * load<f32>(a + o) + beta * load<f32>(b + o);
    store<f32>(y + o, relu != 0 && !(v > 0) ? <f32>0 : v);
  }
}

// a: [n], b: [n] -> y: [n];  y = a * b
export function mul(a: usize, b: usize, y: usize, start: i32, end: i32): void {
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.mul(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(a + o) * load<f32>(b + o));
  }
}

// y: [outer, channels, inner], bias: [channels];  y[o, c, i] += bias[c].
// Work units are the elements of y (outer * channels * inner).
export function bias_add(y: usize, bias: usize, channels: i32, inner: i32, start: i32, end: i32): void {
  let row = start / inner; // row index over [outer * channels]
  let col = start - row * inner;
  let c = row % channels;
  let i = start;
  if (inner == 1) {
    // consecutive elements walk the bias vector: add it in runs
    while (i < end) {
      const run = min(end - i, channels - c);
      const yp = y + (<usize>i << 2);
      const bp = bias + (<usize>c << 2);
      let k = 0;
      for (; k + 4 <= run; k += 4) {
        const o = <usize>k << 2;
        v128.store(yp + o, f32x4.add(v128.load(yp + o), v128.load(bp + o)));
      }
      for (; k < run; k++) {
        const o = <usize>k << 2;
        store<f32>(yp + o, load<f32>(yp + o) + load<f32>(bp + o));
      }
      i += run;
      c = 0;
    }
    return;
  }
  while (i < end) {
    const run = min(end - i, inner - col);
    const b = load<f32>(bias + (<usize>c << 2));
    const vb = f32x4.splat(b);
    const yp = y + (<usize>i << 2);
    let k = 0;
    for (; k + 4 <= run; k += 4) {
      const o = <usize>k << 2;
      v128.store(yp + o, f32x4.add(v128.load(yp + o), vb));
    }
    for (; k < run; k++) {
      const o = <usize>k << 2;
      store<f32>(yp + o, load<f32>(yp + o) + b);
    }
    i += run;
    col = 0;
    c++;
    if (c == channels) c = 0;
  }
}

// x: [outer, channels, inner] -> y: [channels];  y[c] (+)= sum over o, i of x[o, c, i].
// Work units are channels; accumulate != 0 adds to y instead of overwriting.
export function sum_to_channels(
  x: usize, y: usize, outer: i32, channels: i32, inner: i32, accumulate: i32, start: i32, end: i32,
): void {
  const rowBytes = <usize>channels << 2;
  let c = start;
  if (inner == 1) {
    // x is [outer, channels]: sum four channels at a time down the rows
    for (; c + 4 <= end; c += 4) {
      let acc = f32x4.splat(0);
      let p = x + (<usize>c << 2);
      for (let o = 0; o < outer; o++) {
        acc = f32x4.add(acc, v128.load(p));
        p += rowBytes;
      }
      const yp = y + (<usize>c << 2);
      if (accumulate) acc = f32x4.add(acc, v128.load(yp));
      v128.store(yp, acc);
    }
  }
  for (; c < end; c++) {
    let acc = f32x4.splat(0);
    let s: f32 = 0;
    for (let o = 0; o < outer; o++) {
      const p = x + ((<usize>o * <usize>channels + <usize>c) * <usize>inner << 2);
      let i = 0;
      for (; i + 4 <= inner; i += 4) acc = f32x4.add(acc, v128.load(p + (<usize>i << 2)));
      for (; i < inner; i++) s += load<f32>(p + (<usize>i << 2));
    }
    let total = hsum(acc) + s;
    const yp = y + (<usize>c << 2);
    if (accumulate) total += load<f32>(yp);
    store<f32>(yp, total);
  }
}

// src: rows x [srcStride] (first cols used) -> dst: rows x [dstStride] (first cols written);
// dst[r, k] (+)= src[r, k]. Strides are in floats. Work units are the rows * cols copied elements.
export function copy_strided(
  src: usize, srcStride: i32, dst: usize, dstStride: i32, cols: i32, accumulate: i32, start: i32, end: i32,
): void {
  let r = start / cols;
  let k = start - r * cols;
  let i = start;
  while (i < end) {
    const run = min(end - i, cols - k);
    const sp = src + ((<usize>r * <usize>srcStride + <usize>k) << 2);
    const dp = dst + ((<usize>r * <usize>dstStride + <usize>k) << 2);
    let j = 0;
    if (accumulate) {
      for (; j + 4 <= run; j += 4) {
        const o = <usize>j << 2;
        v128.store(dp + o, f32x4.add(v128.load(dp + o), v128.load(sp + o)));
      }
      for (; j < run; j++) {
        const o = <usize>j << 2;
        store<f32>(dp + o, load<f32>(dp + o) + load<f32>(sp + o));
      }
    } else {
      memory.copy(dp, sp, <usize>run << 2);
    }
    i += run;
    k = 0;
    r++;
  }
}
