/**
 * The command line: `deno task demo | train | eval | summary` (each with `--help`).
 *
 * - `demo`: trains a CIFAR-style ResNet adapted to 28x28 digits (inChannels 1) on the embedded MNIST
 *   digits, shows progress, reports test top-1, saves checkpoint and curves under runs/demo, and prints a
 *   few test digits with the model's top-3.
 * - `train`: any registered model on a data set, with checkpoints every epoch and `--resume`.
 * - `eval`: a checkpoint on the test split.
 * - `summary`: the layer table of a model.
 * @module
 */
import * as cnn from "../mod.ts";
import { loadCheckpoint, saveCheckpoint } from "../io/fs.ts";
import { type FlagSpec, helpText, parseFlags, UsageError } from "./args.ts";
import { printDigits, progressLine } from "./show.ts";

const TRAIN_FLAGS: Record<string, FlagSpec> = {
  model: {
    type: "string",
    help: "registered model name (see `deno task summary --list`)",
    default: "resnet8_cifar",
  },
  data: { type: "string", help: "data set", choices: ["mnist"], default: "mnist" },
  epochs: { type: "int", help: "training epochs", default: 4, min: 1 },
  "batch-size": { type: "int", help: "mini-batch size", default: 32, min: 1 },
  lr: { type: "number", help: "peak learning rate (SGD, Nesterov momentum 0.9)", default: 0.1, min: 0 },
  "weight-decay": { type: "number", help: "weight decay", default: 5e-4, min: 0 },
  "label-smoothing": { type: "number", help: "label smoothing epsilon", default: 0, min: 0 },
  threads: { type: "int", help: "compute threads", default: 2, min: 1 },
  seed: { type: "int", help: "random seed (init, shuffling)", default: 1 },
  out: {
    type: "string",
    help: "output folder (checkpoint, metrics.jsonl, curves.svg)",
    default: "runs/demo",
  },
  limit: {
    type: "int",
    help: "use only N training examples, spread over the classes (0: all)",
    default: 0,
    min: 0,
  },
  resume: { type: "boolean", help: "continue from <out>/last.safetensors", default: false },
  options: {
    type: "string",
    help: `model options as JSON, e.g. '{"shortcut":"A"}' (docs/ablations.md); saved in the checkpoint`,
  },
};

const COMMANDS: Record<string, { summary: string; flags: Record<string, FlagSpec> }> = {
  demo: {
    summary: "Train a small ResNet on the embedded MNIST digits and show what it learned.",
    flags: TRAIN_FLAGS,
  },
  train: { summary: "Train a registered model.", flags: TRAIN_FLAGS },
  eval: {
    summary: "Evaluate a checkpoint on the test split of the embedded digits.",
    flags: {
      checkpoint: { type: "string", help: "checkpoint file", default: "runs/demo/last.safetensors" },
      protocol: {
        type: "string",
        help: "single (the image as is) or 10crop (pad to 32, torchvision TenCrop of 28, softmax averaged)",
        choices: ["single", "10crop"],
        default: "single",
      },
      threads: { type: "int", help: "compute threads", default: 2, min: 1 },
    },
  },
  summary: {
    summary: "Print a model's layer table (params, MACs, output shapes) or list every model.",
    flags: {
      model: { type: "string", help: "registered model name", default: "resnet50" },
      list: { type: "boolean", help: "list the registered models", default: false },
      "input-size": { type: "string", help: "C,H,W input (default: the model's native size)" },
      "num-classes": { type: "int", help: "output classes (default: the model's)", min: 1 },
      options: {
        type: "string",
        help: `model options as JSON, e.g. '{"block":[3,1,3]}' or '{"shortcut":"A"}' (docs/ablations.md)`,
      },
    },
  },
};

/** The --options flag: a JSON object of model options (UsageError naming the problem otherwise). */
function modelOptions(f: Record<string, unknown>): cnn.models.ModelOptions {
  if (f.options === undefined) return {};
  let v: unknown;
  try {
    v = JSON.parse(f.options as string);
  } catch (e) {
    throw new UsageError(`Cannot parse arguments: --options is not JSON (${(e as Error).message})`);
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new UsageError(`Cannot parse arguments: --options must be a JSON object, got ${f.options}`);
  }
  return v as cnn.models.ModelOptions;
}

async function train(command: string, f: Record<string, unknown>): Promise<void> {
  const threads = f.threads as number;
  const report = await cnn.init({ threads });
  cnn.manualSeed(f.seed as number);
  console.log(
    `cnnzoo ${command}: ${f.model} on ${f.data}, ${report.threads} thread(s) (${report.backend}${
      report.fallbackReason ? `: ${report.fallbackReason}` : ""
    })`,
  );
  const { train: trainSet, test } = await cnn.data.loadDigits();
  const trainData = (f.limit as number) > 0 ? spread(trainSet, f.limit as number) : trainSet;
  const options = modelOptions(f);
  const net = cnn.models.create(f.model as string, { ...options, inChannels: 1, numClasses: 10 });
  const loader = new cnn.data.DataLoader(trainData, { batchSize: f["batch-size"] as number, shuffle: true });
  const testLoader = new cnn.data.DataLoader(test, { batchSize: 250 });
  const epochs = f.epochs as number;
  const opt = new cnn.optim.SGD(net.parameters(), {
    lr: f.lr as number,
    momentum: 0.9,
    nesterov: true,
    weightDecay: f["weight-decay"] as number,
  });
  const totalSteps = epochs * loader.length;
  const schedule = cnn.optim.withWarmup(cnn.optim.cosineLR(totalSteps), Math.min(100, totalSteps >> 3));
  const out = f.out as string;
  await Deno.mkdir(out, { recursive: true });
  const metrics: string[] = [];
  const ckpt = `${out}/last.safetensors`;
  let startEpoch = 0;
  const config = { model: f.model, options, data: f.data, epochs, batchSize: f["batch-size"], lr: f.lr };
  if (f.resume) {
    const r = await loadCheckpoint(ckpt, { model: net, optimizer: opt, rng: cnn.defaultGenerator });
    startEpoch = r.epoch;
    const extra = r.extra as { config?: { model?: string }; metrics?: string[] };
    if (extra.config?.model !== f.model) {
      throw new UsageError(`Cannot resume: ${ckpt} holds ${extra.config?.model}, not --model ${f.model}`);
    }
    metrics.push(...(extra.metrics ?? []));
    console.log(`resuming from ${ckpt} after epoch ${startEpoch}`);
  }
  const t0 = performance.now();
  const history = await cnn.train.fit(net, loader, {
    epochs,
    optimizer: opt,
    schedule,
    labelSmoothing: f["label-smoothing"] as number,
    testData: testLoader,
    startEpoch,
    onProgress: (p) => {
      if (p.step % 10 === 0 || p.step === p.steps) {
        Deno.stdout.writeSync(new TextEncoder().encode(`\r${progressLine(p)}`));
      }
    },
    onEpochEnd: async (r) => {
      console.log(
        `\nepoch ${r.epoch}/${epochs}: loss ${r.loss.toFixed(4)}, train top-1 ${
          (100 * r.accuracy).toFixed(2)
        }%, ` +
          `test top-1 ${(100 * r.testTop1!).toFixed(2)}%, ${r.imagesPerSec.toFixed(0)} images/s`,
      );
      metrics.push(JSON.stringify(r));
      await atomicWrite(`${out}/metrics.jsonl`, metrics.join("\n") + "\n");
      await saveCheckpoint(ckpt, {
        model: net,
        optimizer: opt,
        epoch: r.epoch,
        step: r.epoch * loader.length,
        rng: cnn.defaultGenerator,
        extra: { config, metrics },
      });
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  if (history.length === 0) {
    console.log(`nothing to do: the checkpoint already has ${startEpoch} of ${epochs} epochs`);
    await cnn.shutdown();
    return;
  }
  const last = history[history.length - 1];
  const all = metrics.map((m) => JSON.parse(m) as cnn.train.EpochRecord);
  await atomicWrite(
    `${out}/curves.svg`,
    cnn.train.svgCurves([
      {
        title: "loss",
        series: [{ name: "train", values: all.map((h) => h.loss) }, {
          name: "test",
          values: all.map((h) => h.testLoss ?? NaN),
        }],
      },
      {
        title: "top-1 accuracy",
        series: [{ name: "train", values: all.map((h) => h.accuracy) }, {
          name: "test",
          values: all.map((h) => h.testTop1 ?? NaN),
        }],
      },
    ]),
  );
  console.log(
    `\ndone in ${seconds.toFixed(1)} s: test top-1 ${(100 * last.testTop1!).toFixed(2)}%, top-5 ${
      (100 * last.testTop5!).toFixed(2)
    }%; curves ${out}/curves.svg, metrics ${out}/metrics.jsonl`,
  );
  await Deno.writeFile(
    `${out}/model.safetensors`,
    cnn.io.writeSafetensors(net.stateDict(), { model: f.model as string }),
  );
  console.log(`checkpoint ${ckpt}; weights for the web demo ${out}/model.safetensors`);
  if (command === "demo") await printDigits(net, test, 6);
  await cnn.shutdown();
}

/** `n` examples spread evenly over a data set (the digits are stored class by class). */
function spread(ds: cnn.data.ArrayDataset, n: number): cnn.data.ArrayDataset {
  n = Math.min(n, ds.length);
  const size = ds.images.length / ds.length;
  const images = new Float32Array(n * size), labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const j = Math.floor((i * ds.length) / n);
    images.set(ds.images.subarray(j * size, (j + 1) * size), i * size);
    labels[i] = ds.labels[j];
  }
  return new cnn.data.ArrayDataset(images, labels, ds.shape, ds.numClasses);
}

async function atomicWrite(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  await Deno.writeTextFile(tmp, text);
  await Deno.rename(tmp, path);
}

async function evaluateCheckpoint(f: Record<string, unknown>): Promise<void> {
  await cnn.init({ threads: f.threads as number });
  const path = f.checkpoint as string;
  const bytes = await Deno.readFile(path).catch((e) => {
    throw new UsageError(`Cannot evaluate: cannot read --checkpoint ${path} (${e.message})`);
  });
  const meta = cnn.io.parseSafetensors(bytes).metadata;
  const extra = JSON.parse(meta["cnnzoo.extra"] ?? meta.extra ?? "{}") as {
    config?: { model?: string; options?: cnn.models.ModelOptions };
  };
  const name = extra.config?.model ?? meta.model;
  if (!name) throw new UsageError(`Cannot evaluate: ${path} does not name its model`);
  const net = cnn.models.create(name, {
    ...extra.config?.options,
    inChannels: 1,
    numClasses: 10,
    init: false,
  });
  await loadCheckpoint(path, { model: net });
  net.eval();
  const { test } = await cnn.data.loadDigits();
  const tenCrop = f.protocol === "10crop";
  const specs = cnn.data.tenCrop(32, 32, 28);
  let correct = 0;
  const t0 = performance.now();
  for (let start = 0; start < test.length; start += 100) {
    const n = Math.min(100, test.length - start);
    const crops = tenCrop ? 10 : 1;
    const data = new Float32Array(n * crops * 784);
    for (let i = 0; i < n; i++) {
      const img = { data: test.get(start + i).image, c: 1, h: 28, w: 28 };
      if (!tenCrop) data.set(img.data, i * 784);
      else {
        const padded = cnn.data.transforms.crop(img, { top: -2, left: -2, h: 32, w: 32 });
        specs.forEach((s, k) => data.set(cnn.data.applyCrop(padded, s).data, (i * 10 + k) * 784));
      }
    }
    const probs = await cnn.noGrad(() => net.forward(cnn.tensor(data, [n * crops, 1, 28, 28])).softmax(1))
      .toArray() as Float32Array;
    for (let i = 0; i < n; i++) {
      const rows = Array.from(
        { length: crops },
        (_, k) => probs.subarray((i * crops + k) * 10, (i * crops + k + 1) * 10),
      );
      const p = cnn.data.averageProbabilities(rows);
      const top = p.indexOf(Math.max(...p));
      if (top === test.get(start + i).label) correct++;
    }
  }
  console.log(
    `${name} from ${path}, protocol ${f.protocol}: test top-1 ${(100 * correct / test.length).toFixed(2)}% ` +
      `(${test.length} digits, ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  await cnn.shutdown();
}

async function summary(f: Record<string, unknown>): Promise<void> {
  if (f.list) {
    for (const name of cnn.models.list()) {
      console.log(`${name.padEnd(26)} ${cnn.models.entry(name).description}`);
    }
    return;
  }
  const e = cnn.models.entry(f.model as string);
  const inputSize = f["input-size"] === undefined
    ? e.inputSize
    : (f["input-size"] as string).split(",").map(Number);
  if (inputSize.length !== 3 || inputSize.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new UsageError(
      `Cannot parse arguments: --input-size must be C,H,W positive integers, got '${f["input-size"]}'`,
    );
  }
  const s = await cnn.models.summary(f.model as string, {
    inputSize: inputSize as [number, number, number],
    modelOptions: {
      ...modelOptions(f),
      ...(f["num-classes"] === undefined ? {} : { numClasses: f["num-classes"] as number }),
    },
  });
  console.log(s.toString());
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const cmd = COMMANDS[command ?? ""];
  if (!cmd) {
    console.error(`Usage: deno task <${Object.keys(COMMANDS).join("|")}> [flags]  (--help for each)`);
    if (command) console.error(`Cannot run: unknown command '${command}'`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(helpText(command, cmd.summary, cmd.flags));
    return 0;
  }
  try {
    const f = parseFlags(rest, cmd.flags);
    if (command === "summary") await summary(f);
    else if (command === "eval") await evaluateCheckpoint(f);
    else await train(command, f);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`${e.message}\nSee: deno task ${command} --help`);
      return 2;
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
