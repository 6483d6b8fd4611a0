/**
 * Placeholders with the exact launcher signatures of kernels being written on other branches; each
 * throws until its real launcher is merged (and this file shrinks). Lets the tensor tier type-check now.
 * @module
 */
import type { Runtime } from "../runtime.ts";

function pending(name: string): never {
  throw new Error(`Cannot run ${name}: this kernel is not merged yet`);
}

/** Pooling geometry. */
export interface Pool2dGeometry {
  n: number;
  c: number;
  h: number;
  w: number;
  kh: number;
  kw: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
  padBottom: number;
  padRight: number;
  dilationH: number;
  dilationW: number;
  outH: number;
  outW: number;
}
type AvgO = { countIncludePad: boolean; divisorOverride?: number };
type AdaptiveG = { n: number; c: number; h: number; w: number; outH: number; outW: number };
/** Max pooling. */
export function maxPool2dForward(
  _rt: Runtime,
  _g: Pool2dGeometry,
  _b: { x: number; y: number; indices: number },
): Promise<void> {
  return pending("maxPool2dForward");
}
/** Max pooling backward. */
export function maxPool2dBackward(
  _rt: Runtime,
  _g: Pool2dGeometry,
  _b: { dy: number; indices: number; dx: number },
): Promise<void> {
  return pending("maxPool2dBackward");
}
/** Average pooling. */
export function avgPool2dForward(
  _rt: Runtime,
  _g: Pool2dGeometry,
  _b: { x: number; y: number },
  _o: AvgO,
): Promise<void> {
  return pending("avgPool2dForward");
}
/** Average pooling backward. */
export function avgPool2dBackward(
  _rt: Runtime,
  _g: Pool2dGeometry,
  _b: { dy: number; dx: number },
  _o: AvgO,
): Promise<void> {
  return pending("avgPool2dBackward");
}
/** Adaptive average pooling. */
export function adaptiveAvgPool2dForward(
  _rt: Runtime,
  _g: AdaptiveG,
  _b: { x: number; y: number },
): Promise<void> {
  return pending("adaptiveAvgPool2dForward");
}
/** Adaptive average pooling backward. */
export function adaptiveAvgPool2dBackward(
  _rt: Runtime,
  _g: AdaptiveG,
  _b: { dy: number; dx: number },
): Promise<void> {
  return pending("adaptiveAvgPool2dBackward");
}
/** BN geometry. */
export interface BatchNormGeometry {
  n: number;
  c: number;
  hw: number;
}
/** BN training forward. */
export function batchNormTrainForward(
  _rt: Runtime,
  _g: BatchNormGeometry,
  _b: {
    x: number;
    y: number;
    gamma: number;
    beta: number;
    mean: number;
    invstd: number;
    runningMean: number;
    runningVar: number;
  },
  _o: { momentum: number; eps: number },
): Promise<void> {
  return pending("batchNormTrainForward");
}
/** BN eval forward. */
export function batchNormEvalForward(
  _rt: Runtime,
  _g: BatchNormGeometry,
  _b: { x: number; y: number; gamma: number; beta: number; runningMean: number; runningVar: number },
  _o: { eps: number },
): Promise<void> {
  return pending("batchNormEvalForward");
}
/** BN backward. */
export function batchNormBackward(
  _rt: Runtime,
  _g: BatchNormGeometry,
  _b: {
    x: number;
    dy: number;
    gamma: number;
    mean: number;
    invstd: number;
    dx: number;
    dgamma: number;
    dbeta: number;
  },
): Promise<void> {
  return pending("batchNormBackward");
}
/** BN eval backward. */
export function batchNormEvalBackward(
  _rt: Runtime,
  _g: BatchNormGeometry,
  _b: {
    x: number;
    dy: number;
    gamma: number;
    runningMean: number;
    runningVar: number;
    dx: number;
    dgamma: number;
    dbeta: number;
  },
  _o: { eps: number },
): Promise<void> {
  return pending("batchNormEvalBackward");
}
/** LRN geometry. */
export interface LrnGeometry {
  n: number;
  c: number;
  hw: number;
}
type LrnO = { size: number; alpha: number; beta: number; k: number };
/** LRN forward. */
export function lrnForward(
  _rt: Runtime,
  _g: LrnGeometry,
  _b: { x: number; y: number; scale: number },
  _o: LrnO,
): Promise<void> {
  return pending("lrnForward");
}
/** LRN backward. */
export function lrnBackward(
  _rt: Runtime,
  _g: LrnGeometry,
  _b: { x: number; y: number; scale: number; dy: number; dx: number },
  _o: LrnO,
): Promise<void> {
  return pending("lrnBackward");
}
