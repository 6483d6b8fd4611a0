/**
 * DenseNet whole-model parity with torch (tools/fixtures/make_densenet_parity.py, torch 1.13 /
 * torchvision 0.14, seeds 1234-1236): torchvision densenet121 eval logits at 224 (tests/fixtures/large/,
 * skipped visibly when absent); a small CIFAR DenseNet-BC (k=12, L=16) and a small plain DenseNet (k=6,
 * L=10), committed, each in eval mode and one train-mode forward/backward (logits, loss, every gradient,
 * running statistics). Also the concatenation order (earliest features first). Guarded by kernelsReady()
 * until the kernels merge.
 */
import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";
import { exists, readFixture } from "../_util/fixture.ts";
import { kernelsReady, MODEL_KERNELS } from "../_util/kernels_ready.ts";
import { DenseBlock } from "../../models/densenet.ts";
import { evalParity, trainParity } from "./_preact_densenet_parity.ts";

const READY = kernelsReady(...MODEL_KERNELS, "copyStrided", "reluForward", "reluBackward");
if (READY) await cnn.init({ threads: 1 });

const small = (f: string) => new URL(`../fixtures/${f}.safetensors`, import.meta.url);
const LARGE = new URL("../fixtures/large/densenet121_parity.safetensors", import.meta.url);

/** The small nets as overrides of registered rows (CIFAR layout). */
const BC_SMALL = { blockConfig: [2, 2, 2] };
const PLAIN_SMALL = { growthRate: 6, blockConfig: [2, 2, 2] };

Deno.test({
  name: "densenet121 eval logits match torchvision (large fixture)",
  ignore: !READY || !exists(LARGE),
  fn: () => evalParity("densenet121", readFixture(Deno.readFileSync(LARGE))),
});

Deno.test({
  name: "DenseNet-BC (CIFAR, k=12, L=16) eval logits match torch",
  ignore: !READY,
  fn: () =>
    evalParity(
      "densenet_bc_100_12",
      readFixture(Deno.readFileSync(small("densenet_bc_small_parity"))),
      BC_SMALL,
    ),
});

Deno.test({
  name: "DenseNet-BC (CIFAR, k=12, L=16) train-mode forward/backward matches torch",
  ignore: !READY,
  fn: () =>
    trainParity(
      "densenet_bc_100_12",
      readFixture(Deno.readFileSync(small("densenet_bc_small_parity"))),
      BC_SMALL,
    ),
});

Deno.test({
  name: "plain DenseNet (CIFAR, k=6, L=10) eval and train-mode forward/backward match torch",
  ignore: !READY,
  fn: async () => {
    const fx = readFixture(Deno.readFileSync(small("densenet_small_parity")));
    await evalParity("densenet_40_12", fx, PLAIN_SMALL);
    await trainParity("densenet_40_12", fx, PLAIN_SMALL);
  },
});

Deno.test({
  name: "dense block output is [input, layer 1, layer 2, ...] (earliest features first)",
  ignore: !READY,
  fn: async () => {
    const block = new DenseBlock(2, 3, 2, { bnSize: 0, dropout: 0, placement: "torchvision" });
    block.eval();
    const x = cnn.tensor(Float32Array.from({ length: 2 * 3 * 4 * 4 }, (_, i) => Math.sin(i)), [2, 3, 4, 4]);
    const y = cnn.noGrad(() => block.forward(x));
    assert.deepEqual([...y.shape], [2, 7, 4, 4]);
    const [l1, l2] = block.namedChildren().map(([, m]) => m);
    const f1 = cnn.noGrad(() => l1.forward(x));
    const cat1 = cnn.ops.concat([x, f1]);
    const f2 = cnn.noGrad(() => l2.forward(cat1));
    const yd = await y.toArray() as Float32Array;
    const parts = [await x.toArray(), await f1.toArray(), await f2.toArray()] as Float32Array[];
    const cs = [3, 2, 2];
    for (let n = 0; n < 2; n++) {
      let off = 0;
      parts.forEach((p, i) => {
        const c = cs[i];
        const got = yd.subarray((n * 7 + off) * 16, (n * 7 + off + c) * 16);
        assert.deepEqual(Array.from(got), Array.from(p.subarray(n * c * 16, (n + 1) * c * 16)), `part ${i}`);
        off += c;
      });
    }
    for (const t of [x, y, f1, cat1, f2]) t.dispose();
    block.dispose();
  },
});
