/**
 * Optimizers and learning-rate schedules.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * const s = cnn.optim.multiStepLR([30, 60], 0.1);
 * console.log(s.factor(0), s.factor(30), s.factor(60)); // 1 0.1 0.01 (up to rounding)
 * ```
 * @module
 */
export {
  Optimizer,
  type ParamGroup,
  RMSProp,
  type RMSPropOptions,
  SGD,
  type SGDOptions,
} from "./optimizer.ts";
export {
  cosineLR,
  exponentialLR,
  linearLR,
  multiStepLR,
  polynomialLR,
  type Schedule,
  stepLR,
  withWarmup,
} from "./schedule.ts";
