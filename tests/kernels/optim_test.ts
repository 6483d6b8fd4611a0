import { kernels as K, REF_KERNELS, type Runtime } from "../../runtime/mod.ts";
import { assertClose } from "../_util/assert_close.ts";
import { closeBackends, forEachBackend } from "../_util/backends.ts";
import { Buf } from "../_util/buffers.ts";
import { readFixture } from "../_util/fixture.ts";
import { rng, uniform } from "../_util/rng.ts";

const FIX = readFixture(Deno.readFileSync(new URL("../fixtures/optim_steps.safetensors", import.meta.url)));
const get = (name: string): Float32Array => {
  const a = FIX.get(name);
  if (!a) throw new Error(`fixture has no ${name}`);
  return a.data;
};
const STEPS = 3;
const TORCH_TOL = { rtol: 1e-5, atol: 1e-6 };

type SgdO = Parameters<typeof K.sgdStep>[2];
const SGD: Record<string, Omit<SgdO, "first">> = {
  sgd_plain: { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false },
  sgd_wd: { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0.01, nesterov: false },
  sgd_mom: { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 5e-4, nesterov: false },
  sgd_damp: { lr: 0.05, momentum: 0.6, dampening: 0.3, weightDecay: 1e-3, nesterov: false },
  sgd_nesterov: { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 5e-4, nesterov: true },
};
type RmsO = Parameters<typeof K.rmspropStep>[2];
const RMS: Record<string, RmsO & { sq0: number }> = {
  rms_torch: { lr: 0.01, decay: 0.9, momentum: 0, eps: 1e-3, weightDecay: 0, epsInsideSqrt: false, sq0: 0 },
  rms_torch_mom: {
    lr: 0.01,
    decay: 0.9,
    momentum: 0.9,
    eps: 1e-3,
    weightDecay: 1e-3,
    epsInsideSqrt: false,
    sq0: 0,
  },
  rms_tf: { lr: 0.045, decay: 0.9, momentum: 0.9, eps: 1, weightDecay: 4e-5, epsInsideSqrt: true, sq0: 1 },
};

function run(rt: Runtime, fn: () => Promise<void>): Promise<void> {
  return rt.enqueue(fn);
}

forEachBackend(
  "sgdStep matches torch.optim.SGD over 3 steps (momentum, dampening, nesterov, wd)",
  async (rt) => {
    const p0 = get("param0");
    for (const [name, o] of Object.entries(SGD)) {
      const p = new Buf(rt, p0), buf = new Buf(rt, p0.length);
      for (let s = 0; s < STEPS; s++) {
        const g = new Buf(rt, get(`grad${s}`));
        await run(
          rt,
          () =>
            K.sgdStep(
              rt,
              { param: p.ptr, grad: g.ptr, momentumBuf: o.momentum ? buf.ptr : 0, len: p.length },
              {
                ...o,
                first: s === 0,
              },
            ),
        );
        assertClose(p.read(), get(`${name}/step${s}`), { ...TORCH_TOL, label: `${name} step ${s}` });
        g.free(name);
      }
      p.free(name);
      buf.free(name);
    }
  },
);

forEachBackend("rmspropStep matches torch.optim.RMSprop and TF-style RMSProp over 3 steps", async (rt) => {
  const p0 = get("param0");
  for (const [name, { sq0, ...o }] of Object.entries(RMS)) {
    const p = new Buf(rt, p0), sq = new Buf(rt, new Float32Array(p0.length).fill(sq0));
    const mom = new Buf(rt, new Float32Array(p0.length));
    for (let s = 0; s < STEPS; s++) {
      const g = new Buf(rt, get(`grad${s}`));
      await run(rt, () =>
        K.rmspropStep(rt, {
          param: p.ptr,
          grad: g.ptr,
          squareAvg: sq.ptr,
          momentumBuf: mom.ptr,
          len: p.length,
        }, o));
      assertClose(p.read(), get(`${name}/step${s}`), { ...TORCH_TOL, label: `${name} step ${s}` });
      g.free(name);
    }
    for (const b of [p, sq, mom]) b.free(name);
  }
});

forEachBackend("sgdStep/rmspropStep match ref on odd sizes", async (rt) => {
  const r = rng(31);
  for (const n of [1, 3, 5, 17, 1001]) {
    const p0 = uniform(r, n), g0 = uniform(r, n), b0 = uniform(r, n), sq0 = uniform(r, n, 0, 1);
    for (const [name, o] of Object.entries(SGD)) {
      for (const first of [true, false]) {
        const [p, g, b] = [new Buf(rt, p0), new Buf(rt, g0), new Buf(rt, b0)];
        const [pr, gr, br] = [new Buf(rt, p0), new Buf(rt, g0), new Buf(rt, b0)];
        await run(
          rt,
          () => K.sgdStep(rt, { param: p.ptr, grad: g.ptr, momentumBuf: b.ptr, len: n }, { ...o, first }),
        );
        REF_KERNELS.sgd_step(
          rt.heap,
          pr.ptr,
          gr.ptr,
          br.ptr,
          o.lr,
          o.momentum,
          o.dampening,
          o.weightDecay,
          o.nesterov ? 1 : 0,
          first ? 1 : 0,
          0,
          n,
        );
        const label = `${name} first=${first} n=${n}`;
        assertClose(p.read(), pr.read(), { rtol: 1e-6, atol: 1e-6, label });
        assertClose(b.read(), br.read(), { rtol: 1e-6, atol: 1e-6, label: `${label} buf` });
        for (const x of [p, g, b, pr, gr, br]) x.free(label);
      }
    }
    for (const [name, { sq0: _, ...o }] of Object.entries(RMS)) {
      const bufs = [p0, g0, sq0, b0].map((d) => new Buf(rt, d));
      const refs = [p0, g0, sq0, b0].map((d) => new Buf(rt, d));
      const [p, g, sq, m] = bufs.map((x) => x.ptr);
      await run(rt, () => K.rmspropStep(rt, { param: p, grad: g, squareAvg: sq, momentumBuf: m, len: n }, o));
      const [pr, gr, sqr, mr] = refs.map((x) => x.ptr);
      REF_KERNELS.rmsprop_step(
        rt.heap,
        pr,
        gr,
        sqr,
        mr,
        o.lr,
        o.decay,
        o.momentum,
        o.eps,
        o.weightDecay,
        o.epsInsideSqrt ? 1 : 0,
        0,
        n,
      );
      for (const i of [0, 2, 3]) {
        assertClose(bufs[i].read(), refs[i].read(), {
          rtol: 1e-5,
          atol: 1e-6,
          label: `${name} n=${n} buf ${i}`,
        });
      }
      for (const x of [...bufs, ...refs]) x.free(name);
    }
  }
});

Deno.test("close backends (optim)", closeBackends);
