import assert from "node:assert/strict";
import { Generator } from "../../tensor/mod.ts";
import {
  centerCrop,
  colorPca,
  crop,
  hflip,
  type Image,
  pcaLighting,
  pcaOffset,
  randomCrop,
  randomResizedCropBox,
  resize,
  resizeShorter,
  roundHalfEven,
} from "../../data/transforms.ts";
import { applyCrop, averageProbabilities, crops144, tenCrop } from "../../data/protocols.ts";
import { cifarFromBinary, mnistFromIdx, parseIdx } from "../../data/formats.ts";
import { assertClose } from "../_util/assert_close.ts";
import { readFixture } from "../_util/fixture.ts";

const FIX = readFixture(Deno.readFileSync(new URL("../fixtures/transforms.safetensors", import.meta.url)));
const fx = (k: string) => FIX.get(k)!;
const image = (k: string): Image => {
  const { shape, data } = fx(k);
  return { data, c: shape[0], h: shape[1], w: shape[2] };
};

Deno.test("resize matches torchvision bilinear (antialias off), down and up", () => {
  const img = image("img");
  assertClose(resize(img, 7, 9).data, fx("resize_7x9").data, { atol: 1e-6, rtol: 0, label: "7x9" });
  assertClose(resize(img, 20, 25).data, fx("resize_20x25").data, { atol: 1e-6, rtol: 0, label: "20x25" });
  const s = resizeShorter(img, 10);
  assert.deepEqual([s.h, s.w], fx("resize_short10").shape.slice(1));
  assertClose(s.data, fx("resize_short10").data, { atol: 1e-6, rtol: 0, label: "shorter 10" });
});

Deno.test("centre crop matches torchvision, including round-half-to-even offsets", () => {
  assert.deepEqual(centerCrop(image("img"), 8).data, fx("center8").data);
  assert.deepEqual(centerCrop(image("img2"), 5).data, fx("img2_center5").data);
  assert.equal(roundHalfEven(4.5), 4);
  assert.equal(roundHalfEven(5.5), 6);
  assert.equal(roundHalfEven(-0.5), -0);
});

Deno.test("10-crop boxes and order equal torchvision TenCrop", () => {
  const ramp = image("ramp");
  const crops = tenCrop(ramp.h, ramp.w, 6).map((s) => applyCrop(ramp, s).data);
  const want = fx("ramp_tencrop6").data;
  crops.forEach((c, i) => assert.deepEqual(c, want.subarray(i * 36, (i + 1) * 36), `crop ${i}`));
  const b = tenCrop(256, 256, 224);
  assert.deepEqual(b.slice(0, 5).map((s) => s.box !== "resize" && [s.box.top, s.box.left]), [
    [0, 0],
    [0, 32],
    [32, 0],
    [32, 32],
    [16, 16],
  ]);
});

Deno.test("144 crops: counts and squares for landscape, portrait and square images", () => {
  for (const [h, w] of [[300, 400], [400, 300], [300, 300]]) {
    const specs = crops144(h, w);
    assert.equal(specs.length, 144);
    assert.equal(specs.filter((s) => s.flip).length, 72);
    assert.equal(specs.filter((s) => s.box === "resize").length, 24);
  }
  // Landscape 300x400 at Q = 256: resized 256x341, squares at left 0, 42, 85.
  const lefts = [...new Set(crops144(300, 400).filter((s) => s.scale === 256).map((s) => s.region!.left))];
  assert.deepEqual(lefts, [0, 42, 85]);
  const tops = [...new Set(crops144(400, 300).filter((s) => s.scale === 352).map((s) => s.region!.top))];
  assert.deepEqual(tops, [0, 58, 117]); // portrait: 469x352 -> tops 0, 58, 117
  const img: Image = { data: new Float32Array(3 * 40 * 50).map((_, i) => i % 7), c: 3, h: 40, w: 50 };
  const small = crops144(40, 50, [30, 36], 24);
  assert.equal(small.length, 72);
  for (const s of small) assert.deepEqual([applyCrop(img, s).h, applyCrop(img, s).w], [24, 24]);
});

Deno.test("ensembles average probabilities; identical crops give the single crop", () => {
  const p = new Float32Array([0.2, 0.8]);
  assert.deepEqual(averageProbabilities([p, p, p]), p);
  assertClose(averageProbabilities([new Float32Array([1, 0]), new Float32Array([0, 1])]), [0.5, 0.5]);
  assert.throws(() => averageProbabilities([]), /Cannot average probabilities/);
});

Deno.test("flip is an involution; crops stay in bounds; the CIFAR pad-crop is a zero-bordered shift", () => {
  const g = new Generator(3);
  const img: Image = { data: Float32Array.from({ length: 2 * 5 * 6 }, () => g.uniform()), c: 2, h: 5, w: 6 };
  assert.deepEqual(hflip(hflip(img)).data, img.data);
  const counts = new Map<string, number>();
  for (let i = 0; i < 2000; i++) {
    const c = randomCrop(img, 5, 1, g);
    assert.equal(c.data.length, 2 * 25);
    // Find the shift: the crop equals crop(img, box) for exactly one box with top, left in [-1, 1].
    let found = "";
    for (let t = -1; t <= 1 && !found; t++) {
      for (let l = -1; l <= 2 && !found; l++) {
        if (crop(img, { top: t, left: l, h: 5, w: 5 }).data.every((v, k) => v === c.data[k])) {
          found = `${t},${l}`;
        }
      }
    }
    assert.ok(found, "crop is a shifted window of the zero-padded image");
    counts.set(found, (counts.get(found) ?? 0) + 1);
  }
  // 3 x 4 offsets, uniform: chi-square with 11 degrees of freedom below 31.3 (p = 0.001).
  assert.equal(counts.size, 12);
  const chi = [...counts.values()].reduce((s, n) => s + (n - 2000 / 12) ** 2 / (2000 / 12), 0);
  assert.ok(chi < 31.3, `chi-square ${chi}`);
});

Deno.test("random resized crop: boxes in area/ratio bounds, uniform area, fallback on extreme sizes", () => {
  const g = new Generator(5);
  const fr: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const b = randomResizedCropBox(300, 300, g);
    assert.ok(b.top >= 0 && b.left >= 0 && b.top + b.h <= 300 && b.left + b.w <= 300);
    const a = (b.h * b.w) / 90000;
    assert.ok(a >= 0.075 && a <= 1.01, `area fraction ${a}`);
    if (a <= 0.5) fr.push(a);
    const r = b.w / b.h;
    assert.ok(r > 0.7 && r < 1.4, `ratio ${r}`);
  }
  // Boxes above ~3/4 of a square image can be rejected (they do not fit at some ratios), so test the
  // accepted fractions <= 0.5 (always accepted) against U(0.08, 0.5): Kolmogorov-Smirnov at p = 0.001.
  fr.sort((a, b) => a - b);
  let d = 0;
  fr.forEach((v, i) => d = Math.max(d, Math.abs((i + 1) / fr.length - (v - 0.08) / 0.42)));
  assert.ok(d < 1.95 / Math.sqrt(fr.length), `KS distance ${d} over ${fr.length} boxes`);
  // A 1000x10 image cannot fit a 3/4..4/3 box often: the fallback clamps the ratio to 4/3 centred.
  const f = randomResizedCropBox(10, 1000, new Generator(1), [0.9, 1]);
  assert.deepEqual(f, { top: 0, left: 493, h: 10, w: 13 });
});

Deno.test("PCA colour augmentation: eigen-decomposition, offset formula, offset covariance", () => {
  // Synthetic pixels with covariance diag(4, 1, 0.25) rotated by a known orthonormal matrix.
  const g = new Generator(11);
  const q = [2 / 3, -2 / 3, 1 / 3, 2 / 3, 1 / 3, -2 / 3, 1 / 3, 2 / 3, 2 / 3]; // columns orthonormal
  const sd = [2, 1, 0.5];
  const n = 20000, data = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    const z = sd.map((s) => s * g.normal());
    for (let r = 0; r < 3; r++) data[r * n + i] = q[r * 3] * z[0] + q[r * 3 + 1] * z[1] + q[r * 3 + 2] * z[2];
  }
  const pca = colorPca([{ data, c: 3, h: 1, w: n }]);
  assertClose(pca.eigval, [4, 1, 0.25], { rtol: 0.05, atol: 0, label: "eigenvalues" });
  for (let i = 0; i < 3; i++) {
    const dotp = Math.abs(q[i] * pca.eigvec[i] + q[3 + i] * pca.eigvec[3 + i] + q[6 + i] * pca.eigvec[6 + i]);
    assert.ok(dotp > 0.99, `eigenvector ${i} aligned (|dot| ${dotp})`);
  }
  const off = pcaOffset(pca, [0.1, -0.2, 0.3]);
  for (let r = 0; r < 3; r++) {
    const want = pca.eigvec[r * 3] * 0.1 * pca.eigval[0] - pca.eigvec[r * 3 + 1] * 0.2 * pca.eigval[1] +
      pca.eigvec[r * 3 + 2] * 0.3 * pca.eigval[2];
    assertClose([off[r]], [want], { rtol: 1e-12, atol: 0 });
  }
  // The same offset on every pixel; offset variance along eigvec i is (0.1 * lambda_i)^2.
  const img: Image = { data: new Float32Array(3 * 4), c: 3, h: 2, w: 2 };
  const proj = [0, 0, 0];
  const draws = 4000;
  for (let k = 0; k < draws; k++) {
    const o = pcaLighting(img, pca, 0.1, g).data;
    for (let ch = 0; ch < 3; ch++) for (let p = 1; p < 4; p++) assert.equal(o[ch * 4 + p], o[ch * 4]);
    for (let i = 0; i < 3; i++) {
      const a = pca.eigvec[i] * o[0] + pca.eigvec[3 + i] * o[4] + pca.eigvec[6 + i] * o[8];
      proj[i] += a * a / draws;
    }
  }
  for (let i = 0; i < 3; i++) {
    assertClose([Math.sqrt(proj[i])], [0.1 * pca.eigval[i]], { rtol: 0.1, atol: 0, label: `spread ${i}` });
  }
});

Deno.test("IDX and CIFAR parsers read real-format bytes and name the bad offset", () => {
  const n = 3;
  const head = [0, 0, 8, 3, 0, 0, 0, n, 0, 0, 0, 2, 0, 0, 0, 2];
  const imgs = new Uint8Array([...head, ...Array.from({ length: n * 4 }, (_, i) => i * 20)]);
  const labs = new Uint8Array([0, 0, 8, 1, 0, 0, 0, n, 7, 1, 9]);
  const ds = mnistFromIdx(imgs, labs);
  assert.equal(ds.length, 3);
  assert.deepEqual(ds.shape, [1, 2, 2]);
  assert.equal(ds.get(2).label, 9);
  assertClose(ds.get(1).image, [80 / 255, 100 / 255, 120 / 255, 140 / 255]);
  assert.throws(() => parseIdx(imgs.subarray(0, 10)), /Cannot read IDX file: file ends at byte 10/);
  assert.throws(() => parseIdx(new Uint8Array([0, 0, 9, 1, 0, 0, 0, 0])), /data type at byte 2/);
  assert.throws(() => parseIdx(imgs.subarray(0, imgs.length - 1)), /need 28 bytes, the file has 27/);
  const rec = new Uint8Array(2 * 3073);
  rec[0] = 3;
  rec[3073] = 9;
  rec[3073 + 1] = 255;
  const c10 = cifarFromBinary(rec, "cifar10");
  assert.deepEqual([c10.get(0).label, c10.get(1).label, c10.get(1).image[0]], [3, 9, 1]);
  assert.throws(() => cifarFromBinary(rec.subarray(1), "cifar10"), /not a whole number of 3073-byte/);
  rec[0] = 10;
  assert.throws(() => cifarFromBinary(rec, "cifar10"), /label 10 at byte 0/);
  const c100 = cifarFromBinary(new Uint8Array([5, 77, ...new Uint8Array(3072)]), "cifar100");
  assert.equal(c100.get(0).label, 77);
  assert.equal(
    cifarFromBinary(new Uint8Array([5, 77, ...new Uint8Array(3072)]), "cifar100", true).get(0).label,
    5,
  );
});
