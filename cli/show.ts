/**
 * Terminal output of the CLI: the one-line progress display and ASCII digits with the model's top-3.
 * @module
 */
import * as cnn from "../mod.ts";

/** "epoch 1/4  step 40/125  loss 0.4123  top-1 88.1%  612 images/s  ETA 0:42  lr 0.0950". */
export function progressLine(p: cnn.train.Progress): string {
  const eta = Number.isFinite(p.etaSec)
    ? `${Math.floor(p.etaSec / 60)}:${String(Math.round(p.etaSec % 60)).padStart(2, "0")}`
    : "?";
  return `epoch ${p.epoch}/${p.epochs}  step ${p.step}/${p.steps}  loss ${p.loss.toFixed(4)}  top-1 ${
    (100 * p.accuracy).toFixed(1)
  }%  ${p.imagesPerSec.toFixed(0)} images/s  ETA ${eta}  lr ${p.lr.toFixed(4)}   `;
}

const SHADES = " .:-=+*#%@";

/** Prints `count` test digits side by side as ASCII art, each with the model's top-3 classes. */
export async function printDigits(
  net: cnn.nn.Module,
  test: cnn.data.ArrayDataset,
  count: number,
): Promise<void> {
  const [, h, w] = test.shape;
  const picks = Array.from({ length: count }, (_, i) => Math.floor(((i + 0.5) * test.length) / count));
  const data = new Float32Array(count * h * w);
  picks.forEach((j, i) => data.set(test.get(j).image, i * h * w));
  net.eval();
  const probs = await cnn.noGrad(() => net.forward(cnn.tensor(data, [count, 1, h, w])).softmax(1))
    .toArray() as Float32Array;
  const k = probs.length / count;
  const cols: string[][] = picks.map((j, i) => {
    const img = test.get(j).image;
    const lines: string[] = [];
    for (let y = 0; y < h; y += 2) {
      let line = "";
      for (let x = 0; x < w; x++) {
        const v = Math.max(img[y * w + x], y + 1 < h ? img[(y + 1) * w + x] : 0);
        line += SHADES[Math.min(SHADES.length - 1, Math.floor(v * SHADES.length))];
      }
      lines.push(line);
    }
    const row = probs.subarray(i * k, (i + 1) * k);
    const top = [...row.keys()].sort((a, b) => row[b] - row[a]).slice(0, 3);
    lines.push(`label ${test.get(j).label}`.padEnd(w));
    for (const c of top) lines.push(`${c}: ${(100 * row[c]).toFixed(1)}%`.padEnd(w));
    return lines;
  });
  // As many digits side by side as the terminal is wide (80 columns when not a terminal).
  let width = 80;
  try {
    if (Deno.stdout.isTerminal()) width = Deno.consoleSize().columns;
  } catch { /* not a terminal */ }
  const perRow = Math.max(1, Math.floor((width + 2) / (w + 2)));
  for (let g = 0; g < cols.length; g += perRow) {
    const group = cols.slice(g, g + perRow);
    for (let r = 0; r < group[0].length; r++) console.log(group.map((c) => c[r]).join("  ").trimEnd());
    console.log();
  }
}
