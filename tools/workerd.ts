/**
 * Builds and runs the edge function in Cloudflare's workerd (npm `workerd`): bundles
 * examples/edge/worker.ts with esbuild into `dist/workerd/`, writes the entry module and a capnp config
 * (kernels as a precompiled `wasm` module, weights as `data`), and starts `workerd serve`.
 * Usage: `deno task workerd [--port=8787]`. `buildWorkerd()` is exported for the test.
 * @module
 */
import * as esbuild from "esbuild";

const root = new URL("../", import.meta.url);

/** Writes dist/workerd/ for `port`; returns the config path. */
export async function buildWorkerd(port: number): Promise<string> {
  const out = new URL("dist/workerd/", root);
  await Deno.mkdir(out, { recursive: true });
  await esbuild.build({
    entryPoints: [new URL("examples/edge/worker.ts", root).pathname],
    bundle: true,
    format: "esm",
    minify: true,
    target: "es2022",
    outfile: new URL("worker.js", out).pathname,
    external: ["mnist"],
    logLevel: "warning",
  });
  await esbuild.stop();
  await Deno.copyFile(new URL("runtime/_wasm/cnnzoo_simd.wasm", root), new URL("cnnzoo_simd.wasm", out));
  await Deno.copyFile(new URL("examples/web/weights.safetensors", root), new URL("weights.safetensors", out));
  await Deno.writeTextFile(
    new URL("entry.js", out),
    `import wasm from "./cnnzoo_simd.wasm";\nimport weights from "./weights.bin";\nimport { makeWorker } from "./worker.js";\nexport default makeWorker(wasm, new Uint8Array(weights));\n`,
  );
  const config = new URL("config.capnp", out);
  await Deno.writeTextFile(
    config,
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [
    (name = "entry.js", esModule = embed "entry.js"),
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "cnnzoo_simd.wasm", wasm = embed "cnnzoo_simd.wasm"),
    (name = "weights.bin", data = embed "weights.safetensors"),
  ],
  compatibilityDate = "2025-01-01",
);
`,
  );
  return config.pathname;
}

/**
 * The command that serves a built config: the workerd binary itself (the npm package's default export
 * is its path), so killing the child stops workerd (an `npm:` launcher would leave it orphaned).
 */
export async function workerdCommand(config: string, piped = true): Promise<Deno.Command> {
  // CommonJS interop: the path is `default`, or `default.default` when wrapped.
  const mod = await import("workerd") as { default: string | { default: string } };
  const bin = typeof mod.default === "string" ? mod.default : mod.default.default;
  return new Deno.Command(bin, {
    args: ["serve", config],
    stdout: piped ? "piped" : "inherit",
    stderr: piped ? "piped" : "inherit",
  });
}

if (import.meta.main) {
  const port = Number(Deno.args.find((a) => a.startsWith("--port="))?.split("=")[1] ?? 8787);
  const config = await buildWorkerd(port);
  console.log(`workerd serving examples/edge on http://127.0.0.1:${port}/classify`);
  await (await workerdCommand(config, false)).spawn().status;
}
