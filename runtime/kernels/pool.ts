/**
 * Launchers of the pooling kernels (units: the n * c planes).
 * @module
 */
import type { Runtime } from "../runtime.ts";

/** Pooling geometry (padBottom/padRight may exceed padTop/padLeft in ceil mode; kernels clip). */
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
export type AvgPoolOptions = { countIncludePad: boolean; divisorOverride?: number };
/** Adaptive pooling geometry. */
export type AdaptiveGeometry = { n: number; c: number; h: number; w: number; outH: number; outW: number };

const planes = (g: { n: number; c: number }) => g.n * g.c;

/** Max pooling; `indices` (int32, same shape as y) receives the argmax within each plane. */
export function maxPool2dForward(
  rt: Runtime,
  g: Pool2dGeometry,
  b: { x: number; y: number; indices: number },
): Promise<void> {
  return rt.exec("max_pool2d_forward", [
    b.x,
    b.y,
    b.indices,
    g.h,
    g.w,
    g.kh,
    g.kw,
    g.strideH,
    g.strideW,
    g.padTop,
    g.padLeft,
    g.dilationH,
    g.dilationW,
    g.outH,
    g.outW,
  ], { units: planes(g), cost: planes(g) * g.outH * g.outW * g.kh * g.kw });
}

/** Max pooling backward: dx (overwritten) gets dy at the argmax positions. */
export function maxPool2dBackward(
  rt: Runtime,
  g: Pool2dGeometry,
  b: { dy: number; indices: number; dx: number },
): Promise<void> {
  return rt.exec("max_pool2d_backward", [b.dy, b.indices, b.dx, g.h * g.w, g.outH * g.outW], {
    units: planes(g),
    cost: planes(g) * g.h * g.w,
  });
}

function avgArgs(g: Pool2dGeometry, o: AvgPoolOptions): number[] {
  return [
    g.h,
    g.w,
    g.kh,
    g.kw,
    g.strideH,
    g.strideW,
    g.padTop,
    g.padLeft,
    g.outH,
    g.outW,
    o.countIncludePad ? 1 : 0,
    o.divisorOverride ?? 0,
  ];
}

/** Average pooling. */
export function avgPool2dForward(
  rt: Runtime,
  g: Pool2dGeometry,
  b: { x: number; y: number },
  o: AvgPoolOptions,
): Promise<void> {
  return rt.exec("avg_pool2d_forward", [b.x, b.y, ...avgArgs(g, o)], {
    units: planes(g),
    cost: planes(g) * g.outH * g.outW * g.kh * g.kw,
  });
}

/** Average pooling backward (dx overwritten). */
export function avgPool2dBackward(
  rt: Runtime,
  g: Pool2dGeometry,
  b: { dy: number; dx: number },
  o: AvgPoolOptions,
): Promise<void> {
  return rt.exec("avg_pool2d_backward", [b.dy, b.dx, ...avgArgs(g, o)], {
    units: planes(g),
    cost: planes(g) * g.outH * g.outW * g.kh * g.kw,
  });
}

/** Adaptive average pooling ([1, 1] = global average pooling). */
export function adaptiveAvgPool2dForward(
  rt: Runtime,
  g: AdaptiveGeometry,
  b: { x: number; y: number },
): Promise<void> {
  return rt.exec("adaptive_avg_pool2d_forward", [b.x, b.y, g.h, g.w, g.outH, g.outW], {
    units: planes(g),
    cost: planes(g) * g.h * g.w,
  });
}

/** Adaptive average pooling backward (dx overwritten). */
export function adaptiveAvgPool2dBackward(
  rt: Runtime,
  g: AdaptiveGeometry,
  b: { dy: number; dx: number },
): Promise<void> {
  return rt.exec("adaptive_avg_pool2d_backward", [b.dy, b.dx, g.h, g.w, g.outH, g.outW], {
    units: planes(g),
    cost: planes(g) * g.h * g.w,
  });
}
