/**
 * The ablations of He et al., "Identity Mappings in Deep Residual Networks" (arXiv:1603.05027): CIFAR
 * ResNets of depth 6n + 2 (basic units, e.g. ResNet-110) or 9n + 2 (bottleneck units, e.g. ResNet-164)
 * with the shortcut variants of Fig. 2 / Table 1 and the activation orders of Fig. 4 as options.
 *
 * Layout: a 3×3 conv with 16 filters, three stages of n units (basic widths 16, 32, 64; bottleneck inner
 * widths 16, 32, 64 with outputs 64, 128, 256), stride 2 at the first unit of stages 2 and 3, global
 * average pool, FC. A bottleneck's stride sits on its first 1×1 (the authors' resnet-1k-layers code).
 *
 * Activation orders (Fig. 4), written for a basic unit (bottlenecks add a third BN/ReLU/conv):
 * - "original": conv1 → bn1 → ReLU → conv2 → bn2, add, ReLU. Stem conv1 → bn1 → ReLU.
 * - "bn-after-add": conv1 → bn1 → ReLU → conv2, add, bn2 → ReLU (bn2 normalises the sum).
 * - "relu-before-add": conv1 → bn1 → ReLU → conv2 → bn2 → ReLU, add; nothing after the addition.
 * - "relu-only-preact": ReLU → conv1 → bn1 → ReLU → conv2 → bn2, add. Stem conv1 → bn1; head ReLU.
 * - "full-preact" (default): bn1 → ReLU → conv1 → bn2 → ReLU → conv2, add. Stem conv1; head bn → ReLU
 *   (as models/preact_resnet.ts).
 *
 * Shortcuts (Fig. 2), with h the shortcut and F the residual branch:
 * - "identity" (default): h + F.
 * - "constant": λh + F, or λh + (1 − λ)F with `scaleResidual` (λ = `lambda`, default 0.5).
 * - "exclusive-gating": (1 − g)h + gF with g = sigmoid(gate(·)), `gate` a biased 1×1 conv whose bias
 *   starts at `gateBias` (default −6).
 * - "shortcut-gating": (1 − g)h + F.
 * - "conv1x1": every unit's shortcut is the 1×1 projection.
 * - "dropout": dropout(h, `shortcutDropout` = 0.5) + F (inverted dropout, identity in eval mode).
 *
 * Shortcuts that change shape (first units of stages 2 and 3, and the first bottleneck unit) are a 1×1
 * projection under `downsample`, as in the paper ("1×1 convolutional shortcuts for increasing
 * dimensions"): in the post-activation orders conv → BN (fb.resnet.torch shortcut B, under `downsample.0`
 * and `downsample.1`); in the pre-activation orders a bias-free conv alone that reads the pre-activated
 * input (resnet-1k-layers). The same module is the "conv1x1" shortcut of every unit. The scalings and
 * gates of the other variants apply to every unit's shortcut, projected or not. The gate reads the same
 * tensor as F (the unit input, pre-activated in the pre-activation orders) and has F's output shape.
 *
 * Weights: convs N(0, √(2/fan_out)), BN γ = 1 and β = 0, gate bias `gateBias`, FC torch default with a zero
 * bias.
 *
 * Stochastic depth (Huang et al.) on every unit: option `stochasticDepth`, the rules and modes of
 * models/resnet.ts. F enters the shortcut's merge as gate · F; a dropped unit computes no F.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * import { identityMappingResNet } from "./identity_mappings.ts";
 * await cnn.init({ threads: 1 });
 * const net = identityMappingResNet(110, { order: "original", shortcut: "exclusive-gating", gateBias: -6 });
 * console.log(net.numParameters());
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
  Module,
  ReLU,
  Sequential,
  type StochasticDepth,
} from "../layers/mod.ts";
import { defaultGenerator, type Generator, ops, rangeError, type Tensor } from "../tensor/mod.ts";
import { stochasticDepthGates, type StochasticDepthOptions } from "./_stochastic_depth.ts";

/** The shortcut variants of Fig. 2. */
export const SHORTCUTS = [
  "identity",
  "constant",
  "exclusive-gating",
  "shortcut-gating",
  "conv1x1",
  "dropout",
] as const;
/** A shortcut variant. */
export type ShortcutKind = typeof SHORTCUTS[number];

/** The activation orders of Fig. 4. */
export const ORDERS = [
  "original",
  "bn-after-add",
  "relu-before-add",
  "relu-only-preact",
  "full-preact",
] as const;
/** An activation order. */
export type ActivationOrder = typeof ORDERS[number];

/** Options of {@linkcode identityMappingResNet}. */
export interface IdentityMappingOptions {
  /** "basic" (two 3×3, depth 6n + 2, default) or "bottleneck" (1×1, 3×3, 1×1 with 4× expansion, depth 9n + 2). */
  block?: "basic" | "bottleneck";
  /** Shortcut variant (default "identity"). */
  shortcut?: ShortcutKind;
  /** Activation order (default "full-preact"). */
  order?: ActivationOrder;
  /** Output classes (default 10). */
  numClasses?: number;
  /** Input channels (default 3). */
  inChannels?: number;
  /** "constant": the shortcut scale λ (default 0.5). */
  lambda?: number;
  /** "constant": also scale F by 1 − λ (default false). */
  scaleResidual?: boolean;
  /** Gating shortcuts: initial bias of the gate conv (default −6). */
  gateBias?: number;
  /** "dropout": drop probability on the shortcut (default 0.5). */
  shortcutDropout?: number;
  /**
   * Stochastic depth on every unit (Huang et al.; the rules and modes of models/resnet.ts): the residual
   * branch F enters the shortcut's merge as gate · F, and a dropped unit runs no branch convs (the
   * shortcut, its gate and whatever follows the addition still run). Default: none.
   */
  stochasticDepth?: StochasticDepthOptions;
  /** Generator for the weights (default: the global generator). */
  generator?: Generator;
}

const OPTION_KEYS = [
  "block",
  "shortcut",
  "order",
  "numClasses",
  "inChannels",
  "lambda",
  "scaleResidual",
  "gateBias",
  "shortcutDropout",
  "stochasticDepth",
  "generator",
] as const;

/** The resolved options of a unit. */
interface UnitConfig {
  block: "basic" | "bottleneck";
  shortcut: ShortcutKind;
  order: ActivationOrder;
  lambda: number;
  scaleResidual: boolean;
  gateBias: number;
  shortcutDropout: number;
}

const ACTION = "create identityMappingResNet";

function conv(cin: number, cout: number, k: number, stride = 1, bias = false): Conv2d {
  return new Conv2d(cin, cout, { kernelSize: k, stride, padding: (k - 1) / 2, bias });
}

function isPreact(o: ActivationOrder): boolean {
  return o === "full-preact" || o === "relu-only-preact";
}

/** Applies `f` and disposes `t` unless it is `keep`. */
function step(t: Tensor, keep: Tensor, f: (t: Tensor) => Tensor): Tensor {
  const y = f(t);
  if (t !== keep) t.dispose();
  return y;
}

/**
 * One residual unit with the configured activation order and shortcut. Parameters: `conv1..3`
 * (`conv3` for bottlenecks), `bn1..3`, `downsample` (1×1 projection), `gate` (gating shortcuts), and
 * `dropout` (no parameters).
 */
export class IdentityMappingUnit extends Module {
  /** First conv (3×3 basic, 1×1 bottleneck; carries the stride). */
  conv1: Conv2d;
  /** BN numbered by position: after conv1 (post orders, relu-only) or before it (full-preact). */
  bn1: BatchNorm2d;
  /** Second conv (3×3). */
  conv2: Conv2d;
  /** Second BN (after the addition in "bn-after-add" for basic units). */
  bn2: BatchNorm2d;
  /** Third conv (bottleneck 1×1 expansion) or null. */
  conv3: Conv2d | null;
  /** Third BN (bottleneck) or null. */
  bn3: BatchNorm2d | null;
  /** 1×1 projection shortcut where the shape changes or for "conv1x1", else null. */
  downsample: Sequential | null;
  /** Biased 1×1 gate conv of the gating shortcuts, else null. */
  gate: Conv2d | null;
  /** Shortcut dropout of "dropout", else null. */
  dropout: Dropout | null;
  /** Stochastic-depth gate of the residual branch, else null. */
  drop: StochasticDepth | null;
  /** The resolved options. */
  readonly config: Readonly<UnitConfig>;
  #convs: Conv2d[];
  #bns: BatchNorm2d[];

  /** A unit from `cin` to `cout` channels with the given stride (and a stochastic-depth gate). */
  constructor(
    cin: number,
    cout: number,
    stride: number,
    cfg: UnitConfig,
    drop: StochasticDepth | null = null,
  ) {
    super();
    this.config = Object.freeze({ ...cfg });
    const bottleneck = cfg.block === "bottleneck";
    const mid = bottleneck ? cout / 4 : cout;
    if (!Number.isInteger(mid)) throw rangeError(ACTION, `output channels ${cout} are not divisible by 4`);
    // [in, out, kernel] of each conv; the stride goes on the first.
    const shapes: [number, number, number][] = bottleneck
      ? [[cin, mid, 1], [mid, mid, 3], [mid, cout, 1]]
      : [[cin, cout, 3], [cout, cout, 3]];
    const convs = shapes.map(([a, b, k], i) => conv(a, b, k, i === 0 ? stride : 1));
    // BN i normalises conv i's output, except in full-preact where it precedes conv i.
    const bns = shapes.map(([a, b]) => new BatchNorm2d(cfg.order === "full-preact" ? a : b));
    this.conv1 = convs[0];
    this.bn1 = bns[0];
    this.conv2 = convs[1];
    this.bn2 = bns[1];
    this.conv3 = convs[2] ?? null;
    this.bn3 = bns[2] ?? null;
    const project = stride !== 1 || cin !== cout || cfg.shortcut === "conv1x1";
    this.downsample = project
      ? isPreact(cfg.order)
        ? new Sequential(conv(cin, cout, 1, stride))
        : new Sequential(conv(cin, cout, 1, stride), new BatchNorm2d(cout))
      : null;
    const gating = cfg.shortcut === "exclusive-gating" || cfg.shortcut === "shortcut-gating";
    this.gate = gating ? conv(cin, cout, 1, stride, true) : null;
    this.dropout = cfg.shortcut === "dropout" ? new Dropout(cfg.shortcutDropout) : null;
    this.drop = drop;
    this.#convs = convs;
    this.#bns = bns;
  }

  /** F of the input `pre` (already pre-activated in the pre-activation orders). */
  residual(pre: Tensor): Tensor {
    const o = this.config.order;
    const k = this.#convs.length;
    let t = pre;
    for (let i = 0; i < k; i++) {
      if (o === "full-preact" && i > 0) {
        t = step(t, pre, (u) => this.#bns[i].forward(u));
        t = step(t, pre, ops.relu);
      }
      t = step(t, pre, (u) => this.#convs[i].forward(u));
      if (o === "full-preact") continue;
      const last = i === k - 1;
      if (last && o === "bn-after-add") continue;
      t = step(t, pre, (u) => this.#bns[i].forward(u));
      if (!last || o === "relu-before-add") t = step(t, pre, ops.relu);
    }
    return t;
  }

  /**
   * The shortcut h and F merged as the variant says; `pre` feeds the gate. F null (a unit dropped by
   * stochastic depth) merges as F = 0 without computing it.
   */
  combine(h: Tensor, f: Tensor | null, pre: Tensor): Tensor {
    const c = this.config;
    switch (c.shortcut) {
      case "constant":
        return f
          ? ops.add(h, f, { alpha: c.lambda, beta: c.scaleResidual ? 1 - c.lambda : 1 })
          : ops.scale(h, c.lambda);
      case "exclusive-gating":
      case "shortcut-gating": {
        const z = this.gate!.forward(pre);
        const g = ops.sigmoid(z);
        z.dispose();
        if (c.shortcut === "exclusive-gating" && f) {
          // (1 - g) h + g F = h + g (F - h)
          const d = ops.add(f, h, { beta: -1 });
          const gd = ops.mul(g, d);
          d.dispose();
          g.dispose();
          const y = ops.add(h, gd);
          gd.dispose();
          return y;
        }
        // (1 - g) h + F = (h + F) - g h, and (1 - g) h = h - g h for both gates when F = 0
        const gh = ops.mul(g, h);
        g.dispose();
        const s = f ? ops.add(h, f) : h;
        const y = ops.add(s, gh, { beta: -1 });
        if (s !== h) s.dispose();
        gh.dispose();
        return y;
      }
      case "dropout": {
        const hd = this.dropout!.forward(h);
        if (!f) return hd;
        const y = ops.add(hd, f);
        hd.dispose();
        return y;
      }
      default:
        // scale by 1, not clone: the copy stays on the gradient tape
        return f ? ops.add(h, f) : ops.scale(h, 1);
    }
  }

  /** The unit's output (F scaled by the stochastic-depth gate, if any; not computed when dropped). */
  forward(x: Tensor): Tensor {
    const o = this.config.order;
    const gate = this.drop ? this.drop.gate() : 1;
    // a dropped unit needs the pre-activated input only for a projection or a gate
    const needPre = gate !== 0 || this.downsample !== null || this.gate !== null;
    let pre = x;
    if (o === "full-preact" && needPre) {
      const n = this.bn1.forward(x);
      pre = ops.relu(n);
      n.dispose();
    } else if (o === "relu-only-preact" && needPre) pre = ops.relu(x);
    let f = gate === 0 ? null : this.residual(pre);
    if (f && gate !== 1) f = step(f, pre, (t) => ops.scale(t, gate));
    const h = this.downsample ? this.downsample.forward(pre) : x;
    let y = this.combine(h, f, pre);
    f?.dispose();
    if (h !== x) h.dispose();
    if (pre !== x) pre.dispose();
    if (o === "original") y = step(y, x, ops.relu);
    else if (o === "bn-after-add") {
      y = step(y, x, (u) => this.#bns[this.#bns.length - 1].forward(u));
      y = step(y, x, ops.relu);
    }
    return y;
  }
}

/**
 * The network: stem (`conv1`, plus `bn1` → `relu` in the post-activation orders, `bn1` in
 * "relu-only-preact") → `layer1..3` → head (`relu` in "relu-only-preact", `bn` → `relu` in "full-preact")
 * → `avgpool` → `flatten` → `fc`.
 */
export class IdentityMappingResNet extends Module {
  /** Depth (6n + 2 basic, 9n + 2 bottleneck). */
  readonly depth: number;
  /** Units per stage. */
  readonly n: number;
  /** The resolved unit options. */
  readonly config: Readonly<UnitConfig>;

  /** See {@linkcode identityMappingResNet}. */
  constructor(depth: number, options: IdentityMappingOptions = {}) {
    super();
    if (options === null || typeof options !== "object") {
      throw rangeError(ACTION, `options must be an object, got ${options}`);
    }
    for (const key of Object.keys(options)) {
      if (!(OPTION_KEYS as readonly string[]).includes(key)) {
        throw rangeError(ACTION, `unknown option ${JSON.stringify(key)} (known: ${OPTION_KEYS.join(", ")})`);
      }
    }
    const block = options.block ?? "basic";
    if (block !== "basic" && block !== "bottleneck") {
      throw rangeError(ACTION, `block must be "basic" or "bottleneck", got ${JSON.stringify(block)}`);
    }
    const shortcut = options.shortcut ?? "identity";
    if (!(SHORTCUTS as readonly string[]).includes(shortcut)) {
      throw rangeError(
        ACTION,
        `shortcut must be one of ${SHORTCUTS.join(", ")}, got ${JSON.stringify(shortcut)}`,
      );
    }
    const order = options.order ?? "full-preact";
    if (!(ORDERS as readonly string[]).includes(order)) {
      throw rangeError(ACTION, `order must be one of ${ORDERS.join(", ")}, got ${JSON.stringify(order)}`);
    }
    const per = block === "basic" ? 6 : 9;
    const n = (depth - 2) / per;
    if (!Number.isInteger(n) || n < 1) {
      throw rangeError(ACTION, `depth must be ${per}n + 2 with n >= 1 for ${block} units, got ${depth}`);
    }
    const only = (key: keyof IdentityMappingOptions, kinds: ShortcutKind[]) => {
      if (options[key] !== undefined && !kinds.includes(shortcut)) {
        throw rangeError(ACTION, `option ${key} applies to shortcut ${kinds.join(" or ")}, not ${shortcut}`);
      }
    };
    only("lambda", ["constant"]);
    only("scaleResidual", ["constant"]);
    only("gateBias", ["exclusive-gating", "shortcut-gating"]);
    only("shortcutDropout", ["dropout"]);
    const lambda = options.lambda ?? 0.5;
    if (!Number.isFinite(lambda)) throw rangeError(ACTION, `lambda must be finite, got ${lambda}`);
    const scaleResidual = options.scaleResidual ?? false;
    if (typeof scaleResidual !== "boolean") {
      throw rangeError(ACTION, `scaleResidual must be a boolean, got ${JSON.stringify(scaleResidual)}`);
    }
    const gateBias = options.gateBias ?? -6;
    if (!Number.isFinite(gateBias)) throw rangeError(ACTION, `gateBias must be finite, got ${gateBias}`);
    const shortcutDropout = options.shortcutDropout ?? 0.5;
    if (!(shortcutDropout >= 0 && shortcutDropout < 1)) {
      throw rangeError(ACTION, `shortcutDropout must be in [0, 1), got ${shortcutDropout}`);
    }
    const numClasses = options.numClasses ?? 10;
    const inChannels = options.inChannels ?? 3;
    for (const [k, v] of [["numClasses", numClasses], ["inChannels", inChannels]] as const) {
      if (!Number.isInteger(v) || v < 1) throw rangeError(ACTION, `${k} must be an integer >= 1, got ${v}`);
    }
    const cfg: UnitConfig = { block, shortcut, order, lambda, scaleResidual, gateBias, shortcutDropout };
    this.depth = depth;
    this.n = n;
    this.config = Object.freeze(cfg);

    const self = this as unknown as Record<string, Module>;
    const stem = 16;
    self.conv1 = conv(inChannels, stem, 3);
    if (order !== "full-preact") self.bn1 = new BatchNorm2d(stem);
    if (!isPreact(order)) self.relu = new ReLU();
    const expansion = block === "bottleneck" ? 4 : 1;
    const dropFor = stochasticDepthGates(options.stochasticDepth, 3 * n, ACTION);
    let cin = stem;
    for (let si = 0; si < 3; si++) {
      const cout = 16 * 2 ** si * expansion;
      const stage = new Sequential();
      for (let i = 0; i < n; i++) {
        stage.add(new IdentityMappingUnit(cin, cout, i === 0 && si > 0 ? 2 : 1, cfg, dropFor()));
        cin = cout;
      }
      self[`layer${si + 1}`] = stage;
    }
    if (order === "full-preact") self.bn = new BatchNorm2d(cin);
    if (isPreact(order)) self.relu = new ReLU();
    self.avgpool = new AdaptiveAvgPool2d(1);
    self.flatten = new Flatten();
    self.fc = new Linear(cin, numClasses);

    const g = options.generator ?? defaultGenerator;
    for (const [, m] of this.namedModules()) {
      if (m instanceof Conv2d) {
        init.kaimingNormal(m.weight, { mode: "fan_out" }, g);
        if (m.bias) init.constant(m.bias, gateBias);
      } else if (m instanceof Linear) {
        init.torchDefault(m.weight, null, g);
        init.constant(m.bias!, 0);
      }
    }
  }

  /** Logits [n, numClasses]. */
  forward(x: Tensor): Tensor {
    let t = x;
    for (const [, m] of this.namedChildren()) t = step(t, x, (u) => m.forward(u));
    return t;
  }
}

/**
 * A CIFAR ResNet of the identity-mappings paper with its ablations as options: depth 6n + 2 (basic) or
 * 9n + 2 (bottleneck). ResNet-110 is `identityMappingResNet(110)`, ResNet-164 is
 * `identityMappingResNet(164, { block: "bottleneck" })`.
 */
export function identityMappingResNet(
  depth: number,
  options: IdentityMappingOptions = {},
): IdentityMappingResNet {
  return new IdentityMappingResNet(depth, options);
}
