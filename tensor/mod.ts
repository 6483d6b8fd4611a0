/**
 * Tensors, autograd and ops.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const x = cnn.tensor([1, -1, 2, -2], [2, 2]);
 * console.log(await x.relu().toArray());
 * ```
 * @module
 */
export {
  checkShape,
  type DType,
  empty,
  full,
  Tensor,
  tensor,
  type TensorData,
  tidy,
  zeros,
} from "./tensor.ts";
export { isGradEnabled, type Node, noGrad } from "./autograd.ts";
export { defaultGenerator, Generator, manualSeed } from "./random.ts";
export * as ops from "./ops/mod.ts";
export { backward, crossEntropy, weightedSum } from "./ops/mod.ts";
export { convOut, fmt, type Padding, type Pair, poolOut } from "./shape.ts";
export { createRuntime, type Runtime, runtime, withRuntime } from "../runtime/mod.ts";
export { rangeError, typeError } from "./errors.ts";
