/**
 * The model registry: every name `create()` accepts, with its family, defaults and builder. Each family
 * file exports a record of entries; this file only gathers them.
 * @module
 */
import { withoutInit } from "../layers/init.ts";
import { rangeError, type Tensor } from "../tensor/mod.ts";
import type { Module } from "../layers/mod.ts";

/** Options every model accepts (families add their own). */
export interface ModelOptions {
  /** Output classes (ImageNet names default to 1000, CIFAR names to 10). */
  numClasses?: number;
  /** Input channels (3; 1 for MNIST). */
  inChannels?: number;
  /** Dropout probability where the architecture has dropout. */
  dropout?: number;
  /**
   * Draw the random initial weights (default true). `false` fills zeros instead, much faster for large
   * models whose weights are loaded right after (ResNet-50: ~3 s less).
   */
  init?: boolean;
  /** Family-specific options. */
  [key: string]: unknown;
}

/** One registered model. */
export interface ModelEntry {
  /** Family, e.g. "resnet". */
  family: string;
  /** One line: what it is and where it comes from (torchvision-exact, paper, CIFAR). */
  description: string;
  /** Native input [channels, height, width]. */
  inputSize: readonly [number, number, number];
  /** Default number of classes. */
  numClasses: number;
  /** Builds the model with the given options (defaults already applied). */
  build(options: ModelOptions): Module;
}

/** Outputs of a model with auxiliary heads (GoogLeNet, Inception v3) in training. */
export interface AuxOutputs {
  logits: Tensor;
  /** Auxiliary logits in torchvision 0.14 tuple order: GoogLeNet [head aux1 (on 4a), head aux2 (on 4d)]. */
  aux: Tensor[];
}

/** A model whose training forward also returns auxiliary logits. `forward` returns the main logits only. */
export interface AuxModel {
  forwardAux(x: Tensor): AuxOutputs;
}

/** True if `m` has auxiliary heads that are active (constructed with auxLogits). */
export function hasAux(m: unknown): m is AuxModel {
  return typeof (m as { forwardAux?: unknown }).forwardAux === "function";
}

const REGISTRY = new Map<string, ModelEntry>();

/** Adds a family's entries (each name once). */
export function register(entries: Record<string, ModelEntry>): void {
  for (const [name, e] of Object.entries(entries)) {
    if (REGISTRY.has(name)) throw rangeError("register model", `${name} is registered twice`);
    REGISTRY.set(name, e);
  }
}

/** A function that maps a name outside the fixed list to an entry (or undefined). */
export type ModelResolver = (name: string) => ModelEntry | undefined;
const RESOLVERS: ModelResolver[] = [];

/**
 * Adds a resolver for names outside the fixed list (a family of names such as `wrn_<depth>_<k>`): `entry()`
 * asks each resolver in turn when a name is not registered. Resolved names are not in {@linkcode list}.
 */
export function registerResolver(fn: ModelResolver): void {
  RESOLVERS.push(fn);
}

/** Every registered name, sorted. */
export function list(): string[] {
  return [...REGISTRY.keys()].sort();
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

/** The entry of `name`, or a RangeError suggesting the closest names. */
export function entry(name: string): ModelEntry {
  const e = REGISTRY.get(name);
  if (e) return e;
  for (const r of RESOLVERS) {
    const found = r(name);
    if (found) return found;
  }
  const close = list().map((n) => [n, editDistance(name, n)] as const).sort((a, b) => a[1] - b[1]).slice(
    0,
    3,
  );
  throw rangeError(
    "create model",
    `unknown model ${JSON.stringify(name)}; did you mean ${close.map((c) => c[0]).join(", ")}?`,
  );
}

/**
 * Builds a registered model.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * console.log(cnn.models.list().length > 0);
 * ```
 */
export function create(name: string, options: ModelOptions = {}): Module {
  const e = entry(name);
  const numClasses = options.numClasses ?? e.numClasses;
  const inChannels = options.inChannels ?? e.inputSize[0];
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw rangeError(`create ${name}`, `numClasses must be an integer >= 1, got ${numClasses}`);
  }
  if (!Number.isInteger(inChannels) || inChannels < 1) {
    throw rangeError(`create ${name}`, `inChannels must be an integer >= 1, got ${inChannels}`);
  }
  if (options.dropout !== undefined && !(options.dropout >= 0 && options.dropout <= 1)) {
    throw rangeError(`create ${name}`, `dropout must be in [0, 1], got ${options.dropout}`);
  }
  const { init: draw = true, ...rest } = options;
  if (typeof draw !== "boolean") throw rangeError(`create ${name}`, `init must be a boolean, got ${draw}`);
  const build = () => e.build({ ...rest, numClasses, inChannels });
  return draw ? build() : withoutInit(build);
}
