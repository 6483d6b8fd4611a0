/**
 * Training curves as a self-contained SVG (no dependencies): one panel per metric, epochs on x.
 * @module
 */

/** A named series of y values (one per epoch). */
export interface Series {
  name: string;
  values: number[];
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];

/**
 * Renders panels side by side, each a titled line chart with its series and a legend.
 *
 * @example
 * ```ts
 * import { svgCurves } from "./plot.ts";
 * const svg = svgCurves([{ title: "loss", series: [{ name: "train", values: [2, 1, 0.5] }] }]);
 * console.log(svg.startsWith("<svg"));
 * ```
 */
export function svgCurves(panels: { title: string; series: Series[] }[]): string {
  const W = 360, H = 240, M = { l: 48, r: 12, t: 28, b: 32 };
  const parts: string[] = [];
  panels.forEach((p, pi) => {
    const x0 = pi * W;
    const all = p.series.flatMap((s) => s.values).filter(Number.isFinite);
    let lo = Math.min(...all), hi = Math.max(...all);
    if (!all.length) lo = 0, hi = 1;
    if (hi === lo) hi = lo + 1;
    const n = Math.max(2, ...p.series.map((s) => s.values.length));
    const sx = (i: number) => x0 + M.l + (i / (n - 1)) * (W - M.l - M.r);
    const sy = (v: number) => M.t + (1 - (v - lo) / (hi - lo)) * (H - M.t - M.b);
    parts.push(`<text x="${x0 + W / 2}" y="18" text-anchor="middle" font-size="14">${esc(p.title)}</text>`);
    parts.push(
      `<rect x="${x0 + M.l}" y="${M.t}" width="${W - M.l - M.r}" height="${
        H - M.t - M.b
      }" fill="none" stroke="#999"/>`,
    );
    for (let k = 0; k <= 4; k++) {
      const v = lo + (k / 4) * (hi - lo);
      parts.push(
        `<text x="${x0 + M.l - 4}" y="${sy(v) + 4}" text-anchor="end" font-size="10">${
          v.toPrecision(3)
        }</text>`,
      );
    }
    parts.push(`<text x="${x0 + W / 2}" y="${H - 8}" text-anchor="middle" font-size="11">epoch</text>`);
    for (let i = 0; i < n; i++) {
      parts.push(`<text x="${sx(i)}" y="${H - M.b + 12}" text-anchor="middle" font-size="9">${i + 1}</text>`);
    }
    p.series.forEach((s, si) => {
      const c = COLORS[si % COLORS.length];
      const pts = s.values.map((v, i) => `${sx(i).toFixed(1)},${sy(v).toFixed(1)}`).join(" ");
      parts.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts}"/>`);
      s.values.forEach((v, i) =>
        parts.push(`<circle cx="${sx(i).toFixed(1)}" cy="${sy(v).toFixed(1)}" r="2.5" fill="${c}"/>`)
      );
      parts.push(
        `<text x="${x0 + W - M.r - 4}" y="${
          M.t + 14 + 13 * si
        }" text-anchor="end" font-size="11" fill="${c}">${esc(s.name)}</text>`,
      );
    });
  });
  const width = W * Math.max(1, panels.length);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${H}" viewBox="0 0 ${width} ${H}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${
    parts.join("\n")
  }\n</svg>\n`;
}
