/**
 * cnnzoo: classic CNN image classifiers, trainable and runnable anywhere JavaScript runs, on
 * AssemblyScript kernels compiled to WebAssembly SIMD and shared across worker threads.
 *
 * @example
 * ```ts
 * import * as cnn from "./mod.ts";
 * const report = await cnn.init({ threads: 1 });
 * console.log(report.backend, report.simd, report.threads);
 * await cnn.shutdown();
 * ```
 * @module
 */
export { createRuntime, Heap, init, Runtime, runtime, shutdown, withRuntime } from "./runtime/mod.ts";
export type { BackendKind, InitOptions, InitReport, ModuleSource, RunOptions } from "./runtime/mod.ts";
export {
  backward,
  defaultGenerator,
  type DType,
  full,
  Generator,
  isGradEnabled,
  manualSeed,
  noGrad,
  ops,
  Tensor,
  tensor,
  type TensorData,
  tidy,
  zeros,
} from "./tensor/mod.ts";
export * as nn from "./layers/mod.ts";
export * as optim from "./optim/mod.ts";
export * as models from "./models/mod.ts";
export * as data from "./data/mod.ts";
export * as io from "./io/mod.ts";
export * as train from "./train/mod.ts";
