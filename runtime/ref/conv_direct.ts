/**
 * Reference direct 3x3 convolution kernels: the readable specification of `assembly/conv_direct.ts`
 * (same names and arguments, heap first). Output (oy, ox) of a stride-1 3x3 convolution reads the padded
 * input planes at rows oy..oy+2 and columns ox..ox+2.
 * @module
 */
import type { Heap } from "../heap.ts";

/** Output channels per block of the packed weights. */
const DR = 6;

/**
 * xp [planes, hp, wp] = x [planes, h, w] placed at row offset pt and column offset pl, zeros elsewhere
 * (planes u in [start, end)).
 */
export function direct3x3_pad(
  hp_: Heap,
  x: number,
  xp: number,
  h: number,
  w: number,
  hp: number,
  wp: number,
  pt: number,
  pl: number,
  start: number,
  end: number,
): void {
  const f = hp_.f32;
  for (let u = start; u < end; u++) {
    for (let r = 0; r < hp; r++) {
      for (let c = 0; c < wp; c++) {
        const iy = r - pt, ix = c - pl;
        const inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
        f[(xp >> 2) + (u * hp + r) * wp + c] = inside ? f[(x >> 2) + (u * h + iy) * w + ix] : 0;
      }
    }
  }
}

/** wq [ceil(cOut / 6), cIn, 9, 6] = w [cOut, cIn, 3, 3] by blocks of 6 output channels (zero past cOut). */
export function direct3x3_weights(
  h: Heap,
  w: number,
  wq: number,
  cOut: number,
  cIn: number,
  start: number,
  end: number,
): void {
  const f = h.f32;
  for (let b = start; b < end; b++) {
    for (let c = 0; c < cIn; c++) {
      for (let t = 0; t < 9; t++) {
        for (let o = 0; o < DR; o++) {
          const k = b * DR + o;
          f[(wq >> 2) + ((b * cIn + c) * 9 + t) * DR + o] = k < cOut
            ? f[(w >> 2) + (k * cIn + c) * 9 + t]
            : 0;
        }
      }
    }
  }
}

/**
 * y[img, k, oy, ox] = sum_{c, ky, kx} w[k, c, ky, kx] xp[img, c, oy + ky, ox + kx] (+ bias[k]) (ReLU),
 * for the units u = (img, block of 6 channels, oy) in [start, end), the row fastest.
 */
export function direct3x3_forward(
  h: Heap,
  xp: number,
  wq: number,
  bias: number,
  y: number,
  cIn: number,
  cOut: number,
  outH: number,
  outW: number,
  hp: number,
  wp: number,
  relu: number,
  start: number,
  end: number,
): void {
  const f = h.f32;
  const blocks = Math.ceil(cOut / DR);
  for (let u = start; u < end; u++) {
    const oy = u % outH, b = Math.floor(u / outH) % blocks, img = Math.floor(u / (outH * blocks));
    for (let o = 0; o < DR && b * DR + o < cOut; o++) {
      const k = b * DR + o;
      for (let ox = 0; ox < outW; ox++) {
        let s = 0;
        for (let c = 0; c < cIn; c++) {
          for (let t = 0; t < 9; t++) {
            const ky = Math.floor(t / 3), kx = t % 3;
            s += f[(wq >> 2) + ((b * cIn + c) * 9 + t) * DR + o] *
              f[(xp >> 2) + ((img * cIn + c) * hp + oy + ky) * wp + ox + kx];
          }
        }
        if (bias) s += f[(bias >> 2) + k];
        if (relu) s = Math.max(s, 0);
        f[(y >> 2) + ((img * cOut + k) * outH + oy) * outW + ox] = s;
      }
    }
  }
}

/**
 * Weight gradient partial sums for the units u = (block of 4 output channels ob, input channel c, kernel
 * row ky) in [start, end) (ky fastest): acc[u, o * 3 + kx, lane] accumulates, over images [0, n) and the
 * outputs (oy, ox) with ox % 4 = lane, dy[img, 4 ob + o, oy, ox] xp[img, c, oy + ky, ox + kx] (zeroed
 * first when `first`); when `last`, dw[4 ob + o, c, ky, kx] (+)= the sum of the lanes for 4 ob + o < cOut.
 */
export function direct3x3_wgrad(
  h: Heap,
  dy: number,
  xp: number,
  acc: number,
  dw: number,
  n: number,
  cIn: number,
  cOut: number,
  outH: number,
  outW: number,
  hp: number,
  wp: number,
  first: number,
  last: number,
  accumulate: number,
  start: number,
  end: number,
): void {
  const f = h.f32;
  for (let u = start; u < end; u++) {
    const ky = u % 3, c = Math.floor(u / 3) % cIn, ob = Math.floor(u / (3 * cIn));
    for (let o = 0; o < 4; o++) {
      // Channels past cOut repeat the last one, as the kernel does (never written to dw).
      const k = Math.min(ob * 4 + o, cOut - 1);
      for (let kx = 0; kx < 3; kx++) {
        for (let lane = 0; lane < 4; lane++) {
          const a = (acc >> 2) + u * 48 + (o * 3 + kx) * 4 + lane;
          let s = first ? 0 : f[a];
          for (let img = 0; img < n; img++) {
            for (let oy = 0; oy < outH; oy++) {
              for (let ox = lane; ox < outW; ox += 4) {
                s += f[(dy >> 2) + ((img * cOut + k) * outH + oy) * outW + ox] *
                  f[(xp >> 2) + ((img * cIn + c) * hp + oy + ky) * wp + ox + kx];
              }
            }
          }
          f[a] = s;
        }
      }
    }
    if (!last) continue;
    for (let o = 0; o < 4 && ob * 4 + o < cOut; o++) {
      const k = ob * 4 + o;
      for (let kx = 0; kx < 3; kx++) {
        const a = (acc >> 2) + u * 48 + (o * 3 + kx) * 4;
        const s = f[a] + f[a + 1] + f[a + 2] + f[a + 3];
        const d = (dw >> 2) + ((k * cIn + c) * 3 + ky) * 3 + kx;
        f[d] = accumulate ? f[d] + s : s;
      }
    }
  }
}
