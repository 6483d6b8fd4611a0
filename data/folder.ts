/**
 * ImageFolder: one class per sub-folder (classes sorted by name, as torchvision's `ImageFolder`), JPEG and
 * PNG files decoded on access. Reading files needs Deno (`--allow-read` for the folder); the dataset
 * itself only needs a `readFile` function, so other hosts can pass their own.
 * @module
 */
import { rangeError } from "../tensor/mod.ts";
import type { Dataset, Example } from "./dataset.ts";
import { decodeImage } from "./images.ts";
import { centerCrop, type Image, resizeShorter } from "./transforms.ts";

/** Options of {@linkcode imageFolder}. */
export interface ImageFolderOptions {
  /** Output side: shorter side resized to `size`, then centre-cropped to size x size (default 224). */
  size?: number;
  /** Channels of the decoded images: 3 (RGB) or 1 (luma). Default 3. */
  channels?: 1 | 3;
  /**
   * Replaces the default resize + centre crop (e.g. random crops for training); must return images of
   * [channels, size, size].
   */
  transform?: (img: Image) => Image;
  /** Reads a file's bytes (default `Deno.readFileSync`). */
  readFile?: (path: string) => Uint8Array;
  /** Lists a folder: names and whether each is a directory (default `Deno.readDirSync`). */
  readDir?: (path: string) => { name: string; isDirectory: boolean }[];
}

const EXTENSIONS = [".jpg", ".jpeg", ".png"];

/** The examples of an image folder (see {@linkcode imageFolder}). */
export class ImageFolder implements Dataset {
  readonly length: number;
  readonly shape: readonly [number, number, number];
  readonly numClasses: number;
  /** Class names in label order. */
  readonly classes: readonly string[];
  /** Every file with its label, in label then name order. */
  readonly files: readonly { path: string; label: number }[];
  readonly #read: (path: string) => Uint8Array;
  readonly #transform: (img: Image) => Image;
  readonly #channels: 1 | 3;

  constructor(
    classes: readonly string[],
    files: readonly { path: string; label: number }[],
    options: ImageFolderOptions = {},
  ) {
    const size = options.size ?? 224;
    if (!Number.isInteger(size) || size < 1) {
      throw rangeError("create ImageFolder", `size must be a positive integer, got ${size}`);
    }
    this.#channels = options.channels ?? 3;
    this.classes = classes;
    this.files = files;
    this.length = files.length;
    this.numClasses = classes.length;
    this.shape = [this.#channels, size, size];
    this.#read = options.readFile ?? ((p) => Deno.readFileSync(p));
    this.#transform = options.transform ?? ((img) => centerCrop(resizeShorter(img, size), size));
  }

  get(index: number): Example {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw rangeError("get example", `index ${index} is outside [0, ${this.length})`);
    }
    const { path, label } = this.files[index];
    let img: Image;
    try {
      img = decodeImage(this.#read(path), { channels: this.#channels });
    } catch (e) {
      throw rangeError("load image", `${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const out = this.#transform(img);
    const [c, h, w] = this.shape;
    if (out.c !== c || out.h !== h || out.w !== w) {
      throw rangeError(
        "load image",
        `${path}: the transform gave ${out.c}x${out.h}x${out.w}, expected ${c}x${h}x${w}`,
      );
    }
    return { image: out.data, label };
  }
}

/**
 * Scans `root`: each sub-folder is a class (sorted by name), each `.jpg`/`.jpeg`/`.png` file in it an
 * example (sorted by name); other files are ignored. Images decode when read, so a corrupt file fails
 * with its path when its batch loads.
 *
 * @example
 * ```ts ignore
 * import * as cnn from "jsr:@cnnzoo/cnnzoo";
 * const ds = cnn.data.imageFolder("photos/train", { size: 224 });
 * const loader = new cnn.data.DataLoader(ds, { batchSize: 32, shuffle: true });
 * ```
 */
export function imageFolder(root: string, options: ImageFolderOptions = {}): ImageFolder {
  const readDir = options.readDir ??
    ((p: string) => [...Deno.readDirSync(p)].map((e) => ({ name: e.name, isDirectory: e.isDirectory })));
  const base = root.replace(/\/+$/, "");
  let entries;
  try {
    entries = readDir(base);
  } catch (e) {
    throw rangeError("read image folder", `${base}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const classes = entries.filter((e) => e.isDirectory).map((e) => e.name).sort();
  if (!classes.length) throw rangeError("read image folder", `${base} has no class sub-folders`);
  const files: { path: string; label: number }[] = [];
  classes.forEach((cls, label) => {
    const names = readDir(`${base}/${cls}`)
      .filter((e) => !e.isDirectory && EXTENSIONS.some((x) => e.name.toLowerCase().endsWith(x)))
      .map((e) => e.name)
      .sort();
    for (const n of names) files.push({ path: `${base}/${cls}/${n}`, label });
  });
  if (!files.length) throw rangeError("read image folder", `${base} has no .jpg, .jpeg or .png files`);
  return new ImageFolder(classes, files, options);
}
