import { kernels as K, REF_KERNELS, type Runtime } from "../../runtime/mod.ts";
import { assertClose } from "../_util/assert_close.ts";
import { closeBackends, forEachBackend } from "../_util/backends.ts";
import { Buf } from "../_util/buffers.ts";
import { int, rng, uniform } from "../_util/rng.ts";

const SIZES = [1, 3, 4, 5, 7, 17, 1023];

/** Runs a launcher on `rt` and the reference kernel on copies, then compares the written buffers. */
async function compare(
  rt: Runtime,
  label: string,
  inputs: Float32Array[],
  launch: (ptrs: number[]) => Promise<void>,
  ref: (ptrs: number[]) => void,
  written: number[],
  tol = { rtol: 1e-6, atol: 1e-6 },
): Promise<void> {
  const a = inputs.map((d) => new Buf(rt, d));
  const b = inputs.map((d) => new Buf(rt, d));
  await rt.enqueue(() => launch(a.map((x) => x.ptr)));
  ref(b.map((x) => x.ptr));
  for (const w of written) assertClose(a[w].read(), b[w].read(), { ...tol, label: `${label} buf ${w}` });
  for (const x of [...a, ...b]) x.free(label);
}

forEachBackend("fill/scale/axpy/addScaled/mul match ref on odd sizes", async (rt) => {
  const r = rng(11);
  const h = rt.heap;
  for (const n of [...SIZES, int(r, 1, 5000)]) {
    const x = uniform(r, n), y = uniform(r, n), z = uniform(r, n);
    const exact = { rtol: 0, atol: 0 };
    await compare(
      rt,
      `fill n=${n}`,
      [y],
      ([py]) => K.fill(rt, { y: py, len: n, value: 2.5 }),
      ([py]) => REF_KERNELS.fill(h, py, 2.5, 0, n),
      [0],
      exact,
    );
    await compare(
      rt,
      `scale n=${n}`,
      [x, y],
      ([px, py]) => K.scale(rt, { x: px, y: py, len: n, alpha: -0.3 }),
      ([
        px,
        py,
      ]) => REF_KERNELS.scale(h, px, py, Math.fround(-0.3), 0, n),
      [1],
    );
    await compare(
      rt,
      `scale in place n=${n}`,
      [x],
      ([px]) => K.scale(rt, { x: px, y: px, len: n, alpha: 3 }),
      ([
        px,
      ]) => REF_KERNELS.scale(h, px, px, 3, 0, n),
      [0],
    );
    await compare(
      rt,
      `axpy n=${n}`,
      [x, y],
      ([px, py]) => K.axpy(rt, { x: px, y: py, len: n, alpha: 0.7 }),
      ([
        px,
        py,
      ]) => REF_KERNELS.axpy(h, px, py, Math.fround(0.7), 0, n),
      [1],
    );
    await compare(
      rt,
      `addScaled n=${n}`,
      [x, y, z],
      ([pa, pb, py]) => K.addScaled(rt, { a: pa, b: pb, y: py, len: n, alpha: 0.5, beta: -2 }),
      ([pa, pb, py]) => REF_KERNELS.add_scaled(h, pa, pb, py, 0.5, -2, 0, 0, n),
      [2],
    );
    await compare(
      rt,
      `addScaled with relu n=${n}`,
      [x, y, z],
      ([pa, pb, py]) => K.addScaled(rt, { a: pa, b: pb, y: py, len: n, alpha: 0.5, beta: -2, relu: true }),
      ([pa, pb, py]) => REF_KERNELS.add_scaled(h, pa, pb, py, 0.5, -2, 1, 0, n),
      [2],
    );
    await compare(
      rt,
      `addScaled in place n=${n}`,
      [x, y],
      ([pa, pb]) => K.addScaled(rt, { a: pa, b: pb, y: pa, len: n, alpha: 1, beta: 0.25 }),
      ([pa, pb]) => REF_KERNELS.add_scaled(h, pa, pb, pa, 1, 0.25, 0, 0, n),
      [0],
    );
    await compare(
      rt,
      `mul n=${n}`,
      [x, y, z],
      ([pa, pb, py]) => K.mul(rt, { a: pa, b: pb, y: py, len: n }),
      ([
        pa,
        pb,
        py,
      ]) => REF_KERNELS.mul(h, pa, pb, py, 0, n),
      [2],
      exact,
    );
  }
});

forEachBackend("biasAdd matches ref on odd shapes (inner 1 and > 1)", async (rt) => {
  const r = rng(12);
  for (
    const [outer, channels, inner] of [[1, 1, 1], [3, 5, 1], [2, 7, 1], [2, 3, 5], [3, 4, 9], [1, 17, 33]]
  ) {
    const n = outer * channels * inner;
    const y = uniform(r, n), bias = uniform(r, channels);
    await compare(
      rt,
      `biasAdd ${outer}x${channels}x${inner}`,
      [y, bias],
      ([py, pb]) => K.biasAdd(rt, { y: py, bias: pb, outer, channels, inner }),
      ([py, pb]) => REF_KERNELS.bias_add(rt.heap, py, pb, channels, inner, 0, n),
      [0],
      { rtol: 0, atol: 0 },
    );
  }
});

forEachBackend("sumToChannels matches ref, with and without accumulate", async (rt) => {
  const r = rng(13);
  for (
    const [outer, channels, inner] of [[1, 1, 1], [1, 1, 37], [5, 3, 1], [7, 9, 1], [3, 5, 7], [2, 6, 16]]
  ) {
    const x = uniform(r, outer * channels * inner), y = uniform(r, channels);
    for (const accumulate of [false, true]) {
      await compare(
        rt,
        `sumToChannels ${outer}x${channels}x${inner} acc=${accumulate}`,
        [x, y],
        ([px, py]) => K.sumToChannels(rt, { x: px, y: py, outer, channels, inner, accumulate }),
        ([px, py]) =>
          REF_KERNELS.sum_to_channels(
            rt.heap,
            px,
            py,
            outer,
            channels,
            inner,
            accumulate ? 1 : 0,
            0,
            channels,
          ),
        [1],
        { rtol: 1e-5, atol: 1e-5 },
      );
    }
  }
});

forEachBackend("copyStrided matches ref, copy and accumulate", async (rt) => {
  const r = rng(14);
  for (
    const [rows, cols, srcStride, dstStride] of [[1, 1, 1, 1], [3, 5, 5, 11], [4, 7, 9, 7], [5, 13, 20, 30]]
  ) {
    const src = uniform(r, rows * srcStride), dst = uniform(r, rows * dstStride);
    for (const accumulate of [false, true]) {
      await compare(
        rt,
        `copyStrided ${rows}x${cols} acc=${accumulate}`,
        [src, dst],
        ([ps, pd]) => K.copyStrided(rt, { src: ps, srcStride, dst: pd, dstStride, rows, cols, accumulate }),
        ([ps, pd]) =>
          REF_KERNELS.copy_strided(
            rt.heap,
            ps,
            srcStride,
            pd,
            dstStride,
            cols,
            accumulate ? 1 : 0,
            0,
            rows * cols,
          ),
        [1],
        { rtol: 0, atol: 0 },
      );
    }
  }
});

Deno.test("close backends (elementwise_more)", closeBackends);
