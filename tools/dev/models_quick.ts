/**
 * Best-of times of a few whole-network jobs (frozen ResNet-20 b1/b64, frozen ResNet-18 b1, frozen ResNet-50
 * b1, a ResNet-20 training step at b128) in one process, for comparing two checkouts run alternately.
 * Usage: deno run -A tools/dev/models_quick.ts [threads=2] [rounds=5]
 * @module
 */
import * as cnn from "../../mod.ts";

const threads = Number(Deno.args[0] ?? 2), rounds = Number(Deno.args[1] ?? 5);
await cnn.init({ threads });
const out: string[] = [];
for (
  const [name, model, opts, shape] of [
    ["r20_b1_frozen", "resnet20_cifar", { shortcut: "B" }, [1, 3, 32, 32]],
    ["r20_b64_frozen", "resnet20_cifar", { shortcut: "B" }, [64, 3, 32, 32]],
    ["r18_b1_frozen", "resnet18", {}, [1, 3, 224, 224]],
    ["r50_b1_frozen", "resnet50", {}, [1, 3, 224, 224]],
  ] as const
) {
  const net = cnn.models.create(model, { ...opts, init: false });
  net.eval();
  const fz = await cnn.nn.freeze(net, [...shape]);
  const x = cnn.tensor(new Float32Array(shape.reduce((a: number, b: number) => a * b, 1)).fill(0.1), [
    ...shape,
  ]);
  let best = Infinity;
  for (let i = 0; i <= rounds * 2; i++) {
    const t0 = performance.now();
    const y = fz.forward(x);
    await y.toArray();
    y.dispose();
    if (i) best = Math.min(best, performance.now() - t0);
  }
  out.push(`${name} ${best.toFixed(2)}`);
  x.dispose();
  fz.dispose();
  net.dispose();
}
{
  const net = cnn.models.create("resnet20_cifar", { shortcut: "B" });
  net.train();
  const opt = new cnn.optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
  const x = cnn.tensor(new Float32Array(128 * 3 * 32 * 32).map((_, i) => Math.sin(i * 0.01)), [
    128,
    3,
    32,
    32,
  ]);
  const labels = new Int32Array(128).map((_, i) => i % 10);
  let best = Infinity;
  for (let i = 0; i <= rounds; i++) {
    const t0 = performance.now();
    await cnn.tidy(async () => {
      const loss = cnn.nn.crossEntropy(net.forward(x), labels);
      await loss.backward();
      await opt.step();
      opt.zeroGrad();
      await loss.item();
    });
    if (i) best = Math.min(best, performance.now() - t0);
  }
  out.push(`r20_train_b128 ${best.toFixed(1)} (${(128000 / best).toFixed(0)} images/s)`);
  x.dispose();
  net.dispose();
}
console.log(out.join("  "));
await cnn.shutdown();
