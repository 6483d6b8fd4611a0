/**
 * Temporary, while kernel launchers merge: tells model tests whether the launchers they need are real
 * yet (placeholders in runtime/kernels/_pending.ts throw "not merged yet"). Tests that need kernels use
 * `ignore: !kernelsReady(...)` so the skip shows in the test report. Delete once _pending.ts is gone.
 * @module
 */
import * as K from "../../runtime/kernels/mod.ts";

/** True when every named launcher (e.g. "conv2dForward") is a real launcher, not a placeholder. */
export function kernelsReady(...names: (keyof typeof K)[]): boolean {
  return names.every((n) => typeof K[n] === "function" && !String(K[n]).includes("pending("));
}

/** The launchers a whole-model forward/backward pass needs. */
export const MODEL_KERNELS: (keyof typeof K)[] = [
  "conv2dForward",
  "conv2dBackwardInput",
  "conv2dBackwardWeight",
  "gemm",
  "maxPool2dForward",
  "avgPool2dForward",
  "adaptiveAvgPool2dForward",
  "batchNormEvalForward",
  "batchNormTrainForward",
  "biasAdd",
  "softmaxForward",
];
