// Issue 8, hostile API input: each bad tensor, shape or option gets a specific RangeError/TypeError that
// names the argument and the values, before any kernel runs (never a trap, hang or wrong answer).
import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";

const rt = await cnn.createRuntime({ backend: "meta" });
const on = <T>(fn: () => T): T => cnn.withRuntime(rt, fn);

function rejects(fn: () => unknown, type: ErrorConstructor, msg: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof type, `expected ${type.name}, got ${e}`);
    assert.match((e as Error).message, msg);
    assert.match((e as Error).message, /^Cannot /);
    return true;
  });
}

Deno.test("tensors: negative, fractional and non-array shapes; data/shape mismatch", () => {
  on(() => {
    rejects(() => cnn.zeros([2, -1]), RangeError, /shape \[2, -1\]/);
    rejects(() => cnn.zeros([2.5]), RangeError, /shape \[2.5\]/);
    rejects(() => cnn.zeros("3" as unknown as number[]), TypeError, /shape must be an array/);
    assert.throws(() => cnn.tensor(new Float32Array(5), [2, 3]), /5|6/);
  });
});

Deno.test("ops: wrong rank, channel mismatch, groups, stride 0, padding too large", () => {
  on(() => {
    const x = cnn.zeros([1, 3, 8, 8]);
    rejects(
      () => cnn.ops.conv2d(cnn.zeros([3, 8, 8]), cnn.zeros([4, 3, 3, 3])),
      RangeError,
      /input.*rank|4-D|\[3, 8, 8\]/,
    );
    rejects(() => cnn.ops.conv2d(x, cnn.zeros([4, 2, 3, 3])), RangeError, /3 channels.*expects 2/);
    rejects(
      () => cnn.ops.conv2d(x, cnn.zeros([4, 1, 3, 3]), { groups: 2 }),
      RangeError,
      /not divisible by groups 2/,
    );
    rejects(() => cnn.ops.conv2d(x, cnn.zeros([4, 3, 3, 3]), { stride: 0 }), RangeError, /stride/);
    rejects(() => cnn.ops.conv2d(x, cnn.zeros([4, 3, 9, 9])), RangeError, /kernel|output|larger/);
    rejects(() => cnn.ops.maxPool2d(x, { kernelSize: 2, padding: 2 }), RangeError, /padding/);
    rejects(() => cnn.ops.linear(cnn.zeros([2, 5]), cnn.zeros([3, 4])), RangeError, /5|4/);
    rejects(() => cnn.ops.add(cnn.zeros([2, 3]), cnn.zeros([3, 2])), RangeError, /\[2, 3\].*\[3, 2\]|shape/);
    rejects(
      () => cnn.ops.crossEntropy(cnn.zeros([2, 4]), new Int32Array([1, 4])),
      RangeError,
      /label|4/,
    );
    rejects(() => cnn.ops.crossEntropy(cnn.zeros([2, 4]), new Int32Array([1])), RangeError, /1 label|2/);
    rejects(
      () => cnn.ops.crossEntropy(cnn.zeros([2, 4]), new Int32Array([1, 0]), { labelSmoothing: 1.5 }),
      RangeError,
      /labelSmoothing/,
    );
  });
});

Deno.test("layers: bad hyper-parameters are named", () => {
  on(() => {
    rejects(() => new cnn.nn.Dropout(1.5), RangeError, /p must be in \[0, 1\], got 1.5/);
    rejects(() => new cnn.nn.Conv2d(3, 0, { kernelSize: 3 }), RangeError, /out|channels|0/);
  });
});

Deno.test({
  name: "models: unknown names get a suggestion; bad model options are named",
  ignore: !cnn.models.list().includes("resnet18"),
  fn: () => {
    on(() => {
      rejects(
        () => cnn.models.create("resnet5O"),
        RangeError,
        /unknown model "resnet5O"; did you mean resnet50/,
      );
      rejects(
        () => cnn.models.create("resnet18", { numClasses: 0 }),
        RangeError,
        /numClasses must be an integer >= 1/,
      );
      rejects(() => cnn.models.create("resnet18", { dropout: 2 }), RangeError, /dropout/);
    });
  },
});

Deno.test("optimizers and schedules: negative lr, bad momentum combinations", () => {
  on(() => {
    const p = cnn.zeros([3]);
    rejects(() => new cnn.optim.SGD([p], { lr: -1 }), RangeError, /lr/);
    rejects(() => new cnn.optim.SGD([p], { lr: 0.1, nesterov: true }), RangeError, /Nesterov/);
    rejects(() => new cnn.optim.SGD([p], { lr: 0.1, momentum: -0.5 }), RangeError, /momentum/);
    rejects(() => cnn.optim.cosineLR(0), RangeError, /tMax must be > 0/);
  });
});

Deno.test("close meta runtime (hostile api)", () => rt.close());

Deno.test("optional finite checks: tensor({ checkFinite }) and safetensors validate name the bad value", () => {
  on(() => {
    rejects(
      () => cnn.tensor([1, Number.NaN, 3], [3], { checkFinite: true }),
      RangeError,
      /value 1 is NaN \(checkFinite\)/,
    );
    rejects(
      () => cnn.tensor([0, 1, -Infinity], [3], { checkFinite: true }),
      RangeError,
      /value 2 is -Infinity/,
    );
    assert.equal(cnn.tensor([1, Number.NaN], [2]).shape[0], 2, "unchecked by default");
  });
  const bytes = cnn.io.serializeSafetensors({
    ok: { shape: [2], data: new Float32Array([1, 2]) },
    w: { shape: [3], data: new Float32Array([1, Number.POSITIVE_INFINITY, 3]) },
  });
  assert.ok(cnn.io.parseSafetensors(bytes).tensors.has("w"), "accepted without validate");
  const dataStart = 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const offset = dataStart + 8 + 4; // 'ok' holds bytes [0, 8); element 1 of 'w'
  rejects(
    () => cnn.io.parseSafetensors(bytes, { validate: true }),
    RangeError,
    new RegExp(`tensor 'w' holds Infinity at element 1 \\(file offset ${offset}\\)`),
  );
  rejects(() => cnn.io.readSafetensors(bytes, { validate: true, rt }), RangeError, /holds Infinity/);
});
