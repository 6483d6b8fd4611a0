/**
 * VGG multi-scale dense evaluation (Simonyan & Zisserman, section 3.2 / Table 4): the image's shorter
 * side is resized to each scale Q, the fully-convolutional network ({@linkcode VGG.denseForward}) runs on
 * the whole image and on its horizontal flip, and the softmax outputs are averaged over scales and flips.
 * @module
 */
import type { VGG } from "../models/vgg.ts";
import { noGrad, tensor } from "../tensor/mod.ts";
import { hflip, type Image, resizeShorter } from "../data/transforms.ts";
import { averageProbabilities } from "../data/protocols.ts";

/** Options of {@linkcode multiScaleDense}. */
export interface MultiScaleOptions {
  /** Shorter-side sizes Q (default [256, 384, 512], the paper's for models trained with jitter). */
  scales?: readonly number[];
  /** Also evaluate the horizontally flipped image (default true). */
  flip?: boolean;
  /** Applied to each resized image before the network, e.g. mean/std normalization. */
  transform?: (img: Image) => Image;
}

/**
 * Class probabilities of one image by multi-scale dense evaluation (the network is put in eval mode).
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const net = cnn.models.create("vgg11", { numClasses: 4 }) as cnn.models.VGG;
 * const img = { data: new Float32Array(3 * 230 * 240), c: 3, h: 230, w: 240 };
 * const p = await cnn.train.multiScaleDense(net, img, { scales: [224], flip: false });
 * console.log(p.length); // 4
 * ```
 */
export async function multiScaleDense(
  net: VGG,
  img: Image,
  options: MultiScaleOptions = {},
): Promise<Float32Array> {
  const scales = options.scales ?? [256, 384, 512];
  const views: Image[] = [];
  for (const q of scales) {
    const r = resizeShorter(img, q);
    views.push(r);
    if (options.flip ?? true) views.push(hflip(r));
  }
  net.eval();
  const probs: Float32Array[] = [];
  for (const v0 of views) {
    const v = options.transform ? options.transform(v0) : v0;
    const x = tensor(v.data, [1, v.c, v.h, v.w]);
    const y = noGrad(() => net.denseForward(x).softmax(1));
    probs.push(await y.toArray() as Float32Array);
    x.dispose();
    y.dispose();
  }
  return averageProbabilities(probs);
}
