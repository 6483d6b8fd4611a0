/**
 * DenseNet (Huang et al., arXiv:1608.06993) as rows `{ growthRate, blockConfig, initFeatures }` read by one
 * builder: torchvision's densenet121/161/169/201 (keys, order and shapes exactly torchvision's), the
 * paper's densenet264, and the CIFAR nets of the paper: DenseNet (L, k) without bottleneck or compression
 * and DenseNet-BC (L, k) with both (any `densenet_<L>_<k>` / `densenet_bc_<L>_<k>` resolves).
 *
 * A dense layer is BN → ReLU → 1×1 conv (bnSize·k) → BN → ReLU → 3×3 conv (k) for B(C) nets, or
 * BN → ReLU → 3×3 conv (k) without bottleneck; its output is concatenated after its input (earliest
 * features first). A transition is BN → ReLU → 1×1 conv (⌊θm⌋) → 2×2 average pool. After the last block:
 * BN (`features.norm5`, whatever the number of blocks, as torchvision) → ReLU → global average pool → FC.
 * CIFAR nets have a plain 3×3 stem (16 channels, or 2k for BC) and 3 blocks.
 *
 * Weights as torchvision: convs kaiming-normal (fan_in), BN γ = 1 and β = 0, FC default with zero bias.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const net = cnn.models.create("densenet_bc_100_12");
 * console.log(net.numParameters()); // 769162
 * ```
 * @module
 */
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
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
} from "../layers/mod.ts";
import { defaultGenerator, type Generator, ops, rangeError, type Tensor } from "../tensor/mod.ts";
import type { ModelEntry, ModelOptions } from "./registry.ts";
import { chain } from "./_chain.ts";

/** One row of the table. */
export interface DenseNetConfig {
  /** New channels per layer, k. */
  growthRate: number;
  /** Layers per dense block. */
  blockConfig: readonly number[];
  /** Channels of the stem's output. */
  initFeatures: number;
  /** ImageNet (7×7/2 conv, BN, ReLU, 3×3/2 max-pool) or CIFAR (a plain 3×3 conv). */
  layout?: "imagenet" | "cifar";
  /** Bottleneck width multiplier (the 1×1 conv outputs bnSize·k); 0 means no bottleneck (plain DenseNet). */
  bnSize?: number;
  /** Compression θ of the transitions (0.5 for -C / -BC, 1 for plain). */
  compression?: number;
}

/** Options: the common ones plus row overrides and where dropout goes. */
export interface DenseNetOptions extends ModelOptions, Partial<DenseNetConfig> {
  /**
   * Where `dropout` applies: "torchvision" (after each layer's last conv, the ImageNet default) or
   * "paper" (after every conv of the dense layers and transitions, as liuzhuang13/DenseNet; the CIFAR
   * default).
   */
  dropoutPlacement?: "torchvision" | "paper";
  /** Generator for the weights (default: the global generator). */
  generator?: Generator;
}

function conv(cin: number, cout: number, k: number): Conv2d {
  return new Conv2d(cin, cout, { kernelSize: k, padding: (k - 1) / 2, bias: false });
}

/** One dense layer (torchvision `_DenseLayer`); returns only its k new channels. */
export class DenseLayer extends Module {
  /** BN of the concatenated input. */
  norm1: BatchNorm2d;
  /** ReLU after norm1. */
  relu1: ReLU;
  /** 1×1 bottleneck (bnSize·k), or the 3×3 conv of a plain layer. */
  conv1: Conv2d;
  /** BN before the 3×3 (bottleneck layers only). */
  norm2: BatchNorm2d | null;
  /** ReLU after norm2 (bottleneck layers only). */
  relu2: ReLU | null;
  /** 3×3 conv to k channels (bottleneck layers only). */
  conv2: Conv2d | null;
  /** Dropout after conv1 (paper placement, bottleneck layers), or null. */
  drop1: Dropout | null;
  /** Dropout on the layer output, or null. */
  drop2: Dropout | null;

  /** A layer reading `cin` channels and producing `growthRate`; bnSize 0 drops the bottleneck. */
  constructor(
    cin: number,
    growthRate: number,
    o: { bnSize: number; dropout: number; placement: "torchvision" | "paper" },
  ) {
    super();
    this.norm1 = new BatchNorm2d(cin);
    this.relu1 = new ReLU();
    const bottleneck = o.bnSize > 0;
    if (bottleneck) {
      const mid = o.bnSize * growthRate;
      this.conv1 = conv(cin, mid, 1);
      this.norm2 = new BatchNorm2d(mid);
      this.relu2 = new ReLU();
      this.conv2 = conv(mid, growthRate, 3);
    } else {
      this.conv1 = conv(cin, growthRate, 3);
      this.norm2 = null;
      this.relu2 = null;
      this.conv2 = null;
    }
    const p = o.dropout;
    this.drop1 = p > 0 && bottleneck && o.placement === "paper" ? new Dropout(p) : null;
    this.drop2 = p > 0 ? new Dropout(p) : null;
  }

  /** The new features of this layer for the concatenated input. */
  forward(x: Tensor): Tensor {
    const steps: ((t: Tensor) => Tensor)[] = [
      (t) => this.norm1.forwardRelu(t),
      (t) => this.conv1.forward(t),
    ];
    if (this.drop1) steps.push((t) => this.drop1!.forward(t));
    if (this.conv2) {
      steps.push((t) => this.norm2!.forwardRelu(t), (t) => this.conv2!.forward(t));
    }
    if (this.drop2) steps.push((t) => this.drop2!.forward(t));
    return chain(x, steps);
  }
}

/** A dense block (torchvision `_DenseBlock`): children `denselayer1..n`; output = [input, new features of every layer]. */
export class DenseBlock extends Module {
  readonly #layers: DenseLayer[] = [];

  /** `n` layers on `cin` input channels. */
  constructor(
    n: number,
    cin: number,
    growthRate: number,
    o: { bnSize: number; dropout: number; placement: "torchvision" | "paper" },
  ) {
    super();
    for (let i = 0; i < n; i++) {
      const layer = new DenseLayer(cin + i * growthRate, growthRate, o);
      (this as unknown as Record<string, Module>)[`denselayer${i + 1}`] = layer;
      this.#layers.push(layer);
    }
  }

  /** Concatenation of the input and every layer's features, earliest first. */
  forward(x: Tensor): Tensor {
    let cat = x;
    for (const layer of this.#layers) {
      const f = layer.forward(cat);
      const next = ops.concat([cat, f]);
      f.dispose();
      if (cat !== x) cat.dispose();
      cat = next;
    }
    return cat === x ? ops.clone(x) : cat;
  }
}

/** A transition (torchvision `_Transition`): norm → relu → conv (1×1) → pool (2×2 average). */
export class Transition extends Sequential {
  /** From `cin` to `cout` channels at half the resolution; paper-placement dropout after the conv. */
  constructor(cin: number, cout: number, dropout = 0) {
    super(
      ["norm", new BatchNorm2d(cin)],
      ["relu", new ReLU()],
      ["conv", conv(cin, cout, 1)],
      ...(dropout > 0 ? [["drop", new Dropout(dropout)] as [string, Module]] : []),
      ["pool", new AvgPool2d({ kernelSize: 2, stride: 2 })],
    );
  }
}

/** The network: `features` (torchvision's names), then `relu` → `avgpool` → `flatten` → `classifier`. */
export class DenseNet extends Module {
  /** Stem, dense blocks, transitions and norm5 under torchvision's names. */
  features: Sequential;
  /** ReLU after norm5. */
  relu: ReLU;
  /** Global average pool. */
  avgpool: AdaptiveAvgPool2d;
  /** [n, c, 1, 1] to [n, c]. */
  flatten: Flatten;
  /** The FC head. */
  classifier: Linear;
  /** The resolved row (options applied). */
  readonly config: Readonly<DenseNetConfig>;

  /** Builds a network from a row and options. */
  constructor(cfg: DenseNetConfig, options: DenseNetOptions = {}) {
    super();
    const c: DenseNetConfig = { ...cfg };
    for (
      const k of ["growthRate", "blockConfig", "initFeatures", "layout", "bnSize", "compression"] as const
    ) {
      if (options[k] !== undefined) (c as unknown as Record<string, unknown>)[k] = options[k];
    }
    this.config = Object.freeze(c);
    const action = "create DenseNet";
    const layout = c.layout ?? "imagenet";
    if (layout !== "imagenet" && layout !== "cifar") {
      throw rangeError(action, `layout must be "imagenet" or "cifar", got ${JSON.stringify(layout)}`);
    }
    const k = c.growthRate;
    if (!Number.isInteger(k) || k < 1) {
      throw rangeError(action, `growthRate must be an integer >= 1, got ${k}`);
    }
    if (!c.blockConfig.length || !c.blockConfig.every((n) => Number.isInteger(n) && n >= 1)) {
      throw rangeError(action, `blockConfig must be integers >= 1, got [${c.blockConfig}]`);
    }
    const bnSize = c.bnSize ?? 4;
    if (!Number.isInteger(bnSize) || bnSize < 0) {
      throw rangeError(action, `bnSize must be an integer >= 0, got ${bnSize}`);
    }
    const theta = c.compression ?? 0.5;
    if (!(theta > 0 && theta <= 1)) throw rangeError(action, `compression must be in (0, 1], got ${theta}`);
    const dropout = options.dropout ?? 0;
    const placement = options.dropoutPlacement ?? (layout === "cifar" ? "paper" : "torchvision");
    if (placement !== "torchvision" && placement !== "paper") {
      throw rangeError(
        action,
        `dropoutPlacement must be "torchvision" or "paper", got ${JSON.stringify(placement)}`,
      );
    }
    const inChannels = options.inChannels ?? 3;
    const numClasses = options.numClasses ?? (layout === "cifar" ? 10 : 1000);
    const f = new Sequential();
    let ch = c.initFeatures;
    if (layout === "imagenet") {
      f.add(new Conv2d(inChannels, ch, { kernelSize: 7, stride: 2, padding: 3, bias: false }), "conv0");
      f.add(new BatchNorm2d(ch), "norm0");
      f.add(new ReLU(), "relu0");
      f.add(new MaxPool2d({ kernelSize: 3, stride: 2, padding: 1 }), "pool0");
    } else {
      f.add(conv(inChannels, ch, 3), "conv0");
    }
    c.blockConfig.forEach((n, i) => {
      f.add(new DenseBlock(n, ch, k, { bnSize, dropout, placement }), `denseblock${i + 1}`);
      ch += n * k;
      if (i < c.blockConfig.length - 1) {
        const out = Math.floor(ch * theta);
        f.add(new Transition(ch, out, placement === "paper" ? dropout : 0), `transition${i + 1}`);
        ch = out;
      }
    });
    f.add(new BatchNorm2d(ch), "norm5");
    this.features = f;
    this.relu = new ReLU();
    this.avgpool = new AdaptiveAvgPool2d(1);
    this.flatten = new Flatten();
    this.classifier = new Linear(ch, numClasses);
    const g = options.generator ?? defaultGenerator;
    for (const [, m] of this.namedModules()) {
      if (m instanceof Conv2d) init.kaimingNormal(m.weight, {}, g);
      else if (m instanceof Linear) {
        init.torchDefault(m.weight, null, g);
        init.constant(m.bias!, 0);
      }
    }
  }

  /** Logits [n, numClasses]. */
  forward(x: Tensor): Tensor {
    return chain(x, [
      (t) => this.features.forward(t),
      ops.relu,
      (t) => this.avgpool.forward(t),
      (t) => this.flatten.forward(t),
      (t) => this.classifier.forward(t),
    ]);
  }
}

/** Builds a DenseNet from a row. */
export function denseNet(cfg: DenseNetConfig, options: DenseNetOptions = {}): DenseNet {
  return new DenseNet(cfg, options);
}

/** The ImageNet rows (torchvision's four plus the paper's DenseNet-264). */
export const DENSENETS = {
  densenet121: { growthRate: 32, blockConfig: [6, 12, 24, 16], initFeatures: 64 },
  densenet161: { growthRate: 48, blockConfig: [6, 12, 36, 24], initFeatures: 96 },
  densenet169: { growthRate: 32, blockConfig: [6, 12, 32, 32], initFeatures: 64 },
  densenet201: { growthRate: 32, blockConfig: [6, 12, 48, 32], initFeatures: 64 },
  densenet264: { growthRate: 32, blockConfig: [6, 12, 64, 48], initFeatures: 64 },
} as const satisfies Record<string, DenseNetConfig>;

/**
 * The row of a CIFAR DenseNet of depth L and growth k: 3 blocks of (L − 4)/3 plain layers (16-channel stem,
 * no compression) or, for BC, (L − 4)/6 bottleneck layers (2k stem, θ = 0.5).
 */
export function cifarDenseNetConfig(depth: number, k: number, bc: boolean): DenseNetConfig {
  const n = (depth - 4) / (bc ? 6 : 3);
  if (!Number.isInteger(n) || n < 1) {
    throw rangeError(
      "create DenseNet",
      `depth must be ${bc ? "6" : "3"}n + 4 with n >= 1 for ${bc ? "DenseNet-BC" : "DenseNet"}, got ${depth}`,
    );
  }
  if (!Number.isInteger(k) || k < 1) {
    throw rangeError("create DenseNet", `k must be an integer >= 1, got ${k}`);
  }
  return {
    growthRate: k,
    blockConfig: [n, n, n],
    initFeatures: bc ? 2 * k : 16,
    layout: "cifar",
    bnSize: bc ? 4 : 0,
    compression: bc ? 0.5 : 1,
  };
}

function entryOf(cfg: DenseNetConfig, description: string): ModelEntry {
  const cifar = cfg.layout === "cifar";
  return {
    family: "densenet",
    description,
    inputSize: cifar ? [3, 32, 32] : [3, 224, 224],
    numClasses: cifar ? 10 : 1000,
    build: (o) => denseNet(cfg, o as DenseNetOptions),
  };
}

function cifarEntry(depth: number, k: number, bc: boolean): ModelEntry {
  return entryOf(
    cifarDenseNetConfig(depth, k, bc),
    `DenseNet${bc ? "-BC" : ""} (L=${depth}, k=${k}) on CIFAR (Huang et al.; torchvision key names)`,
  );
}

/** The CIFAR rows of the paper's table, by name; others resolve through {@linkcode resolveDenseNet}. */
export const CIFAR_DENSENETS: Record<string, [number, number, boolean]> = {
  densenet_40_12: [40, 12, false],
  densenet_100_12: [100, 12, false],
  densenet_100_24: [100, 24, false],
  densenet_bc_100_12: [100, 12, true],
  densenet_bc_250_24: [250, 24, true],
  densenet_bc_190_40: [190, 40, true],
  // The short names for the paper's plain DenseNets (k = 12, the paper's base growth rate).
  densenet40_cifar: [40, 12, false],
  densenet100_cifar: [100, 12, false],
};

/** Resolves `densenet_<L>_<k>` and `densenet_bc_<L>_<k>` for valid depths (undefined otherwise). */
export function resolveDenseNet(name: string): ModelEntry | undefined {
  const m = /^densenet_(bc_)?(\d+)_(\d+)$/.exec(name);
  if (!m) return undefined;
  const bc = !!m[1];
  const [depth, k] = [Number(m[2]), Number(m[3])];
  if ((depth - 4) % (bc ? 6 : 3) !== 0 || depth <= 4 || k < 1) return undefined;
  return cifarEntry(depth, k, bc);
}

/** Registry entries of the family. */
export const DENSENET_ENTRIES: Record<string, ModelEntry> = {
  ...Object.fromEntries(
    Object.entries(DENSENETS).map(([name, cfg]) => [
      name,
      entryOf(
        cfg,
        name === "densenet264"
          ? "DenseNet-264 (Huang et al., ImageNet; torchvision layout, not in torchvision)"
          : `${name} (torchvision-exact keys and layout)`,
      ),
    ]),
  ),
  ...Object.fromEntries(
    Object.entries(CIFAR_DENSENETS).map(([name, [d, k, bc]]) => [name, cifarEntry(d, k, bc)]),
  ),
};
