/**
 * Shared by the dev timing tools: the geometry of a 3x3 stride-1 "same" convolution.
 * @module
 */
import type { Conv2dGeometry } from "../../runtime/kernels/mod.ts";

/** n images [cIn, hw, hw] into cOut channels, 3x3, stride 1, padding 1. */
export function same3x3(n: number, cIn: number, hw: number, cOut: number): Conv2dGeometry {
  const one = { kh: 3, kw: 3, strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, groups: 1 };
  const pad = { padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 };
  return { n, cIn, h: hw, w: hw, cOut, ...one, ...pad, outH: hw, outW: hw };
}
