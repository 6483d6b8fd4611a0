/**
 * Fused Winograd F(2x2, 3x3) launchers. Forward (`winograd_fused`): per band of tile rows, the input tiles
 * are transformed into packed GEMM panels in the thread's scratch, multiplied by the packed transformed
 * weights (`winograd_pack_u`) and transformed back. Weight gradient (`winograd_fused_wgrad`): per group of
 * bands, input and output-gradient tiles are transformed into the scratch and their products summed there.
 * Either way the 4x-expanded tiles never go through memory.
 * @module
 */
import type { Runtime } from "../runtime.ts";
import type { Conv2dGeometry } from "./conv2d.ts";
import { planeStride, winogradWeights } from "./winograd.ts";

/** "auto" picks by shape; "on" fuses every F(2x2, 3x3) forward and weight gradient, "off" none (tests and benchmarks). */
export type FusedMode = "auto" | "on" | "off";
let mode: FusedMode = "auto";

/** @internal Sets when the F(2x2, 3x3) forward runs fused; returns the old setting. */
export function setWinogradFused(m: FusedMode): FusedMode {
  const old = mode;
  mode = m;
  return old;
}

/**
 * True if an F(2x2, 3x3) forward of this geometry should run fused on `threads` threads. Measured
 * 2026-11-29 against the unfused path (tools/dev/fused_shapes.ts, interleaved best-of; the machine's load
 * moved the ratios between runs): on 2 threads 1.04-1.5x with <= 64 channels (CIFAR shapes at batch 8-128;
 * 64@56 1.05-1.08x once bands hold whole 8-tile panels, 0.84-0.87x before), slower with 256 and 512 (ResNet
 * layers); on 1 thread 0.98-1.06x, so only <= 16 channels there.
 */
export function useWinogradFused(g: Conv2dGeometry, threads: number): boolean {
  if (mode !== "auto") return mode === "on";
  const limit = threads > 1 ? 64 : 16;
  return g.cIn <= limit && g.cOut <= limit;
}

let bandRowsOverride = 0;
/** @internal Overrides the fused forward's tile rows per band (0: automatic); returns the old value. */
export function setFusedBandRows(rows: number): number {
  const old = bandRowsOverride;
  bandRowsOverride = rows;
  return old;
}

/**
 * Tile rows per band: enough for 16 tiles (two 8-tile GEMM panels), 8 when more than 64 channels go in and
 * out (the band's transformed tiles then stay in cache: 64@8 at batch 128 1.04-1.06x on 1 and 2 threads),
 * and a whole number of 8-tile panels where the image allows (28 tiles a row: 2 rows, not 1 with a
 * half-empty last panel), at most the image.
 */
function bandRows(tilesH: number, tilesW: number, channels: number): number {
  if (bandRowsOverride) return Math.min(tilesH, bandRowsOverride);
  const tw4 = Math.ceil(tilesW / 4) * 4;
  let rows = Math.max(1, Math.ceil((channels > 64 ? 8 : 16) / tw4));
  if ((rows * tw4) % 8 !== 0 && rows + 1 <= tilesH) rows++;
  return Math.min(tilesH, rows);
}

/** Scratch bytes per thread of `winograd_fused` (see its layout in assembly/winograd_fused.ts). */
export function winogradFusedScratchBytes(c: number, k: number, tilesW: number, rows: number): number {
  const tw4 = Math.ceil(tilesW / 4) * 4, q8 = Math.ceil(rows * tw4 / 8), tb = 8 * q8;
  const pad = (2 * tw4 + 12) * (2 * rows + 2);
  return (pad + 16 * q8 * c * 8 + 16 * k * tb + 4 + 4 + 64) * 4;
}

/**
 * y = conv(x, w) (+ bias) (ReLU if `relu`) by fused Winograd F(2x2, 3x3); bias may be 0. `u`, when given,
 * holds the F(2x2, 3x3)-transformed weights [16, cOut, cIn].
 */
export async function conv2dWinogradFused(
  rt: Runtime,
  g: Conv2dGeometry,
  b: { x: number; w: number; bias: number; y: number; relu?: boolean; u?: number },
): Promise<void> {
  const { cIn: c, cOut: k, outH, outW } = g;
  const tilesH = Math.ceil(outH / 2), tilesW = Math.ceil(outW / 2);
  const rows = bandRows(tilesH, tilesW, c + k), bands = Math.ceil(tilesH / rows);
  const panels = Math.ceil(k / 6);
  const u = b.u ? 0 : rt.heap.alloc(16 * k * c * 4);
  const up = rt.heap.alloc(16 * panels * c * 6 * 4);
  try {
    if (u) await winogradWeights(rt, { w: b.w, u, k, c });
    await rt.exec("winograd_pack_u", [b.u || u, up, k, c], { units: 16, cost: 16 * panels * 6 * c });
    await rt.exec(
      "winograd_fused",
      [
        b.x,
        up,
        b.bias,
        b.y,
        c,
        k,
        g.h,
        g.w,
        g.padTop,
        g.padLeft,
        outH,
        outW,
        tilesH,
        tilesW,
        rows,
        b.relu ? 1 : 0,
      ],
      {
        units: g.n * bands,
        cost: 32 * k * c * g.n * tilesH * tilesW,
        scratchBytes: winogradFusedScratchBytes(c, k, tilesW, rows),
      },
    );
  } finally {
    rt.heap.free(up);
    if (u) rt.heap.free(u);
  }
}

/**
 * True if the F(2x2, 3x3) weight gradient of this geometry should run fused (`winograd_fused_wgrad`),
 * under the same switch as the forward. Measured 2026-11-29 against the unfused path
 * (`tools/dev/fused_shapes.ts <threads> wgrad`, interleaved best-of): with <= 64 channels 1.3-2.5x on 2
 * threads and 1.05-1.5x on 1 (CIFAR shapes at batch 8-128, 64@56); with 128-512 channels only 1.0-1.1x
 * (each part's 16 x cOut x cIn sums, 16 MB at 512, are read and written once per group of tiles), so
 * "auto" fuses <= 64 channels in and out.
 */
export function useWinogradFusedWgrad(g: Conv2dGeometry): boolean {
  if (mode !== "auto") return mode === "on";
  return g.cIn <= 64 && g.cOut <= 64;
}

let wgradTileTarget = 0;
/** @internal Overrides the fused weight gradient's tiles per group of bands (0: automatic); returns the old value. */
export function setWgradBandTiles(t: number): number {
  const old = wgradTileTarget;
  wgradTileTarget = t;
  return old;
}

/**
 * The fused weight gradient's bands (tile rows of one image) and how many it transforms at once: bands of
 * about 16 tiles (whole rows), grouped so a group holds about `tiles` (default 128) tiles: long enough sums
 * per block of dU, few enough that the group's transformed tiles (64 (c + k) bytes each) stay in cache.
 */
function wgradBands(tilesH: number, tilesW: number): { rows: number; group: number } {
  const tw4 = Math.ceil(tilesW / 4) * 4;
  const rows = Math.min(tilesH, Math.max(1, Math.round(16 / tw4)));
  const tiles = wgradTileTarget || 128;
  return { rows, group: Math.max(1, Math.round(tiles / (rows * tw4))) };
}

/** Scratch bytes per thread of `winograd_fused_wgrad` (see its layout in assembly/winograd_fused.ts). */
export function winogradFusedWgradScratchBytes(
  c: number,
  k: number,
  tilesW: number,
  rows: number,
  group: number,
): number {
  const tw4 = Math.ceil(tilesW / 4) * 4, tb = Math.ceil(group * rows * tw4 / 8) * 8;
  const pad = (2 * tw4 + 12) * (2 * rows + 2);
  const c4 = Math.ceil(c / 4) * 4, k2 = Math.ceil(k / 2) * 2;
  return (pad + 16 * planeStride(c4 * tb) + 16 * planeStride(k2 * tb)) * 4;
}

/**
 * dw = the weight gradient of the convolution (overwritten) by fused Winograd F(2x2, 3x3): each of
 * `rt.threads` parts sums dU_xi = E_xi V_xi^T over its bands of tile rows into its own buffer, and
 * `winograd_dweight` maps the parts' sums back to 3x3 (adding them up).
 */
export async function conv2dWinogradFusedWeightGrad(
  rt: Runtime,
  g: Conv2dGeometry,
  b: { dy: number; x: number; dw: number },
): Promise<void> {
  const { cIn: c, cOut: k, outH, outW } = g;
  const tilesH = Math.ceil(outH / 2), tilesW = Math.ceil(outW / 2);
  const { rows, group } = wgradBands(tilesH, tilesW);
  const parts = rt.threads;
  const du = rt.heap.alloc(parts * 16 * k * c * 4);
  try {
    await rt.exec(
      "winograd_fused_wgrad",
      [
        b.x,
        b.dy,
        du,
        c,
        k,
        g.h,
        g.w,
        g.padTop,
        g.padLeft,
        outH,
        outW,
        tilesH,
        tilesW,
        rows,
        group,
        g.n,
        parts,
      ],
      {
        units: parts,
        cost: 32 * k * c * g.n * tilesH * tilesW,
        scratchBytes: winogradFusedWgradScratchBytes(c, k, tilesW, rows, group),
      },
    );
    for (let p = 0; p < parts; p++) {
      await rt.exec("winograd_dweight", [du + p * 16 * k * c * 4, b.dw, k, c, p > 0 ? 1 : 0], {
        units: Math.ceil(k * c / 4),
        cost: 40 * k * c,
      });
    }
  } finally {
    rt.heap.free(du);
  }
}
