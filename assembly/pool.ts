// Pooling kernels over NCHW f32 tensors. Forward kernels work on output rows (units = n*c*outH);
// backward kernels work on whole (n, c) planes (units = n*c), so two threads never add to the same dx
// element. Window rules follow torch: a window starts at o*stride - padTop and may overhang the
// bottom/right border by up to padBottom/padRight (ceil mode); padded positions never win a max.

// x: [planes, h, w] -> y, indices (i32, index into the plane: iy*w + ix): [planes, outH, outW]
export function max_pool2d_forward(
  x: usize, y: usize, indices: usize,
  h: i32, w: i32, kh: i32, kw: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32,
  dilationH: i32, dilationW: i32, outH: i32, outW: i32,
  start: i32, end: i32,
): void {
  const plane = <usize>h * <usize>w;
  for (let r = start; r < end; r++) {
    const p = r / outH;
    const oh = r - p * outH;
    const xp = x + ((<usize>p * plane) << 2);
    const row = <usize>r * <usize>outW;
    const hs = oh * strideH - padTop;
    let ky0 = 0;
    if (hs < 0) ky0 = (-hs + dilationH - 1) / dilationH;
    let ky1 = kh;
    const lim = (h - hs + dilationH - 1) / dilationH;
    if (lim < ky1) ky1 = lim;
    const simd = dilationW == 1 && (strideW == 1 || strideW == 2);
    // last column a 4-output SIMD step may load (stride 2 loads 8 lanes per step and keeps the even ones)
    const reach = strideW == 1 ? kw + 2 : kw + 6;
    for (let ow = 0; ow < outW; ow++) {
      const ws = ow * strideW - padLeft;
      if (simd && ow + 4 <= outW && ws >= 0 && ws + reach < w) {
        // four outputs at once; per lane the same scan order and tie rule as the scalar path
        let best = f32x4.splat(-Infinity);
        let bi = i32x4.splat((hs + ky0 * dilationH) * w + ws);
        if (strideW == 2) bi = i32x4.add(bi, i32x4(0, 2, 4, 6));
        else bi = i32x4.add(bi, i32x4(0, 1, 2, 3));
        const step = strideW == 2 ? i32x4(0, 2, 4, 6) : i32x4(0, 1, 2, 3);
        for (let ky = ky0; ky < ky1; ky++) {
          const base = (hs + ky * dilationH) * w + ws;
          for (let kx = 0; kx < kw; kx++) {
            const a = xp + (<usize>(base + kx) << 2);
            let v: v128;
            if (strideW == 2) v = v128.shuffle<f32>(v128.load(a), v128.load(a, 16), 0, 2, 4, 6);
            else v = v128.load(a);
            const take = v128.or(f32x4.gt(v, best), f32x4.ne(v, v));
            best = v128.bitselect(v, best, take);
            bi = v128.bitselect(i32x4.add(i32x4.splat(base + kx), step), bi, take);
          }
        }
        v128.store(y + ((row + <usize>ow) << 2), best);
        v128.store(indices + ((row + <usize>ow) << 2), bi);
        ow += 3;
        continue;
      }
      let kx0 = 0;
      if (ws < 0) kx0 = (-ws + dilationW - 1) / dilationW;
      let kx1 = kw;
      const limx = (w - ws + dilationW - 1) / dilationW;
      if (limx < kx1) kx1 = limx;
      let best: f32 = -Infinity;
      let bi: i32 = (hs + ky0 * dilationH) * w + ws + kx0 * dilationW;
      for (let ky = ky0; ky < ky1; ky++) {
        const iy = hs + ky * dilationH;
        const base = iy * w + ws;
        for (let kx = kx0; kx < kx1; kx++) {
          const idx = base + kx * dilationW;
          const v = load<f32>(xp + (<usize>idx << 2));
          const take = v > best || v != v;
          best = select<f32>(v, best, take);
          bi = select<i32>(idx, bi, take);
        }
      }
      store<f32>(y + ((row + <usize>ow) << 2), best);
      store<i32>(indices + ((row + <usize>ow) << 2), bi);
    }
  }
}

// dy, indices (i32): [planes, outH, outW] -> dx: [planes, h, w]  (dx overwritten: zeroed, then
// dx[indices] += dy)
export function max_pool2d_backward(
  dy: usize, indices: usize, dx: usize, h: i32, w: i32, outH: i32, outW: i32, start: i32, end: i32,
): void {
  const plane = <usize>h * <usize>w;
  const oplane = <usize>outH * <usize>outW;
  for (let p = start; p < end; p++) {
    const dxp = dx + ((<usize>p * plane) << 2);
    memory.fill(dxp, 0, plane << 2);
    const o0 = <usize>p * oplane;
    for (let o: usize = 0; o < oplane; o++) {
      const off = (o0 + o) << 2;
      const a = dxp + (<usize>load<i32>(indices + off) << 2);
      store<f32>(a, load<f32>(a) + load<f32>(dy + off));
    }
  }
}

// Divisor of one average-pooling window (torch's rule).
@inline function avgDivisor(
  hs: i32, ws: i32, h: i32, w: i32, kh: i32, kw: i32, padBottom: i32, padRight: i32,
  countIncludePad: i32, divisorOverride: i32,
): f32 {
  if (divisorOverride > 0) return <f32>divisorOverride;
  let he = hs + kh;
  if (he > h + padBottom) he = h + padBottom;
  let we = ws + kw;
  if (we > w + padRight) we = w + padRight;
  if (countIncludePad) return <f32>((he - hs) * (we - ws));
  const a = hs < 0 ? 0 : hs;
  const b = ws < 0 ? 0 : ws;
  if (he > h) he = h;
  if (we > w) we = w;
  return <f32>((he - a) * (we - b));
}

// x: [planes, h, w] -> y: [planes, outH, outW];  y = window sum / divisor
// (divisorOverride 0: none; countIncludePad 0/1)
export function avg_pool2d_forward(
  x: usize, y: usize,
  h: i32, w: i32, kh: i32, kw: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32,
  padBottom: i32, padRight: i32, outH: i32, outW: i32, countIncludePad: i32, divisorOverride: i32,
  start: i32, end: i32,
): void {
  const plane = <usize>h * <usize>w;
  for (let r = start; r < end; r++) {
    const p = r / outH;
    const oh = r - p * outH;
    const xp = x + ((<usize>p * plane) << 2);
    const row = <usize>r * <usize>outW;
    const hs = oh * strideH - padTop;
    const y0 = hs < 0 ? 0 : hs;
    let y1 = hs + kh;
    if (y1 > h) y1 = h;
    for (let ow = 0; ow < outW; ow++) {
      const ws = ow * strideW - padLeft;
      const x0 = ws < 0 ? 0 : ws;
      let x1 = ws + kw;
      if (x1 > w) x1 = w;
      let s: f32 = 0;
      for (let iy = y0; iy < y1; iy++) {
        const rp = xp + ((<usize>iy * <usize>w) << 2);
        for (let ix = x0; ix < x1; ix++) s += load<f32>(rp + (<usize>ix << 2));
      }
      const d = avgDivisor(hs, ws, h, w, kh, kw, padBottom, padRight, countIncludePad, divisorOverride);
      store<f32>(y + ((row + <usize>ow) << 2), s / d);
    }
  }
}

// dy: [planes, outH, outW] -> dx: [planes, h, w]  (dx overwritten)
export function avg_pool2d_backward(
  dy: usize, dx: usize,
  h: i32, w: i32, kh: i32, kw: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32,
  padBottom: i32, padRight: i32, outH: i32, outW: i32, countIncludePad: i32, divisorOverride: i32,
  start: i32, end: i32,
): void {
  const plane = <usize>h * <usize>w;
  for (let p = start; p < end; p++) {
    const dxp = dx + ((<usize>p * plane) << 2);
    memory.fill(dxp, 0, plane << 2);
    for (let oh = 0; oh < outH; oh++) {
      const hs = oh * strideH - padTop;
      const y0 = hs < 0 ? 0 : hs;
      let y1 = hs + kh;
      if (y1 > h) y1 = h;
      const row = (<usize>p * <usize>outH + <usize>oh) * <usize>outW;
      for (let ow = 0; ow < outW; ow++) {
        const ws = ow * strideW - padLeft;
        const x0 = ws < 0 ? 0 : ws;
        let x1 = ws + kw;
        if (x1 > w) x1 = w;
        const d = avgDivisor(hs, ws, h, w, kh, kw, padBottom, padRight, countIncludePad, divisorOverride);
        const g = load<f32>(dy + ((row + <usize>ow) << 2)) / d;
        for (let iy = y0; iy < y1; iy++) {
          const rp = dxp + ((<usize>iy * <usize>w) << 2);
          for (let ix = x0; ix < x1; ix++) {
            const a = rp + (<usize>ix << 2);
            store<f32>(a, load<f32>(a) + g);
          }
        }
      }
    }
  }
}

// x: [planes, h, w] -> y: [planes, outH, outW]; window rows floor(i*h/outH) .. ceil((i+1)*h/outH)
export function adaptive_avg_pool2d_forward(
  x: usize, y: usize, h: i32, w: i32, outH: i32, outW: i32, start: i32, end: i32,
): void {
  const plane = <usize>h * <usize>w;
  for (let r = start; r < end; r++) {
    const p = r / outH;
    const oh = r - p * outH;
    const xp = x + ((<usize>p * plane) << 2);
    const row = <usize>r * <usize>outW;
    const y0 = (oh * h) / outH;
    const y1 = ((oh + 1) * h + outH - 1) / outH;
    for (let ow = 0; ow < outW; ow++) {
      const x0 = (ow * w) / outW;
      const x1 = ((ow + 1) * w + outW - 1) / outW;
      let s: f32 = 0;
      for (let iy = y0; iy < y1; iy++) {
        const rp = xp + ((<usize>iy * <usize>w) << 2);
        for (let ix = x0; ix < x1; ix++) s += load<f32>(rp + (<usize>ix << 2));
      }
      store<f32>(y + ((row + <usize>ow) << 2), s / <f32>((y1 - y0) * (x1 - x0)));
    }
  }
}

// dy: [planes, outH, outW] -> dx: [planes, h, w]  (dx overwritten)
export function adaptive_avg_pool2d_backward(
  dy: usize, dx: usize, h: i32, w: i32, outH: i32, outW: i32, start: i32, end: i32,
): void {
  const plane = <usize>h * <usize>w;
  for (let p = start; p < end; p++) {
    const dxp = dx + ((<usize>p * plane) << 2);
    memory.fill(dxp, 0, plane << 2);
    for (let oh = 0; oh < outH; oh++) {
      const y0 = (oh * h) / outH;
      const y1 = ((oh + 1) * h + outH - 1) / outH;
      const row = (<usize>p * <usize>outH + <usize>oh) * <usize>outW;
      for (let ow = 0; ow < outW; ow++) {
        const x0 = (ow * w) / outW;
        const x1 = ((ow + 1) * w + outW - 1) / outW;
        const g = load<f32>(dy + ((row + <usize>ow) << 2)) / <f32>((y1 - y0) * (x1 - x0));
        for (let iy = y0; iy < y1; iy++) {
          const rp = dxp + ((<usize>iy * <usize>w) << 2);
          for (let ix = x0; ix < x1; ix++) {
            const a = rp + (<usize>ix << 2);
            store<f32>(a, load<f32>(a) + g);
          }
        }
      }
    }
  }
}
