/**
 * ONNX Runtime Web peer: the lowered network as an ONNX model (opset 13, one node per layer, BN left to
 * ORT's "all" graph optimizations to fold), run on the wasm execution provider. Bench-only dependency.
 *
 * ORT fixes its thread count when its wasm module starts, once per copy of the library. Two copies live
 * in one process: the package's Node entry (`npm:onnxruntime-web`, what Deno resolves) and its `/wasm`
 * bundle; each gets its own `env` and its own wasm instance, so one can run 1 thread and the other 2.
 * @module
 */
// deno-lint-ignore no-import-prefix -- bench-only peer, kept out of deno.json imports on purpose
import * as ortMain from "npm:onnxruntime-web@1.30.0";
// deno-lint-ignore no-import-prefix -- bench-only peer, kept out of deno.json imports on purpose
import * as ortWasm from "npm:onnxruntime-web@1.30.0/wasm";
import { encodeModel, type OnnxGraph, type OnnxNode, type OnnxTensor } from "./onnx.ts";
import type { Lowered } from "./net.ts";

type Ort = typeof ortMain;

/** The lowered network as ONNX model bytes for input [n, c, h, w]. */
export function toOnnx(net: Lowered, input: readonly number[]): Uint8Array {
  const nodes: OnnxNode[] = [];
  const inits: OnnxTensor[] = [];
  const constant = (name: string, dims: readonly number[], data: Float32Array) => {
    inits.push({ name, dims, data });
    return name;
  };
  for (const l of net.layers) {
    switch (l.op) {
      case "conv": {
        const ins = [l.x, constant(`${l.y}_w`, l.shape, l.w)];
        if (l.b) ins.push(constant(`${l.y}_b`, [l.shape[0]], l.b));
        const [t, b, left, r] = l.pad;
        nodes.push({
          op: "Conv",
          inputs: ins,
          outputs: [l.y],
          attrs: {
            kernel_shape: [l.shape[2], l.shape[3]],
            strides: l.stride,
            pads: [t, left, b, r], // ONNX: begins (h, w) then ends (h, w)
            dilations: l.dilation,
            group: l.groups,
          },
        });
        break;
      }
      case "bn": {
        const c = [l.gamma.length];
        nodes.push({
          op: "BatchNormalization",
          inputs: [
            l.x,
            constant(`${l.y}_g`, c, l.gamma),
            constant(`${l.y}_b`, c, l.beta),
            constant(`${l.y}_m`, c, l.mean),
            constant(`${l.y}_v`, c, l.var),
          ],
          outputs: [l.y],
          attrs: { epsilon: { float: l.eps } },
        });
        break;
      }
      case "relu":
        nodes.push({ op: "Relu", inputs: [l.x], outputs: [l.y] });
        break;
      case "add":
        nodes.push({ op: "Add", inputs: [l.x, l.x2], outputs: [l.y] });
        break;
      case "maxpool":
        nodes.push({
          op: "MaxPool",
          inputs: [l.x],
          outputs: [l.y],
          attrs: { kernel_shape: l.k, strides: l.stride, pads: [...l.pad, ...l.pad] },
        });
        break;
      case "gap":
        nodes.push({ op: "GlobalAveragePool", inputs: [l.x], outputs: [`${l.y}_4d`] });
        nodes.push({ op: "Flatten", inputs: [`${l.y}_4d`], outputs: [l.y], attrs: { axis: 1 } });
        break;
      case "fc":
        nodes.push({
          op: "Gemm",
          inputs: [l.x, constant(`${l.y}_w`, [l.out, l.in], l.w), constant(`${l.y}_b`, [l.out], l.b)],
          outputs: [l.y],
          attrs: { transB: 1 },
        });
        break;
    }
  }
  const graph: OnnxGraph = {
    nodes,
    initializers: inits,
    inputs: [{ name: "input", dims: input }],
    outputs: [{ name: net.output, dims: [input[0], net.classes] }],
  };
  return encodeModel(graph, 13);
}

/** A loaded ORT session: `run` computes the logits of one input. */
export interface OrtRunner {
  threads: number;
  run(x: Float32Array): Promise<Float32Array>;
  release(): Promise<void>;
}

let configured = false;

/**
 * The ORT copy for `threads` threads: the Node entry for 2 or more (it starts its pthread workers from
 * file URLs), the `/wasm` bundle for 1 (it would start them from `blob:` URLs, which Deno's Node
 * compatibility layer rejects: "Only file and data URLs are supported").
 */
function copyFor(threads: number): Ort {
  if (!configured) {
    configured = true;
    ortMain.env.wasm.numThreads = 2;
    ortWasm.env.wasm.numThreads = 1;
    for (const o of [ortMain.env, ortWasm.env]) {
      o.wasm.proxy = false;
      o.logLevel = "error";
    }
  }
  if (threads > 2) throw new Error("ORT runs here on 1 or 2 threads");
  return threads === 2 ? ortMain : ortWasm as unknown as Ort;
}

/** Creates an ORT session on `threads` threads from model bytes for input `shape`. */
export async function ortSession(
  model: Uint8Array,
  shape: readonly number[],
  threads: number,
): Promise<OrtRunner> {
  const ort = copyFor(threads);
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ["wasm"],
    graphOptimizationLevel: "all",
  });
  const [inName] = session.inputNames;
  const [outName] = session.outputNames;
  return {
    threads,
    async run(x) {
      const out = await session.run({ [inName]: new ort.Tensor("float32", x, shape) });
      const y = out[outName];
      const data = y.data as Float32Array;
      y.dispose();
      return data;
    },
    release: () => session.release(),
  };
}
