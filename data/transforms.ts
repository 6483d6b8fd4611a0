/**
 * Image transforms on CHW float32 images, with torchvision's conventions where torchvision has the same
 * transform (bilinear resize with align_corners=False and no antialiasing, Python's round-half-even in
 * centre crops, RandomResizedCrop's 10 attempts and fallback), plus AlexNet's PCA colour augmentation and
 * VGG scale jitter. Random transforms take the seeded {@linkcode Generator}.
 * @module
 */
import { defaultGenerator, type Generator, rangeError } from "../tensor/mod.ts";

/** A CHW float32 image. */
export interface Image {
  /** c x h x w values, channel planes one after another. */
  data: Float32Array;
  /** Channels. */
  c: number;
  /** Height. */
  h: number;
  /** Width. */
  w: number;
}

/** A crop box in pixels: rows [top, top + h), columns [left, left + w). */
export interface Box {
  /** First row. */
  top: number;
  /** First column. */
  left: number;
  /** Rows. */
  h: number;
  /** Columns. */
  w: number;
}

function checkImage(action: string, img: Image): void {
  const { c, h, w, data } = img;
  for (const [k, v] of [["c", c], ["h", h], ["w", w]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw rangeError(action, `image ${k} must be an integer >= 1, got ${v}`);
    }
  }
  if (data.length !== c * h * w) {
    throw rangeError(action, `image has ${data.length} values, expected ${c}x${h}x${w} = ${c * h * w}`);
  }
}

function checkSize(action: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw rangeError(action, `${name} must be an integer >= 1, got ${v}`);
}

/** Python's round(): halves go to the even neighbour (torchvision's centre crop uses it). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Crops `box` out of `img`; parts of the box outside the image are zero (as a padded crop).
 *
 * @example
 * ```ts
 * import { crop } from "./transforms.ts";
 * const img = { data: new Float32Array([1, 2, 3, 4]), c: 1, h: 2, w: 2 };
 * console.log(crop(img, { top: 1, left: 0, h: 1, w: 2 }).data); // [3, 4]
 * ```
 */
export function crop(img: Image, box: Box): Image {
  checkImage("crop image", img);
  checkSize("crop image", "box height", box.h);
  checkSize("crop image", "box width", box.w);
  if (!Number.isInteger(box.top) || !Number.isInteger(box.left)) {
    throw rangeError("crop image", `box top/left must be integers, got ${box.top}, ${box.left}`);
  }
  const { c, h, w, data } = img;
  const out = new Float32Array(c * box.h * box.w);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < box.h; y++) {
      const sy = y + box.top;
      if (sy < 0 || sy >= h) continue;
      for (let x = 0; x < box.w; x++) {
        const sx = x + box.left;
        if (sx >= 0 && sx < w) out[(ch * box.h + y) * box.w + x] = data[(ch * h + sy) * w + sx];
      }
    }
  }
  return { data: out, c, h: box.h, w: box.w };
}

/** Mirrors an image left-right (an exact involution). */
export function hflip(img: Image): Image {
  checkImage("flip image", img);
  const { c, h, w, data } = img;
  const out = new Float32Array(data.length);
  for (let r = 0; r < c * h; r++) {
    for (let x = 0; x < w; x++) out[r * w + x] = data[r * w + w - 1 - x];
  }
  return { data: out, c, h, w };
}

/**
 * Bilinear resize to [outH, outW] as torch's `interpolate(mode="bilinear", align_corners=False)` without
 * antialiasing (torchvision 0.14's default for tensors).
 */
export function resize(img: Image, outH: number, outW: number): Image {
  checkImage("resize image", img);
  checkSize("resize image", "output height", outH);
  checkSize("resize image", "output width", outW);
  const { c, h, w, data } = img;
  const out = new Float32Array(c * outH * outW);
  const axis = (o: number, inSize: number, outSize: number) => {
    const scale = inSize / outSize;
    let s = (o + 0.5) * scale - 0.5;
    if (s < 0) s = 0;
    const i0 = Math.min(Math.floor(s), inSize - 1);
    const i1 = Math.min(i0 + 1, inSize - 1);
    const l = s - i0;
    return [i0, i1, l] as const;
  };
  const ys = Array.from({ length: outH }, (_, y) => axis(y, h, outH));
  const xs = Array.from({ length: outW }, (_, x) => axis(x, w, outW));
  for (let ch = 0; ch < c; ch++) {
    const base = ch * h * w;
    for (let y = 0; y < outH; y++) {
      const [y0, y1, ly] = ys[y];
      for (let x = 0; x < outW; x++) {
        const [x0, x1, lx] = xs[x];
        const top = (1 - lx) * data[base + y0 * w + x0] + lx * data[base + y0 * w + x1];
        const bot = (1 - lx) * data[base + y1 * w + x0] + lx * data[base + y1 * w + x1];
        out[(ch * outH + y) * outW + x] = (1 - ly) * top + ly * bot;
      }
    }
  }
  return { data: out, c, h: outH, w: outW };
}

/** The size torchvision's `Resize(size)` gives: shorter side `size`, longer side scaled and truncated. */
export function shorterSideSize(h: number, w: number, size: number): [number, number] {
  checkSize("resize image", "size", size);
  return h <= w ? [size, Math.trunc((size * w) / h)] : [Math.trunc((size * h) / w), size];
}

/** Resizes so the shorter side is `size` (torchvision `Resize(int)`). */
export function resizeShorter(img: Image, size: number): Image {
  const [oh, ow] = shorterSideSize(img.h, img.w, size);
  return resize(img, oh, ow);
}

/** torchvision's centre-crop box: top = round((h - th) / 2), left = round((w - tw) / 2), half to even. */
export function centerCropBox(h: number, w: number, th: number, tw = th): Box {
  return { top: roundHalfEven((h - th) / 2), left: roundHalfEven((w - tw) / 2), h: th, w: tw };
}

/** Centre crop (zero padding where the crop is larger than the image, as torchvision pads). */
export function centerCrop(img: Image, th: number, tw = th): Image {
  if (th > img.h || tw > img.w) {
    // torchvision pads symmetrically first, then crops the centre.
    const padT = Math.floor((th - Math.min(th, img.h)) / 2),
      padL = Math.floor((tw - Math.min(tw, img.w)) / 2);
    const ph = Math.max(th, img.h), pw = Math.max(tw, img.w);
    const b = centerCropBox(ph, pw, th, tw);
    return crop(img, { top: b.top - padT, left: b.left - padL, h: th, w: tw });
  }
  return crop(img, centerCropBox(img.h, img.w, th, tw));
}

/**
 * Per-channel `(x - mean) / std`.
 *
 * @example
 * ```ts
 * import { normalize } from "./transforms.ts";
 * const img = { data: new Float32Array([0.5, 1]), c: 2, h: 1, w: 1 };
 * console.log(normalize(img, [0.5, 0.5], [0.5, 0.25]).data); // [0, 2]
 * ```
 */
export function normalize(img: Image, mean: readonly number[], std: readonly number[]): Image {
  checkImage("normalize image", img);
  if (mean.length !== img.c || std.length !== img.c) {
    throw rangeError(
      "normalize image",
      `mean/std have ${mean.length}/${std.length} values for ${img.c} channels`,
    );
  }
  for (const s of std) if (!(s > 0)) throw rangeError("normalize image", `std values must be > 0, got ${s}`);
  const n = img.h * img.w;
  const out = new Float32Array(img.data.length);
  for (let ch = 0; ch < img.c; ch++) {
    for (let i = 0; i < n; i++) out[ch * n + i] = (img.data[ch * n + i] - mean[ch]) / std[ch];
  }
  return { ...img, data: out };
}

/** Random `size` crop after zero-padding each side by `padding` (the CIFAR recipe: 4-px pad, 32 crop). */
export function randomCrop(img: Image, size: number, padding = 0, g: Generator = defaultGenerator): Image {
  checkImage("random-crop image", img);
  checkSize("random-crop image", "size", size);
  const ph = img.h + 2 * padding, pw = img.w + 2 * padding;
  if (size > ph || size > pw) {
    throw rangeError("random-crop image", `crop ${size} is larger than the padded image ${ph}x${pw}`);
  }
  const top = g.int(ph - size + 1) - padding, left = g.int(pw - size + 1) - padding;
  return crop(img, { top, left, h: size, w: size });
}

/** Flips with probability `p`. */
export function randomHflip(img: Image, p = 0.5, g: Generator = defaultGenerator): Image {
  return g.uniform() < p ? hflip(img) : img;
}

/**
 * torchvision `RandomResizedCrop.get_params`: up to 10 draws of area fraction U(scale) and log-uniform
 * aspect ratio; a box that fits is placed uniformly; otherwise the centre fallback clamps the ratio.
 */
export function randomResizedCropBox(
  h: number,
  w: number,
  g: Generator = defaultGenerator,
  scale: readonly [number, number] = [0.08, 1],
  ratio: readonly [number, number] = [3 / 4, 4 / 3],
): Box {
  checkSize("sample crop box", "height", h);
  checkSize("sample crop box", "width", w);
  if (!(scale[0] > 0 && scale[0] <= scale[1] && ratio[0] > 0 && ratio[0] <= ratio[1])) {
    throw rangeError(
      "sample crop box",
      `scale ${scale} and ratio ${ratio} must be increasing positive ranges`,
    );
  }
  const area = h * w;
  const lr0 = Math.log(ratio[0]), lr1 = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * g.uniform(scale[0], scale[1]);
    const aspect = Math.exp(g.uniform(lr0, lr1));
    const cw = roundHalfEven(Math.sqrt(target * aspect));
    const ch = roundHalfEven(Math.sqrt(target / aspect));
    if (cw > 0 && cw <= w && ch > 0 && ch <= h) {
      return { top: g.int(h - ch + 1), left: g.int(w - cw + 1), h: ch, w: cw };
    }
  }
  const inRatio = w / h;
  let cw = w, ch = h;
  if (inRatio < ratio[0]) ch = roundHalfEven(w / ratio[0]);
  else if (inRatio > ratio[1]) cw = roundHalfEven(h * ratio[1]);
  return { top: Math.floor((h - ch) / 2), left: Math.floor((w - cw) / 2), h: ch, w: cw };
}

/** Inception-style crop: a {@linkcode randomResizedCropBox} resized to `size` x `size`. */
export function randomResizedCrop(img: Image, size: number, g: Generator = defaultGenerator): Image {
  const b = randomResizedCropBox(img.h, img.w, g);
  return resize(crop(img, b), size, size);
}

/** VGG scale jitter: shorter side to S ~ U{sMin..sMax}, then a random `size` crop. */
export function scaleJitter(
  img: Image,
  g: Generator = defaultGenerator,
  sMin = 256,
  sMax = 512,
  size = 224,
): Image {
  if (!(Number.isInteger(sMin) && Number.isInteger(sMax) && size <= sMin && sMin <= sMax)) {
    throw rangeError("scale-jitter image", `need integers size ${size} <= sMin ${sMin} <= sMax ${sMax}`);
  }
  const s = sMin + g.int(sMax - sMin + 1);
  return randomCrop(resizeShorter(img, s), size, 0, g);
}

/** Eigen-decomposition of the RGB covariance: `eigval` descending, `eigvec` columns are eigenvectors. */
export interface ColorPca {
  /** Eigenvalues, largest first. */
  eigval: [number, number, number];
  /** Row-major 3x3; column i is the eigenvector of eigval[i]. */
  eigvec: number[];
}

/** The ImageNet constants of fb.resnet.torch (RGB in [0, 1]). */
export const IMAGENET_PCA: ColorPca = {
  eigval: [0.2175, 0.0188, 0.0045],
  eigvec: [-0.5675, 0.7192, 0.4009, -0.5808, -0.0045, -0.814, -0.5836, -0.6948, 0.4203],
};

/** Computes the {@linkcode ColorPca} of the pixels of 3-channel images (Jacobi eigenvalue iteration). */
export function colorPca(images: Iterable<Image>): ColorPca {
  const s = new Float64Array(3), ss = new Float64Array(9);
  let n = 0;
  for (const img of images) {
    checkImage("compute colour PCA", img);
    if (img.c !== 3) throw rangeError("compute colour PCA", `images must have 3 channels, got ${img.c}`);
    const p = img.h * img.w;
    for (let i = 0; i < p; i++) {
      const v = [img.data[i], img.data[p + i], img.data[2 * p + i]];
      for (let a = 0; a < 3; a++) {
        s[a] += v[a];
        for (let b = 0; b < 3; b++) ss[a * 3 + b] += v[a] * v[b];
      }
    }
    n += p;
  }
  if (n < 2) throw rangeError("compute colour PCA", "needs at least 2 pixels");
  const cov = Array.from({ length: 9 }, (_, k) => (ss[k] - (s[Math.floor(k / 3)] * s[k % 3]) / n) / (n - 1));
  const { values, vectors } = jacobi3(cov);
  const order = [0, 1, 2].sort((a, b) => values[b] - values[a]);
  return {
    eigval: order.map((i) => values[i]) as [number, number, number],
    eigvec: [0, 1, 2].flatMap((r) => order.map((i) => vectors[r * 3 + i])),
  };
}

function jacobi3(m: number[]): { values: number[]; vectors: number[] } {
  const a = m.slice(), v = [1, 0, 0, 0, 1, 0, 0, 0, 1];
  for (let sweep = 0; sweep < 50; sweep++) {
    const off = a[1] ** 2 + a[2] ** 2 + a[5] ** 2;
    if (off < 1e-30) break;
    for (const [p, q] of [[0, 1], [0, 2], [1, 2]]) {
      const apq = a[p * 3 + q];
      if (Math.abs(apq) < 1e-300) continue;
      const theta = (a[q * 3 + q] - a[p * 3 + p]) / (2 * apq);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1), s = t * c;
      for (let k = 0; k < 3; k++) {
        const akp = a[k * 3 + p], akq = a[k * 3 + q];
        a[k * 3 + p] = c * akp - s * akq;
        a[k * 3 + q] = s * akp + c * akq;
      }
      for (let k = 0; k < 3; k++) {
        const apk = a[p * 3 + k], aqk = a[q * 3 + k];
        a[p * 3 + k] = c * apk - s * aqk;
        a[q * 3 + k] = s * apk + c * aqk;
      }
      for (let k = 0; k < 3; k++) {
        const vkp = v[k * 3 + p], vkq = v[k * 3 + q];
        v[k * 3 + p] = c * vkp - s * vkq;
        v[k * 3 + q] = s * vkp + c * vkq;
      }
    }
  }
  return { values: [a[0], a[4], a[8]], vectors: v };
}

/** The PCA colour offset for draws `alpha`: eigvec · (alpha ⊙ eigval), one value per channel. */
export function pcaOffset(pca: ColorPca, alpha: readonly number[]): [number, number, number] {
  const t = [0, 1, 2].map((i) => alpha[i] * pca.eigval[i]);
  return [0, 1, 2].map((r) =>
    pca.eigvec[r * 3] * t[0] + pca.eigvec[r * 3 + 1] * t[1] + pca.eigvec[r * 3 + 2] * t[2]
  ) as [
    number,
    number,
    number,
  ];
}

/** AlexNet's "fancy PCA": adds one RGB offset with alpha_i ~ N(0, std) (0.1) drawn per image. */
export function pcaLighting(
  img: Image,
  pca: ColorPca = IMAGENET_PCA,
  std = 0.1,
  g: Generator = defaultGenerator,
): Image {
  checkImage("apply PCA lighting", img);
  if (img.c !== 3) throw rangeError("apply PCA lighting", `image must have 3 channels, got ${img.c}`);
  const off = pcaOffset(pca, [g.normal(0, std), g.normal(0, std), g.normal(0, std)]);
  const p = img.h * img.w, out = new Float32Array(img.data.length);
  for (let ch = 0; ch < 3; ch++) for (let i = 0; i < p; i++) out[ch * p + i] = img.data[ch * p + i] + off[ch];
  return { ...img, data: out };
}
