import * as K from "../../runtime/kernels/mod.ts";
import { REF_KERNELS } from "../../runtime/mod.ts";
import { assertClose } from "../_util/assert_close.ts";
import { closeBackends, forEachBackend } from "../_util/backends.ts";
import { Buf } from "../_util/buffers.ts";
import { convBackward, convForward, type ConvGeom, geom } from "../_util/conv_naive.ts";
import { dot, gradcheck } from "../_util/gradcheck.ts";
import { int, rng, uniform } from "../_util/rng.ts";

function randomGeom(r: ReturnType<typeof rng>): ConvGeom {
  for (;;) {
    const groups = [1, 1, 2, 3][int(r, 0, 3)];
    const depthwise = int(r, 0, 5) === 0;
    const cig = depthwise ? 1 : int(r, 1, 4), cog = int(r, 1, 4);
    const kh = int(r, 1, 5), kw = int(r, 1, 5);
    const g = geom({
      n: int(r, 1, 3),
      cIn: depthwise ? 4 : cig * groups,
      h: int(r, 1, 11),
      w: int(r, 1, 11),
      cOut: depthwise ? 4 * cog : cog * groups,
      kh,
      kw,
      strideH: int(r, 1, 3),
      strideW: int(r, 1, 3),
      padTop: int(r, 0, 2),
      padBottom: int(r, 0, 2),
      padLeft: int(r, 0, 2),
      padRight: int(r, 0, 2),
      dilationH: int(r, 1, 3),
      dilationW: int(r, 1, 2),
      groups: depthwise ? 4 : groups,
    });
    if (g.outH >= 1 && g.outW >= 1) return g;
  }
}

/** A 1x1 convolution without padding, dilation or groups (fields overridden per case). */
const PLAIN_1X1 = {
  kh: 1,
  kw: 1,
  strideH: 1,
  strideW: 1,
  padTop: 0,
  padBottom: 0,
  padLeft: 0,
  padRight: 0,
  dilationH: 1,
  dilationW: 1,
  groups: 1,
};

const FIXED: ConvGeom[] = [
  // 1x1 stride 2, one output tile and 2,178 positions: the weight gradient splits the positions across
  // threads (partial sums added afterwards)
  geom({ ...PLAIN_1X1, n: 2, cIn: 16, h: 65, w: 65, cOut: 8, strideH: 2, strideW: 2 }),
  geom({ ...PLAIN_1X1, n: 2, cIn: 3, h: 9, w: 9, cOut: 4 }),
  geom({
    n: 1,
    cIn: 3,
    h: 31,
    w: 29,
    cOut: 5,
    kh: 11,
    kw: 11,
    strideH: 4,
    strideW: 4,
    padTop: 2,
    padBottom: 2,
    padLeft: 2,
    padRight: 2,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
  }),
  geom({
    n: 1,
    cIn: 4,
    h: 9,
    w: 8,
    cOut: 6,
    kh: 1,
    kw: 7,
    strideH: 1,
    strideW: 1,
    padTop: 0,
    padBottom: 0,
    padLeft: 3,
    padRight: 3,
    dilationH: 1,
    dilationW: 1,
    groups: 2,
  }),
  geom({
    n: 1,
    cIn: 4,
    h: 9,
    w: 8,
    cOut: 4,
    kh: 7,
    kw: 1,
    strideH: 2,
    strideW: 1,
    padTop: 3,
    padBottom: 3,
    padLeft: 0,
    padRight: 0,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
  }),
  geom({
    n: 2,
    cIn: 64,
    h: 5,
    w: 5,
    cOut: 64,
    kh: 3,
    kw: 3,
    strideH: 1,
    strideW: 1,
    padTop: 1,
    padBottom: 1,
    padLeft: 1,
    padRight: 1,
    dilationH: 1,
    dilationW: 1,
    groups: 32,
  }),
  geom({
    n: 1,
    cIn: 3,
    h: 20,
    w: 17,
    cOut: 100,
    kh: 3,
    kw: 3,
    strideH: 1,
    strideW: 1,
    padTop: 1,
    padBottom: 1,
    padLeft: 1,
    padRight: 1,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
  }),
];

forEachBackend("conv2d forward and both backwards match the direct convolution", async (rt) => {
  const r = rng(11);
  const cases = [...FIXED, ...Array.from({ length: 24 }, () => randomGeom(r))];
  for (const g of cases) {
    const label = JSON.stringify(g);
    const xs = g.n * g.cIn * g.h * g.w, ws = g.cOut * (g.cIn / g.groups) * g.kh * g.kw;
    const ys = g.n * g.cOut * g.outH * g.outW;
    const x = uniform(r, xs), w = uniform(r, ws), bias = uniform(r, g.cOut), dy = uniform(r, ys);
    const X = new Buf(rt, x),
      W = new Buf(rt, w),
      B = new Buf(rt, bias),
      Y = new Buf(rt, ys),
      Yr = new Buf(rt, ys);
    const relu = int(r, 0, 1) === 1;
    await rt.enqueue(() => K.conv2dForward(rt, g, { x: X.ptr, w: W.ptr, bias: B.ptr, y: Y.ptr }));
    await rt.enqueue(() => K.conv2dForward(rt, g, { x: X.ptr, w: W.ptr, bias: 0, y: Yr.ptr, relu }));
    const want = convForward(g, x, w, bias);
    const K1 = (g.cIn / g.groups) * g.kh * g.kw;
    const tol = { rtol: 1e-4, atol: 2e-5 * Math.sqrt(K1 + 1), label: `forward ${label}` };
    assertClose(Y.read(), want, tol);
    const wantRelu = convForward(g, x, w).map((v) => relu ? Math.max(v, 0) : v);
    assertClose(Yr.read(), wantRelu, { ...tol, label: `forward relu=${relu} no bias ${label}` });
    const DY = new Buf(rt, dy), DX = new Buf(rt, uniform(r, xs)), DW = new Buf(rt, uniform(r, ws));
    const DB = new Buf(rt, uniform(r, g.cOut));
    await rt.enqueue(() => K.conv2dBackwardInput(rt, g, { dy: DY.ptr, w: W.ptr, dx: DX.ptr }));
    await rt.enqueue(() =>
      K.conv2dBackwardWeight(rt, g, { dy: DY.ptr, x: X.ptr, dw: DW.ptr, dbias: DB.ptr })
    );
    const ref = convBackward(g, x, w, dy);
    const big = Math.sqrt(g.n * g.outH * g.outW + 1);
    assertClose(DX.read(), ref.dx, {
      rtol: 1e-4,
      atol: 2e-5 * Math.sqrt(g.cOut * g.kh * g.kw + 1),
      label: `dx ${label}`,
    });
    assertClose(DW.read(), ref.dw, { rtol: 1e-4, atol: 2e-5 * big, label: `dw ${label}` });
    assertClose(DB.read(), ref.db, { rtol: 1e-4, atol: 2e-5 * big, label: `db ${label}` });
    for (const b of [X, W, B, Y, Yr, DY, DX, DW, DB]) b.free(label);
  }
});

forEachBackend("conv2d in chunks of one image equals the direct convolution", async (rt) => {
  const old = K.setConvChunkBytes(1);
  try {
    const r = rng(12);
    for (let t = 0; t < 6; t++) {
      const g = { ...randomGeom(r), n: 3 };
      const xs = g.n * g.cIn * g.h * g.w, ws = g.cOut * (g.cIn / g.groups) * g.kh * g.kw;
      const ys = g.n * g.cOut * g.outH * g.outW;
      const x = uniform(r, xs), w = uniform(r, ws), dy = uniform(r, ys);
      const X = new Buf(rt, x), W = new Buf(rt, w), Y = new Buf(rt, ys), DY = new Buf(rt, dy);
      const DX = new Buf(rt, xs), DW = new Buf(rt, ws);
      await rt.enqueue(async () => {
        await K.conv2dForward(rt, g, { x: X.ptr, w: W.ptr, bias: 0, y: Y.ptr });
        await K.conv2dBackwardInput(rt, g, { dy: DY.ptr, w: W.ptr, dx: DX.ptr });
        await K.conv2dBackwardWeight(rt, g, { dy: DY.ptr, x: X.ptr, dw: DW.ptr, dbias: 0 });
      });
      const ref = convBackward(g, x, w, dy);
      const label = `chunked ${JSON.stringify(g)}`;
      assertClose(Y.read(), convForward(g, x, w), { rtol: 1e-4, atol: 1e-4, label });
      assertClose(DX.read(), ref.dx, { rtol: 1e-4, atol: 1e-4, label });
      assertClose(DW.read(), ref.dw, { rtol: 1e-4, atol: 1e-4, label });
      for (const b of [X, W, Y, DY, DX, DW]) b.free(label);
    }
  } finally {
    K.setConvChunkBytes(old);
  }
});

/** One conv2d_gemm call: a group of cig of the cIn channels, images of the chunk [nimg, cIn, h, w]. */
interface ImplicitCase {
  nimg: number;
  cIn: number;
  cig: number;
  c0: number;
  m: number;
  h: number;
  w: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  pt: number;
  pl: number;
  pb: number;
  pr: number;
  dh: number;
  dw: number;
}

function implicitCase(
  r: () => number,
  o: Partial<ImplicitCase> = {},
): ImplicitCase & { outH: number; outW: number } {
  for (;;) {
    const cig = o.cig ?? int(r, 1, 5);
    const c = {
      nimg: int(r, 1, 3),
      cIn: cig,
      cig,
      c0: 0,
      m: int(r, 1, 20),
      h: int(r, 1, 21),
      w: int(r, 1, 21),
      kh: int(r, 1, 4),
      kw: int(r, 1, 4),
      sh: int(r, 1, 3),
      sw: int(r, 1, 3),
      pt: int(r, 0, 2),
      pl: int(r, 0, 2),
      pb: int(r, 0, 2),
      pr: int(r, 0, 2),
      dh: int(r, 1, 2),
      dw: int(r, 1, 2),
      ...o,
    };
    if (c.cIn === c.cig && o.cIn === undefined && int(r, 0, 2) === 0) {
      c.cIn = c.cig * 3; // a middle group of three: images are cIn * h * w floats apart
      c.c0 = c.cig;
    }
    const outH = Math.floor((c.h + c.pt + c.pb - c.dh * (c.kh - 1) - 1) / c.sh) + 1;
    const outW = Math.floor((c.w + c.pl + c.pr - c.dw * (c.kw - 1) - 1) / c.sw) + 1;
    if (outH >= 1 && outW >= 1) return { ...c, outH, outW };
  }
}

/** Shapes for the implicit-GEMM kernels: the layouts their fast paths handle, then random ones. */
function implicitCases(r: () => number): (ImplicitCase & { outH: number; outW: number })[] {
  const same = (k: number, s = 1) => ({
    kh: k,
    kw: k,
    sh: s,
    sw: s,
    pt: k >> 1,
    pl: k >> 1,
    pb: k >> 1,
    pr: k >> 1,
  });
  return [
    // "same" 3x3 stride 1 (panels span output rows and images), several row tiles and k blocks
    implicitCase(r, { nimg: 3, cig: 30, m: 100, h: 14, w: 14, dh: 1, dw: 1, ...same(3) }),
    implicitCase(r, { nimg: 2, cig: 64, m: 16, h: 7, w: 7, dh: 1, dw: 1, ...same(3) }),
    implicitCase(r, { nimg: 2, cig: 3, m: 13, h: 28, w: 28, dh: 1, dw: 1, ...same(3) }),
    // stride 2 with rows of >= 8 outputs (every-other-float windows)
    implicitCase(r, { nimg: 2, cig: 5, m: 7, h: 33, w: 37, dh: 1, dw: 1, ...same(3, 2) }),
    implicitCase(r, { nimg: 1, cig: 2, m: 5, h: 20, w: 35, dh: 1, dw: 2, ...same(3, 2), pr: 0 }),
    // 1x1: stride 1 (contiguous images) and stride 2
    implicitCase(r, { nimg: 3, cig: 7, m: 11, h: 5, w: 9, dh: 1, dw: 1, ...same(1) }),
    implicitCase(r, { nimg: 2, cig: 9, m: 20, h: 17, w: 23, dh: 1, dw: 1, ...same(1, 2) }),
    // kh != kw, asymmetric padding, dilation, stride 3, k > 256 with a partial last block
    implicitCase(r, { cig: 37, m: 9, kh: 3, kw: 5, sh: 1, sw: 1, pt: 2, pl: 0, pb: 1, pr: 3, dh: 2, dw: 1 }),
    implicitCase(r, { cig: 4, m: 6, h: 30, w: 31, kh: 5, kw: 2, sh: 3, sw: 3, pt: 1, pl: 2, pb: 0, pr: 1 }),
    // a window that starts before the first image and one that ends after the last; 507 positions
    // (two k blocks of the weight gradient, the last one 251 = 4 * 62 + 3)
    implicitCase(r, { nimg: 1, cIn: 1, cig: 1, m: 3, h: 2, w: 9, dh: 1, dw: 1, ...same(3) }),
    implicitCase(r, { nimg: 3, cig: 2, m: 4, h: 13, w: 13, dh: 1, dw: 1, ...same(3) }),
    ...Array.from({ length: 30 }, () => implicitCase(r)),
  ];
}

/** The direct value of the im2col matrix of case c at row j = (ch, ki, kj), column p = (img, oh, ow). */
function im2colAt(c: ImplicitCase & { outH: number; outW: number }, x: Float32Array, j: number, p: number) {
  const hw = c.outH * c.outW, plane = c.h * c.w;
  const kj = j % c.kw, ki = Math.floor(j / c.kw) % c.kh, ch = Math.floor(j / (c.kw * c.kh));
  const img = Math.floor(p / hw), oh = Math.floor((p % hw) / c.outW), ow = p % c.outW;
  const ih = oh * c.sh - c.pt + ki * c.dh, iw = ow * c.sw - c.pl + kj * c.dw;
  if (ih < 0 || ih >= c.h || iw < 0 || iw >= c.w) return 0;
  return x[(img * c.cIn + c.c0 + ch) * plane + ih * c.w + iw];
}

forEachBackend("conv2d_gemm matches its reference and the direct sum on odd shapes", async (rt) => {
  const r = rng(21);
  const cases = implicitCases(r);
  for (const c of cases) {
    const label = `conv2d_gemm ${JSON.stringify(c)}`;
    const plane = c.h * c.w, hw = c.outH * c.outW, n = c.nimg * hw, k = c.cig * c.kh * c.kw;
    const x = uniform(r, c.nimg * c.cIn * plane), a = uniform(r, c.m * k);
    const X = new Buf(rt, x), A = new Buf(rt, a), C = new Buf(rt, c.m * n), Cr = new Buf(rt, c.m * n);
    const args = [
      A.ptr,
      X.ptr + c.c0 * plane * 4,
      C.ptr,
      c.m,
      c.cig,
      c.cIn * plane,
      c.nimg,
      c.h,
      c.w,
      c.kh,
      c.kw,
      c.sh,
      c.sw,
      c.pt,
      c.pl,
      c.dh,
      c.dw,
      c.outH,
      c.outW,
    ];
    // The launcher's column tile, and a random narrower one.
    for (const nt of [K.gemmTiling(c.m, n, rt.threads).nt, 8 * int(r, 1, 32)]) {
      const units = Math.ceil(c.m / 96) * Math.ceil(n / nt);
      await rt.run("conv2d_gemm", [...args, nt], {
        units,
        cost: 2 * c.m * n * k,
        scratchBytes: K.GEMM_SCRATCH_BYTES,
      });
      REF_KERNELS.conv2d_gemm(rt.heap, ...args.slice(0, 2), Cr.ptr, ...args.slice(3), nt, 0, units);
      const tol = { rtol: 1e-4, atol: 2e-5 * Math.sqrt(k), label: `${label} nt=${nt}` };
      assertClose(C.read(), Cr.read(), tol);
    }
    // The reference against the direct sum.
    const want = new Float64Array(c.m * n);
    for (let j = 0; j < k; j++) {
      for (let p = 0; p < n; p++) {
        const v = im2colAt(c, x, j, p);
        if (v !== 0) { for (let i = 0; i < c.m; i++) want[i * n + p] += a[i * k + j] * v; }
      }
    }
    assertClose(Cr.read(), want, { rtol: 1e-4, atol: 2e-5 * Math.sqrt(k), label: `${label} direct` });
    for (const b of [X, A, C, Cr]) b.free(label);
  }
});

forEachBackend("conv2d_gemm_wgrad matches its reference and the direct sum on odd shapes", async (rt) => {
  const r = rng(22);
  for (const c of implicitCases(r)) {
    const label = `conv2d_gemm_wgrad ${JSON.stringify(c)}`;
    const plane = c.h * c.w, k = c.nimg * c.outH * c.outW, n = c.cig * c.kh * c.kw;
    const x = uniform(r, c.nimg * c.cIn * plane), a = uniform(r, c.m * k), c0 = uniform(r, c.m * n);
    const X = new Buf(rt, x), A = new Buf(rt, a), C = new Buf(rt, c0), Cr = new Buf(rt, c0);
    const flags = int(r, 0, 1);
    const args = [
      A.ptr,
      X.ptr + c.c0 * plane * 4,
      C.ptr,
      c.m,
      c.cig,
      c.cIn * plane,
      c.nimg,
      c.h,
      c.w,
      c.kh,
      c.kw,
      c.sh,
      c.sw,
      c.pt,
      c.pl,
      c.dh,
      c.dw,
      c.outH,
      c.outW,
      flags,
    ];
    const tol = { rtol: 1e-4, atol: 2e-5 * Math.sqrt(k), label };
    // The launcher's column tile in one part, a random narrower one in 1-3 parts (k split; a part may get
    // no positions at all). C restarts from c0 each time; the partial sums start as garbage.
    for (
      const [nt, kparts] of [[K.gemmTiling(c.m, n, rt.threads).nt, 1], [8 * int(r, 1, 32), int(r, 1, 3)]]
    ) {
      C.write(c0);
      Cr.write(c0);
      const P = new Buf(rt, uniform(r, Math.max(1, (kparts - 1) * c.m * n)));
      const Pr = new Buf(rt, P.read());
      const units = kparts * Math.ceil(c.m / 96) * Math.ceil(n / nt);
      await rt.run("conv2d_gemm_wgrad", [...args, nt, kparts, P.ptr], {
        units,
        cost: 2 * c.m * n * k,
        scratchBytes: K.GEMM_SCRATCH_BYTES + 4096,
      });
      REF_KERNELS.conv2d_gemm_wgrad(
        rt.heap,
        ...args.slice(0, 2),
        Cr.ptr,
        ...args.slice(3),
        nt,
        kparts,
        Pr.ptr,
        0,
        units,
      );
      const l = `${label} nt=${nt} kparts=${kparts}`;
      assertClose(C.read(), Cr.read(), { ...tol, label: l });
      assertClose(P.read(), Pr.read(), { ...tol, label: `${l} partial sums` });
      if (kparts === 1) {
        P.free(l);
        Pr.free(l);
        continue;
      }
      // Adding the parts gives the whole sum (checked against the direct sum below via Cr).
      const sum = Cr.read(), parts = Pr.read();
      for (let q = 0; q < kparts - 1; q++) for (let i = 0; i < c.m * n; i++) sum[i] += parts[q * c.m * n + i];
      Cr.write(sum);
      P.free(l);
      Pr.free(l);
    }
    const want = Float64Array.from(flags ? c0 : new Float32Array(c.m * n));
    for (let j = 0; j < n; j++) {
      for (let p = 0; p < k; p++) {
        const v = im2colAt(c, x, j, p);
        if (v !== 0) { for (let i = 0; i < c.m; i++) want[i * n + j] += a[i * k + p] * v; }
      }
    }
    assertClose(Cr.read(), want, { ...tol, label: `${label} direct` });
    for (const b of [X, A, C, Cr]) b.free(label);
  }
});

Deno.test("direct convolution backward matches finite differences", () => {
  const r = rng(5);
  for (let t = 0; t < 4; t++) {
    const g = randomGeom(r);
    const x = uniform(r, g.n * g.cIn * g.h * g.w), w = uniform(r, g.cOut * (g.cIn / g.groups) * g.kh * g.kw);
    const dy = uniform(r, g.n * g.cOut * g.outH * g.outW);
    const { dx, dw } = convBackward(g, x, w, dy);
    gradcheck((xv) => dot(dy, Float32Array.from(convForward(g, xv, w))), x, Float32Array.from(dx), {
      label: "dx",
    });
    gradcheck((wv) => dot(dy, Float32Array.from(convForward(g, x, wv))), w, Float32Array.from(dw), {
      label: "dw",
    });
  }
});

forEachBackend("col2im matches its reference on odd shapes, strides, dilations and paddings", async (rt) => {
  const r = rng(57);
  for (let t = 0; t < 40; t++) {
    const g = randomGeom(r);
    const c = g.cIn, hw = g.outH * g.outW, ldcol = g.n * hw + int(r, 0, 3); // a padded leading dimension
    const label = JSON.stringify(g);
    const col = new Buf(rt, uniform(r, c * g.kh * g.kw * ldcol));
    const start = uniform(r, g.n * c * g.h * g.w); // dx accumulates onto what is there
    const DX = new Buf(rt, start), DXr = new Buf(rt, start);
    const args = [c, c * g.h * g.w, ldcol, g.h, g.w, g.kh, g.kw, g.strideH, g.strideW, g.padTop, g.padLeft];
    const tail = [g.dilationH, g.dilationW, g.outH, g.outW];
    await rt.run("col2im", [col.ptr, DX.ptr, ...args, ...tail], { units: g.n * c });
    REF_KERNELS.col2im(rt.heap, col.ptr, DXr.ptr, ...args, ...tail, 0, g.n * c);
    assertClose(DX.read(), DXr.read(), { rtol: 1e-6, atol: 1e-6, label });
    for (const b of [col, DX, DXr]) b.free(label);
  }
});
Deno.test("close backends (conv2d)", closeBackends);
