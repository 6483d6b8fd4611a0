/**
 * Parsers of the classic data set files, from bytes (no file system here): MNIST IDX image/label files
 * and CIFAR-10/100 binary batches. Pixels become float32 in [0, 1]; errors name the byte offset.
 * @module
 */
import { rangeError } from "../tensor/mod.ts";
import { ArrayDataset } from "./dataset.ts";

/** A parsed IDX file: its dimensions and unsigned-byte data. */
export interface Idx {
  dims: number[];
  data: Uint8Array;
}

/**
 * Parses an IDX file of unsigned bytes (type 0x08), e.g. MNIST's train-images-idx3-ubyte.
 *
 * @example
 * ```ts
 * import { parseIdx } from "./formats.ts";
 * const bytes = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 7, 9]);
 * console.log(parseIdx(bytes).dims); // [2]
 * ```
 */
export function parseIdx(bytes: Uint8Array): Idx {
  const action = "read IDX file";
  if (bytes.length < 4) {
    throw rangeError(action, `file has ${bytes.length} bytes, less than the 4-byte magic`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw rangeError(action, `magic bytes 0-1 must be 0, got ${bytes[0]}, ${bytes[1]}`);
  }
  if (bytes[2] !== 0x08) {
    throw rangeError(
      action,
      `data type at byte 2 is 0x${bytes[2].toString(16)}, only 0x08 (ubyte) is supported`,
    );
  }
  const rank = bytes[3];
  if (rank < 1 || rank > 4) throw rangeError(action, `rank at byte 3 is ${rank}, expected 1..4`);
  const head = 4 + 4 * rank;
  if (bytes.length < head) {
    throw rangeError(action, `file ends at byte ${bytes.length} inside the ${head}-byte header`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(dv.getUint32(4 + 4 * i, false));
  const size = dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== head + size) {
    throw rangeError(
      action,
      `dims [${dims.join(", ")}] need ${head + size} bytes, the file has ${bytes.length}`,
    );
  }
  return { dims, data: bytes.subarray(head) };
}

/** MNIST from its IDX image (N x 28 x 28) and label (N) files. */
export function mnistFromIdx(images: Uint8Array, labels: Uint8Array): ArrayDataset {
  const im = parseIdx(images), lb = parseIdx(labels);
  if (im.dims.length !== 3) {
    throw rangeError("read MNIST", `images must be N x H x W, got [${im.dims.join(", ")}]`);
  }
  if (lb.dims.length !== 1 || lb.dims[0] !== im.dims[0]) {
    throw rangeError("read MNIST", `${lb.dims[0]} labels for ${im.dims[0]} images`);
  }
  const x = new Float32Array(im.data.length);
  for (let i = 0; i < x.length; i++) x[i] = im.data[i] / 255;
  return new ArrayDataset(x, Int32Array.from(lb.data), [1, im.dims[1], im.dims[2]], 10);
}

/**
 * A CIFAR binary batch: records of 1 label byte (CIFAR-10) or 2 (CIFAR-100: coarse, fine) then 3072
 * pixel bytes (R, G, B planes of 32x32). CIFAR-100 uses the fine label unless `coarse` is set.
 */
export function cifarFromBinary(
  bytes: Uint8Array,
  kind: "cifar10" | "cifar100",
  coarse = false,
): ArrayDataset {
  const lab = kind === "cifar10" ? 1 : 2;
  const rec = lab + 3072;
  if (bytes.length === 0 || bytes.length % rec !== 0) {
    throw rangeError(
      "read CIFAR batch",
      `${bytes.length} bytes is not a whole number of ${rec}-byte ${kind} records`,
    );
  }
  const n = bytes.length / rec;
  const x = new Float32Array(n * 3072), y = new Int32Array(n);
  const classes = kind === "cifar10" ? 10 : coarse ? 20 : 100;
  for (let i = 0; i < n; i++) {
    const o = i * rec;
    const label = kind === "cifar10" ? bytes[o] : bytes[o + (coarse ? 0 : 1)];
    if (label >= classes) {
      throw rangeError("read CIFAR batch", `label ${label} at byte ${o} is not below ${classes}`);
    }
    y[i] = label;
    for (let k = 0; k < 3072; k++) x[i * 3072 + k] = bytes[o + lab + k] / 255;
  }
  return new ArrayDataset(x, y, [3, 32, 32], classes);
}
