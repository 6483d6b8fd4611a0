/**
 * Float error of the 3x3 convolution algorithms (implicit GEMM, Winograd F(2x2, 3x3), F(4x4, 3x3)) against
 * a float64 direct convolution, on ResNet shapes (batch 1) with uniform [-1, 1) inputs and He-scaled
 * weights: max and RMS error relative to the RMS of the output.
 * Usage: deno run -A tools/dev/winograd_error.ts
 * @module
 */
import { createRuntime } from "../../runtime/mod.ts";
import * as K from "../../runtime/kernels/mod.ts";
import { same3x3 } from "./_conv.ts";

const rt = await createRuntime({ backend: "wasm", threads: 1 });
let seed = 1;
const rand = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32 * 2 - 1;
for (const [cIn, hw, cOut] of [[64, 56, 64], [128, 28, 128], [256, 14, 256], [512, 7, 512], [16, 32, 16]]) {
  const g = same3x3(1, cIn, hw, cOut);
  const x = Float32Array.from({ length: cIn * hw * hw }, rand);
  const scale = Math.sqrt(6 / (9 * cIn));
  const w = Float32Array.from({ length: cOut * cIn * 9 }, () => rand() * scale);
  // float64 direct convolution
  const want = new Float64Array(cOut * hw * hw);
  for (let o = 0; o < cOut; o++) {
    for (let c = 0; c < cIn; c++) {
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 3; j++) {
          const wv = w[((o * cIn + c) * 3 + i) * 3 + j];
          for (let y = 0; y < hw; y++) {
            const sy = y + i - 1;
            if (sy < 0 || sy >= hw) continue;
            for (let xx = 0; xx < hw; xx++) {
              const sx = xx + j - 1;
              if (sx < 0 || sx >= hw) continue;
              want[(o * hw + y) * hw + xx] += wv * x[(c * hw + sy) * hw + sx];
            }
          }
        }
      }
    }
  }
  const rms = Math.sqrt(want.reduce((s, v) => s + v * v, 0) / want.length);
  const px = rt.heap.alloc(x.length * 4),
    pw = rt.heap.alloc(w.length * 4),
    py = rt.heap.alloc(want.length * 4);
  rt.heap.f32.set(x, px >> 2);
  rt.heap.f32.set(w, pw >> 2);
  const cells: string[] = [];
  for (const algo of ["gemm", "winograd", "winograd43"] as const) {
    const old = K.setConvAlgorithm(algo);
    await rt.enqueue(() => K.conv2dForward(rt, g, { x: px, w: pw, bias: 0, y: py }));
    K.setConvAlgorithm(old);
    const y = rt.heap.f32.subarray(py >> 2, (py >> 2) + want.length);
    let max = 0, sq = 0;
    for (let i = 0; i < want.length; i++) {
      const d = Math.abs(y[i] - want[i]);
      max = Math.max(max, d);
      sq += d * d;
    }
    cells.push(
      `${algo} max ${(max / rms).toExponential(1)} rms ${
        (Math.sqrt(sq / want.length) / rms).toExponential(1)
      }`,
    );
  }
  console.log(`${cIn}->${cOut} ${hw}x${hw} (error / output RMS): ${cells.join(" | ")}`);
  for (const p of [px, pw, py]) rt.heap.free(p);
}
await rt.close();
