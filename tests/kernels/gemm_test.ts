import * as K from "../../runtime/kernels/mod.ts";
import { assertClose } from "../_util/assert_close.ts";
import { closeBackends, forEachBackend } from "../_util/backends.ts";
import { Buf } from "../_util/buffers.ts";
import { int, rng, uniform } from "../_util/rng.ts";

function naive(
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  lda: number,
  ta: boolean,
  b: Float32Array,
  ldb: number,
  tb: boolean,
  c0: Float32Array,
  ldc: number,
  acc: boolean,
): Float32Array {
  const c = c0.slice();
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        s += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
      }
      c[i * ldc + j] = acc ? c[i * ldc + j] + s : s;
    }
  }
  return c;
}

forEachBackend("gemm: random shapes, every transpose, padded leading dims, accumulate", async (rt) => {
  const r = rng(7);
  const shapes: [number, number, number][] = [[1, 1, 1], [6, 8, 3], [7, 9, 5], [1, 300, 17], [100, 3, 260], [
    97,
    257,
    13,
  ], [13, 11, 0]];
  for (let t = 0; t < 6; t++) shapes.push([int(r, 1, 120), int(r, 1, 300), int(r, 1, 300)]);
  for (const [m, n, k] of shapes) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const acc = int(r, 0, 1) === 1;
        const lda = (ta ? m : k) + int(r, 0, 3), ldb = (tb ? k : n) + int(r, 0, 3), ldc = n + int(r, 0, 3);
        const a = uniform(r, Math.max(1, (ta ? k : m) * lda)),
          b = uniform(r, Math.max(1, (tb ? n : k) * ldb));
        const c0 = uniform(r, m * ldc);
        const A = new Buf(rt, a), B = new Buf(rt, b), C = new Buf(rt, c0);
        await rt.enqueue(() =>
          K.gemm(rt, {
            m,
            n,
            k,
            a: A.ptr,
            b: B.ptr,
            c: C.ptr,
            transA: ta,
            transB: tb,
            lda,
            ldb,
            ldc,
            accumulate: acc,
          })
        );
        const want = naive(m, n, k, a, lda, ta, b, ldb, tb, c0, ldc, acc);
        const label = `gemm ${m}x${n}x${k} ta=${ta} tb=${tb} acc=${acc}`;
        assertClose(C.read(), want, { rtol: 1e-4, atol: 1e-4 * Math.sqrt(k + 1), label });
        for (const x of [A, B, C]) x.free(label);
      }
    }
  }
});

Deno.test("close backends (gemm)", closeBackends);
