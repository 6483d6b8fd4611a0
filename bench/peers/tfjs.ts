/**
 * TF.js peer (@tensorflow/tfjs-core + tfjs-backend-wasm): the lowered network rebuilt from tf ops in
 * NHWC, each conv + BN (+ ReLU) folded into one `tf.fused.conv2d` with bias and activation, the head a
 * `tf.fused.matMul`. Weights converted from OIHW / [out, in]. Bench-only dependency; runs one thread
 * here (tfjs-backend-wasm turns threads off under Node and Deno).
 * @module
 */
// deno-lint-ignore no-import-prefix -- bench-only peer, kept out of deno.json imports on purpose
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
// deno-lint-ignore no-import-prefix -- bench-only peer, kept out of deno.json imports on purpose
import { getThreadsCount } from "npm:@tensorflow/tfjs-backend-wasm@4.22.0";
import type { Layer, Lowered } from "./net.ts";

/** Starts the wasm backend once; returns its thread count. */
export async function tfInit(): Promise<number> {
  if (tf.getBackend() !== "wasm") {
    if (!(await tf.setBackend("wasm"))) throw new Error("tfjs-backend-wasm did not start");
    await tf.ready();
  }
  return getThreadsCount();
}

/** OIHW -> HWIO. */
function hwio(w: Float32Array, [o, i, kh, kw]: readonly number[]): Float32Array {
  const out = new Float32Array(w.length);
  for (let a = 0; a < o; a++) {
    for (let b = 0; b < i; b++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) out[((y * kw + x) * i + b) * o + a] = w[((a * i + b) * kh + y) * kw + x];
      }
    }
  }
  return out;
}

/** NCHW -> NHWC. */
export function toNhwc(x: Float32Array, [n, c, h, w]: readonly number[]): Float32Array {
  const out = new Float32Array(x.length);
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < c; b++) {
      for (let p = 0; p < h * w; p++) out[(a * h * w + p) * c + b] = x[(a * c + b) * h * w + p];
    }
  }
  return out;
}

type Step = (v: Map<string, tf.Tensor>) => void;

/** A conv with the BN after it folded in (w·s, (b − mean)·s + beta), optionally with ReLU. */
function fusedConv(
  c: Extract<Layer, { op: "conv" }>,
  bn: Extract<Layer, { op: "bn" }> | undefined,
  relu: boolean,
  y: string,
  weights: tf.Tensor[],
): Step {
  if (c.groups !== 1) throw new Error("TF.js has no grouped conv2d (groups > 1)");
  const [o, i, kh, kw] = c.shape;
  const w = c.w.slice();
  const b = new Float32Array(o);
  for (let k = 0; k < o; k++) {
    const s = bn ? bn.gamma[k] / Math.sqrt(bn.var[k] + bn.eps) : 1;
    for (let j = 0; j < i * kh * kw; j++) w[k * i * kh * kw + j] *= s;
    const b0 = c.b ? c.b[k] : 0;
    b[k] = bn ? (b0 - bn.mean[k]) * s + bn.beta[k] : b0;
  }
  const filter = tf.tensor4d(hwio(w, c.shape), [kh, kw, i, o]);
  const bias = tf.tensor1d(b);
  weights.push(filter, bias);
  const [t, bo, l, r] = c.pad;
  const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [t, bo], [
    l,
    r,
  ], [0, 0]];
  return (v) => {
    v.set(
      y,
      tf.fused.conv2d({
        x: v.get(c.x) as tf.Tensor4D,
        filter,
        strides: c.stride,
        pad,
        dilations: c.dilation,
        bias,
        activation: relu ? "relu" : "linear",
      }),
    );
  };
}

/** A compiled network: `run` gives the logits of an NHWC input of shape `shape` (NCHW dims). */
export interface TfRunner {
  run(nhwc: Float32Array): Promise<Float32Array>;
  dispose(): void;
}

/** Builds the TF.js network of a lowered one, for input dims [n, c, h, w]. */
export function tfNetwork(net: Lowered, shape: readonly number[]): TfRunner {
  const uses = new Map<string, number>();
  for (const l of net.layers) {
    uses.set(l.x, (uses.get(l.x) ?? 0) + 1);
    if (l.op === "add") uses.set(l.x2, (uses.get(l.x2) ?? 0) + 1);
  }
  const steps: Step[] = [];
  const weights: tf.Tensor[] = [];
  const L = net.layers;
  for (let k = 0; k < L.length; k++) {
    const l = L[k];
    if (l.op === "conv") {
      const next = L[k + 1];
      const bn = next?.op === "bn" && next.x === l.y && uses.get(l.y) === 1 ? next : undefined;
      const after = L[k + (bn ? 2 : 1)];
      const last = bn ?? l;
      const relu = after?.op === "relu" && after.x === last.y && uses.get(last.y) === 1;
      steps.push(fusedConv(l, bn, relu, relu ? after.y : last.y, weights));
      k += (bn ? 1 : 0) + (relu ? 1 : 0);
      continue;
    }
    switch (l.op) {
      case "bn":
        throw new Error("TF.js peer: a BN not after a conv is not supported");
      case "relu":
        steps.push((v) => v.set(l.y, tf.relu(v.get(l.x)!)));
        break;
      case "add":
        steps.push((v) => v.set(l.y, tf.add(v.get(l.x)!, v.get(l.x2)!)));
        break;
      case "maxpool": {
        const [ph, pw] = l.pad;
        if (ph !== pw) throw new Error("TF.js peer: asymmetric max-pool padding");
        steps.push((v) => v.set(l.y, tf.maxPool(v.get(l.x) as tf.Tensor4D, l.k, l.stride, ph)));
        break;
      }
      case "gap":
        steps.push((v) => v.set(l.y, tf.mean(v.get(l.x)!, [1, 2])));
        break;
      case "fc": {
        const wt = new Float32Array(l.w.length);
        for (let o = 0; o < l.out; o++) for (let i = 0; i < l.in; i++) wt[i * l.out + o] = l.w[o * l.in + i];
        const b = tf.tensor2d(wt, [l.in, l.out]);
        const bias = tf.tensor1d(l.b);
        weights.push(b, bias);
        steps.push((v) => v.set(l.y, tf.fused.matMul({ a: v.get(l.x) as tf.Tensor2D, b, bias })));
        break;
      }
    }
  }
  const [n, c, h, w] = shape;
  return {
    async run(nhwc) {
      const y = tf.tidy(() => {
        const v = new Map<string, tf.Tensor>([["input", tf.tensor4d(nhwc, [n, h, w, c])]]);
        for (const s of steps) s(v);
        return v.get(net.output)!;
      });
      const out = await y.data() as Float32Array;
      y.dispose();
      return out;
    },
    dispose() {
      for (const t of weights) t.dispose();
    },
  };
}
