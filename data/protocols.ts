/**
 * Test-time crop protocols as pure functions of the image size: AlexNet/torchvision 10-crop, GoogLeNet's
 * 144 crops, and applying a crop list to an image. Averaging the softmax over crops (and over models, for
 * ensembles) is {@linkcode averageProbabilities}.
 * @module
 */
import { rangeError } from "../tensor/mod.ts";
import {
  type Box,
  centerCropBox,
  crop,
  hflip,
  type Image,
  resize,
  resizeShorter,
  shorterSideSize,
} from "./transforms.ts";

/** One test crop: optional shorter-side resize to `scale`, then a `region` of that, then the final crop. */
export interface CropSpec {
  /** Resize the shorter side to this first (none: use the image as is). */
  scale?: number;
  /** A region of the (resized) image the crop is taken from (none: the whole image). */
  region?: Box;
  /** The crop inside the region, or "resize" to resize the whole region to `size` x `size`. */
  box: Box | "resize";
  /** Output side for "resize". */
  size?: number;
  /** Mirror the region first (torchvision TenCrop flips the image, then takes the same five boxes). */
  flip: boolean;
}

/** torchvision five_crop boxes on an h x w image: tl, tr, bl, br, centre. */
export function fiveCropBoxes(h: number, w: number, size: number): Box[] {
  if (!(Number.isInteger(size) && size >= 1 && size <= h && size <= w)) {
    throw rangeError("make five crops", `crop ${size} does not fit in ${h}x${w}`);
  }
  return [
    { top: 0, left: 0, h: size, w: size },
    { top: 0, left: w - size, h: size, w: size },
    { top: h - size, left: 0, h: size, w: size },
    { top: h - size, left: w - size, h: size, w: size },
    centerCropBox(h, w, size),
  ];
}

/**
 * torchvision TenCrop order: the five crops of the image, then the same five boxes of its mirror.
 *
 * @example
 * ```ts
 * import { tenCrop } from "./protocols.ts";
 * console.log(tenCrop(256, 256, 224).length); // 10
 * ```
 */
export function tenCrop(h: number, w: number, size = 224): CropSpec[] {
  const boxes = fiveCropBoxes(h, w, size);
  return [...boxes.map((box) => ({ box, flip: false })), ...boxes.map((box) => ({ box, flip: true }))];
}

/**
 * GoogLeNet's 144 crops: shorter side Q in `scales`; the left, centre and right squares (top, centre,
 * bottom for portrait images); from each, 4 corners + centre at `size` plus the whole square resized to
 * `size`; each also mirrored: 4 x 3 x 6 x 2 = 144.
 */
export function crops144(
  h: number,
  w: number,
  scales: readonly number[] = [256, 288, 320, 352],
  size = 224,
): CropSpec[] {
  const out: CropSpec[] = [];
  for (const q of scales) {
    const [rh, rw] = shorterSideSize(h, w, q);
    const side = Math.min(rh, rw);
    const squares: Box[] = rw >= rh
      ? [0, Math.floor((rw - side) / 2), rw - side].map((left) => ({ top: 0, left, h: side, w: side }))
      : [0, Math.floor((rh - side) / 2), rh - side].map((top) => ({ top, left: 0, h: side, w: side }));
    for (const region of squares) {
      const boxes: (Box | "resize")[] = [...fiveCropBoxes(side, side, size), "resize"];
      for (const box of boxes) {
        for (const flip of [false, true]) out.push({ scale: q, region, box, size, flip });
      }
    }
  }
  return out;
}

/** Applies one {@linkcode CropSpec} to an image. */
export function applyCrop(img: Image, spec: CropSpec): Image {
  let x = spec.scale === undefined ? img : resizeShorter(img, spec.scale);
  if (spec.region) x = crop(x, spec.region);
  if (spec.flip) x = hflip(x);
  if (spec.box === "resize") {
    const s = spec.size ?? 224;
    return resize(x, s, s);
  }
  return crop(x, spec.box);
}

/** Averages probability rows element-wise (crops of one image, or models of an ensemble). */
export function averageProbabilities(probs: readonly Float32Array[]): Float32Array {
  if (probs.length === 0) throw rangeError("average probabilities", "needs at least one row");
  const n = probs[0].length;
  const out = new Float32Array(n);
  for (const p of probs) {
    if (p.length !== n) throw rangeError("average probabilities", `rows have lengths ${n} and ${p.length}`);
    for (let i = 0; i < n; i++) out[i] += p[i] / probs.length;
  }
  return out;
}
