/// <reference lib="dom" />
// Issue 6: the web demo in headless Debian Chromium (playwright-core, executablePath = `command -v
// chromium`, never a downloaded browser), served with and without COOP/COEP: a drawn "1" is classified as
// 1 on both paths, with the same probabilities; the page says which path is active.
// Run by `deno task test:browser` (after `deno task bundle`); skipped visibly without chromium or weights.
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { handle } from "../../tools/serve.ts";

function which(cmd: string): string | null {
  try {
    const out = new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`], stdout: "piped" }).outputSync();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null;
  }
}
const browserPath = which("chromium");
const hasWeights = (() => {
  try {
    return Deno.statSync(new URL("../../dist/web/weights.safetensors", import.meta.url)).isFile;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "web demo: a drawn 1 is classified as 1, threaded and single-thread paths agree",
  ignore: !browserPath || !hasWeights,
  fn: async () => {
    const results: { probs: number[]; threads: number; path: string }[] = [];
    const browser = await chromium.launch({ executablePath: browserPath!, args: ["--no-sandbox"] });
    try {
      for (const isolated of [true, false]) {
        const ac = new AbortController();
        const server = Deno.serve(
          { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
          (req) => handle(req, isolated),
        );
        try {
          const page = await browser.newPage();
          const errors: string[] = [];
          page.on("pageerror", (e) => errors.push(String(e)));
          await page.goto(`http://127.0.0.1:${server.addr.port}/`);
          await page.waitForFunction(
            () => /loaded/.test(document.getElementById("status")!.textContent ?? ""),
            null,
            {
              timeout: 60_000,
            },
          );
          const box = (await page.locator("#pad").boundingBox())!;
          await page.mouse.move(box.x + 140, box.y + 50);
          await page.mouse.down();
          for (let y = 50; y <= 230; y += 10) await page.mouse.move(box.x + 140, box.y + y);
          await page.mouse.up();
          await page.waitForFunction(
            () => {
              const s = (globalThis as { cnnzooDemo?: { probs: number[] | null } }).cnnzooDemo;
              return s?.probs != null;
            },
            null,
            { timeout: 30_000 },
          );
          const state = await page.evaluate(() => {
            const s = (globalThis as unknown as {
              cnnzooDemo: { probs: number[]; report: { threads: number } };
            }).cnnzooDemo;
            return {
              probs: s.probs,
              threads: s.report.threads,
              path: document.getElementById("path")!.textContent!,
            };
          });
          assert.deepEqual(errors, []);
          results.push(state);
          await page.close();
        } finally {
          ac.abort();
          await server.finished;
        }
      }
    } finally {
      await browser.close();
    }
    const [iso, plain] = results;
    assert.equal(iso.threads, 2, iso.path);
    assert.match(iso.path, /Threaded path/);
    assert.equal(plain.threads, 1);
    assert.match(plain.path, /Single-thread path/);
    for (const r of results) {
      assert.equal(r.probs.indexOf(Math.max(...r.probs)), 1, `probabilities ${r.probs}`);
    }
    iso.probs.forEach((p, i) =>
      assert.ok(Math.abs(p - plain.probs[i]) < 1e-5, `class ${i}: ${p} vs ${plain.probs[i]}`)
    );
  },
});
