import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";

await cnn.init({ threads: 1 });

class Block extends cnn.nn.Module {
  conv1 = new cnn.nn.Conv2d(4, 4, { kernelSize: 3, padding: 1, bias: false });
  bn1 = new cnn.nn.BatchNorm2d(4);
  relu = new cnn.nn.ReLU();
  downsample: cnn.nn.Module | null = null;
  forward(x: cnn.Tensor): cnn.Tensor {
    return this.relu.forward(this.bn1.forward(this.conv1.forward(x)));
  }
}

class Net extends cnn.nn.Module {
  conv1 = new cnn.nn.Conv2d(3, 4, { kernelSize: 7, stride: 2, padding: 3, bias: false });
  bn1 = new cnn.nn.BatchNorm2d(4);
  layer1 = new cnn.nn.Sequential(new Block(), new Block());
  fc = new cnn.nn.Linear(4, 10);
  forward(x: cnn.Tensor): cnn.Tensor {
    return this.fc.forward(this.layer1.forward(this.bn1.forward(this.conv1.forward(x))).flatten());
  }
}

Deno.test("state_dict keys follow PyTorch: attribute paths, params then buffers then children", () => {
  const net = new Net();
  const keys = [...net.stateDict().keys()];
  const bn = (
    p: string,
  ) => [`${p}.weight`, `${p}.bias`, `${p}.running_mean`, `${p}.running_var`, `${p}.num_batches_tracked`];
  assert.deepEqual(keys, [
    "conv1.weight",
    ...bn("bn1"),
    "layer1.0.conv1.weight",
    ...bn("layer1.0.bn1"),
    "layer1.1.conv1.weight",
    ...bn("layer1.1.bn1"),
    "fc.weight",
    "fc.bias",
  ]);
  const sd = net.stateDict();
  assert.equal(sd.get("bn1.num_batches_tracked")!.dtype, "int64");
  assert.deepEqual(sd.get("bn1.num_batches_tracked")!.shape, []);
  assert.deepEqual(sd.get("layer1.1.conv1.weight")!.shape, [4, 4, 3, 3]);
  assert.equal(net.numParameters(), 3 * 4 * 49 + 8 + 2 * (4 * 4 * 9 + 8) + 40 + 10);
  assert.equal(net.parameters().length, 1 + 2 + 2 * 3 + 2);
  assert.equal(net.buffers().length, 3 * 3);
});

Deno.test("train()/eval() reach every descendant", () => {
  const net = new Net();
  net.eval();
  assert.ok(net.namedModules().every(([, m]) => !m.training));
  net.train();
  assert.ok(net.namedModules().every(([, m]) => m.training));
});

Deno.test("loadStateDict names missing, unexpected and mismatched keys, and writes nothing on error", async () => {
  const a = new Net(), b = new Net();
  const sd = new Map(b.stateDict());
  sd.delete("fc.bias");
  sd.set("extra.weight", cnn.zeros([1]));
  sd.set("fc.weight", cnn.zeros([9, 4]));
  const before = await a.stateDict().get("conv1.weight")!.toArray();
  assert.throws(
    () => a.loadStateDict(sd),
    (e: Error) =>
      e instanceof RangeError &&
      /size mismatch for fc\.weight: checkpoint \[9, 4\], model \[10, 4\]/.test(e.message) &&
      /missing keys: fc\.bias/.test(e.message) && /unexpected keys: extra\.weight/.test(e.message) &&
      e.message.startsWith("Cannot load state dict"),
  );
  assert.deepEqual(await a.stateDict().get("conv1.weight")!.toArray(), before);
});

Deno.test("loadStateDict copies values (strict round trip between two models)", async () => {
  const a = new Net(), b = new Net();
  const wb = await b.stateDict().get("layer1.0.conv1.weight")!.toArray();
  assert.notDeepEqual(await a.stateDict().get("layer1.0.conv1.weight")!.toArray(), wb);
  const r = a.loadStateDict(b.stateDict());
  assert.deepEqual(r, { missingKeys: [], unexpectedKeys: [] });
  assert.deepEqual(await a.stateDict().get("layer1.0.conv1.weight")!.toArray(), wb);
  const nonStrict = a.loadStateDict({ "fc.bias": cnn.zeros([10]) }, { strict: false });
  assert.equal(nonStrict.missingKeys.length, a.stateDict().size - 1);
  assert.deepEqual(await a.stateDict().get("fc.bias")!.toArray(), new Float32Array(10));
});

Deno.test("default init follows torch: conv/linear weights within +-1/sqrt(fan_in), BN gamma 1 beta 0", async () => {
  cnn.manualSeed(3);
  const conv = new cnn.nn.Conv2d(16, 32, { kernelSize: 3 });
  const w = await conv.weight.toArray();
  const bound = 1 / Math.sqrt(16 * 9);
  assert.ok(w.every((v) => Math.abs(v) <= bound));
  const maxAbs = w.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assert.ok(maxAbs > 0.95 * bound, `uniform draws should come close to the bound, max ${maxAbs} vs ${bound}`);
  const mean = w.reduce((s, v) => s + v, 0) / w.length;
  assert.ok(Math.abs(mean) < 0.1 * bound);
  const bn = new cnn.nn.BatchNorm2d(5);
  assert.deepEqual(await bn.weight!.toArray(), new Float32Array(5).fill(1));
  assert.deepEqual(await bn.running_var.toArray(), new Float32Array(5).fill(1));
  assert.deepEqual(await bn.bias!.toArray(), new Float32Array(5));
});

Deno.test("layer constructors reject bad options with named errors", () => {
  assert.throws(
    () => new cnn.nn.Conv2d(3, 4, { kernelSize: 3, groups: 2 }),
    /Cannot create Conv2d: channels \(in 3, out 4\) are not divisible by groups 2/,
  );
  assert.throws(
    () => new cnn.nn.Conv2d(0, 4, { kernelSize: 3 }),
    /inChannels must be an integer >= 1, got 0/,
  );
  assert.throws(() => new cnn.nn.Dropout(1.5), /p must be in \[0, 1\], got 1.5/);
  assert.throws(() => new cnn.nn.Linear(4, 2.5), /outFeatures must be an integer >= 1/);
});
