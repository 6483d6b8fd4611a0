/**
 * Shape arithmetic: pure functions, no memory, no kernels.
 * @module
 */
import { rangeError } from "./errors.ts";

/** A size for height and width: one number for both, or [h, w]. */
export type Pair = number | readonly [number, number];
/** Padding: one number, [h, w] (symmetric), or [top, bottom, left, right]. */
export type Padding = number | readonly [number, number] | readonly [number, number, number, number];

/** Expands a {@linkcode Pair} and checks its entries are integers >= `min`. */
export function pair(v: Pair, name: string, action: string, min = 1): [number, number] {
  let p: [number, number];
  if (typeof v === "number") p = [v, v];
  else if (Array.isArray(v) && v.length === 2) p = [v[0], v[1]];
  else throw rangeError(action, `${name} must be a number or [h, w], got ${JSON.stringify(v)}`);
  for (const x of p) {
    if (!Number.isInteger(x) || x < min) {
      throw rangeError(action, `${name} must be integers >= ${min}, got ${JSON.stringify(v)}`);
    }
  }
  return p;
}

/** Expands {@linkcode Padding} to [top, bottom, left, right], checking entries are integers >= 0. */
export function padding4(v: Padding, action: string): [number, number, number, number] {
  let p: number[];
  if (typeof v === "number") p = [v, v, v, v];
  else if (Array.isArray(v) && v.length === 2) p = [v[0], v[0], v[1], v[1]];
  else if (Array.isArray(v) && v.length === 4) p = [...v];
  else {throw rangeError(
      action,
      `padding must be a number, [h, w] or [top, bottom, left, right], got ${JSON.stringify(v)}`,
    );}
  for (const x of p) {
    if (!Number.isInteger(x) || x < 0) {
      throw rangeError(action, `padding must be integers >= 0, got ${JSON.stringify(v)}`);
    }
  }
  return p as [number, number, number, number];
}

/** Output length of a convolution along one axis (torch's formula). */
export function convOut(
  size: number,
  k: number,
  stride: number,
  padBefore: number,
  padAfter: number,
  dilation: number,
): number {
  return Math.floor((size + padBefore + padAfter - dilation * (k - 1) - 1) / stride) + 1;
}

/**
 * Output length of pooling along one axis (torch's formula, including ceil_mode's rule that the last
 * window must start inside the input or the left padding).
 */
export function poolOut(
  size: number,
  k: number,
  stride: number,
  pad: number,
  dilation: number,
  ceilMode: boolean,
): number {
  const span = size + 2 * pad - dilation * (k - 1) - 1;
  let out = (ceilMode ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  if (ceilMode && (out - 1) * stride >= size + pad) out--;
  return out;
}

/** "[a, b, c]" for messages. */
export function fmt(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}
