import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";

await cnn.init({ threads: 1 });

Deno.test("create(name, { init: false }) draws nothing, fills zeros, and loads weights as usual", async () => {
  cnn.manualSeed(3);
  const fresh = cnn.defaultGenerator.nextU32();
  cnn.manualSeed(3);
  const drawn = cnn.models.create("resnet20_cifar");
  assert.notEqual(cnn.defaultGenerator.nextU32(), fresh, "a drawn model moves the generator");
  cnn.manualSeed(3);
  const blank = cnn.models.create("resnet20_cifar", { init: false });
  assert.equal(cnn.defaultGenerator.nextU32(), fresh, "init: false draws nothing");
  const w = await blank.stateDict().get("conv1.weight")!.toArray();
  assert.ok(w.every((v) => v === 0), "random weights are zeros");
  assert.deepEqual([...await blank.stateDict().get("bn1.weight")!.toArray()].slice(0, 3), [1, 1, 1]);
  blank.loadStateDict(drawn.stateDict(), { strict: true });
  const x = cnn.tensor(new Float32Array(3 * 32 * 32).map((_, i) => Math.sin(i)), [1, 3, 32, 32]);
  drawn.eval();
  blank.eval();
  assert.deepEqual(
    await cnn.noGrad(() => blank.forward(x)).toArray(),
    await cnn.noGrad(() => drawn.forward(x)).toArray(),
  );
  assert.throws(
    () => cnn.models.create("resnet20_cifar", { init: "no" as unknown as boolean }),
    /init must be a boolean/,
  );
});
