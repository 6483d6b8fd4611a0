/**
 * The seeded random generator behind initialization, dropout masks, stochastic depth and
 * augmentation (xoshiro128**, seeded through splitmix32). Its state can be saved and restored, so a
 * resumed training run draws the same numbers.
 * @module
 */
import { rangeError } from "./errors.ts";

/**
 * A seeded generator.
 *
 * @example
 * ```ts
 * import { Generator } from "./random.ts";
 * const g = new Generator(42);
 * console.log(g.uniform(), g.normal());
 * ```
 */
export class Generator {
  #s = new Uint32Array(4);
  #spare: number | undefined;

  /** A generator seeded with `seed` (the same seed gives the same stream everywhere). */
  constructor(seed = 0) {
    this.seed(seed);
  }

  /** Restarts the sequence from `seed` (a safe integer). */
  seed(seed: number): void {
    if (!Number.isSafeInteger(seed)) {
      throw rangeError("seed generator", `seed must be a safe integer, got ${seed}`);
    }
    let x = (seed >>> 0) ^ Math.floor(seed / 4294967296);
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.#s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if ((this.#s[0] | this.#s[1] | this.#s[2] | this.#s[3]) === 0) this.#s[0] = 1;
    this.#spare = undefined;
  }

  /** A uniformly distributed 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.#s;
    const r = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r;
  }

  /** Uniform in [lo, hi). */
  uniform(lo = 0, hi = 1): number {
    const u = (this.nextU32() * 4294967296 + this.nextU32()) / 18446744073709551616;
    return lo + (hi - lo) * u;
  }

  /** Normal with the given mean and standard deviation (Box-Muller). */
  normal(mean = 0, std = 1): number {
    if (this.#spare !== undefined) {
      const z = this.#spare;
      this.#spare = undefined;
      return mean + std * z;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** The state, for checkpoints. */
  getState(): number[] {
    return [...this.#s, this.#spare === undefined ? Number.NaN : this.#spare];
  }

  /** Restores a state from {@linkcode Generator.getState}. */
  setState(state: readonly number[]): void {
    if (!Array.isArray(state) || state.length !== 5) {
      throw rangeError("restore generator", "state must be the 5 numbers getState() returned");
    }
    for (let i = 0; i < 4; i++) this.#s[i] = state[i] >>> 0;
    this.#spare = Number.isNaN(state[4]) ? undefined : state[4];
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The default generator (seed 0 until {@linkcode manualSeed}). */
export const defaultGenerator: Generator = new Generator(0);

/**
 * Seeds the default generator.
 *
 * @example
 * ```ts
 * import { manualSeed } from "./random.ts";
 * manualSeed(1234);
 * ```
 */
export function manualSeed(seed: number): void {
  defaultGenerator.seed(seed);
}
