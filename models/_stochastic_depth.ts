/**
 * Stochastic depth (Huang et al., arXiv:1603.09382) as the residual families share it: the option, the
 * survival rule that gives each residual block its drop probability, and one
 * {@linkcode StochasticDepth} gate per block (the layer holds the "paper" / "inverted" semantics). The
 * families (models/resnet.ts, models/preact_resnet.ts, models/identity_mappings.ts) import this module;
 * it imports none of them. `summary()` finds the gates and reports the expected depth.
 * @module
 */
import { StochasticDepth } from "../layers/mod.ts";
import { type Generator, rangeError } from "../tensor/mod.ts";

/** Stochastic depth settings (Huang et al., arXiv:1603.09382). */
export interface StochasticDepthOptions {
  /** Survival probability of the last block, p_L (default 0.5). */
  pL?: number;
  /**
   * "paper" (default): one gate per mini-batch, unscaled in training, branch × p_l at test (Huang et al.).
   * "inverted": one gate per mini-batch, branch / p_l in training, unscaled at test (torchvision
   * StochasticDepth mode "batch"). Per-sample ("row", timm DropPath) is not available yet.
   */
  mode?: "paper" | "inverted";
  /**
   * How the drop rate grows over blocks: "linear" (default, Huang et al.: block i of L, 1-based, drops
   * with (i / L)(1 − p_L)), "uniform" (every block survives with p_L, the paper's comparison rule) or
   * "timm" ((1 − p_L) · i / (L − 1), 0-based i: the first block never drops).
   */
  rule?: "linear" | "uniform" | "timm";
  /** Where the gates are drawn from (default: the global generator). */
  generator?: Generator;
}

/**
 * The drop probability 1 − p_l of each of `blocks` residual blocks (in forward order) under the option's
 * rule; a RangeError (`Cannot <action>: ...`) for a bad pL or rule.
 *
 * @example
 * ```ts
 * import { dropProbabilities } from "./_stochastic_depth.ts";
 * console.log(dropProbabilities({ pL: 0.5 }, 4, "create net")); // [0.125, 0.25, 0.375, 0.5]
 * ```
 */
export function dropProbabilities(options: StochasticDepthOptions, blocks: number, action: string): number[] {
  const pL = options.pL ?? 0.5;
  if (!(pL >= 0 && pL <= 1)) throw rangeError(action, `stochasticDepth.pL must be in [0, 1], got ${pL}`);
  const rule = options.rule ?? "linear";
  if (rule !== "linear" && rule !== "uniform" && rule !== "timm") {
    throw rangeError(action, `stochasticDepth.rule must be "linear", "uniform" or "timm", got ${rule}`);
  }
  return Array.from(
    { length: blocks },
    (_, i) =>
      rule === "timm"
        ? (blocks > 1 ? (1 - pL) * i / (blocks - 1) : 0)
        : rule === "uniform"
        ? 1 - pL
        : (1 - pL) * (i + 1) / blocks,
  );
}

/**
 * A source of one {@linkcode StochasticDepth} gate per residual block, in forward order: each call returns
 * the next block's gate, or null every time when `options` is undefined (no stochastic depth). Throws
 * when called more than `blocks` times.
 *
 * @example
 * ```ts
 * import { stochasticDepthGates } from "./_stochastic_depth.ts";
 * const next = stochasticDepthGates({ pL: 0.8, rule: "uniform" }, 3, "create net");
 * console.log([next(), next(), next()].map((g) => g?.p.toFixed(2))); // ["0.20", "0.20", "0.20"]
 * ```
 */
export function stochasticDepthGates(
  options: StochasticDepthOptions | undefined,
  blocks: number,
  action: string,
): () => StochasticDepth | null {
  if (options === undefined) return () => null;
  if (options === null || typeof options !== "object") {
    throw rangeError(action, `stochasticDepth must be an object, got ${options}`);
  }
  const p = dropProbabilities(options, blocks, action);
  let i = 0;
  return () => {
    if (i >= blocks) throw rangeError(action, `more than the ${blocks} residual blocks counted`);
    return new StochasticDepth(p[i++], { mode: options.mode ?? "paper", generator: options.generator });
  };
}
