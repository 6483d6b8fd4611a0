/**
 * OverFeat (Sermanet et al., arXiv:1312.6229), the "fast" (231 input) and "accurate" (221 input) models as
 * in spec/features.md §1.2: ReLU after every conv and hidden FC, no LRN, non-overlapping max-pools, dropout
 * 0.5 on the two hidden FCs, init N(0, 0.01). Parameter counts equal the released weight layout
 * (145,920,872 and 144,656,488). Keys: `features.N` and `classifier.N` (Linear layers over the flattened
 * 6×6 / 5×5 maps; reshaping a classifier weight to [out, c, k, k] gives the convolutional form).
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * console.log(cnn.models.entry("overfeat_accurate").inputSize); // [3, 221, 221]
 * ```
 * @module
 */
import { Conv2d, Dropout, init, Linear, MaxPool2d, Module, ReLU, Sequential } from "../layers/mod.ts";
import { defaultGenerator, type Generator, rangeError, type Tensor } from "../tensor/mod.ts";
import type { ModelEntry, ModelOptions } from "./registry.ts";

/** One conv layer: output channels, square kernel, stride, padding, then an optional p×p/p max-pool. */
export interface OverFeatConv {
  out: number;
  kernel: number;
  stride?: number;
  padding?: number;
  /** Non-overlapping max-pool size (kernel = stride) after the ReLU. */
  pool?: number;
}

/** One row of the OverFeat table. */
export interface OverFeatConfig {
  convs: readonly OverFeatConv[];
  /** Spatial size of the last feature map at the native input (the FC "kernel"). */
  mapSize: number;
  /** Hidden FC widths. */
  hidden: readonly number[];
}

/** Options of the OverFeat family. */
export interface OverFeatOptions extends ModelOptions {
  /** Generator for the weights and dropout masks (default: the global generator). */
  generator?: Generator;
}

/** features → flatten → classifier. */
export class OverFeat extends Module {
  features: Sequential;
  classifier: Sequential;
  /** The row this network was built from. */
  readonly config: Readonly<OverFeatConfig>;

  /** Builds the network of one table row. */
  constructor(cfg: OverFeatConfig, options: OverFeatOptions = {}) {
    super();
    this.config = cfg;
    const g = options.generator ?? defaultGenerator;
    const p = options.dropout ?? 0.5;
    let c = options.inChannels ?? 3;
    this.features = new Sequential();
    for (const l of cfg.convs) {
      const conv = new Conv2d(c, l.out, {
        kernelSize: l.kernel,
        stride: l.stride ?? 1,
        padding: l.padding ?? 0,
        generator: g,
      });
      init.normal(conv.weight, 0, 0.01, g);
      init.constant(conv.bias!, 0);
      this.features.add(conv);
      this.features.add(new ReLU());
      if (l.pool) this.features.add(new MaxPool2d({ kernelSize: l.pool, stride: l.pool }));
      c = l.out;
    }
    this.classifier = new Sequential();
    let f = c * cfg.mapSize * cfg.mapSize;
    const widths = [...cfg.hidden, options.numClasses ?? 1000];
    widths.forEach((w, i) => {
      const fc = new Linear(f, w, { generator: g });
      init.normal(fc.weight, 0, 0.01, g);
      init.constant(fc.bias!, 0);
      this.classifier.add(fc);
      if (i < widths.length - 1) {
        this.classifier.add(new ReLU());
        this.classifier.add(new Dropout(p, { generator: g }));
      }
      f = w;
    });
  }

  /** Logits [n, numClasses] of images at the native size ([n, 3, 231, 231] fast, 221 accurate). */
  forward(x: Tensor): Tensor {
    const f = this.features.forward(x);
    const s = this.config.mapSize;
    if (f.shape[2] !== s || f.shape[3] !== s) {
      f.dispose();
      throw rangeError("run OverFeat", `features must be ${s}x${s}, got ${f.shape[2]}x${f.shape[3]}`);
    }
    const flat = f.flatten(1);
    if (flat !== f) f.dispose();
    const y = this.classifier.forward(flat);
    flat.dispose();
    return y;
  }
}

/** The table (Sermanet et al. Tables 1 and 3). */
export const OVERFEAT_CONFIGS = {
  overfeat_fast: {
    convs: [
      { out: 96, kernel: 11, stride: 4, pool: 2 },
      { out: 256, kernel: 5, pool: 2 },
      { out: 512, kernel: 3, padding: 1 },
      { out: 1024, kernel: 3, padding: 1 },
      { out: 1024, kernel: 3, padding: 1, pool: 2 },
    ],
    mapSize: 6,
    hidden: [3072, 4096],
  },
  overfeat_accurate: {
    convs: [
      { out: 96, kernel: 7, stride: 2, pool: 3 },
      { out: 256, kernel: 7, pool: 2 },
      { out: 512, kernel: 3, padding: 1 },
      { out: 512, kernel: 3, padding: 1 },
      { out: 1024, kernel: 3, padding: 1 },
      { out: 1024, kernel: 3, padding: 1, pool: 3 },
    ],
    mapSize: 5,
    hidden: [4096, 4096],
  },
} as const satisfies Record<string, OverFeatConfig>;

/** A registered OverFeat name. */
export type OverFeatName = keyof typeof OVERFEAT_CONFIGS;

/**
 * Builds `overfeat_fast` or `overfeat_accurate` (or a custom row).
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * console.log(cnn.models.list().includes("overfeat_fast")); // true
 * ```
 */
export function overfeat(row: OverFeatName | OverFeatConfig, options: OverFeatOptions = {}): OverFeat {
  const cfg = typeof row === "string" ? OVERFEAT_CONFIGS[row] as OverFeatConfig : row;
  if (!cfg) throw rangeError("create OverFeat", `unknown row ${JSON.stringify(row)}`);
  return new OverFeat(cfg, options);
}

/** Registry entries: `overfeat_fast` (231) and `overfeat_accurate` (221). */
export const OVERFEATS: Record<string, ModelEntry> = {
  overfeat_fast: {
    family: "overfeat",
    description: "OverFeat fast model (Sermanet et al. 2013), 231 input, 145.9 M params",
    inputSize: [3, 231, 231],
    numClasses: 1000,
    build: (o) => overfeat("overfeat_fast", o as OverFeatOptions),
  },
  overfeat_accurate: {
    family: "overfeat",
    description: "OverFeat accurate model (Sermanet et al. 2013), 221 input, 144.7 M params",
    inputSize: [3, 221, 221],
    numClasses: 1000,
    build: (o) => overfeat("overfeat_accurate", o as OverFeatOptions),
  },
};
