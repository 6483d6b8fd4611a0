import * as cnn from "../../mod.ts";
const rep = await cnn.init({ threads: 2 });
const rt = cnn.runtime();
const times = new Map<string, [number, number]>();
const orig = rt.exec.bind(rt);
// deno-lint-ignore no-explicit-any
(rt as any).exec = async (k: string, a: number[], o: any) => {
  const t0 = performance.now();
  await orig(k, a, o);
  const e = times.get(k) ?? [0, 0];
  e[0] += performance.now() - t0;
  e[1]++;
  times.set(k, e);
};
const net = cnn.models.create(Deno.args[0] ?? "resnet20_cifar", { inChannels: 1, numClasses: 10 });
const opt = new cnn.optim.SGD(net.parameters(), { lr: 0.1, momentum: 0.9 });
const B = Number(Deno.args[1] ?? 64);
const x = cnn.tensor(new Float32Array(B * 784).map(() => Math.random()), [B, 1, 28, 28]);
const y = new Int32Array(B).map((_, i) => i % 10);
net.train();
const step = async () => {
  await cnn.tidy(async () => {
    const loss = cnn.nn.crossEntropy(net.forward(x), y);
    await loss.backward();
    await opt.step();
    opt.zeroGrad();
    await loss.item();
  });
};
await step();
times.clear();
const t0 = performance.now();
for (let i = 0; i < 3; i++) await step();
const total = (performance.now() - t0) / 3;
console.log(rep, `step ${total.toFixed(1)} ms, ${(B / total * 1000).toFixed(0)} img/s`);
for (const [k, [ms, n]] of [...times].sort((a, b) => b[1][0] - a[1][0])) {
  console.log(k.padEnd(28), (ms / 3).toFixed(1).padStart(8), "ms", (n / 3).toFixed(0).padStart(6), "calls");
}
await cnn.shutdown();
