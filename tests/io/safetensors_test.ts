import assert from "node:assert/strict";
import fc from "fast-check";
import { f16ToF32, MAX_HEADER_BYTES, parseSafetensors, serializeSafetensors } from "../../io/mod.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url);
const enc = new TextEncoder();

/** A file from a header (object or raw JSON text) and a data section; `len` overrides the length field. */
function file(header: unknown, data: Uint8Array | number = 0, len?: bigint): Uint8Array {
  const h = typeof header === "string" ? enc.encode(header) : enc.encode(JSON.stringify(header));
  const d = typeof data === "number" ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + h.length + d.length);
  new DataView(out.buffer).setBigUint64(0, len ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(d, 8 + h.length);
  return out;
}

const f32 = (name: string, shape: number[], begin: number) => ({
  [name]: { dtype: "F32", shape, data_offsets: [begin, begin + 4 * shape.reduce((p, d) => p * d, 1)] },
});

function throwsRead(bytes: Uint8Array, re: RegExp, cls: ErrorConstructor = RangeError): void {
  assert.throws(() => parseSafetensors(bytes), (e: unknown) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${e}`);
    assert.match((e as Error).message, /^Cannot read safetensors: /);
    assert.match((e as Error).message, re);
    return true;
  });
}

Deno.test("serialize → parse round trip: F32, F64, I32, I64, scalars, empty tensors, metadata", () => {
  const input = {
    "b.w": { shape: [2, 3], data: new Float32Array([1, -2, 3.5, 0, -0, 1e-40]) },
    "a": { shape: [], data: new BigInt64Array([-(2n ** 63n)]) },
    "c": { shape: [3], data: new Int32Array([1, -1, 2 ** 31 - 1]) },
    "d": { shape: [0, 4], data: new Float32Array(0) },
    "e": { shape: [2], data: new Float64Array([0.1, 1 + 2 ** -24]) },
    "0": { shape: [1], data: new Float32Array([7]) },
  };
  const bytes = serializeSafetensors(input, { source: "test", ["__proto__"]: "x" });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + n) % 8, 0, "data section starts 8-byte aligned");
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  assert.ok(text.startsWith('{"__metadata__":{"source":"test","__proto__":"x"},"0":'), text);
  const { tensors, metadata } = parseSafetensors(bytes);
  assert.deepEqual({ ...metadata }, { source: "test", ["__proto__"]: "x" });
  assert.deepEqual([...tensors.keys()], ["0", "a", "b.w", "c", "d", "e"], "data order = sorted keys");
  assert.deepEqual(tensors.get("b.w")!.data, input["b.w"].data);
  assert.deepEqual(tensors.get("a")!, { dtype: "I64", shape: [], data: input.a.data, dataOffsets: [4, 12] });
  assert.deepEqual(tensors.get("c")!.data, input.c.data);
  assert.deepEqual(tensors.get("d")!.shape, [0, 4]);
  assert.deepEqual(tensors.get("e")!.data, new Float32Array([0.1, 1]));
  assert.equal(tensors.get("e")!.dtype, "F64");
});

Deno.test("parse works on a view at an odd offset of a larger buffer", () => {
  const bytes = serializeSafetensors({ w: { shape: [3], data: new Float32Array([1, 2, 3]) } });
  const big = new Uint8Array(bytes.length + 3);
  big.set(bytes, 3);
  assert.deepEqual(parseSafetensors(big.subarray(3)).tensors.get("w")!.data, new Float32Array([1, 2, 3]));
});

Deno.test("dtype conversions match torch: F16 (subnormals, inf, nan), BF16, F64 rounding, integers", () => {
  const { tensors, metadata } = parseSafetensors(
    Deno.readFileSync(new URL("io_dtypes.safetensors", FIXTURES)),
  );
  assert.equal(metadata.script, "tools/fixtures/make_safetensors_fixtures.py");
  const expected = JSON.parse(Deno.readTextFileSync(new URL("io_dtypes_expected.json", FIXTURES)));
  assert.deepEqual([...tensors.keys()].sort(), Object.keys(expected).sort());
  for (const [name, exp] of Object.entries(expected) as [string, Record<string, unknown>][]) {
    const t = tensors.get(name)!;
    assert.equal(t.dtype, exp.dtype, name);
    assert.deepEqual(t.shape, exp.shape, name);
    if (exp.f32bits) {
      assert.ok(t.data instanceof Float32Array, name);
      const got = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
      (exp.f32bits as number[]).forEach((bits, i) => {
        const want = new Float32Array(new Uint32Array([bits]).buffer)[0];
        if (Number.isNaN(want)) assert.ok(Number.isNaN(t.data[i]), `${name}[${i}] NaN`);
        else assert.equal(got[i], bits, `${name}[${i}]: got ${t.data[i]}, want ${want}`);
      });
    } else {
      const want = (exp.ints as string[]).map(BigInt);
      assert.deepEqual(Array.from(t.data as ArrayLike<number | bigint>, (v) => BigInt(v)), want, name);
      assert.ok(t.dtype === "I64" ? t.data instanceof BigInt64Array : t.data instanceof Int32Array, name);
    }
  }
});

Deno.test("f16ToF32: every one of the 65536 half values, against a bit-level reference", () => {
  for (let h = 0; h < 65536; h++) {
    const s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    let bits: number;
    if (e === 31) bits = (s << 31) | 0x7f800000 | (m << 13);
    else if (e !== 0) bits = (s << 31) | ((e + 112) << 23) | (m << 13);
    else if (m === 0) bits = s << 31;
    else {
      // normalize the subnormal
      let mm = m, ee = 113;
      while (!(mm & 1024)) {
        mm <<= 1;
        ee--;
      }
      bits = (s << 31) | (ee << 23) | ((mm & 1023) << 13);
    }
    const want = new Float32Array(new Uint32Array([bits >>> 0]).buffer)[0];
    const got = f16ToF32(h);
    if (Number.isNaN(want)) assert.ok(Number.isNaN(got));
    else {assert.ok(
        Object.is(Math.fround(got), want) && got === want,
        `h=0x${h.toString(16)}: ${got} vs ${want}`,
      );}
  }
});

Deno.test("every malformed-header class gives a named RangeError with the file offset", () => {
  throwsRead(
    new Uint8Array(5),
    /the file has 5 bytes, too few for the 8-byte header length \(file offset 0\)/,
  );
  throwsRead(
    file({}, 0, 1000n),
    /header length 1000 \(u64 at file offset 0\) runs past the end of the file: only 2 bytes/,
  );
  throwsRead(file({}, 0, 2n ** 64n - 1n), /header length 18446744073709551615 .* runs past the end/);
  throwsRead(file("", 0), /header length 0 \(file offset 0\) is too short for a JSON object/);
  const badUtf8 = file('{"ab":{}}');
  badUtf8[8 + 3] = 0xff;
  throwsRead(badUtf8, /the header is not valid UTF-8 at file offset 11/);
  const overlong = file('{"a":1}   ');
  overlong.set([0xc0, 0x80], 8 + 7);
  throwsRead(overlong, /not valid UTF-8 at file offset 15/);
  throwsRead(file("[1, 2]"), /the header does not start with '\{' \(file offset 8 holds byte 0x5b\)/);
  throwsRead(file(' {"a":1}'), /does not start with '\{'/);
  throwsRead(file('{"a":'), /the header \(file offsets 8 to 13\) is not valid JSON: /);
  throwsRead(file('{"a":1}x'), /is not valid JSON/);
  throwsRead(file({ w: 5 }), /tensor 'w' is described by number 5, not an object/);
  throwsRead(file({ w: [] }), /tensor 'w' is described by an array, not an object/);
  const ok = { dtype: "F32", shape: [1], data_offsets: [0, 4] };
  throwsRead(file({ w: { ...ok, extra: 1 } }, 4), /tensor 'w' has an unknown field 'extra'/);
  throwsRead(
    file({ w: { ...ok, dtype: "F8_E4M3" } }, 4),
    /tensor 'w' has dtype the string "F8_E4M3", not one of F64, F32, F16, BF16, I64/,
  );
  throwsRead(file({ w: { shape: [1], data_offsets: [0, 4] } }, 4), /tensor 'w' has dtype missing/);
  throwsRead(file({ w: { ...ok, dtype: 4 } }, 4), /tensor 'w' has dtype number 4/);
  throwsRead(
    file({ w: { ...ok, shape: [-1] } }, 4),
    /tensor 'w' has shape \[-1\], not an array of non-negative integers/,
  );
  throwsRead(file({ w: { ...ok, shape: [1.5] } }, 4), /shape \[1.5\]/);
  throwsRead(file({ w: { ...ok, shape: "1" } }, 4), /shape "1"/);
  throwsRead(file({ w: { dtype: "F32", data_offsets: [0, 4] } }, 4), /shape missing/);
  throwsRead(
    file({ w: { ...ok, data_offsets: [0] } }, 4),
    /tensor 'w' has data_offsets \[0\], not \[begin, end\]/,
  );
  throwsRead(file({ w: { ...ok, data_offsets: [0, "4"] } }, 4), /data_offsets \[0,"4"\]/);
  throwsRead(
    file({ w: { ...ok, data_offsets: [4, 0] } }, 4),
    /tensor 'w' has data_offsets \[4, 0\] with end before begin/,
  );
  throwsRead(
    file({ w: { ...ok, shape: [5, 5] } }, 4),
    /tensor 'w' data_offsets \[0, 4\] hold 4 bytes but dtype F32 shape \[5, 5\] needs 100 bytes \(file offset \d+\)/,
  );
  throwsRead(
    file({ w: { ...ok, shape: [2 ** 40, 2 ** 40] } }, 4),
    /needs more than 2\^53 bytes/,
  );
  // The brief's own example: end beyond a 96-byte data section.
  const h = { "conv1.weight": { dtype: "F32", shape: [25], data_offsets: [0, 100] } };
  const beyond = file(h, 96);
  const dataStart = beyond.length - 96;
  throwsRead(
    beyond,
    new RegExp(
      `tensor 'conv1.weight' data_offsets \\[0, 100\\] end beyond the data section of 96 bytes ` +
        `\\(file offset ${dataStart + 100}, file is ${beyond.length} bytes\\)`,
    ),
  );
  const overlap = file({ ...f32("a", [4], 0), ...f32("b", [4], 8) }, 24);
  throwsRead(overlap, /tensors 'a' \[0, 16\] and 'b' \[8, 24\] overlap \(file offset \d+\)/);
  const gap = file({ ...f32("a", [2], 0), ...f32("b", [2], 12) }, 20);
  throwsRead(gap, /data section bytes \[8, 12\) \(file offset \d+\) belong to no tensor \(before 'b'\)/);
  throwsRead(file({ ...f32("b", [2], 4) }, 12), /data section bytes \[0, 4\) .*\(before 'b'\)/);
  throwsRead(
    file({ ...f32("a", [2], 0) }, 12),
    /data section bytes \[8, 12\) \(file offset \d+\) belong to no tensor$/,
  );
  throwsRead(file({ __metadata__: [] }), /__metadata__ is an array, not an object of strings/);
  throwsRead(file({ __metadata__: { a: 1 } }), /__metadata__ entry 'a' is number 1, not a string/);
  throwsRead(file({ __metadata__: { a: null } }), /__metadata__ entry 'a' is null/);
  assert.throws(() => parseSafetensors([1, 2] as unknown as Uint8Array), TypeError);
  assert.equal(MAX_HEADER_BYTES, 100_000_000);
});

Deno.test("valid edge cases parse: empty file header, zero-size tensors sharing an offset, padding", () => {
  assert.equal(parseSafetensors(file("{}      ")).tensors.size, 0);
  const zeros = file({
    a: { dtype: "F32", shape: [0], data_offsets: [0, 0] },
    b: { dtype: "I64", shape: [3, 0], data_offsets: [0, 0] },
    ...f32("c", [1], 0),
  }, 4);
  assert.deepEqual([...parseSafetensors(zeros).tensors.keys()], ["a", "b", "c"]);
});

Deno.test("serialize rejects what it cannot write", () => {
  assert.throws(
    () => serializeSafetensors({ w: { shape: [3], data: new Float32Array(2) } }),
    /Cannot write safetensors: tensor 'w' has 2 values for shape \[3\] \(3\)/,
  );
  assert.throws(
    () => serializeSafetensors({ w: { shape: [2], data: new Uint8Array(2) as unknown as Float32Array } }),
    /tensor 'w' data is an object, not a Float32Array/,
  );
  assert.throws(
    () => serializeSafetensors({}, { a: 1 as unknown as string }),
    /Cannot write safetensors: metadata 'a' is number 1, not a string/,
  );
  assert.throws(
    () => serializeSafetensors({ __metadata__: { shape: [], data: new Float32Array(1) } }),
    /'__metadata__' is reserved/,
  );
});

function isLibraryError(e: unknown): boolean {
  return (e instanceof RangeError || e instanceof TypeError) && /^Cannot read safetensors: /.test(e.message);
}

Deno.test("fuzz: byte flips and truncations of valid files never throw anything but the library's errors", () => {
  const seeds = [
    Deno.readFileSync(new URL("io_dtypes.safetensors", FIXTURES)),
    Deno.readFileSync(new URL("io_tiny_f16.safetensors", FIXTURES)),
  ];
  fc.assert(
    fc.property(
      fc.nat(seeds.length - 1),
      fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 6 }),
      fc.option(fc.nat()),
      fc.boolean(),
      (which, flips, cut, headerOnly) => {
        const src = seeds[which];
        const n = Number(new DataView(src.buffer).getBigUint64(0, true));
        const bytes = src.slice();
        for (const [at, v] of flips) bytes[headerOnly ? at % (8 + n) : at % bytes.length] = v;
        const input = cut === null ? bytes : bytes.subarray(0, cut % (bytes.length + 1));
        const t0 = performance.now();
        try {
          const { tensors } = parseSafetensors(input);
          for (const t of tensors.values()) {
            assert.equal(t.data.length, t.shape.reduce((p, d) => p * d, 1));
          }
        } catch (e) {
          if (!isLibraryError(e)) throw e;
        }
        assert.ok(performance.now() - t0 < 1000, "parse took over a second");
      },
    ),
    { numRuns: 2000, seed: 42 },
  );
});

Deno.test("fuzz: random headers (valid JSON, wrong structure) give library errors only", () => {
  const value = fc.letrec((tie) => ({
    v: fc.oneof(
      { depthSize: "small" },
      fc.integer({ min: -5, max: 200 }),
      fc.double(),
      fc.constantFrom("F32", "I64", "BF16", "x", ""),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie("v"), { maxLength: 3 }),
      fc.dictionary(fc.constantFrom("dtype", "shape", "data_offsets", "q"), tie("v"), { maxKeys: 4 }),
    ),
  })).v;
  fc.assert(
    fc.property(
      fc.dictionary(fc.constantFrom("a", "b", "__metadata__", "c.d"), value, { maxKeys: 4 }),
      fc.nat(64),
      (header, dataLen) => {
        try {
          parseSafetensors(file(header, dataLen));
        } catch (e) {
          if (!isLibraryError(e)) throw e;
        }
      },
    ),
    { numRuns: 2000, seed: 7 },
  );
});

Deno.test("fuzz: serialize → parse is the identity on random F32/I32/I64 tensors", () => {
  const shape = fc.array(fc.nat(4), { maxLength: 3 });
  fc.assert(
    fc.property(
      fc.dictionary(
        fc.string({ maxLength: 6 }).filter((s) => s !== "__metadata__"),
        fc.tuple(shape, fc.nat(2)),
      ),
      fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
      fc.nat(),
      (spec, metadata, seed) => {
        let x = seed;
        const next = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
        const input = Object.fromEntries(
          Object.entries(spec).map(([name, [s, kind]]) => {
            const n = s.reduce((p, d) => p * d, 1);
            const data = kind === 0
              ? Float32Array.from({ length: n }, () => (next() / 2 ** 32 - 0.5) * 1e3)
              : kind === 1
              ? Int32Array.from({ length: n }, () => next() | 0)
              : BigInt64Array.from({ length: n }, () => BigInt(next()) * BigInt(next()) - 2n ** 62n);
            return [name, { shape: s, data }];
          }),
        );
        const { tensors, metadata: meta } = parseSafetensors(serializeSafetensors(input, metadata));
        assert.deepEqual({ ...meta }, { ...metadata });
        assert.equal(tensors.size, Object.keys(input).length);
        for (const [name, e] of Object.entries(input)) {
          assert.deepEqual(tensors.get(name)!.data, e.data);
          assert.deepEqual(tensors.get(name)!.shape, e.shape);
        }
      },
    ),
    { numRuns: 300, seed: 3 },
  );
});
