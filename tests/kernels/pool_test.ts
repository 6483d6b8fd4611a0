import { type Heap, kernels as K, REF_KERNELS, type Runtime } from "../../runtime/mod.ts";
import { assertClose } from "../_util/assert_close.ts";
import { closeBackends, forEachBackend } from "../_util/backends.ts";
import { Buf } from "../_util/buffers.ts";
import { type FixtureArray, readFixture } from "../_util/fixture.ts";
import { dot, gradcheck } from "../_util/gradcheck.ts";
import { int, rng, uniform } from "../_util/rng.ts";
import { HEAP } from "../_util/ref_heap.ts";

type G = K.Pool2dGeometry;

/** torch's output size (ceil mode: the last window must start inside the input or left padding). */
function outSize(size: number, k: number, s: number, pad: number, dil: number, ceil: boolean): number {
  const span = size + 2 * pad - dil * (k - 1) - 1;
  let o = Math.floor((ceil ? span + s - 1 : span) / s) + 1;
  if (ceil && (o - 1) * s >= size + pad) o--;
  return o;
}

function geom(
  n: number,
  c: number,
  h: number,
  w: number,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
  ph: number,
  pw: number,
  dh: number,
  dw: number,
  ceil: boolean,
): G {
  return {
    n,
    c,
    h,
    w,
    kh,
    kw,
    strideH: sh,
    strideW: sw,
    padTop: ph,
    padBottom: ph,
    padLeft: pw,
    padRight: pw,
    dilationH: dh,
    dilationW: dw,
    outH: outSize(h, kh, sh, ph, dh, ceil),
    outW: outSize(w, kw, sw, pw, dw, ceil),
  };
}

function randomGeom(r: () => number, dilation: boolean): G {
  for (;;) {
    const kh = int(r, 1, 5), kw = int(r, 1, 5);
    const dh = dilation ? int(r, 1, 2) : 1, dw = dilation ? int(r, 1, 2) : 1;
    const g = geom(
      int(r, 1, 3),
      int(r, 1, 4),
      int(r, 1, 13),
      int(r, 1, 13),
      kh,
      kw,
      int(r, 1, 3),
      int(r, 1, 3),
      int(r, 0, kh >> 1),
      int(r, 0, kw >> 1),
      dh,
      dw,
      r() < 0.5,
    );
    if (g.outH >= 1 && g.outW >= 1) return g;
  }
}

const planes = (g: G) => g.n * g.c;
const xLen = (g: G) => planes(g) * g.h * g.w;
const yLen = (g: G) => planes(g) * g.outH * g.outW;
const maxArgs = (g: G) => [
  g.h,
  g.w,
  g.kh,
  g.kw,
  g.strideH,
  g.strideW,
  g.padTop,
  g.padLeft,
  g.dilationH,
  g.dilationW,
  g.outH,
  g.outW,
];
const avgArgs = (g: G, incl: boolean, div: number) => [
  g.h,
  g.w,
  g.kh,
  g.kw,
  g.strideH,
  g.strideW,
  g.padTop,
  g.padLeft,
  g.padBottom,
  g.padRight,
  g.outH,
  g.outW,
  incl ? 1 : 0,
  div,
];

function i32(rt: Runtime | { heap: Heap }, b: Buf): Int32Array {
  return rt.heap.i32.slice(b.ptr >> 2, (b.ptr >> 2) + b.length);
}

forEachBackend("max pool forward/backward match ref on random geometries", async (rt) => {
  const r = rng(11);
  // wide rows exercise the 4-output SIMD path (stride 1 and 2, dilation 1)
  const fixed = [
    geom(2, 3, 17, 29, 3, 3, 2, 2, 1, 1, 1, 1, true),
    geom(1, 2, 9, 31, 2, 3, 1, 1, 0, 1, 1, 1, false),
    geom(1, 1, 8, 40, 5, 4, 2, 2, 2, 2, 1, 1, true),
  ];
  for (let t = 0; t < 28; t++) {
    const g = fixed[t - 25] ?? randomGeom(r, true);
    const x = new Buf(rt, uniform(r, xLen(g)));
    const y = new Buf(rt, yLen(g)), idx = new Buf(rt, yLen(g));
    const yr = new Buf(rt, yLen(g)), idxr = new Buf(rt, yLen(g));
    await rt.enqueue(() => K.maxPool2dForward(rt, g, { x: x.ptr, y: y.ptr, indices: idx.ptr }));
    REF_KERNELS.max_pool2d_forward(rt.heap, x.ptr, yr.ptr, idxr.ptr, ...maxArgs(g), 0, planes(g) * g.outH);
    const label = `maxpool ${JSON.stringify(g)}`;
    assertClose(y.read(), yr.read(), { rtol: 0, atol: 0, label });
    assertClose(i32(rt, idx), i32(rt, idxr), { rtol: 0, atol: 0, label: `${label} idx` });
    const dy = new Buf(rt, uniform(r, yLen(g)));
    const dx = new Buf(rt, xLen(g)), dxr = new Buf(rt, xLen(g));
    await rt.enqueue(() => K.maxPool2dBackward(rt, g, { dy: dy.ptr, indices: idx.ptr, dx: dx.ptr }));
    REF_KERNELS.max_pool2d_backward(
      rt.heap,
      dy.ptr,
      idxr.ptr,
      dxr.ptr,
      g.h,
      g.w,
      g.outH,
      g.outW,
      0,
      planes(g),
    );
    assertClose(dx.read(), dxr.read(), { rtol: 1e-6, atol: 1e-6, label: `${label} dx` });
    for (const b of [x, y, idx, yr, idxr, dy, dx, dxr]) b.free(label);
  }
});

forEachBackend("avg pool forward/backward match ref on random geometries", async (rt) => {
  const r = rng(12);
  for (let t = 0; t < 30; t++) {
    const g = randomGeom(r, false);
    const incl = r() < 0.5, div = r() < 0.25 ? int(r, 1, 7) : 0;
    const o = { countIncludePad: incl, divisorOverride: div || undefined };
    const label = `avgpool ${JSON.stringify(g)} ${incl} ${div}`;
    const x = new Buf(rt, uniform(r, xLen(g)));
    const y = new Buf(rt, yLen(g)), yr = new Buf(rt, yLen(g));
    await rt.enqueue(() => K.avgPool2dForward(rt, g, { x: x.ptr, y: y.ptr }, o));
    REF_KERNELS.avg_pool2d_forward(rt.heap, x.ptr, yr.ptr, ...avgArgs(g, incl, div), 0, planes(g) * g.outH);
    assertClose(y.read(), yr.read(), { label });
    const dy = new Buf(rt, uniform(r, yLen(g)));
    const dx = new Buf(rt, xLen(g)), dxr = new Buf(rt, xLen(g));
    await rt.enqueue(() => K.avgPool2dBackward(rt, g, { dy: dy.ptr, dx: dx.ptr }, o));
    REF_KERNELS.avg_pool2d_backward(rt.heap, dy.ptr, dxr.ptr, ...avgArgs(g, incl, div), 0, planes(g));
    assertClose(dx.read(), dxr.read(), { label: `${label} dx` });
    for (const b of [x, y, yr, dy, dx, dxr]) b.free(label);
  }
});

forEachBackend("adaptive avg pool forward/backward match ref", async (rt) => {
  const r = rng(13);
  for (let t = 0; t < 20; t++) {
    const g = {
      n: int(r, 1, 3),
      c: int(r, 1, 3),
      h: int(r, 1, 11),
      w: int(r, 1, 11),
      outH: int(r, 1, 8),
      outW: int(r, 1, 8),
    };
    const P = g.n * g.c, label = `adaptive ${JSON.stringify(g)}`;
    const x = new Buf(rt, uniform(r, P * g.h * g.w));
    const y = new Buf(rt, P * g.outH * g.outW), yr = new Buf(rt, P * g.outH * g.outW);
    await rt.enqueue(() => K.adaptiveAvgPool2dForward(rt, g, { x: x.ptr, y: y.ptr }));
    REF_KERNELS.adaptive_avg_pool2d_forward(rt.heap, x.ptr, yr.ptr, g.h, g.w, g.outH, g.outW, 0, P * g.outH);
    assertClose(y.read(), yr.read(), { label });
    const dy = new Buf(rt, uniform(r, P * g.outH * g.outW));
    const dx = new Buf(rt, P * g.h * g.w), dxr = new Buf(rt, P * g.h * g.w);
    await rt.enqueue(() => K.adaptiveAvgPool2dBackward(rt, g, { dy: dy.ptr, dx: dx.ptr }));
    REF_KERNELS.adaptive_avg_pool2d_backward(rt.heap, dy.ptr, dxr.ptr, g.h, g.w, g.outH, g.outW, 0, P);
    assertClose(dx.read(), dxr.read(), { label: `${label} dx` });
    for (const b of [x, y, yr, dy, dx, dxr]) b.free(label);
  }
});

Deno.test("pool reference backwards match finite differences", () => {
  const r = rng(14);
  for (let t = 0; t < 8; t++) {
    const g = randomGeom(r, true);
    const label = `maxpool ${JSON.stringify(g)}`;
    // distinct values far apart so the argmax is stable under the perturbation
    const perm = [...Array(xLen(g)).keys()].sort(() => r() - 0.5);
    const x0 = Float32Array.from(perm, (v) => v * 0.1);
    const wv = uniform(r, yLen(g));
    const run = (xv: Float32Array, back: boolean): Float32Array => {
      const x = HEAP.put(xv), y = HEAP.out(yLen(g)), idx = HEAP.out(yLen(g));
      REF_KERNELS.max_pool2d_forward(HEAP.heap, x, y, idx, ...maxArgs(g), 0, planes(g) * g.outH);
      if (!back) return HEAP.get(y, yLen(g));
      const dy = HEAP.put(wv), dx = HEAP.out(xLen(g));
      REF_KERNELS.max_pool2d_backward(HEAP.heap, dy, idx, dx, g.h, g.w, g.outH, g.outW, 0, planes(g));
      return HEAP.get(dx, xLen(g));
    };
    const grad = run(x0, true);
    gradcheck((xv) => dot(wv, run(xv, false)), x0, grad, { eps: 1e-2, label });
    HEAP.reset();
  }
  for (let t = 0; t < 8; t++) {
    const g = randomGeom(r, false);
    const incl = r() < 0.5, div = r() < 0.3 ? int(r, 1, 7) : 0;
    const label = `avgpool ${JSON.stringify(g)}`;
    const x0 = uniform(r, xLen(g)), wv = uniform(r, yLen(g));
    const fwd = (xv: Float32Array) => {
      const x = HEAP.put(xv), y = HEAP.out(yLen(g));
      REF_KERNELS.avg_pool2d_forward(HEAP.heap, x, y, ...avgArgs(g, incl, div), 0, planes(g) * g.outH);
      return dot(wv, HEAP.get(y, yLen(g)));
    };
    const dy = HEAP.put(wv), dx = HEAP.out(xLen(g));
    REF_KERNELS.avg_pool2d_backward(HEAP.heap, dy, dx, ...avgArgs(g, incl, div), 0, planes(g));
    gradcheck(fwd, x0, HEAP.get(dx, xLen(g)), { label });
    HEAP.reset();
  }
  for (const [h, w, oh, ow] of [[7, 7, 3, 3], [5, 5, 7, 7], [6, 5, 4, 3]]) {
    const P = 2, xl = P * h * w, yl = P * oh * ow;
    const x0 = uniform(r, xl), wv = uniform(r, yl);
    const fwd = (xv: Float32Array) => {
      const x = HEAP.put(xv), y = HEAP.out(yl);
      REF_KERNELS.adaptive_avg_pool2d_forward(HEAP.heap, x, y, h, w, oh, ow, 0, P * oh);
      return dot(wv, HEAP.get(y, yl));
    };
    const dy = HEAP.put(wv), dx = HEAP.out(xl);
    REF_KERNELS.adaptive_avg_pool2d_backward(HEAP.heap, dy, dx, h, w, oh, ow, 0, P);
    gradcheck(fwd, x0, HEAP.get(dx, xl), { label: `adaptive ${h}x${w}->${oh}x${ow}` });
    HEAP.reset();
  }
});

const FIX = readFixture(Deno.readFileSync(new URL("../fixtures/pool_norm.safetensors", import.meta.url)));
function fx(name: string): FixtureArray {
  const a = FIX.get(name);
  if (!a) throw new Error(`fixture ${name} missing`);
  return a;
}

forEachBackend("pooling matches torch fixtures (ceil mode, count_include_pad, adaptive)", async (rt) => {
  type Case = [string, number, number, number, number, number, number, boolean, number];
  // name, kh, kw, sh, sw, pad h/w, dilation, countIncludePad, divisorOverride
  const avgCases: Case[] = [
    ["avg_ceil_incl", 3, 3, 2, 2, 1, 1, true, 0],
    ["avg_ceil_excl", 3, 3, 2, 2, 1, 1, false, 0],
    ["avg_ceil_div", 3, 2, 2, 3, 1, 1, true, 5],
    ["avg_k2s2_ceil", 2, 2, 2, 2, 0, 1, true, 0],
    ["max_ceil_dil", 3, 3, 2, 2, 1, 2, true, 0],
  ];
  for (const [name, kh, kw, sh, sw, p, d, incl, div] of avgCases) {
    const xa = fx(`${name}.x`), ya = fx(`${name}.y`);
    const [n, c, h, w] = xa.shape;
    const g = geom(n, c, h, w, kh, kw, sh, sw, p, p, d, d, true);
    if (g.outH !== ya.shape[2] || g.outW !== ya.shape[3]) {
      throw new Error(`${name}: out ${g.outH}x${g.outW} != torch ${ya.shape}`);
    }
    const x = new Buf(rt, xa.data), y = new Buf(rt, yLen(g)), dy = new Buf(rt, fx(`${name}.dy`).data);
    const dx = new Buf(rt, xLen(g)), idx = new Buf(rt, yLen(g));
    if (name.startsWith("max")) {
      await rt.enqueue(() => K.maxPool2dForward(rt, g, { x: x.ptr, y: y.ptr, indices: idx.ptr }));
      await rt.enqueue(() => K.maxPool2dBackward(rt, g, { dy: dy.ptr, indices: idx.ptr, dx: dx.ptr }));
      assertClose(i32(rt, idx), fx(`${name}.indices`).data, { rtol: 0, atol: 0, label: `${name} idx` });
    } else {
      const o = { countIncludePad: incl, divisorOverride: div || undefined };
      await rt.enqueue(() => K.avgPool2dForward(rt, g, { x: x.ptr, y: y.ptr }, o));
      await rt.enqueue(() => K.avgPool2dBackward(rt, g, { dy: dy.ptr, dx: dx.ptr }, o));
    }
    assertClose(y.read(), ya.data, { label: `${name} y` });
    assertClose(dx.read(), fx(`${name}.dx`).data, { label: `${name} dx` });
    for (const b of [x, y, dy, dx, idx]) b.free(name);
  }
  for (const name of ["adaptive_7_3", "adaptive_5_7", "adaptive_6x5_4x3"]) {
    const xa = fx(`${name}.x`), ya = fx(`${name}.y`);
    const [n, c, h, w] = xa.shape;
    const g = { n, c, h, w, outH: ya.shape[2], outW: ya.shape[3] };
    const x = new Buf(rt, xa.data), y = new Buf(rt, ya.data.length), dy = new Buf(rt, fx(`${name}.dy`).data);
    const dx = new Buf(rt, xa.data.length);
    await rt.enqueue(() => K.adaptiveAvgPool2dForward(rt, g, { x: x.ptr, y: y.ptr }));
    await rt.enqueue(() => K.adaptiveAvgPool2dBackward(rt, g, { dy: dy.ptr, dx: dx.ptr }));
    assertClose(y.read(), ya.data, { label: `${name} y` });
    assertClose(dx.read(), fx(`${name}.dx`).data, { label: `${name} dx` });
    for (const b of [x, y, dy, dx]) b.free(name);
  }
});

Deno.test("close backends (pool)", closeBackends);
