/**
 * Direct (definition) convolution in float64 on plain arrays, forward and both backwards: the
 * independent reference the conv launchers are tested against.
 * @module
 */

import { int } from "./rng.ts";

/** Geometry as the conv launchers take it. */
export interface ConvGeom {
  n: number;
  cIn: number;
  h: number;
  w: number;
  cOut: number;
  kh: number;
  kw: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
  dilationH: number;
  dilationW: number;
  groups: number;
  outH: number;
  outW: number;
}

/** Fills outH/outW from the rest. */
export function geom(g: Omit<ConvGeom, "outH" | "outW">): ConvGeom {
  const outH = Math.floor((g.h + g.padTop + g.padBottom - g.dilationH * (g.kh - 1) - 1) / g.strideH) + 1;
  const outW = Math.floor((g.w + g.padLeft + g.padRight - g.dilationW * (g.kw - 1) - 1) / g.strideW) + 1;
  return { ...g, outH, outW };
}

/** Stride 1, dilation 1, one group: the 3x3 kernels' (Winograd, direct) geometry apart from sizes and padding. */
const UNIT = { kh: 3, kw: 3, strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, groups: 1 };

/** A 3x3 stride-1 convolution without padding ("valid") of n images [cIn, h, w] into cOut channels. */
export function valid3x3(n: number, cIn: number, h: number, w: number, cOut: number): ConvGeom {
  return geom({ n, cIn, h, w, cOut, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0, ...UNIT });
}

/** A 3x3 stride-1 "same" convolution of n images [cIn, h, w] into cOut channels. */
export function same3x3(n: number, cIn: number, h: number, w: number, cOut: number): ConvGeom {
  return geom({ n, cIn, h, w, cOut, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, ...UNIT });
}

/**
 * A random 3x3 stride-1 convolution: 1-3 images, 1-`maxC` channels each way, sizes 1-`maxH` x 1-`maxW`,
 * asymmetric padding 0-2, a non-empty output (whose width is a multiple of 4 with `outWMultipleOf4`).
 */
export function random3x3(
  r: () => number,
  o: { maxC: number; maxH: number; maxW?: number; outWMultipleOf4?: boolean },
): ConvGeom {
  for (;;) {
    const g = geom({
      n: int(r, 1, 3),
      cIn: int(r, 1, o.maxC),
      h: int(r, 1, o.maxH),
      w: int(r, 1, o.maxW ?? o.maxH),
      cOut: int(r, 1, o.maxC),
      padTop: int(r, 0, 2),
      padBottom: int(r, 0, 2),
      padLeft: int(r, 0, 2),
      padRight: int(r, 0, 2),
      ...UNIT,
    });
    if (g.outH >= 1 && g.outW >= 1 && (!o.outWMultipleOf4 || g.outW % 4 === 0)) return g;
  }
}

function each(g: ConvGeom, f: (yi: number, xi: number, wi: number, co: number) => void): void {
  const cig = g.cIn / g.groups, cog = g.cOut / g.groups;
  for (let i = 0; i < g.n; i++) {
    for (let co = 0; co < g.cOut; co++) {
      const gr = Math.floor(co / cog);
      for (let oh = 0; oh < g.outH; oh++) {
        for (let ow = 0; ow < g.outW; ow++) {
          const yi = ((i * g.cOut + co) * g.outH + oh) * g.outW + ow;
          for (let c = 0; c < cig; c++) {
            for (let ki = 0; ki < g.kh; ki++) {
              const ih = oh * g.strideH - g.padTop + ki * g.dilationH;
              if (ih < 0 || ih >= g.h) continue;
              for (let kj = 0; kj < g.kw; kj++) {
                const iw = ow * g.strideW - g.padLeft + kj * g.dilationW;
                if (iw < 0 || iw >= g.w) continue;
                const xi = ((i * g.cIn + gr * cig + c) * g.h + ih) * g.w + iw;
                const wi = ((co * cig + c) * g.kh + ki) * g.kw + kj;
                f(yi, xi, wi, co);
              }
            }
          }
        }
      }
    }
  }
}

/** y = conv(x, w) + bias. */
export function convForward(
  g: ConvGeom,
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  bias?: ArrayLike<number>,
): Float64Array {
  const y = new Float64Array(g.n * g.cOut * g.outH * g.outW);
  each(g, (yi, xi, wi) => y[yi] += x[xi] * w[wi]);
  if (bias) {
    const hw = g.outH * g.outW;
    for (let k = 0; k < y.length; k++) y[k] += bias[Math.floor(k / hw) % g.cOut];
  }
  return y;
}

/** dx, dw, dbias for upstream gradient dy. */
export function convBackward(
  g: ConvGeom,
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  dy: ArrayLike<number>,
): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const dx = new Float64Array(x.length), dw = new Float64Array(w.length), db = new Float64Array(g.cOut);
  each(g, (yi, xi, wi) => {
    dx[xi] += dy[yi] * w[wi];
    dw[wi] += dy[yi] * x[xi];
  });
  const hw = g.outH * g.outW;
  for (let k = 0; k < dy.length; k++) db[Math.floor(k / hw) % g.cOut] += dy[k];
  return { dx, dw, db };
}
