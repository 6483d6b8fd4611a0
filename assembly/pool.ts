// Pooling kernels over NCHW planes. Units are the n * c planes (each thread owns whole planes, so the
// backward scatters never collide). Geometry follows torch: window start o * stride - pad, padding
// never wins a max, ceil-mode windows are clipped.

// x: [planes, h, w] -> y: [planes, outH, outW], indices: [planes, outH, outW] i32 (argmax within the
// plane, ih * w + iw; ties keep the first; NaN wins, as torch).
export function max_pool2d_forward(
  x: usize, y: usize, indices: usize, h: i32, w: i32, kh: i32, kw: i32, strideH: i32, strideW: i32,
  padTop: i32, padLeft: i32, dilationH: i32, dilationW: i32, outH: i32, outW: i32, start: i32, end: i32,
): void {
  for (let pl = start; pl < end; pl++) {
    const xp = x + (<usize>pl * <usize>(h * w) << 2);
    const o = <usize>pl * <usize>(outH * outW);
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        let best = -Infinity as f32;
        let arg = -1;
        for (let ki = 0; ki < kh; ki++) {
          const ih = oh * strideH - padTop + ki * dilationH;
          if (ih < 0 || ih >= h) continue;
          for (let kj = 0; kj < kw; kj++) {
            const iw = ow * strideW - padLeft + kj * dilationW;
            if (iw < 0 || iw >= w) continue;
            const at = ih * w + iw;
            const v = load<f32>(xp + (<usize>at << 2));
            if (arg < 0 || v > best || (v != v && best == best)) {
              best = v;
              arg = at;
            }
          }
        }
        const q = o + <usize>(oh * outW + ow);
        store<f32>(y + (q << 2), best);
        store<i32>(indices + (q << 2), arg);
      }
    }
  }
}

// dy: [planes, outH, outW], indices as above -> dx: [planes, h, w] (overwritten).
export function max_pool2d_backward(
  dy: usize, indices: usize, dx: usize, hw: i32, outHW: i32, start: i32, end: i32,
): void {
  for (let pl = start; pl < end; pl++) {
    const dp = dx + (<usize>pl * <usize>hw << 2);
    memory.fill(dp, 0, <usize>hw << 2);
    const o = <usize>pl * <usize>outHW;
    for (let i = 0; i < outHW; i++) {
      const q = (o + <usize>i) << 2;
      const at = load<i32>(indices + q);
      if (at >= 0) {
        const d = dp + (<usize>at << 2);
        store<f32>(d, load<f32>(d) + load<f32>(dy + q));
      }
    }
  }
}

// torch's divisor: the window clipped to the padded input (count_include_pad) or to the input, or
// the divOverride when > 0.
@inline function avgDivisor(
  hs: i32, ws: i32, h: i32, w: i32, kh: i32, kw: i32, padH: i32, padW: i32, includePad: i32, divOverride: i32,
): f32 {
  if (divOverride > 0) return <f32>divOverride;
  const he = min(hs + kh, h + padH), we = min(ws + kw, w + padW);
  if (includePad) return <f32>((he - hs) * (we - ws));
  return <f32>((min(he, h) - max(hs, 0)) * (min(we, w) - max(ws, 0)));
}

// x: [planes, h, w] -> y: [planes, outH, outW], average pooling (no dilation).
export function avg_pool2d_forward(
  x: usize, y: usize, h: i32, w: i32, kh: i32, kw: i32, strideH: i32, strideW: i32, padTop: i32,
  padLeft: i32, outH: i32, outW: i32, includePad: i32, divOverride: i32, start: i32, end: i32,
): void {
  for (let pl = start; pl < end; pl++) {
    const xp = x + (<usize>pl * <usize>(h * w) << 2);
    const yp = y + (<usize>pl * <usize>(outH * outW) << 2);
    for (let oh = 0; oh < outH; oh++) {
      const hs = oh * strideH - padTop;
      for (let ow = 0; ow < outW; ow++) {
        const ws = ow * strideW - padLeft;
        let s: f32 = 0;
        for (let ih = max(hs, 0); ih < min(hs + kh, h); ih++) {
          for (let iw = max(ws, 0); iw < min(ws + kw, w); iw++) s += load<f32>(xp + (<usize>(ih * w + iw) << 2));
        }
        const div = avgDivisor(hs, ws, h, w, kh, kw, padTop, padLeft, includePad, divOverride);
        store<f32>(yp + (<usize>(oh * outW + ow) << 2), s / div);
      }
    }
  }
}

// dy: [planes, outH, outW] -> dx: [planes, h, w] (overwritten).
export function avg_pool2d_backward(
  dy: usize, dx: usize, h: i32, w: i32, kh: i32, kw: i32, strideH: i32, strideW: i32, padTop: i32,
  padLeft: i32, outH: i32, outW: i32, includePad: i32, divOverride: i32, start: i32, end: i32,
): void {
  for (let pl = start; pl < end; pl++) {
    const dp = dx + (<usize>pl * <usize>(h * w) << 2);
    memory.fill(dp, 0, <usize>(h * w) << 2);
    const gp = dy + (<usize>pl * <usize>(outH * outW) << 2);
    for (let oh = 0; oh < outH; oh++) {
      const hs = oh * strideH - padTop;
      for (let ow = 0; ow < outW; ow++) {
        const ws = ow * strideW - padLeft;
        const g = load<f32>(gp + (<usize>(oh * outW + ow) << 2)) /
          avgDivisor(hs, ws, h, w, kh, kw, padTop, padLeft, includePad, divOverride);
        for (let ih = max(hs, 0); ih < min(hs + kh, h); ih++) {
          for (let iw = max(ws, 0); iw < min(ws + kw, w); iw++) {
            const d = dp + (<usize>(ih * w + iw) << 2);
            store<f32>(d, load<f32>(d) + g);
          }
        }
      }
    }
  }
}

// x: [planes, h, w] -> y: [planes, outH, outW]; window rows [floor(i h / outH), ceil((i + 1) h / outH)).
export function adaptive_avg_pool2d_forward(
  x: usize, y: usize, h: i32, w: i32, outH: i32, outW: i32, start: i32, end: i32,
): void {
  for (let pl = start; pl < end; pl++) {
    const xp = x + (<usize>pl * <usize>(h * w) << 2);
    const yp = y + (<usize>pl * <usize>(outH * outW) << 2);
    if (outH == 1 && outW == 1) {
      // Global average pooling: one SIMD sum of the plane.
      const n = h * w;
      let acc = f32x4.splat(0);
      let i = 0;
      for (; i + 4 <= n; i += 4) acc = f32x4.add(acc, v128.load(xp + (<usize>i << 2)));
      let s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) +
        f32x4.extract_lane(acc, 3);
      for (; i < n; i++) s += load<f32>(xp + (<usize>i << 2));
      store<f32>(yp, s / <f32>n);
      continue;
    }
    for (let oh = 0; oh < outH; oh++) {
      const hs = (oh * h) / outH, he = ((oh + 1) * h + outH - 1) / outH;
      for (let ow = 0; ow < outW; ow++) {
        const ws = (ow * w) / outW, we = ((ow + 1) * w + outW - 1) / outW;
        let s: f32 = 0;
        for (let ih = hs; ih < he; ih++) {
          for (let iw = ws; iw < we; iw++) s += load<f32>(xp + (<usize>(ih * w + iw) << 2));
        }
        store<f32>(yp + (<usize>(oh * outW + ow) << 2), s / <f32>((he - hs) * (we - ws)));
      }
    }
  }
}

// dy: [planes, outH, outW] -> dx: [planes, h, w] (overwritten).
export function adaptive_avg_pool2d_backward(
  dy: usize, dx: usize, h: i32, w: i32, outH: i32, outW: i32, start: i32, end: i32,
): void {
  for (let pl = start; pl < end; pl++) {
    const dp = dx + (<usize>pl * <usize>(h * w) << 2);
    const gp = dy + (<usize>pl * <usize>(outH * outW) << 2);
    if (outH == 1 && outW == 1) {
      const n = h * w;
      const v = f32x4.splat(load<f32>(gp) / <f32>n);
      let i = 0;
      for (; i + 4 <= n; i += 4) v128.store(dp + (<usize>i << 2), v);
      for (; i < n; i++) store<f32>(dp + (<usize>i << 2), f32x4.extract_lane(v, 0));
      continue;
    }
    memory.fill(dp, 0, <usize>(h * w) << 2);
    for (let oh = 0; oh < outH; oh++) {
      const hs = (oh * h) / outH, he = ((oh + 1) * h + outH - 1) / outH;
      for (let ow = 0; ow < outW; ow++) {
        const ws = (ow * w) / outW, we = ((ow + 1) * w + outW - 1) / outW;
        const g = load<f32>(gp + (<usize>(oh * outW + ow) << 2)) / <f32>((he - hs) * (we - ws));
        for (let ih = hs; ih < he; ih++) {
          for (let iw = ws; iw < we; iw++) {
            const d = dp + (<usize>(ih * w + iw) << 2);
            store<f32>(d, load<f32>(d) + g);
          }
        }
      }
    }
  }
}
