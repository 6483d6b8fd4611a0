/**
 * Datasets and batching. A dataset is indexable (length, get); a {@linkcode DataLoader} turns it into
 * shuffled batches of NCHW tensors with the seeded generator. Everything here runs without workers, so
 * it works the same in browsers.
 * @module
 */
import { defaultGenerator, type Generator, rangeError, type Tensor, tensor } from "../tensor/mod.ts";

/** One example: CHW float32 pixels and an integer label. */
export interface Example {
  image: Float32Array;
  label: number;
}

/** An indexable collection of examples with a fixed image shape. */
export interface Dataset {
  readonly length: number;
  /** [channels, height, width] of every image (after the dataset's own transform, if any). */
  readonly shape: readonly [number, number, number];
  /** Number of classes. */
  readonly numClasses: number;
  get(index: number): Example;
}

/**
 * Examples held in memory: `images` is N x C x H x W float32, `labels` N integers.
 *
 * @example
 * ```ts
 * import { ArrayDataset } from "./dataset.ts";
 * const ds = new ArrayDataset(new Float32Array(2 * 4), new Int32Array([0, 1]), [1, 2, 2], 2);
 * console.log(ds.length, ds.get(1).label);
 * ```
 */
export class ArrayDataset implements Dataset {
  readonly length: number;
  readonly shape: readonly [number, number, number];
  readonly numClasses: number;
  readonly images: Float32Array;
  readonly labels: Int32Array;

  constructor(
    images: Float32Array,
    labels: Int32Array,
    shape: readonly [number, number, number],
    numClasses: number,
  ) {
    const size = shape[0] * shape[1] * shape[2];
    if (!(size > 0) || images.length !== labels.length * size) {
      throw rangeError(
        "create dataset",
        `${images.length} pixel values do not make ${labels.length} images of shape [${shape.join(", ")}]`,
      );
    }
    for (let i = 0; i < labels.length; i++) {
      if (labels[i] < 0 || labels[i] >= numClasses) {
        throw rangeError("create dataset", `labels[${i}] = ${labels[i]} is outside [0, ${numClasses})`);
      }
    }
    this.images = images;
    this.labels = labels;
    this.shape = shape;
    this.length = labels.length;
    this.numClasses = numClasses;
  }

  get(index: number): Example {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw rangeError("get example", `index ${index} is outside [0, ${this.length})`);
    }
    const size = this.images.length / this.length;
    return { image: this.images.subarray(index * size, (index + 1) * size), label: this.labels[index] };
  }
}

/** Applies a per-example transform lazily (with the generator for random transforms). */
export class MappedDataset implements Dataset {
  readonly length: number;
  readonly shape: readonly [number, number, number];
  readonly numClasses: number;
  readonly #src: Dataset;
  readonly #fn: (e: Example) => Example;

  constructor(src: Dataset, fn: (e: Example) => Example, shape?: readonly [number, number, number]) {
    this.#src = src;
    this.#fn = fn;
    this.length = src.length;
    this.shape = shape ?? src.shape;
    this.numClasses = src.numClasses;
  }

  get(index: number): Example {
    return this.#fn(this.#src.get(index));
  }
}

/** A batch: images [n, c, h, w] and their labels. */
export interface Batch {
  x: Tensor;
  y: Int32Array;
}

/** Options of {@linkcode DataLoader}. */
export interface DataLoaderOptions {
  batchSize: number;
  shuffle?: boolean;
  /** Drop a last incomplete batch (default false). */
  dropLast?: boolean;
  generator?: Generator;
}

/**
 * Batches of a dataset, reshuffled on every pass when `shuffle` is set.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * import { ArrayDataset, DataLoader } from "./dataset.ts";
 * await cnn.init({ threads: 1 });
 * const ds = new ArrayDataset(new Float32Array(5 * 4), new Int32Array(5), [1, 2, 2], 1);
 * for await (const { x, y } of new DataLoader(ds, { batchSize: 2 })) {
 *   console.log(x.shape, y.length);
 *   x.dispose();
 * }
 * ```
 */
export class DataLoader implements AsyncIterable<Batch> {
  readonly dataset: Dataset;
  readonly options: Required<Omit<DataLoaderOptions, "generator">> & { generator: Generator };

  constructor(dataset: Dataset, options: DataLoaderOptions) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
      throw rangeError("create DataLoader", `batchSize must be an integer >= 1, got ${options.batchSize}`);
    }
    this.dataset = dataset;
    this.options = {
      batchSize: options.batchSize,
      shuffle: options.shuffle ?? false,
      dropLast: options.dropLast ?? false,
      generator: options.generator ?? defaultGenerator,
    };
  }

  /** Batches per pass. */
  get length(): number {
    const { batchSize, dropLast } = this.options;
    const n = this.dataset.length;
    return dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
  }

  /** The example order of the next pass (a permutation when shuffling). */
  order(): Int32Array {
    const n = this.dataset.length;
    const idx = new Int32Array(n);
    for (let i = 0; i < n; i++) idx[i] = i;
    if (this.options.shuffle) {
      const g = this.options.generator;
      for (let i = n - 1; i > 0; i--) {
        const j = g.int(i + 1);
        const t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
      }
    }
    return idx;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Batch> {
    const idx = this.order();
    const { batchSize } = this.options;
    const [c, h, w] = this.dataset.shape;
    const size = c * h * w;
    for (let b = 0; b < this.length; b++) {
      const ids = idx.subarray(b * batchSize, Math.min(idx.length, (b + 1) * batchSize));
      const data = new Float32Array(ids.length * size);
      const y = new Int32Array(ids.length);
      for (let i = 0; i < ids.length; i++) {
        const e = this.dataset.get(ids[i]);
        if (e.image.length !== size) {
          throw rangeError(
            "load batch",
            `example ${ids[i]} has ${e.image.length} values, expected ${size} (${c}x${h}x${w})`,
          );
        }
        data.set(e.image, i * size);
        y[i] = e.label;
      }
      yield { x: tensor(data, [ids.length, c, h, w]), y };
      await Promise.resolve();
    }
  }
}
