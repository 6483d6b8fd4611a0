/**
 * The training loop and evaluation: forward, loss (label smoothing, auxiliary heads), backward, optimizer
 * step, schedule, with progress (loss, accuracy, images/s, ETA) reported after every step.
 * @module
 */
import type { Module } from "../layers/mod.ts";
import { hasAux } from "../models/mod.ts";
import type { Optimizer, Schedule } from "../optim/mod.ts";
import { noGrad, ops, rangeError, type Tensor, tidy } from "../tensor/mod.ts";
import type { DataLoader } from "../data/mod.ts";

/** What {@linkcode fit} reports after each step. */
export interface Progress {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  /** Mean loss over the epoch so far. */
  loss: number;
  /** Training top-1 accuracy over the epoch so far, in [0, 1]. */
  accuracy: number;
  imagesPerSec: number;
  /** Seconds left for the whole run, estimated from the speed so far. */
  etaSec: number;
  lr: number;
}

/** One epoch's record. */
export interface EpochRecord {
  epoch: number;
  loss: number;
  accuracy: number;
  lr: number;
  seconds: number;
  imagesPerSec: number;
  testTop1?: number;
  testTop5?: number;
  testLoss?: number;
}

/** Options of {@linkcode fit}. */
export interface FitOptions {
  epochs: number;
  optimizer: Optimizer<{ lr: number }>;
  /** Learning-rate factor per step (`scheduleUnit: "step"`, default) or per epoch. */
  schedule?: Schedule;
  scheduleUnit?: "step" | "epoch";
  labelSmoothing?: number;
  /** Weight of auxiliary-head losses (GoogLeNet 0.3) for models with aux heads. */
  auxWeight?: number;
  /** Evaluated after every epoch when given. */
  testData?: DataLoader;
  /** Epoch to start from (for resuming): epochs before it are skipped. */
  startEpoch?: number;
  onProgress?: (p: Progress) => void;
  /** Called after each epoch (e.g. to write a checkpoint); awaited. */
  onEpochEnd?: (r: EpochRecord) => void | Promise<void>;
}

function argmaxCorrect(logits: Float32Array, classes: number, y: Int32Array, k = 1): number {
  let correct = 0;
  for (let i = 0; i < y.length; i++) {
    const row = logits.subarray(i * classes, (i + 1) * classes);
    const target = row[y[i]];
    let above = 0;
    for (let c = 0; c < classes; c++) if (row[c] > target || (row[c] === target && c < y[i])) above++;
    if (above < k) correct++;
  }
  return correct;
}

/**
 * Trains `model` on `data` for `epochs` epochs.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const net = new cnn.nn.Sequential(new cnn.nn.Flatten(), new cnn.nn.Linear(4, 2));
 * const ds = new cnn.data.ArrayDataset(new Float32Array(8).fill(1), new Int32Array([0, 1]), [1, 2, 2], 2);
 * const loader = new cnn.data.DataLoader(ds, { batchSize: 2 });
 * const history = await cnn.train.fit(net, loader, { epochs: 1, optimizer: new cnn.optim.SGD(net.parameters(), { lr: 0.1 }) });
 * console.log(history.length);
 * ```
 */
export async function fit(model: Module, data: DataLoader, options: FitOptions): Promise<EpochRecord[]> {
  const { epochs, optimizer } = options;
  if (!Number.isInteger(epochs) || epochs < 0) {
    throw rangeError("fit", `epochs must be an integer >= 0, got ${epochs}`);
  }
  const unit = options.scheduleUnit ?? "step";
  const baseLrs = optimizer.groups.map((g) => g.initialLr);
  const steps = data.length;
  const history: EpochRecord[] = [];
  const start = options.startEpoch ?? 0;
  let imagesDone = 0;
  const t0 = performance.now();
  for (let epoch = start; epoch < epochs; epoch++) {
    const te = performance.now();
    let lossSum = 0, correct = 0, seen = 0, step = 0;
    model.train();
    for await (const { x, y } of data) {
      const t = unit === "epoch" ? epoch : epoch * steps + step;
      if (options.schedule) optimizer.setLr((i) => baseLrs[i] * options.schedule!.factor(t));
      const { loss, hits } = await tidy(async () => {
        let logits: Tensor;
        let total: Tensor;
        if (hasAux(model) && options.auxWeight !== undefined) {
          const out = model.forwardAux(x);
          logits = out.logits;
          const losses = [out.logits, ...out.aux].map((l) =>
            ops.crossEntropy(l, y, { labelSmoothing: options.labelSmoothing })
          );
          total = ops.weightedSum(losses, [1, ...out.aux.map(() => options.auxWeight!)]);
        } else {
          logits = model.forward(x);
          total = ops.crossEntropy(logits, y, { labelSmoothing: options.labelSmoothing });
        }
        await total.backward();
        await optimizer.step();
        optimizer.zeroGrad();
        const lv = await total.item();
        const lg = await logits.toArray();
        return { loss: lv, hits: argmaxCorrect(lg, logits.shape[1], y) };
      });
      x.dispose();
      if (!Number.isFinite(loss)) {
        throw rangeError("train", `the loss became ${loss} at epoch ${epoch + 1} step ${step + 1}`);
      }
      lossSum += loss * y.length;
      correct += hits;
      seen += y.length;
      imagesDone += y.length;
      step++;
      const elapsed = (performance.now() - t0) / 1000;
      const rate = imagesDone / Math.max(elapsed, 1e-9);
      const left = (epochs - epoch - 1) * data.dataset.length + (data.dataset.length - seen);
      options.onProgress?.({
        epoch: epoch + 1,
        epochs,
        step,
        steps,
        loss: lossSum / seen,
        accuracy: correct / seen,
        imagesPerSec: rate,
        etaSec: left / rate,
        lr: optimizer.lr,
      });
    }
    const seconds = (performance.now() - te) / 1000;
    const rec: EpochRecord = {
      epoch: epoch + 1,
      loss: lossSum / Math.max(1, seen),
      accuracy: correct / Math.max(1, seen),
      lr: optimizer.lr,
      seconds,
      imagesPerSec: seen / seconds,
    };
    if (options.testData) {
      const ev = await evaluate(model, options.testData);
      rec.testTop1 = ev.top1;
      rec.testTop5 = ev.top5;
      rec.testLoss = ev.loss;
    }
    history.push(rec);
    await options.onEpochEnd?.(rec);
  }
  return history;
}

/** Top-1/top-5 accuracy and mean loss of a model over a data set (eval mode, no gradients). */
export interface EvalResult {
  top1: number;
  top5: number;
  loss: number;
  count: number;
}

/**
 * Evaluates `model` on `data` in eval mode.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const net = new cnn.nn.Sequential(new cnn.nn.Flatten(), new cnn.nn.Linear(4, 2));
 * const ds = new cnn.data.ArrayDataset(new Float32Array(8), new Int32Array([0, 1]), [1, 2, 2], 2);
 * console.log(await cnn.train.evaluate(net, new cnn.data.DataLoader(ds, { batchSize: 2 })));
 * ```
 */
export async function evaluate(model: Module, data: DataLoader): Promise<EvalResult> {
  const wasTraining = model.training;
  model.eval();
  let top1 = 0, top5 = 0, lossSum = 0, count = 0;
  try {
    for await (const { x, y } of data) {
      const r = await noGrad(() =>
        tidy(async () => {
          const logits = model.forward(x);
          const loss = ops.crossEntropy(logits, y);
          const lg = await logits.toArray();
          const classes = logits.shape[1];
          return {
            loss: await loss.item(),
            t1: argmaxCorrect(lg, classes, y, 1),
            t5: argmaxCorrect(lg, classes, y, Math.min(5, classes)),
          };
        })
      );
      x.dispose();
      top1 += r.t1;
      top5 += r.t5;
      lossSum += r.loss * y.length;
      count += y.length;
    }
  } finally {
    model.train(wasTraining);
  }
  return {
    top1: top1 / Math.max(1, count),
    top5: top5 / Math.max(1, count),
    loss: lossSum / Math.max(1, count),
    count,
  };
}

/** Indices of the k largest values of a row, largest first. */
export function topK(row: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: row.length }, (_, i) => i).sort((a, b) => row[b] - row[a] || a - b).slice(0, k);
}
