// The edge handler over real HTTP on 127.0.0.1: routing, content types, body and pixel limits, bad
// images, concurrency and time bounds, all as JSON errors; never a 5xx for bad input.
import assert from "node:assert/strict";
import { encode as encodePng } from "fast-png";
import { type Classifier, createHandler } from "../../examples/edge/handler.ts";

function png(w: number, h: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(
    encodePng({ width: w, height: h, data: new Uint8Array(w * h).fill(200), channels: 1 }),
  );
}

async function withServer(
  classifier: Classifier,
  opts: { maxConcurrent?: number; timeoutMs?: number; maxBytes?: number },
  fn: (base: string) => Promise<void>,
): Promise<void> {
  const h = createHandler({ classifier: () => Promise.resolve(classifier), ...opts });
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    h.fetch,
  );
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    ac.abort();
    await server.finished;
  }
}

const fake: Classifier = {
  classify: (img) => Promise.resolve([{ class: img.w % 10, probability: 1 }]),
};

Deno.test("edge handler: classifies, and rejects bad requests with JSON 4xx", async () => {
  await withServer(fake, { maxBytes: 4096 }, async (base) => {
    const post = (body: BodyInit, type = "image/png", path = "/classify") =>
      fetch(base + path, { method: "POST", body, headers: { "content-type": type } });
    let r = await post(png(7, 5));
    assert.equal(r.status, 200);
    assert.deepEqual((await r.json()).top5, [{ class: 7, probability: 1 }]);
    const cases: [Promise<Response>, number, RegExp][] = [
      [fetch(base + "/classify"), 405, /method GET/],
      [post(png(2, 2), "image/png", "/nope"), 404, /no route/],
      [post(png(2, 2), "text/plain"), 415, /content-type 'text\/plain'/],
      [post(new Uint8Array(5000)), 413, /exceeds the limit of 4096/],
      [post(new Uint8Array([1, 2, 3])), 400, /neither JPEG nor PNG/],
      [post(png(4, 4).subarray(0, 40)), 400, /Cannot decode image/],
      [post(new Uint8Array(0)), 400, /empty body/],
    ];
    for (const [p, status, msg] of cases) {
      r = await p;
      const body = await r.json();
      assert.equal(r.status, status, JSON.stringify(body));
      assert.match(body.error, msg);
    }
  });
});

Deno.test("edge handler: concurrency bound gives 503, timeouts give 503, then it recovers", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const slow: Classifier = { classify: async () => (await gate, [{ class: 1, probability: 1 }]) };
  await withServer(slow, { maxConcurrent: 2, timeoutMs: 3000 }, async (base) => {
    const req = () =>
      fetch(base + "/classify", {
        method: "POST",
        body: png(3, 3),
        headers: { "content-type": "image/png" },
      });
    const a = req(), b = req();
    await new Promise((r) => setTimeout(r, 100));
    const c = await req();
    assert.equal(c.status, 503);
    assert.match((await c.json()).error, /busy/);
    release();
    assert.deepEqual([(await a).status, (await b).status], [200, 200]);
    await (await a).body?.cancel();
  });
  const never: Classifier = { classify: () => new Promise(() => {}) };
  await withServer(never, { timeoutMs: 200 }, async (base) => {
    const r = await fetch(base + "/classify", {
      method: "POST",
      body: png(3, 3),
      headers: { "content-type": "image/png" },
    });
    assert.equal(r.status, 503);
    assert.match((await r.json()).error, /timed out after 200 ms/);
  });
});

Deno.test("edge handler: 200 concurrent mixed requests, zero 5xx apart from explicit busy", async () => {
  await withServer(fake, { maxConcurrent: 64 }, async (base) => {
    const bodies = [png(5, 5), new Uint8Array([0xff, 0xd8, 0xff, 0]), png(9, 2)];
    const rs = await Promise.all(Array.from({ length: 200 }, (_, i) =>
      fetch(base + "/classify", {
        method: "POST",
        body: bodies[i % 3],
        headers: { "content-type": "image/png" },
      }).then(async (r) => (await r.body?.cancel(), r.status))));
    const counts = new Map<number, number>();
    for (const s of rs) counts.set(s, (counts.get(s) ?? 0) + 1);
    assert.ok(![...counts.keys()].some((s) => s >= 500 && s !== 503), JSON.stringify([...counts]));
    assert.equal((counts.get(200) ?? 0) + (counts.get(400) ?? 0) + (counts.get(503) ?? 0), 200);
  });
});
