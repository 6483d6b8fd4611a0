import * as K from "../../runtime/kernels/mod.ts";
import { REF_KERNELS } from "../../runtime/mod.ts";
import assert from "node:assert/strict";
import { assertClose } from "../_util/assert_close.ts";
import { closeBackends, forEachBackend } from "../_util/backends.ts";
import { Buf } from "../_util/buffers.ts";
import { random3x3, same3x3 } from "../_util/conv_naive.ts";
import { int, rng, uniform } from "../_util/rng.ts";
import { checkForwardAndDx } from "../_util/conv_check.ts";

forEachBackend("winograd_pack_u and winograd_fused match their references on odd shapes", async (rt) => {
  const r = rng(81);
  for (let t = 0; t < 10; t++) {
    const g = random3x3(r, { maxC: 20, maxH: 15 });
    const label = JSON.stringify(g);
    const { cIn: c, cOut: k } = g;
    const panels = Math.ceil(k / 6);
    const U = new Buf(rt, uniform(r, 16 * k * c));
    const UP = new Buf(rt, 16 * panels * c * 6), UPr = new Buf(rt, 16 * panels * c * 6);
    await rt.run("winograd_pack_u", [U.ptr, UP.ptr, k, c], { units: 16 });
    REF_KERNELS.winograd_pack_u(rt.heap, U.ptr, UPr.ptr, k, c, 0, 16);
    assert.deepEqual(UP.read(), UPr.read(), `pack ${label}`);
    const tilesH = Math.ceil(g.outH / 2), tilesW = Math.ceil(g.outW / 2);
    const rows = int(r, 1, tilesH); // bands of any height, the last one partial
    const bands = Math.ceil(tilesH / rows);
    const X = new Buf(rt, uniform(r, g.n * c * g.h * g.w)), bias = new Buf(rt, uniform(r, k));
    const ys = g.n * k * g.outH * g.outW;
    for (const [b, relu] of [[0, 0], [bias.ptr, 1], [bias.ptr, 0]]) {
      const Y = new Buf(rt, ys), Yr = new Buf(rt, ys);
      const mid = [c, k, g.h, g.w, g.padTop, g.padLeft, g.outH, g.outW, tilesH, tilesW, rows, relu];
      await rt.run("winograd_fused", [X.ptr, UP.ptr, b, Y.ptr, ...mid], {
        units: g.n * bands,
        cost: 1e9,
        scratchBytes: K.winogradFusedScratchBytes(c, k, tilesW, rows),
      });
      REF_KERNELS.winograd_fused(rt.heap, X.ptr, UP.ptr, b, Yr.ptr, ...mid, 0, g.n * bands);
      const l = `fused rows=${rows} bias=${b !== 0} relu=${relu} ${label}`;
      assertClose(Y.read(), Yr.read(), { rtol: 1e-4, atol: 1e-5 * Math.sqrt(9 * c), label: l });
      Y.free(label);
      Yr.free(label);
    }
    for (const buf of [U, UP, UPr, X, bias]) buf.free(label);
  }
});

forEachBackend("winograd_fused_wgrad matches its reference on odd shapes, bands and parts", async (rt) => {
  const r = rng(83);
  for (let t = 0; t < 10; t++) {
    const g = random3x3(r, { maxC: 20, maxH: 15 });
    const { cIn: c, cOut: k } = g;
    const tilesH = Math.ceil(g.outH / 2), tilesW = Math.ceil(g.outW / 2);
    // Any band height (the last band partial), 1-5 bands at once, some parts without any band.
    const rows = int(r, 1, tilesH), group = int(r, 1, 5), parts = int(r, 1, 4);
    const label = `rows=${rows} group=${group} parts=${parts} ${JSON.stringify(g)}`;
    const X = new Buf(rt, uniform(r, g.n * c * g.h * g.w));
    const DY = new Buf(rt, uniform(r, g.n * k * g.outH * g.outW));
    // Stale values in the outputs: every part's sum must be overwritten.
    const DU = new Buf(rt, uniform(r, parts * 16 * k * c)), DUr = new Buf(rt, parts * 16 * k * c);
    const args = [X.ptr, DY.ptr, DU.ptr, c, k, g.h, g.w, g.padTop, g.padLeft, g.outH, g.outW, tilesH, tilesW];
    const tail = [rows, group, g.n, parts];
    await rt.run("winograd_fused_wgrad", [...args, ...tail], {
      units: parts,
      cost: 1e9,
      scratchBytes: K.winogradFusedWgradScratchBytes(c, k, tilesW, rows, group),
    });
    REF_KERNELS.winograd_fused_wgrad(rt.heap, X.ptr, DY.ptr, DUr.ptr, ...args.slice(3), ...tail, 0, parts);
    const n = g.n * tilesH * tilesW;
    assertClose(DU.read(), DUr.read(), { rtol: 1e-4, atol: 1e-5 * Math.sqrt(n), label });
    for (const buf of [X, DY, DU, DUr]) buf.free(label);
  }
});

forEachBackend(
  "fused Winograd forward (and the input gradient through it) matches the naive convolution",
  async (rt) => {
    const oldAlgo = K.setConvAlgorithm("winograd");
    const oldFused = K.setWinogradFused("on");
    try {
      const r = rng(82);
      const cases = [
        same3x3(2, 66, 9, 9, 70), // more than 64 channels and an odd tile count
        same3x3(3, 16, 32, 32, 16),
        same3x3(1, 8, 40, 40, 8), // 20 tiles a row: bands of 2 rows (whole 8-tile panels)
        ...Array.from({ length: 12 }, () => random3x3(r, { maxC: 20, maxH: 17 })),
      ];
      for (const g of cases) {
        assert.ok(K.useWinograd(g) && K.useWinogradFused(g, rt.threads), "the forced path is used");
        await checkForwardAndDx(rt, r, g);
      }
    } finally {
      K.setWinogradFused(oldFused);
      K.setConvAlgorithm(oldAlgo);
    }
  },
);

Deno.test("the automatic choice fuses F(2x2, 3x3) forwards of <= 64 channels on several threads, <= 16 on one; weight gradients of <= 64", () => {
  assert.equal(K.useWinogradFused(same3x3(128, 64, 8, 8, 64), 2), true);
  assert.equal(K.useWinogradFused(same3x3(1, 128, 28, 28, 128), 2), false);
  assert.equal(K.useWinogradFused(same3x3(128, 16, 32, 32, 16), 1), true);
  assert.equal(K.useWinogradFused(same3x3(128, 32, 16, 16, 32), 1), false);
  assert.equal(K.useWinogradFusedWgrad(same3x3(128, 64, 8, 8, 64)), true, "weight gradient");
  assert.equal(K.useWinogradFusedWgrad(same3x3(8, 128, 28, 28, 128)), false, "weight gradient");
});

Deno.test("close backends (winograd fused)", closeBackends);
