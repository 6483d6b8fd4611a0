// Inverted dropout with a counter-based mask: element i is dropped when hash(seed, i) < p * 2^32, so
// the mask depends only on (seed, i), never on threading, and backward recomputes it.
// Work units are elements. p is in [0, 1]; kept values are scaled by 1 / (1 - p).

// lowbias32 integer mixer (bijective on 32 bits), four lanes.
@inline function mixv(h: v128): v128 {
  h = v128.xor(h, i32x4.shr_u(h, 16));
  h = i32x4.mul(h, i32x4.splat(0x7feb352d));
  h = v128.xor(h, i32x4.shr_u(h, 15));
  h = i32x4.mul(h, i32x4.splat(0x846ca68b));
  return v128.xor(h, i32x4.shr_u(h, 16));
}

// lowbias32 on one value.
@inline function mix1(h: u32): u32 {
  h ^= h >>> 16;
  h *= 0x7feb352d;
  h ^= h >>> 15;
  h *= 0x846ca68b;
  return h ^ (h >>> 16);
}

// x: [n] -> y: [n];  y[i] = keep(seed, i) ? x[i] / (1 - p) : 0  (x may equal y).
// keep(seed, i): mix(mix(i ^ k1) + k2) >= floor(p * 2^32) unsigned, k1 = mix(seed),
// k2 = mix(seed ^ 0x9e3779b9).
@inline function dropoutApply(x: usize, y: usize, p: f64, seed: i32, start: i32, end: i32): void {
  if (p >= 1) {
    memory.fill(y + (<usize>start << 2), 0, <usize>(end - start) << 2);
    return;
  }
  const thr = <u32>(p * 4294967296.0);
  const s = <f32>(1.0 / (1.0 - p));
  const k1 = mix1(<u32>seed);
  const k2 = mix1(<u32>seed ^ 0x9e3779b9);
  const vk1 = i32x4.splat(k1);
  const vk2 = i32x4.splat(k2);
  const vthr = i32x4.splat(thr);
  const vs = f32x4.splat(s);
  let idx = i32x4(start, start + 1, start + 2, start + 3);
  const four = i32x4.splat(4);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const h = mixv(i32x4.add(mixv(v128.xor(idx, vk1)), vk2));
    const keep = i32x4.ge_u(h, vthr);
    const o = <usize>i << 2;
    v128.store(y + o, v128.and(f32x4.mul(v128.load(x + o), vs), keep));
    idx = i32x4.add(idx, four);
  }
  for (; i < end; i++) {
    const h = mix1(mix1(<u32>i ^ k1) + k2);
    const o = <usize>i << 2;
    store<f32>(y + o, h >= thr ? load<f32>(x + o) * s : 0);
  }
}

// x: [n] -> y: [n];  see dropoutApply
export function dropout_forward(x: usize, y: usize, p: f64, seed: i32, start: i32, end: i32): void {
  dropoutApply(x, y, p, seed, start, end);
}

// dy: [n] -> dx: [n];  dx[i] = keep(seed, i) ? dy[i] / (1 - p) : 0, the same mask as the forward
export function dropout_backward(dy: usize, dx: usize, p: f64, seed: i32, start: i32, end: i32): void {
  dropoutApply(dy, dx, p, seed, start, end);
}
