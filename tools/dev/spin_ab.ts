/**
 * Whole-network time with the worker threads spinning before they sleep (`spinMicros`, default 200) or
 * sleeping at once (0), interleaved in one process, best and median of `rounds` each: ResNet-20 CIFAR b1 and
 * b64 frozen, ResNet-18 b1 frozen, a ResNet-20 training step at b128.
 * Usage: deno run -A tools/dev/spin_ab.ts [threads=2] [rounds=7] [spins=0,200] (microseconds to compare)
 * @module
 */
import * as cnn from "../../mod.ts";

const threads = Number(Deno.args[0] ?? 2), rounds = Number(Deno.args[1] ?? 7);
const spins = (Deno.args[2] ?? "0,200").split(",").map(Number);
await cnn.init({ threads });
const rt = cnn.runtime();
type Job = { name: string; run: () => Promise<void>; done: () => void };
const jobs: Job[] = [];
for (
  const [name, model, opts, shape] of [
    ["resnet20_b1_frozen", "resnet20_cifar", { shortcut: "B" }, [1, 3, 32, 32]],
    ["resnet20_b64_frozen", "resnet20_cifar", { shortcut: "B" }, [64, 3, 32, 32]],
    ["resnet18_b1_frozen", "resnet18", {}, [1, 3, 224, 224]],
  ] as const
) {
  const net = cnn.models.create(model, opts);
  net.eval();
  const fz = await cnn.nn.freeze(net, shape);
  const x = cnn.tensor(new Float32Array(shape.reduce((a: number, b: number) => a * b, 1)).fill(0.1), [
    ...shape,
  ]);
  jobs.push({
    name,
    run: async () => {
      const y = fz.forward(x);
      await y.toArray();
      y.dispose();
    },
    done: () => {
      x.dispose();
      fz.dispose();
      net.dispose();
    },
  });
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
  jobs.push({
    name: "resnet20_train_b128",
    run: () =>
      cnn.tidy(async () => {
        const loss = cnn.nn.crossEntropy(net.forward(x), labels);
        await loss.backward();
        await opt.step();
        opt.zeroGrad();
        await loss.item();
      }),
    done: () => {
      x.dispose();
      net.dispose();
    },
  });
}
for (const j of jobs) {
  await j.run();
  const t: Record<number, number[]> = Object.fromEntries(spins.map((us) => [us, []]));
  for (let r = 0; r < rounds; r++) {
    for (const us of spins) {
      const old = rt.setSpinMicros(us);
      const t0 = performance.now();
      await j.run();
      t[us].push(performance.now() - t0);
      rt.setSpinMicros(old);
    }
  }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
  const parts = spins.map((us) =>
    `spin ${us} us: best ${Math.min(...t[us]).toFixed(2)} median ${med(t[us]).toFixed(2)}`
  );
  console.log(
    `${j.name}: ${parts.join("; ")} ms; ${(med(t[spins[0]]) / med(t[spins[spins.length - 1]])).toFixed(2)}x`,
  );
  j.done();
}
await cnn.shutdown();
