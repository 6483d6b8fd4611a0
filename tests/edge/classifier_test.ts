// The edge function with the real model: examples/edge/main.ts's handler (the committed demo weights,
// examples/web/weights.safetensors) over HTTP on 127.0.0.1 classifies PNG test digits, in rounds
// of concurrent requests, with sorted top-5 probabilities.
import assert from "node:assert/strict";
import { encode as encodePng } from "fast-png";
import { loadDigits } from "../../data/mnist.ts";

const weightsUrl = new URL("../../examples/web/weights.safetensors", import.meta.url);
const hasWeights = (() => {
  try {
    return Deno.statSync(weightsUrl).isFile;
  } catch {
    return false;
  }
})();

/** A test digit as an 8-bit grey PNG, black ink on white (the handler inverts light backgrounds). */
function digitPng(pixels: Float32Array): Uint8Array<ArrayBuffer> {
  const data = new Uint8Array(784);
  for (let i = 0; i < 784; i++) data[i] = 255 - Math.round(255 * pixels[i]);
  return new Uint8Array(encodePng({ width: 28, height: 28, data, channels: 1 }));
}

Deno.test({
  name: "edge function with the demo weights classifies test digits over HTTP (concurrently)",
  ignore: !hasWeights,
  sanitizeResources: false,
  fn: async () => {
    const { default: handler } = await import("../../examples/edge/main.ts");
    const { test } = await loadDigits();
    const ac = new AbortController();
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
      handler.fetch,
    );
    try {
      const picks = Array.from({ length: 12 }, (_, i) => Math.floor(((i + 0.5) * test.length) / 12));
      const answers: {
        j: number;
        status: number;
        body: { top5: { class: number; probability: number }[] };
      }[] = [];
      // Three rounds of four concurrent requests (the handler's default concurrency bound is 4).
      for (let round = 0; round < 3; round++) {
        answers.push(
          ...await Promise.all(
            picks.slice(round * 4, round * 4 + 4).map(async (j) => {
              const r = await fetch(`http://127.0.0.1:${server.addr.port}/classify`, {
                method: "POST",
                body: digitPng(test.get(j).image),
                headers: { "content-type": "image/png" },
              });
              return { j, status: r.status, body: await r.json() };
            }),
          ),
        );
      }
      let correct = 0;
      for (const a of answers) {
        assert.equal(a.status, 200, JSON.stringify(a.body));
        const top5 = a.body.top5;
        assert.equal(top5.length, 5);
        const sum = top5.reduce((s, t) => s + t.probability, 0);
        assert.ok(sum > 0.9 && sum <= 1.0001, `top-5 probabilities sum to ${sum}`);
        for (let i = 1; i < 5; i++) assert.ok(top5[i].probability <= top5[i - 1].probability);
        if (top5[0].class === test.get(a.j).label) correct++;
      }
      assert.ok(correct >= 11, `${correct} of 12 test digits classified correctly`);
    } finally {
      ac.abort();
      await server.finished;
    }
  },
});
