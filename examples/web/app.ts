/**
 * The browser demo: draw a digit (or drop an image) and see the top-5 classes of the model trained by
 * `deno task demo`. Shows whether the threaded path (SharedArrayBuffer + workers; needs COOP/COEP) or the
 * single-thread path is active, and why.
 * @module
 */
/// <reference lib="dom" />
import * as cnn from "../../mod.ts";
import { mnistFrame } from "./digits.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $("status"), pathEl = $("path"), table = $<HTMLTableElement>("top5");
const pad = $<HTMLCanvasElement>("pad");
const ctx = pad.getContext("2d", { willReadFrequently: true })!;

/** Exposed for the browser test: the last probabilities and the runtime report. */
const state: { probs: number[] | null; report: cnn.InitReport | null; busy: boolean } = {
  probs: null,
  report: null,
  busy: false,
};
(globalThis as { cnnzooDemo?: typeof state }).cnnzooDemo = state;

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const threads = params.get("threads") === "1" ? 1 : Math.min(2, navigator.hardwareConcurrency || 1);
  const wasm = (crossOriginIsolated && threads > 1 ? "cnnzoo_mt" : "cnnzoo_simd") + "_relaxed";
  const report = await cnn.init({
    threads: crossOriginIsolated ? threads : 1,
    module: await pickModule(wasm),
  });
  state.report = report;
  pathEl.textContent = report.threads > 1
    ? `Threaded path: ${report.threads} threads over shared Wasm memory.`
    : `Single-thread path${report.fallbackReason ? `: ${report.fallbackReason}` : ""}${
      crossOriginIsolated ? "" : " (page is not cross-origin isolated: no SharedArrayBuffer)"
    }.`;
  const bytes = new Uint8Array(await (await fetch("./weights.safetensors")).arrayBuffer());
  const weights = cnn.io.readSafetensors(bytes);
  const meta = cnn.io.parseSafetensors(bytes).metadata;
  const net = cnn.models.create(meta.model ?? "resnet20_cifar", {
    inChannels: 1,
    numClasses: 10,
    init: false,
  });
  net.loadStateDict(weights, { strict: true });
  status.textContent = `Model ${meta.model} loaded (${net.numParameters().toLocaleString()} parameters).`;
  // Traced once: batch norms folded into the convolutions, ReLUs fused, Winograd weights precomputed.
  const frozen = await cnn.nn.freeze(net, [1, 1, 28, 28]);
  net.dispose();

  const classify = async (img: cnn.data.Image) => {
    const frame = mnistFrame(img);
    if (!frame) return;
    state.busy = true;
    const x = cnn.tensor(frame.data, [1, 1, 28, 28]);
    const logits = frozen.forward(x);
    const y = cnn.noGrad(() => logits.softmax(1));
    const probs = await y.toArray() as Float32Array;
    for (const t of [x, logits, y]) t.dispose();
    state.probs = Array.from(probs);
    const top = [...probs.keys()].sort((a, b) => probs[b] - probs[a]).slice(0, 5);
    table.innerHTML = top.map((c) =>
      `<tr><td>${c}</td><td>${(100 * probs[c]).toFixed(1)}%</td><td><div class="bar" style="width:${
        Math.round(200 * probs[c])
      }px"></div></td></tr>`
    ).join("");
    state.busy = false;
  };
  const fromCanvas = () => {
    const d = ctx.getImageData(0, 0, pad.width, pad.height).data;
    const n = pad.width * pad.height, data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = d[4 * i] / 255;
    return classify({ data, c: 1, h: pad.height, w: pad.width });
  };
  setupDrawing(fromCanvas);
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => (e.preventDefault(), drop.classList.add("over")));
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", async (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const f = e.dataTransfer?.files[0];
    if (!f) return;
    try {
      await classify(cnn.data.decodeImage(new Uint8Array(await f.arrayBuffer()), { maxPixels: 16e6 }));
    } catch (err) {
      status.textContent = String(err instanceof Error ? err.message : err);
    }
  });
}

async function pickModule(name: string): Promise<WebAssembly.Module> {
  return await WebAssembly.compileStreaming(fetch(`./${name}.wasm`)).catch(async () =>
    await WebAssembly.compile(await (await fetch(`./${name.replace("_relaxed", "")}.wasm`)).arrayBuffer())
  );
}

function setupDrawing(onDone: () => void): void {
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, pad.width, pad.height);
  ctx.strokeStyle = "#fff";
  ctx.lineWidth = 20;
  ctx.lineCap = ctx.lineJoin = "round";
  let drawing = false;
  const at = (e: PointerEvent) => [e.offsetX, e.offsetY] as const;
  pad.addEventListener("pointerdown", (e) => {
    drawing = true;
    ctx.beginPath();
    ctx.moveTo(...at(e));
  });
  pad.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    ctx.lineTo(...at(e));
    ctx.stroke();
  });
  const end = () => {
    if (drawing) onDone();
    drawing = false;
  };
  pad.addEventListener("pointerup", end);
  pad.addEventListener("pointerleave", end);
  $("clear").addEventListener("click", () => {
    ctx.fillRect(0, 0, pad.width, pad.height);
    table.innerHTML = "";
  });
}

main().catch((e) => {
  status.textContent = `Cannot start the demo: ${e instanceof Error ? e.message : e}`;
  console.error(e);
});
