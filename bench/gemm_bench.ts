/**
 * GEMM and convolution throughput (issue 2 cases): sgemm_1024, conv3x3_64_56, conv1x1_256_64_56,
 * conv7x7s2_3_64_224 and conv3x3_64_56_backward (input + weight gradients), at 1 thread and
 * `--threads`. Results are checked against the reference kernels (or a sampled direct sum) first.
 * @module
 */
import { createRuntime, REF_KERNELS, type Runtime } from "../runtime/mod.ts";
import * as K from "../runtime/kernels/mod.ts";
import { type BenchFlags, type BenchRow, checkClose, timeStats } from "./_util.ts";

function fillRandom(rt: Runtime, ptr: number, n: number, seed: number): void {
  const f = rt.heap.f32;
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    f[(ptr >> 2) + i] = s / 4294967296 - 0.5;
  }
}

function conv(
  cIn: number,
  cOut: number,
  hw: number,
  k: number,
  stride: number,
  pad: number,
): K.Conv2dGeometry {
  const out = Math.floor((hw + 2 * pad - k) / stride) + 1;
  return {
    n: 1,
    cIn,
    h: hw,
    w: hw,
    cOut,
    kh: k,
    kw: k,
    strideH: stride,
    strideW: stride,
    padTop: pad,
    padBottom: pad,
    padLeft: pad,
    padRight: pad,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
    outH: out,
    outW: out,
  };
}

/** Runs the cases. */
export async function bench(flags: BenchFlags): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const want = (name: string) => name.includes(flags.filter);
  for (const threads of [1, flags.threads]) {
    const rt = await createRuntime({ backend: threads > 1 ? "wasm-mt" : "wasm", threads });
    try {
      if (want("sgemm_1024")) {
        const n = 1024;
        const a = rt.heap.alloc(4 * n * n), b = rt.heap.alloc(4 * n * n), c = rt.heap.alloc(4 * n * n);
        fillRandom(rt, a, n * n, 1);
        fillRandom(rt, b, n * n, 2);
        const run = () => rt.enqueue(() => K.gemm(rt, { m: n, n, k: n, a, b, c }));
        await run();
        // Check 64 sampled entries against direct sums.
        const f = rt.heap.f32;
        const got = new Float32Array(64), ref = new Float32Array(64);
        for (let s = 0; s < 64; s++) {
          const i = (s * 97) % n, j = (s * 389) % n;
          let sum = 0;
          for (let p = 0; p < n; p++) sum += f[(a >> 2) + i * n + p] * f[(b >> 2) + p * n + j];
          ref[s] = sum;
          got[s] = f[(c >> 2) + i * n + j];
        }
        checkClose(got, ref, 1e-4, "sgemm_1024");
        const t = await timeStats(run, flags.runs);
        rows.push({ name: "sgemm_1024", threads, ms: t.median, bestMs: t.best, flops: 2 * n ** 3 });
        for (const p of [a, b, c]) rt.heap.free(p);
      }
      const convCases: [string, K.Conv2dGeometry][] = [
        ["conv3x3_64_56", conv(64, 64, 56, 3, 1, 1)],
        ["conv1x1_256_64_56", conv(256, 64, 56, 1, 1, 0)],
        ["conv7x7s2_3_64_224", conv(3, 64, 224, 7, 2, 3)],
      ];
      for (const [name, g] of convCases) {
        if (!want(name)) continue;
        const xs = g.cIn * g.h * g.w, ws = g.cOut * g.cIn * g.kh * g.kw, ys = g.cOut * g.outH * g.outW;
        const x = rt.heap.alloc(4 * xs), w = rt.heap.alloc(4 * ws), y = rt.heap.alloc(4 * ys);
        fillRandom(rt, x, xs, 3);
        fillRandom(rt, w, ws, 4);
        const run = () => rt.enqueue(() => K.conv2dForward(rt, g, { x, w, bias: 0, y }));
        await run();
        // Check one output channel against the reference implicit-GEMM kernel.
        const K1 = g.cIn * g.kh * g.kw, hw = g.outH * g.outW;
        const yr = rt.heap.alloc(4 * hw);
        REF_KERNELS.conv2d_gemm(
          rt.heap,
          w,
          x,
          yr,
          1,
          g.cIn,
          xs,
          1,
          g.h,
          g.w,
          g.kh,
          g.kw,
          g.strideH,
          g.strideW,
          g.padTop,
          g.padLeft,
          1,
          1,
          g.outH,
          g.outW,
          256,
          0,
          Math.ceil(hw / 256),
        );
        checkClose(
          rt.heap.f32.slice(y >> 2, (y >> 2) + hw),
          rt.heap.f32.slice(yr >> 2, (yr >> 2) + hw),
          1e-4,
          name,
        );
        rt.heap.free(yr);
        const flops = 2 * ys * K1;
        const t = await timeStats(run, flags.runs);
        rows.push({ name, threads, ms: t.median, bestMs: t.best, flops });
        if (name === "conv3x3_64_56" && want("conv3x3_64_56_backward")) {
          const dx = rt.heap.alloc(4 * xs), dw = rt.heap.alloc(4 * ws);
          const back = () =>
            rt.enqueue(async () => {
              await K.conv2dBackwardInput(rt, g, { dy: y, w, dx });
              await K.conv2dBackwardWeight(rt, g, { dy: y, x, dw, dbias: 0 });
            });
          const fwd = rows[rows.length - 1];
          const tb = await timeStats(back, flags.runs);
          rows.push({
            name: "conv3x3_64_56_backward",
            threads,
            ms: tb.median,
            bestMs: tb.best,
            flops: 2 * flops,
            note: `${(tb.median / fwd.ms).toFixed(2)}x forward (best ${(tb.best / fwd.bestMs!).toFixed(2)}x)`,
          });
          rt.heap.free(dx);
          rt.heap.free(dw);
        }
        for (const p of [x, w, y]) rt.heap.free(p);
      }
    } finally {
      await rt.close();
    }
  }
  return rows;
}
