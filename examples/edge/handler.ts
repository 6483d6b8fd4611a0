/**
 * A Web-standard request handler for image classification at the edge: `POST /classify` with a JPEG or
 * PNG body returns `{ top5: [{ class, probability }], ms }`. Bounded everywhere: body bytes, image
 * pixels, concurrent requests and time per request, each with a JSON 4xx/503 error.
 * @module
 */
import { decodeImage } from "../../data/images.ts";
import type { Image } from "../../data/transforms.ts";

/** What the handler needs from a model: top-k classes with probabilities for one image. */
export interface Classifier {
  classify(img: Image): Promise<{ class: number; probability: number }[]>;
}

/** Limits of {@linkcode createHandler}. */
export interface HandlerOptions {
  /** Loads the classifier once, on the first request that needs it. */
  classifier: () => Promise<Classifier>;
  /** Largest body in bytes (default 2 MiB). */
  maxBytes?: number;
  /** Largest image in pixels (default 4 M). */
  maxPixels?: number;
  /** Requests classified at once; more get 503 (default 4). */
  maxConcurrent?: number;
  /** Time budget per request in ms; past it, 503 (default 10 s). */
  timeoutMs?: number;
}

const TYPES = ["image/png", "image/jpeg", "application/octet-stream"];

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

async function readBody(req: Request, max: number): Promise<Uint8Array | Response> {
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (declared > max) return json(413, { error: `body of ${declared} bytes exceeds the limit of ${max}` });
  if (!req.body) return json(400, { error: "empty body: send the image bytes" });
  const chunks: Uint8Array[] = [];
  let n = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > max) {
      await reader.cancel();
      return json(413, { error: `body exceeds the limit of ${max} bytes` });
    }
    chunks.push(value);
  }
  if (n === 0) return json(400, { error: "empty body: send the image bytes" });
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/**
 * Builds `{ fetch }` for `export default` (Deno Deploy, workerd) or `Deno.serve(handler.fetch)`.
 *
 * @example
 * ```ts
 * import { createHandler } from "./handler.ts";
 * const h = createHandler({ classifier: async () => ({ classify: async () => [{ class: 7, probability: 1 }] }) });
 * const res = await h.fetch(new Request("http://x/classify", { method: "GET" }));
 * console.log(res.status); // 405
 * ```
 */
export function createHandler(options: HandlerOptions): { fetch(req: Request): Promise<Response> } {
  const maxBytes = options.maxBytes ?? 2 << 20;
  const maxPixels = options.maxPixels ?? 4e6;
  const maxConcurrent = options.maxConcurrent ?? 4;
  const timeoutMs = options.timeoutMs ?? 10_000;
  let model: Promise<Classifier> | undefined;
  let active = 0;
  return {
    async fetch(req: Request): Promise<Response> {
      const url = new URL(req.url);
      if (url.pathname !== "/classify") {
        return json(404, { error: `no route ${url.pathname}; POST /classify` });
      }
      if (req.method !== "POST") return json(405, { error: `method ${req.method} not allowed; use POST` });
      const type = (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
      if (!TYPES.includes(type)) {
        return json(415, { error: `content-type '${type}' not accepted; use ${TYPES.join(", ")}` });
      }
      if (active >= maxConcurrent) {
        return json(503, { error: `busy: ${active} requests in progress, retry later` });
      }
      active++;
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        const work = (async () => {
          const body = await readBody(req, maxBytes);
          if (body instanceof Response) return body;
          let img: Image;
          try {
            img = decodeImage(body, { maxPixels });
          } catch (e) {
            return json(400, { error: e instanceof Error ? e.message : String(e) });
          }
          const t0 = performance.now();
          model ??= options.classifier();
          const top5 = await (await model).classify(img);
          return json(200, { top5, ms: Math.round((performance.now() - t0) * 10) / 10 });
        })();
        const timeout = new Promise<Response>((resolve) => {
          timer = setTimeout(
            () => resolve(json(503, { error: `timed out after ${timeoutMs} ms` })),
            timeoutMs,
          );
        });
        return await Promise.race([work, timeout]);
      } catch (e) {
        return json(500, { error: `internal error: ${e instanceof Error ? e.message : String(e)}` });
      } finally {
        clearTimeout(timer);
        active--;
      }
    },
  };
}
