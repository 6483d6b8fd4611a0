/**
 * Training: the loop, evaluation, curves.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * console.log(cnn.train.topK([0.1, 0.7, 0.2], 2)); // [1, 2]
 * ```
 * @module
 */
export {
  type EpochRecord,
  type EvalResult,
  evaluate,
  fit,
  type FitOptions,
  type Progress,
  topK,
} from "./fit.ts";
export { type Series, svgCurves } from "./plot.ts";
export { multiScaleDense, type MultiScaleOptions } from "./multiscale.ts";
