/**
 * `deno task bench:peers`: cnnzoo against ONNX Runtime Web 1.30 (wasm EP) and TF.js 4.22 (wasm backend)
 * in one process, on the same weights: ResNet-50 / ResNet-18 at 224 batch 1, ResNet-20 CIFAR at batch 1
 * and 64, and a ResNet-20 training step at batch 128 (cnnzoo only: the peers cannot train).
 *
 * Per workload: build the seeded cnnzoo network (1- and 2-thread runtimes), lower it to ONNX and to tf
 * ops, check every library's logits against cnnzoo's single-thread ones (a library that disagrees is not
 * timed), warm each up, then time in rounds that alternate the libraries (rotating who goes first), and
 * report the median and best per (workload, library, threads).
 *
 * Flags: `--runs=<n>` timed runs per library (default per workload), `--filter=<substring>` on workload
 * names, `--json` one JSON line per row: {"workload","lib","threads","ms","best_ms","images_per_s"}.
 * @module
 */
import * as cnn from "../../mod.ts";
import { parseFlags, sgdStep } from "../_util.ts";
import { buildNet, inputData, lower, type NetSpec } from "./net.ts";
import { ortSession, toOnnx } from "./ort.ts";
import { tfInit, tfNetwork, toNhwc } from "./tfjs.ts";

interface Workload extends NetSpec {
  name: string;
  input: [number, number, number, number];
  runs: number;
  train?: boolean;
}

const R20 = { model: "resnet20_cifar", options: { shortcut: "B" as const } };
const WORKLOADS: Workload[] = [
  { name: "resnet50_b1", model: "resnet50", options: {}, input: [1, 3, 224, 224], runs: 10 },
  { name: "resnet18_b1", model: "resnet18", options: {}, input: [1, 3, 224, 224], runs: 15 },
  { name: "resnet20_b1", ...R20, input: [1, 3, 32, 32], runs: 60 },
  { name: "resnet20_b64", ...R20, input: [64, 3, 32, 32], runs: 15 },
  { name: "resnet20_train_b128", ...R20, input: [128, 3, 32, 32], runs: 10, train: true },
];
const ROUNDS = 5;
const TOL = 1e-3;
const CANNOT_TRAIN: [string, number, string][] = [
  ["ort-web", 2, "cannot train: ONNX Runtime Web has no training"],
  ["tfjs-wasm", 1, "cannot train: tfjs-backend-wasm has no Conv2DBackpropFilter kernel"],
];

/** One library at one thread count on one workload. */
interface Contestant {
  lib: string;
  threads: number;
  /** Logits (inference) or nothing (training step). */
  run(): Promise<Float32Array | void>;
  close(): Promise<void> | void;
  times: number[];
}

interface Row {
  workload: string;
  lib: string;
  threads: number;
  ms: number | null;
  best: number | null;
  images: number;
  note: string;
}

/** max |got − want| / max |want|, or why they cannot be compared. */
function relError(got: Float32Array, want: Float32Array): number {
  if (got.length !== want.length) return Infinity;
  let scale = 1e-30, err = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    err = Math.max(err, Math.abs(got[i] - want[i]));
  }
  return err / scale;
}

function cnnzoo(rt: cnn.Runtime, w: Workload): Contestant {
  const net = buildNet(rt, w);
  const x = cnn.withRuntime(rt, () => cnn.tensor(inputData(w.input), w.input));
  const base = { lib: "cnnzoo", threads: rt.report.threads, times: [] as number[] };
  const close = () => {
    x.dispose();
    net.dispose();
  };
  if (!w.train) {
    return {
      ...base,
      close,
      async run() {
        const y = cnn.noGrad(() => net.forward(x));
        const out = await y.toArray();
        y.dispose();
        return out;
      },
    };
  }
  return { ...base, close, run: sgdStep(net, x) };
}

/** cnnzoo's frozen inference model (cnn.nn.freeze: folded BN, fused ReLU, precomputed Winograd weights). */
async function cnnzooFrozen(rt: cnn.Runtime, w: Workload): Promise<Contestant> {
  const net = buildNet(rt, w);
  const frozen = await cnn.nn.freeze(net, w.input);
  net.dispose();
  const x = cnn.withRuntime(rt, () => cnn.tensor(inputData(w.input), w.input));
  return {
    lib: "cnnzoo-frozen",
    threads: rt.report.threads,
    times: [],
    close() {
      x.dispose();
      frozen.dispose();
    },
    async run() {
      const y = frozen.forward(x);
      const out = await y.toArray();
      y.dispose();
      return out;
    },
  };
}

/** Builds the contestants of a workload; a library that fails or disagrees gets a row saying why. */
async function contestants(w: Workload, rts: cnn.Runtime[], rows: Row[]): Promise<Contestant[]> {
  const out = rts.map((rt) => cnnzoo(rt, w));
  const skip = (lib: string, threads: number, note: string) => {
    rows.push({ workload: w.name, lib, threads, ms: null, best: null, images: 0, note });
    console.error(`# ${w.name} ${lib} ${threads} thr: ${note}`);
  };
  if (w.train) {
    for (const [lib, threads, why] of CANNOT_TRAIN) skip(lib, threads, why);
    return out;
  }
  const want = (await out[0].run()) as Float32Array;
  for (const rt of rts) out.push(await cnnzooFrozen(rt, w));
  for (const c of out.slice(1)) {
    const e = relError((await c.run()) as Float32Array, want);
    if (!(e <= 1e-4)) {
      skip(c.lib, c.threads, `not timed: logits differ from cnnzoo 1 thread by ${e.toExponential(2)}`);
      out.splice(out.indexOf(c), 1);
    }
  }
  const source = buildNet(rts[0], w);
  const lowered = await lower(source);
  source.dispose();
  const x = inputData(w.input);
  const candidates: [string, number, () => Promise<Contestant>][] = [
    ...[1, 2].map((threads): [string, number, () => Promise<Contestant>] => [
      "ort-web",
      threads,
      async () => {
        const s = await ortSession(toOnnx(lowered, w.input), w.input, threads);
        return { lib: "ort-web", threads, times: [], run: () => s.run(x), close: () => s.release() };
      },
    ]),
    ["tfjs-wasm", 1, async () => {
      const threads = await tfInit();
      const net = tfNetwork(lowered, w.input);
      const nhwc = toNhwc(x, w.input);
      return { lib: "tfjs-wasm", threads, times: [], run: () => net.run(nhwc), close: () => net.dispose() };
    }],
  ];
  for (const [lib, threads, make] of candidates) {
    let c: Contestant;
    try {
      c = await make();
    } catch (err) {
      skip(lib, threads, `failed to start: ${(err as Error).message.split("\n")[0]}`);
      continue;
    }
    const e = relError((await c.run()) as Float32Array, want);
    if (e <= TOL) {
      out.push(c);
    } else {
      skip(lib, threads, `not timed: logits differ from cnnzoo by ${e.toExponential(2)} (tolerance ${TOL})`);
      await c.close();
    }
  }
  return out;
}

async function measure(cs: Contestant[], runs: number): Promise<void> {
  for (const c of cs) await c.run(); // warm-up (the check above was the first call)
  const per = Math.max(1, Math.ceil(runs / ROUNDS));
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < cs.length; k++) {
      const c = cs[(k + r) % cs.length];
      for (let i = 0; i < per; i++) {
        const t0 = performance.now();
        await c.run();
        c.times.push(performance.now() - t0);
      }
    }
  }
  for (const c of cs) c.times.sort((a, b) => a - b);
}

function format(rows: Row[]): string {
  const head = ["workload", "lib", "thr", "median ms", "best ms", "images/s", "vs cnnzoo 2thr"];
  const lines = rows.map((r) => {
    const ref = rows.find((q) => q.workload === r.workload && q.lib === "cnnzoo" && q.threads === 2);
    const ratio = r.ms !== null && ref?.ms ? `${(r.ms / ref.ms).toFixed(2)}x` : "";
    return [
      r.workload,
      r.lib,
      String(r.threads),
      r.ms?.toFixed(2) ?? "-",
      r.best?.toFixed(2) ?? "-",
      r.ms !== null ? r.images.toFixed(1) : "-",
      ratio || (r.note.length > 100 ? `${r.note.slice(0, 97)}...` : r.note),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (l: string[]) =>
    l.map((s, i) => i < 2 || i === 6 ? s.padEnd(widths[i]) : s.padStart(widths[i])).join("  ");
  return [fmt(head), ...lines.map(fmt)].join("\n");
}

const flags = parseFlags(Deno.args);
const runsGiven = Deno.args.some((a) => a.startsWith("--runs="));
const selected = WORKLOADS.filter((w) => w.name.includes(flags.filter));
const rts = [await cnn.createRuntime({ threads: 1 }), await cnn.createRuntime({ threads: 2 })];
if (rts[1].report.threads !== 2) {
  console.error(`# cnnzoo: 2 threads unavailable: ${rts[1].report.fallbackReason}`);
}
const rows: Row[] = [];
const t0 = performance.now();
try {
  for (const w of selected) {
    const runs = runsGiven ? flags.runs : w.runs;
    const start = rows.length;
    const cs = await contestants(w, rts, rows);
    await measure(cs, runs);
    for (const c of cs) {
      const ms = c.times[c.times.length >> 1];
      rows.push({
        workload: w.name,
        lib: c.lib,
        threads: c.threads,
        ms,
        best: c.times[0],
        images: w.input[0] / ms * 1000,
        note: "",
      });
      await c.close();
    }
    // timed rows first, then the ones that were not timed
    const mine = rows.splice(start).sort((a, b) => (a.ms === null ? 1 : 0) - (b.ms === null ? 1 : 0));
    rows.push(...mine);
    for (const r of mine) {
      if (flags.json) {
        console.log(JSON.stringify({
          workload: r.workload,
          lib: r.lib,
          threads: r.threads,
          ms: r.ms,
          best_ms: r.best,
          images_per_s: r.ms === null ? null : r.images,
          ...(r.note ? { note: r.note } : {}),
        }));
      }
    }
    if (!flags.json) console.error(`# ${w.name} done (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
} finally {
  for (const rt of rts) await rt.close();
}
if (!flags.json) {
  console.log(
    `# ${new Date().toISOString().slice(0, 10)}, ${navigator.hardwareConcurrency} threads available`,
  );
  console.log(format(rows));
}
Deno.exit(0); // ORT's and TF.js's wasm runtimes keep the event loop alive
