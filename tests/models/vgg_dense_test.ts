// VGG dense evaluation (paper section 3.2): at 224x224 it equals the standard eval forward; on a larger
// image it equals the classifier run on every 7x7 window of the feature map, averaged (computed here by
// hand from the features); too small an input is a named error.
import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";
import { vgg } from "../../models/vgg.ts";

function sinData(n: number): Float32Array {
  return new Float32Array(n).map((_, i) => Math.sin(i * 0.37) + 0.2 * Math.cos(i * 0.011));
}

Deno.test("VGG dense evaluation matches the windowed classifier and the standard forward", async () => {
  await cnn.init({ threads: 1 });
  cnn.manualSeed(3);
  const c = 4;
  const net = vgg({ layers: [4, "M", 8, "M", c, "M", c, "M", c, "M"] }, { numClasses: 5 });
  net.eval();
  // Larger classifier weights than the init's N(0, 0.01), so the outputs are far from zero.
  for (const l of [0, 3, 6]) {
    const fc = net.classifier.at(l) as cnn.nn.Linear;
    fc.weight.write(sinData(fc.weight.size).map((v) => v * (l === 0 ? 1 : 0.05)));
    fc.bias!.write(sinData(fc.bias!.size).map((v) => v * 0.01));
  }
  await cnn.noGrad(async () => {
    const x224 = cnn.tensor(sinData(2 * 3 * 224 * 224), [2, 3, 224, 224]);
    const a = await net.forward(x224).toArray() as Float32Array;
    const b = await net.denseForward(x224).toArray() as Float32Array;
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-4 * (1 + Math.abs(a[i])));

    const [H, W] = [256, 320]; // feature map 8 x 10: 2 x 4 windows of 7 x 7
    // Position-dependent content (a bright square in one corner), so the windows differ.
    const img = new Float32Array(3 * H * W).map((_, i) => {
      const y = Math.floor(i / W) % H, z = i % W;
      return (y < 96 && z < 96 ? 2 : 0) + 0.1 * Math.sin(i * 0.37);
    });
    const x = cnn.tensor(img, [1, 3, H, W]);
    const dense = await net.denseForward(x).toArray() as Float32Array;
    const f = await net.features.forward(x).toArray() as Float32Array;
    const [fh, fw] = [H / 32, W / 32];
    const wins: number[] = [];
    for (let i = 0; i + 7 <= fh; i++) {
      for (let j = 0; j + 7 <= fw; j++) {
        for (let ch = 0; ch < c; ch++) {
          for (let y = 0; y < 7; y++) {
            for (let z = 0; z < 7; z++) wins.push(f[(ch * fh + i + y) * fw + j + z]);
          }
        }
      }
    }
    const count = (fh - 6) * (fw - 6);
    const logits = await net.classifier.forward(cnn.tensor(wins, [count, c * 49])).toArray() as Float32Array;
    let spread = 0;
    for (let k = 0; k < 5; k++) {
      let mean = 0;
      for (let p = 0; p < count; p++) mean += logits[p * 5 + k] / count;
      spread = Math.max(spread, Math.abs(logits[k] - mean));
      assert.ok(
        Math.abs(dense[k] - mean) <= 1e-4 * (1 + Math.abs(mean)),
        `class ${k}: ${dense[k]} vs ${mean}`,
      );
    }
    assert.ok(spread > 1e-3, `the windows differ (spread ${spread}), so averaging is really tested`);
    assert.throws(
      () => net.denseForward(cnn.zeros([1, 3, 200, 224])),
      /Cannot run dense evaluation: the feature map of a 200x224 input is 6x7/,
    );
  });
  net.dispose();
});

Deno.test("multi-scale dense evaluation averages softmax over scales and flips", async () => {
  await cnn.init({ threads: 1 });
  cnn.manualSeed(5);
  const net = vgg({ layers: [4, "M", 4, "M", 4, "M", 4, "M", 4, "M"] }, { numClasses: 3 });
  for (const l of [0, 3, 6]) {
    const fc = net.classifier.at(l) as cnn.nn.Linear;
    fc.weight.write(sinData(fc.weight.size).map((v) => v * (l === 0 ? 1 : 0.05)));
  }
  const h = 230, w = 250;
  const img = {
    data: new Float32Array(3 * h * w).map((_, i) => ((i % w) < 60 ? 2 : 0) + 0.1 * Math.sin(i)),
    c: 3,
    h,
    w,
  };
  const got = await cnn.train.multiScaleDense(net, img, { scales: [224, 256] });
  // By hand: the four views through denseForward, softmax, mean.
  const views = [224, 256].flatMap((q) => {
    const r = cnn.data.transforms.resizeShorter(img, q);
    return [r, cnn.data.transforms.hflip(r)];
  });
  const want = new Float32Array(3);
  for (const v of views) {
    const p = await cnn.noGrad(() => net.denseForward(cnn.tensor(v.data, [1, 3, v.h, v.w])).softmax(1))
      .toArray() as Float32Array;
    for (let k = 0; k < 3; k++) want[k] += p[k] / views.length;
  }
  for (let k = 0; k < 3; k++) assert.ok(Math.abs(got[k] - want[k]) < 1e-6, `${got[k]} vs ${want[k]}`);
  assert.ok(Math.abs(got.reduce((a, b) => a + b, 0) - 1) < 1e-5);
  net.dispose();
});
