/**
 * Closeness checks that name the first bad index.
 * @module
 */

/** Throws unless |a - b| <= atol + rtol * |b| everywhere (NaN only matches NaN). */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  opts: { rtol?: number; atol?: number; label?: string } = {},
): void {
  const rtol = opts.rtol ?? 1e-5;
  const atol = opts.atol ?? 1e-5;
  const label = opts.label ?? "values";
  if (actual.length !== expected.length) {
    throw new Error(`${label}: length ${actual.length} != expected ${expected.length}`);
  }
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], b = expected[i];
    if (Number.isNaN(a) || Number.isNaN(b)) {
      if (Number.isNaN(a) && Number.isNaN(b)) continue;
      throw new Error(`${label}[${i}]: ${a} != expected ${b}`);
    }
    if (!(Math.abs(a - b) <= atol + rtol * Math.abs(b))) {
      throw new Error(
        `${label}[${i}]: ${a} != expected ${b} (diff ${Math.abs(a - b)}, rtol ${rtol}, atol ${atol})`,
      );
    }
  }
}
