// ImageFolder on real files the test writes (PNG and JPEG in class sub-folders under tests/.tmp): class
// order, labels, decoded pixel values through the default resize + centre crop, ignored files, and
// errors that name the folder or the corrupt file.
import assert from "node:assert/strict";
import jpeg from "jpeg-js";
import { encode as encodePng } from "fast-png";
import { DataLoader, imageFolder } from "../../data/mod.ts";
import { init } from "../../mod.ts";

const root = new URL("../.tmp/folder/", import.meta.url).pathname;

function png(w: number, h: number, value: number): Uint8Array {
  return encodePng({ width: w, height: h, data: new Uint8Array(w * h * 3).fill(value), channels: 3 });
}
function jpg(w: number, h: number, rgb: [number, number, number]): Uint8Array {
  const data = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([...rgb, 255], i * 4);
  return new Uint8Array(jpeg.encode({ width: w, height: h, data }, 95).data);
}

Deno.test("imageFolder: classes sorted, labels, pixels, batches, and named errors", async () => {
  await Deno.remove(root, { recursive: true }).catch(() => {});
  for (const d of ["zebra", "ant", "cat"]) await Deno.mkdir(`${root}${d}`, { recursive: true });
  await Deno.writeFile(`${root}zebra/b.png`, png(12, 8, 255));
  await Deno.writeFile(`${root}zebra/a.PNG`, png(8, 8, 0));
  await Deno.writeFile(`${root}ant/x.jpg`, jpg(10, 10, [255, 0, 0]));
  await Deno.writeFile(`${root}ant/notes.txt`, new TextEncoder().encode("ignored"));
  await Deno.writeFile(`${root}cat/c.jpeg`, jpg(9, 16, [0, 0, 255]));

  const ds = imageFolder(root, { size: 4 });
  assert.deepEqual(ds.classes, ["ant", "cat", "zebra"]);
  assert.deepEqual(ds.files.map((f) => [f.path.slice(root.length), f.label]), [
    ["ant/x.jpg", 0],
    ["cat/c.jpeg", 1],
    ["zebra/a.PNG", 2],
    ["zebra/b.png", 2],
  ]);
  assert.deepEqual(ds.shape, [3, 4, 4]);
  const red = ds.get(0).image;
  assert.ok(Math.abs(red[0] - 1) < 0.02 && Math.abs(red[16]) < 0.02 && Math.abs(red[32]) < 0.02);
  const blue = ds.get(1).image;
  assert.ok(Math.abs(blue[0]) < 0.03 && Math.abs(blue[47] - 1) < 0.03);
  assert.ok(ds.get(2).image.every((v) => v === 0));
  assert.ok(ds.get(3).image.every((v) => v === 1));

  await init({ threads: 1 });
  const labels: number[] = [];
  for await (const { x, y } of new DataLoader(ds, { batchSize: 3 })) {
    assert.deepEqual(x.shape.slice(1), [3, 4, 4]);
    labels.push(...y);
    x.dispose();
  }
  assert.deepEqual(labels, [0, 1, 2, 2]);

  const grey = imageFolder(root, { size: 2, channels: 1 });
  assert.deepEqual(grey.shape, [1, 2, 2]);

  await Deno.writeFile(`${root}zebra/b.png`, new Uint8Array([137, 80, 78, 71, 1, 2, 3]));
  assert.throws(() => ds.get(3), /Cannot load image: .*zebra\/b\.png: /);
  assert.throws(
    () => imageFolder(root, { size: 4, transform: (img) => img }).get(0),
    /ant\/x\.jpg: the transform gave 3x10x10, expected 3x4x4/,
  );
  assert.throws(() => imageFolder(`${root}nope`), /Cannot read image folder: .*nope/);
  assert.throws(() => imageFolder(`${root}ant`), /has no class sub-folders/);
  await Deno.remove(root, { recursive: true });
});
