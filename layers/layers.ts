/**
 * The layers. Each holds its parameters under PyTorch's names and calls one op in `forward`.
 * @module
 */
import { rangeError, runtime } from "../runtime/mod.ts";
import {
  defaultGenerator,
  empty,
  type Generator,
  ops,
  type Padding,
  type Pair,
  type Tensor,
  zeros,
} from "../tensor/mod.ts";
import { buffer, Module, parameter } from "./module.ts";
import { constant, torchDefault } from "./init.ts";

function positiveInt(action: string, name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw rangeError(action, `${name} must be an integer >= 1, got ${v}`);
  return v;
}

/** Options of {@linkcode Conv2d}. */
export interface Conv2dLayerOptions {
  kernelSize: Pair;
  stride?: Pair;
  /** One number, [h, w], or [top, bottom, left, right]. */
  padding?: Padding;
  dilation?: Pair;
  groups?: number;
  /** Learnable bias (default true, as torch). */
  bias?: boolean;
  generator?: Generator;
}

/**
 * 2-D convolution; parameters `weight` [out, in/groups, kh, kw] and `bias` [out].
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const conv = new cnn.nn.Conv2d(3, 8, { kernelSize: 3, padding: 1, bias: false });
 * console.log(conv.forward(cnn.zeros([1, 3, 5, 5])).shape); // [1, 8, 5, 5]
 * ```
 */
export class Conv2d extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly options: Required<Omit<Conv2dLayerOptions, "generator" | "bias">>;

  constructor(inChannels: number, outChannels: number, options: Conv2dLayerOptions) {
    super();
    const action = "create Conv2d";
    positiveInt(action, "inChannels", inChannels);
    positiveInt(action, "outChannels", outChannels);
    const groups = positiveInt(action, "groups", options.groups ?? 1);
    if (inChannels % groups || outChannels % groups) {
      throw rangeError(
        action,
        `channels (in ${inChannels}, out ${outChannels}) are not divisible by groups ${groups}`,
      );
    }
    const [kh, kw] = typeof options.kernelSize === "number"
      ? [options.kernelSize, options.kernelSize]
      : options.kernelSize;
    positiveInt(action, "kernelSize", kh);
    positiveInt(action, "kernelSize", kw);
    const rt = runtime();
    this.weight = parameter(empty(rt, [outChannels, inChannels / groups, kh, kw]));
    this.bias = options.bias === false ? null : parameter(empty(rt, [outChannels]));
    this.options = {
      kernelSize: [kh, kw],
      stride: options.stride ?? 1,
      padding: options.padding ?? 0,
      dilation: options.dilation ?? 1,
      groups,
    };
    torchDefault(this.weight, this.bias, options.generator ?? defaultGenerator);
  }

  forward(x: Tensor): Tensor {
    const o = this.options;
    return ops.conv2d(x, this.weight, {
      bias: this.bias,
      stride: o.stride,
      padding: o.padding,
      dilation: o.dilation,
      groups: o.groups,
    });
  }
}

/** Options of {@linkcode BatchNorm2d}. */
export interface BatchNormLayerOptions {
  eps?: number;
  momentum?: number;
  affine?: boolean;
}

/**
 * Batch normalization over channels; `weight`, `bias`, and buffers `running_mean`, `running_var`,
 * `num_batches_tracked` (int64, shape []) as in torch.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const bn = new cnn.nn.BatchNorm2d(8, { eps: 1e-3 });
 * console.log([...bn.stateDict().keys()]);
 * ```
 */
export class BatchNorm2d extends Module {
  weight: Tensor | null;
  bias: Tensor | null;
  running_mean: Tensor;
  running_var: Tensor;
  num_batches_tracked: Tensor;
  readonly eps: number;
  readonly momentum: number;

  constructor(numFeatures: number, options: BatchNormLayerOptions = {}) {
    super();
    positiveInt("create BatchNorm2d", "numFeatures", numFeatures);
    const rt = runtime();
    const affine = options.affine ?? true;
    this.weight = affine ? parameter(empty(rt, [numFeatures])) : null;
    this.bias = affine ? parameter(zeros([numFeatures], { rt })) : null;
    if (this.weight) constant(this.weight, 1);
    this.running_mean = buffer(zeros([numFeatures], { rt }));
    this.running_var = buffer(empty(rt, [numFeatures]));
    constant(this.running_var, 1);
    this.num_batches_tracked = buffer(zeros([], { rt, dtype: "int64" }));
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    if (!(this.eps > 0)) throw rangeError("create BatchNorm2d", `eps must be > 0, got ${this.eps}`);
  }

  forward(x: Tensor): Tensor {
    return this.#run(x, false);
  }

  /**
   * relu(forward(x)), the ReLU fused into the batch norm's kernels (forward and backward) in training mode.
   *
   * @example
   * ```ts
   * import * as cnn from "../mod.ts";
   * await cnn.init({ threads: 1 });
   * const bn = new cnn.nn.BatchNorm2d(1);
   * const y = bn.forwardRelu(cnn.tensor([1, 2, 3, 4], [4, 1]));
   * console.log(await y.toArray()); // ~[0, 0, 0.45, 1.34]
   * ```
   */
  forwardRelu(x: Tensor): Tensor {
    return this.#run(x, true);
  }

  #run(x: Tensor, relu: boolean): Tensor {
    if (this.training) this.num_batches_tracked.storage.host![0] += 1n;
    return ops.batchNorm(x, {
      weight: this.weight,
      bias: this.bias,
      runningMean: this.running_mean,
      runningVar: this.running_var,
      training: this.training,
      momentum: this.momentum,
      eps: this.eps,
      relu,
    });
  }
}

/**
 * Fully connected layer; `weight` [out, in], `bias` [out].
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * console.log(new cnn.nn.Linear(512, 10).weight.shape); // [10, 512]
 * ```
 */
export class Linear extends Module {
  weight: Tensor;
  bias: Tensor | null;

  constructor(
    inFeatures: number,
    outFeatures: number,
    options: { bias?: boolean; generator?: Generator } = {},
  ) {
    super();
    positiveInt("create Linear", "inFeatures", inFeatures);
    positiveInt("create Linear", "outFeatures", outFeatures);
    const rt = runtime();
    this.weight = parameter(empty(rt, [outFeatures, inFeatures]));
    this.bias = options.bias === false ? null : parameter(empty(rt, [outFeatures]));
    torchDefault(this.weight, this.bias, options.generator ?? defaultGenerator);
  }

  forward(x: Tensor): Tensor {
    return ops.linear(x, this.weight, this.bias);
  }
}

/** max(x, 0). */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return ops.relu(x);
  }
}

/** Max pooling (torch's MaxPool2d options). */
export class MaxPool2d extends Module {
  readonly options: ops.Pool2dOptions;
  constructor(options: ops.Pool2dOptions) {
    super();
    this.options = { ...options };
  }
  forward(x: Tensor): Tensor {
    return ops.maxPool2d(x, this.options);
  }
}

/** Average pooling (torch's AvgPool2d options; countIncludePad defaults to true). */
export class AvgPool2d extends Module {
  readonly options: ops.AvgPool2dOptions;
  constructor(options: ops.AvgPool2dOptions) {
    super();
    this.options = { ...options };
  }
  forward(x: Tensor): Tensor {
    return ops.avgPool2d(x, this.options);
  }
}

/** Adaptive average pooling to a fixed output size (1 = global average pooling). */
export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: Pair;
  constructor(outputSize: Pair) {
    super();
    this.outputSize = outputSize;
  }
  forward(x: Tensor): Tensor {
    return ops.adaptiveAvgPool2d(x, this.outputSize);
  }
}

/** Local response normalization across channels (alphaConvention "torch" divides alpha by size). */
export class LocalResponseNorm extends Module {
  readonly options: ops.LrnOptions;
  constructor(size: number, options: Omit<ops.LrnOptions, "size"> = {}) {
    super();
    this.options = { size, ...options };
  }
  forward(x: Tensor): Tensor {
    return ops.localResponseNorm(x, this.options);
  }
}

/** Inverted dropout (identity in eval mode). */
export class Dropout extends Module {
  readonly p: number;
  readonly generator: Generator | undefined;
  constructor(p = 0.5, options: { generator?: Generator } = {}) {
    super();
    if (!(p >= 0 && p <= 1)) throw rangeError("create Dropout", `p must be in [0, 1], got ${p}`);
    this.p = p;
    this.generator = options.generator;
  }
  forward(x: Tensor): Tensor {
    return ops.dropout(x, { p: this.p, training: this.training, generator: this.generator });
  }
}

/** Flattens dimensions from startDim (default 1) on. */
export class Flatten extends Module {
  readonly startDim: number;
  constructor(startDim = 1) {
    super();
    this.startDim = startDim;
  }
  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim);
  }
}

/** Returns its input (a placeholder with no parameters). */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

/**
 * Stochastic depth gate for a residual branch (Huang et al.). `p` is the probability of DROPPING the
 * branch. "paper": in training the branch survives with probability 1-p unscaled, and at test time its
 * output is scaled by the survival probability 1-p; "inverted" (timm/torchvision): the surviving branch
 * is scaled by 1/(1-p) in training and left as is at test time. One draw per mini-batch.
 */
export class StochasticDepth extends Module {
  readonly p: number;
  readonly mode: "paper" | "inverted";
  readonly generator: Generator | undefined;
  constructor(p: number, options: { mode?: "paper" | "inverted"; generator?: Generator } = {}) {
    super();
    if (!(p >= 0 && p <= 1)) throw rangeError("create StochasticDepth", `p must be in [0, 1], got ${p}`);
    const mode = options.mode ?? "paper";
    if (mode !== "paper" && mode !== "inverted") {
      throw rangeError(
        "create StochasticDepth",
        `mode must be "paper" or "inverted", got ${JSON.stringify(mode)}`,
      );
    }
    this.p = p;
    this.mode = mode;
    this.generator = options.generator;
  }

  /** The factor for this pass's branch output: 0 means skip the branch entirely (draws in training). */
  gate(): number {
    const survive = 1 - this.p;
    if (!this.training) return this.mode === "paper" ? survive : 1;
    if (this.p === 0) return 1;
    const keep = (this.generator ?? defaultGenerator).uniform() < survive;
    if (!keep) return 0;
    return this.mode === "paper" ? 1 : 1 / survive;
  }

  /** Scales (or zeroes) a branch output by {@linkcode StochasticDepth.gate}. */
  forward(x: Tensor): Tensor {
    const s = this.gate();
    return ops.scale(x, s);
  }
}

/** y = a + scale * b: a residual connection with scaling (Inception-ResNet). */
export class ScaledAdd extends Module {
  readonly scale: number;
  constructor(scale = 1) {
    super();
    this.scale = scale;
  }
  forward(a: Tensor, b: Tensor): Tensor {
    return ops.add(a, b, { beta: this.scale });
  }
}
