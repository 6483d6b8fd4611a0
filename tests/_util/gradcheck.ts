/**
 * Finite-difference gradient checks. The loss is L(x) = sum(w * f(x)) for a fixed random w; the
 * analytic gradient dL/dx is compared with central differences in float64 arithmetic over the
 * float32 function, at a sample of coordinates.
 * @module
 */
import { rng } from "./rng.ts";

/** Options of {@linkcode gradcheck}. */
export interface GradcheckOptions {
  eps?: number;
  rtol?: number;
  atol?: number;
  /** Coordinates to check (all if fewer). */
  samples?: number;
  seed?: number;
  label?: string;
}

/**
 * Checks `grad` (the analytic dL/dx) against central differences of `loss(x)`.
 * `loss` must not keep `x`; it is called with perturbed copies.
 */
export function gradcheck(
  loss: (x: Float32Array) => number,
  x: Float32Array,
  grad: ArrayLike<number>,
  opts: GradcheckOptions = {},
): void {
  const eps = opts.eps ?? 1e-2;
  const rtol = opts.rtol ?? 2e-2;
  const atol = opts.atol ?? 2e-3;
  const r = rng(opts.seed ?? 7);
  const n = x.length;
  const count = Math.min(n, opts.samples ?? 64);
  const idx = count === n ? [...Array(n).keys()] : Array.from({ length: count }, () => Math.floor(r() * n));
  for (const i of idx) {
    const xp = x.slice();
    xp[i] += eps;
    const hp = xp[i] - x[i];
    const lp = loss(xp);
    const xm = x.slice();
    xm[i] -= eps;
    const hm = x[i] - xm[i];
    const lm = loss(xm);
    const fd = (lp - lm) / (hp + hm);
    if (!(Math.abs(fd - grad[i]) <= atol + rtol * Math.abs(fd))) {
      throw new Error(
        `${opts.label ?? "grad"}[${i}]: analytic ${grad[i]} != finite difference ${fd} (eps ${eps})`,
      );
    }
  }
}

/** sum(w * y) in float64. */
export function dot(w: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += w[i] * y[i];
  return s;
}
