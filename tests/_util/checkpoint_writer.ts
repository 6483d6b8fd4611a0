// Child process of tests/deploy/checkpoint_kill_test.ts: saves checkpoints of a model whose every
// weight equals the epoch number, epoch 1, 2, 3, ... until killed. Prints "saved N" after each save.
// Usage: deno run --allow-read --allow-write=<dir> --allow-env tests/_util/checkpoint_writer.ts <path>
import * as cnn from "../../mod.ts";
import { saveCheckpoint } from "../../io/fs.ts";

await cnn.init({ threads: 1 });
const net = new cnn.nn.Linear(256, 1024); // ~1 MB, so each save takes a while
const path = Deno.args[0];
for (let epoch = 1;; epoch++) {
  for (const t of net.stateDict().values()) await t.write(new Float32Array(t.size).fill(epoch));
  await saveCheckpoint(path, { model: net, epoch, step: epoch }, { chunkBytes: 1 << 16 });
  console.log(`saved ${epoch}`);
}
