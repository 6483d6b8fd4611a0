/**
 * Helpers every op uses: input checks, output allocation, queuing a launcher, saving tensors for
 * backward.
 * @module
 */
import type { Runtime } from "../../runtime/mod.ts";
import { rangeError, typeError } from "../errors.ts";
import { empty, type Storage, Tensor } from "../tensor.ts";
import { fmt } from "../shape.ts";
import type { Node } from "../autograd.ts";

/** Checks that `t` is a live float32 tensor of the given rank (if any); names the op and argument. */
export function checkFloat(op: string, name: string, t: unknown, rank?: number): Tensor {
  if (!(t instanceof Tensor)) throw typeError(`run ${op}`, `${name} must be a Tensor, got ${typeof t}`);
  if (t.disposed) throw rangeError(`run ${op}`, `${name} was disposed`);
  if (t.dtype !== "float32") throw typeError(`run ${op}`, `${name} must be float32, got ${t.dtype}`);
  if (rank !== undefined && t.rank !== rank) {
    throw rangeError(`run ${op}`, `${name} must have rank ${rank}, got shape ${fmt(t.shape)}`);
  }
  return t;
}

/** The runtime shared by all given tensors (throws if they live in different runtimes). */
export function runtimeOf(op: string, ...ts: (Tensor | null | undefined)[]): Runtime {
  let rt: Runtime | undefined;
  for (const t of ts) {
    if (!t) continue;
    if (rt === undefined) rt = t.rt;
    else if (t.rt !== rt) throw rangeError(`run ${op}`, "its tensors live in different runtimes");
  }
  if (rt === undefined) throw rangeError(`run ${op}`, "no tensor given");
  return rt;
}

/**
 * Queues `fn` (which runs launchers via `rt.exec`) after the inputs, and marks the outputs ready when it has
 * run. Returns the first output for convenience.
 */
export function launch(
  rt: Runtime,
  inputs: readonly (Tensor | null | undefined)[],
  outputs: readonly Tensor[],
  fn: () => Promise<void> | void,
): void {
  const deps = inputs.filter((t): t is Tensor => !!t).map((t) => t.ready);
  const done = rt.enqueue(fn);
  const ready = deps.length ? Promise.all([...deps, done]).then(() => {}) : done;
  ready.catch(() => {});
  for (const o of outputs) o.ready = ready;
}

/** A fresh float32 output tensor. */
export function out(rt: Runtime, shape: readonly number[]): Tensor {
  return empty(rt, shape, "float32");
}

/** Keeps tensors' memory alive for a backward; returns their pointers and a release function. */
export function save(...ts: (Tensor | null | undefined)[]): { ptrs: number[]; release: () => void } {
  const storages: Storage[] = [];
  const ptrs: number[] = [];
  for (const t of ts) {
    if (!t) {
      ptrs.push(0);
      continue;
    }
    t.storage.retain();
    storages.push(t.storage);
    ptrs.push(t.storage.ptr);
  }
  let done = false;
  return {
    ptrs,
    release: () => {
      if (done) return;
      done = true;
      for (const s of storages) s.release();
    },
  };
}

/** Builds a node whose `release` frees the saved tensors. */
export function node(
  name: string,
  inputs: readonly Tensor[],
  backward: (g: Tensor) => (Tensor | null)[],
  release: () => void = () => {},
): Node {
  return {
    name,
    inputs,
    backward,
    released: false,
    release() {
      if (this.released) return;
      this.released = true;
      release();
    },
  };
}
