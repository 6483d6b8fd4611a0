/**
 * Pooling and batch-norm bandwidth: batch-norm training forward + backward on [32, 64, 56, 56] and
 * max pooling 3x3/2 (pad 1) forward + backward on [32, 64, 112, 112], on 1 and `--threads` threads.
 * GB/s counts the bytes each kernel must read and write once.
 * @module
 */
import { createRuntime, kernels as K, REF_KERNELS, type Runtime } from "../runtime/mod.ts";
import { type BenchFlags, type BenchRow, checkClose, timeMs } from "./_util.ts";

function fillSin(rt: Runtime, p: number, n: number, scale = 1): void {
  const a = rt.heap.f32.subarray(p >> 2, (p >> 2) + n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(i * 0.37) * scale + 0.1 * Math.cos(i * 1.3);
}
const read = (rt: Runtime, p: number, n: number) => rt.heap.f32.slice(p >> 2, (p >> 2) + n);

async function bnRows(rt: Runtime, threads: number, runs: number): Promise<BenchRow[]> {
  const [n, c, hw] = [32, 64, 56 * 56];
  const len = n * c * hw, g = { n, c, hw };
  const h = rt.heap;
  const x = h.alloc(4 * len), y = h.alloc(4 * len), dy = h.alloc(4 * len), dx = h.alloc(4 * len);
  const v = () => h.alloc(4 * c);
  const [gamma, beta, mean, inv, rm, rv, dg, db, em, ei] = [v(), v(), v(), v(), v(), v(), v(), v(), v(), v()];
  fillSin(rt, x, len, 2);
  fillSin(rt, dy, len);
  fillSin(rt, gamma, c);
  fillSin(rt, beta, c);
  h.f32.fill(1, rv >> 2, (rv >> 2) + c);
  const fwd = () =>
    rt.enqueue(() =>
      K.batchNormTrainForward(rt, g, {
        x,
        y,
        gamma,
        beta,
        mean,
        invstd: inv,
        runningMean: rm,
        runningVar: rv,
      }, { momentum: 0.1, eps: 1e-5 })
    );
  const bwd = () =>
    rt.enqueue(() =>
      K.batchNormBackward(rt, g, { x, dy, gamma, mean, invstd: inv, dx, dgamma: dg, dbeta: db })
    );
  await fwd();
  await bwd();
  const ye = h.alloc(4 * len), dxe = h.alloc(4 * len), dge = h.alloc(4 * c), dbe = h.alloc(4 * c);
  REF_KERNELS.batchnorm_train_forward(h, x, ye, gamma, beta, em, ei, 0, 0, n, c, hw, 0.1, 1e-5, 0, 0, c);
  REF_KERNELS.batchnorm_backward(h, x, dy, 0, gamma, em, ei, dxe, dge, dbe, n, c, hw, 0, c);
  checkClose(read(rt, y, len), read(rt, ye, len), 1e-4, "batchnorm forward");
  checkClose(read(rt, dx, len), read(rt, dxe, len), 1e-3, "batchnorm backward");
  checkClose(read(rt, dg, c), read(rt, dge, c), 1e-3, "batchnorm dgamma");
  const tf = await timeMs(fwd, runs), tb = await timeMs(bwd, runs);
  for (const p of [x, y, dy, dx, gamma, beta, mean, inv, rm, rv, dg, db, em, ei, ye, dxe, dge, dbe]) {
    h.free(p);
  }
  // forward reads x twice for the statistics and once to normalize, writes y; backward reads x, dy twice, writes dx
  return [
    { name: "batchnorm_train_fwd_32x64x56x56", threads, ms: tf, flops: 0, note: gbs(4 * len * 4, tf) },
    { name: "batchnorm_bwd_32x64x56x56", threads, ms: tb, flops: 0, note: gbs(5 * len * 4, tb) },
  ];
}

function gbs(bytes: number, ms: number): string {
  return `${(bytes / ms / 1e6).toFixed(1)} GB/s`;
}

async function poolRows(rt: Runtime, threads: number, runs: number): Promise<BenchRow[]> {
  const [n, c, hh, ww] = [32, 64, 112, 112];
  const g = {
    n,
    c,
    h: hh,
    w: ww,
    kh: 3,
    kw: 3,
    strideH: 2,
    strideW: 2,
    padTop: 1,
    padLeft: 1,
    padBottom: 1,
    padRight: 1,
    dilationH: 1,
    dilationW: 1,
    outH: 56,
    outW: 56,
  };
  const xl = n * c * hh * ww, yl = n * c * 56 * 56;
  const h = rt.heap;
  const x = h.alloc(4 * xl), y = h.alloc(4 * yl), idx = h.alloc(4 * yl), dy = h.alloc(4 * yl);
  const dx = h.alloc(4 * xl);
  fillSin(rt, x, xl);
  fillSin(rt, dy, yl);
  const fwd = () => rt.enqueue(() => K.maxPool2dForward(rt, g, { x, y, indices: idx }));
  const bwd = () => rt.enqueue(() => K.maxPool2dBackward(rt, g, { dy, indices: idx, dx }));
  await fwd();
  await bwd();
  // check the first 64 planes against the reference
  const P = 64, ye = h.alloc(4 * P * 56 * 56), ie = h.alloc(4 * P * 56 * 56), dxe = h.alloc(4 * P * hh * ww);
  REF_KERNELS.max_pool2d_forward(h, x, ye, ie, hh, ww, 3, 3, 2, 2, 1, 1, 1, 1, 56, 56, 0, P * 56);
  REF_KERNELS.max_pool2d_backward(h, dy, ie, dxe, hh, ww, 56, 56, 0, P);
  checkClose(read(rt, y, P * 56 * 56), read(rt, ye, P * 56 * 56), 0, "maxpool forward");
  checkClose(read(rt, dx, P * hh * ww), read(rt, dxe, P * hh * ww), 1e-6, "maxpool backward");
  const tf = await timeMs(fwd, runs), tb = await timeMs(bwd, runs);
  for (const p of [x, y, idx, dy, dx, ye, ie, dxe]) h.free(p);
  return [
    {
      name: "maxpool3x3s2_fwd_32x64x112x112",
      threads,
      ms: tf,
      flops: 0,
      note: gbs(4 * (xl + 2 * yl), tf),
    },
    {
      name: "maxpool3x3s2_bwd_32x64x112x112",
      threads,
      ms: tb,
      flops: 0,
      note: gbs(4 * (xl + 2 * yl), tb),
    },
  ];
}

/** Runs the batch-norm and max-pool cases. */
export async function bench(flags: BenchFlags): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const threads of [...new Set([1, flags.threads])]) {
    const rt = await createRuntime({ backend: threads > 1 ? "wasm-mt" : "wasm", threads });
    try {
      if ("batchnorm".includes(flags.filter) || flags.filter.includes("batchnorm")) {
        rows.push(...await bnRows(rt, threads, flags.runs));
      }
      if ("maxpool".includes(flags.filter) || flags.filter.includes("maxpool")) {
        rows.push(...await poolRows(rt, threads, flags.runs));
      }
    } finally {
      await rt.close();
    }
  }
  return rows;
}
