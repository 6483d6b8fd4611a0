import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";
import { kernelsReady, MODEL_KERNELS } from "../_util/kernels_ready.ts";
import { assertClose } from "../_util/assert_close.ts";

await cnn.init({ threads: 1 });

const FIXTURES = new URL("../fixtures/", import.meta.url);

/** The torch net of tools/fixtures/make_safetensors_fixtures.py. */
class Net extends cnn.nn.Module {
  conv1 = new cnn.nn.Conv2d(3, 4, { kernelSize: 3, padding: 1, bias: false });
  bn1 = new cnn.nn.BatchNorm2d(4);
  relu = new cnn.nn.ReLU();
  pool = new cnn.nn.AdaptiveAvgPool2d(1);
  fc = new cnn.nn.Linear(4, 3);
  forward(x: cnn.Tensor): cnn.Tensor {
    return this.fc.forward(
      this.pool.forward(this.relu.forward(this.bn1.forward(this.conv1.forward(x)))).flatten(),
    );
  }
}

async function values(net: cnn.nn.Module): Promise<Map<string, number[] | bigint[]>> {
  const out = new Map<string, number[] | bigint[]>();
  for (const [k, t] of net.stateDict()) {
    const d = await t.data();
    out.set(k, d instanceof BigInt64Array ? [...d] : [...d]);
  }
  return out;
}

Deno.test("the user contract: writeSafetensors(stateDict) → readSafetensors → loadStateDict strict", async () => {
  const a = new Net(), b = new Net();
  a.bn1.num_batches_tracked.storage.host![0] = 12345678901234n;
  await a.bn1.running_mean.write([1, 2, 3, 4]);
  const bytes = await cnn.io.writeSafetensors(a.stateDict());
  assert.ok(bytes instanceof Uint8Array);
  const dict = cnn.io.readSafetensors(bytes);
  assert.deepEqual([...dict.keys()].sort(), [...a.stateDict().keys()].sort());
  assert.equal(dict.get("bn1.num_batches_tracked")!.dtype, "int64");
  assert.deepEqual(dict.get("bn1.num_batches_tracked")!.shape, []);
  assert.deepEqual(b.loadStateDict(dict, { strict: true }), { missingKeys: [], unexpectedKeys: [] });
  assert.deepEqual(await values(b), await values(a));
  for (const t of dict.values()) t.dispose();
  // The header says what each tensor is.
  const { tensors } = cnn.io.parseSafetensors(bytes);
  assert.equal(tensors.get("bn1.num_batches_tracked")!.dtype, "I64");
  assert.equal(tensors.get("conv1.weight")!.dtype, "F32");
  assert.deepEqual(tensors.get("conv1.weight")!.shape, [4, 3, 3, 3]);
});

Deno.test("writeSafetensorsAsync waits for queued writes; writeSafetensors refuses stale memory", async () => {
  const a = new Net();
  // Keep the runtime busy so the write below is queued, not done at once.
  void a.fc.bias!.rt.enqueue(() => new Promise((r) => setTimeout(r, 20)));
  void a.fc.bias!.write([7, 8, 9]); // queued, not awaited
  assert.throws(
    () => cnn.io.writeSafetensors(a.stateDict()),
    /Cannot read tensor synchronously: kernels are still queued/,
  );
  const { tensors } = cnn.io.parseSafetensors(
    await cnn.io.writeSafetensorsAsync(a.stateDict(), { by: "test" }),
  );
  assert.deepEqual(tensors.get("fc.bias")!.data, new Float32Array([7, 8, 9]));
  // Once idle, the synchronous form gives the same bytes.
  assert.deepEqual(
    cnn.io.writeSafetensors(a.stateDict(), { by: "test" }),
    await cnn.io.writeSafetensorsAsync(a.stateDict(), { by: "test" }),
  );
});

const expected = JSON.parse(Deno.readTextFileSync(new URL("io_tiny_expected.json", FIXTURES)));

for (const variant of ["f32", "f16", "bf16", "f64"]) {
  Deno.test(`torch fixture io_tiny_${variant} loads with strict keys and exact values`, async () => {
    const bytes = Deno.readFileSync(new URL(`io_tiny_${variant}.safetensors`, FIXTURES));
    const net = new Net();
    assert.deepEqual([...net.stateDict().keys()], expected.keys, "same keys, same order as torch");
    const dict = cnn.io.readSafetensors(bytes);
    net.loadStateDict(dict, { strict: true });
    for (const t of dict.values()) t.dispose();
    const exp = expected.variants[variant] as Record<string, { shape: number[]; data: (number | string)[] }>;
    for (const [key, t] of net.stateDict()) {
      const d = await t.data();
      assert.deepEqual(t.shape, exp[key].shape, key);
      if (d instanceof BigInt64Array) assert.deepEqual([...d], exp[key].data.map((v) => BigInt(v)), key);
      else assert.deepEqual([...d], exp[key].data, key);
    }
    assert.equal(net.bn1.num_batches_tracked.storage.host![0], 3n);
  });
}

Deno.test("loadSafetensors: one call, converts, frees its temporaries, strict by default", async () => {
  const net = new Net();
  const bytes = Deno.readFileSync(new URL("io_tiny_bf16.safetensors", FIXTURES));
  await cnn.runtime().sync();
  const before = cnn.runtime().heap.bytesInUse;
  assert.deepEqual(cnn.io.loadSafetensors(net, bytes), { missingKeys: [], unexpectedKeys: [] });
  assert.deepEqual([...await net.fc.bias!.toArray()], expected.variants.bf16["fc.bias"].data);
  await cnn.runtime().sync();
  assert.equal(cnn.runtime().heap.bytesInUse, before, "temporaries freed");
  const partial = cnn.io.serializeSafetensors({ "fc.bias": { shape: [3], data: new Float32Array(3) } });
  assert.throws(
    () => cnn.io.loadSafetensors(net, partial),
    /Cannot load state dict: missing keys: conv1.weight/,
  );
  assert.deepEqual(cnn.io.loadSafetensors(net, partial, { strict: false }).missingKeys.length, 7);
  assert.deepEqual([...await net.fc.bias!.toArray()], [0, 0, 0]);
});

Deno.test("mismatches are named: shape, int64 vs float, unexpected keys", async () => {
  const net = new Net();
  const extraT = cnn.tensor([1, 2], [2]);
  const withExtra = await cnn.io.writeSafetensorsAsync(new Map([...net.stateDict(), ["head.w", extraT]]));
  assert.throws(
    () => cnn.io.loadSafetensors(net, withExtra),
    /Cannot load state dict: unexpected keys: head.w$/,
  );
  assert.deepEqual(cnn.io.loadSafetensors(net, withExtra, { strict: false }).unexpectedKeys, ["head.w"]);
  extraT.dispose();
  const wrongShape = cnn.io.serializeSafetensors({ "fc.bias": { shape: [4], data: new Float32Array(4) } });
  assert.throws(
    () => cnn.io.loadSafetensors(net, wrongShape, { strict: false }),
    /size mismatch for fc.bias: checkpoint \[4\], model \[3\]/,
  );
  const floatCounter = cnn.io.serializeSafetensors({
    "bn1.num_batches_tracked": { shape: [], data: new Float32Array(1) },
  });
  assert.throws(
    () => cnn.io.loadSafetensors(net, floatCounter, { strict: false }),
    /dtype mismatch for bn1.num_batches_tracked: checkpoint float32, model int64/,
  );
});

Deno.test(
  { name: "torch fixture: eval logits match torch within 1e-4", ignore: !kernelsReady(...MODEL_KERNELS) },
  async () => {
    const net = new Net();
    cnn.io.loadSafetensors(net, Deno.readFileSync(new URL("io_tiny_f32.safetensors", FIXTURES)));
    net.eval();
    const x = cnn.tensor(new Float32Array(expected.input.data), expected.input.shape);
    const y = net.forward(x);
    assert.deepEqual(y.shape, expected.logits.shape);
    assertClose(await y.toArray(), new Float32Array(expected.logits.data), { atol: 1e-4, rtol: 1e-4 });
  },
);
