/**
 * Training checkpoints as one safetensors file, runtime-neutral (bytes in, bytes out; the Deno file
 * functions with atomic writes are in `fs.ts`). Layout: model tensors under `model.<key>`, optimizer
 * buffers under `optimizer.<param index>.<name>`, and in `__metadata__`: `format` ("cnnzoo.checkpoint"),
 * `version` ("1"), `epoch`, `step`, and JSON strings `optimizer` (learning rates and scalar state),
 * `rng` (generator state) and `extra` (anything JSON).
 * @module
 */
import type { Module } from "../layers/mod.ts";
import { rangeError, type Tensor, typeError } from "../tensor/mod.ts";
import {
  parseSafetensors,
  type SafetensorsEntry,
  type SafetensorsInput,
  serializeSafetensors,
} from "./safetensors.ts";
import { loadEntries, stateDictArrays } from "./state_dict.ts";

/** The state an optimizer saves (`cnn.optim.SGD`, `cnn.optim.RMSProp`): per-group lrs, per-param state. */
export interface OptimizerState {
  lrs: number[];
  state: Record<string, Record<string, number | Float32Array>>;
}

/** What a checkpoint needs of an optimizer (every `cnn.optim` optimizer fits). */
export interface OptimizerLike {
  stateDict(): Promise<OptimizerState> | OptimizerState;
  loadStateDict(state: OptimizerState): void;
  /** When present, used to check a checkpoint against the optimizer before anything is restored. */
  readonly groups?: readonly { params: readonly Tensor[] }[];
}

/** What a checkpoint needs of a random generator (`cnn.Generator` fits). */
export interface RngLike {
  getState(): number[];
  setState(state: readonly number[]): void;
}

/** What {@linkcode encodeCheckpoint} saves. */
export interface CheckpointState {
  model: Module;
  optimizer?: OptimizerLike;
  /** Completed epochs (a non-negative integer). */
  epoch: number;
  /** Completed optimizer steps (a non-negative integer). */
  step: number;
  /** A generator whose state is saved (e.g. `cnn.defaultGenerator`). */
  rng?: RngLike;
  /** Anything `JSON.stringify` accepts (schedule state, best accuracy, config). */
  extra?: unknown;
}

/** Where {@linkcode decodeCheckpoint} restores to. */
export interface CheckpointTargets {
  model: Module;
  optimizer?: OptimizerLike;
  /** Receives the saved generator state (if the checkpoint has one). */
  rng?: RngLike;
  /** Missing or unexpected model keys are an error (default true). */
  strict?: boolean;
}

/** What {@linkcode decodeCheckpoint} found besides the tensors it restored. */
export interface RestoredCheckpoint {
  epoch: number;
  step: number;
  extra: unknown;
  /** The saved generator state, or null. */
  rngState: number[] | null;
  /** The raw `__metadata__` strings. */
  metadata: Record<string, string>;
}

/**
 * The `format` metadata value of a checkpoint.
 *
 * @example
 * ```ts
 * import { CHECKPOINT_FORMAT } from "./checkpoint.ts";
 * console.log(CHECKPOINT_FORMAT); // "cnnzoo.checkpoint"
 * ```
 */
export const CHECKPOINT_FORMAT = "cnnzoo.checkpoint";
const VERSION = "1";

function checkCount(action: string, name: string, v: unknown): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) {
    throw rangeError(action, `${name} must be a non-negative integer, got ${String(v)}`);
  }
  return v as number;
}

function toJson(action: string, what: string, v: unknown): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch (e) {
    throw typeError(action, `${what} is not JSON-serializable: ${e instanceof Error ? e.message : e}`);
  }
  if (s === undefined) throw typeError(action, `${what} is not JSON-serializable`);
  return s;
}

/**
 * Serializes model, optimizer, counters, generator state and extra JSON as one safetensors file.
 * Asynchronous: tensor values are read after queued kernels have run.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const model = new cnn.nn.Linear(4, 2);
 * const optimizer = new cnn.optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 * const bytes = await cnn.io.encodeCheckpoint({ model, optimizer, epoch: 3, step: 120, extra: { best: 0.9 } });
 * const back = cnn.io.decodeCheckpoint(bytes, { model, optimizer });
 * console.log(back.epoch, back.step, back.extra); // 3 120 { best: 0.9 }
 * ```
 */
export async function encodeCheckpoint(state: CheckpointState): Promise<Uint8Array> {
  const action = "save checkpoint";
  if (typeof state !== "object" || state === null) throw typeError(action, "expected a state object");
  const { model, optimizer, rng, extra } = state;
  if (typeof model?.stateDict !== "function") throw typeError(action, "model must be a Module");
  const epoch = checkCount(action, "epoch", state.epoch);
  const step = checkCount(action, "step", state.step);
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    version: VERSION,
    epoch: String(epoch),
    step: String(step),
  };
  if (extra !== undefined) metadata.extra = toJson(action, "extra", extra);
  if (rng !== undefined) {
    // NaN (no spare normal) is not JSON: store null.
    metadata.rng = JSON.stringify(rng.getState().map((x) => (Number.isNaN(x) ? null : x)));
  }
  const arrays = await stateDictArrays(model.stateDict(), "model.", action);
  if (optimizer !== undefined) {
    const sd = await optimizer.stateDict();
    const scalars: Record<string, Record<string, number>> = {};
    for (const [index, o] of Object.entries(sd.state)) {
      for (const [name, v] of Object.entries(o)) {
        if (typeof v === "number") (scalars[index] ??= {})[name] = v;
        else arrays.set(`optimizer.${index}.${name}`, { shape: [v.length], data: v } as SafetensorsInput);
      }
    }
    metadata.optimizer = toJson(action, "optimizer state", { lrs: sd.lrs, scalars });
  }
  return serializeSafetensors(arrays, metadata);
}

function parseJson(action: string, what: string, s: string): unknown {
  try {
    return JSON.parse(s);
  } catch (e) {
    throw rangeError(
      action,
      `${what} in __metadata__ is not valid JSON: ${e instanceof Error ? e.message : e}`,
    );
  }
}

/**
 * Restores a checkpoint from {@linkcode encodeCheckpoint} into `model` (and `optimizer`, `rng` if
 * given) and returns the counters and extra data. Everything is checked before anything is written: on
 * any error (wrong file, key or shape mismatch, optimizer mismatch) the targets are untouched.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const model = new cnn.nn.Linear(4, 2);
 * const bytes = await cnn.io.encodeCheckpoint({ model, epoch: 1, step: 10, rng: cnn.defaultGenerator });
 * const { epoch, step } = cnn.io.decodeCheckpoint(bytes, { model, rng: cnn.defaultGenerator });
 * console.log(epoch, step); // 1 10
 * ```
 */
export function decodeCheckpoint(bytes: Uint8Array, targets: CheckpointTargets): RestoredCheckpoint {
  const action = "load checkpoint";
  if (typeof targets?.model?.stateDict !== "function") throw typeError(action, "model must be a Module");
  const { tensors, metadata } = parseSafetensors(bytes);
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw rangeError(
      action,
      `the file is not a cnnzoo checkpoint (__metadata__.format is ${JSON.stringify(metadata.format)})`,
    );
  }
  if (metadata.version !== VERSION) {
    throw rangeError(action, `checkpoint version ${JSON.stringify(metadata.version)} is not supported`);
  }
  const count = (name: "epoch" | "step"): number => {
    const s = metadata[name];
    if (s === undefined || !/^\d+$/.test(s)) throw rangeError(action, `${name} is ${JSON.stringify(s)}`);
    return checkCount(action, name, Number(s));
  };
  const epoch = count("epoch"), step = count("step");
  const extra = metadata.extra === undefined ? undefined : parseJson(action, "extra", metadata.extra);

  let rngState: number[] | null = null;
  if (metadata.rng !== undefined) {
    const r = parseJson(action, "rng", metadata.rng);
    if (!Array.isArray(r) || !r.every((x) => x === null || typeof x === "number")) {
      throw rangeError(action, "rng in __metadata__ is not a list of numbers");
    }
    rngState = r.map((x) => (x === null ? NaN : x));
  }

  const model = new Map<string, SafetensorsEntry>();
  const optTensors = new Map<string, Record<string, Float32Array>>();
  for (const [name, e] of tensors) {
    if (name.startsWith("model.")) {
      model.set(name.slice(6), e);
      continue;
    }
    const m = /^optimizer\.(\d+)\.(.+)$/.exec(name);
    if (m) {
      const data = e.data;
      if (!(data instanceof Float32Array)) {
        throw rangeError(action, `optimizer tensor '${name}' has dtype ${e.dtype}, not a float dtype`);
      }
      (optTensors.get(m[1]) ?? optTensors.set(m[1], {}).get(m[1])!)[m[2]] = data;
      continue;
    }
    throw rangeError(action, `tensor '${name}' belongs to neither the model nor the optimizer`);
  }

  let optState: OptimizerState | undefined;
  const { optimizer } = targets;
  if (optimizer !== undefined) {
    if (metadata.optimizer === undefined) {
      throw rangeError(action, "the checkpoint has no optimizer state, but an optimizer was given");
    }
    const o = parseJson(action, "optimizer", metadata.optimizer) as {
      lrs?: unknown;
      scalars?: Record<string, Record<string, number>>;
    };
    if (!Array.isArray(o?.lrs) || !o.lrs.every((x) => typeof x === "number")) {
      throw rangeError(action, "optimizer in __metadata__ has no list of learning rates");
    }
    const state: OptimizerState["state"] = {};
    for (const [i, rec] of Object.entries(o.scalars ?? {})) state[i] = { ...rec };
    for (const [i, rec] of optTensors) state[i] = { ...state[i], ...rec };
    optState = { lrs: o.lrs, state };
    if (optimizer.groups) {
      const params = optimizer.groups.flatMap((g) => g.params);
      if (optimizer.groups.length !== o.lrs.length) {
        throw rangeError(
          action,
          `the optimizer has ${optimizer.groups.length} parameter groups, the checkpoint ${o.lrs.length}`,
        );
      }
      for (const [i, rec] of Object.entries(state)) {
        const p = params[Number(i)];
        if (!p) throw rangeError(action, `optimizer state for parameter ${i}, which the optimizer lacks`);
        for (const [k, v] of Object.entries(rec)) {
          if (typeof v !== "number" && v.length !== p.size) {
            throw rangeError(
              action,
              `optimizer ${k} of parameter ${i} has ${v.length} values, the parameter ${p.size}`,
            );
          }
        }
      }
    }
  }
  if (targets.rng !== undefined && rngState === null) {
    throw rangeError(action, "the checkpoint has no generator state, but a generator was given");
  }

  // The generator checks its state before changing; put it back if the model rejects the checkpoint.
  const rng = targets.rng;
  const rngBefore = rng?.getState();
  if (rng !== undefined) rng.setState(rngState!);
  try {
    // loadStateDict checks every key and shape before it writes anything.
    loadEntries(targets.model, model, targets.strict ?? true);
  } catch (e) {
    if (rng !== undefined) rng.setState(rngBefore!);
    throw e;
  }
  if (optimizer !== undefined) optimizer.loadStateDict(optState!);
  return { epoch, step, extra, rngState, metadata };
}
