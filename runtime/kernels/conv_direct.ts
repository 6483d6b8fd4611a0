/**
 * Direct 3x3 stride-1 convolution launcher (`direct3x3_*` kernels): no im2col, no transforms. "auto"
 * uses it for inputs of at most 4 channels (image stems), where Winograd does not apply and the implicit
 * GEMM's k = 9 cIn is too short for its packing to pay: measured 2026-11-29 (tools/dev/direct_shapes.ts,
 * interleaved best-of, 1 and 2 threads) 3->16 at 32x32 batch 128 1.4-1.6x forward and 1.5-1.6x weight
 * gradient, 3->64 at 224x224 1.06-1.2x forward and 1.1-1.9x weight gradient over the implicit GEMM. With
 * 16 or more channels Winograd or the GEMM wins (direct runs at ~60% of the Wasm SIMD peak: 0.45-1.0x).
 * @module
 */
import type { Runtime } from "../runtime.ts";
import type { Conv2dGeometry } from "./conv2d.ts";
import { convAlgorithm, winogradApplies } from "./winograd.ts";

/** Output channels per block of the forward kernel (DR in assembly/conv_direct.ts). */
const DR = 6;
/** Bytes of padded input a chunk of images may use. */
let budget = 8 << 20;

/** @internal Sets the chunk budget in bytes (tests use a tiny one to exercise chunking); returns the old one. */
export function setDirectChunkBytes(bytes: number): number {
  const old = budget;
  budget = bytes;
  return old;
}

/**
 * True if the forward should run as the direct kernel (forced by setConvAlgorithm("direct"), or auto). It
 * takes the convolutions Winograd takes: 3x3, stride 1, dilation 1, one group.
 */
export function useDirect(g: Conv2dGeometry): boolean {
  if (!winogradApplies(g)) return false;
  const a = convAlgorithm();
  return a === "direct" || (a === "auto" && g.cIn <= 4);
}

/** True if the weight gradient should run as the direct kernel (it needs outW % 4 == 0). */
export function useDirectWgrad(g: Conv2dGeometry): boolean {
  return useDirect(g) && g.outW % 4 === 0;
}

/** Rows and columns of a padded plane: outH + 2 rows, room for 8-column loads at every kx. */
function padded(g: Conv2dGeometry): { hp: number; wp: number } {
  return { hp: g.outH + 2, wp: Math.ceil(g.outW / 8) * 8 + 4 };
}

/** Images per chunk of the padded input. */
function chunkOf(g: Conv2dGeometry, hp: number, wp: number): number {
  return Math.max(1, Math.min(g.n, Math.floor(budget / (4 * g.cIn * hp * wp))));
}

/** Pads images [i0, i0 + nb) of x into xp. */
function pad(rt: Runtime, g: Conv2dGeometry, x: number, xp: number, i0: number, nb: number) {
  const { hp, wp } = padded(g);
  return rt.exec(
    "direct3x3_pad",
    [x + i0 * g.cIn * g.h * g.w * 4, xp, g.h, g.w, hp, wp, g.padTop, g.padLeft],
    { units: nb * g.cIn, cost: nb * g.cIn * hp * wp },
  );
}

/** y = conv(x, w) (+ bias) (ReLU if `relu`) by the direct kernel; bias may be 0 (none). */
export async function conv2dDirect(
  rt: Runtime,
  g: Conv2dGeometry,
  b: { x: number; w: number; bias: number; y: number; relu?: boolean },
): Promise<void> {
  const { hp, wp } = padded(g);
  const blocks = Math.ceil(g.cOut / DR);
  const chunk = chunkOf(g, hp, wp);
  const wq = rt.heap.alloc(blocks * DR * g.cIn * 9 * 4);
  const xp = rt.heap.alloc(chunk * g.cIn * hp * wp * 4);
  try {
    await rt.exec("direct3x3_weights", [b.w, wq, g.cOut, g.cIn], { units: blocks, cost: 9 * g.cOut * g.cIn });
    for (let i0 = 0; i0 < g.n; i0 += chunk) {
      const nb = Math.min(chunk, g.n - i0);
      await pad(rt, g, b.x, xp, i0, nb);
      await rt.exec(
        "direct3x3_forward",
        [
          xp,
          wq,
          b.bias,
          b.y + i0 * g.cOut * g.outH * g.outW * 4,
          g.cIn,
          g.cOut,
          g.outH,
          g.outW,
          hp,
          wp,
          b.relu ? 1 : 0,
        ],
        {
          units: nb * blocks * g.outH,
          cost: 2 * nb * g.cOut * g.cIn * 9 * g.outH * g.outW,
          scratchBytes: 256,
        },
      );
    }
  } finally {
    rt.heap.free(xp);
    rt.heap.free(wq);
  }
}

/** dw = the weight gradient of the convolution (overwritten) by the direct kernel (outW % 4 == 0). */
export async function conv2dDirectWeightGrad(
  rt: Runtime,
  g: Conv2dGeometry,
  b: { dy: number; x: number; dw: number },
): Promise<void> {
  const { hp, wp } = padded(g);
  const units = Math.ceil(g.cOut / 4) * g.cIn * 3;
  const chunk = chunkOf(g, hp, wp);
  const acc = rt.heap.alloc(units * 48 * 4);
  const xp = rt.heap.alloc(chunk * g.cIn * hp * wp * 4);
  try {
    for (let i0 = 0; i0 < g.n; i0 += chunk) {
      const nb = Math.min(chunk, g.n - i0);
      await pad(rt, g, b.x, xp, i0, nb);
      await rt.exec(
        "direct3x3_wgrad",
        [
          b.dy + i0 * g.cOut * g.outH * g.outW * 4,
          xp,
          acc,
          b.dw,
          nb,
          g.cIn,
          g.cOut,
          g.outH,
          g.outW,
          hp,
          wp,
          i0 === 0 ? 1 : 0,
          i0 + nb >= g.n ? 1 : 0,
          0,
        ],
        { units, cost: 2 * nb * g.cOut * g.cIn * 9 * g.outH * g.outW },
      );
    }
  } finally {
    rt.heap.free(xp);
    rt.heap.free(acc);
  }
}
