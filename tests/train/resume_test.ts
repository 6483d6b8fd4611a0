// Issue 5: a run resumed from its checkpoint continues bit-identically to an uninterrupted run (same
// seed: same losses, same final weights), including shuffling order, momentum and schedule position.
import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";
import { loadCheckpoint, saveCheckpoint } from "../../io/fs.ts";

const DIR = "tests/.tmp/resume";

function setup(rt: cnn.Runtime) {
  return cnn.withRuntime(rt, () => {
    cnn.manualSeed(3);
    const net = new cnn.nn.Sequential(
      new cnn.nn.Conv2d(1, 4, { kernelSize: 3, padding: 1 }),
      new cnn.nn.BatchNorm2d(4),
      new cnn.nn.ReLU(),
      new cnn.nn.AdaptiveAvgPool2d(1),
      new cnn.nn.Flatten(),
      new cnn.nn.Linear(4, 3),
    );
    const g = new cnn.Generator(9);
    const images = new Float32Array(24 * 36).map(() => g.uniform());
    const labels = new Int32Array(24).map((_, i) => i % 3);
    const ds = new cnn.data.ArrayDataset(images, labels, [1, 6, 6], 3);
    const loader = new cnn.data.DataLoader(ds, { batchSize: 5, shuffle: true });
    const opt = new cnn.optim.SGD(net.parameters(), {
      lr: 0.05,
      momentum: 0.9,
      nesterov: true,
      weightDecay: 1e-3,
    });
    return { net, loader, opt };
  });
}

Deno.test("resuming from a checkpoint continues bit-identically", async () => {
  await Deno.mkdir(DIR, { recursive: true });
  await cnn.init({ threads: 1 });
  const rt = cnn.runtime();
  try {
    const schedule = cnn.optim.cosineLR(20);
    const run = async (startEpoch: number, epochs: number, s: ReturnType<typeof setup>) => {
      const losses: number[] = [];
      await cnn.withRuntime(rt, () =>
        cnn.train.fit(s.net, s.loader, {
          epochs,
          startEpoch,
          optimizer: s.opt,
          schedule,
          onProgress: (p) => losses.push(p.loss),
        }));
      return losses;
    };
    // Uninterrupted: 4 epochs.
    const a = setup(rt);
    const full = await run(0, 4, a);
    const fullWeights = cnn.io.writeSafetensors(a.net.stateDict());
    // Interrupted after 2 epochs, checkpointed, restored into fresh objects, continued.
    const b = setup(rt);
    const first = await run(0, 2, b);
    await saveCheckpoint(`${DIR}/last.safetensors`, {
      model: b.net,
      optimizer: b.opt,
      epoch: 2,
      step: 2 * b.loader.length,
      rng: cnn.defaultGenerator,
    });
    const c = setup(rt);
    const r = await loadCheckpoint(`${DIR}/last.safetensors`, {
      model: c.net,
      optimizer: c.opt,
      rng: cnn.defaultGenerator,
    });
    assert.equal(r.epoch, 2);
    const rest = await run(r.epoch, 4, c);
    assert.deepEqual([...first, ...rest], full);
    assert.deepEqual(cnn.io.writeSafetensors(c.net.stateDict()), fullWeights);
  } finally {
    await cnn.shutdown();
    await Deno.remove(DIR, { recursive: true }).catch(() => {});
  }
});
