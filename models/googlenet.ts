/**
 * GoogLeNet / Inception v1 (Szegedy et al., arXiv:1409.4842), two presets of one builder:
 * - `googlenet`: torchvision-exact (every conv is conv + BN(eps 0.001) + ReLU, the "5×5" branch is a
 *   3×3 as torchvision's kept bug #906, ceil-mode max-pools, maxpool4 2×2/2, dropout 0.2, aux heads with
 *   adaptive 4×4 average pooling); state_dict keys, order and shapes equal torchvision's.
 * - `googlenet_paper`: the paper's network (conv with bias + ReLU, no BN, LRN after the first max-pool
 *   and after conv 3×3, a real 5×5, all max-pools 3×3/2, average pool 7×7/1, dropout 0.4, aux heads on
 *   4a and 4d with average pool 5×5/3). Train it with {@linkcode googlenetLoss}: main + 0.3 × (aux1 + aux2).
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * import { googlenet } from "./googlenet.ts";
 * import { createRuntime, withRuntime } from "../tensor/mod.ts";
 * await cnn.init({ threads: 1 });
 * const rt = await createRuntime({ backend: "meta" });
 * const net = withRuntime(rt, () => googlenet({ auxLogits: false }));
 * console.log(net.numParameters()); // 6624904
 * ```
 * @module
 */
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  Concat,
  Dropout,
  Linear,
  LocalResponseNorm,
  MaxPool2d,
  Module,
  Sequential,
} from "../layers/mod.ts";
import { ops, rangeError, type Tensor } from "../tensor/mod.ts";
import type { AuxOutputs, ModelEntry, ModelOptions } from "./registry.ts";
import {
  auxLoss,
  type AuxLossOptions,
  BasicConv2d,
  boolOption,
  chain,
  InceptionNet,
  truncNormalInit,
  type TrunkStep,
} from "./_inception_blocks.ts";

/** Options of {@linkcode googlenet}. */
export interface GoogLeNetOptions extends ModelOptions {
  /** "torchvision" (default) or "paper" (see the module docs). */
  variant?: "torchvision" | "paper";
  /** Build the two auxiliary heads (default true, as torchvision's GoogLeNet class). */
  auxLogits?: boolean;
  /** torchvision's transform_input (for TF-ported weights; default false). */
  transformInput?: boolean;
  /** Main dropout (torchvision 0.2, paper 0.4). */
  dropout?: number;
  /** Dropout of the aux heads (0.7). */
  dropoutAux?: number;
  /** Kernel of the "5×5" branch (torchvision 3, paper 5). */
  fiveKernel?: 3 | 5;
}

/** One Inception module row: [name, in, #1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5, pool proj]. */
type Row = [string, number, number, number, number, number, number, number];

/** The paper's Table 1 (same widths in torchvision). */
const BLOCKS: Row[] = [
  ["inception3a", 192, 64, 96, 128, 16, 32, 32],
  ["inception3b", 256, 128, 128, 192, 32, 96, 64],
  ["inception4a", 480, 192, 96, 208, 16, 48, 64],
  ["inception4b", 512, 160, 112, 224, 24, 64, 64],
  ["inception4c", 512, 128, 128, 256, 24, 64, 64],
  ["inception4d", 512, 112, 144, 288, 32, 64, 64],
  ["inception4e", 528, 256, 160, 320, 32, 128, 128],
  ["inception5a", 832, 256, 160, 320, 32, 128, 128],
  ["inception5b", 832, 384, 192, 384, 48, 128, 128],
];

/** Options of {@linkcode inceptionModule}. */
export interface InceptionModuleOptions {
  /** BN after each conv (torchvision) or conv bias only (paper). Default true. */
  bn?: boolean;
  /** Kernel of the "5×5" branch (torchvision 3, paper 5). Default 3. */
  fiveKernel?: 3 | 5;
}

/**
 * GoogLeNet's Inception module: [1×1 ‖ 1×1 → 3×3 ‖ 1×1 → "5×5" ‖ max-pool 3/1 → 1×1] concatenated.
 * Keys as torchvision: `branch1.*`, `branch2.0.*`, `branch2.1.*`, `branch3.{0,1}.*`, `branch4.1.*`.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * import { inceptionModule } from "./googlenet.ts";
 * await cnn.init({ threads: 1 });
 * const m = inceptionModule(192, 64, 96, 128, 16, 32, 32);
 * console.log(m.numParameters());
 * ```
 */
export function inceptionModule(
  inChannels: number,
  ch1x1: number,
  ch3x3red: number,
  ch3x3: number,
  ch5x5red: number,
  ch5x5: number,
  poolProj: number,
  options: InceptionModuleOptions = {},
): Concat {
  const bn = options.bn ?? true;
  const k5 = options.fiveKernel ?? 3;
  const c = (i: number, o: number, k: number) =>
    new BasicConv2d(i, o, { kernelSize: k, padding: (k - 1) / 2, bn });
  return new Concat(
    ["branch1", c(inChannels, ch1x1, 1)],
    ["branch2", new Sequential(c(inChannels, ch3x3red, 1), c(ch3x3red, ch3x3, 3))],
    ["branch3", new Sequential(c(inChannels, ch5x5red, 1), c(ch5x5red, ch5x5, k5))],
    [
      "branch4",
      new Sequential(
        new MaxPool2d({ kernelSize: 3, stride: 1, padding: 1, ceilMode: true }),
        c(inChannels, poolProj, 1),
      ),
    ],
  );
}

/**
 * GoogLeNet's auxiliary classifier: pool → 1×1 conv 128 → FC 1024 + ReLU → dropout 0.7 → FC. Keys
 * `conv.*`, `fc1.*`, `fc2.*` (torchvision's InceptionAux).
 */
export class GoogLeNetAux extends Module {
  conv: BasicConv2d;
  fc1: Linear;
  fc2: Linear;
  dropout: Dropout;
  readonly #pool: Module;

  /** `paper`: average pool 5×5/3 and conv with bias, no BN; else torchvision's adaptive 4×4 pool + BN. */
  constructor(inChannels: number, numClasses: number, options: { dropout?: number; paper?: boolean } = {}) {
    super();
    const paper = options.paper ?? false;
    this.conv = new BasicConv2d(inChannels, 128, { kernelSize: 1, bn: !paper });
    this.fc1 = new Linear(2048, 1024);
    this.fc2 = new Linear(1024, numClasses);
    this.dropout = new Dropout(options.dropout ?? 0.7);
    this.#pool = paper ? new AvgPool2d({ kernelSize: 5, stride: 3 }) : new AdaptiveAvgPool2d(4);
  }

  forward(x: Tensor): Tensor {
    return chain(x, [
      (t) => this.#pool.forward(t),
      (t) => this.conv.forward(t),
      (t) => t.flatten(1),
      (t) => this.fc1.forward(t),
      (t) => ops.relu(t),
      (t) => this.dropout.forward(t),
      (t) => this.fc2.forward(t),
    ]);
  }
}

/**
 * Builds GoogLeNet. torchvision preset (default): `GoogLeNet(aux_logits, transform_input)` with identical
 * state_dict; paper preset: see the module docs. In training, `forwardAux` returns
 * `{ logits, aux: [out of aux1 (on 4a), out of aux2 (on 4d)] }`, torchvision's tuple positions (its
 * `GoogLeNetOutputs` field names are swapped: `aux_logits2` holds the output of module aux1).
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * import { googlenet } from "./googlenet.ts";
 * import { createRuntime, withRuntime } from "../tensor/mod.ts";
 * await cnn.init({ threads: 1 });
 * const rt = await createRuntime({ backend: "meta" });
 * const net = withRuntime(rt, () => googlenet({ variant: "paper" }));
 * console.log(net.numParameters()); // 13378280
 * ```
 */
export function googlenet(options: GoogLeNetOptions = {}): InceptionNet {
  const action = "create googlenet";
  const variant = options.variant ?? "torchvision";
  if (variant !== "torchvision" && variant !== "paper") {
    throw rangeError(action, `variant must be "torchvision" or "paper", got ${JSON.stringify(variant)}`);
  }
  const paper = variant === "paper";
  const numClasses = options.numClasses ?? 1000;
  const inChannels = options.inChannels ?? 3;
  const aux = boolOption(action, "auxLogits", options.auxLogits, true);
  const transformInput = boolOption(action, "transformInput", options.transformInput, false);
  const fiveKernel = options.fiveKernel ?? (paper ? 5 : 3);
  if (fiveKernel !== 3 && fiveKernel !== 5) {
    throw rangeError(action, `fiveKernel must be 3 or 5, got ${fiveKernel}`);
  }
  if (transformInput && inChannels !== 3) {
    throw rangeError(action, `transformInput needs 3 input channels, got inChannels ${inChannels}`);
  }
  const bn = !paper;
  const conv = (i: number, o: number, k: number, stride = 1) =>
    new BasicConv2d(i, o, { kernelSize: k, stride, padding: (k - 1) / 2, bn });
  const block = (r: Row) => inceptionModule(r[1], r[2], r[3], r[4], r[5], r[6], r[7], { bn, fiveKernel });
  const pool = (k: number, s: number): TrunkStep => ({
    pool: "max",
    kernelSize: k,
    stride: s,
    ceilMode: true,
  });
  const children: [string, Module | null][] = [
    ["conv1", conv(inChannels, 64, 7, 2)],
    ["conv2", conv(64, 64, 1)],
    ["conv3", conv(64, 192, 3)],
  ];
  // LRN: k = 2, n = 5, alpha = 1e-4 on the raw sum, beta = 0.75 (spec §2 LRN).
  const lrn = () => new LocalResponseNorm(5, { alpha: 1e-4, beta: 0.75, k: 2, alphaConvention: "paper" });
  if (paper) children.push(["lrn1", lrn()], ["lrn2", lrn()]);
  for (const r of BLOCKS) children.push([r[0], block(r)]);
  children.push(
    ["aux1", aux ? new GoogLeNetAux(512, numClasses, { dropout: options.dropoutAux, paper }) : null],
    ["aux2", aux ? new GoogLeNetAux(528, numClasses, { dropout: options.dropoutAux, paper }) : null],
    ["avgpool", paper ? new AvgPool2d({ kernelSize: 7, stride: 1 }) : new AdaptiveAvgPool2d(1)],
    ["dropout", new Dropout(options.dropout ?? (paper ? 0.4 : 0.2))],
    ["fc", new Linear(1024, numClasses)],
  );
  const trunk: TrunkStep[] = [
    "conv1",
    pool(3, 2),
    ...(paper ? ["lrn1"] : []),
    "conv2",
    "conv3",
    ...(paper ? ["lrn2"] : []),
    pool(3, 2),
    "inception3a",
    "inception3b",
    pool(3, 2),
    "inception4a",
    "inception4b",
    "inception4c",
    "inception4d",
    "inception4e",
    paper ? pool(3, 2) : pool(2, 2),
    "inception5a",
    "inception5b",
    "avgpool",
    "flatten",
    "dropout",
    "fc",
  ];
  const net = new InceptionNet({
    children,
    trunk,
    taps: [{ after: "inception4a", head: "aux1" }, { after: "inception4d", head: "aux2" }],
    // torchvision's tuple is (logits, out of aux1, out of aux2): GoogLeNet.forward unpacks _forward's
    // (x, aux2, aux1) as (x, aux1, aux2), so the field named aux_logits2 holds module aux1's output.
    auxOrder: ["aux1", "aux2"],
    transformInput,
  });
  // torchvision: trunc_normal_(std 0.01, a=-2, b=2) on every conv and linear weight. The paper preset
  // keeps torch's default init.
  if (!paper) truncNormalInit(net, () => 0.01);
  return net;
}

/**
 * GoogLeNet's training loss: CE(main) + 0.3 × (CE(aux1) + CE(aux2)) (paper §5); `auxWeight` changes 0.3.
 * Call with `model.forwardAux(x)` in training mode.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * import { googlenetLoss } from "./googlenet.ts";
 * await cnn.init({ threads: 1 });
 * const z = cnn.tensor([0, 0], [1, 2]);
 * console.log(await googlenetLoss({ logits: z, aux: [z, z] }, [1]).item()); // 1.6 ln 2
 * ```
 */
export function googlenetLoss(
  out: AuxOutputs,
  labels: Int32Array | readonly number[],
  options: AuxLossOptions = {},
): Tensor {
  return auxLoss(out, labels, { auxWeight: 0.3, ...options });
}

/** The GoogLeNet registry entries. */
export const GOOGLENET_MODELS: Record<string, ModelEntry> = {
  googlenet: {
    family: "googlenet",
    description:
      "GoogLeNet, torchvision-exact (BN, 3×3 in the '5×5' branch, aux heads; aux-free state_dict " +
      "with auxLogits: false)",
    inputSize: [3, 224, 224],
    numClasses: 1000,
    build: (o) => googlenet({ ...o, variant: "torchvision" }),
  },
  googlenet_paper: {
    family: "googlenet",
    description: "GoogLeNet as in the paper (no BN, LRN, real 5×5, aux heads weighted 0.3)",
    inputSize: [3, 224, 224],
    numClasses: 1000,
    build: (o) => googlenet({ ...o, variant: "paper" }),
  },
};
