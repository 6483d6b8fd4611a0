/**
 * `summary()`: a per-layer table (name, type, output shape, params, MACs) and totals, found by running
 * the model once with every module's forward observed. For a model name, the walk runs on a "meta"
 * runtime that checks shapes and allocates but computes nothing, so it is fast even for VGG-19.
 * @module
 */
import { Conv2d, Linear, type Module, StochasticDepth } from "../layers/mod.ts";
import { createRuntime, noGrad, rangeError, type Tensor, withRuntime, zeros } from "../tensor/mod.ts";
import { entry, type ModelOptions } from "./registry.ts";
import { create } from "./registry.ts";

/** One row: a module that produced an output during the walk. */
export interface SummaryRow {
  name: string;
  type: string;
  outputShape: number[];
  /** Parameters owned directly by this module (not its children). */
  params: number;
  /** Multiply-accumulates of conv and linear layers (torchvision's convention). */
  macs: number;
}

/** What {@linkcode summary} returns. */
export interface Summary {
  title: string;
  inputSize: number[];
  rows: SummaryRow[];
  totalParams: number;
  trainableParams: number;
  totalMacs: number;
  /** Bytes of all module outputs of one forward at batch 1 (float32). */
  activationBytes: number;
  /**
   * With stochastic depth: the residual branches that can be dropped and their expected number kept in
   * training, sum of the survival probabilities 1 - p_l (Huang et al.'s expected depth).
   */
  stochasticDepth?: { blocks: number; expectedBlocks: number };
  toString(): string;
}

function ownParams(m: Module): number {
  return m.namedParameters().filter(([k]) => !k.includes(".")).reduce((s, [, t]) => s + t.size, 0);
}

/**
 * Summarizes a registered model (by name) or a module.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const net = new cnn.nn.Sequential(new cnn.nn.Conv2d(3, 8, { kernelSize: 3 }), new cnn.nn.Flatten());
 * const s = await cnn.models.summary(net, { inputSize: [3, 8, 8] });
 * console.log(s.totalParams, s.totalMacs); // 224 7776
 * ```
 */
export async function summary(
  model: string | Module,
  options: { inputSize?: readonly number[]; modelOptions?: ModelOptions } = {},
): Promise<Summary> {
  let module: Module;
  let title: string;
  let inputSize: number[];
  let disposeAfter = false;
  let rt;
  if (typeof model === "string") {
    const e = entry(model);
    inputSize = [...(options.inputSize ?? e.inputSize)];
    rt = await createRuntime({ backend: "meta" });
    module = withRuntime(rt, () => create(model, options.modelOptions));
    const shown = Object.entries(options.modelOptions ?? {}).filter(([k]) => k !== "generator");
    title = shown.length ? `${model} ${JSON.stringify(Object.fromEntries(shown))}` : model;
    disposeAfter = true;
  } else {
    module = model;
    if (!options.inputSize) throw rangeError("summarize module", "give inputSize [channels, height, width]");
    inputSize = [...options.inputSize];
    title = module.constructor.name;
    rt = module.parameters()[0]?.rt;
  }
  if (inputSize.length !== 3) {
    throw rangeError("summarize model", `inputSize must be [c, h, w], got [${inputSize}]`);
  }
  const rows: SummaryRow[] = [];
  const names = new Map<Module, string>(module.namedModules().map(([p, m]) => [m, p]));
  const restore: (() => void)[] = [];
  for (const [m, name] of names) {
    const orig = m.forward;
    const own = ownParams(m);
    const wrapped = (...args: Tensor[]): Tensor => {
      const y = orig.apply(m, args);
      let macs = 0;
      if (m instanceof Conv2d) {
        const [cOutPerGroup, cInPerGroup, kh, kw] = m.weight.shape;
        macs = y.shape[0] * y.shape[2] * y.shape[3] * cOutPerGroup * cInPerGroup * kh * kw;
      } else if (m instanceof Linear) {
        macs = y.shape[0] * m.weight.size;
      }
      rows.push({
        name: name || "(model)",
        type: m.constructor.name,
        outputShape: [...y.shape],
        params: own,
        macs,
      });
      return y;
    };
    Object.defineProperty(m, "forward", { value: wrapped, configurable: true, writable: true });
    restore.push(() => delete (m as unknown as Record<string, unknown>).forward);
  }
  const wasTraining = module.training;
  module.eval();
  try {
    await noGrad(async () => {
      const run = () => {
        const x = zeros([1, ...inputSize]);
        const y = module.forward(x);
        x.dispose();
        y.dispose();
      };
      if (rt) withRuntime(rt, run);
      else run();
      await rt?.sync();
    });
  } finally {
    for (const r of restore) r();
    module.train(wasTraining);
  }
  // children report after parents start but finish first: order rows by first appearance of the path
  const order = [...names.values()];
  rows.sort((a, b) =>
    order.indexOf(a.name === "(model)" ? "" : a.name) - order.indexOf(b.name === "(model)" ? "" : b.name)
  );
  const totalParams = module.numParameters();
  const totalMacs = rows.reduce((s, r) => s + r.macs, 0);
  const activationBytes = rows.filter((r) => r.name !== "(model)").reduce(
    (s, r) => s + 4 * r.outputShape.reduce((p, d) => p * d, 1),
    0,
  );
  const drops = module.namedModules().map(([, m]) => m).filter((m) => m instanceof StochasticDepth);
  const stochasticDepth = drops.length
    ? { blocks: drops.length, expectedBlocks: drops.reduce((sum, d) => sum + (1 - d.p), 0) }
    : undefined;
  if (disposeAfter) {
    module.dispose();
    await rt?.close();
  }
  return {
    title,
    inputSize,
    rows,
    totalParams,
    trainableParams: totalParams,
    totalMacs,
    activationBytes,
    stochasticDepth,
    toString() {
      const head = ["layer", "type", "output shape", "params", "MACs"];
      const body = rows.map((
        r,
      ) => [r.name, r.type, `[${r.outputShape.join(", ")}]`, String(r.params), String(r.macs)]);
      const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
      const line = (c: string[]) =>
        c.map((x, i) => (i >= 3 ? x.padStart(widths[i]) : x.padEnd(widths[i]))).join("  ");
      return [
        `${title}  input [${inputSize.join(", ")}]`,
        line(head),
        ...body.map(line),
        `total params ${totalParams.toLocaleString("en-US")}  MACs ${
          totalMacs.toLocaleString("en-US")
        }  activations ${(activationBytes / 2 ** 20).toFixed(1)} MiB`,
        ...(stochasticDepth
          ? [
            `stochastic depth: expected ${
              stochasticDepth.expectedBlocks.toFixed(2)
            } of ${stochasticDepth.blocks} residual blocks kept in training`,
          ]
          : []),
      ].join("\n");
    },
  };
}
