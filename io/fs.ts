/**
 * Checkpoint files for Deno (import as `@cnnzoo/cnnzoo/fs`; kept out of the main module so it stays
 * runtime-neutral). {@linkcode saveCheckpoint} is atomic: the bytes go to a temporary file in the same
 * folder, which is flushed to disk and then renamed over the target, so a crash or error at any point
 * leaves the previous checkpoint intact and no temporary file behind.
 * Needs `--allow-write` (and `--allow-read` to load) for the checkpoint's folder.
 * @module
 */
import { rangeError } from "../tensor/mod.ts";
import {
  type CheckpointState,
  type CheckpointTargets,
  decodeCheckpoint,
  encodeCheckpoint,
  type RestoredCheckpoint,
} from "./checkpoint.ts";

export type {
  CheckpointState,
  CheckpointTargets,
  OptimizerLike,
  OptimizerState,
  RestoredCheckpoint,
  RngLike,
} from "./checkpoint.ts";

/** Options of {@linkcode saveCheckpoint}. */
export interface SaveOptions {
  /** Bytes per write call (default 4 MiB). */
  chunkBytes?: number;
  /**
   * Called after each chunk reaches the temporary file. Throwing from it aborts the save: the
   * temporary file is removed and the previous checkpoint stays.
   */
  onProgress?: (bytesWritten: number, totalBytes: number) => void;
}

function siblingTemp(path: string | URL): string | URL {
  const tag = `.tmp-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  if (path instanceof URL) {
    const name = path.pathname.slice(path.pathname.lastIndexOf("/") + 1);
    return new URL(`.${name}${tag}`, path);
  }
  const cut = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1;
  return `${path.slice(0, cut)}.${path.slice(cut)}${tag}`;
}

function folderOf(path: string | URL): string | URL {
  if (path instanceof URL) return new URL(".", path);
  const cut = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return cut < 0 ? "." : cut === 0 ? path.slice(0, 1) : path.slice(0, cut);
}

/**
 * Writes `bytes` to `path` atomically: temporary sibling file, write, fsync, rename over `path`, then
 * (best effort) fsync of the folder so the rename itself is durable.
 *
 * @example
 * ```ts ignore
 * import { writeFileAtomic } from "./fs.ts";
 * await writeFileAtomic("runs/model.safetensors", new Uint8Array(16));
 * ```
 */
export async function writeFileAtomic(
  path: string | URL,
  bytes: Uint8Array,
  options: SaveOptions = {},
): Promise<void> {
  const chunk = options.chunkBytes ?? 4 << 20;
  if (!Number.isSafeInteger(chunk) || chunk <= 0) {
    throw rangeError("write file", `chunkBytes must be a positive integer, got ${chunk}`);
  }
  const tmp = siblingTemp(path);
  const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o644 });
  let closed = false;
  try {
    let written = 0;
    while (written < bytes.length) {
      const end = Math.min(bytes.length, written + chunk);
      let at = written;
      while (at < end) at += await file.write(bytes.subarray(at, end));
      written = end;
      options.onProgress?.(written, bytes.length);
    }
    await file.sync();
    file.close();
    closed = true;
    await Deno.rename(tmp, path);
  } catch (err) {
    if (!closed) {
      try {
        file.close();
      } catch { /* already closed */ }
    }
    try {
      await Deno.remove(tmp);
    } catch { /* never created or already renamed */ }
    throw err;
  }
  try {
    const dir = await Deno.open(folderOf(path), { read: true });
    try {
      await dir.sync();
    } finally {
      dir.close();
    }
  } catch { /* folders cannot be opened or synced on every platform */ }
}

/**
 * Saves a checkpoint (model, optimizer state, epoch, step, generator state, extra JSON) as one
 * safetensors file, atomically: if anything fails, the previous file at `path` is intact and no
 * temporary file is left.
 *
 * @example
 * ```ts ignore
 * import * as cnn from "../mod.ts";
 * import { loadCheckpoint, saveCheckpoint } from "./fs.ts";
 * await cnn.init({ threads: 1 });
 * const model = new cnn.nn.Linear(4, 2);
 * const optimizer = new cnn.optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 * await saveCheckpoint("runs/last.safetensors", { model, optimizer, epoch: 5, step: 500, rng: cnn.defaultGenerator });
 * const { epoch, step } = await loadCheckpoint("runs/last.safetensors", { model, optimizer, rng: cnn.defaultGenerator });
 * ```
 */
export async function saveCheckpoint(
  path: string | URL,
  state: CheckpointState,
  options: SaveOptions = {},
): Promise<void> {
  await writeFileAtomic(path, await encodeCheckpoint(state), options);
}

/**
 * Loads a checkpoint written by {@linkcode saveCheckpoint} into `model` (and `optimizer`, `rng`), and
 * returns epoch, step and extra. Nothing is restored unless the whole file checks out.
 *
 * @example
 * ```ts ignore
 * import * as cnn from "../mod.ts";
 * import { loadCheckpoint } from "./fs.ts";
 * await cnn.init({ threads: 1 });
 * const model = new cnn.nn.Linear(4, 2);
 * const { epoch, extra } = await loadCheckpoint("runs/last.safetensors", { model });
 * ```
 */
export async function loadCheckpoint(
  path: string | URL,
  targets: CheckpointTargets,
): Promise<RestoredCheckpoint> {
  return decodeCheckpoint(await Deno.readFile(path), targets);
}
