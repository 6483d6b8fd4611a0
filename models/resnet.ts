/**
 * The ResNet family as rows of one table read by one builder: torchvision's ResNet-18...152 (v1.5, stride
 * on the 3×3) and the paper's v1 (stride on the first 1×1), ResNeXt and Wide ResNet (torchvision
 * `groups` / `width_per_group`), the CIFAR ResNets of He et al. (6n+2 layers, shortcut options A/B/C),
 * ResNeXt-29 on CIFAR, dilated residual networks (DRN-A by `outputStride`, DRN-C and DRN-D as in
 * fyu/drn `drn.py`), and stochastic depth (Huang et al.) on any of them as an option.
 *
 * State-dict keys and their order are torchvision's (`layer1.0.downsample.0.weight`) and, for DRN-C/D,
 * fyu/drn's (`layer0.0.weight`, `layer7.0.conv1.weight`, `fc.weight` of a 1×1 conv).
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const net = cnn.models.create("resnet20_cifar");
 * console.log(net.numParameters()); // 269722
 * ```
 * @module
 */
import {
  AdaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  init,
  Linear,
  MaxPool2d,
  Module,
  ReLU,
  Sequential,
  type StochasticDepth,
} from "../layers/mod.ts";
import { defaultGenerator, type Generator, ops, rangeError, type Tensor, zeros } from "../tensor/mod.ts";
import type { ModelEntry, ModelOptions } from "./registry.ts";
import { stochasticDepthGates, type StochasticDepthOptions } from "./_stochastic_depth.ts";
import { chain } from "./_chain.ts";

export type { StochasticDepthOptions } from "./_stochastic_depth.ts";

/** Residual block type: two 3×3 convs (expansion 1) or 1×1-3×3-1×1 (expansion 4). */
export type BlockKind = "basic" | "bottleneck";

/**
 * Shortcut option of He et al.: "A" identity with zero-padded extra channels (parameter-free), "B"
 * projection (1×1 conv + BN) only where the shape changes, "C" projection on every block.
 */
export type ShortcutOption = "A" | "B" | "C";

/** One row of the table: everything that tells two ResNets apart. */
export interface ResNetConfig {
  /** Residual block type. */
  block: BlockKind;
  /** Blocks per stage (per level 1..8 for DRN-C/D; 0 omits a level). */
  depths: readonly number[];
  /** Stem and stage layout: torchvision ImageNet, CIFAR (3×3 stem, no max-pool), or DRN-C / DRN-D. */
  layout?: "imagenet" | "cifar" | "drn_c" | "drn_d";
  /** Bottleneck width ("planes") of each stage; default 64·2^i (ImageNet), 16·2^i (CIFAR). */
  widths?: readonly number[];
  /** Output channels of the stem (default 64; CIFAR ResNets 16). */
  stemWidth?: number;
  /** Groups of the 3×3 conv of bottlenecks (ResNeXt cardinality). */
  groups?: number;
  /** Width per group at the first stage (64 plain, 4 for 32x4d, 128 for wide_resnet*_2). */
  widthPerGroup?: number;
  /** Where a bottleneck's stride goes: "3x3" (torchvision, v1.5) or "1x1" (the paper, v1). */
  strideOn?: "3x3" | "1x1";
  /** Shortcut option (default "B"). */
  shortcut?: ShortcutOption;
  /** Replace the last strides with dilation until the total stride is this (8, 16 or 32). */
  outputStride?: number;
  /**
   * Dilation of the first block of a dilated stage: "torchvision" (the previous stage's dilation, as
   * replace_stride_with_dilation) or "drn" (1, as fyu/drn DRN_A).
   */
  dilationRule?: "torchvision" | "drn";
  /** Stochastic depth on every residual block. */
  stochasticDepth?: StochasticDepthOptions;
}

/** Options of the ResNet family: the common ones plus any {@linkcode ResNetConfig} field to override. */
export interface ResNetOptions extends ModelOptions, Partial<ResNetConfig> {
  /** Zero the last BN γ of each residual branch (torchvision zero_init_residual). */
  zeroInitResidual?: boolean;
  /** Option-A downsampling of the identity: strided "subsample" x[:, :, ::2, ::2] (default) or 2×2 "avgpool". */
  shortcutADownsample?: "subsample" | "avgpool";
  /** Option-A zero channels: appended at the "end" (default, fb.resnet.torch) or split on "both" sides. */
  shortcutAPad?: "end" | "both";
  /** Generator for the weights (default: the global generator). */
  generator?: Generator;
}

/** Parameter-free option-A shortcut: spatial downsampling then zero channels. */
export class ZeroPadShortcut extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly stride: number;
  readonly downsampleMode: "subsample" | "avgpool";
  readonly pad: "end" | "both";

  constructor(
    inChannels: number,
    outChannels: number,
    options: { stride?: number; downsample?: "subsample" | "avgpool"; pad?: "end" | "both" } = {},
  ) {
    super();
    if (outChannels < inChannels) {
      throw rangeError(
        "create option-A shortcut",
        `it cannot shrink channels (${inChannels} -> ${outChannels}); use option B`,
      );
    }
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.stride = options.stride ?? 1;
    this.downsampleMode = options.downsample ?? "subsample";
    this.pad = options.pad ?? "end";
  }

  forward(x: Tensor): Tensor {
    let y = x;
    if (this.stride > 1) {
      y = this.downsampleMode === "avgpool"
        ? ops.avgPool2d(x, { kernelSize: this.stride, stride: this.stride, ceilMode: true })
        : ops.avgPool2d(x, { kernelSize: 1, stride: this.stride });
    }
    const extra = this.outChannels - this.inChannels;
    if (extra === 0) return y === x ? ops.clone(x) : y;
    const [n, , h, w] = y.shape;
    const before = this.pad === "both" ? Math.floor(extra / 2) : 0;
    const parts = [
      ...(before ? [zeros([n, before, h, w], { rt: y.rt })] : []),
      y,
      zeros([n, extra - before, h, w], { rt: y.rt }),
    ];
    const out = ops.concat(parts);
    for (const p of parts) if (p !== x) p.dispose();
    return out;
  }
}

/** What a block needs besides its channel counts. */
interface BlockArgs {
  stride: number;
  /** Dilation of the first and the second 3×3 conv (basic) / of the 3×3 (bottleneck: second entry). */
  dilation: [number, number];
  groups: number;
  baseWidth: number;
  strideOn: "3x3" | "1x1";
  downsample: Module | null;
  residual: boolean;
  drop: StochasticDepth | null;
}

function conv(cin: number, cout: number, k: number, stride = 1, dilation = 1, groups = 1): Conv2d {
  return new Conv2d(cin, cout, {
    kernelSize: k,
    stride,
    padding: k === 3 ? dilation : 0,
    dilation,
    groups,
    bias: false,
  });
}

/** What {@linkcode residualForward} needs from a block. */
interface Residual {
  downsample: Module | null;
  drop: StochasticDepth | null;
  residual: boolean;
  branch(x: Tensor): Tensor;
}

/** relu(shortcut(x) + gate · F(x)), or relu(F(x)) without the residual; a dropped block runs no branch. */
function residualForward(b: Residual, x: Tensor): Tensor {
  if (!b.residual) {
    const f = b.branch(x);
    const y = ops.relu(f);
    f.dispose();
    return y;
  }
  const gate = b.drop ? b.drop.gate() : 1;
  const skip = b.downsample ? b.downsample.forward(x) : x;
  if (gate === 0) {
    // a dropped block launches no branch kernels at all, forward or backward
    const y = ops.relu(skip);
    if (skip !== x) skip.dispose();
    return y;
  }
  const f = b.branch(x);
  const y = ops.add(skip, f, { beta: gate, relu: true });
  f.dispose();
  if (skip !== x) skip.dispose();
  return y;
}

/** Two 3×3 convs (torchvision BasicBlock; dilations per conv as fyu/drn). Expansion 1. */
export class BasicBlock extends Module {
  conv1: Conv2d;
  bn1: BatchNorm2d;
  relu: ReLU;
  conv2: Conv2d;
  bn2: BatchNorm2d;
  downsample: Module | null;
  drop: StochasticDepth | null;
  residual: boolean;
  /** Output channels per `planes` (1). */
  static readonly expansion = 1;

  /** A block from `inplanes` to `planes` channels. */
  constructor(inplanes: number, planes: number, a: BlockArgs) {
    super();
    if (a.groups !== 1 || a.baseWidth !== 64) {
      throw rangeError("create BasicBlock", "groups and widthPerGroup apply to bottleneck blocks only");
    }
    this.conv1 = conv(inplanes, planes, 3, a.stride, a.dilation[0]);
    this.bn1 = new BatchNorm2d(planes);
    this.relu = new ReLU();
    this.conv2 = conv(planes, planes, 3, 1, a.dilation[1]);
    this.bn2 = new BatchNorm2d(planes);
    this.downsample = a.downsample;
    this.drop = a.drop;
    this.residual = a.residual;
  }

  /** The BN closing the branch. */
  lastBn(): BatchNorm2d {
    return this.bn2;
  }

  /** The residual branch without the final ReLU. */
  branch(x: Tensor): Tensor {
    return chain(x, [
      (t) => this.conv1.forward(t),
      (t) => this.bn1.forwardRelu(t),
      (t) => this.conv2.forward(t),
      (t) => this.bn2.forward(t),
    ]);
  }

  /** relu(shortcut(x) + gate · branch(x)). */
  forward(x: Tensor): Tensor {
    return residualForward(this, x);
  }
}

/** 1×1 → 3×3 (grouped, dilated) → 1×1 with 4× expansion (torchvision Bottleneck). */
export class Bottleneck extends Module {
  conv1: Conv2d;
  bn1: BatchNorm2d;
  conv2: Conv2d;
  bn2: BatchNorm2d;
  conv3: Conv2d;
  bn3: BatchNorm2d;
  relu: ReLU;
  downsample: Module | null;
  drop: StochasticDepth | null;
  residual: boolean;
  /** Output channels per `planes` (4). */
  static readonly expansion = 4;

  /** A block from `inplanes` to 4·`planes` channels; the 3×3 has int(planes·baseWidth/64)·groups. */
  constructor(inplanes: number, planes: number, a: BlockArgs) {
    super();
    const width = Math.floor(planes * (a.baseWidth / 64)) * a.groups;
    if (width < 1) throw rangeError("create Bottleneck", `inner width is ${width}`);
    const s1 = a.strideOn === "1x1" ? a.stride : 1;
    const s3 = a.strideOn === "1x1" ? 1 : a.stride;
    this.conv1 = conv(inplanes, width, 1, s1);
    this.bn1 = new BatchNorm2d(width);
    this.conv2 = conv(width, width, 3, s3, a.dilation[1], a.groups);
    this.bn2 = new BatchNorm2d(width);
    this.conv3 = conv(width, planes * 4, 1);
    this.bn3 = new BatchNorm2d(planes * 4);
    this.relu = new ReLU();
    this.downsample = a.downsample;
    this.drop = a.drop;
    this.residual = a.residual;
  }

  /** The BN closing the branch. */
  lastBn(): BatchNorm2d {
    return this.bn3;
  }

  /** The residual branch without the final ReLU. */
  branch(x: Tensor): Tensor {
    return chain(x, [
      (t) => this.conv1.forward(t),
      (t) => this.bn1.forwardRelu(t),
      (t) => this.conv2.forward(t),
      (t) => this.bn2.forwardRelu(t),
      (t) => this.conv3.forward(t),
      (t) => this.bn3.forward(t),
    ]);
  }

  /** relu(shortcut(x) + gate · branch(x)). */
  forward(x: Tensor): Tensor {
    return residualForward(this, x);
  }
}

/** One level of the network, before construction. */
interface StageSpec {
  /** "blocks": residual blocks; "conv": DRN-D's plain conv-BN-ReLU stacks. */
  kind: "blocks" | "conv";
  block: BlockKind;
  planes: number;
  n: number;
  stride: number;
  /** Dilation of the first block's convs. */
  firstDilation: [number, number];
  dilation: number;
  residual: boolean;
}

function resolve(cfg: ResNetConfig): { stages: StageSpec[]; stemStride: number } {
  const layout = cfg.layout ?? "imagenet";
  const action = "create ResNet";
  if (layout === "drn_c" || layout === "drn_d") {
    if (cfg.depths.length !== 8) {
      throw rangeError(action, `DRN needs 8 level depths, got ${cfg.depths.length}`);
    }
    const w = cfg.widths ?? [16, 32, 64, 128, 256, 512, 512, 512];
    const c = layout === "drn_c";
    const d = cfg.depths;
    const st = (
      i: number,
      kind: "blocks" | "conv",
      block: BlockKind,
      stride: number,
      dil: number,
      residual = true,
    ): StageSpec => ({
      kind,
      block,
      planes: w[i],
      n: d[i],
      stride,
      firstDilation: [dil, dil],
      dilation: dil,
      residual,
    });
    return {
      stemStride: 1,
      stages: [
        st(0, c ? "blocks" : "conv", "basic", 1, 1),
        st(1, c ? "blocks" : "conv", "basic", 2, 1),
        st(2, "blocks", cfg.block, 2, 1),
        st(3, "blocks", cfg.block, 2, 1),
        st(4, "blocks", cfg.block, 1, 2),
        st(5, "blocks", cfg.block, 1, 4),
        st(6, c ? "blocks" : "conv", "basic", 1, 2, false),
        st(7, c ? "blocks" : "conv", "basic", 1, 1, false),
      ],
    };
  }
  const n = cfg.depths.length;
  const base = layout === "cifar" ? 16 : 64;
  const widths = cfg.widths ?? cfg.depths.map((_, i) => base * 2 ** i);
  if (widths.length !== n) throw rangeError(action, `${n} depths but ${widths.length} widths`);
  const stemStride = layout === "imagenet" ? 4 : 1;
  const strides: number[] = cfg.depths.map((_, i) => (i === 0 ? 1 : 2));
  let total = stemStride * strides.reduce((p, s) => p * s, 1);
  const target = cfg.outputStride ?? total;
  if (![8, 16, 32].includes(target) && target !== total) {
    throw rangeError(action, `outputStride must be 8, 16 or 32, got ${cfg.outputStride}`);
  }
  if (target > total || total % target) {
    throw rangeError(action, `outputStride ${target} is not reachable from the natural ${total}`);
  }
  const dilated = strides.map(() => false);
  for (let i = n - 1; i >= 0 && total > target; i--) {
    if (strides[i] > 1) {
      total /= strides[i];
      dilated[i] = true;
    }
  }
  if (total !== target) throw rangeError(action, `outputStride ${target} is not reachable`);
  const rule = cfg.dilationRule ?? "torchvision";
  let dilation = 1;
  const stages: StageSpec[] = [];
  for (let i = 0; i < n; i++) {
    const prev = dilation;
    let stride = strides[i];
    if (dilated[i]) {
      dilation *= stride;
      stride = 1;
    }
    const first = rule === "drn" && dilated[i] ? 1 : prev;
    stages.push({
      kind: "blocks",
      block: cfg.block,
      planes: widths[i],
      n: cfg.depths[i],
      stride,
      firstDilation: [first, first],
      dilation,
      residual: true,
    });
  }
  return { stages, stemStride };
}

/**
 * The ResNet family's one network class. Attribute names follow torchvision (conv1, bn1, relu, maxpool,
 * layer1..layerN, avgpool, fc) or, for DRN-C/D, fyu/drn (layer0 for the D stem, layer1..8, a 1×1 conv fc).
 */
export class ResNet extends Module {
  /** The resolved row (config fields with options applied). */
  readonly config: Readonly<ResNetConfig>;

  /** Builds a network from a config row and options. */
  constructor(cfg: ResNetConfig, options: ResNetOptions = {}) {
    super();
    const c: ResNetConfig = { ...cfg };
    for (const k of Object.keys(options) as (keyof ResNetConfig)[]) {
      if (k in KNOWN_FIELDS && options[k] !== undefined) {
        (c as unknown as Record<string, unknown>)[k] = options[k];
      }
    }
    this.config = Object.freeze(c);
    const action = "create ResNet";
    const layout = c.layout ?? "imagenet";
    const numClasses = options.numClasses ?? 1000;
    const inChannels = options.inChannels ?? 3;
    const groups = c.groups ?? 1;
    const baseWidth = c.widthPerGroup ?? 64;
    const shortcut = c.shortcut ?? "B";
    if (!["A", "B", "C"].includes(shortcut)) {
      throw rangeError(action, `shortcut must be "A", "B" or "C", got ${JSON.stringify(shortcut)}`);
    }
    if (!["basic", "bottleneck"].includes(c.block)) {
      throw rangeError(action, `block must be "basic" or "bottleneck", got ${JSON.stringify(c.block)}`);
    }
    if (!c.depths.every((d) => Number.isInteger(d) && d >= 0)) {
      throw rangeError(action, `depths must be integers >= 0, got [${c.depths}]`);
    }
    const { stages } = resolve(c);
    const drn = layout === "drn_c" || layout === "drn_d";
    const stemWidth = c.stemWidth ?? (drn ? stages[0].planes : layout === "cifar" ? 16 : 64);
    const totalBlocks = stages.filter((s) => s.kind === "blocks" && s.residual).reduce((p, s) => p + s.n, 0);
    const dropFor = stochasticDepthGates(c.stochasticDepth, totalBlocks, action);

    const self = this as unknown as Record<string, Module>;
    // stem
    if (layout === "drn_d") {
      self.layer0 = new Sequential(
        new Conv2d(inChannels, stemWidth, { kernelSize: 7, padding: 3, bias: false }),
        new BatchNorm2d(stemWidth),
        new ReLU(),
      );
    } else {
      const k = layout === "cifar" ? 3 : 7;
      const stride = layout === "imagenet" ? 2 : 1;
      self.conv1 = new Conv2d(inChannels, stemWidth, {
        kernelSize: k,
        stride,
        padding: (k - 1) / 2,
        bias: false,
      });
      self.bn1 = new BatchNorm2d(stemWidth);
      self.relu = new ReLU();
      if (layout === "imagenet") self.maxpool = new MaxPool2d({ kernelSize: 3, stride: 2, padding: 1 });
    }
    // stages
    let inplanes = stemWidth;
    const aOpts = { downsample: options.shortcutADownsample, pad: options.shortcutAPad };
    stages.forEach((s, si) => {
      if (s.n === 0) return;
      const name = `layer${si + 1}`;
      if (s.kind === "conv") {
        const seq = new Sequential();
        for (let i = 0; i < s.n; i++) {
          seq.add(conv(inplanes, s.planes, 3, i === 0 ? s.stride : 1, s.dilation));
          seq.add(new BatchNorm2d(s.planes));
          seq.add(new ReLU());
          inplanes = s.planes;
        }
        self[name] = seq;
        return;
      }
      const Block = s.block === "basic" ? BasicBlock : Bottleneck;
      const out = s.planes * Block.expansion;
      const seq = new Sequential();
      for (let i = 0; i < s.n; i++) {
        const stride = i === 0 ? s.stride : 1;
        const changes = stride !== 1 || inplanes !== out;
        let downsample: Module | null = null;
        if (shortcut === "C" || (changes && (shortcut === "B" || drn || !s.residual))) {
          downsample = new Sequential(conv(inplanes, out, 1, stride), new BatchNorm2d(out));
        } else if (changes) {
          downsample = new ZeroPadShortcut(inplanes, out, { stride, ...aOpts });
        }
        seq.add(
          new Block(inplanes, s.planes, {
            stride,
            dilation: i === 0 ? s.firstDilation : [s.dilation, s.dilation],
            // DRN's fixed basic levels (1, 2, 7, 8) keep plain widths whatever the row's block
            groups: s.block === c.block ? groups : 1,
            baseWidth: s.block === c.block ? baseWidth : 64,
            strideOn: c.strideOn ?? "3x3",
            downsample,
            residual: s.residual,
            drop: s.residual ? dropFor() : null,
          }),
        );
        inplanes = out;
      }
      self[name] = seq;
    });
    // head
    self.avgpool = new AdaptiveAvgPool2d(1);
    self.fc = drn ? new Conv2d(inplanes, numClasses, { kernelSize: 1 }) : new Linear(inplanes, numClasses);
    this.#init(options);
  }

  #init(options: ResNetOptions): void {
    const g = options.generator ?? defaultGenerator;
    for (const [, m] of this.namedModules()) {
      if (m instanceof Conv2d) {
        init.kaimingNormal(m.weight, { mode: "fan_out" }, g);
      } else if (m instanceof Linear) {
        init.torchDefault(m.weight, m.bias, g);
      }
    }
    if (options.zeroInitResidual) {
      for (const [, m] of this.namedModules()) {
        if ((m instanceof BasicBlock || m instanceof Bottleneck) && m.lastBn().weight) {
          init.constant(m.lastBn().weight!, 0);
        }
      }
    }
  }

  /** Logits [n, numClasses] of images [n, inChannels, h, w]. */
  forward(x: Tensor): Tensor {
    let t = x;
    for (const [, m] of this.namedChildren()) {
      const input = m instanceof Linear ? t.flatten(1) : t;
      const next = m.forward(input);
      if (input !== t) input.dispose();
      if (t !== x) t.dispose();
      t = next;
    }
    if (t.rank === 2) return t;
    const y = t.flatten(1);
    if (t !== x) t.dispose();
    return y;
  }
}

const KNOWN_FIELDS: Record<keyof ResNetConfig, true> = {
  block: true,
  depths: true,
  layout: true,
  widths: true,
  stemWidth: true,
  groups: true,
  widthPerGroup: true,
  strideOn: true,
  shortcut: true,
  outputStride: true,
  dilationRule: true,
  stochasticDepth: true,
};

/** The table: torchvision-exact ImageNet rows, paper/CIFAR rows, DRN rows. */
export const RESNET_CONFIGS = {
  resnet18: { block: "basic", depths: [2, 2, 2, 2] },
  resnet34: { block: "basic", depths: [3, 4, 6, 3] },
  resnet50: { block: "bottleneck", depths: [3, 4, 6, 3] },
  resnet101: { block: "bottleneck", depths: [3, 4, 23, 3] },
  resnet152: { block: "bottleneck", depths: [3, 8, 36, 3] },
  resnet50_v1: { block: "bottleneck", depths: [3, 4, 6, 3], strideOn: "1x1" },
  resnext50_32x4d: { block: "bottleneck", depths: [3, 4, 6, 3], groups: 32, widthPerGroup: 4 },
  resnext101_32x8d: { block: "bottleneck", depths: [3, 4, 23, 3], groups: 32, widthPerGroup: 8 },
  resnext101_64x4d: { block: "bottleneck", depths: [3, 4, 23, 3], groups: 64, widthPerGroup: 4 },
  wide_resnet50_2: { block: "bottleneck", depths: [3, 4, 6, 3], widthPerGroup: 128 },
  wide_resnet101_2: { block: "bottleneck", depths: [3, 4, 23, 3], widthPerGroup: 128 },
  resnet8_cifar: { block: "basic", depths: [1, 1, 1], layout: "cifar", shortcut: "A" },
  resnet20_cifar: { block: "basic", depths: [3, 3, 3], layout: "cifar", shortcut: "A" },
  resnet32_cifar: { block: "basic", depths: [5, 5, 5], layout: "cifar", shortcut: "A" },
  resnet44_cifar: { block: "basic", depths: [7, 7, 7], layout: "cifar", shortcut: "A" },
  resnet56_cifar: { block: "basic", depths: [9, 9, 9], layout: "cifar", shortcut: "A" },
  resnet110_cifar: { block: "basic", depths: [18, 18, 18], layout: "cifar", shortcut: "A" },
  resnet1202_cifar: { block: "basic", depths: [200, 200, 200], layout: "cifar", shortcut: "A" },
  resnet110_sd: {
    block: "basic",
    depths: [18, 18, 18],
    layout: "cifar",
    shortcut: "A",
    stochasticDepth: { pL: 0.5, mode: "paper" },
  },
  resnext29_8x64d: {
    block: "bottleneck",
    depths: [3, 3, 3],
    layout: "cifar",
    stemWidth: 64,
    widths: [64, 128, 256],
    groups: 8,
    widthPerGroup: 64,
  },
  resnext29_16x64d: {
    block: "bottleneck",
    depths: [3, 3, 3],
    layout: "cifar",
    stemWidth: 64,
    widths: [64, 128, 256],
    groups: 16,
    widthPerGroup: 64,
  },
  drn_a_18: { block: "basic", depths: [2, 2, 2, 2], outputStride: 8, dilationRule: "drn" },
  drn_a_34: { block: "basic", depths: [3, 4, 6, 3], outputStride: 8, dilationRule: "drn" },
  drn_a_50: { block: "bottleneck", depths: [3, 4, 6, 3], outputStride: 8, dilationRule: "drn" },
  drn_c_26: { block: "basic", depths: [1, 1, 2, 2, 2, 2, 1, 1], layout: "drn_c" },
  drn_c_42: { block: "basic", depths: [1, 1, 3, 4, 6, 3, 1, 1], layout: "drn_c" },
  drn_c_58: { block: "bottleneck", depths: [1, 1, 3, 4, 6, 3, 1, 1], layout: "drn_c" },
  drn_d_22: { block: "basic", depths: [1, 1, 2, 2, 2, 2, 1, 1], layout: "drn_d" },
  drn_d_38: { block: "basic", depths: [1, 1, 3, 4, 6, 3, 1, 1], layout: "drn_d" },
  drn_d_54: { block: "bottleneck", depths: [1, 1, 3, 4, 6, 3, 1, 1], layout: "drn_d" },
  drn_d_105: { block: "bottleneck", depths: [1, 1, 3, 4, 23, 3, 1, 1], layout: "drn_d" },
} as const satisfies Record<string, ResNetConfig>;

/** A registered name of this family. */
export type ResNetName = keyof typeof RESNET_CONFIGS;

const DESCRIPTIONS: Record<ResNetName, string> = {
  resnet18: "ResNet-18 (He et al. 2015), torchvision-exact",
  resnet34: "ResNet-34 (He et al. 2015), torchvision-exact",
  resnet50: "ResNet-50 v1.5 (stride on the 3x3), torchvision-exact",
  resnet101: "ResNet-101 v1.5, torchvision-exact",
  resnet152: "ResNet-152 v1.5, torchvision-exact",
  resnet50_v1: "ResNet-50 as in the paper (stride on the first 1x1, 3.86 GMACs); torchvision keys",
  resnext50_32x4d: "ResNeXt-50 32x4d (Xie et al. 2016), torchvision-exact",
  resnext101_32x8d: "ResNeXt-101 32x8d, torchvision-exact",
  resnext101_64x4d: "ResNeXt-101 64x4d, torchvision-exact",
  wide_resnet50_2: "Wide ResNet-50-2 (ImageNet bottleneck, width_per_group 128), torchvision-exact",
  wide_resnet101_2: "Wide ResNet-101-2, torchvision-exact",
  resnet8_cifar: "CIFAR ResNet-8 (6n+2 with n=1; the smallest member of the family, used by the digits demo)",
  resnet20_cifar: "CIFAR ResNet-20 (He et al. 2015, 6n+2, n=3), option-A shortcuts",
  resnet32_cifar: "CIFAR ResNet-32 (n=5), option-A shortcuts",
  resnet44_cifar: "CIFAR ResNet-44 (n=7), option-A shortcuts",
  resnet56_cifar: "CIFAR ResNet-56 (n=9), option-A shortcuts",
  resnet110_cifar: "CIFAR ResNet-110 (n=18), option-A shortcuts",
  resnet1202_cifar: "CIFAR ResNet-1202 (n=200), option-A shortcuts",
  resnet110_sd:
    "CIFAR ResNet-110 with stochastic depth (Huang et al. 2016): linear decay to pL=0.5, paper mode",
  resnext29_8x64d: "ResNeXt-29 8x64d on CIFAR (Xie et al. 2016)",
  resnext29_16x64d: "ResNeXt-29 16x64d on CIFAR (Xie et al. 2016)",
  drn_a_18: "DRN-A-18 (Yu et al. 2017): ResNet-18 at output stride 8, dilation as fyu/drn",
  drn_a_34: "DRN-A-34: ResNet-34 at output stride 8, dilation as fyu/drn",
  drn_a_50: "DRN-A-50: ResNet-50 at output stride 8, dilation as fyu/drn",
  drn_c_26: "DRN-C-26 (fyu/drn drn.py layout and keys)",
  drn_c_42: "DRN-C-42 (fyu/drn)",
  drn_c_58: "DRN-C-58 (fyu/drn; level 7 projection computed-but-unused there, here not computed)",
  drn_d_22: "DRN-D-22 (fyu/drn)",
  drn_d_38: "DRN-D-38 (fyu/drn)",
  drn_d_54: "DRN-D-54 (fyu/drn)",
  drn_d_105: "DRN-D-105 (fyu/drn)",
};

/**
 * Builds a ResNet-family network from a row name (or a config row) and options.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const net = cnn.models.create("resnet20_cifar", { shortcut: "B" });
 * console.log(net.numParameters()); // 272474
 * ```
 */
export function resnet(row: ResNetName | ResNetConfig, options: ResNetOptions = {}): ResNet {
  const cfg = typeof row === "string" ? RESNET_CONFIGS[row] as ResNetConfig : row;
  if (!cfg) throw rangeError("create ResNet", `unknown row ${JSON.stringify(row)}`);
  return new ResNet(cfg, options);
}

function isCifar(cfg: ResNetConfig): boolean {
  return cfg.layout === "cifar";
}

/** Registry entries of the family (see {@linkcode RESNET_CONFIGS}). */
export const RESNETS: Record<string, ModelEntry> = Object.fromEntries(
  (Object.keys(RESNET_CONFIGS) as ResNetName[]).map((name) => {
    const cfg = RESNET_CONFIGS[name] as ResNetConfig;
    const cifar = isCifar(cfg);
    const e: ModelEntry = {
      family: "resnet",
      description: DESCRIPTIONS[name],
      inputSize: cifar ? [3, 32, 32] : [3, 224, 224],
      numClasses: cifar ? 10 : 1000,
      build: (options) => resnet(name, options as ResNetOptions),
    };
    return [name, e];
  }),
);
