// Issue 3: deterministic memory release. 10,000 inference calls and 200 training steps of a small net
// must leave the heap's bytes in use where they started (every intermediate tensor freed).
import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";
import { kernelsReady, MODEL_KERNELS } from "../_util/kernels_ready.ts";

// `deno task test:soak` sets CNNZOO_SOAK=1: 1,000 training steps instead of 200, and the figures printed.
const SOAK = Deno.env.get("CNNZOO_SOAK") === "1";
const TRAIN_STEPS = SOAK ? 1000 : 200;

Deno.test({
  name: `10,000 forward calls and ${TRAIN_STEPS} training steps do not grow memory`,
  ignore: !kernelsReady(...MODEL_KERNELS, "sgdStep", "crossEntropyForward"),
  fn: async () => {
    const rt = await cnn.createRuntime({ backend: "wasm", threads: 1 });
    try {
      const { net, x } = cnn.withRuntime(rt, () => ({
        net: new cnn.nn.Sequential(
          new cnn.nn.Conv2d(3, 4, { kernelSize: 3, padding: 1 }),
          new cnn.nn.BatchNorm2d(4),
          new cnn.nn.ReLU(),
          new cnn.nn.AdaptiveAvgPool2d(1),
          new cnn.nn.Flatten(),
          new cnn.nn.Linear(4, 3),
        ),
        x: cnn.tensor(new Float32Array(2 * 3 * 6 * 6).map((_, i) => Math.sin(i)), [2, 3, 6, 6]),
      }));
      const labels = new Int32Array([2, 0]);
      const opt = new cnn.optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
      const step = async () => {
        await cnn.tidy(async () => {
          const loss = cnn.nn.crossEntropy(net.forward(x), labels);
          await loss.backward();
          await opt.step();
          opt.zeroGrad();
          await loss.item();
        });
      };
      await step(); // optimizer state is allocated on the first step
      net.eval();
      // Inference in a tidy() scope: every intermediate tensor is freed when the scope ends.
      const infer = async () => {
        await cnn.tidy(async () => await cnn.noGrad(() => net.forward(x)).toArray());
      };
      await infer();
      const before = rt.heap.bytesInUse;
      for (let i = 0; i < 10_000; i++) await infer();
      assert.equal(rt.heap.bytesInUse, before, "inference leaked");
      net.train();
      await step();
      const beforeTrain = rt.heap.bytesInUse;
      const rss0 = Deno.memoryUsage().rss;
      for (let i = 0; i < TRAIN_STEPS; i++) await step();
      assert.equal(rt.heap.bytesInUse, beforeTrain, "training leaked");
      if (SOAK) {
        console.log(
          `soak: arena ${before} B in use before 10,000 inferences and after; ${beforeTrain} B before and ` +
            `after ${TRAIN_STEPS} training steps; process RSS ${(rss0 / 2 ** 20).toFixed(1)} -> ` +
            `${(Deno.memoryUsage().rss / 2 ** 20).toFixed(1)} MiB`,
        );
      }
    } finally {
      await rt.close();
    }
  },
});
