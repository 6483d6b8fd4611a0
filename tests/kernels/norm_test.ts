import { kernels as K, REF_KERNELS } from "../../runtime/mod.ts";
import { assertClose } from "../_util/assert_close.ts";
import { closeBackends, forEachBackend } from "../_util/backends.ts";
import { Buf } from "../_util/buffers.ts";
import { type FixtureArray, readFixture } from "../_util/fixture.ts";
import { dot, gradcheck } from "../_util/gradcheck.ts";
import { int, rng, uniform } from "../_util/rng.ts";
import { HEAP } from "../_util/ref_heap.ts";

const SHAPES: [number, number, number][] = [[2, 3, 1], [1, 2, 5], [3, 5, 7], [4, 3, 17], [2, 7, 33], [
  5,
  1,
  4,
]];

forEachBackend("batch norm train forward/backward match ref", async (rt) => {
  const r = rng(21);
  for (const [n, c, hw] of SHAPES) {
    for (const [nulls, relu] of [[false, false], [true, false], [false, true], [true, true]]) {
      const len = n * c * hw, label = `bn [${n},${c},${hw}] nulls=${nulls} relu=${relu}`;
      const x = new Buf(rt, uniform(r, len, -3, 5));
      const gamma = new Buf(rt, uniform(r, c)), beta = new Buf(rt, uniform(r, c));
      const rm0 = uniform(r, c), rv0 = uniform(r, c, 0.5, 2);
      const bufs = () => ({
        y: new Buf(rt, len),
        mean: new Buf(rt, c),
        invstd: new Buf(rt, c),
        rm: new Buf(rt, rm0),
        rv: new Buf(rt, rv0),
      });
      const a = bufs(), e = bufs();
      const o = { momentum: 0.1, eps: 1e-5, relu };
      const gp = nulls ? 0 : gamma.ptr, bp = nulls ? 0 : beta.ptr;
      await rt.enqueue(() =>
        K.batchNormTrainForward(rt, { n, c, hw }, {
          x: x.ptr,
          y: a.y.ptr,
          gamma: gp,
          beta: bp,
          mean: a.mean.ptr,
          invstd: a.invstd.ptr,
          runningMean: nulls ? 0 : a.rm.ptr,
          runningVar: nulls ? 0 : a.rv.ptr,
        }, o)
      );
      REF_KERNELS.batchnorm_train_forward(
        rt.heap,
        x.ptr,
        e.y.ptr,
        gp,
        bp,
        e.mean.ptr,
        e.invstd.ptr,
        nulls ? 0 : e.rm.ptr,
        nulls ? 0 : e.rv.ptr,
        n,
        c,
        hw,
        o.momentum,
        o.eps,
        relu ? 1 : 0,
        0,
        c,
      );
      for (const k of ["y", "mean", "invstd", "rm", "rv"] as const) {
        assertClose(a[k].read(), e[k].read(), { rtol: 1e-4, atol: 1e-5, label: `${label} ${k}` });
      }
      const dy = new Buf(rt, uniform(r, len));
      const grads = () => ({ dx: new Buf(rt, len), dg: new Buf(rt, c), db: new Buf(rt, c) });
      const ga = grads(), ge = grads();
      await rt.enqueue(() =>
        K.batchNormBackward(rt, { n, c, hw }, {
          x: x.ptr,
          dy: dy.ptr,
          y: relu ? a.y.ptr : 0, // the ReLU's backward first
          gamma: gp,
          mean: a.mean.ptr,
          invstd: a.invstd.ptr,
          dx: ga.dx.ptr,
          dgamma: nulls ? 0 : ga.dg.ptr,
          dbeta: nulls ? 0 : ga.db.ptr,
        })
      );
      REF_KERNELS.batchnorm_backward(
        rt.heap,
        x.ptr,
        dy.ptr,
        relu ? e.y.ptr : 0,
        gp,
        e.mean.ptr,
        e.invstd.ptr,
        ge.dx.ptr,
        nulls ? 0 : ge.dg.ptr,
        nulls ? 0 : ge.db.ptr,
        n,
        c,
        hw,
        0,
        c,
      );
      for (const k of ["dx", "dg", "db"] as const) {
        assertClose(ga[k].read(), ge[k].read(), { rtol: 1e-3, atol: 1e-4, label: `${label} ${k}` });
      }
      // eval mode, from the running statistics
      const ye = new Buf(rt, len), yer = new Buf(rt, len);
      await rt.enqueue(() =>
        K.batchNormEvalForward(rt, { n, c, hw }, {
          x: x.ptr,
          y: ye.ptr,
          gamma: gp,
          beta: bp,
          runningMean: e.rm.ptr,
          runningVar: e.rv.ptr,
        }, { eps: 1e-3 })
      );
      REF_KERNELS.batchnorm_eval_forward(
        rt.heap,
        x.ptr,
        yer.ptr,
        gp,
        bp,
        e.rm.ptr,
        e.rv.ptr,
        c,
        hw,
        1e-3,
        0,
        n * c,
      );
      assertClose(ye.read(), yer.read(), { rtol: 1e-4, atol: 1e-5, label: `${label} eval y` });
      const ea = grads(), ee = grads();
      await rt.enqueue(() =>
        K.batchNormEvalBackward(rt, { n, c, hw }, {
          x: x.ptr,
          dy: dy.ptr,
          gamma: gp,
          runningMean: e.rm.ptr,
          runningVar: e.rv.ptr,
          dx: ea.dx.ptr,
          dgamma: nulls ? 0 : ea.dg.ptr,
          dbeta: nulls ? 0 : ea.db.ptr,
        }, { eps: 1e-3 })
      );
      REF_KERNELS.batchnorm_eval_backward(
        rt.heap,
        x.ptr,
        dy.ptr,
        gp,
        e.rm.ptr,
        e.rv.ptr,
        ee.dx.ptr,
        nulls ? 0 : ee.dg.ptr,
        nulls ? 0 : ee.db.ptr,
        n,
        c,
        hw,
        1e-3,
        0,
        c,
      );
      for (const k of ["dx", "dg", "db"] as const) {
        assertClose(ea[k].read(), ee[k].read(), { rtol: 1e-3, atol: 1e-4, label: `${label} eval ${k}` });
      }
      for (const b of [x, gamma, beta, dy, ye, yer, ...[a, e, ga, ge, ea, ee].flatMap(Object.values)]) {
        b.free(label);
      }
    }
  }
});

forEachBackend("batch norm statistics stay accurate with a large offset", async (rt) => {
  const n = 8, c = 2, hw = 1000, len = n * c * hw;
  const r = rng(22);
  const x = new Buf(rt, uniform(r, len, 999, 1001));
  const y = new Buf(rt, len), mean = new Buf(rt, c), inv = new Buf(rt, c);
  const ye = new Buf(rt, len), me = new Buf(rt, c), ie = new Buf(rt, c);
  await rt.enqueue(() =>
    K.batchNormTrainForward(rt, { n, c, hw }, {
      x: x.ptr,
      y: y.ptr,
      gamma: 0,
      beta: 0,
      mean: mean.ptr,
      invstd: inv.ptr,
      runningMean: 0,
      runningVar: 0,
    }, { momentum: 0.1, eps: 1e-5 })
  );
  REF_KERNELS.batchnorm_train_forward(
    rt.heap,
    x.ptr,
    ye.ptr,
    0,
    0,
    me.ptr,
    ie.ptr,
    0,
    0,
    n,
    c,
    hw,
    0.1,
    1e-5,
    0,
    0,
    c,
  );
  assertClose(inv.read(), ie.read(), { rtol: 1e-4, label: "invstd" });
  assertClose(y.read(), ye.read(), { rtol: 1e-3, atol: 1e-3, label: "y" });
  for (const b of [x, y, mean, inv, ye, me, ie]) b.free();
});

forEachBackend("lrn forward/backward match ref", async (rt) => {
  const r = rng(23);
  for (let t = 0; t < 12; t++) {
    const n = int(r, 1, 3), c = int(r, 1, 9), hw = int(r, 1, 23), size = int(r, 1, 6);
    const o = { size, alpha: r() * 0.5, beta: t % 2 ? 0.75 : 0.3 + r(), k: 0.5 + r() * 2 };
    const len = n * c * hw, label = `lrn [${n},${c},${hw}] ${JSON.stringify(o)}`;
    const x = new Buf(rt, uniform(r, len, -2, 2));
    const y = new Buf(rt, len), s = new Buf(rt, len), yr = new Buf(rt, len), sr = new Buf(rt, len);
    await rt.enqueue(() => K.lrnForward(rt, { n, c, hw }, { x: x.ptr, y: y.ptr, scale: s.ptr }, o));
    REF_KERNELS.lrn_forward(rt.heap, x.ptr, yr.ptr, sr.ptr, c, hw, size, o.alpha, o.beta, o.k, 0, n * hw);
    assertClose(s.read(), sr.read(), { label: `${label} scale` });
    assertClose(y.read(), yr.read(), { label: `${label} y` });
    const dy = new Buf(rt, uniform(r, len)), dx = new Buf(rt, len), dxr = new Buf(rt, len);
    await rt.enqueue(() =>
      K.lrnBackward(rt, { n, c, hw }, { x: x.ptr, y: y.ptr, scale: s.ptr, dy: dy.ptr, dx: dx.ptr }, o)
    );
    REF_KERNELS.lrn_backward(
      rt.heap,
      x.ptr,
      yr.ptr,
      sr.ptr,
      dy.ptr,
      dxr.ptr,
      c,
      hw,
      size,
      o.alpha,
      o.beta,
      0,
      n * hw,
    );
    assertClose(dx.read(), dxr.read(), { rtol: 1e-4, atol: 1e-5, label: `${label} dx` });
    for (const b of [x, y, s, yr, sr, dy, dx, dxr]) b.free(label);
  }
});

Deno.test("norm reference backwards match finite differences", () => {
  const r = rng(24);
  for (const [n, c, hw] of [[2, 3, 5], [4, 2, 1], [1, 2, 9]]) {
    const len = n * c * hw;
    const x0 = uniform(r, len, -2, 2), wv = uniform(r, len);
    const gamma = uniform(r, c), beta = uniform(r, c), rm = uniform(r, c), rv = uniform(r, c, 0.5, 2);
    // training: loss over y, grads for x, gamma, beta
    const train = (xv: Float32Array, gv: Float32Array, bv: Float32Array) => {
      const x = HEAP.put(xv), y = HEAP.out(len), m = HEAP.out(c), is = HEAP.out(c);
      const g = HEAP.put(gv), b = HEAP.put(bv);
      REF_KERNELS.batchnorm_train_forward(HEAP.heap, x, y, g, b, m, is, 0, 0, n, c, hw, 0.1, 1e-5, 0, 0, c);
      return { x, g, m, is, y: dot(wv, HEAP.get(y, len)) };
    };
    const f = train(x0, gamma, beta);
    const dy = HEAP.put(wv), dx = HEAP.out(len), dg = HEAP.out(c), db = HEAP.out(c);
    REF_KERNELS.batchnorm_backward(HEAP.heap, f.x, dy, 0, f.g, f.m, f.is, dx, dg, db, n, c, hw, 0, c);
    const [gx, gg, gb] = [HEAP.get(dx, len), HEAP.get(dg, c), HEAP.get(db, c)];
    const label = `bn [${n},${c},${hw}]`;
    gradcheck((xv) => train(xv, gamma, beta).y, x0, gx, { eps: 1e-2, label: `${label} dx` });
    gradcheck((gv) => train(x0, gv, beta).y, gamma, gg, { label: `${label} dgamma` });
    gradcheck((bv) => train(x0, gamma, bv).y, beta, gb, { label: `${label} dbeta` });
    // eval
    const ev = (xv: Float32Array, gv: Float32Array, bv: Float32Array) => {
      const x = HEAP.put(xv), y = HEAP.out(len), g = HEAP.put(gv), b = HEAP.put(bv);
      const m = HEAP.put(rm), v = HEAP.put(rv);
      REF_KERNELS.batchnorm_eval_forward(HEAP.heap, x, y, g, b, m, v, c, hw, 1e-3, 0, n * c);
      return { x, g, m, v, y: dot(wv, HEAP.get(y, len)) };
    };
    const e = ev(x0, gamma, beta);
    const edx = HEAP.out(len), edg = HEAP.out(c), edb = HEAP.out(c);
    REF_KERNELS.batchnorm_eval_backward(
      HEAP.heap,
      e.x,
      dy,
      e.g,
      e.m,
      e.v,
      edx,
      edg,
      edb,
      n,
      c,
      hw,
      1e-3,
      0,
      c,
    );
    gradcheck((xv) => ev(xv, gamma, beta).y, x0, HEAP.get(edx, len), { label: `${label} eval dx` });
    gradcheck((gv) => ev(x0, gv, beta).y, gamma, HEAP.get(edg, c), { label: `${label} eval dgamma` });
    gradcheck((bv) => ev(x0, gamma, bv).y, beta, HEAP.get(edb, c), { label: `${label} eval dbeta` });
    HEAP.reset();
  }
  for (const [c, hw, size, beta] of [[7, 3, 5, 0.75], [6, 2, 4, 0.6], [3, 4, 1, 1.2], [4, 1, 6, 0.75]]) {
    const n = 2, len = n * c * hw, alpha = 0.4, k = 1.5;
    const x0 = uniform(r, len, -2, 2), wv = uniform(r, len);
    const fwd = (xv: Float32Array) => {
      const x = HEAP.put(xv), y = HEAP.out(len), s = HEAP.out(len);
      REF_KERNELS.lrn_forward(HEAP.heap, x, y, s, c, hw, size, alpha, beta, k, 0, n * hw);
      return { x, y, s, loss: dot(wv, HEAP.get(y, len)) };
    };
    const f = fwd(x0);
    const dy = HEAP.put(wv), dx = HEAP.out(len);
    REF_KERNELS.lrn_backward(HEAP.heap, f.x, f.y, f.s, dy, dx, c, hw, size, alpha, beta, 0, n * hw);
    gradcheck((xv) => fwd(xv).loss, x0, HEAP.get(dx, len), { label: `lrn c=${c} size=${size}` });
    HEAP.reset();
  }
});

const FIX = readFixture(Deno.readFileSync(new URL("../fixtures/pool_norm.safetensors", import.meta.url)));
function fx(name: string): FixtureArray {
  const a = FIX.get(name);
  if (!a) throw new Error(`fixture ${name} missing`);
  return a;
}

forEachBackend("batch norm and LRN match torch fixtures", async (rt) => {
  const xa = fx("bn_train.x");
  const [n, c, h, w] = xa.shape, hw = h * w, len = xa.data.length, g = { n, c, hw };
  const x = new Buf(rt, xa.data), y = new Buf(rt, len), dy = new Buf(rt, fx("bn_train.dy").data);
  const gamma = new Buf(rt, fx("bn_train.gamma").data), beta = new Buf(rt, fx("bn_train.beta").data);
  const rm = new Buf(rt, fx("bn_train.rm0").data), rv = new Buf(rt, fx("bn_train.rv0").data);
  const mean = new Buf(rt, c), inv = new Buf(rt, c);
  const dx = new Buf(rt, len), dg = new Buf(rt, c), db = new Buf(rt, c);
  await rt.enqueue(() =>
    K.batchNormTrainForward(rt, g, {
      x: x.ptr,
      y: y.ptr,
      gamma: gamma.ptr,
      beta: beta.ptr,
      mean: mean.ptr,
      invstd: inv.ptr,
      runningMean: rm.ptr,
      runningVar: rv.ptr,
    }, { momentum: 0.1, eps: 1e-5 })
  );
  await rt.enqueue(() =>
    K.batchNormBackward(rt, g, {
      x: x.ptr,
      dy: dy.ptr,
      gamma: gamma.ptr,
      mean: mean.ptr,
      invstd: inv.ptr,
      dx: dx.ptr,
      dgamma: dg.ptr,
      dbeta: db.ptr,
    })
  );
  const tol = { rtol: 1e-4, atol: 1e-5 };
  assertClose(y.read(), fx("bn_train.y").data, { ...tol, label: "bn y" });
  assertClose(rm.read(), fx("bn_train.rm").data, { ...tol, label: "bn runningMean" });
  assertClose(rv.read(), fx("bn_train.rv").data, { ...tol, label: "bn runningVar (unbiased)" });
  assertClose(dx.read(), fx("bn_train.dx").data, { ...tol, label: "bn dx" });
  assertClose(dg.read(), fx("bn_train.dp0").data, { ...tol, label: "bn dgamma" });
  assertClose(db.read(), fx("bn_train.dp1").data, { ...tol, label: "bn dbeta" });
  // eval mode uses the initial running statistics, eps 1e-3
  const rm0 = new Buf(rt, fx("bn_train.rm0").data), rv0 = new Buf(rt, fx("bn_train.rv0").data);
  const dye = new Buf(rt, fx("bn_eval.dy").data);
  await rt.enqueue(() =>
    K.batchNormEvalForward(rt, g, {
      x: x.ptr,
      y: y.ptr,
      gamma: gamma.ptr,
      beta: beta.ptr,
      runningMean: rm0.ptr,
      runningVar: rv0.ptr,
    }, { eps: 1e-3 })
  );
  await rt.enqueue(() =>
    K.batchNormEvalBackward(rt, g, {
      x: x.ptr,
      dy: dye.ptr,
      gamma: gamma.ptr,
      runningMean: rm0.ptr,
      runningVar: rv0.ptr,
      dx: dx.ptr,
      dgamma: dg.ptr,
      dbeta: db.ptr,
    }, { eps: 1e-3 })
  );
  assertClose(y.read(), fx("bn_eval.y").data, { ...tol, label: "bn eval y" });
  assertClose(dx.read(), fx("bn_eval.dx").data, { ...tol, label: "bn eval dx" });
  assertClose(dg.read(), fx("bn_eval.dp0").data, { ...tol, label: "bn eval dgamma" });
  assertClose(db.read(), fx("bn_eval.dp1").data, { ...tol, label: "bn eval dbeta" });
  for (const b of [x, y, dy, gamma, beta, rm, rv, mean, inv, dx, dg, db, rm0, rv0, dye]) b.free();

  // LRN, torch convention: the op passes alpha / size
  for (const [name, size, alpha, beta, k] of [["lrn5", 5, 0.3, 0.75, 2], ["lrn4", 4, 0.5, 0.6, 1]] as const) {
    const xl = fx(`${name}.x`);
    const [ln, lc, lh, lw] = xl.shape, l = xl.data.length, lg = { n: ln, c: lc, hw: lh * lw };
    const o = { size, alpha: alpha / size, beta, k };
    const x = new Buf(rt, xl.data), y = new Buf(rt, l), s = new Buf(rt, l);
    const dy = new Buf(rt, fx(`${name}.dy`).data), dx = new Buf(rt, l);
    await rt.enqueue(() => K.lrnForward(rt, lg, { x: x.ptr, y: y.ptr, scale: s.ptr }, o));
    await rt.enqueue(() =>
      K.lrnBackward(rt, lg, { x: x.ptr, y: y.ptr, scale: s.ptr, dy: dy.ptr, dx: dx.ptr }, o)
    );
    assertClose(y.read(), fx(`${name}.y`).data, { ...tol, label: `${name} y` });
    assertClose(dx.read(), fx(`${name}.dx`).data, { ...tol, label: `${name} dx` });
    for (const b of [x, y, s, dy, dx]) b.free(name);
  }
});

Deno.test("close backends (norm)", closeBackends);
