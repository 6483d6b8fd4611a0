import assert from "node:assert/strict";
import { createRuntime, kernels as K, REF_KERNELS } from "../../runtime/mod.ts";
import { assertClose } from "../_util/assert_close.ts";
import { closeBackends, forEachBackend } from "../_util/backends.ts";
import { Buf } from "../_util/buffers.ts";
import { dot, gradcheck } from "../_util/gradcheck.ts";
import { int, rng, uniform } from "../_util/rng.ts";
import { HEAP } from "../_util/ref_heap.ts";

const SHAPES: [number, number][] = [[1, 1], [1, 3], [2, 4], [3, 5], [5, 17], [4, 1000], [7, 33]];
const TOL = { rtol: 2e-6, atol: 1e-6 };

function labelsFor(r: () => number, rows: number, cols: number): Int32Array {
  return Int32Array.from({ length: rows }, () => int(r, 0, cols - 1));
}

function putLabels(rt: { heap: { alloc(n: number): number; i32: Int32Array } }, l: Int32Array): number {
  const p = rt.heap.alloc(l.length * 4);
  rt.heap.i32.set(l, p >> 2);
  return p;
}

forEachBackend("softmax/logSoftmax forward and backward match ref", async (rt) => {
  const r = rng(21);
  for (const [rows, cols] of SHAPES) {
    const n = rows * cols;
    const x = new Buf(rt, uniform(r, n, -8, 8));
    const dy = new Buf(rt, uniform(r, n));
    for (
      const [fwd, bwd, lf, lb] of [
        ["softmax_forward", "softmax_backward", K.softmaxForward, K.softmaxBackward],
        ["log_softmax_forward", "log_softmax_backward", K.logSoftmaxForward, K.logSoftmaxBackward],
      ] as const
    ) {
      const y = new Buf(rt, n), yRef = new Buf(rt, n), dx = new Buf(rt, n), dxRef = new Buf(rt, n);
      await rt.enqueue(() => lf(rt, { x: x.ptr, y: y.ptr, rows, cols }));
      REF_KERNELS[fwd](rt.heap, x.ptr, yRef.ptr, cols, 0, rows);
      assertClose(y.read(), yRef.read(), { ...TOL, label: `${fwd} ${rows}x${cols}` });
      await rt.enqueue(() => lb(rt, { y: yRef.ptr, dy: dy.ptr, dx: dx.ptr, rows, cols }));
      REF_KERNELS[bwd](rt.heap, yRef.ptr, dy.ptr, dxRef.ptr, cols, 0, rows);
      assertClose(dx.read(), dxRef.read(), { rtol: 1e-5, atol: 1e-5, label: `${bwd} ${rows}x${cols}` });
      for (const b of [y, yRef, dx, dxRef]) b.free(fwd);
    }
    x.free();
    dy.free();
  }
});

forEachBackend("softmax handles extreme inputs: large, -inf, equal", async (rt) => {
  const cols = 7;
  const rows = [
    [1000, 999, 0, -1000, -Infinity, 88, 89],
    [-Infinity, -Infinity, 0, -Infinity, -Infinity, -Infinity, -Infinity],
    [3, 3, 3, 3, 3, 3, 3],
    [-200, -100, -150, -101, -300, -1e30, -100.5],
  ];
  const x = new Buf(rt, rows.flat());
  const y = new Buf(rt, x.length), yRef = new Buf(rt, x.length), ly = new Buf(rt, x.length);
  await rt.enqueue(() => K.softmaxForward(rt, { x: x.ptr, y: y.ptr, rows: rows.length, cols }));
  await rt.enqueue(() => K.logSoftmaxForward(rt, { x: x.ptr, y: ly.ptr, rows: rows.length, cols }));
  REF_KERNELS.softmax_forward(rt.heap, x.ptr, yRef.ptr, cols, 0, rows.length);
  const got = y.read();
  assert.ok(got.every(Number.isFinite), `softmax gave non-finite values: ${got}`);
  assertClose(got, yRef.read(), { ...TOL, label: "softmax extremes" });
  const lg = ly.read();
  assertClose([lg[0], lg[1], lg[7 + 2], lg[14]], [-0.31326169, -1.31326169, 0, Math.log(1 / 7)], TOL);
  for (const b of [x, y, yRef, ly]) b.free();
});

forEachBackend(
  "SIMD exp (through log_softmax_backward) is within 2 ulp, 0 far below, saturates far above",
  async (rt, kind) => {
    // rows [t, 0] with dy = [0, -1]: dx[0] = 0 - exp(t) * -1 = exp(t) exactly
    const ts: number[] = [];
    for (let t = -100; t <= 100; t += 0.0137) ts.push(Math.fround(t));
    ts.push(-Infinity, -1e30, 1e30, 0, -0, 1e-8);
    const rows = ts.length;
    const y = new Buf(rt, ts.flatMap((t) => [t, 0]));
    const dy = new Buf(rt, ts.flatMap(() => [0, -1]));
    const dx = new Buf(rt, 2 * rows);
    await rt.enqueue(() => K.logSoftmaxBackward(rt, { y: y.ptr, dy: dy.ptr, dx: dx.ptr, rows, cols: 2 }));
    const got = dx.read();
    for (let i = 0; i < rows; i++) {
      const t = ts[i], e = got[2 * i], want = Math.exp(t);
      assert.ok(!Number.isNaN(e), `exp(${t}) is NaN`);
      if (want < 1.2e-38) assert.ok(e >= 0 && e < 1.2e-38, `exp(${t}) = ${e}, want ~0`);
      else if (t > 88.37) {
        // the reference uses Math.exp; the Wasm approximation saturates
        if (kind !== "ref") assert.ok(e > 2.3e38 && e < 2.5e38, `exp(${t}) = ${e}, want ~2.4e38`);
      } else {
        const ulp = 2 ** (Math.floor(Math.log2(want)) - 23);
        assert.ok(
          Math.abs(e - want) <= 2 * ulp,
          `exp(${t}) = ${e}, want ${want} (${Math.abs(e - want) / ulp} ulp)`,
        );
      }
    }
    for (const b of [y, dy, dx]) b.free();
  },
);

forEachBackend("crossEntropy forward/backward match ref, with label smoothing", async (rt) => {
  const r = rng(22);
  for (const [rows, cols] of SHAPES) {
    const n = rows * cols;
    const labels = labelsFor(r, rows, cols);
    const pl = putLabels(rt, labels);
    const logits = new Buf(rt, uniform(r, n, -5, 5));
    for (const smoothing of [0, 0.1]) {
      const lp = new Buf(rt, n),
        lpRef = new Buf(rt, n),
        loss = new Buf(rt, rows),
        lossRef = new Buf(rt, rows);
      await rt.enqueue(() =>
        K.crossEntropyForward(rt, {
          logits: logits.ptr,
          labels: pl,
          logProbs: lp.ptr,
          losses: loss.ptr,
          rows,
          cols,
        }, { smoothing })
      );
      REF_KERNELS.cross_entropy_forward(
        rt.heap,
        logits.ptr,
        pl,
        lpRef.ptr,
        lossRef.ptr,
        cols,
        smoothing,
        0,
        rows,
      );
      const label = `CE ${rows}x${cols} s=${smoothing}`;
      assertClose(lp.read(), lpRef.read(), { ...TOL, label: `${label} logp` });
      assertClose(loss.read(), lossRef.read(), { rtol: 1e-5, atol: 1e-5, label: `${label} loss` });
      const dl = new Buf(rt, n), dlRef = new Buf(rt, n);
      const scale = 1 / rows;
      await rt.enqueue(() =>
        K.crossEntropyBackward(rt, { logProbs: lpRef.ptr, labels: pl, dlogits: dl.ptr, rows, cols }, {
          smoothing,
          scale,
        })
      );
      REF_KERNELS.cross_entropy_backward(rt.heap, lpRef.ptr, pl, dlRef.ptr, cols, smoothing, scale, 0, rows);
      assertClose(dl.read(), dlRef.read(), { rtol: 1e-5, atol: 1e-6, label: `${label} dlogits` });
      for (const b of [lp, lpRef, loss, lossRef, dl, dlRef]) b.free(label);
    }
    logits.free();
    rt.heap.free(pl);
  }
});

Deno.test("crossEntropy with label smoothing matches torch's formula on a hand example", () => {
  // logits [1, 2, 3], label 0, s = 0.2: logp = x - logsumexp(x)
  const lse = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
  const logp = [1 - lse, 2 - lse, 3 - lse];
  const want = 0.8 * -logp[0] + 0.2 * -(logp[0] + logp[1] + logp[2]) / 3;
  const x = HEAP.put([1, 2, 3]), lab = HEAP.put([0]), lp = HEAP.out(3), loss = HEAP.out(1);
  HEAP.heap.i32[lab >> 2] = 0;
  REF_KERNELS.cross_entropy_forward(HEAP.heap, x, lab, lp, loss, 3, 0.2, 0, 1);
  assertClose(HEAP.get(loss, 1), [want], TOL);
  HEAP.reset();
});

Deno.test("softmax/logSoftmax/crossEntropy reference backward matches finite differences", () => {
  const r = rng(23);
  const [rows, cols] = [3, 6];
  const n = rows * cols;
  const x0 = uniform(r, n, -2, 2);
  const w = uniform(r, n);
  for (
    const [fwd, bwd] of [["softmax_forward", "softmax_backward"], [
      "log_softmax_forward",
      "log_softmax_backward",
    ]]
  ) {
    const loss = (xv: Float32Array): number => {
      const x = HEAP.put(xv), y = HEAP.out(n);
      REF_KERNELS[fwd](HEAP.heap, x, y, cols, 0, rows);
      return dot(w, HEAP.get(y, n));
    };
    const x = HEAP.put(x0), y = HEAP.out(n), dy = HEAP.put(w), dx = HEAP.out(n);
    REF_KERNELS[fwd](HEAP.heap, x, y, cols, 0, rows);
    REF_KERNELS[bwd](HEAP.heap, y, dy, dx, cols, 0, rows);
    gradcheck(loss, x0, HEAP.get(dx, n), { label: bwd });
    HEAP.reset();
  }
  const labels = labelsFor(r, rows, cols);
  for (const smoothing of [0, 0.1, 1]) {
    const wl = uniform(r, rows);
    const put = (): number => {
      const p = HEAP.out(rows);
      HEAP.heap.i32.set(labels, p >> 2);
      return p;
    };
    const loss = (xv: Float32Array): number => {
      const x = HEAP.put(xv), lab = put(), lp = HEAP.out(n), l = HEAP.out(rows);
      REF_KERNELS.cross_entropy_forward(HEAP.heap, x, lab, lp, l, cols, smoothing, 0, rows);
      return dot(wl, HEAP.get(l, rows));
    };
    const x = HEAP.put(x0), lab = put(), lp = HEAP.out(n), l = HEAP.out(rows), dl = HEAP.out(n);
    REF_KERNELS.cross_entropy_forward(HEAP.heap, x, lab, lp, l, cols, smoothing, 0, rows);
    // a per-row weight is a per-row scale: check row by row
    const grad = new Float32Array(n);
    for (let i = 0; i < rows; i++) {
      REF_KERNELS.cross_entropy_backward(HEAP.heap, lp, lab, dl, cols, smoothing, wl[i], i, i + 1);
    }
    grad.set(HEAP.get(dl, n));
    gradcheck(loss, x0, grad, { label: `crossEntropy s=${smoothing}` });
    HEAP.reset();
  }
});

Deno.test("the plain-SIMD variant (mul + add instead of relaxed madd) matches ref: softmax, log-softmax, axpy", async () => {
  const bytes = await Deno.readFile(new URL("../../runtime/_wasm/cnnzoo_simd.wasm", import.meta.url));
  const rt = await createRuntime({ backend: "wasm", threads: 1, module: bytes });
  try {
    const r = rng(24);
    const [rows, cols] = [5, 101];
    const n = rows * cols;
    const x = new Buf(rt, uniform(r, n, -20, 20));
    for (const k of ["softmax_forward", "log_softmax_forward"]) {
      const y = new Buf(rt, n), yRef = new Buf(rt, n);
      await rt.run(k, [x.ptr, y.ptr, cols], { units: rows });
      REF_KERNELS[k](rt.heap, x.ptr, yRef.ptr, cols, 0, rows);
      assertClose(y.read(), yRef.read(), { ...TOL, label: `plain ${k}` });
      y.free();
      yRef.free();
    }
    const y0 = uniform(r, n);
    const y = new Buf(rt, y0), yRef = new Buf(rt, y0);
    await rt.run("axpy", [x.ptr, y.ptr, 0.3], { units: n });
    REF_KERNELS.axpy(rt.heap, x.ptr, yRef.ptr, Math.fround(0.3), 0, n);
    assertClose(y.read(), yRef.read(), { rtol: 1e-6, atol: 1e-6, label: "plain axpy" });
    for (const b of [x, y, yRef]) b.free();
  } finally {
    await rt.close();
  }
});

Deno.test("close backends (softmax)", closeBackends);
