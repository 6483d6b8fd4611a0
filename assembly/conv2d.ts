// Convolution helpers around the GEMM: batched im2col/col2im over image chunks, NCHW <-> CNHW
// transposes with the bias/ReLU epilogue, weight flipping for stride-1 input gradients.

// x: images of [C, H, W] at imgStride floats apart -> col: [C * kh * kw, ldcol]; image i fills the
// columns [i * outH * outW, (i + 1) * outH * outW) of every row; zero where the window reads padding.
// Units: images x (C * kh * kw) rows, image-major.
export function im2col(
  x: usize, col: usize, c: i32, imgStride: i32, ldcol: i32, h: i32, w: i32, kh: i32, kw: i32, strideH: i32,
  strideW: i32, padTop: i32, padLeft: i32, dilationH: i32, dilationW: i32, outH: i32, outW: i32, start: i32,
  end: i32,
): void {
  const rows = c * kh * kw;
  const hw = outH * outW;
  for (let u = start; u < end; u++) {
    const img = u / rows, r = u % rows;
    const kj = r % kw, ki = (r / kw) % kh, ch = r / (kw * kh);
    const plane = x + (<usize>img * <usize>imgStride << 2) + (<usize>(ch * h * w) << 2);
    let dst = col + ((<usize>r * <usize>ldcol + <usize>img * <usize>hw) << 2);
    const offW = kj * dilationW - padLeft;
    // Output columns whose input column is inside [0, w): ow in [lo, hi).
    let lo = 0;
    if (offW < 0) lo = (-offW + strideW - 1) / strideW;
    let hi = outW;
    const lim = w - offW; // need ow * strideW < lim
    if (lim <= 0) hi = 0;
    else hi = min(outW, (lim + strideW - 1) / strideW);
    if (lo > hi) lo = hi;
    for (let oh = 0; oh < outH; oh++) {
      const ih = oh * strideH - padTop + ki * dilationH;
      if (ih < 0 || ih >= h) {
        memory.fill(dst, 0, <usize>outW << 2);
      } else {
        const srcRow = plane + (<usize>(ih * w) << 2);
        if (lo > 0) memory.fill(dst, 0, <usize>lo << 2);
        if (strideW == 1) {
          memory.copy(dst + (<usize>lo << 2), srcRow + (<usize>(lo + offW) << 2), <usize>(hi - lo) << 2);
        } else {
          for (let ow = lo; ow < hi; ow++) {
            store<f32>(dst + (<usize>ow << 2), load<f32>(srcRow + (<usize>(ow * strideW + offW) << 2)));
          }
        }
        if (hi < outW) memory.fill(dst + (<usize>hi << 2), 0, <usize>(outW - hi) << 2);
      }
      dst += <usize>outW << 2;
    }
  }
}

// col: [C * kh * kw, ldcol] (layout of im2col) -> dx: images of [C, H, W] at imgStride floats apart,
// dx += the columns scattered back (the adjoint of im2col). Units: images x C planes (each writes only
// its own plane, so threads never collide).
export function col2im(
  col: usize, dx: usize, c: i32, imgStride: i32, ldcol: i32, h: i32, w: i32, kh: i32, kw: i32, strideH: i32,
  strideW: i32, padTop: i32, padLeft: i32, dilationH: i32, dilationW: i32, outH: i32, outW: i32, start: i32,
  end: i32,
): void {
  const hw = outH * outW;
  for (let u = start; u < end; u++) {
    const img = u / c, ch = u % c;
    const plane = dx + (<usize>img * <usize>imgStride << 2) + (<usize>(ch * h * w) << 2);
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++) {
        const r = (ch * kh + ki) * kw + kj;
        let src = col + ((<usize>r * <usize>ldcol + <usize>img * <usize>hw) << 2);
        const offW = kj * dilationW - padLeft;
        for (let oh = 0; oh < outH; oh++) {
          const ih = oh * strideH - padTop + ki * dilationH;
          if (ih >= 0 && ih < h) {
            const dstRow = plane + (<usize>(ih * w) << 2);
            for (let ow = 0; ow < outW; ow++) {
              const iw = ow * strideW + offW;
              if (iw >= 0 && iw < w) {
                const d = dstRow + (<usize>iw << 2);
                store<f32>(d, load<f32>(d) + load<f32>(src + (<usize>ow << 2)));
              }
            }
          }
          src += <usize>outW << 2;
        }
      }
    }
  }
}

// src: [n, c, hw] -> dst: [c, n * hw] (dst[ch, i * hw + j] = src[i, ch, j]). Units: the n * c rows.
export function to_cnhw(src: usize, dst: usize, c: i32, hw: i32, n: i32, start: i32, end: i32): void {
  for (let u = start; u < end; u++) {
    const i = u / c, ch = u % c;
    memory.copy(
      dst + ((<usize>ch * <usize>n * <usize>hw + <usize>i * <usize>hw) << 2),
      src + (<usize>u * <usize>hw << 2),
      <usize>hw << 2,
    );
  }
}

// src: [c, n * hw] -> dst: [n, c, hw], adding bias[ch] (bias != 0) and applying ReLU (relu != 0).
// Units: the n * c rows.
export function from_cnhw(
  src: usize, dst: usize, bias: usize, relu: i32, c: i32, hw: i32, n: i32, start: i32, end: i32,
): void {
  const zero = f32x4.splat(0);
  for (let u = start; u < end; u++) {
    const i = u / c, ch = u % c;
    const s = src + ((<usize>ch * <usize>n * <usize>hw + <usize>i * <usize>hw) << 2);
    const d = dst + (<usize>u * <usize>hw << 2);
    const bv = bias != 0 ? load<f32>(bias + (<usize>ch << 2)) : <f32>0;
    const b4 = f32x4.splat(bv);
    let j = 0;
    for (; j + 4 <= hw; j += 4) {
      const o = <usize>j << 2;
      let v = f32x4.add(v128.load(s + o), b4);
      if (relu) v = f32x4.max(v, zero);
      v128.store(d + o, v);
    }
    for (; j < hw; j++) {
      const o = <usize>j << 2;
      let v = load<f32>(s + o) + bv;
      if (relu && !(v > 0)) v = v != v ? v : 0;
      store<f32>(d + o, v);
    }
  }
}

// y: [outer, C, inner] -> y = relu(y) (+ bias[c] first when bias != 0). Units: the outer * C planes.
export function bias_relu(y: usize, bias: usize, channels: i32, inner: i32, relu: i32, start: i32, end: i32): void {
  const zero = f32x4.splat(0);
  for (let pl = start; pl < end; pl++) {
    const bv = bias != 0 ? load<f32>(bias + (<usize>(pl % channels) << 2)) : <f32>0;
    const b4 = f32x4.splat(bv);
    const p = y + (<usize>pl * <usize>inner << 2);
    let i = 0;
    for (; i + 4 <= inner; i += 4) {
      const q = p + (<usize>i << 2);
      let v = f32x4.add(v128.load(q), b4);
      if (relu) v = f32x4.max(v, zero);
      v128.store(q, v);
    }
    for (; i < inner; i++) {
      const q = p + (<usize>i << 2);
      let v = load<f32>(q) + bv;
      if (relu && !(v > 0)) v = v != v ? v : 0;
      store<f32>(q, v);
    }
  }
}

// w: [groups * cog, cig, kh, kw] -> wt: [groups * cig, cog, kh, kw], spatially flipped:
// wt[g * cig + ci, co, kh-1-i, kw-1-j] = w[g * cog + co, ci, i, j]. With it, the input gradient of a
// stride-1 convolution is a plain convolution of dy. Units: the elements of w.
export function flip_weights(w: usize, wt: usize, cog: i32, cig: i32, kh: i32, kw: i32, start: i32, end: i32): void {
  const khw = kh * kw;
  for (let u = start; u < end; u++) {
    const j = u % kw, i = (u / kw) % kh, ci = (u / khw) % cig, o = u / (khw * cig);
    const g = o / cog, co = o % cog;
    const d = (((g * cig + ci) * cog + co) * kh + (kh - 1 - i)) * kw + (kw - 1 - j);
    store<f32>(wt + (<usize>d << 2), load<f32>(w + (<usize>u << 2)));
  }
}
