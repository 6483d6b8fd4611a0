/**
 * Softmax over [256, 1000] and one SGD step (momentum 0.9, Nesterov, weight decay) over 25M parameters,
 * on 1 and `--threads` threads. Results are checked against the reference kernels before timing.
 * @module
 */
import { createRuntime, kernels as K, REF_KERNELS, type Runtime } from "../runtime/mod.ts";
import { type BenchFlags, type BenchRow, checkClose, timeMs } from "./_util.ts";

function filled(rt: Runtime, n: number, f: (i: number) => number): number {
  const p = rt.heap.alloc(4 * n);
  const a = rt.heap.f32.subarray(p >> 2, (p >> 2) + n);
  for (let i = 0; i < n; i++) a[i] = f(i);
  return p;
}

const read = (rt: Runtime, p: number, n: number) => rt.heap.f32.slice(p >> 2, (p >> 2) + n);

const SGD_O = { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 5e-4, nesterov: true, first: false };

/** Runs the softmax and SGD cases. */
export async function bench(flags: BenchFlags): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const threads of [1, flags.threads]) {
    const rt = await createRuntime({ backend: threads > 1 ? "wasm-mt" : "wasm", threads });
    try {
      if (!flags.filter || "softmax_256x1000".includes(flags.filter)) {
        const [r, c] = [256, 1000];
        const n = r * c;
        const x = filled(rt, n, (i) => 4 * Math.sin(i * 0.37)), y = rt.heap.alloc(4 * n);
        const yr = rt.heap.alloc(4 * n);
        await rt.enqueue(() => K.softmaxForward(rt, { x, y, rows: r, cols: c }));
        REF_KERNELS.softmax_forward(rt.heap, x, yr, c, 0, r);
        checkClose(read(rt, y, n), read(rt, yr, n), 1e-5, "softmax");
        const ms = await timeMs(
          () => rt.enqueue(() => K.softmaxForward(rt, { x, y, rows: r, cols: c })),
          flags.runs,
        );
        rows.push({
          name: "softmax_256x1000",
          threads,
          ms,
          flops: 0,
          note: `${(n / ms / 1e3).toFixed(0)} Melem/s`,
        });
        for (const p of [x, y, yr]) rt.heap.free(p);
      }
      if (!flags.filter || "sgd_nesterov_25m".includes(flags.filter)) {
        // check one step against the reference on 1M + 3 elements
        {
          const n = 1_000_003;
          const init = [
            (i: number) => Math.sin(i),
            (i: number) => Math.cos(i),
            (i: number) => Math.sin(2 * i),
          ];
          const [p, g, b] = init.map((f) => filled(rt, n, f));
          const [pr, gr, br] = init.map((f) => filled(rt, n, f));
          await rt.enqueue(() => K.sgdStep(rt, { param: p, grad: g, momentumBuf: b, len: n }, SGD_O));
          REF_KERNELS.sgd_step(rt.heap, pr, gr, br, 0.1, 0.9, 0, 5e-4, 1, 0, 0, n);
          checkClose(read(rt, p, n), read(rt, pr, n), 1e-6, "sgd");
          for (const q of [p, g, b, pr, gr, br]) rt.heap.free(q);
        }
        const n = 25_000_000;
        const p = filled(rt, n, (i) => Math.sin(i)), g = filled(rt, n, (i) => 1e-3 * Math.cos(i));
        const b = filled(rt, n, () => 0);
        const ms = await timeMs(
          () => rt.enqueue(() => K.sgdStep(rt, { param: p, grad: g, momentumBuf: b, len: n }, SGD_O)),
          flags.runs,
        );
        // reads param, grad, buf; writes param, buf
        rows.push({
          name: "sgd_nesterov_25m",
          threads,
          ms,
          flops: 0,
          note: `${(20 * n / ms / 1e6).toFixed(1)} GB/s`,
        });
        for (const q of [p, g, b]) rt.heap.free(q);
      }
    } finally {
      await rt.close();
    }
  }
  return rows;
}
