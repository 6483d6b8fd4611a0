/**
 * State dicts to and from safetensors bytes: {@linkcode writeSafetensors} reads a module's tensors,
 * {@linkcode readSafetensors} turns a file into tensors that `Module.loadStateDict` accepts.
 * @module
 */
import type { Module, StateDictLike } from "../layers/mod.ts";
import { type DType, type Runtime, runtime, type Tensor, tensor, typeError } from "../tensor/mod.ts";
import {
  parseSafetensors,
  type SafetensorsEntry,
  type SafetensorsInput,
  serializeSafetensors,
} from "./safetensors.ts";

/** Options of {@linkcode readSafetensors}. */
export interface ReadOptions {
  /** Runtime whose memory receives the tensors (default: the one from `init()`). */
  rt?: Runtime;
  /** Reject floating-point tensors holding NaN or infinity (see parseSafetensors). */
  validate?: boolean;
}

function natural(e: SafetensorsEntry): DType {
  return e.data instanceof Float32Array ? "float32" : e.data instanceof BigInt64Array ? "int64" : "int32";
}

/** @internal Tensors from parsed entries, each in `dtypes.get(name)` or its natural dtype. */
export function entriesToTensors(
  entries: Iterable<[string, SafetensorsEntry]>,
  rt: Runtime,
  dtypes: Map<string, DType> = new Map(),
): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  try {
    for (const [name, e] of entries) {
      const dtype = dtypes.get(name) ?? natural(e);
      let data = e.data;
      if (dtype === "float32" && !(data instanceof Float32Array)) data = Float32Array.from(data, Number);
      if (dtype === "int32" && !(data instanceof Int32Array)) data = Int32Array.from(data, Number);
      out.set(name, tensor(data, e.shape, { dtype, rt }).keep());
    }
  } catch (err) {
    for (const t of out.values()) t.dispose();
    throw err;
  }
  return out;
}

/**
 * Reads a safetensors file into tensors by name, in data-section order: float dtypes (F32, F16, BF16, F64) as
 * float32, I64 as int64 (BatchNorm's `num_batches_tracked`), other integers as int32. The tensors are kept
 * out of `tidy()` scopes: dispose them after loading. Throws a `RangeError` naming the problem and the
 * file offset if the file is malformed (see {@linkcode parseSafetensors}).
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const net = new cnn.nn.Linear(4, 2);
 * const bytes = await cnn.io.writeSafetensors(net.stateDict());
 * const dict = cnn.io.readSafetensors(bytes);
 * net.loadStateDict(dict, { strict: true });
 * for (const t of dict.values()) t.dispose();
 * ```
 */
export function readSafetensors(bytes: Uint8Array, options: ReadOptions = {}): Map<string, Tensor> {
  const { tensors } = parseSafetensors(bytes, { validate: options.validate });
  return entriesToTensors(tensors, options.rt ?? runtime());
}

/** @internal Reads every tensor of a state dict (after pending kernels) as arrays for serialization. */
export async function stateDictArrays(
  dict: StateDictLike,
  prefix = "",
  action = "write safetensors",
): Promise<Map<string, SafetensorsInput>> {
  const src = dict instanceof Map ? dict : new Map(Object.entries(dict));
  const out = new Map<string, SafetensorsInput>();
  const pending: Promise<void>[] = [];
  for (const [name, t] of src) {
    if (typeof t !== "object" || t === null || typeof (t as Tensor).data !== "function") {
      throw typeError(action, `'${name}' is not a Tensor`);
    }
    pending.push(t.data().then((data) => void out.set(prefix + name, { shape: t.shape, data })));
  }
  await Promise.all(pending);
  return out;
}

/**
 * Serializes a state dict (e.g. `module.stateDict()`) as safetensors bytes: float32 tensors as F32, int64
 * buffers as I64, int32 as I32; keys sorted, header 8-byte aligned. Synchronous: call it when the
 * runtime is idle (after awaiting a result or `opt.step()`); it throws if kernels are still queued. Use
 * {@linkcode writeSafetensorsAsync} to wait for them instead.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const net = new cnn.nn.Sequential(new cnn.nn.Conv2d(3, 4, { kernelSize: 3 }), new cnn.nn.BatchNorm2d(4));
 * const bytes = cnn.io.writeSafetensors(net.stateDict(), { note: "demo" });
 * console.log(bytes.length);
 * ```
 */
export function writeSafetensors(dict: StateDictLike, metadata?: Record<string, string>): Uint8Array {
  const src = dict instanceof Map ? dict : new Map(Object.entries(dict));
  const out = new Map<string, SafetensorsInput>();
  for (const [name, t] of src) {
    if (typeof t !== "object" || t === null || typeof (t as Tensor).dataSync !== "function") {
      throw typeError("write safetensors", `'${name}' is not a Tensor`);
    }
    out.set(name, { shape: t.shape, data: t.dataSync() });
  }
  return serializeSafetensors(out, metadata);
}

/**
 * Like {@linkcode writeSafetensors}, but first waits for the kernels queued before the call.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const net = new cnn.nn.Linear(3, 2);
 * console.log((await cnn.io.writeSafetensorsAsync(net.stateDict())).length > 0);
 * ```
 */
export async function writeSafetensorsAsync(
  dict: StateDictLike,
  metadata?: Record<string, string>,
): Promise<Uint8Array> {
  return serializeSafetensors(await stateDictArrays(dict), metadata);
}

/** @internal Loads parsed entries into `module`, converting each to the dtype of its destination. */
export function loadEntries(
  module: Module,
  entries: Map<string, SafetensorsEntry>,
  strict: boolean,
): { missingKeys: string[]; unexpectedKeys: string[] } {
  const own = module.stateDict();
  const rt = own.values().next().value?.rt ?? runtime();
  const dtypes = new Map<string, DType>();
  for (const [name, e] of entries) {
    const t = own.get(name);
    // Float and int32 data convert either way; int64 vs not stays a mismatch loadStateDict reports.
    if (t && t.dtype !== "int64" && natural(e) !== "int64") dtypes.set(name, t.dtype);
  }
  const tensors = entriesToTensors(entries, rt, dtypes);
  try {
    return module.loadStateDict(tensors, { strict });
  } finally {
    // The copies are queued before the frees, so disposing now is safe.
    for (const t of tensors.values()) t.dispose();
  }
}

/**
 * Loads safetensors bytes into a module in one call: parses, converts each tensor to the dtype of the
 * module's tensor (F16/BF16/F64 to float32), loads, and frees the temporaries. With `strict` (default)
 * missing or unexpected keys are an error; nothing is written unless every check passes.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const a = new cnn.nn.Linear(4, 2), b = new cnn.nn.Linear(4, 2);
 * cnn.io.loadSafetensors(b, await cnn.io.writeSafetensors(a.stateDict()));
 * ```
 */
export function loadSafetensors(
  module: Module,
  bytes: Uint8Array,
  options: { strict?: boolean; validate?: boolean } = {},
): { missingKeys: string[]; unexpectedKeys: string[] } {
  return loadEntries(
    module,
    parseSafetensors(bytes, { validate: options.validate }).tensors,
    options.strict ?? true,
  );
}
