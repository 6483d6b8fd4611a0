// Issues 5 and 8: a process killed with SIGKILL while it writes checkpoints over and over leaves, under
// the final name, a complete checkpoint of one of the saved states (never a partial file). Needs
// --allow-run (a child process), so it runs in `deno task test:deploy`.
import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";
import { loadCheckpoint } from "../../io/fs.ts";

Deno.test("SIGKILL during repeated checkpoint writes leaves the last complete checkpoint", async () => {
  await cnn.init({ threads: 1 });
  const dir = await Deno.makeTempDir({ prefix: "cnnzoo-kill-" });
  const path = `${dir}/last.safetensors`;
  const writer = new URL("../_util/checkpoint_writer.ts", import.meta.url).pathname;
  try {
    for (const delayMs of [0, 37, 151, 420]) {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-read", `--allow-write=${dir}`, "--allow-env", writer, path],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      // Wait for the first few saves, then kill at a varying moment of a later write.
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!/saved 3\n/.test(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      await new Promise((r) => setTimeout(r, delayMs));
      child.kill("SIGKILL");
      const status = await child.status;
      reader.releaseLock();
      await child.stdout.cancel().catch(() => {});
      const err = await new Response(child.stderr).text();
      assert.ok(/saved 3\n/.test(text), `the writer did not save 3 checkpoints: ${err}`);
      assert.equal(status.signal, "SIGKILL");
      const net = new cnn.nn.Linear(256, 1024);
      const r = await loadCheckpoint(path, { model: net });
      assert.ok(r.epoch >= 3, `epoch ${r.epoch}`);
      for (const t of net.stateDict().values()) {
        const v = await t.toArray() as Float32Array;
        assert.ok(v.every((x) => x === r.epoch), `every weight equals the saved epoch ${r.epoch}`);
      }
      net.dispose();
      // Leftover temporary files (a kill mid-write leaves one) never carry the final name.
      for (const e of Deno.readDirSync(dir)) {
        assert.ok(e.name === "last.safetensors" || e.name.includes(".tmp-"), e.name);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    await cnn.shutdown();
  }
});
