/**
 * Direct (definition) convolution in float64 on plain arrays, forward and both backwards: the
 * independent reference the conv launchers are tested against.
 * @module
 */

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
