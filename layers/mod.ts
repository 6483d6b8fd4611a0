/**
 * Layers and the module system (PyTorch names and state_dict keys).
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const net = new cnn.nn.Sequential(
 *   new cnn.nn.Conv2d(3, 8, { kernelSize: 3, padding: 1 }),
 *   new cnn.nn.BatchNorm2d(8),
 *   new cnn.nn.ReLU(),
 *   new cnn.nn.AdaptiveAvgPool2d(1),
 *   new cnn.nn.Flatten(),
 *   new cnn.nn.Linear(8, 10),
 * );
 * console.log(net.numParameters());
 * ```
 * @module
 */
export {
  buffer,
  checkModule,
  copyInto,
  type LoadResult,
  Module,
  parameter,
  type StateDictLike,
} from "./module.ts";
export {
  AdaptiveAvgPool2d,
  AvgPool2d,
  BatchNorm2d,
  type BatchNormLayerOptions,
  Conv2d,
  type Conv2dLayerOptions,
  Dropout,
  Flatten,
  Identity,
  Linear,
  LocalResponseNorm,
  MaxPool2d,
  ReLU,
  ScaledAdd,
  StochasticDepth,
} from "./layers.ts";
export { Concat, ModuleList, Sequential } from "./containers.ts";
export * as init from "./init.ts";
export { crossEntropy, weightedSum } from "../tensor/mod.ts";
export { freeze, type FreezeOptions, type FreezeStats, FrozenModel } from "./freeze.ts";
