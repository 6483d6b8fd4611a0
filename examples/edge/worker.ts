/**
 * The edge function for workerd / Cloudflare Workers. workerd refuses to compile Wasm bytes at run time,
 * so the kernel module arrives precompiled (a `wasm` module binding) and the weights as a `data` module;
 * `tools/workerd.ts` writes the entry that imports both and calls {@linkcode makeWorker}.
 * @module
 */
import { createDigitClassifier } from "./classifier.ts";
import { createHandler } from "./handler.ts";

/**
 * Builds the worker's `{ fetch }` from the precompiled single-thread kernel module and the weights.
 *
 * @example
 * ```ts ignore
 * // entry.js, bundled for workerd:
 * import wasm from "./cnnzoo_simd.wasm";
 * import weights from "./weights.bin";
 * import { makeWorker } from "./worker.js";
 * export default makeWorker(wasm, new Uint8Array(weights));
 * ```
 */
export function makeWorker(
  kernels: WebAssembly.Module,
  weights: Uint8Array,
): { fetch(req: Request): Promise<Response> } {
  return createHandler({ classifier: () => createDigitClassifier(weights, { threads: 1, module: kernels }) });
}
