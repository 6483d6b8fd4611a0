/**
 * Building blocks shared by the Inception family (GoogLeNet, BN-Inception, Inception v3): the
 * conv + BN + ReLU unit (torchvision's `BasicConv2d`), a block whose branches are described as data
 * (for torchvision's flat attribute names), the input transform of the TF-ported weights, and the
 * auxiliary-head loss.
 * @module
 */
import { AvgPool2d, BatchNorm2d, Conv2d, init, Linear, MaxPool2d, Module } from "../layers/mod.ts";
import {
  crossEntropy,
  ops,
  type Padding,
  type Pair,
  rangeError,
  type Tensor,
  tensor,
} from "../tensor/mod.ts";
import type { AuxOutputs } from "./registry.ts";
import { chain } from "./_chain.ts";

/** Options of {@linkcode BasicConv2d}. */
export interface BasicConvOptions {
  kernelSize: Pair;
  stride?: Pair;
  padding?: Padding;
  groups?: number;
  /**
   * true (default): conv without bias, BatchNorm2d, ReLU (torchvision). false: conv with bias, ReLU
   * (the original GoogLeNet).
   */
  bn?: boolean;
  /** BatchNorm epsilon (default 0.001, as torchvision's Inception models). */
  eps?: number;
}

/**
 * torchvision's `BasicConv2d`: `conv` (no bias) → `bn` (eps 0.001) → ReLU; state_dict keys
 * `conv.weight`, `bn.weight`, `bn.bias`, `bn.running_mean`, `bn.running_var`, `bn.num_batches_tracked`.
 * With `bn: false` it is conv (with bias) → ReLU, keys `conv.weight`, `conv.bias`.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * import { BasicConv2d } from "./_inception_blocks.ts";
 * await cnn.init({ threads: 1 });
 * const c = new BasicConv2d(3, 8, { kernelSize: 3, padding: 1 });
 * console.log([...c.stateDict().keys()].length); // 6
 * ```
 */
export class BasicConv2d extends Module {
  conv: Conv2d;
  bn: BatchNorm2d | null;

  constructor(inChannels: number, outChannels: number, options: BasicConvOptions) {
    super();
    const withBn = options.bn ?? true;
    this.conv = new Conv2d(inChannels, outChannels, {
      kernelSize: options.kernelSize,
      stride: options.stride,
      padding: options.padding,
      groups: options.groups,
      bias: !withBn,
    });
    this.bn = withBn ? new BatchNorm2d(outChannels, { eps: options.eps ?? 0.001 }) : null;
  }

  forward(x: Tensor): Tensor {
    const bn = this.bn;
    if (!bn) return chain(x, [(t) => this.conv.forward(t), (t) => ops.relu(t)]);
    return chain(x, [(t) => this.conv.forward(t), (t) => bn.forwardRelu(t)]);
  }
}

/** A pooling step inside a branch (a function in torchvision, so it has no state_dict key). */
export interface PoolStep {
  pool: "max" | "avg";
  kernelSize: Pair;
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
  /** Average pooling only (default true, as torch's `F.avg_pool2d`). */
  countIncludePad?: boolean;
}

/**
 * One step of a branch: the name of a child module, a pooling function, or a split into parallel
 * sub-branches whose outputs are concatenated (Inception v3's InceptionE).
 */
export type BranchStep = string | PoolStep | { split: BranchStep[][] };

/**
 * An Inception block whose children carry torchvision's flat names (`branch1x1`, `branch5x5_1`, ...)
 * and whose forward is described as data: `branches` are run on the input and concatenated along
 * channels in order. Children are registered in the order given, which is the state_dict order.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * import { BasicConv2d, FlatInception } from "./_inception_blocks.ts";
 * await cnn.init({ threads: 1 });
 * const block = new FlatInception(
 *   [["a", new BasicConv2d(4, 2, { kernelSize: 1 })], ["b", new BasicConv2d(4, 3, { kernelSize: 1 })]],
 *   [["a"], [{ pool: "max", kernelSize: 3, stride: 1, padding: 1 }, "b"]],
 * );
 * console.log(block.forward(cnn.zeros([1, 4, 5, 5])).shape); // [1, 5, 5, 5]
 * ```
 */
export class FlatInception extends Module {
  /** The forward description (not part of the state_dict). */
  readonly #branches: BranchStep[][];
  readonly #pools = new Map<PoolStep, Module>();

  constructor(children: [string, Module][], branches: BranchStep[][]) {
    super();
    const self = this as unknown as Record<string, unknown>;
    for (const [name, m] of children) {
      if (name in self) throw rangeError("create Inception block", `child ${name} is given twice`);
      self[name] = m;
    }
    const visit = (b: BranchStep[]): void => {
      for (const s of b) {
        if (typeof s === "string") {
          if (!(self[s] instanceof Module)) throw rangeError("create Inception block", `no child ${s}`);
        } else if ("split" in s) {
          s.split.forEach(visit);
        } else {
          this.#pools.set(
            s,
            s.pool === "max"
              ? new MaxPool2d({
                kernelSize: s.kernelSize,
                stride: s.stride,
                padding: s.padding,
                ceilMode: s.ceilMode,
              })
              : new AvgPool2d({
                kernelSize: s.kernelSize,
                stride: s.stride,
                padding: s.padding,
                ceilMode: s.ceilMode,
                countIncludePad: s.countIncludePad ?? true,
              }),
          );
        }
      }
    };
    branches.forEach(visit);
    this.#branches = branches;
  }

  #run(x: Tensor, branch: BranchStep[]): Tensor {
    const self = this as unknown as Record<string, Module>;
    return chain(
      x,
      branch.map((s) => (t: Tensor) =>
        typeof s === "string"
          ? self[s].forward(t)
          : "split" in s
          ? concatBranches(t, s.split.map((b) => (u: Tensor) => this.#run(u, b)))
          : this.#pools.get(s)!.forward(t)
      ),
    );
  }

  forward(x: Tensor): Tensor {
    return concatBranches(x, this.#branches.map((b) => (t: Tensor) => this.#run(t, b)));
  }
}

/** Runs every branch on `x` and concatenates their outputs along channels (releasing the parts). */
export function concatBranches(x: Tensor, branches: readonly ((t: Tensor) => Tensor)[]): Tensor {
  const outs = branches.map((f) => f(x));
  const y = ops.concat(outs);
  for (const o of outs) if (o !== x) o.dispose();
  return y;
}

/**
 * torchvision's `transform_input` for weights ported from TensorFlow: maps an input normalized with the
 * ImageNet mean/std to the [-1, 1] scaling, x_c * (std_c / 0.5) + (mean_c - 0.5) / 0.5, as a fixed
 * depthwise 1×1 convolution (not a parameter: it is not in the state_dict).
 */
export class InputTransform {
  readonly #weight: Tensor;
  readonly #bias: Tensor;

  constructor() {
    const mean = [0.485, 0.456, 0.406];
    const std = [0.229, 0.224, 0.225];
    this.#weight = tensor(std.map((s) => s / 0.5), [3, 1, 1, 1]).keep();
    this.#bias = tensor(mean.map((m) => (m - 0.5) / 0.5), [3]).keep();
  }

  /** Applies the transform to x [n, 3, h, w]. */
  apply(x: Tensor): Tensor {
    if (x.shape[1] !== 3) {
      throw rangeError("transform input", `transformInput needs 3 input channels, got shape [${x.shape}]`);
    }
    return ops.conv2d(x, this.#weight, { bias: this.#bias, groups: 3 });
  }

  /** Releases the constants. */
  dispose(): void {
    this.#weight.dispose();
    this.#bias.dispose();
  }
}

/**
 * Truncated-normal initialization of every conv and linear weight (torchvision's Inception init:
 * trunc_normal_(std, a=-2, b=2)), BN weight 1 and bias 0. `stdOf` picks the std per module path.
 */
export function truncNormalInit(model: Module, stdOf: (path: string, m: Module) => number): void {
  for (const [path, m] of model.namedModules()) {
    if (m instanceof Conv2d || m instanceof Linear) init.truncNormal(m.weight, 0, stdOf(path, m), -2, 2);
  }
}

/** Options of {@linkcode auxLoss}. */
export interface AuxLossOptions extends ops.CrossEntropyOptions {
  /** Weight of each auxiliary loss (GoogLeNet paper: 0.3). */
  auxWeight?: number;
}

/**
 * Training loss of a model with auxiliary heads: CE(main) + auxWeight × Σ CE(aux_i)
 * (GoogLeNet: main + 0.3 × (aux1 + aux2)). With no aux outputs (eval mode) it is the main loss.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * import { auxLoss } from "./_inception_blocks.ts";
 * await cnn.init({ threads: 1 });
 * const z = cnn.tensor([0, 0], [1, 2]);
 * const loss = auxLoss({ logits: z, aux: [z, z] }, new Int32Array([0]));
 * console.log(await loss.item()); // 1.6 * ln 2
 * ```
 */
export function auxLoss(
  out: AuxOutputs,
  labels: Int32Array | readonly number[],
  options: AuxLossOptions = {},
): Tensor {
  const w = options.auxWeight ?? 0.3;
  const ce = { labelSmoothing: options.labelSmoothing, reduction: options.reduction };
  const losses = [out.logits, ...out.aux].map((l) => crossEntropy(l, labels, ce));
  const total = ops.weightedSum(losses, [1, ...out.aux.map(() => w)]);
  for (const l of losses) l.dispose();
  return total;
}

/** Reads a boolean option (undefined gives `fallback`); anything else is a TypeError-like RangeError. */
export function boolOption(action: string, name: string, v: unknown, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== "boolean") throw rangeError(action, `${name} must be a boolean, got ${String(v)}`);
  return v;
}

/** A step of {@linkcode InceptionNet}'s trunk: a branch step, or "flatten" (to [n, features]). */
export type TrunkStep = BranchStep | "flatten";

/** How {@linkcode InceptionNet} is wired: children, trunk order and auxiliary taps. */
export interface InceptionNetPlan {
  /** Children in state_dict (registration) order, under their torchvision names. */
  children: [string, Module | null][];
  /** The main path, in order, ending with the classifier. */
  trunk: TrunkStep[];
  /** Auxiliary heads: `head` runs on the output of trunk child `after` (training only). */
  taps: { after: string; head: string }[];
  /** Order of the aux outputs in {@linkcode AuxOutputs.aux} (torchvision's tuple order). */
  auxOrder: string[];
  /** Apply torchvision's `transform_input` first. */
  transformInput: boolean;
}

/**
 * A classifier made of named children run along a trunk, with auxiliary heads tapped from it (the shape
 * of GoogLeNet, BN-Inception and Inception v3). `forward` returns the main logits only; in training,
 * `forwardAux` also returns the auxiliary logits (eval mode: none, as torchvision). Built without aux
 * heads, it has no `forwardAux` (so `hasAux()` is false).
 */
export class InceptionNet extends Module {
  readonly #plan: InceptionNetPlan;
  readonly #pools = new Map<PoolStep, Module>();
  readonly #transform: InputTransform | null;

  constructor(plan: InceptionNetPlan) {
    super();
    const self = this as unknown as Record<string, unknown>;
    for (const [name, m] of plan.children) self[name] = m;
    for (const s of plan.trunk) {
      if (typeof s === "string") {
        if (s !== "flatten" && !(self[s] instanceof Module)) {
          throw rangeError("create Inception model", `no child ${s}`);
        }
      } else if (!("split" in s)) {
        this.#pools.set(
          s,
          s.pool === "max"
            ? new MaxPool2d({
              kernelSize: s.kernelSize,
              stride: s.stride,
              padding: s.padding,
              ceilMode: s.ceilMode,
            })
            : new AvgPool2d({
              kernelSize: s.kernelSize,
              stride: s.stride,
              padding: s.padding,
              ceilMode: s.ceilMode,
              countIncludePad: s.countIncludePad ?? true,
            }),
        );
      } else {
        throw rangeError("create Inception model", "a trunk cannot split");
      }
    }
    const taps = plan.taps.filter((t) => self[t.head] instanceof Module);
    this.#plan = { ...plan, taps, auxOrder: plan.auxOrder.filter((h) => self[h] instanceof Module) };
    this.#transform = plan.transformInput ? new InputTransform() : null;
    if (taps.length === 0) {
      Object.defineProperty(this, "forwardAux", { value: undefined, enumerable: false });
    }
  }

  #trunk(x: Tensor, withAux: boolean): AuxOutputs {
    const self = this as unknown as Record<string, Module>;
    const aux = new Map<string, Tensor>();
    const input = x;
    let y = this.#transform ? this.#transform.apply(x) : x;
    for (const s of this.#plan.trunk) {
      let next: Tensor;
      if (s === "flatten") next = y.flatten(1);
      else if (typeof s === "string") next = self[s].forward(y);
      else next = this.#pools.get(s as PoolStep)!.forward(y);
      if (y !== input && next !== y) y.dispose();
      y = next;
      if (withAux && typeof s === "string") {
        for (const t of this.#plan.taps) if (t.after === s) aux.set(t.head, self[t.head].forward(y));
      }
    }
    return { logits: y, aux: this.#plan.auxOrder.filter((h) => aux.has(h)).map((h) => aux.get(h)!) };
  }

  /** Main logits [n, classes] (auxiliary heads do not run). */
  forward(x: Tensor): Tensor {
    return this.#trunk(x, false).logits;
  }

  /**
   * Main and auxiliary logits. In training the aux list follows torchvision's tuple positions (GoogLeNet:
   * [out of aux1, out of aux2]; Inception v3: [AuxLogits]); in eval mode it is empty.
   */
  forwardAux(x: Tensor): AuxOutputs {
    return this.#trunk(x, this.training);
  }

  override dispose(): void {
    super.dispose();
    this.#transform?.dispose();
  }
}
export { chain };
