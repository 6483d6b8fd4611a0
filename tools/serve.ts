/**
 * `deno task serve`: serves `dist/web/` (run `deno task bundle` first) on 127.0.0.1 with the COOP/COEP
 * headers that make the page cross-origin isolated (SharedArrayBuffer, so the threaded path).
 * Flags: `--port=<n>` (default 8000), `--no-isolation` (serve without the headers: single-thread path).
 * @module
 */
const args = Deno.args;
const port = Number(args.find((a) => a.startsWith("--port="))?.split("=")[1] ?? 8000);
const isolate = !args.includes("--no-isolation");
const root = new URL("../dist/web/", import.meta.url);
const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript",
  wasm: "application/wasm",
  safetensors: "application/octet-stream",
};

/** Answers one request from `dist/web/` (exported for tests). */
export async function handle(req: Request, isolated = isolate): Promise<Response> {
  const path = new URL(req.url).pathname.replace(/^\/+/, "") || "index.html";
  if (path.includes("..") || !/^[\w.\-]+$/.test(path)) return new Response("not found", { status: 404 });
  const headers: Record<string, string> = {
    "content-type": TYPES[path.split(".").pop()!] ?? "application/octet-stream",
    "cache-control": "no-store",
  };
  if (isolated) {
    headers["cross-origin-opener-policy"] = "same-origin";
    headers["cross-origin-embedder-policy"] = "require-corp";
  }
  try {
    return new Response(await Deno.readFile(new URL(path, root)), { headers });
  } catch {
    return new Response("not found", { status: 404 });
  }
}

if (import.meta.main) {
  Deno.serve({ hostname: "127.0.0.1", port }, (req) => handle(req));
  console.log(`serving dist/web on http://127.0.0.1:${port}/ ${isolate ? "with" : "without"} COOP/COEP`);
}
