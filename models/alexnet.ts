/**
 * AlexNet: torchvision's `alexnet` (the single-tower "One weird trick" variant, arXiv:1404.5997: convs
 * 64-192-384-256-256, no LRN, no groups, AdaptiveAvgPool 6×6; keys `features.{0,3,6,8,10}`,
 * `classifier.{1,4,6}`) and `alexnet_paper`, the net of Krizhevsky et al. (NIPS 2012) as corrected in
 * spec/features.md §1.1: input 227, convs 96-256-384-384-256 with groups 2 on conv2, conv4 and conv5, LRN
 * (n 5, α 1e-4 on the raw sum, β 0.75, k 2) after the ReLUs of conv1 and conv2, overlapping 3/2 max-pools,
 * dropout 0.5 on the outputs of fc6 and fc7, init N(0, 0.01) with biases 1 in conv2, conv4, conv5 and the
 * hidden FCs.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * console.log(cnn.models.entry("alexnet_paper").inputSize); // [3, 227, 227]
 * ```
 * @module
 */
import {
  AdaptiveAvgPool2d,
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
import { defaultGenerator, type Generator, rangeError, type Tensor } from "../tensor/mod.ts";
import type { ModelEntry, ModelOptions } from "./registry.ts";

/** One conv layer of an AlexNet-like feature extractor. */
export interface AlexConv {
  /** Output channels. */
  out: number;
  /** Square kernel size. */
  kernel: number;
  stride?: number;
  padding?: number;
  /** Grouped convolution (the paper's two GPU towers: 2). */
  groups?: number;
  /** LRN after the ReLU. */
  lrn?: boolean;
  /** 3×3 stride-2 max-pool after the ReLU (and LRN). */
  pool?: boolean;
  /** Initial bias (paper init only; 0 otherwise). */
  bias?: number;
}

/** One row of the AlexNet table. */
export interface AlexNetConfig {
  convs: readonly AlexConv[];
  /** Hidden FC widths. */
  hidden: readonly number[];
  /**
   * "torchvision": AdaptiveAvgPool2d(6) then dropout before each hidden FC, torch default init.
   * "paper": no pooling to a fixed size, dropout after each hidden FC's ReLU, N(0, 0.01) init.
   */
  layout: "torchvision" | "paper";
}

/** Options of the AlexNet family. */
export interface AlexNetOptions extends ModelOptions {
  /** Generator for the weights and dropout masks (default: the global generator). */
  generator?: Generator;
}

/** Paper LRN: b = a / (2 + 1e-4 Σ a²)^0.75 over 5 channels (torch alpha 5e-4). */
function lrn(): LocalResponseNorm {
  return new LocalResponseNorm(5, { alpha: 1e-4, beta: 0.75, k: 2, alphaConvention: "paper" });
}

/** features → (avgpool) → flatten → classifier, with torchvision's attribute names. */
export class AlexNet extends Module {
  features: Sequential;
  avgpool: AdaptiveAvgPool2d | null;
  classifier: Sequential;
  /** The row this network was built from. */
  readonly config: Readonly<AlexNetConfig>;

  /** Builds the network of one table row. */
  constructor(cfg: AlexNetConfig, options: AlexNetOptions = {}) {
    super();
    this.config = cfg;
    const numClasses = options.numClasses ?? 1000;
    const p = options.dropout ?? 0.5;
    const g = options.generator ?? defaultGenerator;
    let c = options.inChannels ?? 3;
    const paper = cfg.layout === "paper";
    this.features = new Sequential();
    const convs: [Conv2d, number][] = [];
    for (const l of cfg.convs) {
      const conv = new Conv2d(c, l.out, {
        kernelSize: l.kernel,
        stride: l.stride ?? 1,
        padding: l.padding ?? 0,
        groups: l.groups ?? 1,
        generator: g,
      });
      convs.push([conv, l.bias ?? 0]);
      this.features.add(conv);
      this.features.add(new ReLU());
      if (l.lrn) this.features.add(lrn());
      if (l.pool) this.features.add(new MaxPool2d({ kernelSize: 3, stride: 2 }));
      c = l.out;
    }
    this.avgpool = paper ? null : new AdaptiveAvgPool2d(6);
    this.classifier = new Sequential();
    let f = c * 36;
    const fcs: Linear[] = [];
    for (const h of cfg.hidden) {
      const fc = new Linear(f, h, { generator: g });
      fcs.push(fc);
      if (!paper) this.classifier.add(new Dropout(p, { generator: g }));
      this.classifier.add(fc);
      this.classifier.add(new ReLU());
      if (paper) this.classifier.add(new Dropout(p, { generator: g }));
      f = h;
    }
    const out = new Linear(f, numClasses, { generator: g });
    this.classifier.add(out);
    if (paper) {
      for (const [conv, b] of convs) {
        init.normal(conv.weight, 0, 0.01, g);
        init.constant(conv.bias!, b);
      }
      for (const fc of fcs) {
        init.normal(fc.weight, 0, 0.01, g);
        init.constant(fc.bias!, 1);
      }
      init.normal(out.weight, 0, 0.01, g);
      init.constant(out.bias!, 0);
    }
  }

  /** Logits [n, numClasses] of images [n, c, h, w] (the paper layout needs 227×227, giving 6×6 maps). */
  forward(x: Tensor): Tensor {
    const f = this.features.forward(x);
    let t = f;
    if (this.avgpool) {
      t = this.avgpool.forward(f);
      f.dispose();
    } else if (f.shape[2] !== 6 || f.shape[3] !== 6) {
      f.dispose();
      throw rangeError(
        "run alexnet_paper",
        `features must be 6x6 (input 227), got ${f.shape[2]}x${f.shape[3]}`,
      );
    }
    const flat = t.flatten(1);
    if (flat !== t) t.dispose();
    const y = this.classifier.forward(flat);
    flat.dispose();
    return y;
  }
}

/** The table: torchvision's single tower and the paper's two-tower net. */
export const ALEXNET_CONFIGS = {
  alexnet: {
    layout: "torchvision",
    convs: [
      { out: 64, kernel: 11, stride: 4, padding: 2, pool: true },
      { out: 192, kernel: 5, padding: 2, pool: true },
      { out: 384, kernel: 3, padding: 1 },
      { out: 256, kernel: 3, padding: 1 },
      { out: 256, kernel: 3, padding: 1, pool: true },
    ],
    hidden: [4096, 4096],
  },
  alexnet_paper: {
    layout: "paper",
    convs: [
      { out: 96, kernel: 11, stride: 4, lrn: true, pool: true },
      { out: 256, kernel: 5, padding: 2, groups: 2, lrn: true, pool: true, bias: 1 },
      { out: 384, kernel: 3, padding: 1 },
      { out: 384, kernel: 3, padding: 1, groups: 2, bias: 1 },
      { out: 256, kernel: 3, padding: 1, groups: 2, pool: true, bias: 1 },
    ],
    hidden: [4096, 4096],
  },
} as const satisfies Record<string, AlexNetConfig>;

/** A registered AlexNet name. */
export type AlexNetName = keyof typeof ALEXNET_CONFIGS;

/**
 * Builds `alexnet` or `alexnet_paper` (or a custom row).
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const net = cnn.models.create("alexnet", { numClasses: 10 });
 * console.log(net.numParameters()); // 57044810
 * ```
 */
export function alexnet(row: AlexNetName | AlexNetConfig, options: AlexNetOptions = {}): AlexNet {
  const cfg = typeof row === "string" ? ALEXNET_CONFIGS[row] as AlexNetConfig : row;
  if (!cfg) throw rangeError("create AlexNet", `unknown row ${JSON.stringify(row)}`);
  return new AlexNet(cfg, options);
}

/** Registry entries: `alexnet` (torchvision-exact, 224) and `alexnet_paper` (227). */
export const ALEXNETS: Record<string, ModelEntry> = {
  alexnet: {
    family: "alexnet",
    description: "AlexNet, torchvision-exact ('One weird trick' single tower, 61.1 M params)",
    inputSize: [3, 224, 224],
    numClasses: 1000,
    build: (o) => alexnet("alexnet", o as AlexNetOptions),
  },
  alexnet_paper: {
    family: "alexnet",
    description: "AlexNet as in Krizhevsky et al. 2012: groups 2, LRN, 227 input (60,965,224 params)",
    inputSize: [3, 227, 227],
    numClasses: 1000,
    build: (o) => alexnet("alexnet_paper", o as AlexNetOptions),
  },
};
