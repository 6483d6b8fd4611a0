/**
 * Frozen inference models: a module's eval-mode forward traced once into a list of op calls, rewritten for
 * speed and replayed without the module tree (as torch.jit.freeze + optimize_for_inference):
 * - a batch norm that only reads a convolution's output is folded into that convolution's weights and bias;
 * - a ReLU that only reads a convolution's output runs in the convolution's epilogue;
 * - 3x3 convolutions that run as Winograd get their transformed weights once, not on every call;
 * - eval-mode dropout is skipped, and calls whose results nothing uses are dropped.
 * Parameters are snapshotted: training the module afterwards does not change the frozen model.
 * @module
 */
import { noGrad, ops, rangeError, Tensor, tensor, zeros } from "../tensor/mod.ts";
import { eachTensor, substitute, type TracedCall, traceOps } from "../tensor/trace.ts";
import { checkModule, type Module } from "./module.ts";

/** Options of {@linkcode freeze}; each rewrite can be switched off (all on by default). */
export interface FreezeOptions {
  /** Fold eval-mode batch norms into the convolutions they follow. */
  foldBatchNorm?: boolean;
  /** Run ReLUs in the epilogue of the convolutions they follow. */
  fuseRelu?: boolean;
  /** Transform the weights of Winograd convolutions once. */
  winograd?: boolean;
}

/** What {@linkcode freeze} did. */
export interface FreezeStats {
  /** Op calls traced from the forward pass. */
  traced: number;
  /** Op calls the frozen model runs. */
  ops: number;
  /** Batch norms folded into convolutions. */
  foldedBatchNorms: number;
  /** ReLUs fused into convolutions. */
  fusedRelus: number;
  /** Convolutions with precomputed Winograd weights. */
  winogradConvs: number;
}

/** A step of the frozen program: an op and its arguments, with slots for the tensors computed earlier. */
interface Step {
  op: string;
  args: readonly unknown[];
  output: Tensor;
}

// deno-lint-ignore no-explicit-any
type OpFn = (...args: any[]) => Tensor;
const OPS_BY_NAME: Record<string, OpFn> = {
  conv2d: ops.conv2d,
  linear: ops.linear,
  batchNorm: ops.batchNorm,
  localResponseNorm: ops.localResponseNorm,
  relu: ops.relu,
  add: ops.add,
  scale: ops.scale,
  clone: ops.clone,
  reshape: ops.reshape,
  mul: ops.mul,
  sigmoid: ops.sigmoid,
  concat: ops.concat,
  dropout: ops.dropout,
  maxPool2d: ops.maxPool2d,
  avgPool2d: ops.avgPool2d,
  adaptiveAvgPool2d: ops.adaptiveAvgPool2d,
  softmax: ops.softmax,
  logSoftmax: ops.logSoftmax,
};

function isTensor(v: unknown): v is Tensor {
  return v instanceof Tensor;
}

/**
 * A model frozen for inference by {@linkcode freeze}: `forward` runs the rewritten op list on inputs of the
 * traced shape.
 */
export class FrozenModel {
  /** The input shape the model was traced with; `forward` accepts only this shape. */
  readonly inputShape: readonly number[];
  /** What the rewrites did. */
  readonly stats: Readonly<FreezeStats>;
  readonly #steps: Step[];
  readonly #input: Tensor;
  readonly #output: Tensor;
  readonly #constants: Tensor[];
  /** For each step, the traced tensors whose last use it is. */
  readonly #release: Tensor[][];
  #disposed = false;

  /** @internal Built by {@linkcode freeze}. */
  constructor(
    inputShape: readonly number[],
    steps: Step[],
    input: Tensor,
    output: Tensor,
    constants: Tensor[],
    stats: FreezeStats,
  ) {
    this.inputShape = inputShape;
    this.#steps = steps;
    this.#input = input;
    this.#output = output;
    this.#constants = constants;
    this.stats = Object.freeze(stats);
    const last = new Map<Tensor, number>();
    steps.forEach((s, i) => eachTensor(s.args, (t) => last.set(t, i)));
    this.#release = steps.map(() => []);
    for (const [t, i] of last) {
      if (t !== input && t !== output && steps.some((s) => s.output === t)) this.#release[i].push(t);
    }
  }

  /**
   * Runs the frozen model on x (the traced shape); the result belongs to the caller.
   *
   * @example
   * ```ts
   * import * as cnn from "../mod.ts";
   * await cnn.init({ threads: 1 });
   * const net = cnn.models.create("resnet20_cifar").eval();
   * const frozen = await cnn.nn.freeze(net, [1, 3, 32, 32]);
   * const logits = frozen.forward(cnn.zeros([1, 3, 32, 32]));
   * console.log(logits.shape, frozen.stats.foldedBatchNorms); // [1, 10] 19
   * ```
   */
  forward(x: Tensor): Tensor {
    if (this.#disposed) throw rangeError("run frozen model", "it was disposed");
    if (!isTensor(x)) throw new TypeError(`Cannot run frozen model: input must be a Tensor, got ${typeof x}`);
    if (x.shape.join() !== this.inputShape.join()) {
      throw rangeError(
        "run frozen model",
        `input has shape [${x.shape}] but the model was frozen for [${this.inputShape}]; freeze it again for this shape`,
      );
    }
    return noGrad(() => {
      const live = new Map<Tensor, Tensor>([[this.#input, x]]);
      const get = (t: Tensor) => live.get(t) ?? t;
      try {
        for (let i = 0; i < this.#steps.length; i++) {
          const s = this.#steps[i];
          live.set(s.output, OPS_BY_NAME[s.op](...(substitute(s.args, get) as unknown[])));
          for (const t of this.#release[i]) {
            live.get(t)?.dispose();
            live.delete(t);
          }
        }
        const y = live.get(this.#output);
        live.delete(this.#output);
        if (y === undefined) return ops.clone(get(this.#output));
        if (y === x) return ops.clone(x);
        return y;
      } finally {
        for (const [t, v] of live) if (t !== this.#input) v.dispose();
      }
    });
  }

  /** Frees the frozen weights. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const t of this.#constants) t.dispose();
  }
}

/**
 * Freezes `net` for inference on inputs of shape `inputShape`: traces its eval-mode forward once (the
 * module's train/eval modes are restored afterwards), folds batch norms and ReLUs into convolutions,
 * precomputes Winograd weights, and snapshots the parameters. Outputs equal `net.eval().forward(x)` up to
 * float rounding. The forward must be a fixed sequence of tensor ops (no branching on tensor values).
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const net = cnn.models.create("resnet20_cifar");
 * const frozen = await cnn.nn.freeze(net, [2, 3, 32, 32]);
 * const y = frozen.forward(cnn.zeros([2, 3, 32, 32]));
 * console.log(y.shape, frozen.stats.ops < frozen.stats.traced); // [2, 10] true
 * frozen.dispose();
 * ```
 */
export async function freeze(
  net: Module,
  inputShape: readonly number[],
  options: FreezeOptions = {},
): Promise<FrozenModel> {
  const action = "freeze model";
  checkModule(action, net);
  if (
    !Array.isArray(inputShape) || inputShape.length === 0 ||
    !inputShape.every((d) => Number.isInteger(d) && d >= 1)
  ) {
    throw rangeError(action, `inputShape must be a list of integers >= 1, got ${JSON.stringify(inputShape)}`);
  }
  const rt = net.parameters()[0]?.rt;
  const x0 = zeros(inputShape, rt ? { rt } : {});
  const modes = net.namedModules().map(([, m]) => [m, m.training] as const);
  net.eval();
  let calls: TracedCall[], result: unknown, traceConstants: Map<Tensor, Tensor>;
  try {
    ({ calls, result, constants: traceConstants } = traceOps(
      () => noGrad(() => net.forward(x0)),
      [x0],
      (t) => noGrad(() => ops.clone(t)),
    ));
  } finally {
    for (const [m, mode] of modes) m.training = mode;
  }
  const fail = (why: string) => {
    for (const c of traceConstants.values()) c.dispose();
    for (const c of calls) c.output.dispose();
    x0.dispose();
    return rangeError(action, why);
  };
  if (!isTensor(result)) throw fail("the forward pass must return one tensor");
  const traced = calls.length;
  const unknown = calls.find((c) => !(c.op in OPS_BY_NAME));
  if (unknown) throw fail(`op ${unknown.op} cannot be replayed`);

  // Eval-mode dropout and clones are identities: their outputs alias their inputs.
  const alias = new Map<Tensor, Tensor>();
  const resolve = (t: Tensor): Tensor => {
    let r = t;
    while (alias.has(r)) r = alias.get(r)!;
    return r;
  };
  for (const c of calls) {
    const opt = c.args[1] as { training?: boolean } | undefined;
    if (c.op === "clone" || (c.op === "dropout" && !opt?.training)) alias.set(c.output, c.args[0] as Tensor);
  }
  const output = resolve(result);
  let steps: Step[] = calls
    .filter((c) => !alias.has(c.output))
    .map((c) => ({ op: c.op, args: substitute(c.args, resolve) as unknown[], output: c.output }));

  // Keep the calls the output needs (the last producer of each tensor), in order.
  const live = (list: Step[]): Step[] => {
    const needed = new Set<Tensor>([output]);
    const produced = new Set<Tensor>();
    const keep: Step[] = [];
    for (let i = list.length - 1; i >= 0; i--) {
      const s = list[i];
      if (!needed.has(s.output) || produced.has(s.output)) continue;
      produced.add(s.output);
      keep.push(s);
      eachTensor(s.args, (t) => needed.add(t));
    }
    return keep.reverse();
  };
  steps = live(steps);

  const stats: FreezeStats = { traced, ops: 0, foldedBatchNorms: 0, fusedRelus: 0, winogradConvs: 0 };
  const owned: Tensor[] = []; // tensors made here (folded weights, Winograd weights)
  const uses = (list: Step[]) => {
    const n = new Map<Tensor, Step[]>();
    for (const s of list) eachTensor(s.args, (t) => n.set(t, [...(n.get(t) ?? []), s]));
    return n;
  };
  const soleUser = (u: Map<Tensor, Step[]>, t: Tensor): Step | undefined => {
    const users = u.get(t);
    return t !== output && users?.length === 1 ? users[0] : undefined;
  };

  // Conv -> batch norm (eval) -> ReLU.
  const removed = new Set<Step>();
  let u = uses(steps);
  for (const s of steps) {
    if (s.op !== "conv2d" || removed.has(s)) continue;
    const opts = { ...(s.args[2] as ops.Conv2dOptions | undefined ?? {}) };
    if (opts.relu) continue;
    let out = s.output;
    const bn = soleUser(u, out);
    const bnOpts = bn?.args[1] as ops.BatchNormOptions | undefined;
    if (
      options.foldBatchNorm !== false && bn && bn.op === "batchNorm" && bn.args[0] === out && bnOpts &&
      !bnOpts.training && bnOpts.runningMean && bnOpts.runningVar
    ) {
      const w = s.args[1] as Tensor;
      const [folded, bias] = await foldBatchNorm(w, opts.bias ?? null, bnOpts);
      owned.push(folded, bias);
      s.args = [s.args[0], folded, { ...opts, bias }];
      removed.add(bn);
      out = bn.output;
      stats.foldedBatchNorms++;
    }
    const relu = soleUser(u, out);
    if (options.fuseRelu !== false && relu && relu.op === "relu" && relu.args[0] === out) {
      s.args = [s.args[0], s.args[1], { ...(s.args[2] as object), relu: true }];
      removed.add(relu);
      out = relu.output;
      stats.fusedRelus++;
    }
    s.output = out;
  }
  steps = steps.filter((s) => !removed.has(s));
  u = uses(steps);

  // Winograd weights, once.
  if (options.winograd !== false) {
    for (const s of steps) {
      if (s.op !== "conv2d") continue;
      const [x, w, opts = {}] = s.args as [Tensor, Tensor, ops.Conv2dOptions?];
      const variant = ops.winogradVariant(x.shape, w, opts);
      if (!variant) continue;
      const wu = noGrad(() => ops.winogradWeights(w, variant));
      owned.push(wu);
      s.args = [x, w, { ...opts, winogradWeights: wu }];
      stats.winogradConvs++;
    }
  }

  // Keep the constants the steps read (copied when traced); free the rest and the traced intermediates.
  const read = new Set<Tensor>();
  for (const st of steps) eachTensor(st.args, (t) => read.add(t));
  const constants = [...owned, ...[...traceConstants.values()].filter((c) => read.has(c))];
  for (const c of traceConstants.values()) if (!read.has(c)) c.dispose();
  stats.ops = steps.length;
  await Promise.all(constants.map((t) => t.ready));
  for (const c of calls) c.output.dispose();
  x0.dispose();
  return new FrozenModel([...inputShape], steps, x0, output, constants, stats);
}

/** w' = w * g / sqrt(var + eps) per output channel, b' = (b - mean) * g / sqrt(var + eps) + beta. */
async function foldBatchNorm(
  w: Tensor,
  b: Tensor | null,
  bn: ops.BatchNormOptions,
): Promise<[Tensor, Tensor]> {
  const cOut = w.shape[0], per = w.size / cOut;
  const [wd, bd, mean, variance, gamma, beta] = await Promise.all([
    w.toArray(),
    b ? b.toArray() : Promise.resolve(null),
    bn.runningMean!.toArray(),
    bn.runningVar!.toArray(),
    bn.weight ? bn.weight.toArray() : Promise.resolve(null),
    bn.bias ? bn.bias.toArray() : Promise.resolve(null),
  ]) as (Float32Array | null)[];
  const eps = bn.eps ?? 1e-5;
  const fw = new Float32Array(w.size), fb = new Float32Array(cOut);
  for (let o = 0; o < cOut; o++) {
    const s = (gamma ? gamma[o] : 1) / Math.sqrt(variance![o] + eps);
    for (let i = 0; i < per; i++) fw[o * per + i] = wd![o * per + i] * s;
    fb[o] = ((bd ? bd[o] : 0) - mean![o]) * s + (beta ? beta[o] : 0);
  }
  return [tensor(fw, w.shape, { rt: w.rt }), tensor(fb, [cOut], { rt: w.rt })];
}
