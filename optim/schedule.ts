/**
 * Learning-rate schedules as closed-form factors of the epoch (or iteration) count, equal to torch's
 * StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, PolynomialLR and LinearLR for the same
 * parameters, plus linear warm-up composed with any of them.
 * @module
 */
import { rangeError } from "../runtime/mod.ts";

/** A schedule: the factor multiplying the base lr at step t (t = 0 before the first step). */
export interface Schedule {
  factor(t: number): number;
}

/** lr * gamma^floor(t / stepSize). */
export function stepLR(stepSize: number, gamma = 0.1): Schedule {
  if (!Number.isInteger(stepSize) || stepSize < 1) {
    throw rangeError("create stepLR", `stepSize must be an integer >= 1, got ${stepSize}`);
  }
  return { factor: (t) => gamma ** Math.floor(t / stepSize) };
}

/** lr * gamma^(number of milestones <= t). */
export function multiStepLR(milestones: readonly number[], gamma = 0.1): Schedule {
  const m = [...milestones].sort((a, b) => a - b);
  return { factor: (t) => gamma ** m.filter((x) => x <= t).length };
}

/** lr * gamma^t. */
export function exponentialLR(gamma: number): Schedule {
  return { factor: (t) => gamma ** t };
}

/** etaMin + (lr - etaMin) * (1 + cos(pi * t / tMax)) / 2, given etaMin as a fraction of lr. */
export function cosineLR(tMax: number, etaMinFactor = 0): Schedule {
  if (!(tMax > 0)) throw rangeError("create cosineLR", `tMax must be > 0, got ${tMax}`);
  return {
    factor: (t) => etaMinFactor + (1 - etaMinFactor) * (1 + Math.cos(Math.PI * Math.min(t, tMax) / tMax)) / 2,
  };
}

/** lr * (1 - min(t, total) / total)^power. */
export function polynomialLR(total: number, power = 1): Schedule {
  if (!(total > 0)) throw rangeError("create polynomialLR", `total must be > 0, got ${total}`);
  return { factor: (t) => (1 - Math.min(t, total) / total) ** power };
}

/** Linear from startFactor to endFactor over `total` steps (torch LinearLR). */
export function linearLR(startFactor: number, endFactor = 1, total = 5): Schedule {
  if (!(total >= 0)) throw rangeError("create linearLR", `total must be >= 0, got ${total}`);
  // total 0: already at the end (no 0 / 0).
  if (total === 0) return { factor: () => endFactor };
  return { factor: (t) => startFactor + (endFactor - startFactor) * Math.min(t, total) / total };
}

/** Multiplies `inner` by a linear warm-up from startFactor to 1 over `steps` steps. */
export function withWarmup(inner: Schedule, steps: number, startFactor = 0.1): Schedule {
  const w = linearLR(startFactor, 1, steps);
  return { factor: (t) => w.factor(t) * inner.factor(t) };
}
