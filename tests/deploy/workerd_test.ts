// Issue 6: the same edge handler in Cloudflare's workerd (npm `workerd`), with the kernels as a
// precompiled `wasm` module binding (workerd refuses to compile bytes) and the demo weights as a data
// module. Run by `deno task test:deploy`; skipped visibly when the weights or the workerd binary are
// missing.
import assert from "node:assert/strict";
import { encode as encodePng } from "fast-png";
import { buildWorkerd, workerdCommand } from "../../tools/workerd.ts";
import { loadDigits } from "../../data/mnist.ts";

const hasWeights = (() => {
  try {
    return Deno.statSync(new URL("../../examples/web/weights.safetensors", import.meta.url)).isFile;
  } catch {
    return false;
  }
})();

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test({
  name: "workerd runs the edge handler with the precompiled kernel module and classifies a digit",
  ignore: !hasWeights,
  fn: async () => {
    const port = freePort();
    const config = await buildWorkerd(port);
    const child = (await workerdCommand(config)).spawn();
    const stderr: string[] = [];
    const drain = (async () => {
      const dec = new TextDecoder();
      for await (const chunk of child.stderr) stderr.push(dec.decode(chunk));
    })();
    const drainOut = child.stdout.pipeTo(new WritableStream());
    try {
      const base = `http://127.0.0.1:${port}`;
      let up = false;
      for (let i = 0; i < 300 && !up; i++) {
        try {
          await (await fetch(`${base}/classify`)).body?.cancel();
          up = true;
        } catch {
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      assert.ok(up, `workerd did not listen on ${port} within 60 s: ${stderr.join("")}`);
      const { test } = await loadDigits();
      let correct = 0;
      const picks = [3, 401, 805, 1207, 1609, 1999];
      for (const j of picks) {
        const ex = test.get(j);
        const data = new Uint8Array(784);
        for (let i = 0; i < 784; i++) data[i] = Math.round(255 * ex.image[i]);
        const r = await fetch(`${base}/classify`, {
          method: "POST",
          body: new Uint8Array(encodePng({ width: 28, height: 28, data, channels: 1 })),
          headers: { "content-type": "image/png" },
        });
        const body = await r.json();
        assert.equal(r.status, 200, JSON.stringify(body) + stderr.join(""));
        assert.equal(body.top5.length, 5);
        if (body.top5[0].class === ex.label) correct++;
      }
      assert.ok(correct >= picks.length - 1, `${correct} of ${picks.length} digits right in workerd`);
      const bad = await fetch(`${base}/classify`, {
        method: "POST",
        body: new Uint8Array([1, 2, 3]),
        headers: { "content-type": "image/png" },
      });
      assert.equal(bad.status, 400);
      assert.match((await bad.json()).error, /neither JPEG nor PNG/);
    } finally {
      try {
        child.kill("SIGTERM");
      } catch { /* already exited (a failed start is reported above with its stderr) */ }
      await child.status;
      await drain;
      await drainOut.catch(() => {});
    }
  },
});
