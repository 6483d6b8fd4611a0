import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";

Deno.test("schedules: warm-up of 0 steps is no warm-up (no 0/0 NaN), linear and cosine values, bad totals", () => {
  const { cosineLR, linearLR, withWarmup } = cnn.optim;
  const w0 = withWarmup(cosineLR(7), 0);
  for (let t = 0; t <= 7; t++) assert.ok(Number.isFinite(w0.factor(t)), `step ${t}: ${w0.factor(t)}`);
  assert.equal(w0.factor(0), 1);
  const lin = linearLR(0.1, 1, 4);
  assert.deepEqual([0, 2, 4, 9].map((t) => +lin.factor(t).toFixed(6)), [0.1, 0.55, 1, 1]);
  assert.equal(+cosineLR(10).factor(5).toFixed(6), 0.5);
  const warm = withWarmup(cosineLR(100), 10);
  assert.equal(+warm.factor(0).toFixed(6), 0.1);
  assert.throws(() => linearLR(0.1, 1, -1), /Cannot create linearLR: total must be >= 0, got -1/);
  assert.throws(() => cosineLR(0), /tMax must be > 0/);
});
