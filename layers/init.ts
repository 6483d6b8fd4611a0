/**
 * Parameter initialization from the seeded generator: torch's defaults (kaiming-uniform with a = sqrt(5)
 * for conv and linear weights, uniform(+-1/sqrt(fan_in)) for their biases) and the schemes the papers use.
 * @module
 */
import { rangeError } from "../runtime/mod.ts";
import { defaultGenerator, type Generator, type Tensor } from "../tensor/mod.ts";

/** fan_in and fan_out of a weight [out, in, ...kernel] (torch's _calculate_fan_in_and_fan_out). */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) {
    throw rangeError("compute fans", `weight must have rank >= 2, got [${shape.join(", ")}]`);
  }
  const receptive = shape.slice(2).reduce((p, d) => p * d, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

let drawing = true;

/**
 * Runs `fn` with random initialization switched off: the random schemes of this module fill zeros and
 * draw nothing from the generator (constants are still set). For a model whose weights are loaded next.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * import { withoutInit } from "./init.ts";
 * await cnn.init({ threads: 1 });
 * const lin = withoutInit(() => new cnn.nn.Linear(4, 2));
 * console.log(await lin.weight.toArray()); // zeros
 * ```
 */
export function withoutInit<T>(fn: () => T): T {
  const prev = drawing;
  drawing = false;
  try {
    return fn();
  } finally {
    drawing = prev;
  }
}

function fill(t: Tensor, f: () => number): void {
  // A meta runtime (shape/size walks such as summary()) holds no values: skip the draws.
  if (t.storage.rt.report.backend === "meta") return;
  if (!drawing) {
    void t.write(new Float32Array(t.size));
    return;
  }
  const d = new Float32Array(t.size);
  for (let i = 0; i < d.length; i++) d[i] = f();
  void t.write(d);
}

/** Uniform in [lo, hi). */
export function uniform(t: Tensor, lo: number, hi: number, g: Generator = defaultGenerator): void {
  fill(t, () => g.uniform(lo, hi));
}

/** Normal(mean, std). */
export function normal(t: Tensor, mean: number, std: number, g: Generator = defaultGenerator): void {
  fill(t, () => g.normal(mean, std));
}

/** Normal(mean, std) redrawn until inside [a, b] (absolute bounds, as torch.nn.init.trunc_normal_). */
export function truncNormal(
  t: Tensor,
  mean: number,
  std: number,
  a: number,
  b: number,
  g: Generator = defaultGenerator,
): void {
  fill(t, () => {
    for (;;) {
      const v = g.normal(mean, std);
      if (v >= a && v <= b) return v;
    }
  });
}

/** A constant. */
export function constant(t: Tensor, value: number): void {
  void t.write(new Float32Array(t.size).fill(value));
}

/** Kaiming (He) uniform: bound = gain * sqrt(3 / fan), gain = sqrt(2 / (1 + a^2)). */
export function kaimingUniform(
  t: Tensor,
  o: { a?: number; mode?: "fan_in" | "fan_out" } = {},
  g: Generator = defaultGenerator,
): void {
  const { fanIn, fanOut } = fans(t.shape);
  const fan = o.mode === "fan_out" ? fanOut : fanIn;
  const gain = Math.sqrt(2 / (1 + (o.a ?? 0) ** 2));
  const bound = gain * Math.sqrt(3 / fan);
  uniform(t, -bound, bound, g);
}

/** Kaiming (He) normal: std = gain / sqrt(fan) with the ReLU gain sqrt(2). */
export function kaimingNormal(
  t: Tensor,
  o: { mode?: "fan_in" | "fan_out" } = {},
  g: Generator = defaultGenerator,
): void {
  const { fanIn, fanOut } = fans(t.shape);
  normal(t, 0, Math.sqrt(2) / Math.sqrt(o.mode === "fan_out" ? fanOut : fanIn), g);
}

/** torch's default for Conv2d/Linear: weight kaiming-uniform(a = sqrt 5), bias U(+-1/sqrt(fan_in)). */
export function torchDefault(weight: Tensor, bias: Tensor | null, g: Generator = defaultGenerator): void {
  kaimingUniform(weight, { a: Math.sqrt(5) }, g);
  if (bias) {
    const bound = 1 / Math.sqrt(fans(weight.shape).fanIn);
    uniform(bias, -bound, bound, g);
  }
}
