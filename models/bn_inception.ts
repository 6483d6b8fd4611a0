/**
 * BN-Inception, the network of the batch-normalization paper (Ioffe & Szegedy, arXiv:1502.03167, Fig. 5;
 * the seed's "Inception v2"; not the Rethinking paper's Inception-v2). Changes from GoogLeNet: each 5×5
 * becomes two stacked 3×3s, three modules at 28×28 (3a, 3b, 3c), average or max pooling inside modules,
 * no pooling between modules (3c and 4e reduce with stride-2 conv branches beside a max-pool
 * pass-through), a separable first conv (depth multiplier 8), BN before every ReLU with no conv bias,
 * no LRN, no dropout.
 *
 * Module widths follow the figure's columns. The figure prints 576 output channels for 4c and 4d, but
 * its own columns add up to 608 (160 + 160 + 160 + 128 and 96 + 192 + 192 + 128), so 4e sees 608
 * channels and outputs 1056; the Caffe release (and the common PyTorch port of it) has the same widths.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * import { bnInception } from "./bn_inception.ts";
 * import { createRuntime, withRuntime } from "../tensor/mod.ts";
 * await cnn.init({ threads: 1 });
 * const rt = await createRuntime({ backend: "meta" });
 * const net = withRuntime(rt, () => bnInception());
 * console.log(net.numParameters());
 * ```
 * @module
 */
import {
  AvgPool2d,
  BatchNorm2d,
  Concat,
  Conv2d,
  Dropout,
  Linear,
  MaxPool2d,
  Module,
  Sequential,
} from "../layers/mod.ts";
import { rangeError, type Tensor } from "../tensor/mod.ts";
import type { ModelEntry, ModelOptions } from "./registry.ts";
import { BasicConv2d, boolOption, InceptionNet, type TrunkStep } from "./_inception_blocks.ts";
import { chain } from "./_chain.ts";

/** Options of {@linkcode bnInception}. */
export interface BnInceptionOptions extends ModelOptions {
  /** Separable first conv, depthwise 7×7 ×8 then 1×1 to 64 (paper; default true), or a plain 7×7 conv. */
  separableStem?: boolean;
  /** Dropout before the classifier (the paper removes it: default 0). */
  dropout?: number;
  /** BatchNorm epsilon (default 0.001). */
  eps?: number;
}

/**
 * One module row: [name, #1×1 (0: none), #3×3 reduce, #3×3, double #3×3 reduce, double #3×3, pool,
 * pool proj (0: pass-through), stride].
 */
type Row = [string, number, number, number, number, number, "avg" | "max", number, 1 | 2];

/** The paper's Fig. 5. */
const BLOCKS: Row[] = [
  ["inception3a", 64, 64, 64, 64, 96, "avg", 32, 1],
  ["inception3b", 64, 64, 96, 64, 96, "avg", 64, 1],
  ["inception3c", 0, 128, 160, 64, 96, "max", 0, 2],
  ["inception4a", 224, 64, 96, 96, 128, "avg", 128, 1],
  ["inception4b", 192, 96, 128, 96, 128, "avg", 128, 1],
  ["inception4c", 160, 128, 160, 128, 160, "avg", 128, 1],
  ["inception4d", 96, 128, 192, 160, 192, "avg", 128, 1],
  ["inception4e", 0, 128, 192, 192, 256, "max", 0, 2],
  ["inception5a", 352, 192, 320, 160, 224, "avg", 128, 1],
  ["inception5b", 352, 192, 320, 192, 224, "max", 128, 1],
];

/**
 * The separable first conv: `depthwise` (7×7/2, groups = in, ×multiplier) → `pointwise` 1×1 → `bn` →
 * ReLU, with no bias.
 */
export class SeparableConvBN extends Module {
  depthwise: Conv2d;
  pointwise: Conv2d;
  bn: BatchNorm2d;

  constructor(
    inChannels: number,
    outChannels: number,
    options: { kernelSize: number; stride: number; padding: number; multiplier: number; eps?: number },
  ) {
    super();
    this.depthwise = new Conv2d(inChannels, inChannels * options.multiplier, {
      kernelSize: options.kernelSize,
      stride: options.stride,
      padding: options.padding,
      groups: inChannels,
      bias: false,
    });
    this.pointwise = new Conv2d(inChannels * options.multiplier, outChannels, { kernelSize: 1, bias: false });
    this.bn = new BatchNorm2d(outChannels, { eps: options.eps ?? 0.001 });
  }

  forward(x: Tensor): Tensor {
    return chain(x, [
      (t) => this.depthwise.forward(t),
      (t) => this.pointwise.forward(t),
      (t) => this.bn.forwardRelu(t),
    ]);
  }
}

/** Output channels of a module row given its input channels. */
function rowOut(r: Row, inChannels: number): number {
  return r[1] + r[3] + r[5] + (r[7] === 0 ? inChannels : r[7]);
}

/**
 * One BN-Inception module: [1×1 ‖ 1×1 → 3×3 ‖ 1×1 → 3×3 → 3×3 ‖ pool → 1×1 proj], with the stride on the
 * last conv of each 3×3 branch and on the (pass-through) max-pool in the reduction modules. Keys
 * `branch1.*` (absent in reductions), `branch2.{0,1}.*`, `branch3.{0,1,2}.*`, `branch4.1.*`.
 */
export function bnInceptionModule(inChannels: number, r: Row, eps = 0.001): Concat {
  const [, c1, c3r, c3, d3r, d3, pool, proj, stride] = r;
  const c = (i: number, o: number, k: number, s = 1) =>
    new BasicConv2d(i, o, { kernelSize: k, stride: s, padding: (k - 1) / 2, eps });
  const branches: [string, Module][] = [];
  if (c1 > 0) branches.push(["branch1", c(inChannels, c1, 1)]);
  branches.push(
    ["branch2", new Sequential(c(inChannels, c3r, 1), c(c3r, c3, 3, stride))],
    ["branch3", new Sequential(c(inChannels, d3r, 1), c(d3r, d3, 3), c(d3, d3, 3, stride))],
  );
  const p = stride === 2
    ? new MaxPool2d({ kernelSize: 3, stride: 2, ceilMode: true })
    : pool === "max"
    ? new MaxPool2d({ kernelSize: 3, stride: 1, padding: 1 })
    : new AvgPool2d({ kernelSize: 3, stride: 1, padding: 1, countIncludePad: true });
  branches.push(["branch4", proj > 0 ? new Sequential(p, c(inChannels, proj, 1)) : new Sequential(p)]);
  return new Concat(...branches);
}

/**
 * Builds BN-Inception (paper Fig. 5) for 224×224 input.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * import { bnInception } from "./bn_inception.ts";
 * import { createRuntime, withRuntime } from "../tensor/mod.ts";
 * await cnn.init({ threads: 1 });
 * const rt = await createRuntime({ backend: "meta" });
 * const net = withRuntime(rt, () => bnInception({ numClasses: 10 }));
 * console.log(net.fc.weight.shape); // [10, 1024]
 * ```
 */
export function bnInception(options: BnInceptionOptions = {}): InceptionNet & { fc: Linear } {
  const action = "create bn_inception";
  const numClasses = options.numClasses ?? 1000;
  const inChannels = options.inChannels ?? 3;
  const eps = options.eps ?? 0.001;
  const separable = boolOption(action, "separableStem", options.separableStem, true);
  const dropout = options.dropout ?? 0;
  if (!(dropout >= 0 && dropout <= 1)) throw rangeError(action, `dropout must be in [0, 1], got ${dropout}`);
  const children: [string, Module | null][] = [
    [
      "conv1",
      separable
        ? new SeparableConvBN(inChannels, 64, { kernelSize: 7, stride: 2, padding: 3, multiplier: 8, eps })
        : new BasicConv2d(inChannels, 64, { kernelSize: 7, stride: 2, padding: 3, eps }),
    ],
    ["conv2", new BasicConv2d(64, 64, { kernelSize: 1, eps })],
    ["conv3", new BasicConv2d(64, 192, { kernelSize: 3, padding: 1, eps })],
  ];
  let c = 192;
  for (const r of BLOCKS) {
    children.push([r[0], bnInceptionModule(c, r, eps)]);
    c = rowOut(r, c);
  }
  children.push(
    ["avgpool", new AvgPool2d({ kernelSize: 7, stride: 1 })],
    ["dropout", new Dropout(dropout)],
    ["fc", new Linear(c, numClasses)],
  );
  const pool: TrunkStep = { pool: "max", kernelSize: 3, stride: 2, ceilMode: true };
  const trunk: TrunkStep[] = [
    "conv1",
    pool,
    "conv2",
    "conv3",
    pool,
    ...BLOCKS.map((r) => r[0]),
    "avgpool",
    "flatten",
    "dropout",
    "fc",
  ];
  return new InceptionNet({ children, trunk, taps: [], auxOrder: [], transformInput: false }) as
    & InceptionNet
    & { fc: Linear };
}

/** The BN-Inception registry entry. */
export const BN_INCEPTION_MODELS: Record<string, ModelEntry> = {
  bn_inception: {
    family: "bn_inception",
    description:
      "BN-Inception (Ioffe & Szegedy 2015, Fig. 5): the batch-normalized Inception, separable stem",
    inputSize: [3, 224, 224],
    numClasses: 1000,
    build: (o) => bnInception(o),
  },
};
