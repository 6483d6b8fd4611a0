/**
 * Whole networks, the workloads of `../shared/spec/performance.md`: eval-mode inference of ResNet-20
 * (CIFAR, 1x1 projection shortcuts as in the peers' figures) at batch 1 and 64, ResNet-18 and ResNet-50
 * at 224 x 224 batch 1, and a ResNet-20 training step at batch 128 (forward, backward, SGD). FLOPs are
 * 2 x conv/linear MACs per forward (x3 for a training step). Checked first: the threaded logits equal the
 * single-thread ones, and ResNet-20's equal the plain-TS reference backend's.
 * Filter names: resnet20_b1, resnet20_b64, resnet20_train_b128, resnet18_b1, resnet50_b1, and the
 * `_frozen` variants (cnn.nn.freeze) resnet20_b64_frozen, resnet18_b1_frozen, resnet50_b1_frozen.
 * @module
 */
import * as cnn from "../mod.ts";
import { type BenchFlags, type BenchRow, checkClose, sgdStep, timeStats } from "./_util.ts";

interface Case {
  name: string;
  model: string;
  options: cnn.models.ModelOptions;
  input: [number, number, number, number];
  train?: boolean;
  /** Time a frozen model (cnn.nn.freeze: folded BN, fused ReLU, precomputed Winograd weights). */
  frozen?: boolean;
}

const CASES: Case[] = [
  { name: "resnet20_b1", model: "resnet20_cifar", options: { shortcut: "B" }, input: [1, 3, 32, 32] },
  { name: "resnet20_b64", model: "resnet20_cifar", options: { shortcut: "B" }, input: [64, 3, 32, 32] },
  {
    name: "resnet20_train_b128",
    model: "resnet20_cifar",
    options: { shortcut: "B" },
    input: [128, 3, 32, 32],
    train: true,
  },
  { name: "resnet18_b1", model: "resnet18", options: {}, input: [1, 3, 224, 224] },
  { name: "resnet50_b1", model: "resnet50", options: {}, input: [1, 3, 224, 224] },
  {
    name: "resnet20_b64_frozen",
    model: "resnet20_cifar",
    options: { shortcut: "B" },
    input: [64, 3, 32, 32],
    frozen: true,
  },
  { name: "resnet18_b1_frozen", model: "resnet18", options: {}, input: [1, 3, 224, 224], frozen: true },
  { name: "resnet50_b1_frozen", model: "resnet50", options: {}, input: [1, 3, 224, 224], frozen: true },
];

function inputData(shape: readonly number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(i * 0.013) + 0.3 * Math.cos(i * 0.7);
  return a;
}

/** Logits of a freshly seeded model (eval mode) on the fixed input, on the current runtime. */
async function logits(c: Case, weights?: Map<string, cnn.Tensor>): Promise<Float32Array> {
  cnn.manualSeed(7);
  const net = cnn.models.create(c.model, c.options);
  if (weights) net.loadStateDict(weights);
  net.eval();
  const x = cnn.tensor(inputData(c.input), c.input);
  const frozen = c.frozen ? await cnn.nn.freeze(net, c.input) : null;
  const y = frozen ? frozen.forward(x) : cnn.noGrad(() => net.forward(x));
  const out = await y.toArray() as Float32Array;
  x.dispose();
  y.dispose();
  frozen?.dispose();
  net.dispose();
  return out;
}

async function run(c: Case, runs: number): Promise<{ median: number; best: number }> {
  cnn.manualSeed(7);
  const net = cnn.models.create(c.model, c.options);
  const x = cnn.tensor(inputData(c.input), c.input);
  try {
    if (!c.train) {
      net.eval();
      const frozen = c.frozen ? await cnn.nn.freeze(net, c.input) : null;
      try {
        return await timeStats(async () => {
          const y = frozen ? frozen.forward(x) : cnn.noGrad(() => net.forward(x));
          await y.toArray();
          y.dispose();
        }, runs);
      } finally {
        frozen?.dispose();
      }
    }
    return await timeStats(sgdStep(net, x), Math.max(3, runs >> 1));
  } finally {
    x.dispose();
    net.dispose();
  }
}

/** Runs the whole-network cases on 1 and `--threads` threads. */
export async function bench(flags: BenchFlags): Promise<BenchRow[]> {
  const cases = CASES.filter((c) => c.name.includes(flags.filter) || flags.filter.includes(c.name));
  if (!cases.length) return [];
  // Results first: one thread vs the reference backend (ResNet-20 only: the reference is slow), then
  // threaded vs one thread.
  const want = new Map<string, Float32Array>();
  await cnn.init({ threads: 1 });
  const macs = new Map<string, number>();
  for (const c of cases) {
    const s = await cnn.models.summary(c.model, { inputSize: c.input.slice(1), modelOptions: c.options });
    macs.set(c.name, s.totalMacs * c.input[0]);
    // A frozen case must give its unfrozen model's logits.
    if (!c.train) want.set(c.name, await logits({ ...c, frozen: false }));
  }
  await cnn.shutdown();
  const r20 = cases.find((c) => c.name === "resnet20_b1");
  if (r20) {
    await cnn.init({ backend: "ref", threads: 1 });
    checkClose(await logits(r20), want.get(r20.name)!, 1e-4, "resnet20 wasm vs reference");
    await cnn.shutdown();
  }
  const rows: BenchRow[] = [];
  for (const threads of [...new Set([1, flags.threads])]) {
    await cnn.init({ threads });
    try {
      for (const c of cases) {
        if ((threads > 1 || c.frozen) && !c.train) {
          checkClose(
            await logits(c),
            want.get(c.name)!,
            1e-4,
            `${c.name} (${threads} threads) vs 1-thread eval`,
          );
        }
        const t = await run(c, flags.runs);
        const flops = 2 * macs.get(c.name)! * (c.train ? 3 : 1);
        const note = c.train
          ? `${(c.input[0] / t.median * 1000).toFixed(0)} images/s (best ${
            (c.input[0] / t.best * 1000).toFixed(0)
          })`
          : "";
        rows.push({ name: c.name, threads, ms: t.median, bestMs: t.best, flops, note });
      }
    } finally {
      await cnn.shutdown();
    }
  }
  return rows;
}
