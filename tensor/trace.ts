/**
 * Op tracing: while {@linkcode traceOps} runs a function, every op call is recorded as (op name,
 * arguments, output), so a forward pass can be replayed, rewritten (BN folded into convs, ReLU fused) and run
 * again without the module tree (layers/freeze.ts). Ops report their calls through {@linkcode traced}.
 * Tensors an op reads that no recorded call produced (parameters, buffers, constants made on the way) are
 * copied when the call is recorded, so the trace keeps their values even if the forward frees them.
 * @module
 */
import { Tensor } from "./tensor.ts";

/** One recorded op call: `args` as passed, constants replaced by their copies. */
export interface TracedCall {
  /** The op's name, e.g. "conv2d". */
  op: string;
  /** The arguments (tensors anywhere inside arrays and plain objects). */
  args: readonly unknown[];
  /** The result. */
  output: Tensor;
}

/** What {@linkcode traceOps} returns. */
export interface Trace<T> {
  /** The op calls in order. An op that calls other ops is recorded after them. */
  calls: TracedCall[];
  /** What the function returned. */
  result: T;
  /** The copies of the constants the calls read (original to copy); the caller owns them. */
  constants: Map<Tensor, Tensor>;
}

interface Recorder {
  calls: TracedCall[];
  produced: Set<Tensor>;
  inputs: Set<Tensor>;
  constants: Map<Tensor, Tensor>;
  copy: (t: Tensor) => Tensor;
  busy: boolean;
}

let recording: Recorder | null = null;

/** Calls `f` on every tensor inside `v` (arrays and plain objects are searched). */
export function eachTensor(v: unknown, f: (t: Tensor) => void): void {
  if (v === null || typeof v !== "object") return;
  if (Array.isArray(v)) {
    for (const e of v) eachTensor(e, f);
  } else if (v instanceof Tensor) f(v);
  else if (Object.getPrototypeOf(v) === Object.prototype) {
    for (const e of Object.values(v)) {
      eachTensor(e, f);
    }
  }
}

/** `v` with every tensor t inside arrays and plain objects replaced by map(t). */
export function substitute(v: unknown, map: (t: Tensor) => Tensor): unknown {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map((e) => substitute(e, map));
  if (v instanceof Tensor) return map(v);
  if (Object.getPrototypeOf(v) !== Object.prototype) return v;
  return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, substitute(e, map)]));
}

/** Reports an op call (ops call this on return); recorded while {@linkcode traceOps} runs. */
export function traced(op: string, args: readonly unknown[], output: Tensor): Tensor {
  const r = recording;
  if (r === null || r.busy) return output;
  r.busy = true;
  try {
    const kept = substitute(args, (t) => {
      if (r.produced.has(t) || r.inputs.has(t)) return t;
      let c = r.constants.get(t);
      if (c === undefined) r.constants.set(t, c = r.copy(t));
      return c;
    }) as unknown[];
    r.calls.push({ op, args: kept, output });
    r.produced.add(output);
  } finally {
    r.busy = false;
  }
  return output;
}

/**
 * Runs `fn`, recording every op call it makes in order. `inputs` are the tensors that stand for the
 * traced function's inputs (never copied); `copy` copies a constant (ops.clone).
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * import { traceOps } from "./trace.ts";
 * await cnn.init({ threads: 1 });
 * const x = cnn.tensor([-1, 2]);
 * const t = traceOps(() => cnn.ops.relu(cnn.ops.scale(x, 2)), [x], cnn.ops.clone);
 * console.log(t.calls.map((c) => c.op)); // ["scale", "relu"]
 * ```
 */
export function traceOps<T>(fn: () => T, inputs: readonly Tensor[], copy: (t: Tensor) => Tensor): Trace<T> {
  if (recording !== null) throw new Error("Cannot trace ops: a trace is already recording");
  const r: Recorder = {
    calls: [],
    produced: new Set(),
    inputs: new Set(inputs),
    constants: new Map(),
    copy,
    busy: false,
  };
  recording = r;
  try {
    return { calls: r.calls, result: fn(), constants: r.constants };
  } finally {
    recording = null;
  }
}
