// Issue 3: the contract example, as written (every compute call awaited), from mod.ts.
import assert from "node:assert/strict";
import * as cnn from "../mod.ts";

Deno.test("the issue-3 contract example runs as written", async () => {
  await cnn.init({ threads: 2 });
  try {
    const x = cnn.tensor(new Float32Array(2 * 3 * 32 * 32).fill(0.5), [2, 3, 32, 32]);
    const net = new cnn.nn.Sequential(
      new cnn.nn.Conv2d(3, 8, { kernelSize: 3, padding: 1, bias: false }),
      new cnn.nn.BatchNorm2d(8),
      new cnn.nn.ReLU(),
      new cnn.nn.AdaptiveAvgPool2d(1),
      new cnn.nn.Flatten(),
      new cnn.nn.Linear(8, 10),
    );
    net.train();
    const logits = await net.forward(x);
    const loss = await cnn.nn.crossEntropy(logits, new Int32Array([3, 1]), { labelSmoothing: 0.1 });
    await loss.backward();
    const opt = new cnn.optim.SGD(net.parameters(), {
      lr: 0.1,
      momentum: 0.9,
      nesterov: true,
      weightDecay: 5e-4,
    });
    await opt.step();
    opt.zeroGrad();
    const bytes = cnn.io.writeSafetensors(net.stateDict()); // Uint8Array
    net.loadStateDict(cnn.io.readSafetensors(bytes), { strict: true });
    net.eval();
    const probs: Float32Array = await (await net.forward(x)).softmax(1).toArray();
    assert.ok(bytes instanceof Uint8Array && bytes.length > 0);
    assert.equal(probs.length, 20);
    for (let i = 0; i < 2; i++) {
      const row = probs.subarray(i * 10, (i + 1) * 10);
      assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
    }
    // state_dict keys as PyTorch names them; num_batches_tracked is int64 with shape [].
    const sd = net.stateDict();
    assert.deepEqual([...sd.keys()], [
      "0.weight",
      "1.weight",
      "1.bias",
      "1.running_mean",
      "1.running_var",
      "1.num_batches_tracked",
      "5.weight",
      "5.bias",
    ]);
    assert.equal(sd.get("1.num_batches_tracked")!.dtype, "int64");
    assert.deepEqual(sd.get("1.num_batches_tracked")!.shape, []);
    assert.equal(await sd.get("1.num_batches_tracked")!.item(), 1);
  } finally {
    await cnn.shutdown();
  }
});
