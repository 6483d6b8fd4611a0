/**
 * Every tensor op: validate once, queue the kernels, record the backward beside the forward.
 * @module
 */
import { backward as walk } from "../autograd.ts";
import { OPS, type Tensor } from "../tensor.ts";
import { add, addInto, clone, onesLike, relu, reshape } from "./elementwise.ts";
import { logSoftmax, softmax } from "./loss.ts";

export { add, clone, onesLike, relu, reshape, scale } from "./elementwise.ts";
export { conv2d, type Conv2dOptions, runsAsWinograd, winogradVariant, winogradWeights } from "./conv.ts";
export { linear } from "./linear.ts";
export {
  adaptiveAvgPool2d,
  avgPool2d,
  type AvgPool2dOptions,
  maxPool2d,
  type Pool2dOptions,
} from "./pool.ts";
export { batchNorm, type BatchNormOptions, localResponseNorm, type LrnOptions } from "./norm.ts";
export { dropout, type DropoutOptions } from "./dropout.ts";
export { concat } from "./concat.ts";
export { mul, sigmoid } from "./gate.ts";
export { crossEntropy, type CrossEntropyOptions, logSoftmax, softmax, weightedSum } from "./loss.ts";

/**
 * Back-propagates from `t` (a scalar unless `grad` is given) into every leaf's `.grad`.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const w = cnn.tensor([1, -2]);
 * w.requiresGrad = true;
 * const loss = cnn.ops.crossEntropy(cnn.ops.relu(w).reshape([1, 2]), new Int32Array([0]));
 * await cnn.ops.backward(loss);
 * console.log(await w.grad!.toArray());
 * ```
 */
export function backward(t: Tensor, grad?: Tensor): Promise<void> {
  return walk(t, grad, { onesLike, addInto, add: (a, b) => add(a, b), clone });
}

OPS.reshape = reshape;
OPS.softmax = softmax;
OPS.logSoftmax = logSoftmax;
OPS.relu = relu;
OPS.add = (a, b) => add(a, b);
OPS.backward = backward;
