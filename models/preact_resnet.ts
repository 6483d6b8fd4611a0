/**
 * Pre-activation ResNets (He et al., "Identity Mappings in Deep Residual Networks", arXiv:1603.05027) and
 * the CIFAR Wide ResNets WRN-d-k (Zagoruyko & Komodakis, arXiv:1605.07146) as rows of one table read by
 * one builder.
 *
 * A unit is x + F(relu(bn(x))) with nothing after the addition: BN → ReLU → conv → BN → ReLU → conv (plus
 * a third pair for bottlenecks). Units that change shape apply the first BN-ReLU before the split, so the
 * 1×1 projection (a bias-free conv, no BN) sees the pre-activated input (timm `ResNetV2`,
 * KaimingHe/resnet-1k-layers, szagoruyko/wide-residual-networks). The network starts with a plain conv
 * (plus a 3×3/2 max-pool on ImageNet) and ends with BN → ReLU → global average pool → FC.
 *
 * Every family member takes stochastic depth (Huang et al.) as option `stochasticDepth`, with the survival
 * rules and modes of models/resnet.ts; `summary()` reports the expected depth.
 *
 * Wide ResNets may use any block type of the WRN paper (section 2, Tables 1 and 2) as a list of kernel
 * sizes: B(3,3) (the default, {@linkcode PreActBasicBlock}), B(3,1,3), B(1,3,1), B(1,3), B(3,1), B(3,1,1)
 * or B(3)×l, built by {@linkcode PreActKernelBlock} (row field `kernels`, builder {@linkcode wrn}).
 *
 * torchvision has no pre-activation ResNet, so the state-dict keys are ours, in torchvision's style:
 * `conv1.weight`, `layer1.0.bn1.weight`, `layer1.0.conv1.weight`, ..., `layer2.0.downsample.0.weight`,
 * `bn.weight`, `fc.weight`.
 *
 * Weights: convs N(0, √(2/fan_out)) (the authors' MSR init), BN γ = 1 and β = 0, FC torch default with a
 * zero bias.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const net = cnn.models.create("wrn_16_4", { dropout: 0.3 });
 * console.log(net.numParameters()); // 2748890
 * const b313 = cnn.models.create("wrn_22_2", { block: [3, 1, 3] }); // Table 1: WRN-22-2 with B(3,1,3)
 * console.log(b313.numParameters());
 * ```
 * @module
 */
import {
  AdaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  Flatten,
  init,
  Linear,
  MaxPool2d,
  Module,
  ReLU,
  Sequential,
  type StochasticDepth,
} from "../layers/mod.ts";
import { defaultGenerator, type Generator, ops, rangeError, type Tensor } from "../tensor/mod.ts";
import type { ModelEntry, ModelOptions } from "./registry.ts";
import { stochasticDepthGates, type StochasticDepthOptions } from "./_stochastic_depth.ts";
import { chain } from "./_chain.ts";

/** One row of the table. */
export interface PreActConfig {
  /** "basic": two 3×3 convs; "bottleneck": 1×1 → 3×3 → 1×1 with 4× expansion. */
  block: "basic" | "bottleneck";
  /** Units per stage. */
  depths: readonly number[];
  /** ImageNet (7×7/2 stem + max-pool, 224 input) or CIFAR (3×3 stem, 32 input). */
  layout: "imagenet" | "cifar";
  /** Output channels of each stage (bottleneck: 4× its inner width). Default 64·2^i·expansion (ImageNet), 16·2^i·expansion (CIFAR). */
  widths?: readonly number[];
  /** Output channels of the stem conv (64 ImageNet, 16 CIFAR). */
  stemWidth?: number;
  /** Where a bottleneck's stride goes: the 3×3 (timm, fb.resnet.torch; ImageNet default) or the first 1×1 (resnet-1k-layers; CIFAR default). */
  strideOn?: "3x3" | "1x1";
  /**
   * Kernel sizes of the convs of a basic unit (WRN block type, e.g. [3, 1, 3] for B(3,1,3)); odd integers
   * >= 1. Default undefined: two 3×3 convs ({@linkcode PreActBasicBlock}, also used for [3, 3]).
   */
  kernels?: readonly number[];
  /**
   * Stochastic depth on every unit (Huang et al.; the rules and modes of models/resnet.ts): the residual
   * branch F is dropped or scaled, the shortcut (with its shared first BN-ReLU where the unit projects)
   * always runs. Default: none.
   */
  stochasticDepth?: StochasticDepthOptions;
}

/** Options of the family: the common ones (`dropout` sits between consecutive convs of a basic or kernels unit, as WRN; before the last conv of a bottleneck) plus row overrides. */
export interface PreActOptions extends ModelOptions, Partial<PreActConfig> {
  /** Generator for the weights (default: the global generator). */
  generator?: Generator;
}

/** What a unit needs besides its channels. */
interface UnitArgs {
  stride: number;
  strideOn: "3x3" | "1x1";
  dropout: number;
  /** Stochastic-depth gate of the residual branch, or null. */
  drop?: StochasticDepth | null;
}

function conv(cin: number, cout: number, k: number, stride = 1): Conv2d {
  return new Conv2d(cin, cout, { kernelSize: k, stride, padding: (k - 1) / 2, bias: false });
}

/** The projection shortcut: a 1×1 conv (no BN) under torchvision's `downsample.0` key. */
function projection(cin: number, cout: number, stride: number): Sequential {
  return new Sequential(conv(cin, cout, 1, stride));
}

/**
 * x + gate · F(x) with the shared first BN-ReLU before the split when the unit projects; gate 1 without
 * stochastic depth. A dropped unit (gate 0) runs no branch kernels: only the projection path, or a copy of
 * x for an identity shortcut.
 */
function unitForward(
  u: {
    bn1: BatchNorm2d;
    downsample: Module | null;
    drop: StochasticDepth | null;
    rest(pre: Tensor): Tensor;
  },
  x: Tensor,
): Tensor {
  const gate = u.drop ? u.drop.gate() : 1;
  // scale by 1, not clone: the copy stays on the gradient tape
  if (gate === 0 && !u.downsample) return ops.scale(x, 1);
  const pre = u.bn1.forwardRelu(x);
  const skip = u.downsample ? u.downsample.forward(pre) : x;
  if (gate === 0) {
    pre.dispose();
    return skip;
  }
  const f = u.rest(pre);
  pre.dispose();
  const y = ops.add(skip, f, { beta: gate });
  f.dispose();
  if (skip !== x) skip.dispose();
  return y;
}

/** Full pre-activation unit with two 3×3 convs (WRN's B(3,3)); dropout between the convs when p > 0. */
export class PreActBasicBlock extends Module {
  /** Pre-activation BN of the unit input (shared with the projection). */
  bn1: BatchNorm2d;
  /** First 3×3 conv (carries the stride). */
  conv1: Conv2d;
  /** BN before the second conv. */
  bn2: BatchNorm2d;
  /** Dropout between the convs (WRN), or null. */
  dropout: Dropout | null;
  /** Second 3×3 conv. */
  conv2: Conv2d;
  /** 1×1 projection of the pre-activated input where the shape changes, else null (identity). */
  downsample: Sequential | null;
  /** Stochastic-depth gate of the residual branch, or null. */
  drop: StochasticDepth | null;
  /** Output channels per stage width (1). */
  static readonly expansion = 1;

  /** A unit from `cin` to `cout` channels. */
  constructor(cin: number, cout: number, a: UnitArgs) {
    super();
    this.bn1 = new BatchNorm2d(cin);
    this.conv1 = conv(cin, cout, 3, a.stride);
    this.bn2 = new BatchNorm2d(cout);
    this.dropout = a.dropout > 0 ? new Dropout(a.dropout) : null;
    this.conv2 = conv(cout, cout, 3);
    this.downsample = a.stride !== 1 || cin !== cout ? projection(cin, cout, a.stride) : null;
    this.drop = a.drop ?? null;
  }

  /** The branch after the first BN-ReLU. */
  rest(pre: Tensor): Tensor {
    return chain(pre, [
      (t) => this.conv1.forward(t),
      (t) => this.bn2.forwardRelu(t),
      ...(this.dropout ? [(t: Tensor) => this.dropout!.forward(t)] : []),
      (t) => this.conv2.forward(t),
    ]);
  }

  /** x + F(x) (F gated by `drop` with stochastic depth). */
  forward(x: Tensor): Tensor {
    return unitForward(this, x);
  }
}

/** Options of a {@linkcode PreActKernelBlock}. */
export interface KernelBlockOptions {
  /** Kernel size of each conv, in order (odd integers >= 1), e.g. [3, 1, 3] for B(3,1,3). */
  kernels: readonly number[];
  /** Stride of the first conv and of the projection (default 1). */
  stride?: number;
  /** Dropout probability in front of every conv after the first (default 0: no Dropout modules). */
  dropout?: number;
  /** Stochastic-depth gate of the residual branch (default none), kept as `drop`. */
  drop?: StochasticDepth | null;
}

/** The paper's name of a block type, e.g. "B(3,1,3)". */
function blockName(kernels: readonly number[]): string {
  return `B(${kernels.join(",")})`;
}

/** `value` as a list of odd kernel sizes >= 1, or a RangeError naming the option `what`. */
function checkKernels(action: string, value: unknown, what = "kernels"): readonly number[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw rangeError(
      action,
      `${what} must be a non-empty list of kernel sizes such as [3, 1, 3], got ${JSON.stringify(value)}`,
    );
  }
  const bad = value.findIndex((k) => !(Number.isInteger(k) && k >= 1 && k % 2 === 1));
  if (bad >= 0) {
    throw rangeError(
      action,
      `${what} must hold odd integers >= 1 (a k×k conv pads (k − 1) / 2), got ${
        JSON.stringify(value[bad])
      } at index ${bad} of ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** True for [3, 3], the block type of {@linkcode PreActBasicBlock}. */
function isB33(kernels: readonly number[]): boolean {
  return kernels.length === 2 && kernels[0] === 3 && kernels[1] === 3;
}

/**
 * Full pre-activation unit with one conv per entry of `kernels`, WRN's block types B(3,1,3), B(1,3,1),
 * B(1,3), B(3,1), B(3,1,1), B(3)×l, ...: `bn1` → ReLU → `conv1` → `bn2` → ReLU → [`dropout2`] → `conv2`
 * → ... → `bn<c>` → ReLU → [`dropout<c>`] → `conv<c>`, added to the input (or to the 1×1 projection
 * `downsample.0` of the pre-activated input where the shape changes: the first BN-ReLU is shared).
 *
 * Every conv outputs `cout` channels (the paper's block width); the first one carries the stride; a k×k
 * conv pads (k − 1) / 2. With dropout p > 0 a `dropout<i>` sits in front of each `conv<i>` after the first
 * (after its ReLU), i.e. between every consecutive pair of convs; a one-conv unit has none. Dropout adds
 * no state-dict keys. For [3, 3] the keys equal {@linkcode PreActBasicBlock}'s (which the networks use).
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * import { PreActKernelBlock } from "./preact_resnet.ts";
 * await cnn.init({ threads: 1 });
 * const unit = new PreActKernelBlock(16, 32, { kernels: [3, 1, 3], stride: 2, dropout: 0.3 });
 * console.log(unit.namedChildren().map(([name]) => name));
 * // ["bn1", "conv1", "bn2", "dropout2", "conv2", "bn3", "dropout3", "conv3", "downsample"]
 * const y = unit.forward(cnn.zeros([1, 16, 8, 8]));
 * console.log(y.shape); // [1, 32, 4, 4]
 * ```
 */
export class PreActKernelBlock extends Module {
  /** Kernel size of each conv, in order. */
  readonly kernels: readonly number[];
  // The modules are assigned in the constructor so that their keys come in order (bn1, conv1, bn2, ...);
  // `declare` keeps these typed without creating the properties early.
  /** Pre-activation BN of the unit input (shared with the projection). */
  declare readonly bn1: BatchNorm2d;
  /** 1×1 projection of the pre-activated input where the shape changes, else null (identity). */
  declare readonly downsample: Sequential | null;
  /** Stochastic-depth gate of the residual branch, or null. */
  declare readonly drop: StochasticDepth | null;

  /** A unit from `cin` to `cout` channels. */
  constructor(cin: number, cout: number, options: KernelBlockOptions) {
    super();
    const kernels = checkKernels("create PreActKernelBlock", options.kernels);
    const stride = options.stride ?? 1;
    const p = options.dropout ?? 0;
    this.kernels = Object.freeze([...kernels]);
    const self = this as unknown as Record<string, Module | null>;
    kernels.forEach((k, i) => {
      const c = i === 0 ? cin : cout;
      self[`bn${i + 1}`] = new BatchNorm2d(c);
      if (i > 0 && p > 0) self[`dropout${i + 1}`] = new Dropout(p);
      self[`conv${i + 1}`] = conv(c, cout, k, i === 0 ? stride : 1);
    });
    self.downsample = stride !== 1 || cin !== cout ? projection(cin, cout, stride) : null;
    self.drop = options.drop ?? null;
  }

  /** The i-th conv (1-based, as its key `conv<i>`). */
  conv(i: number): Conv2d {
    return (this as unknown as Record<string, Conv2d>)[`conv${i}`];
  }

  /** The i-th BN (1-based: `bn<i>` normalises the input of `conv<i>`). */
  bn(i: number): BatchNorm2d {
    return (this as unknown as Record<string, BatchNorm2d>)[`bn${i}`];
  }

  /** The dropout in front of `conv<i>` (i >= 2), or null. */
  dropoutBefore(i: number): Dropout | null {
    return (this as unknown as Record<string, Dropout | undefined>)[`dropout${i}`] ?? null;
  }

  /** The branch after the first BN-ReLU. */
  rest(pre: Tensor): Tensor {
    const steps: ((t: Tensor) => Tensor)[] = [(t) => this.conv(1).forward(t)];
    for (let i = 2; i <= this.kernels.length; i++) {
      const d = this.dropoutBefore(i);
      steps.push(
        (t) => this.bn(i).forwardRelu(t),
        ...(d ? [(t: Tensor) => d.forward(t)] : []),
        (t) => this.conv(i).forward(t),
      );
    }
    return chain(pre, steps);
  }

  /** x + F(x) (F gated by `drop` with stochastic depth). */
  forward(x: Tensor): Tensor {
    return unitForward(this, x);
  }
}

/** Full pre-activation bottleneck unit: (BN-ReLU-conv) × 3, 1×1 → 3×3 → 1×1 (4× expansion). */
export class PreActBottleneck extends Module {
  /** Pre-activation BN of the unit input (shared with the projection). */
  bn1: BatchNorm2d;
  /** 1×1 reduction (stride here when strideOn is "1x1"). */
  conv1: Conv2d;
  /** BN before the 3×3. */
  bn2: BatchNorm2d;
  /** 3×3 conv (stride here when strideOn is "3x3"). */
  conv2: Conv2d;
  /** BN before the 1×1 expansion. */
  bn3: BatchNorm2d;
  /** Dropout before the last conv, or null. */
  dropout: Dropout | null;
  /** 1×1 expansion to the output width. */
  conv3: Conv2d;
  /** 1×1 projection of the pre-activated input where the shape changes, else null (identity). */
  downsample: Sequential | null;
  /** Stochastic-depth gate of the residual branch, or null. */
  drop: StochasticDepth | null;
  /** Output channels per inner width (4). */
  static readonly expansion = 4;

  /** A unit from `cin` to `cout` channels (inner width cout / 4). */
  constructor(cin: number, cout: number, a: UnitArgs) {
    super();
    const mid = cout / 4;
    if (!Number.isInteger(mid)) {
      throw rangeError("create PreActBottleneck", `output channels ${cout} are not divisible by 4`);
    }
    const s1 = a.strideOn === "1x1" ? a.stride : 1;
    const s3 = a.strideOn === "1x1" ? 1 : a.stride;
    this.bn1 = new BatchNorm2d(cin);
    this.conv1 = conv(cin, mid, 1, s1);
    this.bn2 = new BatchNorm2d(mid);
    this.conv2 = conv(mid, mid, 3, s3);
    this.bn3 = new BatchNorm2d(mid);
    this.dropout = a.dropout > 0 ? new Dropout(a.dropout) : null;
    this.conv3 = conv(mid, cout, 1);
    this.downsample = a.stride !== 1 || cin !== cout ? projection(cin, cout, a.stride) : null;
    this.drop = a.drop ?? null;
  }

  /** The branch after the first BN-ReLU. */
  rest(pre: Tensor): Tensor {
    return chain(pre, [
      (t) => this.conv1.forward(t),
      (t) => this.bn2.forwardRelu(t),
      (t) => this.conv2.forward(t),
      (t) => this.bn3.forwardRelu(t),
      ...(this.dropout ? [(t: Tensor) => this.dropout!.forward(t)] : []),
      (t) => this.conv3.forward(t),
    ]);
  }

  /** x + F(x) (F gated by `drop` with stochastic depth). */
  forward(x: Tensor): Tensor {
    return unitForward(this, x);
  }
}

const ROW_FIELDS = [
  "block",
  "depths",
  "layout",
  "widths",
  "stemWidth",
  "strideOn",
  "kernels",
  "stochasticDepth",
] as const;

/**
 * The family's network: `conv1` (→ `maxpool` on ImageNet) → `layer1..N` → `bn` → `relu` → `avgpool` →
 * `flatten` → `fc`.
 */
export class PreActResNet extends Module {
  /** The resolved row (options applied). */
  readonly config: Readonly<PreActConfig>;

  /** Builds a network from a row and options. */
  constructor(cfg: PreActConfig, options: PreActOptions = {}) {
    super();
    const c: PreActConfig = { ...cfg };
    for (const k of ROW_FIELDS) {
      if (options[k] !== undefined) (c as unknown as Record<string, unknown>)[k] = options[k];
    }
    const action = "create PreActResNet";
    if (c.block !== "basic" && c.block !== "bottleneck") {
      throw rangeError(action, `block must be "basic" or "bottleneck", got ${JSON.stringify(c.block)}`);
    }
    if (c.kernels !== undefined) {
      c.kernels = Object.freeze([...checkKernels(action, c.kernels)]);
      if (c.block !== "basic") {
        throw rangeError(action, `kernels apply to block "basic" only, got block ${JSON.stringify(c.block)}`);
      }
    }
    if (c.layout !== "imagenet" && c.layout !== "cifar") {
      throw rangeError(action, `layout must be "imagenet" or "cifar", got ${JSON.stringify(c.layout)}`);
    }
    if (!c.depths.length || !c.depths.every((d) => Number.isInteger(d) && d >= 1)) {
      throw rangeError(action, `depths must be integers >= 1, got [${c.depths}]`);
    }
    this.config = Object.freeze(c);
    const imagenet = c.layout === "imagenet";
    const expansion = c.block === "bottleneck" ? 4 : 1;
    const base = imagenet ? 64 : 16;
    const widths = c.widths ?? c.depths.map((_, i) => base * 2 ** i * expansion);
    if (widths.length !== c.depths.length) {
      throw rangeError(action, `${c.depths.length} depths but ${widths.length} widths`);
    }
    const stemWidth = c.stemWidth ?? base;
    const strideOn = c.strideOn ?? (imagenet ? "3x3" : "1x1");
    const dropout = options.dropout ?? 0;
    const numClasses = options.numClasses ?? (imagenet ? 1000 : 10);
    const inChannels = options.inChannels ?? 3;
    const self = this as unknown as Record<string, Module>;
    self.conv1 = imagenet
      ? new Conv2d(inChannels, stemWidth, { kernelSize: 7, stride: 2, padding: 3, bias: false })
      : conv(inChannels, stemWidth, 3);
    if (imagenet) self.maxpool = new MaxPool2d({ kernelSize: 3, stride: 2, padding: 1 });
    const kernels = c.kernels && !isB33(c.kernels) ? c.kernels : undefined;
    const dropFor = stochasticDepthGates(c.stochasticDepth, c.depths.reduce((p, n) => p + n, 0), action);
    const unit = (cin: number, cout: number, stride: number): Module => {
      const drop = dropFor();
      return c.block === "bottleneck"
        ? new PreActBottleneck(cin, cout, { stride, strideOn, dropout, drop })
        : kernels
        ? new PreActKernelBlock(cin, cout, { kernels, stride, dropout, drop })
        : new PreActBasicBlock(cin, cout, { stride, strideOn, dropout, drop });
    };
    let cin = stemWidth;
    c.depths.forEach((n, si) => {
      const stage = new Sequential();
      for (let i = 0; i < n; i++) {
        const stride = i === 0 && si > 0 ? 2 : 1;
        stage.add(unit(cin, widths[si], stride));
        cin = widths[si];
      }
      self[`layer${si + 1}`] = stage;
    });
    self.bn = new BatchNorm2d(cin);
    self.relu = new ReLU();
    self.avgpool = new AdaptiveAvgPool2d(1);
    self.flatten = new Flatten();
    self.fc = new Linear(cin, numClasses);
    const g = options.generator ?? defaultGenerator;
    for (const [, m] of this.namedModules()) {
      if (m instanceof Conv2d) init.kaimingNormal(m.weight, { mode: "fan_out" }, g);
      else if (m instanceof Linear) {
        init.torchDefault(m.weight, null, g);
        init.constant(m.bias!, 0);
      }
    }
  }

  /** Logits [n, numClasses]. */
  forward(x: Tensor): Tensor {
    const mods = this.namedChildren().map(([, m]) => m);
    return chain(x, mods.map((m) => (t: Tensor) => m.forward(t)));
  }
}

/** The rows: ImageNet pre-act ResNet-18...200 and the CIFAR nets of the paper. */
export const PREACT_RESNETS = {
  preact_resnet18: { block: "basic", depths: [2, 2, 2, 2], layout: "imagenet" },
  preact_resnet34: { block: "basic", depths: [3, 4, 6, 3], layout: "imagenet" },
  preact_resnet50: { block: "bottleneck", depths: [3, 4, 6, 3], layout: "imagenet" },
  preact_resnet101: { block: "bottleneck", depths: [3, 4, 23, 3], layout: "imagenet" },
  preact_resnet152: { block: "bottleneck", depths: [3, 8, 36, 3], layout: "imagenet" },
  preact_resnet200: { block: "bottleneck", depths: [3, 24, 36, 3], layout: "imagenet" },
  preact_resnet110_cifar: { block: "basic", depths: [18, 18, 18], layout: "cifar" },
  preact_resnet164_cifar: { block: "bottleneck", depths: [18, 18, 18], layout: "cifar" },
  preact_resnet1001_cifar: { block: "bottleneck", depths: [111, 111, 111], layout: "cifar" },
} as const satisfies Record<string, PreActConfig>;

/**
 * The row of WRN-depth-k with block type `kernels` (default [3, 3], B(3,3)): n = (depth − 4) / 6 units per
 * stage whatever the block type, as the authors' code counts depth, which reproduces the parameter counts
 * of the paper's Table 1 (WRN-22-2 B(3,1,3) 1.1M, WRN-40-2 B(1,3,1) 1.4M, ...); widths 16k, 32k, 64k
 * after a 16-channel 3×3 stem. The row has no `kernels` field for [3, 3], so WRN-d-k is unchanged.
 *
 * @example
 * ```ts
 * import { wrnConfig } from "./preact_resnet.ts";
 * console.log(wrnConfig(28, 10).depths); // [4, 4, 4]
 * console.log(wrnConfig(40, 2, [1, 3, 1]).depths); // [6, 6, 6]: Table 1, B(1,3,1)
 * ```
 */
export function wrnConfig(depth: number, k: number, kernels: readonly number[] = [3, 3]): PreActConfig {
  const action = "create WRN";
  checkKernels(action, kernels);
  const n = (depth - 4) / 6;
  if (!Number.isInteger(n) || n < 1) {
    throw rangeError(
      action,
      `depth must be 6n + 4 with n >= 1 (n units per stage, ${blockName(kernels)}), got ${depth}`,
    );
  }
  if (!Number.isInteger(k) || k < 1) throw rangeError(action, `k must be an integer >= 1, got ${k}`);
  return {
    block: "basic",
    depths: [n, n, n],
    layout: "cifar",
    widths: [16 * k, 32 * k, 64 * k],
    stemWidth: 16,
    ...(isB33(kernels) ? {} : { kernels: [...kernels] }),
  };
}

/**
 * Options of {@linkcode wrn}: the family's options and row overrides, with the WRN block type given as
 * `block` (a list of kernel sizes) or `l` (deepening factor).
 */
export interface WrnOptions extends ModelOptions, Omit<Partial<PreActConfig>, "block" | "kernels"> {
  /** Block type as kernel sizes, e.g. [3, 1, 3] for B(3,1,3) (default [3, 3]; [3, 3, 3] is B(3)×3). */
  block?: readonly number[];
  /**
   * Deepening factor: convs per block. Alone it means B(3)×l (l 3×3 convs); with `block` it must equal
   * `block.length`.
   */
  l?: number;
  /** Dropout in front of every conv of a block after the first (0.3 in the paper; default 0). */
  dropout?: number;
  /** Generator for the weights (default: the global generator). */
  generator?: Generator;
}

/**
 * Builds WRN-depth-k (CIFAR, pre-activation) with any block type of the WRN paper: `block` as kernel sizes
 * (B(3,3) by default, B(3,1,3), B(1,3,1), B(1,3), B(3,1), B(3,1,1)) or the deepening factor `l` (B(3)×l).
 * n = (depth − 4) / 6 units per stage for every block type (the authors' depth label, which reproduces the
 * parameter counts of Table 1), a RangeError when that is not an integer >= 1. `wrn(d, k)` has the keys and weights layout of the registry's `wrn_<d>_<k>`, which
 * accepts the same options.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * import { wrn } from "./preact_resnet.ts";
 * await cnn.init({ threads: 1 });
 * const b33 = wrn(16, 4); // WRN-16-4, same as cnn.models.create("wrn_16_4")
 * console.log(b33.numParameters()); // 2748890
 * const b313 = wrn(22, 2, { block: [3, 1, 3], dropout: 0.3 }); // Table 1
 * const deep = wrn(16, 2, { l: 4 }); // B(3,3,3,3), two blocks per stage
 * console.log(b313.numParameters(), deep.numParameters());
 * ```
 */
export function wrn(depth: number, k: number, options: WrnOptions = {}): PreActResNet {
  const action = "create WRN";
  const { block, l, ...rest } = options;
  if ((rest as Record<string, unknown>).kernels !== undefined) {
    throw rangeError(action, "give the block type as option block (e.g. block: [3, 1, 3]), not kernels");
  }
  if (l !== undefined && !(Number.isInteger(l) && l >= 1)) {
    throw rangeError(action, `l (convs per block) must be an integer >= 1, got ${l}`);
  }
  const kernels = block === undefined
    ? (l === undefined ? [3, 3] : Array<number>(l).fill(3))
    : checkKernels(action, block, "block");
  if (l !== undefined && kernels.length !== l) {
    throw rangeError(action, `l = ${l} but block ${blockName(kernels)} has ${kernels.length} convs`);
  }
  return preactResNet(wrnConfig(depth, k, kernels), rest);
}

/** Builds a pre-activation network from a row. */
export function preactResNet(cfg: PreActConfig, options: PreActOptions = {}): PreActResNet {
  return new PreActResNet(cfg, options);
}

function entryOf(cfg: PreActConfig, description: string): ModelEntry {
  const imagenet = cfg.layout === "imagenet";
  return {
    family: cfg.widths && cfg.layout === "cifar" ? "wrn" : "preact_resnet",
    description,
    inputSize: imagenet ? [3, 224, 224] : [3, 32, 32],
    numClasses: imagenet ? 1000 : 10,
    build: (o) => preactResNet(cfg, o as PreActOptions),
  };
}

/** The WRN rows listed by name; any other `wrn_<depth>_<k>` resolves through {@linkcode resolveWrn}. */
export const WRNS: Record<string, [number, number]> = {
  wrn_16_4: [16, 4],
  wrn_16_8: [16, 8],
  wrn_22_8: [22, 8],
  wrn_28_10: [28, 10],
  wrn_40_4: [40, 4],
  wrn_40_10: [40, 10],
};

function wrnEntry(depth: number, k: number): ModelEntry {
  const e = entryOf(
    wrnConfig(depth, k),
    `WRN-${depth}-${k} (Zagoruyko & Komodakis, CIFAR, pre-activation; option dropout between the convs, 0.3 in the paper; block type by option block (kernel sizes) or l, as wrn())`,
  );
  return { ...e, build: (o) => wrn(depth, k, o as WrnOptions) };
}

/** Resolves `wrn_<depth>_<k>` for any depth = 6n + 4 and k >= 1 (undefined for other names). */
export function resolveWrn(name: string): ModelEntry | undefined {
  const m = /^wrn_(\d+)_(\d+)$/.exec(name);
  if (!m) return undefined;
  const [depth, k] = [Number(m[1]), Number(m[2])];
  if ((depth - 4) % 6 !== 0 || depth < 10 || k < 1) return undefined;
  return wrnEntry(depth, k);
}

/** Registry entries of the pre-activation ResNets and the listed WRNs. */
export const PREACT_ENTRIES: Record<string, ModelEntry> = {
  ...Object.fromEntries(
    Object.entries(PREACT_RESNETS).map(([name, cfg]) => [
      name,
      entryOf(
        cfg,
        cfg.layout === "imagenet"
          ? `pre-activation ResNet-${
            name.slice(13)
          } (He et al. 2016b, ImageNet; timm ResNetV2 layout, stride on the 3x3)`
          : `pre-activation ResNet-${
            name.slice(13)
          } (He et al. 2016b, CIFAR; stride on the first 1x1 as resnet-1k-layers)`,
      ),
    ]),
  ),
  ...Object.fromEntries(Object.entries(WRNS).map(([name, [d, k]]) => [name, wrnEntry(d, k)])),
};
