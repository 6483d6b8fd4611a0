import { madd } from "./_simd";
// Register-only multiply-add probe: the machine's Wasm SIMD peak, measured by the benchmarks. The
// accumulators are updated as the GEMM micro-kernels update theirs (c = a * b + c): the other form,
// c = a * c + b, ran at half speed on one thread and hid that two vCPUs sharing one core's FMA units
// cannot beat one thread (2026-11-29: 33 GFLOP/s on 1 thread and 30 on 2 with this form).
// out: [4] f32 (keeps the result alive). Each unit of [start, end) runs `iters` iterations of
// 16 independent f32x4 multiply-adds (128 FLOP per iteration). a, b: values passed in so that
// Binaryen cannot fold them.
export function probe_peak(a: f32, b: f32, iters: i32, out: usize, start: i32, end: i32): void {
  const va = f32x4.splat(a);
  const vb = f32x4.splat(b);
  for (let u = start; u < end; u++) {
    let c0 = f32x4.splat(0), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
    let c8 = c0, c9 = c0, c10 = c0, c11 = c0, c12 = c0, c13 = c0, c14 = c0, c15 = c0;
    for (let i = 0; i < iters; i++) {
      c0 = madd(va, vb, c0); c1 = madd(va, vb, c1); c2 = madd(va, vb, c2); c3 = madd(va, vb, c3);
      c4 = madd(va, vb, c4); c5 = madd(va, vb, c5); c6 = madd(va, vb, c6); c7 = madd(va, vb, c7);
      c8 = madd(va, vb, c8); c9 = madd(va, vb, c9); c10 = madd(va, vb, c10); c11 = madd(va, vb, c11);
      c12 = madd(va, vb, c12); c13 = madd(va, vb, c13); c14 = madd(va, vb, c14); c15 = madd(va, vb, c15);
    }
    const s = f32x4.add(
      f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)), f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7))),
      f32x4.add(f32x4.add(f32x4.add(c8, c9), f32x4.add(c10, c11)), f32x4.add(f32x4.add(c12, c13), f32x4.add(c14, c15))),
    );
    v128.store(out, f32x4.add(v128.load(out), s));
  }
}


