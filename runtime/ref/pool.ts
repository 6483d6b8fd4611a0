/**
 * Reference pooling kernels: the readable specification of `assembly/pool.ts`, with the same
 * arguments. Tensors are NCHW; a "plane" is one (n, c) image of h*w floats. Forward kernels work on
 * output rows [start, end) of n*c*outH; backward kernels on planes [start, end) of n*c and overwrite dx.
 * Windows start at o*stride - padTop (-padLeft) and may overhang the far border by up to
 * padBottom/padRight (torch ceil mode). Max-pool indices are int32 offsets inside the input plane.
 * @module
 */
import type { Heap } from "../heap.ts";

/** Max pooling with argmax indices (NaN wins; padding never does). */
export function max_pool2d_forward(
  hp: Heap,
  x: number,
  y: number,
  indices: number,
  h: number,
  w: number,
  kh: number,
  kw: number,
  strideH: number,
  strideW: number,
  padTop: number,
  padLeft: number,
  dilationH: number,
  dilationW: number,
  outH: number,
  outW: number,
  start: number,
  end: number,
): void {
  const m = hp.f32, mi = hp.i32;
  for (let r = start; r < end; r++) {
    const p = Math.floor(r / outH), oh = r % outH;
    const xp = (x >> 2) + p * h * w;
    for (let ow = 0; ow < outW; ow++) {
      let best = -Infinity, bi = -1;
      for (let ky = 0; ky < kh; ky++) {
        const iy = oh * strideH - padTop + ky * dilationH;
        if (iy < 0 || iy >= h) continue;
        for (let kx = 0; kx < kw; kx++) {
          const ix = ow * strideW - padLeft + kx * dilationW;
          if (ix < 0 || ix >= w) continue;
          const v = m[xp + iy * w + ix];
          if (bi < 0 || v > best || Number.isNaN(v)) {
            best = v;
            bi = iy * w + ix;
          }
        }
      }
      m[(y >> 2) + r * outW + ow] = best;
      mi[(indices >> 2) + r * outW + ow] = bi;
    }
  }
}

/** dx = 0, then dx[indices] += dy, plane by plane. */
export function max_pool2d_backward(
  hp: Heap,
  dy: number,
  indices: number,
  dx: number,
  h: number,
  w: number,
  outH: number,
  outW: number,
  start: number,
  end: number,
): void {
  const m = hp.f32, mi = hp.i32;
  for (let p = start; p < end; p++) {
    const dxp = (dx >> 2) + p * h * w;
    m.fill(0, dxp, dxp + h * w);
    for (let o = p * outH * outW; o < (p + 1) * outH * outW; o++) {
      m[dxp + mi[(indices >> 2) + o]] += m[(dy >> 2) + o];
    }
  }
}

/** torch's average-pool divisor for the window starting at (hs, ws). */
function avgDivisor(
  hs: number,
  ws: number,
  h: number,
  w: number,
  kh: number,
  kw: number,
  padBottom: number,
  padRight: number,
  countIncludePad: number,
  divisorOverride: number,
): number {
  if (divisorOverride > 0) return divisorOverride;
  // the window, clipped to the padded input
  const he = Math.min(hs + kh, h + padBottom), we = Math.min(ws + kw, w + padRight);
  if (countIncludePad) return (he - hs) * (we - ws);
  return (Math.min(he, h) - Math.max(hs, 0)) * (Math.min(we, w) - Math.max(ws, 0));
}

/** Average pooling: window sum over the real input / torch's divisor. */
export function avg_pool2d_forward(
  hp: Heap,
  x: number,
  y: number,
  h: number,
  w: number,
  kh: number,
  kw: number,
  strideH: number,
  strideW: number,
  padTop: number,
  padLeft: number,
  padBottom: number,
  padRight: number,
  outH: number,
  outW: number,
  countIncludePad: number,
  divisorOverride: number,
  start: number,
  end: number,
): void {
  const m = hp.f32;
  for (let r = start; r < end; r++) {
    const p = Math.floor(r / outH), oh = r % outH;
    const xp = (x >> 2) + p * h * w;
    const hs = oh * strideH - padTop;
    for (let ow = 0; ow < outW; ow++) {
      const ws = ow * strideW - padLeft;
      let s = 0;
      for (let iy = Math.max(hs, 0); iy < Math.min(hs + kh, h); iy++) {
        for (let ix = Math.max(ws, 0); ix < Math.min(ws + kw, w); ix++) s += m[xp + iy * w + ix];
      }
      const d = avgDivisor(hs, ws, h, w, kh, kw, padBottom, padRight, countIncludePad, divisorOverride);
      m[(y >> 2) + r * outW + ow] = s / d;
    }
  }
}

/** Average pooling backward: each dy / divisor spread over its window. */
export function avg_pool2d_backward(
  hp: Heap,
  dy: number,
  dx: number,
  h: number,
  w: number,
  kh: number,
  kw: number,
  strideH: number,
  strideW: number,
  padTop: number,
  padLeft: number,
  padBottom: number,
  padRight: number,
  outH: number,
  outW: number,
  countIncludePad: number,
  divisorOverride: number,
  start: number,
  end: number,
): void {
  const m = hp.f32;
  for (let p = start; p < end; p++) {
    const dxp = (dx >> 2) + p * h * w;
    m.fill(0, dxp, dxp + h * w);
    for (let oh = 0; oh < outH; oh++) {
      const hs = oh * strideH - padTop;
      for (let ow = 0; ow < outW; ow++) {
        const ws = ow * strideW - padLeft;
        const d = avgDivisor(hs, ws, h, w, kh, kw, padBottom, padRight, countIncludePad, divisorOverride);
        const g = m[(dy >> 2) + (p * outH + oh) * outW + ow] / d;
        for (let iy = Math.max(hs, 0); iy < Math.min(hs + kh, h); iy++) {
          for (let ix = Math.max(ws, 0); ix < Math.min(ws + kw, w); ix++) m[dxp + iy * w + ix] += g;
        }
      }
    }
  }
}

/** torch's adaptive window [start, end) of output index i when mapping `size` to `out`. */
function adaptiveWindow(i: number, size: number, out: number): [number, number] {
  return [Math.floor((i * size) / out), Math.ceil(((i + 1) * size) / out)];
}

/** Adaptive average pooling. */
export function adaptive_avg_pool2d_forward(
  hp: Heap,
  x: number,
  y: number,
  h: number,
  w: number,
  outH: number,
  outW: number,
  start: number,
  end: number,
): void {
  const m = hp.f32;
  for (let r = start; r < end; r++) {
    const p = Math.floor(r / outH), oh = r % outH;
    const [y0, y1] = adaptiveWindow(oh, h, outH);
    for (let ow = 0; ow < outW; ow++) {
      const [x0, x1] = adaptiveWindow(ow, w, outW);
      let s = 0;
      for (let iy = y0; iy < y1; iy++) {
        for (let ix = x0; ix < x1; ix++) s += m[(x >> 2) + p * h * w + iy * w + ix];
      }
      m[(y >> 2) + r * outW + ow] = s / ((y1 - y0) * (x1 - x0));
    }
  }
}

/** Adaptive average pooling backward. */
export function adaptive_avg_pool2d_backward(
  hp: Heap,
  dy: number,
  dx: number,
  h: number,
  w: number,
  outH: number,
  outW: number,
  start: number,
  end: number,
): void {
  const m = hp.f32;
  for (let p = start; p < end; p++) {
    const dxp = (dx >> 2) + p * h * w;
    m.fill(0, dxp, dxp + h * w);
    for (let oh = 0; oh < outH; oh++) {
      const [y0, y1] = adaptiveWindow(oh, h, outH);
      for (let ow = 0; ow < outW; ow++) {
        const [x0, x1] = adaptiveWindow(ow, w, outW);
        const g = m[(dy >> 2) + (p * outH + oh) * outW + ow] / ((y1 - y0) * (x1 - x0));
        for (let iy = y0; iy < y1; iy++) {
          for (let ix = x0; ix < x1; ix++) m[dxp + iy * w + ix] += g;
        }
      }
    }
  }
}
