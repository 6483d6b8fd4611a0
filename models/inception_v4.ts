/**
 * Inception-v4, Inception-ResNet-v1 and Inception-ResNet-v2 (Szegedy et al., arXiv:1602.07261) as in
 * spec/features.md §1.7–1.8, each a row of one table read by one builder.
 *
 * - `inception_v4`: the port layout of Cadene/timm `inceptionv4.py` (keys `features.N...`, `last_linear`),
 *   including its 1×n / n×1 ordering and `count_include_pad=False` average pools; 42,679,816 params.
 * - `inception_resnet_v2`: the released TF-slim layout (Mixed_5b 320, 10 × Block35 s 0.17, Mixed_6a 1088,
 *   20 × Block17 s 0.10, Mixed_7a 2080, 9 × Block8 s 0.20 + a final Block8 with s 1 and no ReLU, conv 1×1
 *   1536), with Cadene's keys (`conv2d_1a`, `mixed_5b`, `repeat`, `repeat_1`, `repeat_2`, `block8`,
 *   `conv2d_7b`, `last_linear`); 55,843,464 params. `depths: [5, 10, 5]` gives the paper's block counts.
 * - `inception_resnet_v1`: built from the paper's figures (stem to 35×35×256, 5 × IR-A, Reduction-A
 *   (192, 192, 256, 384), 10 × IR-B, Reduction-B, 5 × IR-C, 1792 wide), keys in the IR-v2 scheme;
 *   22,756,328 params.
 *
 * Every traditional conv is conv (no bias) + BN (eps 0.001) + ReLU ({@linkcode BasicConv2d}); the 1×1
 * "filter expansion" of a residual block is a plain conv with bias and no BN; residuals are
 * relu(x + s · up(branches)). Head: global average pool, dropout (keep 0.8), linear.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * console.log(cnn.models.entry("inception_resnet_v2").inputSize); // [3, 299, 299]
 * ```
 * @module
 */
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  BatchNorm2d,
  Conv2d,
  Dropout,
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

type K = number | readonly [number, number];

/** conv (no bias) → BN (eps 0.001) → ReLU, Cadene's `BasicConv2d` (keys `conv`, `bn`). */
export class BasicConv2d extends Module {
  conv: Conv2d;
  bn: BatchNorm2d;
  relu: ReLU;
  /** A conv of `kernel` (number or [kh, kw]) with "same"-style padding `padding` ([ph, pw]). */
  constructor(
    cin: number,
    cout: number,
    kernel: K,
    stride = 1,
    padding: K = 0,
    g: Generator = defaultGenerator,
  ) {
    super();
    this.conv = new Conv2d(cin, cout, {
      kernelSize: kernel as number | [number, number],
      stride,
      padding: padding as number | [number, number],
      bias: false,
      generator: g,
    });
    this.bn = new BatchNorm2d(cout, { eps: 0.001 });
    this.relu = new ReLU();
  }

  /** relu(bn(conv(x))). */
  forward(x: Tensor): Tensor {
    const c = this.conv.forward(x);
    const y = this.bn.forwardRelu(c);
    c.dispose();
    return y;
  }
}

function run(m: Module, x: Tensor): Tensor {
  return m.forward(x);
}

/**
 * Parallel branches concatenated along channels (children named as in the ports: `branch0`, `conv`,
 * `maxpool`, ...), optionally closed by the residual of Inception-ResNet: relu(x + scale · conv2d(cat)).
 * Inception-C's split branches are given as [stem, [left, right]] and keep Cadene's flat names.
 */
export class MixedBlock extends Module {
  readonly #branches: { stem: Module | null; split: Module[] | null; whole: Module | null }[] = [];
  /** Residual scale s (residual blocks only). */
  readonly scale: number;
  /** Residual block: add to the input (after the `conv2d` up-projection). */
  readonly residual: boolean;
  /** ReLU after the residual sum (false for the last Block8 of the release). */
  readonly activate: boolean;
  /** Stochastic-depth gate of the residual branch, or null. */
  drop: StochasticDepth | null = null;

  /**
   * `branches`: [name, module] for a plain branch, or [[stemName, stem], [[aName, a], [bName, b]]] for a split
   * branch. `residual`: the up-projection's [in, out] channels, the scale, and whether a ReLU follows.
   */
  constructor(
    branches: readonly (
      | readonly [string, Module]
      | readonly [readonly [string, Module], readonly (readonly [string, Module])[]]
    )[],
    residual?: {
      channels: [number, number];
      scale: number;
      relu: boolean;
      generator?: Generator;
      drop?: StochasticDepth | null;
    },
  ) {
    super();
    const self = this as unknown as Record<string, Module>;
    for (const b of branches) {
      if (typeof b[0] === "string") {
        self[b[0]] = b[1] as Module;
        this.#branches.push({ stem: null, split: null, whole: b[1] as Module });
      } else {
        const [[sn, stem], parts] = b as readonly [
          readonly [string, Module],
          readonly (readonly [string, Module])[],
        ];
        self[sn] = stem;
        for (const [n, m] of parts) self[n] = m;
        this.#branches.push({ stem, split: parts.map((p) => p[1]), whole: null });
      }
    }
    this.residual = residual !== undefined;
    this.scale = residual?.scale ?? 1;
    this.activate = residual?.relu ?? true;
    if (residual) {
      const [cin, cout] = residual.channels;
      self.conv2d = new Conv2d(cin, cout, { kernelSize: 1, generator: residual.generator });
      if (residual.relu) self.relu = new ReLU();
      this.drop = residual.drop ?? null;
    }
  }

  /** The concatenated branch outputs (before any residual). */
  branches(x: Tensor): Tensor {
    const outs: Tensor[] = [];
    for (const b of this.#branches) {
      if (b.whole) {
        outs.push(run(b.whole, x));
      } else {
        const s = run(b.stem!, x);
        for (const m of b.split!) outs.push(run(m, s));
        s.dispose();
      }
    }
    const y = ops.concat(outs);
    for (const o of outs) if (o !== x) o.dispose();
    return y;
  }

  /**
   * concat(branches), or relu(x + s · conv2d(concat)) for residual blocks; with stochastic depth the branch
   * term is multiplied by the gate (0: the branches do not run).
   */
  forward(x: Tensor): Tensor {
    const gate = this.residual && this.drop ? this.drop.gate() : 1;
    if (gate === 0) return this.activate ? ops.relu(x) : ops.scale(x, 1);
    const cat = this.branches(x);
    if (!this.residual) return cat;
    const up = (this as unknown as { conv2d: Conv2d }).conv2d.forward(cat);
    cat.dispose();
    const sum = ops.add(x, up, { beta: this.scale * gate });
    up.dispose();
    if (!this.activate) return sum;
    const y = ops.relu(sum);
    sum.dispose();
    return y;
  }
}

/** Rows of the table. */
export type InceptionV4Kind = "inception_v4" | "inception_resnet_v1" | "inception_resnet_v2";

/** One row: the layout and what can vary. */
export interface InceptionV4Config {
  kind: InceptionV4Kind;
  /** Blocks per grid (35, 17, 8): v4 [4, 7, 3], IR-v1 [5, 10, 5], IR-v2 [10, 20, 10] (incl. the final Block8). */
  depths: readonly [number, number, number];
  /** Residual scales per grid (residual rows only). */
  scales?: readonly [number, number, number];
  /** The last 8×8 block has s = 1 and no ReLU (IR-v2 release). */
  finalLinearBlock?: boolean;
}

/** Options of the family. */
export interface InceptionV4Options extends ModelOptions {
  /** Blocks per grid (35×35, 17×17, 8×8); e.g. [5, 10, 5] for the paper's IR-v2 counts. */
  depths?: readonly [number, number, number];
  /** Residual scale s: one for all grids, or per grid (IR-A/B/C). */
  residualScale?: number | readonly [number, number, number];
  /** Multiply every width (channels must stay integers; e.g. 1/8 for small tests). */
  widthMultiplier?: number;
  /** Generator for the weights and the dropout mask (default: the global generator). */
  generator?: Generator;
  /** Stochastic depth over the residual blocks (Inception-ResNet only), as for ResNets. */
  stochasticDepth?: StochasticDepthOptions;
}

/** The family's network class: `features` (v4) or the named IR stages, then pooling and `last_linear`. */
export class InceptionV4 extends Module {
  /** The resolved row. */
  readonly config: Readonly<InceptionV4Config>;
  readonly #stages: Module[] = [];

  /** Builds a network of one row with options. */
  constructor(cfg: InceptionV4Config, options: InceptionV4Options = {}) {
    super();
    const depths = options.depths ?? cfg.depths;
    const rs = options.residualScale;
    const scales = rs === undefined ? cfg.scales ?? [1, 1, 1] : typeof rs === "number" ? [rs, rs, rs] : rs;
    this.config = { ...cfg, depths, scales: scales as [number, number, number] };
    const action = `create ${cfg.kind}`;
    if (depths.length !== 3 || !depths.every((d) => Number.isInteger(d) && d >= 0)) {
      throw rangeError(action, `depths must be 3 integers >= 0, got [${depths}]`);
    }
    if (scales.length !== 3 || !scales.every((s) => Number.isFinite(s))) {
      throw rangeError(action, `residualScale must be a number or 3 numbers, got ${JSON.stringify(rs)}`);
    }
    if (cfg.finalLinearBlock && depths[2] < 1) {
      throw rangeError(action, "the 8x8 grid needs at least 1 block");
    }
    const wm = options.widthMultiplier ?? 1;
    const w = (c: number): number => {
      const v = c * wm;
      if (!Number.isInteger(v) || v < 1) {
        throw rangeError(action, `widthMultiplier ${wm} makes width ${c} non-integral (${v})`);
      }
      return v;
    };
    const g = options.generator ?? defaultGenerator;
    const bc = (cin: number, cout: number, k: K, s = 1, p: K = 0) =>
      new BasicConv2d(w(cin), w(cout), k, s, p, g);
    const cin = options.inChannels ?? 3;
    const stem0 = new BasicConv2d(cin, w(32), 3, 2, 0, g);
    const pool3 = () => new MaxPool2d({ kernelSize: 3, stride: 2 });
    const avg = () => new AvgPool2d({ kernelSize: 3, stride: 1, padding: 1, countIncludePad: false });
    const seq = (...m: Module[]) => new Sequential(...m);
    const self = this as unknown as Record<string, Module>;
    const add = (name: string, m: Module) => {
      self[name] = m;
      this.#stages.push(m);
    };
    if (options.stochasticDepth !== undefined && cfg.kind === "inception_v4") {
      throw rangeError(action, "stochasticDepth applies to the residual blocks of Inception-ResNet only");
    }
    const nextGate = stochasticDepthGates(options.stochasticDepth, depths[0] + depths[1] + depths[2], action);
    const res = (cat: number, ch: number, scale: number, relu = true) => ({
      channels: [w(cat), w(ch)] as [number, number],
      scale,
      relu,
      generator: g,
      drop: nextGate(),
    });
    let width: number;
    if (cfg.kind === "inception_v4") {
      const f = new Sequential(
        stem0,
        bc(32, 32, 3),
        bc(32, 64, 3, 1, 1),
        new MixedBlock([["maxpool", pool3()], ["conv", bc(64, 96, 3, 2)]]),
        new MixedBlock([
          ["branch0", seq(bc(160, 64, 1), bc(64, 96, 3))],
          [
            "branch1",
            seq(bc(160, 64, 1), bc(64, 64, [1, 7], 1, [0, 3]), bc(64, 64, [7, 1], 1, [3, 0]), bc(64, 96, 3)),
          ],
        ]),
        new MixedBlock([["conv", bc(192, 192, 3, 2)], ["maxpool", pool3()]]),
      );
      for (let i = 0; i < depths[0]; i++) {
        f.add(
          new MixedBlock([
            ["branch0", bc(384, 96, 1)],
            ["branch1", seq(bc(384, 64, 1), bc(64, 96, 3, 1, 1))],
            ["branch2", seq(bc(384, 64, 1), bc(64, 96, 3, 1, 1), bc(96, 96, 3, 1, 1))],
            ["branch3", seq(avg(), bc(384, 96, 1))],
          ]),
        );
      }
      f.add(
        new MixedBlock([
          ["branch0", bc(384, 384, 3, 2)],
          ["branch1", seq(bc(384, 192, 1), bc(192, 224, 3, 1, 1), bc(224, 256, 3, 2))],
          ["branch2", pool3()],
        ]),
      );
      for (let i = 0; i < depths[1]; i++) {
        f.add(
          new MixedBlock([
            ["branch0", bc(1024, 384, 1)],
            [
              "branch1",
              seq(bc(1024, 192, 1), bc(192, 224, [1, 7], 1, [0, 3]), bc(224, 256, [7, 1], 1, [3, 0])),
            ],
            [
              "branch2",
              seq(
                bc(1024, 192, 1),
                bc(192, 192, [7, 1], 1, [3, 0]),
                bc(192, 224, [1, 7], 1, [0, 3]),
                bc(224, 224, [7, 1], 1, [3, 0]),
                bc(224, 256, [1, 7], 1, [0, 3]),
              ),
            ],
            ["branch3", seq(avg(), bc(1024, 128, 1))],
          ]),
        );
      }
      f.add(
        new MixedBlock([
          ["branch0", seq(bc(1024, 192, 1), bc(192, 192, 3, 2))],
          [
            "branch1",
            seq(
              bc(1024, 256, 1),
              bc(256, 256, [1, 7], 1, [0, 3]),
              bc(256, 320, [7, 1], 1, [3, 0]),
              bc(320, 320, 3, 2),
            ),
          ],
          ["branch2", pool3()],
        ]),
      );
      for (let i = 0; i < depths[2]; i++) {
        f.add(
          new MixedBlock([
            ["branch0", bc(1536, 256, 1)],
            [["branch1_0", bc(1536, 384, 1)], [["branch1_1a", bc(384, 256, [1, 3], 1, [0, 1])], [
              "branch1_1b",
              bc(384, 256, [3, 1], 1, [1, 0]),
            ]]],
            [[
              "branch2_0",
              seq(bc(1536, 384, 1), bc(384, 448, [3, 1], 1, [1, 0]), bc(448, 512, [1, 3], 1, [0, 1])),
            ], [
              ["branch2_3a", bc(512, 256, [1, 3], 1, [0, 1])],
              ["branch2_3b", bc(512, 256, [3, 1], 1, [1, 0])],
            ]],
            ["branch3", seq(avg(), bc(1536, 256, 1))],
          ]),
        );
      }
      add("features", f);
      width = 1536;
    } else {
      const v2 = cfg.kind === "inception_resnet_v2";
      add("conv2d_1a", stem0);
      add("conv2d_2a", bc(32, 32, 3));
      add("conv2d_2b", bc(32, 64, 3, 1, 1));
      add("maxpool_3a", pool3());
      add("conv2d_3b", bc(64, 80, 1));
      add("conv2d_4a", bc(80, 192, 3));
      let c35: number;
      if (v2) {
        add("maxpool_5a", pool3());
        add(
          "mixed_5b",
          new MixedBlock([
            ["branch0", bc(192, 96, 1)],
            ["branch1", seq(bc(192, 48, 1), bc(48, 64, 5, 1, 2))],
            ["branch2", seq(bc(192, 64, 1), bc(64, 96, 3, 1, 1), bc(96, 96, 3, 1, 1))],
            ["branch3", seq(avg(), bc(192, 64, 1))],
          ]),
        );
        c35 = 320;
      } else {
        add("conv2d_4b", bc(192, 256, 3, 2));
        c35 = 256;
      }
      // 35×35 residual blocks (Block35 / IR-A)
      const a = new Sequential();
      for (let i = 0; i < depths[0]; i++) {
        a.add(
          new MixedBlock([
            ["branch0", bc(c35, 32, 1)],
            ["branch1", seq(bc(c35, 32, 1), bc(32, 32, 3, 1, 1))],
            [
              "branch2",
              seq(bc(c35, 32, 1), bc(32, v2 ? 48 : 32, 3, 1, 1), bc(v2 ? 48 : 32, v2 ? 64 : 32, 3, 1, 1)),
            ],
          ], res(v2 ? 128 : 96, c35, scales[0])),
        );
      }
      add("repeat", a);
      // Reduction-A (k, l, m, n): v2 release (256, 256, 384, 384), v1 (192, 192, 256, 384)
      const [k, l, m, n] = v2 ? [256, 256, 384, 384] : [192, 192, 256, 384];
      add(
        "mixed_6a",
        new MixedBlock([
          ["branch0", bc(c35, n, 3, 2)],
          ["branch1", seq(bc(c35, k, 1), bc(k, l, 3, 1, 1), bc(l, m, 3, 2))],
          ["branch2", pool3()],
        ]),
      );
      const c17 = c35 + n + m;
      // 17×17 residual blocks (Block17 / IR-B)
      const b = new Sequential();
      const [b0, b1, b2, b3] = v2 ? [192, 128, 160, 192] : [128, 128, 128, 128];
      for (let i = 0; i < depths[1]; i++) {
        b.add(
          new MixedBlock([
            ["branch0", bc(c17, b0, 1)],
            ["branch1", seq(bc(c17, b1, 1), bc(b1, b2, [1, 7], 1, [0, 3]), bc(b2, b3, [7, 1], 1, [3, 0]))],
          ], res(b0 + b3, c17, scales[1])),
        );
      }
      add("repeat_1", b);
      // Reduction-B
      const [r0, r1, r2a, r2b] = v2 ? [384, 288, 288, 320] : [384, 256, 256, 256];
      add(
        "mixed_7a",
        new MixedBlock([
          ["branch0", seq(bc(c17, 256, 1), bc(256, r0, 3, 2))],
          ["branch1", seq(bc(c17, 256, 1), bc(256, r1, 3, 2))],
          ["branch2", seq(bc(c17, 256, 1), bc(256, r2a, 3, 1, 1), bc(r2a, r2b, 3, 2))],
          ["branch3", pool3()],
        ]),
      );
      const c8 = c17 + r0 + r1 + r2b;
      // 8×8 residual blocks (Block8 / IR-C)
      const [c0, c1, c2, c3] = v2 ? [192, 192, 224, 256] : [192, 192, 192, 192];
      const block8 = (scale: number, relu: boolean) =>
        new MixedBlock([
          ["branch0", bc(c8, c0, 1)],
          ["branch1", seq(bc(c8, c1, 1), bc(c1, c2, [1, 3], 1, [0, 1]), bc(c2, c3, [3, 1], 1, [1, 0]))],
        ], res(c0 + c3, c8, scale, relu));
      const c = new Sequential();
      const plain = cfg.finalLinearBlock ? depths[2] - 1 : depths[2];
      for (let i = 0; i < plain; i++) c.add(block8(scales[2], true));
      add("repeat_2", c);
      if (cfg.finalLinearBlock) add("block8", block8(1, false));
      if (v2) {
        add("conv2d_7b", bc(c8, 1536, 1));
        width = 1536;
      } else {
        width = c8;
      }
    }
    self.avgpool = new AdaptiveAvgPool2d(1);
    self.dropout = new Dropout(options.dropout ?? 0.2, { generator: g });
    self.last_linear = new Linear(w(width), options.numClasses ?? 1000, { generator: g });
  }

  /** The last feature map [n, 1536 (v4, IR-v2) or 1792 (IR-v1), h, w]. */
  forwardFeatures(x: Tensor): Tensor {
    let t = x;
    for (const m of this.#stages) {
      const next = m.forward(t);
      if (t !== x) t.dispose();
      t = next;
    }
    return t;
  }

  /** Logits [n, numClasses] of images [n, c, h, w] (299×299 native; ≥ 75×75 for IR, ≥ 75 for v4). */
  forward(x: Tensor): Tensor {
    const head = this as unknown as { avgpool: AdaptiveAvgPool2d; dropout: Dropout; last_linear: Linear };
    const f = this.forwardFeatures(x);
    const p = head.avgpool.forward(f);
    if (f !== x) f.dispose();
    const flat = p.flatten(1);
    if (flat !== p) p.dispose();
    const d = head.dropout.forward(flat);
    if (d !== flat) flat.dispose();
    const y = head.last_linear.forward(d);
    d.dispose();
    return y;
  }
}

/** The table. */
export const INCEPTION_V4_CONFIGS = {
  inception_v4: { kind: "inception_v4", depths: [4, 7, 3] },
  inception_resnet_v1: { kind: "inception_resnet_v1", depths: [5, 10, 5], scales: [0.17, 0.1, 0.2] },
  inception_resnet_v2: {
    kind: "inception_resnet_v2",
    depths: [10, 20, 10],
    scales: [0.17, 0.1, 0.2],
    finalLinearBlock: true,
  },
} as const satisfies Record<string, InceptionV4Config>;

/** A registered name of this family. */
export type InceptionV4Name = keyof typeof INCEPTION_V4_CONFIGS;

/**
 * Builds `inception_v4`, `inception_resnet_v1` or `inception_resnet_v2` (or a custom row).
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const net = cnn.models.create("inception_resnet_v2", { depths: [5, 10, 5], residualScale: 0.2 });
 * console.log(net.numParameters() < 55_843_464); // true
 * ```
 */
export function inceptionV4(
  row: InceptionV4Name | InceptionV4Config,
  options: InceptionV4Options = {},
): InceptionV4 {
  const cfg = typeof row === "string" ? INCEPTION_V4_CONFIGS[row] as InceptionV4Config : row;
  if (!cfg) throw rangeError("create Inception-v4", `unknown row ${JSON.stringify(row)}`);
  return new InceptionV4(cfg, options);
}

const DESCRIPTIONS: Record<InceptionV4Name, string> = {
  inception_v4: "Inception-v4 (Szegedy et al. 2016), Cadene/timm port layout and keys, 42.68 M params",
  inception_resnet_v1: "Inception-ResNet-v1 from the paper's figures (5/10/5 blocks, s 0.17/0.10/0.20)",
  inception_resnet_v2:
    "Inception-ResNet-v2, released TF-slim layout (10/20/10 blocks, s 0.17/0.10/0.20, final linear Block8), Cadene keys",
};

/** Registry entries of the family (299×299 input, 1000 classes). */
export const INCEPTION_V4S: Record<string, ModelEntry> = Object.fromEntries(
  (Object.keys(INCEPTION_V4_CONFIGS) as InceptionV4Name[]).map((name) => {
    const e: ModelEntry = {
      family: "inception_v4",
      description: DESCRIPTIONS[name],
      inputSize: [3, 299, 299],
      numClasses: 1000,
      build: (options) => inceptionV4(name, options as InceptionV4Options),
    };
    return [name, e];
  }),
);
