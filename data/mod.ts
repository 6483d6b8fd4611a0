/**
 * Data: datasets, batching, the embedded digits.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * const ds = new cnn.data.ArrayDataset(new Float32Array(4), new Int32Array([0]), [1, 2, 2], 1);
 * console.log(ds.length);
 * ```
 * @module
 */
export {
  ArrayDataset,
  type Batch,
  DataLoader,
  type DataLoaderOptions,
  type Dataset,
  type Example,
  MappedDataset,
} from "./dataset.ts";
export { type DigitSplits, loadDigits } from "./mnist.ts";
export { ImageFolder, imageFolder, type ImageFolderOptions } from "./folder.ts";
export * as transforms from "./transforms.ts";
export { type Box, type Image } from "./transforms.ts";
export {
  applyCrop,
  averageProbabilities,
  crops144,
  type CropSpec,
  fiveCropBoxes,
  tenCrop,
} from "./protocols.ts";
export { cifarFromBinary, type Idx, mnistFromIdx, parseIdx } from "./formats.ts";
export { decodeImage, type DecodeOptions, imageSize, sniffFormat } from "./images.ts";
