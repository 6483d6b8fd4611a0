import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";
import { loadCheckpoint, saveCheckpoint, writeFileAtomic } from "../../io/fs.ts";

await cnn.init({ threads: 1 });

class Net extends cnn.nn.Module {
  conv = new cnn.nn.Conv2d(2, 3, { kernelSize: 3 });
  bn = new cnn.nn.BatchNorm2d(3);
  fc = new cnn.nn.Linear(3, 2);
  forward(x: cnn.Tensor): cnn.Tensor {
    return this.fc.forward(this.bn.forward(this.conv.forward(x)).flatten());
  }
}

async function values(net: cnn.nn.Module): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const [k, t] of net.stateDict()) out[k] = [...await t.data()];
  return out;
}

/** An SGD optimizer with momentum state set directly (the update kernels may not be merged yet). */
function sgdWithState(net: Net, seed: number): cnn.optim.SGD {
  const opt = new cnn.optim.SGD([
    { params: [net.conv.weight, net.conv.bias!] },
    { params: [net.bn.weight!, net.bn.bias!, net.fc.weight, net.fc.bias!], options: { lr: 0.01 } },
  ], { lr: 0.1, momentum: 0.9 });
  const ps = opt.groups.flatMap((g) => g.params);
  const state: Record<string, Record<string, number | Float32Array>> = {};
  ps.forEach((p, i) => {
    if (i === 2) return; // a parameter without state
    state[String(i)] = { momentum_buffer: Float32Array.from({ length: p.size }, (_, j) => seed + i + j / 8) };
  });
  state["0"].step = 17;
  opt.loadStateDict({ lrs: [0.05, 0.005], state });
  return opt;
}

Deno.test("encode/decode checkpoint: model, optimizer state, epoch, step, rng, extra", async () => {
  const a = new Net(), b = new Net();
  a.bn.num_batches_tracked.storage.host![0] = 42n;
  const optA = sgdWithState(a, 1), optB = sgdWithState(b, 100);
  const rngA = new cnn.Generator(5);
  rngA.normal(0, 1); // leaves a spare normal in the state
  rngA.uniform(0, 1);
  const bytes = await cnn.io.encodeCheckpoint({
    model: a,
    optimizer: optA,
    epoch: 3,
    step: 1200,
    rng: rngA,
    extra: { bestAcc: 0.91, schedule: [30, 60], note: "ok" },
  });
  const { metadata, tensors } = cnn.io.parseSafetensors(bytes);
  assert.equal(metadata.format, cnn.io.CHECKPOINT_FORMAT);
  assert.ok(tensors.has("model.bn.num_batches_tracked") && tensors.has("optimizer.3.momentum_buffer"));
  const rngB = new cnn.Generator(99);
  const back = cnn.io.decodeCheckpoint(bytes, { model: b, optimizer: optB, rng: rngB });
  assert.equal(back.epoch, 3);
  assert.equal(back.step, 1200);
  assert.deepEqual(back.extra, { bestAcc: 0.91, schedule: [30, 60], note: "ok" });
  assert.deepEqual(await values(b), await values(a));
  assert.deepEqual(await optB.stateDict(), await optA.stateDict());
  assert.deepEqual(optB.groups.map((g) => g.options.lr), [0.05, 0.005]);
  assert.deepEqual(rngB.getState(), rngA.getState());
  assert.equal(rngB.normal(0, 1), rngA.normal(0, 1));
  assert.equal(rngB.uniform(0, 1), rngA.uniform(0, 1));
});

Deno.test("decodeCheckpoint changes nothing when the checkpoint does not fit", async () => {
  const a = new Net();
  const bytes = await cnn.io.encodeCheckpoint({ model: a, optimizer: sgdWithState(a, 1), epoch: 1, step: 2 });
  class Other extends cnn.nn.Module {
    conv = new cnn.nn.Conv2d(2, 3, { kernelSize: 3 });
    forward(x: cnn.Tensor): cnn.Tensor {
      return x;
    }
  }
  const b = new Net();
  const rng = new cnn.Generator(1);
  const rngBefore = rng.getState();
  const before = await values(b);
  assert.throws(
    () => cnn.io.decodeCheckpoint(bytes, { model: b, rng }),
    /Cannot load checkpoint: the checkpoint has no generator state, but a generator was given/,
  );
  // Wrong model: strict keys fail before anything is written (the generator is put back).
  const withRng = await cnn.io.encodeCheckpoint({ model: a, epoch: 1, step: 2, rng: new cnn.Generator(7) });
  assert.throws(
    () => cnn.io.decodeCheckpoint(withRng, { model: new Other(), rng }),
    /Cannot load state dict: unexpected keys: bn.bias, bn.num_batches_tracked/,
  );
  assert.deepEqual(rng.getState(), rngBefore);
  // Optimizer with another group layout.
  const opt1 = new cnn.optim.SGD(b.parameters(), { lr: 0.1, momentum: 0.9 });
  assert.throws(
    () => cnn.io.decodeCheckpoint(bytes, { model: b, optimizer: opt1 }),
    /Cannot load checkpoint: the optimizer has 1 parameter groups, the checkpoint 2/,
  );
  assert.throws(
    () => cnn.io.decodeCheckpoint(withRng, { model: b, optimizer: opt1 }),
    /the checkpoint has no optimizer state, but an optimizer was given/,
  );
  assert.deepEqual(await values(b), before);
  assert.deepEqual((await opt1.stateDict()).state, {});
  // Not a checkpoint at all.
  const plain = await cnn.io.writeSafetensors(a.stateDict());
  assert.throws(
    () => cnn.io.decodeCheckpoint(plain, { model: b }),
    /Cannot load checkpoint: the file is not a cnnzoo checkpoint \(__metadata__.format is undefined\)/,
  );
  await assert.rejects(
    cnn.io.encodeCheckpoint({ model: a, epoch: -1, step: 0 }),
    /Cannot save checkpoint: epoch must be a non-negative integer, got -1/,
  );
  await assert.rejects(
    cnn.io.encodeCheckpoint({ model: a, epoch: 0, step: 0, extra: { n: 1n } }),
    /Cannot save checkpoint: extra is not JSON-serializable/,
  );
});

// The test task grants --allow-write to this git-ignored folder only.
const TMP_ROOT = new URL("../.tmp/", import.meta.url).pathname;
const canWrite = Deno.permissions.querySync({ name: "write", path: TMP_ROOT }).state === "granted";

async function tempDir(): Promise<string> {
  await Deno.mkdir(TMP_ROOT, { recursive: true });
  return await Deno.makeTempDir({ dir: TMP_ROOT, prefix: "io-" });
}

function listing(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

Deno.test({ name: "saveCheckpoint/loadCheckpoint through a file", ignore: !canWrite }, async () => {
  const dir = await tempDir();
  try {
    const a = new Net(), b = new Net();
    const path = `${dir}/last.safetensors`;
    await saveCheckpoint(path, { model: a, optimizer: sgdWithState(a, 3), epoch: 7, step: 70, extra: [1] });
    const optB = sgdWithState(b, 0);
    const r = await loadCheckpoint(path, { model: b, optimizer: optB });
    assert.deepEqual([r.epoch, r.step, r.extra], [7, 70, [1]]);
    assert.deepEqual(await values(b), await values(a));
    assert.deepEqual(listing(dir), ["last.safetensors"]);
    // URL paths work too.
    await saveCheckpoint(new URL(`file://${dir}/u.safetensors`), { model: a, epoch: 1, step: 1 });
    assert.deepEqual(listing(dir), ["last.safetensors", "u.safetensors"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "atomic save: a failure mid-write keeps the old checkpoint, no temp file",
  ignore: !canWrite,
}, async () => {
  const dir = await tempDir();
  try {
    const path = `${dir}/ckpt.safetensors`;
    const a = new Net();
    await saveCheckpoint(path, { model: a, epoch: 1, step: 10 });
    const old = Deno.readFileSync(path);
    await a.fc.bias!.write([5, 5]);
    // Fail after the first 64-byte chunk reached the temporary file.
    let calls = 0;
    await assert.rejects(
      saveCheckpoint(path, { model: a, epoch: 2, step: 20 }, {
        chunkBytes: 64,
        onProgress: (written, total) => {
          calls++;
          assert.ok(written < total);
          assert.equal(listing(dir).length, 2, "temp file exists while writing");
          throw new Error("disk full (simulated)");
        },
      }),
      /disk full \(simulated\)/,
    );
    assert.equal(calls, 1);
    assert.deepEqual(listing(dir), ["ckpt.safetensors"], "no temp file left");
    assert.deepEqual(Deno.readFileSync(path), old, "old checkpoint intact");
    const b = new Net();
    assert.equal((await loadCheckpoint(path, { model: b })).epoch, 1);
    // Failure before writing (a disposed tensor): nothing changes either.
    const c = new Net();
    c.fc.weight.dispose();
    await assert.rejects(saveCheckpoint(path, { model: c, epoch: 3, step: 30 }), /it was disposed/);
    assert.deepEqual(listing(dir), ["ckpt.safetensors"]);
    assert.deepEqual(Deno.readFileSync(path), old);
    // Rename failure (target is a non-empty folder): temp removed, folder untouched.
    Deno.mkdirSync(`${dir}/busy.safetensors`);
    Deno.writeFileSync(`${dir}/busy.safetensors/x`, new Uint8Array(1));
    await assert.rejects(writeFileAtomic(`${dir}/busy.safetensors`, new Uint8Array(10)));
    assert.deepEqual(listing(dir), ["busy.safetensors", "ckpt.safetensors"]);
    // A successful save replaces the file.
    await saveCheckpoint(path, { model: a, epoch: 2, step: 20 }, { chunkBytes: 64 });
    assert.equal((await loadCheckpoint(path, { model: b })).epoch, 2);
    assert.deepEqual([...await b.fc.bias!.toArray()], [5, 5]);
    assert.deepEqual(listing(dir), ["busy.safetensors", "ckpt.safetensors"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
