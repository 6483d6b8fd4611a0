/**
 * Reference pooling kernels: the readable specification of `assembly/pool.ts` (same names and
 * arguments, heap first; units are the n * c planes).
 * @module
 */
import type { Heap } from "../heap.ts";

/** Max pooling with argmax indices (ih * w + iw; ties keep the first; NaN wins). */
export function max_pool2d_forward(
  hp: Heap,
  x: number,
  y: number,
  indices: number,
  h: number,
  w: number,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
  pt: number,
  pl: number,
  dh: number,
  dw: number,
  outH: number,
  outW: number,
  start: number,
  end: number,
): void {
  const f = hp.f32, i32 = hp.i32;
  for (let p = start; p < end; p++) {
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        let best = -Infinity, arg = -1;
        for (let ki = 0; ki < kh; ki++) {
          for (let kj = 0; kj < kw; kj++) {
            const ih = oh * sh - pt + ki * dh, iw = ow * sw - pl + kj * dw;
            if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
            const v = f[(x >> 2) + p * h * w + ih * w + iw];
            if (arg < 0 || v > best || (Number.isNaN(v) && !Number.isNaN(best))) {
              best = v;
              arg = ih * w + iw;
            }
          }
        }
        const q = p * outH * outW + oh * outW + ow;
        f[(y >> 2) + q] = best;
        i32[(indices >> 2) + q] = arg;
      }
    }
  }
}

/** dx (overwritten) = dy scattered to the argmax positions. */
export function max_pool2d_backward(
  hp: Heap,
  dy: number,
  indices: number,
  dx: number,
  hw: number,
  outHW: number,
  start: number,
  end: number,
): void {
  const f = hp.f32, i32 = hp.i32;
  for (let p = start; p < end; p++) {
    f.fill(0, (dx >> 2) + p * hw, (dx >> 2) + (p + 1) * hw);
    for (let i = 0; i < outHW; i++) {
      const at = i32[(indices >> 2) + p * outHW + i];
      if (at >= 0) f[(dx >> 2) + p * hw + at] += f[(dy >> 2) + p * outHW + i];
    }
  }
}

function divisor(
  hs: number,
  ws: number,
  h: number,
  w: number,
  kh: number,
  kw: number,
  ph: number,
  pw: number,
  includePad: number,
  override: number,
): number {
  if (override > 0) return override;
  const he = Math.min(hs + kh, h + ph), we = Math.min(ws + kw, w + pw);
  if (includePad) return (he - hs) * (we - ws);
  return (Math.min(he, h) - Math.max(hs, 0)) * (Math.min(we, w) - Math.max(ws, 0));
}

/** Average pooling, torch's divisor rules. */
export function avg_pool2d_forward(
  hp: Heap,
  x: number,
  y: number,
  h: number,
  w: number,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
  pt: number,
  pl: number,
  outH: number,
  outW: number,
  includePad: number,
  override: number,
  start: number,
  end: number,
): void {
  const f = hp.f32;
  for (let p = start; p < end; p++) {
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        const hs = oh * sh - pt, ws = ow * sw - pl;
        let s = 0;
        for (let ih = Math.max(hs, 0); ih < Math.min(hs + kh, h); ih++) {
          for (let iw = Math.max(ws, 0); iw < Math.min(ws + kw, w); iw++) {
            s += f[(x >> 2) + p * h * w + ih * w + iw];
          }
        }
        f[(y >> 2) + p * outH * outW + oh * outW + ow] = s /
          divisor(hs, ws, h, w, kh, kw, pt, pl, includePad, override);
      }
    }
  }
}

/** Average pooling backward (dx overwritten). */
export function avg_pool2d_backward(
  hp: Heap,
  dy: number,
  dx: number,
  h: number,
  w: number,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
  pt: number,
  pl: number,
  outH: number,
  outW: number,
  includePad: number,
  override: number,
  start: number,
  end: number,
): void {
  const f = hp.f32;
  for (let p = start; p < end; p++) {
    f.fill(0, (dx >> 2) + p * h * w, (dx >> 2) + (p + 1) * h * w);
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        const hs = oh * sh - pt, ws = ow * sw - pl;
        const g = f[(dy >> 2) + p * outH * outW + oh * outW + ow] /
          divisor(hs, ws, h, w, kh, kw, pt, pl, includePad, override);
        for (let ih = Math.max(hs, 0); ih < Math.min(hs + kh, h); ih++) {
          for (let iw = Math.max(ws, 0); iw < Math.min(ws + kw, w); iw++) {
            f[(dx >> 2) + p * h * w + ih * w + iw] += g;
          }
        }
      }
    }
  }
}

const win = (o: number, inSize: number, out: number) =>
  [Math.floor((o * inSize) / out), Math.ceil(((o + 1) * inSize) / out)] as const;

/** Adaptive average pooling (torch's windows). */
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
  const f = hp.f32;
  for (let p = start; p < end; p++) {
    for (let oh = 0; oh < outH; oh++) {
      const [hs, he] = win(oh, h, outH);
      for (let ow = 0; ow < outW; ow++) {
        const [ws, we] = win(ow, w, outW);
        let s = 0;
        for (let ih = hs; ih < he; ih++) {
          for (let iw = ws; iw < we; iw++) s += f[(x >> 2) + p * h * w + ih * w + iw];
        }
        f[(y >> 2) + p * outH * outW + oh * outW + ow] = s / ((he - hs) * (we - ws));
      }
    }
  }
}

/** Adaptive average pooling backward (dx overwritten). */
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
  const f = hp.f32;
  for (let p = start; p < end; p++) {
    f.fill(0, (dx >> 2) + p * h * w, (dx >> 2) + (p + 1) * h * w);
    for (let oh = 0; oh < outH; oh++) {
      const [hs, he] = win(oh, h, outH);
      for (let ow = 0; ow < outW; ow++) {
        const [ws, we] = win(ow, w, outW);
        const g = f[(dy >> 2) + p * outH * outW + oh * outW + ow] / ((he - hs) * (we - ws));
        for (let ih = hs; ih < he; ih++) {
          for (let iw = ws; iw < we; iw++) f[(dx >> 2) + p * h * w + ih * w + iw] += g;
        }
      }
    }
  }
}
