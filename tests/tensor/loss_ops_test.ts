import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";
import { assertClose } from "../_util/assert_close.ts";
import { rng, uniform } from "../_util/rng.ts";

await cnn.init({ threads: 1 });

function softmaxRows(x: Float32Array, rows: number, cols: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity, s = 0;
    for (let k = 0; k < cols; k++) m = Math.max(m, x[r * cols + k]);
    for (let k = 0; k < cols; k++) s += Math.exp(x[r * cols + k] - m);
    for (let k = 0; k < cols; k++) y[r * cols + k] = Math.exp(x[r * cols + k] - m) / s;
  }
  return y;
}

Deno.test("crossEntropy op: torch-style loss and gradient with label smoothing, mean and sum", async () => {
  const [rows, cols] = [3, 5];
  const xv = uniform(rng(51), rows * cols, -3, 3);
  const labels = new Int32Array([4, 0, 2]);
  const p = softmaxRows(xv, rows, cols);
  for (const s of [0, 0.1]) {
    for (const reduction of ["mean", "sum"] as const) {
      const x = cnn.tensor(xv, [rows, cols]);
      x.requiresGrad = true;
      const loss = cnn.ops.crossEntropy(x, labels, { labelSmoothing: s, reduction });
      let want = 0;
      const k = reduction === "mean" ? 1 / rows : 1;
      const grad = new Float64Array(rows * cols);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const t = (c === labels[r] ? 1 - s : 0) + s / cols;
          want -= k * t * Math.log(p[r * cols + c]);
          grad[r * cols + c] = k * (p[r * cols + c] - t);
        }
      }
      assertClose([await loss.item()], [want], { rtol: 1e-5, label: `loss s=${s} ${reduction}` });
      await loss.backward();
      assert.ok(x.grad);
      assertClose(await x.grad.toArray() as Float32Array, grad, {
        rtol: 1e-4,
        atol: 1e-6,
        label: `grad s=${s} ${reduction}`,
      });
    }
  }
});

Deno.test("softmax and logSoftmax ops have gradients", async () => {
  const [rows, cols] = [2, 7];
  const r = rng(52);
  const xv = uniform(r, rows * cols, -2, 2), gv = uniform(r, rows * cols);
  const p = softmaxRows(xv, rows, cols);
  for (const log of [false, true]) {
    const x = cnn.tensor(xv, [rows, cols]);
    x.requiresGrad = true;
    const y = log ? cnn.ops.logSoftmax(x) : cnn.ops.softmax(x);
    await y.backward(cnn.tensor(gv, [rows, cols]));
    const want = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      let d = 0;
      for (let k = 0; k < cols; k++) d += log ? gv[i * cols + k] : gv[i * cols + k] * p[i * cols + k];
      for (let k = 0; k < cols; k++) {
        const j = i * cols + k;
        want[j] = log ? gv[j] - p[j] * d : p[j] * (gv[j] - d);
      }
    }
    assert.ok(x.grad);
    assertClose(await x.grad.toArray() as Float32Array, want, {
      rtol: 1e-4,
      atol: 1e-6,
      label: `log=${log}`,
    });
  }
});

Deno.test("dropout op: backward reuses the forward mask", async () => {
  const x = cnn.full([1001], 1);
  x.requiresGrad = true;
  const y = cnn.ops.dropout(x, { p: 0.3, training: true });
  await y.backward(cnn.full([1001], 1));
  assert.ok(x.grad);
  assert.deepEqual(await x.grad.toArray(), await y.toArray());
});
