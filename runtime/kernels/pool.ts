/**
 * Launchers of the pooling kernels (NCHW float32). Forward kernels split over output rows; backward
 * kernels over (n, c) planes, so no two threads add into the same dx element. Backward launchers
 * overwrite dx.
 * @module
 */
import type { Runtime } from "../runtime.ts";

/**
 * Pooling geometry. Windows start at `o * stride - padTop/padLeft`; `padBottom/padRight` bound how far a
 * window may overhang the far border (torch ceil mode); `outH/outW` are computed by the op.
 */
export interface Pool2dGeometry {
  n: number;
  c: number;
  h: number;
  w: number;
  kh: number;
  kw: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
  padBottom: number;
  padRight: number;
  dilationH: number;
  dilationW: number;
  outH: number;
  outW: number;
}

/** Average-pooling options (torch's count_include_pad and divisor_override). */
export type AvgPool2dOptions = { countIncludePad: boolean; divisorOverride?: number };

/** Geometry of adaptive average pooling from [h, w] to [outH, outW]. */
export type AdaptivePool2dGeometry = {
  n: number;
  c: number;
  h: number;
  w: number;
  outH: number;
  outW: number;
};

function geomArgs(g: Pool2dGeometry): number[] {
  return [g.h, g.w, g.kh, g.kw, g.strideH, g.strideW, g.padTop, g.padLeft];
}

/**
 * Max pooling: y [n, c, outH, outW] and int32 `indices` (same shape: the argmax's offset iy*w+ix in its
 * input plane) from x [n, c, h, w]. Padding never wins; NaN does.
 */
export function maxPool2dForward(
  rt: Runtime,
  g: Pool2dGeometry,
  b: { x: number; y: number; indices: number },
): Promise<void> {
  return rt.exec("max_pool2d_forward", [
    b.x,
    b.y,
    b.indices,
    ...geomArgs(g),
    g.dilationH,
    g.dilationW,
    g.outH,
    g.outW,
  ], { units: g.n * g.c * g.outH, cost: g.n * g.c * g.outH * g.outW * g.kh * g.kw });
}

/** Max pooling backward: dx [n, c, h, w] = 0, then dx[indices] += dy. */
export function maxPool2dBackward(
  rt: Runtime,
  g: Pool2dGeometry,
  b: { dy: number; indices: number; dx: number },
): Promise<void> {
  return rt.exec("max_pool2d_backward", [b.dy, b.indices, b.dx, g.h, g.w, g.outH, g.outW], {
    units: g.n * g.c,
    cost: g.n * g.c * (g.h * g.w + g.outH * g.outW),
  });
}

function avgArgs(g: Pool2dGeometry, o: AvgPool2dOptions): number[] {
  return [
    ...geomArgs(g),
    g.padBottom,
    g.padRight,
    g.outH,
    g.outW,
    o.countIncludePad ? 1 : 0,
    o.divisorOverride ?? 0,
  ];
}

/** Average pooling x [n, c, h, w] -> y [n, c, outH, outW] (torch's divisor rule). */
export function avgPool2dForward(
  rt: Runtime,
  g: Pool2dGeometry,
  b: { x: number; y: number },
  o: AvgPool2dOptions,
): Promise<void> {
  return rt.exec("avg_pool2d_forward", [b.x, b.y, ...avgArgs(g, o)], {
    units: g.n * g.c * g.outH,
    cost: g.n * g.c * g.outH * g.outW * g.kh * g.kw,
  });
}

/** Average pooling backward: dx [n, c, h, w] (overwritten) from dy [n, c, outH, outW]. */
export function avgPool2dBackward(
  rt: Runtime,
  g: Pool2dGeometry,
  b: { dy: number; dx: number },
  o: AvgPool2dOptions,
): Promise<void> {
  return rt.exec("avg_pool2d_backward", [b.dy, b.dx, ...avgArgs(g, o)], {
    units: g.n * g.c,
    cost: g.n * g.c * (g.h * g.w + g.outH * g.outW * g.kh * g.kw),
  });
}

/** Work per output of adaptive pooling (the largest window). */
function adaptiveWindow(g: AdaptivePool2dGeometry): number {
  return (Math.ceil(g.h / g.outH) + 1) * (Math.ceil(g.w / g.outW) + 1);
}

/**
 * Adaptive average pooling x [n, c, h, w] -> y [n, c, outH, outW]; output i averages input rows
 * floor(i*h/outH) .. ceil((i+1)*h/outH) (and likewise columns), as torch.
 */
export function adaptiveAvgPool2dForward(
  rt: Runtime,
  g: AdaptivePool2dGeometry,
  b: { x: number; y: number },
): Promise<void> {
  return rt.exec("adaptive_avg_pool2d_forward", [b.x, b.y, g.h, g.w, g.outH, g.outW], {
    units: g.n * g.c * g.outH,
    cost: g.n * g.c * g.outH * g.outW * adaptiveWindow(g),
  });
}

/** Adaptive average pooling backward: dx [n, c, h, w] (overwritten) from dy [n, c, outH, outW]. */
export function adaptiveAvgPool2dBackward(
  rt: Runtime,
  g: AdaptivePool2dGeometry,
  b: { dy: number; dx: number },
): Promise<void> {
  return rt.exec("adaptive_avg_pool2d_backward", [b.dy, b.dx, g.h, g.w, g.outH, g.outW], {
    units: g.n * g.c,
    cost: g.n * g.c * (g.h * g.w + g.outH * g.outW * adaptiveWindow(g)),
  });
}
