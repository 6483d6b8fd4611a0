/**
 * The digits classifier behind the edge handler: builds the model named in the weights file's metadata,
 * loads the weights, and returns the top-5 classes of an image preprocessed like MNIST.
 * @module
 */
import * as cnn from "../../mod.ts";
import { mnistFrame } from "../web/digits.ts";
import type { Classifier } from "./handler.ts";

/**
 * Creates the classifier. `init` options choose threads and (on workerd) a precompiled kernel module.
 *
 * @example
 * ```ts ignore
 * import { createDigitClassifier } from "./classifier.ts";
 * const c = await createDigitClassifier(await Deno.readFile("examples/web/weights.safetensors"));
 * ```
 */
export async function createDigitClassifier(
  weights: Uint8Array,
  init: cnn.InitOptions = { threads: 1 },
): Promise<Classifier> {
  await cnn.init(init);
  const meta = cnn.io.parseSafetensors(weights).metadata;
  const net = cnn.models.create(meta.model ?? "resnet20_cifar", {
    inChannels: 1,
    numClasses: 10,
    init: false,
  });
  cnn.io.loadSafetensors(net, weights, { strict: true });
  // Traced once: batch norms folded into the convolutions, ReLUs fused, Winograd weights precomputed.
  const frozen = await cnn.nn.freeze(net, [1, 1, 28, 28]);
  net.dispose();
  return {
    async classify(img) {
      const frame = mnistFrame(img);
      if (!frame) return [];
      const x = cnn.tensor(frame.data, [1, 1, 28, 28]);
      const logits = frozen.forward(x);
      const y = cnn.noGrad(() => logits.softmax(1));
      const p = await y.toArray();
      for (const t of [x, logits, y]) t.dispose();
      return [...p.keys()].sort((a, b) => p[b] - p[a]).slice(0, 5).map((c) => ({
        class: c,
        probability: p[c],
      }));
    },
  };
}
