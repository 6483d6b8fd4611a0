/**
 * Median and best of a ResNet-20 CIFAR training step (batch 128) in one process, for comparing two
 * checkouts run alternately. Usage: deno run -A tools/dev/train_quick.ts [threads=2] [steps=8]
 * @module
 */
import * as cnn from "../../mod.ts";
import { trainJob } from "./_jobs.ts";

const threads = Number(Deno.args[0] ?? 2), steps = Number(Deno.args[1] ?? 8);
await cnn.init({ threads });
const j = trainJob(128);
const times: number[] = [];
for (let i = 0; i <= steps; i++) {
  const t0 = performance.now();
  await j.run();
  if (i) times.push(performance.now() - t0);
}
j.done();
times.sort((a, b) => a - b);
const med = times[Math.floor(times.length / 2)];
console.log(
  `median ${med.toFixed(1)} ms (${(128000 / med).toFixed(0)} images/s), best ${times[0].toFixed(1)}`,
);
await cnn.shutdown();
