/**
 * Inception v3 (Szegedy et al., arXiv:1512.00567) as released, torchvision-exact (`Inception3`): 299
 * input, BN eps 0.001, InceptionA-E blocks with torchvision's flat child names, the BN auxiliary head
 * `AuxLogits` on Mixed_6e, average pools that count padding (`F.avg_pool2d(x, 3, 1, 1)`).
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * import { inceptionV3 } from "./inception_v3.ts";
 * import { createRuntime, withRuntime } from "../tensor/mod.ts";
 * await cnn.init({ threads: 1 });
 * const rt = await createRuntime({ backend: "meta" });
 * const net = withRuntime(rt, () => inceptionV3());
 * console.log(net.numParameters()); // 27161264
 * ```
 * @module
 */
import { AdaptiveAvgPool2d, AvgPool2d, Dropout, Linear, Module } from "../layers/mod.ts";
import { rangeError, type Tensor } from "../tensor/mod.ts";
import type { ModelEntry, ModelOptions } from "./registry.ts";
import {
  BasicConv2d,
  type BasicConvOptions,
  boolOption,
  type BranchStep,
  chain,
  FlatInception,
  InceptionNet,
  type PoolStep,
  truncNormalInit,
  type TrunkStep,
} from "./_inception_blocks.ts";

/** Options of {@linkcode inceptionV3}. */
export interface InceptionV3Options extends ModelOptions {
  /** Build the auxiliary head `AuxLogits` (default true, as torchvision). */
  auxLogits?: boolean;
  /** torchvision's transform_input (for the TF-ported weights; default false). */
  transformInput?: boolean;
  /** Dropout before the classifier (0.5). */
  dropout?: number;
}

type Conv = [string, number, number, BasicConvOptions];

const avg3: PoolStep = { pool: "avg", kernelSize: 3, stride: 1, padding: 1 };
const max3s2: PoolStep = { pool: "max", kernelSize: 3, stride: 2 };
const k = (kernelSize: number | [number, number], padding: number | [number, number] = 0, stride = 1) => ({
  kernelSize,
  padding,
  stride,
});

function block(convs: Conv[], branches: BranchStep[][]): FlatInception {
  return new FlatInception(convs.map(([n, i, o, opts]) => [n, new BasicConv2d(i, o, opts)]), branches);
}

/** InceptionA (35×35): [1×1 64 ‖ 1×1 48 → 5×5 64 ‖ 1×1 64 → 3×3 96 → 3×3 96 ‖ avg → 1×1 pool]. */
export function inceptionA(inChannels: number, poolFeatures: number): FlatInception {
  return block([
    ["branch1x1", inChannels, 64, k(1)],
    ["branch5x5_1", inChannels, 48, k(1)],
    ["branch5x5_2", 48, 64, k(5, 2)],
    ["branch3x3dbl_1", inChannels, 64, k(1)],
    ["branch3x3dbl_2", 64, 96, k(3, 1)],
    ["branch3x3dbl_3", 96, 96, k(3, 1)],
    ["branch_pool", inChannels, poolFeatures, k(1)],
  ], [
    ["branch1x1"],
    ["branch5x5_1", "branch5x5_2"],
    ["branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"],
    [avg3, "branch_pool"],
  ]);
}

/** InceptionB (35→17 reduction): [3×3/2 384 ‖ 1×1 64 → 3×3 96 → 3×3/2 96 ‖ max-pool 3/2]. */
export function inceptionB(inChannels: number): FlatInception {
  return block([
    ["branch3x3", inChannels, 384, k(3, 0, 2)],
    ["branch3x3dbl_1", inChannels, 64, k(1)],
    ["branch3x3dbl_2", 64, 96, k(3, 1)],
    ["branch3x3dbl_3", 96, 96, k(3, 0, 2)],
  ], [
    ["branch3x3"],
    ["branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"],
    [max3s2],
  ]);
}

/** InceptionC (17×17, factorized 7×7 with c7 channels): 1×7 pads (0, 3), 7×1 pads (3, 0). */
export function inceptionC(inChannels: number, c7: number): FlatInception {
  const r = k([1, 7], [0, 3]);
  const c = k([7, 1], [3, 0]);
  return block([
    ["branch1x1", inChannels, 192, k(1)],
    ["branch7x7_1", inChannels, c7, k(1)],
    ["branch7x7_2", c7, c7, r],
    ["branch7x7_3", c7, 192, c],
    ["branch7x7dbl_1", inChannels, c7, k(1)],
    ["branch7x7dbl_2", c7, c7, c],
    ["branch7x7dbl_3", c7, c7, r],
    ["branch7x7dbl_4", c7, c7, c],
    ["branch7x7dbl_5", c7, 192, r],
    ["branch_pool", inChannels, 192, k(1)],
  ], [
    ["branch1x1"],
    ["branch7x7_1", "branch7x7_2", "branch7x7_3"],
    ["branch7x7dbl_1", "branch7x7dbl_2", "branch7x7dbl_3", "branch7x7dbl_4", "branch7x7dbl_5"],
    [avg3, "branch_pool"],
  ]);
}

/** InceptionD (17→8 reduction): [1×1 192 → 3×3/2 320 ‖ 1×1 192 → 1×7 → 7×1 → 3×3/2 192 ‖ max-pool 3/2]. */
export function inceptionD(inChannels: number): FlatInception {
  return block([
    ["branch3x3_1", inChannels, 192, k(1)],
    ["branch3x3_2", 192, 320, k(3, 0, 2)],
    ["branch7x7x3_1", inChannels, 192, k(1)],
    ["branch7x7x3_2", 192, 192, k([1, 7], [0, 3])],
    ["branch7x7x3_3", 192, 192, k([7, 1], [3, 0])],
    ["branch7x7x3_4", 192, 192, k(3, 0, 2)],
  ], [
    ["branch3x3_1", "branch3x3_2"],
    ["branch7x7x3_1", "branch7x7x3_2", "branch7x7x3_3", "branch7x7x3_4"],
    [max3s2],
  ]);
}

/** InceptionE (8×8, expanded): the 3×3 branches split into parallel 1×3 and 3×1 convs. */
export function inceptionE(inChannels: number): FlatInception {
  const r = k([1, 3], [0, 1]);
  const c = k([3, 1], [1, 0]);
  return block([
    ["branch1x1", inChannels, 320, k(1)],
    ["branch3x3_1", inChannels, 384, k(1)],
    ["branch3x3_2a", 384, 384, r],
    ["branch3x3_2b", 384, 384, c],
    ["branch3x3dbl_1", inChannels, 448, k(1)],
    ["branch3x3dbl_2", 448, 384, k(3, 1)],
    ["branch3x3dbl_3a", 384, 384, r],
    ["branch3x3dbl_3b", 384, 384, c],
    ["branch_pool", inChannels, 192, k(1)],
  ], [
    ["branch1x1"],
    ["branch3x3_1", { split: [["branch3x3_2a"], ["branch3x3_2b"]] }],
    ["branch3x3dbl_1", "branch3x3dbl_2", { split: [["branch3x3dbl_3a"], ["branch3x3dbl_3b"]] }],
    [avg3, "branch_pool"],
  ]);
}

/**
 * Inception v3's auxiliary head on Mixed_6e: avg-pool 5/3 → `conv0` 1×1 128 → `conv1` 5×5 768 →
 * global average → `fc`.
 */
export class InceptionV3Aux extends Module {
  conv0: BasicConv2d;
  conv1: BasicConv2d;
  fc: Linear;
  readonly #avg = new AvgPool2d({ kernelSize: 5, stride: 3 });
  readonly #pool = new AdaptiveAvgPool2d(1);

  constructor(inChannels: number, numClasses: number) {
    super();
    this.conv0 = new BasicConv2d(inChannels, 128, { kernelSize: 1 });
    this.conv1 = new BasicConv2d(128, 768, { kernelSize: 5 });
    this.fc = new Linear(768, numClasses);
  }

  forward(x: Tensor): Tensor {
    return chain(x, [
      (t) => this.#avg.forward(t),
      (t) => this.conv0.forward(t),
      (t) => this.conv1.forward(t),
      (t) => this.#pool.forward(t),
      (t) => t.flatten(1),
      (t) => this.fc.forward(t),
    ]);
  }
}

/**
 * Builds torchvision's `Inception3` (same state_dict keys, order and shapes). In training `forwardAux`
 * returns `{ logits, aux: [AuxLogits] }`.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * import { inceptionV3 } from "./inception_v3.ts";
 * import { createRuntime, withRuntime } from "../tensor/mod.ts";
 * await cnn.init({ threads: 1 });
 * const rt = await createRuntime({ backend: "meta" });
 * const net = withRuntime(rt, () => inceptionV3({ auxLogits: false }));
 * console.log(net.numParameters()); // 23834568
 * ```
 */
export function inceptionV3(options: InceptionV3Options = {}): InceptionNet {
  const action = "create inception_v3";
  const numClasses = options.numClasses ?? 1000;
  const inChannels = options.inChannels ?? 3;
  const aux = boolOption(action, "auxLogits", options.auxLogits, true);
  const transformInput = boolOption(action, "transformInput", options.transformInput, false);
  if (transformInput && inChannels !== 3) {
    throw rangeError(action, `transformInput needs 3 input channels, got inChannels ${inChannels}`);
  }
  const dropout = options.dropout ?? 0.5;
  if (!(dropout >= 0 && dropout <= 1)) throw rangeError(action, `dropout must be in [0, 1], got ${dropout}`);
  const conv = (i: number, o: number, opts: BasicConvOptions) => new BasicConv2d(i, o, opts);
  const children: [string, Module | null][] = [
    ["Conv2d_1a_3x3", conv(inChannels, 32, k(3, 0, 2))],
    ["Conv2d_2a_3x3", conv(32, 32, k(3))],
    ["Conv2d_2b_3x3", conv(32, 64, k(3, 1))],
    ["Conv2d_3b_1x1", conv(64, 80, k(1))],
    ["Conv2d_4a_3x3", conv(80, 192, k(3))],
    ["Mixed_5b", inceptionA(192, 32)],
    ["Mixed_5c", inceptionA(256, 64)],
    ["Mixed_5d", inceptionA(288, 64)],
    ["Mixed_6a", inceptionB(288)],
    ["Mixed_6b", inceptionC(768, 128)],
    ["Mixed_6c", inceptionC(768, 160)],
    ["Mixed_6d", inceptionC(768, 160)],
    ["Mixed_6e", inceptionC(768, 192)],
    ["AuxLogits", aux ? new InceptionV3Aux(768, numClasses) : null],
    ["Mixed_7a", inceptionD(768)],
    ["Mixed_7b", inceptionE(1280)],
    ["Mixed_7c", inceptionE(2048)],
    ["avgpool", new AdaptiveAvgPool2d(1)],
    ["dropout", new Dropout(dropout)],
    ["fc", new Linear(2048, numClasses)],
  ];
  const trunk: TrunkStep[] = [
    "Conv2d_1a_3x3",
    "Conv2d_2a_3x3",
    "Conv2d_2b_3x3",
    max3s2,
    "Conv2d_3b_1x1",
    "Conv2d_4a_3x3",
    max3s2,
    "Mixed_5b",
    "Mixed_5c",
    "Mixed_5d",
    "Mixed_6a",
    "Mixed_6b",
    "Mixed_6c",
    "Mixed_6d",
    "Mixed_6e",
    "Mixed_7a",
    "Mixed_7b",
    "Mixed_7c",
    "avgpool",
    "dropout",
    "flatten",
    "fc",
  ];
  const net = new InceptionNet({
    children,
    trunk,
    taps: [{ after: "Mixed_6e", head: "AuxLogits" }],
    auxOrder: ["AuxLogits"],
    transformInput,
  });
  // torchvision: trunc_normal_(std, a=-2, b=2) with std = the module's `stddev` attribute, else 0.1. Only
  // AuxLogits.fc carries one (0.001); AuxLogits.conv1's 0.01 sits on the BasicConv2d, not its Conv2d.
  truncNormalInit(net, (path) => (path === "AuxLogits.fc" ? 0.001 : 0.1));
  return net;
}

/** The Inception v3 registry entry. */
export const INCEPTION_V3_MODELS: Record<string, ModelEntry> = {
  inception_v3: {
    family: "inception_v3",
    description: "Inception v3 as released, torchvision-exact (299 input, AuxLogits head)",
    inputSize: [3, 299, 299],
    numClasses: 1000,
    build: (o) => inceptionV3(o),
  },
};
