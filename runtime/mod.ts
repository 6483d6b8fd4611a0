/**
 * The kernel runtime: memory, the Wasm kernels, worker threads. Most users call {@linkcode init}
 * once and never touch the rest.
 *
 * @example
 * ```ts
 * import { init } from "./mod.ts";
 * const report = await init({ threads: 1 });
 * console.log(report.simd, report.threads);
 * ```
 * @module
 */
import { createRuntime, type InitOptions, type InitReport, type Runtime } from "./runtime.ts";
import { rangeError } from "./errors.ts";

export { createRuntime, Runtime } from "./runtime.ts";
export type { BackendKind, InitOptions, InitReport, ModuleSource, RunOptions } from "./runtime.ts";
export { Heap, type HeapOptions, MAX_BYTES } from "./heap.ts";
export { rangeError, typeError } from "./errors.ts";
export { REF_KERNELS, type RefKernel } from "./ref/mod.ts";
export * as kernels from "./kernels/mod.ts";

let current: Runtime | undefined;

/**
 * Starts the default runtime (closing a previous one) and reports what it chose.
 *
 * @example
 * ```ts
 * import { init } from "./mod.ts";
 * const { backend, threads, fallbackReason } = await init({ threads: 2 });
 * console.log(backend, threads, fallbackReason ?? "");
 * ```
 */
export async function init(options: InitOptions = {}): Promise<InitReport> {
  const rt = await createRuntime(options);
  if (current) await current.close();
  current = rt;
  return rt.report;
}

/** The default runtime. Throws if {@linkcode init} has not run. */
export function runtime(): Runtime {
  if (current === undefined) throw rangeError("use the runtime", "call `await init()` first");
  return current;
}

/**
 * Runs `fn` with `rt` as the default runtime (tensors and layers created inside live there), then
 * restores the previous default. For synchronous functions only.
 */
export function withRuntime<T>(rt: Runtime, fn: () => T): T {
  const prev = current;
  current = rt;
  try {
    return fn();
  } finally {
    current = prev;
  }
}

/** Closes the default runtime (ends its workers), so a process can exit. */
export async function shutdown(): Promise<void> {
  if (current) await current.close();
  current = undefined;
}
