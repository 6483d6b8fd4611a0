/**
 * The three equivalent forms of a ResNeXt bottleneck (Xie et al., "Aggregated Residual Transformations
 * for Deep Neural Networks", arXiv:1611.05431, Fig. 3), for a block of cardinality C and bottleneck width
 * d from `in` to `out` channels:
 *
 * - (a) split-transform-sum ({@linkcode ResNeXtBlockA}): C paths, each 1×1 (in→d) → BN → ReLU → 3×3
 *   (d→d) → BN → ReLU → 1×1 (d→out); the path outputs are summed, then BN → + shortcut → ReLU.
 * - (b) Inception-ResNet-like ({@linkcode ResNeXtBlockB}): C paths, each 1×1 (in→d) → BN → ReLU → 3×3
 *   (d→d) → BN → ReLU; the path outputs are concatenated (C·d channels), then one 1×1 (C·d→out) → BN →
 *   + shortcut → ReLU.
 * - (c) grouped convolution: the `Bottleneck` of models/resnet.ts with `groups` = C (the default form of
 *   every ResNeXt row, e.g. `resnext29_8x64d`, `resnext50_32x4d`).
 *
 * The forms compute the same function: BN is per channel, so path i's BN over its d channels is the slice
 * [i·d, (i+1)·d) of the grouped block's BN over C·d channels (in eval mode and with batch statistics
 * alike); the grouped 3×3 applies group i to exactly those channels; and a 1×1 conv over a concatenation
 * is the sum of 1×1 convs over its parts. They also have the same parameters, only arranged differently.
 * {@linkcode resnextBlockFromGrouped} maps a form-(c) block's weights onto form (a) or (b), and
 * {@linkcode resnextToForm} does it for every grouped bottleneck of a network in place.
 *
 * State-dict keys, torchvision style: `paths.<i>.conv1.weight`, `paths.<i>.bn1.*`, `paths.<i>.conv2.weight`,
 * `paths.<i>.bn2.*`, in form (a) `paths.<i>.conv3.weight`, in form (b) `conv3.weight`, then `bn3.*` and
 * `downsample.0/1.*` as in the grouped block.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * import { resnextToForm } from "./resnext_forms.ts";
 * await cnn.init({ threads: 1 });
 * const net = cnn.models.create("resnext29_8x64d", { groups: 4, widths: [8, 16, 32], depths: [1, 1, 1] });
 * await resnextToForm(net, "a");
 * console.log(net.stateDict().get("layer1.0.paths.3.conv3.weight")!.shape); // [32, 8, 1, 1]
 * ```
 * @module
 */
import {
  BatchNorm2d,
  Concat,
  Conv2d,
  init,
  Module,
  ModuleList,
  Sequential,
  StochasticDepth,
} from "../layers/mod.ts";
import { defaultGenerator, type Generator, ops, rangeError, type Tensor } from "../tensor/mod.ts";
import { Bottleneck, ZeroPadShortcut } from "./resnet.ts";
import { chain } from "./_chain.ts";

/** A ResNeXt block form of Fig. 3 other than the grouped one: "a" split-transform-sum, "b" concatenation. */
export type ResNeXtForm = "a" | "b";

/** Options of {@linkcode ResNeXtPath}. */
export interface ResNeXtPathOptions {
  /** Bottleneck width d of the path (channels of its 1×1 and 3×3). */
  width: number;
  /** Output channels of the path's own last 1×1 (form a); omitted for form b (no third conv). */
  outChannels?: number;
  /** Stride of the path (default 1). */
  stride?: number;
  /** Where the stride goes: "3x3" (default, torchvision v1.5) or "1x1" (the first conv, paper v1). */
  strideOn?: "3x3" | "1x1";
  /** Dilation (and padding) of the 3×3 (default 1). */
  dilation?: number;
  /**
   * The cardinality C of the block the path belongs to (default 1). Only the weight initialisation reads
   * it: each conv is drawn as its slice of the grouped block would be, N(0, √(2/fan_out)) with the fan_out
   * of the whole grouped conv.
   */
  cardinality?: number;
  /** Generator for the weights (default: the global generator). */
  generator?: Generator;
}

function checkInt(action: string, name: string, v: unknown, min = 1): number {
  if (!Number.isInteger(v) || (v as number) < min) {
    throw rangeError(action, `${name} must be an integer >= ${min}, got ${String(v)}`);
  }
  return v as number;
}

/** A bias-free conv with `same` padding for 3×3 kernels. */
function conv(cin: number, cout: number, k: number, stride: number, dilation = 1): Conv2d {
  return new Conv2d(cin, cout, {
    kernelSize: k,
    stride,
    padding: k === 3 ? dilation : 0,
    dilation,
    bias: false,
  });
}

/** Kaiming normal with an explicit fan_out (ResNet's init, as for the grouped conv the weight slices). */
function heNormal(w: Tensor, fanOut: number, g: Generator): void {
  init.normal(w, 0, Math.sqrt(2 / fanOut), g);
}

/**
 * One path of a form-(a) or form-(b) block: 1×1 (in→d) → BN → ReLU → 3×3 (d→d) → BN → ReLU, and in form
 * (a) a last 1×1 (d→out) without BN (the block normalises the sum).
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * import { ResNeXtPath } from "./resnext_forms.ts";
 * await cnn.init({ threads: 1 });
 * const path = new ResNeXtPath(16, { width: 4, outChannels: 32, stride: 2 });
 * console.log(path.forward(cnn.zeros([1, 16, 8, 8])).shape); // [1, 32, 4, 4]
 * ```
 */
export class ResNeXtPath extends Module {
  /** 1×1, in → d (slice of the grouped block's conv1). */
  conv1: Conv2d;
  /** BN over the path's d channels. */
  bn1: BatchNorm2d;
  /** 3×3, d → d (group i of the grouped block's conv2). */
  conv2: Conv2d;
  /** BN over the path's d channels. */
  bn2: BatchNorm2d;
  /** Form (a) only: the path's own 1×1 to the block's output channels. */
  conv3: Conv2d | null;

  /** A path reading `inChannels` channels. */
  constructor(inChannels: number, options: ResNeXtPathOptions) {
    super();
    const action = "create ResNeXtPath";
    checkInt(action, "inChannels", inChannels);
    const d = checkInt(action, "width", options.width);
    const stride = checkInt(action, "stride", options.stride ?? 1);
    const dilation = checkInt(action, "dilation", options.dilation ?? 1);
    const c = checkInt(action, "cardinality", options.cardinality ?? 1);
    const strideOn = options.strideOn ?? "3x3";
    if (strideOn !== "3x3" && strideOn !== "1x1") {
      throw rangeError(action, `strideOn must be "3x3" or "1x1", got ${JSON.stringify(strideOn)}`);
    }
    const g = options.generator ?? defaultGenerator;
    this.conv1 = conv(inChannels, d, 1, strideOn === "1x1" ? stride : 1);
    this.bn1 = new BatchNorm2d(d);
    this.conv2 = conv(d, d, 3, strideOn === "1x1" ? 1 : stride, dilation);
    this.bn2 = new BatchNorm2d(d);
    this.conv3 = options.outChannels === undefined
      ? null
      : conv(d, checkInt(action, "outChannels", options.outChannels), 1, 1);
    heNormal(this.conv1.weight, c * d, g);
    heNormal(this.conv2.weight, c * d * 9, g);
    if (this.conv3) heNormal(this.conv3.weight, this.conv3.weight.shape[0], g);
  }

  /** The path's output: d channels (form b) or the block's output channels before BN (form a). */
  forward(x: Tensor): Tensor {
    const steps = [
      (t: Tensor) => this.conv1.forward(t),
      (t: Tensor) => this.bn1.forwardRelu(t),
      (t: Tensor) => this.conv2.forward(t),
      (t: Tensor) => this.bn2.forwardRelu(t),
    ];
    const conv3 = this.conv3;
    if (conv3) steps.push((t) => conv3.forward(t));
    return chain(x, steps);
  }
}

/** Options of {@linkcode ResNeXtBlockA} and {@linkcode ResNeXtBlockB}. */
export interface ResNeXtBlockOptions {
  /** Cardinality C: the number of paths. */
  cardinality: number;
  /** Bottleneck width d of each path. */
  width: number;
  /** Stride of the block (default 1). */
  stride?: number;
  /** Where the stride goes: "3x3" (default) or "1x1". */
  strideOn?: "3x3" | "1x1";
  /** Dilation of the 3×3 convs (default 1). */
  dilation?: number;
  /**
   * Shortcut module (a 1×1 conv + BN projection, an option-A `ZeroPadShortcut`, ...), or null (default)
   * for the identity.
   */
  downsample?: Module | null;
  /** Stochastic depth gate on the residual branch, or null (default). */
  drop?: StochasticDepth | null;
  /** Add the shortcut (default true); false gives relu(branch(x)) as models/resnet.ts blocks do. */
  residual?: boolean;
  /** Generator for the weights (default: the global generator). */
  generator?: Generator;
}

/**
 * What forms (a) and (b) share: the C paths, the shortcut and the residual sum (the base class of
 * {@linkcode ResNeXtBlockA} and {@linkcode ResNeXtBlockB}).
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * import { ResNeXtBlock, ResNeXtBlockB } from "./resnext_forms.ts";
 * await cnn.init({ threads: 1 });
 * const block: ResNeXtBlock = new ResNeXtBlockB(8, 8, { cardinality: 2, width: 2 });
 * console.log(block.lastBn() === (block as ResNeXtBlockB).bn3); // true
 * ```
 */
export abstract class ResNeXtBlock extends Module {
  /** The C paths (`paths.0`, `paths.1`, ...), each a {@linkcode ResNeXtPath}. */
  paths: ModuleList;
  /** Shortcut module, or null for the identity. */
  downsample: Module | null;
  /** Stochastic depth gate on the branch, or null. */
  drop: StochasticDepth | null;
  /** Whether the shortcut is added (false only in DRN's non-residual levels). */
  residual: boolean;
  /** Cardinality C. */
  readonly cardinality: number;
  /** Bottleneck width d of each path. */
  readonly width: number;
  /** Output channels. */
  readonly outChannels: number;

  /** The paths of a form-`form` block from `inChannels` to `outChannels` (see {@linkcode ResNeXtBlockOptions}). */
  constructor(
    form: ResNeXtForm,
    inChannels: number,
    outChannels: number,
    o: ResNeXtBlockOptions,
  ) {
    super();
    const action = `create ResNeXtBlock${form.toUpperCase()}`;
    if (o === null || typeof o !== "object") {
      throw rangeError(action, "options with cardinality and width are required");
    }
    this.cardinality = checkInt(action, "cardinality", o.cardinality);
    this.width = checkInt(action, "width", o.width);
    this.outChannels = checkInt(action, "outChannels", outChannels);
    checkInt(action, "inChannels", inChannels);
    const pathOptions: ResNeXtPathOptions = {
      width: this.width,
      outChannels: form === "a" ? outChannels : undefined,
      stride: o.stride,
      strideOn: o.strideOn,
      dilation: o.dilation,
      cardinality: this.cardinality,
      generator: o.generator,
    };
    this.paths = new ModuleList();
    for (let i = 0; i < this.cardinality; i++) this.paths.add(new ResNeXtPath(inChannels, pathOptions));
    this.downsample = o.downsample ?? null;
    this.drop = o.drop ?? null;
    this.residual = o.residual ?? true;
  }

  /** The BN closing the branch. */
  abstract lastBn(): BatchNorm2d;

  /** The residual branch without the final ReLU. */
  abstract branch(x: Tensor): Tensor;

  /** Each path's output on `x`. */
  protected pathOutputs(x: Tensor): Tensor[] {
    return [...this.paths].map((p) => p.forward(x));
  }

  /** relu(shortcut(x) + gate · branch(x)) (relu(branch(x)) when not residual); a dropped gate skips the branch. */
  forward(x: Tensor): Tensor {
    if (!this.residual) {
      const f = this.branch(x);
      const y = ops.relu(f);
      f.dispose();
      return y;
    }
    const gate = this.drop ? this.drop.gate() : 1;
    const skip = this.downsample ? this.downsample.forward(x) : x;
    let sum = skip;
    if (gate !== 0) {
      const f = this.branch(x);
      sum = ops.add(skip, f, { beta: gate });
      f.dispose();
      if (skip !== x) skip.dispose();
    }
    const y = ops.relu(sum);
    if (sum !== x) sum.dispose();
    return y;
  }
}

/**
 * Form (a) of Fig. 3, split-transform-sum: C paths of three convs each, their outputs summed, then `bn3`,
 * the shortcut and a ReLU. Keys: `paths.<i>.conv1/bn1/conv2/bn2/conv3`, `bn3`, `downsample.*`.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * import { ResNeXtBlockA } from "./resnext_forms.ts";
 * await cnn.init({ threads: 1 });
 * const block = new ResNeXtBlockA(32, 32, { cardinality: 4, width: 4 });
 * console.log(block.paths.length, block.forward(cnn.zeros([1, 32, 6, 6])).shape); // 4 [1, 32, 6, 6]
 * ```
 */
export class ResNeXtBlockA extends ResNeXtBlock {
  /** BN of the summed path outputs. */
  bn3: BatchNorm2d;

  /** A block from `inChannels` to `outChannels` (the shortcut must produce `outChannels` too). */
  constructor(inChannels: number, outChannels: number, options: ResNeXtBlockOptions) {
    super("a", inChannels, outChannels, options);
    this.bn3 = new BatchNorm2d(outChannels);
  }

  /** The BN closing the branch. */
  lastBn(): BatchNorm2d {
    return this.bn3;
  }

  /** bn3(Σ_i path_i(x)). */
  branch(x: Tensor): Tensor {
    const outs = this.pathOutputs(x);
    let sum = outs[0];
    for (let i = 1; i < outs.length; i++) {
      const next = ops.add(sum, outs[i]);
      sum.dispose();
      outs[i].dispose();
      sum = next;
    }
    const y = this.bn3.forward(sum);
    sum.dispose();
    return y;
  }
}

/**
 * Form (b) of Fig. 3, Inception-ResNet-like: C paths of two convs each, concatenated to C·d channels,
 * then one 1×1 `conv3` and `bn3`, the shortcut and a ReLU. Keys: `paths.<i>.conv1/bn1/conv2/bn2`,
 * `conv3`, `bn3`, `downsample.*`.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * import { ResNeXtBlockB } from "./resnext_forms.ts";
 * await cnn.init({ threads: 1 });
 * const block = new ResNeXtBlockB(32, 32, { cardinality: 4, width: 4 });
 * console.log(block.conv3.weight.shape); // [32, 16, 1, 1]
 * ```
 */
export class ResNeXtBlockB extends ResNeXtBlock {
  /** 1×1, C·d → out, over the concatenated paths. */
  conv3: Conv2d;
  /** BN after conv3. */
  bn3: BatchNorm2d;

  /** A block from `inChannels` to `outChannels` (the shortcut must produce `outChannels` too). */
  constructor(inChannels: number, outChannels: number, options: ResNeXtBlockOptions) {
    super("b", inChannels, outChannels, options);
    this.conv3 = conv(this.cardinality * this.width, outChannels, 1, 1);
    heNormal(this.conv3.weight, outChannels, options.generator ?? defaultGenerator);
    this.bn3 = new BatchNorm2d(outChannels);
  }

  /** The BN closing the branch. */
  lastBn(): BatchNorm2d {
    return this.bn3;
  }

  /** bn3(conv3(concat_i path_i(x))). */
  branch(x: Tensor): Tensor {
    const outs = this.pathOutputs(x);
    const cat = ops.concat(outs);
    for (const o of outs) o.dispose();
    const y = chain(cat, [(t) => this.conv3.forward(t), (t) => this.bn3.forward(t)]);
    cat.dispose();
    return y;
  }
}

// ---------------------------------------------------------------------------------------------------
// Weight mapping from the grouped form (c)

/** Reads every value of `t` (nothing on the shape-only meta runtime). */
async function read(t: Tensor): Promise<ArrayLike<number | bigint> | null> {
  if (t.rt.report.backend === "meta") return null;
  return await t.data();
}

/** Writes `values` into `dst` unless they are null (meta). */
async function put(dst: Tensor, values: ArrayLike<number | bigint> | null): Promise<void> {
  if (values) await dst.write(values as ArrayLike<number>);
}

/** Rows [from, to) of a tensor flattened as [rows, rowSize] (dimension 0 slice). */
function rows(v: ArrayLike<number | bigint> | null, rowSize: number, from: number, to: number) {
  if (!v) return null;
  return Array.prototype.slice.call(v, from * rowSize, to * rowSize) as (number | bigint)[];
}

/** Columns [from, to) of a [outer, inner] matrix (dimension 1 slice). */
function cols(v: ArrayLike<number> | null, inner: number, from: number, to: number): number[] | null {
  if (!v) return null;
  const out: number[] = [];
  for (let r = 0; r < v.length / inner; r++) {
    for (let c = from; c < to; c++) out.push(v[r * inner + c]);
  }
  return out;
}

/** Copies a BatchNorm2d's state, channels [from, to) of `src` into `dst` (all channels by default). */
async function copyBn(dst: BatchNorm2d, src: BatchNorm2d, from = 0, to = src.running_mean.size) {
  for (const key of ["weight", "bias", "running_mean", "running_var"] as const) {
    const s = src[key], d = dst[key];
    if (s && d) await put(d, rows(await read(s), 1, from, to));
  }
  await put(dst.num_batches_tracked, await read(src.num_batches_tracked));
}

/** A copy of a shortcut module of models/resnet.ts (null, conv + BN projection, option A). */
async function copyShortcut(action: string, m: Module | null): Promise<Module | null> {
  if (m === null) return null;
  if (m instanceof ZeroPadShortcut) {
    return new ZeroPadShortcut(m.inChannels, m.outChannels, {
      stride: m.stride,
      downsample: m.downsampleMode,
      pad: m.pad,
    });
  }
  if (
    m instanceof Sequential && m.length === 2 && m.at(0) instanceof Conv2d && m.at(1) instanceof BatchNorm2d
  ) {
    const c = m.at(0) as Conv2d, bn = m.at(1) as BatchNorm2d;
    const [out, cin] = c.weight.shape;
    const conv = new Conv2d(cin * c.options.groups, out, { ...c.options, bias: c.bias !== null });
    await put(conv.weight, await read(c.weight));
    if (c.bias && conv.bias) await put(conv.bias, await read(c.bias));
    const nb = new BatchNorm2d(out, { eps: bn.eps, momentum: bn.momentum, affine: bn.weight !== null });
    await copyBn(nb, bn);
    return new Sequential(conv, nb);
  }
  throw rangeError(action, `its shortcut is a ${m.constructor.name}, not a conv + BN projection or option A`);
}

function checkForm(action: string, form: unknown): ResNeXtForm {
  if (form !== "a" && form !== "b") {
    throw rangeError(action, `form must be "a" or "b", got ${JSON.stringify(form)}`);
  }
  return form;
}

/** A Bottleneck's cardinality and width, or a RangeError when it is not a grouped (ResNeXt) bottleneck. */
function groupedShape(action: string, block: unknown): { block: Bottleneck; c: number; d: number } {
  if (!(block instanceof Bottleneck)) {
    const what = block instanceof Module ? `a ${block.constructor.name}` : String(block);
    throw rangeError(action, `expected a grouped Bottleneck of models/resnet.ts, got ${what}`);
  }
  const c = block.conv2.options.groups;
  if (c < 2) throw rangeError(action, `the Bottleneck has groups ${c}; form (c) needs groups > 1`);
  return { block, c, d: block.conv2.weight.shape[1] };
}

/**
 * The form-(a) or form-(b) block computing what `grouped`, a grouped (form c) `Bottleneck` of
 * models/resnet.ts (groups > 1, e.g. `layer1.0` of `resnext29_8x64d`), computes, with its weights, BN affine parameters, running statistics and `num_batches_tracked` copied
 * by slicing: path i gets output channels [i·d, (i+1)·d) of `conv1`, `bn1`, `conv2` (group i) and `bn2`;
 * in form (a) also input channels [i·d, (i+1)·d) of `conv3`, in form (b) all of `conv3`; `bn3`, the
 * shortcut (copied), stride, dilation, stochastic depth and training mode carry over. The source block is
 * left as it was. Async because it reads the weights.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * import { resnextBlockFromGrouped } from "./resnext_forms.ts";
 * await cnn.init({ threads: 1 });
 * const net = cnn.models.create("resnext29_8x64d", { groups: 4, widths: [8, 16, 32], depths: [1, 1, 1] });
 * const grouped = net.namedModules().find(([k]) => k === "layer2.0")![1];
 * const a = await resnextBlockFromGrouped(grouped, "a");
 * console.log(a.paths.length, a.numParameters() === grouped.numParameters()); // 4 true
 * ```
 */
export async function resnextBlockFromGrouped<F extends ResNeXtForm>(
  grouped: Module,
  form: F,
): Promise<F extends "a" ? ResNeXtBlockA : ResNeXtBlockB> {
  const action = `convert a ResNeXt block to form ${JSON.stringify(form)}`;
  checkForm(action, form);
  const { block, c, d } = groupedShape(action, grouped);
  const [cd, inChannels] = block.conv1.weight.shape;
  const out = block.conv3.weight.shape[0];
  const s1 = block.conv1.options.stride, s3 = block.conv2.options.stride;
  const stride1 = typeof s1 === "number" ? s1 : s1[0];
  const stride3 = typeof s3 === "number" ? s3 : s3[0];
  const dil = block.conv2.options.dilation;
  const options: ResNeXtBlockOptions = {
    cardinality: c,
    width: d,
    stride: Math.max(stride1, stride3),
    strideOn: stride1 > 1 ? "1x1" : "3x3",
    dilation: typeof dil === "number" ? dil : dil[0],
    downsample: await copyShortcut(action, block.downsample),
    drop: block.drop
      ? new StochasticDepth(block.drop.p, { mode: block.drop.mode, generator: block.drop.generator })
      : null,
    residual: block.residual,
  };
  const target = form === "a"
    ? new ResNeXtBlockA(inChannels, out, options)
    : new ResNeXtBlockB(inChannels, out, options);
  const w1 = await read(block.conv1.weight) as ArrayLike<number> | null;
  const w2 = await read(block.conv2.weight) as ArrayLike<number> | null;
  const w3 = await read(block.conv3.weight) as ArrayLike<number> | null;
  const paths = [...target.paths] as ResNeXtPath[];
  for (let i = 0; i < c; i++) {
    const p = paths[i], from = i * d, to = (i + 1) * d;
    await put(p.conv1.weight, rows(w1, inChannels, from, to));
    await copyBn(p.bn1, block.bn1, from, to);
    await put(p.conv2.weight, rows(w2, d * 9, from, to));
    await copyBn(p.bn2, block.bn2, from, to);
    if (p.conv3) await put(p.conv3.weight, cols(w3, cd, from, to));
  }
  if (target instanceof ResNeXtBlockB) await put(target.conv3.weight, w3);
  await copyBn(target.bn3, block.bn3);
  target.train(block.training);
  return target as F extends "a" ? ResNeXtBlockA : ResNeXtBlockB;
}

/**
 * Converts every grouped `Bottleneck` (groups > 1) of a network built by models/resnet.ts — e.g.
 * `models.create("resnext29_8x64d")` or `"resnext50_32x4d"` — to form (a) or (b) IN PLACE, keeping its
 * key prefix (`layer1.0` stays `layer1.0`); the network then computes the same function, in eval and
 * training mode. The replaced blocks' tensors are disposed; if some block cannot be converted (a shortcut
 * other than a conv + BN projection or option A), nothing is replaced. `net.config` still describes the
 * grouped row.
 * Returns the network.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * import { resnextToForm } from "./resnext_forms.ts";
 * await cnn.init({ threads: 1 });
 * const net = cnn.models.create("resnext29_8x64d", { groups: 2, widths: [4, 8, 8], depths: [1, 1, 1] });
 * const before = net.numParameters();
 * await resnextToForm(net, "b");
 * console.log(net.numParameters() === before); // true
 * ```
 */
export async function resnextToForm<M extends Module>(net: M, form: ResNeXtForm): Promise<M> {
  const action = `convert a network to ResNeXt form ${JSON.stringify(form)}`;
  checkForm(action, form);
  if (!(net instanceof Module)) throw rangeError(action, `expected a Module, got ${String(net)}`);
  const sites: [Module, string, Bottleneck][] = [];
  for (const [, parent] of net.namedModules()) {
    for (const [name, child] of parent.namedChildren()) {
      if (child instanceof Bottleneck && child.conv2.options.groups > 1) sites.push([parent, name, child]);
    }
  }
  if (sites.length === 0) throw rangeError(action, "it has no grouped Bottleneck (groups > 1)");
  // build every replacement first, so that a block that cannot be converted leaves the network untouched
  const replacements: ResNeXtBlock[] = [];
  try {
    for (const [, , old] of sites) replacements.push(await resnextBlockFromGrouped(old, form));
  } catch (e) {
    for (const r of replacements) r.dispose();
    throw e;
  }
  sites.forEach(([parent, name, old], i) => {
    if (parent instanceof Sequential || parent instanceof ModuleList || parent instanceof Concat) {
      parent.items.set(name, replacements[i]);
    } else {
      (parent as unknown as Record<string, Module>)[name] = replacements[i];
    }
    old.dispose();
  });
  return net;
}
