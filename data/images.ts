/**
 * Image decoding front-end: JPEG (npm `jpeg-js`) and PNG (npm `fast-png`) bytes to a CHW float32
 * {@linkcode Image} in [0, 1]. Dimensions are read from the header and bounded before any pixel is
 * decoded; every decoder failure becomes a RangeError naming the problem.
 * @module
 */
import jpeg from "jpeg-js";
import { decode as decodePng } from "fast-png";
import { rangeError } from "../tensor/mod.ts";
import type { Image } from "./transforms.ts";

/** Options of {@linkcode decodeImage}. */
export interface DecodeOptions {
  /** Output channels: 3 (RGB; grey is replicated, alpha dropped), 1 (luma), or "keep". Default 3. */
  channels?: 1 | 3 | "keep";
  /** Largest accepted width x height (default 40 megapixels). */
  maxPixels?: number;
}

/** The image format from the first bytes, or null. */
export function sniffFormat(bytes: Uint8Array): "jpeg" | "png" | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "jpeg";
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length >= 8 && sig.every((v, i) => bytes[i] === v)) return "png";
  return null;
}

/** Width and height from a PNG IHDR or a JPEG SOF segment, without decoding pixels. */
export function imageSize(bytes: Uint8Array): { width: number; height: number } {
  const action = "read image size";
  const fmt = sniffFormat(bytes);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (fmt === "png") {
    if (bytes.length < 24) {
      throw rangeError(action, `PNG ends at byte ${bytes.length}, inside the IHDR chunk`);
    }
    return { width: dv.getUint32(16), height: dv.getUint32(20) };
  }
  if (fmt === "jpeg") {
    let o = 2;
    while (o + 4 <= bytes.length) {
      if (bytes[o] !== 0xff) {
        throw rangeError(action, `JPEG marker expected at byte ${o}, got 0x${bytes[o].toString(16)}`);
      }
      const m = bytes[o + 1];
      if (m === 0xff) {
        o++;
        continue;
      }
      if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
        o += 2;
        continue;
      }
      const len = dv.getUint16(o + 2);
      const isSof = m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
      if (isSof) {
        if (o + 9 > bytes.length) break;
        return { width: dv.getUint16(o + 7), height: dv.getUint16(o + 5) };
      }
      if (len < 2) throw rangeError(action, `JPEG segment at byte ${o} has length ${len}`);
      o += 2 + len;
    }
    throw rangeError(
      action,
      `JPEG has no frame header before byte ${Math.min(o, bytes.length)} (truncated?)`,
    );
  }
  throw rangeError(action, "bytes are neither JPEG nor PNG (unknown signature)");
}

/**
 * Decodes JPEG or PNG bytes.
 *
 * @example
 * ```ts
 * import { decodeImage } from "./images.ts";
 * import { encode } from "fast-png";
 * const png = encode({ width: 1, height: 1, data: new Uint8Array([255, 0, 0]), channels: 3 });
 * console.log(decodeImage(png).data); // [1, 0, 0]
 * ```
 */
export function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): Image {
  const action = "decode image";
  if (!(bytes instanceof Uint8Array)) throw rangeError(action, "input must be a Uint8Array");
  const maxPixels = options.maxPixels ?? 40e6;
  const want = options.channels ?? 3;
  const fmt = sniffFormat(bytes);
  if (!fmt) throw rangeError(action, "bytes are neither JPEG nor PNG (unknown signature)");
  const { width, height } = imageSize(bytes);
  if (width < 1 || height < 1) throw rangeError(action, `${fmt} header gives a ${width}x${height} image`);
  if (width * height > maxPixels) {
    throw rangeError(action, `${width}x${height} = ${width * height} pixels exceeds maxPixels ${maxPixels}`);
  }
  let px: ArrayLike<number>, ch: number, maxVal = 255, w = width, h = height;
  try {
    if (fmt === "jpeg") {
      const r = jpeg.decode(bytes, {
        useTArray: true,
        formatAsRGBA: true,
        maxResolutionInMP: Math.ceil(maxPixels / 1e6),
        maxMemoryUsageInMB: Math.max(64, Math.ceil((maxPixels * 16) / 1e6)),
      });
      px = r.data;
      ch = 4;
      w = r.width;
      h = r.height;
    } else {
      const r = decodePng(bytes);
      if (r.palette) throw new Error("palette PNGs are not supported");
      px = r.data;
      ch = r.channels;
      maxVal = r.depth === 16 ? 65535 : (1 << r.depth) - 1;
      w = r.width;
      h = r.height;
    }
  } catch (e) {
    throw rangeError(
      action,
      `${fmt} data is invalid or truncated (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  const n = w * h;
  if (px.length < n * ch) throw rangeError(action, `${fmt} decoded ${px.length} values for ${w}x${h}x${ch}`);
  const colour = ch >= 3;
  const outC = want === "keep" ? (colour ? 3 : 1) : want;
  const data = new Float32Array(outC * n);
  for (let i = 0; i < n; i++) {
    const r = px[i * ch] / maxVal;
    const g = colour ? px[i * ch + 1] / maxVal : r;
    const b = colour ? px[i * ch + 2] / maxVal : r;
    if (outC === 1) data[i] = colour ? 0.299 * r + 0.587 * g + 0.114 * b : r;
    else {
      data[i] = r;
      data[n + i] = g;
      data[2 * n + i] = b;
    }
  }
  return { data, c: outC, h, w };
}
