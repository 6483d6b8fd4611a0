/**
 * MNIST-style preprocessing of a drawn or dropped digit: grey, white-on-black, the ink's bounding box
 * scaled to fit 20x20 (aspect kept) and placed in a 28x28 frame so its centre of mass is at the centre,
 * as the MNIST digits were prepared.
 * @module
 */
import { type Image, resize } from "../../data/transforms.ts";

/** Luma of a CHW image in [0, 1] as one plane; inverted if the background (border mean) is light. */
export function toInk(img: Image): Float32Array {
  const n = img.h * img.w;
  const g = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    g[i] = img.c >= 3
      ? 0.299 * img.data[i] + 0.587 * img.data[n + i] + 0.114 * img.data[2 * n + i]
      : img.data[i];
  }
  let border = 0, count = 0;
  for (let x = 0; x < img.w; x++) {
    border += g[x] + g[(img.h - 1) * img.w + x];
    count += 2;
  }
  if (border / count > 0.5) { for (let i = 0; i < n; i++) g[i] = 1 - g[i]; }
  return g;
}

/** A 1x28x28 image ready for the digits model, or null when there is no ink. */
export function mnistFrame(img: Image): Image | null {
  const ink = toInk(img);
  const { h, w } = img;
  let top = h, bottom = -1, left = w, right = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (ink[y * w + x] > 0.1) {
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
        left = Math.min(left, x);
        right = Math.max(right, x);
      }
    }
  }
  if (bottom < 0) return null;
  const bh = bottom - top + 1, bw = right - left + 1;
  const box = new Float32Array(bh * bw);
  for (let y = 0; y < bh; y++) for (let x = 0; x < bw; x++) box[y * bw + x] = ink[(top + y) * w + left + x];
  const s = 20 / Math.max(bh, bw);
  const th = Math.max(1, Math.round(bh * s)), tw = Math.max(1, Math.round(bw * s));
  const small = resize({ data: box, c: 1, h: bh, w: bw }, th, tw).data;
  let mass = 0, cy = 0, cx = 0;
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      const v = small[y * tw + x];
      mass += v;
      cy += v * y;
      cx += v * x;
    }
  }
  const oy = Math.round(14 - cy / mass), ox = Math.round(14 - cx / mass);
  const out = new Float32Array(28 * 28);
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      const yy = y + oy, xx = x + ox;
      if (yy >= 0 && yy < 28 && xx >= 0 && xx < 28) {
        out[yy * 28 + xx] = Math.min(1, Math.max(0, small[y * tw + x]));
      }
    }
  }
  return { data: out, c: 1, h: 28, w: 28 };
}
