/**
 * The benchmarked networks on the cnnzoo side, and their weights as plain arrays for the peers: builds a
 * seeded ResNet in a given runtime (eval mode, BN statistics set to fixed non-trivial values so the BN
 * conversion is actually checked), and lowers it to a flat list of layers over named values, the one
 * description the ONNX and TF.js builders read.
 * @module
 */
import * as cnn from "../../mod.ts";
import { BasicBlock, Bottleneck, ResNet } from "../../models/resnet.ts";

/** A 2-D pair as [h, w]. */
export type HW = [number, number];

/** One layer of the lowered network; `x`/`y` name its input and output values. */
export type Layer =
  | {
    op: "conv";
    x: string;
    y: string;
    /** [out, in / groups, kh, kw] (OIHW) */
    shape: [number, number, number, number];
    w: Float32Array;
    b: Float32Array | null;
    stride: HW;
    /** [top, bottom, left, right] */
    pad: [number, number, number, number];
    dilation: HW;
    groups: number;
  }
  | {
    op: "bn";
    x: string;
    y: string;
    gamma: Float32Array;
    beta: Float32Array;
    mean: Float32Array;
    var: Float32Array;
    eps: number;
  }
  | { op: "relu"; x: string; y: string }
  | { op: "add"; x: string; x2: string; y: string }
  | { op: "maxpool"; x: string; y: string; k: HW; stride: HW; pad: HW }
  /** global average pooling straight to [n, c] */
  | { op: "gap"; x: string; y: string }
  /** y = x w^T + b, w [out, in] */
  | { op: "fc"; x: string; y: string; w: Float32Array; b: Float32Array; out: number; in: number };

/** A lowered network: input "input" [n, c, h, w] (NCHW) to `output` [n, classes]. */
export interface Lowered {
  layers: Layer[];
  output: string;
  classes: number;
}

/** A workload's network. */
export interface NetSpec {
  model: string;
  options: cnn.models.ModelOptions;
}

/** Fixed pseudo-random values in [lo, hi) (an LCG; the same on every call with the same seed). */
function fixed(n: number, seed: number, lo: number, hi: number): Float32Array {
  let s = (seed * 2654435761) >>> 0;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = lo + (hi - lo) * (s / 2 ** 32);
  }
  return a;
}

/** The seeded network in runtime `rt`, eval mode, with fixed BN statistics and affine parameters. */
export function buildNet(rt: cnn.Runtime, spec: NetSpec): cnn.nn.Module {
  return cnn.withRuntime(rt, () => {
    cnn.manualSeed(7);
    const net = cnn.models.create(spec.model, spec.options);
    const bn = new Map<string, cnn.Tensor>();
    net.namedModules().forEach(([path, m], i) => {
      if (!(m instanceof cnn.nn.BatchNorm2d)) return;
      const c = m.running_mean.shape[0];
      bn.set(`${path}.running_mean`, cnn.tensor(fixed(c, 4 * i, -0.1, 0.1), [c]));
      bn.set(`${path}.running_var`, cnn.tensor(fixed(c, 4 * i + 1, 0.5, 1.5), [c]));
      if (m.weight) bn.set(`${path}.weight`, cnn.tensor(fixed(c, 4 * i + 2, 0.5, 1.5), [c]));
      if (m.bias) bn.set(`${path}.bias`, cnn.tensor(fixed(c, 4 * i + 3, -0.1, 0.1), [c]));
    });
    net.loadStateDict(bn, { strict: false });
    for (const t of bn.values()) t.dispose();
    return net.eval();
  });
}

/** The fixed input of a workload, NCHW. */
export function inputData(shape: readonly number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(i * 0.013) + 0.3 * Math.cos(i * 0.7);
  return a;
}

const hw = (p: cnn.nn.Conv2dLayerOptions["stride"]): HW => typeof p === "number" ? [p, p] : [p![0], p![1]];

function pad4(p: cnn.nn.Conv2dLayerOptions["padding"]): [number, number, number, number] {
  if (p === undefined) return [0, 0, 0, 0];
  if (typeof p === "number") return [p, p, p, p];
  return p.length === 2 ? [p[0], p[0], p[1], p[1]] : [p[0], p[1], p[2], p[3]];
}

/** Lowers a ResNet-family network (torchvision or CIFAR layout, shortcut option B or C) to layers. */
export async function lower(net: cnn.nn.Module): Promise<Lowered> {
  const layers: Layer[] = [];
  let count = 0;
  const fresh = () => `v${count++}`;
  let classes = 0;

  async function module(m: cnn.nn.Module, x: string): Promise<string> {
    const y = fresh();
    if (m instanceof cnn.nn.Conv2d) {
      const o = m.options;
      layers.push({
        op: "conv",
        x,
        y,
        shape: m.weight.shape as [number, number, number, number],
        w: await m.weight.toArray(),
        b: m.bias ? await m.bias.toArray() : null,
        stride: hw(o.stride),
        pad: pad4(o.padding),
        dilation: hw(o.dilation),
        groups: o.groups,
      });
    } else if (m instanceof cnn.nn.BatchNorm2d) {
      if (!m.weight || !m.bias) throw new Error("cannot lower a BatchNorm2d without affine parameters");
      layers.push({
        op: "bn",
        x,
        y,
        gamma: await m.weight.toArray(),
        beta: await m.bias.toArray(),
        mean: await m.running_mean.toArray(),
        var: await m.running_var.toArray(),
        eps: m.eps,
      });
    } else if (m instanceof cnn.nn.ReLU) {
      layers.push({ op: "relu", x, y });
    } else if (m instanceof cnn.nn.MaxPool2d) {
      const o = m.options;
      if (o.ceilMode || (o.dilation !== undefined && o.dilation !== 1)) {
        throw new Error("cannot lower a MaxPool2d with ceilMode or dilation");
      }
      layers.push({
        op: "maxpool",
        x,
        y,
        k: hw(o.kernelSize),
        stride: hw(o.stride ?? o.kernelSize),
        pad: hw(o.padding ?? 0),
      });
    } else if (m instanceof cnn.nn.AdaptiveAvgPool2d) {
      if (hw(m.outputSize).join() !== "1,1") {
        throw new Error("cannot lower AdaptiveAvgPool2d to other than 1");
      }
      layers.push({ op: "gap", x, y });
    } else if (m instanceof cnn.nn.Linear) {
      const [out, inn] = m.weight.shape;
      if (!m.bias) throw new Error("cannot lower a Linear without bias");
      classes = out;
      layers.push({ op: "fc", x, y, w: await m.weight.toArray(), b: await m.bias.toArray(), out, in: inn });
    } else if (m instanceof BasicBlock || m instanceof Bottleneck) {
      if (m.drop || !m.residual) throw new Error("cannot lower stochastic-depth or non-residual blocks");
      const convs = m instanceof BasicBlock ? [[m.conv1, m.bn1], [m.conv2, m.bn2]] : [
        [m.conv1, m.bn1],
        [m.conv2, m.bn2],
        [m.conv3, m.bn3],
      ];
      let t = x;
      for (const [i, [c, bn]] of convs.entries()) {
        t = await module(bn, await module(c, t));
        if (i < convs.length - 1) t = await module(new cnn.nn.ReLU(), t);
      }
      const skip = m.downsample ? await module(m.downsample, x) : x;
      const sum = fresh();
      layers.push({ op: "add", x: skip, x2: t, y: sum });
      layers.push({ op: "relu", x: sum, y });
    } else if (m instanceof cnn.nn.Sequential || m instanceof ResNet) {
      let t = x;
      for (const [, c] of m.namedChildren()) t = await module(c, t);
      return t;
    } else {
      throw new Error(`cannot lower ${m.constructor.name} (option-A shortcuts are not supported)`);
    }
    return y;
  }

  const output = await module(net, "input");
  return { layers, output, classes };
}
