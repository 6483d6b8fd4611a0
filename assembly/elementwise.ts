// Elementwise kernels. Every kernel works on the element slice [start, end) and allocates nothing.
// Pointers are byte addresses of f32 buffers in the shared memory.

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
