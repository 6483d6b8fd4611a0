/**
 * Safetensors and checkpoints, runtime-neutral (bytes in, bytes out). Deno file helpers with atomic
 * writes (`saveCheckpoint`, `loadCheckpoint`) are in `./fs.ts`, exported as `@cnnzoo/cnnzoo/fs`.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const net = new cnn.nn.Linear(4, 2);
 * const bytes = cnn.io.writeSafetensors(net.stateDict());
 * const dict = cnn.io.readSafetensors(bytes);
 * net.loadStateDict(dict, { strict: true });
 * for (const t of dict.values()) t.dispose();
 * ```
 * @module
 */
export {
  f16ToF32,
  ITEM_SIZE,
  MAX_HEADER_BYTES,
  type ParsedSafetensors,
  parseSafetensors,
  type SafetensorsDType,
  type SafetensorsEntry,
  type SafetensorsInput,
  serializeSafetensors,
} from "./safetensors.ts";
export {
  loadSafetensors,
  type ReadOptions,
  readSafetensors,
  writeSafetensors,
  writeSafetensorsAsync,
} from "./state_dict.ts";
export {
  CHECKPOINT_FORMAT,
  type CheckpointState,
  type CheckpointTargets,
  decodeCheckpoint,
  encodeCheckpoint,
  type OptimizerLike,
  type OptimizerState,
  type RestoredCheckpoint,
  type RngLike,
} from "./checkpoint.ts";
