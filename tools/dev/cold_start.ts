/**
 * Cold start of ResNet-50 inference: init (wasm compile, workers), building the model from a safetensors
 * file (as a server would), and the first forward at 224 x 224, batch 1 (plain and frozen).
 * Usage: deno run -A tools/dev/cold_start.ts [threads=2]
 * @module
 */
import * as cnn from "../../mod.ts";

const t0 = performance.now();
await cnn.init({ threads: Number(Deno.args[0] ?? 2) });
const tInit = performance.now();
// The weights file a server would load (written here from a seeded model, outside the timing).
const bytes = (() => {
  const src = cnn.models.create("resnet50");
  const b = cnn.io.writeSafetensors(src.stateDict());
  src.dispose();
  return b;
})();
const t1 = performance.now();
const net = cnn.models.create("resnet50", { init: false });
cnn.io.loadSafetensors(net, bytes, { strict: true });
net.eval();
const tLoad = performance.now();
const x = cnn.zeros([1, 3, 224, 224]);
const y = cnn.noGrad(() => net.forward(x));
await y.toArray();
const tFirst = performance.now();
const frozen = await cnn.nn.freeze(net, [1, 3, 224, 224]);
const tFreeze = performance.now();
await frozen.forward(x).toArray();
const tFrozen = performance.now();
console.log(
  `init ${(tInit - t0).toFixed(0)} ms, build + load weights ${(tLoad - t1).toFixed(0)} ms, first forward ${
    (tFirst - tLoad).toFixed(0)
  } ms => cold start ${(tInit - t0 + tFirst - t1).toFixed(0)} ms; freeze ${
    (tFreeze - tFirst).toFixed(0)
  } ms, ` +
    `first frozen forward ${(tFrozen - tFreeze).toFixed(0)} ms`,
);
await cnn.shutdown();
