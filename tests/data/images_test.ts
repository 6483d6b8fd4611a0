import assert from "node:assert/strict";
import fc from "fast-check";
import jpeg from "jpeg-js";
import { encode as encodePng } from "fast-png";
import { decodeImage, imageSize, sniffFormat } from "../../data/images.ts";

function pngBytes(w: number, h: number, channels: number): Uint8Array {
  const data = new Uint8Array(w * h * channels).map((_, i) => (i * 37) % 256);
  return encodePng({ width: w, height: h, data, channels });
}
function jpegBytes(w: number, h: number): Uint8Array {
  const data = new Uint8Array(w * h * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 13) % 256));
  return new Uint8Array(jpeg.encode({ width: w, height: h, data }, 90).data);
}

Deno.test("PNG (grey, RGB, RGBA) and JPEG decode to CHW float images", () => {
  const g = decodeImage(pngBytes(3, 2, 1), { channels: "keep" });
  assert.deepEqual([g.c, g.h, g.w], [1, 2, 3]);
  assert.equal(g.data[1], Math.fround(37 / 255));
  const rgb = decodeImage(pngBytes(3, 2, 3));
  assert.deepEqual([rgb.c, rgb.h, rgb.w], [3, 2, 3]);
  assert.equal(rgb.data[6 + 0], Math.fround(37 / 255)); // G plane, pixel 0 = byte 1
  const grey3 = decodeImage(pngBytes(2, 2, 1));
  assert.deepEqual(grey3.data.subarray(0, 4), grey3.data.subarray(4, 8));
  const rgba = decodeImage(pngBytes(2, 2, 4), { channels: 1 });
  assert.equal(rgba.c, 1);
  const j = decodeImage(jpegBytes(9, 7));
  assert.deepEqual([j.c, j.h, j.w], [3, 7, 9]);
  assert.deepEqual(imageSize(jpegBytes(9, 7)), { width: 9, height: 7 });
  assert.equal(sniffFormat(new Uint8Array([1, 2, 3])), null);
});

Deno.test("hostile images: unknown bytes, huge dimensions, truncation at every byte give named errors", () => {
  assert.throws(
    () => decodeImage(new Uint8Array([1, 2, 3, 4])),
    /Cannot decode image: bytes are neither JPEG nor PNG/,
  );
  const big = pngBytes(4, 4, 3);
  new DataView(big.buffer).setUint32(16, 100000);
  new DataView(big.buffer).setUint32(20, 100000);
  assert.throws(() => decodeImage(big), /exceeds maxPixels/);
  const zero = pngBytes(4, 4, 3);
  new DataView(zero.buffer).setUint32(16, 0);
  assert.throws(() => decodeImage(zero), /gives a 0x4 image/);
  for (const bytes of [pngBytes(5, 4, 3), jpegBytes(8, 8)]) {
    for (let n = 0; n < bytes.length; n++) {
      try {
        decodeImage(bytes.subarray(0, n));
      } catch (e) {
        assert.ok(e instanceof RangeError, `truncated at ${n}: ${e}`);
        assert.match((e as Error).message, /^Cannot (decode image|read image size)/);
      }
    }
  }
});

Deno.test("fuzz: random byte mutations of valid images never throw a non-library error", () => {
  const seeds = [pngBytes(6, 5, 3), jpegBytes(16, 16)];
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
      fc.option(fc.nat(), { nil: undefined }),
      (which, flips, cut) => {
        const b = seeds[which].slice();
        for (const [pos, v] of flips) b[pos % b.length] = v;
        const bytes = cut === undefined ? b : b.subarray(0, cut % b.length);
        const t0 = performance.now();
        try {
          const img = decodeImage(bytes, { maxPixels: 1e6 });
          assert.equal(img.data.length, img.c * img.h * img.w);
        } catch (e) {
          if (!(e instanceof RangeError)) throw new Error(`non-library error: ${e}`);
        }
        assert.ok(performance.now() - t0 < 2000, "decode took over 2 s");
      },
    ),
    { numRuns: 1500, seed: 42 },
  );
});
