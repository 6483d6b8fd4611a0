/**
 * VGG (Simonyan & Zisserman, arXiv:1409.1556) as rows of layer codes read by one builder: torchvision's
 * vgg11/13/16/19 and their `_bn` variants (configs A, B, D, E; keys `features.N`, `classifier.{0,3,6}`,
 * AdaptiveAvgPool2d(7) before the classifier), and the paper's A-LRN (`vgg_a_lrn`: LRN after conv1) and C
 * (`vgg_c`: a 1×1 conv as the third layer of stages 3, 4 and 5), with the same keys scheme.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * console.log(cnn.models.entry("vgg16_bn").description);
 * ```
 * @module
 */
import {
  AdaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  init,
  Linear,
  LocalResponseNorm,
  MaxPool2d,
  Module,
  ReLU,
  Sequential,
} from "../layers/mod.ts";
import { defaultGenerator, type Generator, ops, rangeError, type Tensor } from "../tensor/mod.ts";
import type { ModelEntry, ModelOptions } from "./registry.ts";

/**
 * One layer code: a number is a 3×3 pad-1 conv of that width, "M" a 2×2/2 max-pool, "L" the AlexNet LRN,
 * and `[width, 1]` a 1×1 conv.
 */
export type VggLayer = number | "M" | "L" | readonly [number, 1];

/** One row of the VGG table. */
export interface VggConfig {
  layers: readonly VggLayer[];
  /** BatchNorm after each conv (torchvision `_bn`). */
  batchNorm?: boolean;
}

/** Options of the VGG family. */
export interface VggOptions extends ModelOptions {
  /** Add BatchNorm after each conv (overrides the row). */
  batchNorm?: boolean;
  /** Generator for the weights and dropout masks (default: the global generator). */
  generator?: Generator;
}

/** features → avgpool (adaptive 7×7) → flatten → classifier, with torchvision's attribute names. */
export class VGG extends Module {
  features: Sequential;
  avgpool: AdaptiveAvgPool2d;
  classifier: Sequential;
  /** The row this network was built from (with options applied). */
  readonly config: Readonly<VggConfig>;

  /** Builds the network of one table row. */
  constructor(cfg: VggConfig, options: VggOptions = {}) {
    super();
    const bn = options.batchNorm ?? cfg.batchNorm ?? false;
    this.config = { ...cfg, batchNorm: bn };
    const g = options.generator ?? defaultGenerator;
    const p = options.dropout ?? 0.5;
    let c = options.inChannels ?? 3;
    this.features = new Sequential();
    for (const l of cfg.layers) {
      if (l === "M") {
        this.features.add(new MaxPool2d({ kernelSize: 2, stride: 2 }));
      } else if (l === "L") {
        this.features.add(
          new LocalResponseNorm(5, { alpha: 1e-4, beta: 0.75, k: 2, alphaConvention: "paper" }),
        );
      } else {
        const [out, k] = typeof l === "number" ? [l, 3] : l;
        if (!Number.isInteger(out) || out < 1) throw rangeError("create VGG", `bad conv width ${out}`);
        const conv = new Conv2d(c, out, { kernelSize: k, padding: k === 3 ? 1 : 0, generator: g });
        init.kaimingNormal(conv.weight, { mode: "fan_out" }, g);
        init.constant(conv.bias!, 0);
        this.features.add(conv);
        if (bn) this.features.add(new BatchNorm2d(out));
        this.features.add(new ReLU());
        c = out;
      }
    }
    this.avgpool = new AdaptiveAvgPool2d(7);
    const fc = (i: number, o: number) => {
      const l = new Linear(i, o, { generator: g });
      init.normal(l.weight, 0, 0.01, g);
      init.constant(l.bias!, 0);
      return l;
    };
    this.classifier = new Sequential(
      fc(c * 49, 4096),
      new ReLU(),
      new Dropout(p, { generator: g }),
      fc(4096, 4096),
      new ReLU(),
      new Dropout(p, { generator: g }),
      fc(4096, options.numClasses ?? 1000),
    );
  }

  /** Logits [n, numClasses] of images [n, c, h, w]. */
  forward(x: Tensor): Tensor {
    const f = this.features.forward(x);
    const a = this.avgpool.forward(f);
    f.dispose();
    const flat = a.flatten(1);
    if (flat !== a) a.dispose();
    const y = this.classifier.forward(flat);
    flat.dispose();
    return y;
  }

  /**
   * Dense evaluation (Simonyan & Zisserman, section 3.2): the classifier applied as convolutions over
   * the whole feature map (fc6 as a 7x7 conv, fc7 and fc8 as 1x1, dropout off), and the class-score map
   * averaged spatially. Images of any size with a feature map of at least 7x7 (>= 224 pixels for the
   * standard rows); at exactly 224x224 it equals {@linkcode VGG.forward} in eval mode. Multi-scale dense
   * evaluation averages the softmax of this over rescaled (and flipped) copies of an image, e.g. with
   * `data.averageProbabilities`.
   *
   * @example
   * ```ts
   * import * as cnn from "../mod.ts";
   * await cnn.init({ threads: 1 });
   * const net = cnn.models.create("vgg11", { numClasses: 3 }) as cnn.models.VGG;
   * net.eval();
   * const x = cnn.zeros([1, 3, 256, 288]);
   * console.log(cnn.noGrad(() => net.denseForward(x)).shape); // [1, 3]
   * ```
   */
  denseForward(x: Tensor): Tensor {
    const f = this.features.forward(x);
    const [n, , h, w] = f.shape;
    if (h < 7 || w < 7) {
      f.dispose();
      throw rangeError(
        "run dense evaluation",
        `the feature map of a ${x.shape[2]}x${x.shape[3]} input is ${h}x${w}, smaller than 7x7`,
      );
    }
    const fcs = [0, 3, 6].map((i) => this.classifier.at(i) as Linear);
    const kernels = [[7, 7], [1, 1], [1, 1]];
    let t = f;
    fcs.forEach((fc, i) => {
      const [o, inFeatures] = fc.weight.shape;
      const k = kernels[i];
      const wk = fc.weight.reshape([o, inFeatures / (k[0] * k[1]), k[0], k[1]]);
      const next = ops.conv2d(t, wk, { bias: fc.bias, relu: i < 2 });
      if (wk !== fc.weight) wk.dispose();
      t.dispose();
      t = next;
    });
    const avg = ops.adaptiveAvgPool2d(t, [1, 1]);
    t.dispose();
    const y = avg.reshape([n, avg.shape[1]]);
    if (y !== avg) avg.dispose();
    return y;
  }
}

const A: readonly VggLayer[] = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"];
const B: readonly VggLayer[] = [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"];
const D: readonly VggLayer[] = [
  ...[64, 64, "M", 128, 128, "M", 256, 256, 256, "M"] as const,
  ...[512, 512, 512, "M", 512, 512, 512, "M"] as const,
];
const E: readonly VggLayer[] = [
  ...[64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M"] as const,
  ...[512, 512, 512, 512, "M", 512, 512, 512, 512, "M"] as const,
];
const A_LRN: readonly VggLayer[] = [64, "L", ...A.slice(1)];
const C: readonly VggLayer[] = [
  ...[64, 64, "M", 128, 128, "M", 256, 256, [256, 1], "M"] as const,
  ...[512, 512, [512, 1], "M", 512, 512, [512, 1], "M"] as const,
];

/** The table: the paper's configs A, A-LRN, B, C, D, E, with and without BN. */
export const VGG_CONFIGS = {
  vgg11: { layers: A },
  vgg13: { layers: B },
  vgg16: { layers: D },
  vgg19: { layers: E },
  vgg11_bn: { layers: A, batchNorm: true },
  vgg13_bn: { layers: B, batchNorm: true },
  vgg16_bn: { layers: D, batchNorm: true },
  vgg19_bn: { layers: E, batchNorm: true },
  vgg_a_lrn: { layers: A_LRN },
  vgg_c: { layers: C },
} as const satisfies Record<string, VggConfig>;

/** A registered VGG name. */
export type VggName = keyof typeof VGG_CONFIGS;

const DESCRIPTIONS: Record<VggName, string> = {
  vgg11: "VGG-11 (config A), torchvision-exact",
  vgg13: "VGG-13 (config B), torchvision-exact",
  vgg16: "VGG-16 (config D), torchvision-exact",
  vgg19: "VGG-19 (config E), torchvision-exact",
  vgg11_bn: "VGG-11 with BatchNorm, torchvision-exact",
  vgg13_bn: "VGG-13 with BatchNorm, torchvision-exact",
  vgg16_bn: "VGG-16 with BatchNorm, torchvision-exact",
  vgg19_bn: "VGG-19 with BatchNorm, torchvision-exact",
  vgg_a_lrn: "VGG config A-LRN (paper): VGG-11 with the AlexNet LRN after conv1",
  vgg_c: "VGG config C (paper): VGG-16 with 1x1 convs as the third layer of stages 3-5 (133.6 M params)",
};

/**
 * Builds a VGG network from a row name (or a config row) and options.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const net = cnn.models.create("vgg11", { numClasses: 10 });
 * console.log(net.numParameters()); // 128812810
 * ```
 */
export function vgg(row: VggName | VggConfig, options: VggOptions = {}): VGG {
  const cfg = typeof row === "string" ? VGG_CONFIGS[row] as VggConfig : row;
  if (!cfg) throw rangeError("create VGG", `unknown row ${JSON.stringify(row)}`);
  return new VGG(cfg, options);
}

/** Registry entries of the family (see {@linkcode VGG_CONFIGS}). */
export const VGGS: Record<string, ModelEntry> = Object.fromEntries(
  (Object.keys(VGG_CONFIGS) as VggName[]).map((name) => {
    const e: ModelEntry = {
      family: "vgg",
      description: DESCRIPTIONS[name],
      inputSize: [3, 224, 224],
      numClasses: 1000,
      build: (options) => vgg(name, options as VggOptions),
    };
    return [name, e];
  }),
);
