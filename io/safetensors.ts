/**
 * The safetensors format, runtime-neutral: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}}`, then the raw
 * little-endian data, which the tensors must cover exactly (no gaps, no overlaps).
 *
 * {@linkcode parseSafetensors} validates every byte of the header and converts the data to the types
 * cnnzoo computes with; {@linkcode serializeSafetensors} writes arrays back. Every problem with a file is
 * a `RangeError` reading "Cannot read safetensors: ..." that names the tensor and the file offset.
 * @module
 */
import { rangeError, typeError } from "../runtime/mod.ts";

/** The element types a safetensors file may hold that cnnzoo reads. */
export type SafetensorsDType = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

/**
 * Bytes per element of each dtype.
 *
 * @example
 * ```ts
 * import { ITEM_SIZE } from "./safetensors.ts";
 * console.log(ITEM_SIZE.BF16, ITEM_SIZE.I64); // 2 8
 * ```
 */
export const ITEM_SIZE: Readonly<Record<SafetensorsDType, number>> = Object.freeze({
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
});

/** One tensor read from a file. */
export interface SafetensorsEntry {
  /** The dtype stored in the file. */
  dtype: SafetensorsDType;
  /** Dimensions ([] for a scalar). */
  shape: number[];
  /**
   * The values: Float32Array for F64/F32/F16/BF16 (F64 rounded to nearest, ties to even), BigInt64Array
   * for I64 (exact), Int32Array for I32/I16/I8/U8/BOOL (BOOL as 0/1).
   */
  data: Float32Array | Int32Array | BigInt64Array;
  /** [begin, end) of the raw bytes, relative to the start of the data section. */
  dataOffsets: [number, number];
}

/** A parsed file: tensors in data-section order, and the `__metadata__` strings (empty if absent). */
export interface ParsedSafetensors {
  tensors: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** File offset where the data section starts (8 + header length). */
  dataStart: number;
}

/** An array to write; the dtype follows the array type unless given. */
export interface SafetensorsInput {
  shape: readonly number[];
  /** Float32Array → F32, Float64Array → F64, BigInt64Array → I64, Int32Array → I32. */
  data: Float32Array | Float64Array | Int32Array | BigInt64Array;
}

/**
 * The largest header accepted, in bytes (the reference implementation's limit too).
 *
 * @example
 * ```ts
 * import { MAX_HEADER_BYTES } from "./safetensors.ts";
 * console.log(MAX_HEADER_BYTES); // 100000000
 * ```
 */
export const MAX_HEADER_BYTES = 100_000_000;

const ACTION = "read safetensors";
const DTYPES = Object.keys(ITEM_SIZE) as SafetensorsDType[];
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function bad(state: string): RangeError {
  return rangeError(ACTION, state);
}

/** Offset of the first byte that breaks UTF-8 in bytes[start, end), or -1 if all is valid. */
function firstBadUtf8(b: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number, min: number, cp: number;
    if (c >= 0xc2 && c <= 0xdf) [n, min, cp] = [1, 0x80, c & 0x1f];
    else if (c >= 0xe0 && c <= 0xef) [n, min, cp] = [2, 0x800, c & 0x0f];
    else if (c >= 0xf0 && c <= 0xf4) [n, min, cp] = [3, 0x10000, c & 0x07];
    else return i;
    if (i + n >= end) return i; // truncated sequence
    for (let k = 1; k <= n; k++) {
      const cc = b[i + k];
      if ((cc & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return -1;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
  if (typeof v === "object") return "an object";
  return `${typeof v} ${String(v)}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isIndex(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Converts IEEE half-precision bits to their value (exact: every f16, subnormals included, is a float32).
 *
 * @example
 * ```ts
 * import { f16ToF32 } from "./safetensors.ts";
 * console.log(f16ToF32(0x3c00), f16ToF32(0x0001), f16ToF32(0x7c00)); // 1 5.960464477539063e-8 Infinity
 * ```
 */
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1024 + frac) * 2 ** (exp - 25);
}

let F16_TABLE: Float32Array | undefined;

/** Every f16 value by its bits (256 KiB, built on first use). */
function f16Table(): Float32Array {
  if (F16_TABLE === undefined) {
    F16_TABLE = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) F16_TABLE[h] = f16ToF32(h);
  }
  return F16_TABLE;
}

function decode(
  dtype: SafetensorsDType,
  bytes: Uint8Array,
  begin: number,
  n: number,
): Float32Array | Int32Array | BigInt64Array {
  const size = ITEM_SIZE[dtype];
  // A private, aligned copy: the source may sit at any offset of any buffer.
  const raw = bytes.slice(begin, begin + n * size);
  const dv = new DataView(raw.buffer);
  switch (dtype) {
    case "F32": {
      if (LITTLE_ENDIAN) return new Float32Array(raw.buffer, 0, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
      return out;
    }
    case "F64": {
      // ToFloat32 rounds to nearest, ties to even: the exact IEEE conversion.
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
      return out;
    }
    case "F16": {
      const out = new Float32Array(n);
      const table = f16Table();
      if (LITTLE_ENDIAN) {
        const h = new Uint16Array(raw.buffer, 0, n);
        for (let i = 0; i < n; i++) out[i] = table[h[i]];
      } else {
        for (let i = 0; i < n; i++) out[i] = table[dv.getUint16(2 * i, true)];
      }
      return out;
    }
    case "BF16": {
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      if (LITTLE_ENDIAN) {
        const h = new Uint16Array(raw.buffer, 0, n);
        for (let i = 0; i < n; i++) bits[i] = h[i] << 16;
      } else {
        for (let i = 0; i < n; i++) bits[i] = dv.getUint16(2 * i, true) << 16;
      }
      return out;
    }
    case "I64": {
      if (LITTLE_ENDIAN) return new BigInt64Array(raw.buffer, 0, n);
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getBigInt64(8 * i, true);
      return out;
    }
    case "I32": {
      if (LITTLE_ENDIAN) return new Int32Array(raw.buffer, 0, n);
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(4 * i, true);
      return out;
    }
    case "I16": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt16(2 * i, true);
      return out;
    }
    case "I8":
      return Int32Array.from(new Int8Array(raw.buffer, 0, n));
    case "U8":
      return Int32Array.from(raw);
    case "BOOL":
      return Int32Array.from(raw, (b) => (b !== 0 ? 1 : 0));
  }
}

/**
 * Parses and validates a safetensors file. Checks the header length (against the file size and
 * {@linkcode MAX_HEADER_BYTES}), UTF-8, JSON, each entry's dtype, shape and data_offsets, that each
 * tensor's byte count equals its element count times the item size, and that the tensors cover the data
 * section exactly (in range, no overlaps, no gaps). Throws a `RangeError` naming the problem, the tensor
 * and the file offset; a `TypeError` if `bytes` is not a Uint8Array. With `validate: true` it also rejects
 * floating-point tensors holding NaN or infinity (naming the tensor, element and file offset).
 *
 * @example
 * ```ts
 * import { parseSafetensors, serializeSafetensors } from "./safetensors.ts";
 * const bytes = serializeSafetensors({ w: { shape: [2], data: new Float32Array([1, 2]) } }, { by: "me" });
 * const { tensors, metadata } = parseSafetensors(bytes);
 * console.log(tensors.get("w")?.data, metadata.by); // Float32Array [1, 2] "me"
 * ```
 */
export function parseSafetensors(bytes: Uint8Array, options: { validate?: boolean } = {}): ParsedSafetensors {
  if (!(bytes instanceof Uint8Array)) {
    throw typeError(ACTION, `expected a Uint8Array, got ${describe(bytes)}`);
  }
  const size = bytes.byteLength;
  if (size < 8) {
    throw bad(`the file has ${size} bytes, too few for the 8-byte header length (file offset 0)`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, size);
  const n64 = dv.getBigUint64(0, true);
  if (n64 > BigInt(size - 8)) {
    throw bad(
      `header length ${n64} (u64 at file offset 0) runs past the end of the file: only ${size - 8} ` +
        `bytes follow it`,
    );
  }
  const n = Number(n64);
  if (n > MAX_HEADER_BYTES) {
    throw bad(`header length ${n} (file offset 0) exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  if (n < 2) throw bad(`header length ${n} (file offset 0) is too short for a JSON object`);
  const dataStart = 8 + n;
  const badAt = firstBadUtf8(bytes, 8, dataStart);
  if (badAt >= 0) throw bad(`the header is not valid UTF-8 at file offset ${badAt}`);
  if (bytes[8] !== 0x7b) {
    throw bad(`the header does not start with '{' (file offset 8 holds byte 0x${bytes[8].toString(16)})`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw bad(`the header (file offsets 8 to ${dataStart}) is not valid JSON: ${msg}`);
  }
  if (!isPlainObject(header)) {
    throw bad(`the header (file offset 8) is ${describe(header)}, not a JSON object`);
  }

  const dataLen = size - dataStart;
  const at = (rel: number) => `file offset ${dataStart + rel}`;
  const metadata: Record<string, string> = {};
  const specs: { name: string; dtype: SafetensorsDType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (!isPlainObject(info)) throw bad(`__metadata__ is ${describe(info)}, not an object of strings`);
      for (const [k, v] of Object.entries(info)) {
        if (typeof v !== "string") throw bad(`__metadata__ entry '${k}' is ${describe(v)}, not a string`);
        Object.defineProperty(metadata, k, {
          value: v,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      continue;
    }
    const what = `tensor '${name}'`;
    if (!isPlainObject(info)) throw bad(`${what} is described by ${describe(info)}, not an object`);
    for (const k of Object.keys(info)) {
      if (k !== "dtype" && k !== "shape" && k !== "data_offsets") {
        throw bad(`${what} has an unknown field '${k}' (expected dtype, shape, data_offsets)`);
      }
    }
    const { dtype, shape, data_offsets: offsets } = info;
    if (typeof dtype !== "string" || !(DTYPES as string[]).includes(dtype)) {
      throw bad(
        `${what} has dtype ${dtype === undefined ? "missing" : describe(dtype)}, not one of ${
          DTYPES.join(", ")
        }`,
      );
    }
    if (!Array.isArray(shape) || !shape.every(isIndex)) {
      throw bad(
        `${what} has shape ${
          shape === undefined ? "missing" : JSON.stringify(shape)
        }, not an array of non-negative integers`,
      );
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex)) {
      throw bad(
        `${what} has data_offsets ${
          offsets === undefined ? "missing" : JSON.stringify(offsets)
        }, not [begin, end] non-negative integers`,
      );
    }
    const [begin, end] = offsets as number[];
    if (end < begin) throw bad(`${what} has data_offsets [${begin}, ${end}] with end before begin`);
    let count = 1;
    for (const d of shape as number[]) count *= d;
    const need = count * ITEM_SIZE[dtype as SafetensorsDType];
    if (need !== end - begin) {
      throw bad(
        `${what} data_offsets [${begin}, ${end}] hold ${end - begin} bytes but dtype ${dtype} shape ` +
          `[${shape.join(", ")}] needs ${Number.isSafeInteger(need) ? need : "more than 2^53"} bytes (${
            at(begin)
          })`,
      );
    }
    if (end > dataLen) {
      throw bad(
        `${what} data_offsets [${begin}, ${end}] end beyond the data section of ${dataLen} bytes ` +
          `(${at(end)}, file is ${size} bytes)`,
      );
    }
    specs.push({ name, dtype: dtype as SafetensorsDType, shape: [...shape as number[]], begin, end });
  }

  // Coverage: sorted by begin, each tensor starts where the previous one ended.
  const order = [...specs].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let prev: (typeof specs)[number] | undefined;
  for (const s of order) {
    if (s.begin < pos) {
      throw bad(
        `tensors '${prev!.name}' [${prev!.begin}, ${prev!.end}] and '${s.name}' [${s.begin}, ${s.end}] ` +
          `overlap (${at(s.begin)})`,
      );
    }
    if (s.begin > pos) {
      throw bad(
        `data section bytes [${pos}, ${s.begin}) (${at(pos)}) belong to no tensor (before '${s.name}')`,
      );
    }
    pos = s.end;
    if (s.end > s.begin) prev = s;
  }
  if (pos !== dataLen) {
    throw bad(`data section bytes [${pos}, ${dataLen}) (${at(pos)}) belong to no tensor`);
  }

  const tensors = new Map<string, SafetensorsEntry>();
  for (const s of order) {
    const count = (s.end - s.begin) / ITEM_SIZE[s.dtype];
    const data = decode(s.dtype, bytes, dataStart + s.begin, count);
    if (options.validate && data instanceof Float32Array) {
      for (let i = 0; i < data.length; i++) {
        if (!Number.isFinite(data[i])) {
          throw bad(
            `tensor '${s.name}' holds ${data[i]} at element ${i} (${at(s.begin + i * ITEM_SIZE[s.dtype])})`,
          );
        }
      }
    }
    tensors.set(s.name, {
      dtype: s.dtype,
      shape: s.shape,
      data,
      dataOffsets: [s.begin, s.end],
    });
  }
  return { tensors, metadata, dataStart };
}

function dtypeOf(name: string, data: unknown): SafetensorsDType {
  if (data instanceof Float32Array) return "F32";
  if (data instanceof Float64Array) return "F64";
  if (data instanceof BigInt64Array) return "I64";
  if (data instanceof Int32Array) return "I32";
  throw typeError(
    "write safetensors",
    `tensor '${name}' data is ${
      describe(data)
    }, not a Float32Array, Float64Array, Int32Array or BigInt64Array`,
  );
}

/**
 * Writes arrays as a safetensors file: keys sorted, `__metadata__` first, the header padded with spaces
 * so the data starts at an 8-byte boundary, data little-endian in key order.
 *
 * @example
 * ```ts
 * import { serializeSafetensors } from "./safetensors.ts";
 * const bytes = serializeSafetensors({
 *   "fc.weight": { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
 *   "bn.num_batches_tracked": { shape: [], data: new BigInt64Array([7n]) },
 * });
 * console.log(bytes.length % 8); // 0
 * ```
 */
export function serializeSafetensors(
  entries: Map<string, SafetensorsInput> | Record<string, SafetensorsInput>,
  metadata?: Record<string, string>,
): Uint8Array {
  const action = "write safetensors";
  const map = entries instanceof Map ? entries : new Map(Object.entries(entries));
  const names = [...map.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  // Built as text: JavaScript would list integer-like names before __metadata__ in an object.
  const fields: string[] = [];
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) throw typeError(action, `metadata is ${describe(metadata)}, not an object`);
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") throw typeError(action, `metadata '${k}' is ${describe(v)}, not a string`);
    }
    fields.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  const parts: { begin: number; data: SafetensorsInput["data"]; dtype: SafetensorsDType }[] = [];
  let offset = 0;
  for (const name of names) {
    if (name === "__metadata__") throw rangeError(action, "'__metadata__' is reserved, not a tensor name");
    const e = map.get(name)!;
    if (!isPlainObject(e)) throw typeError(action, `tensor '${name}' is ${describe(e)}, not {shape, data}`);
    const dtype = dtypeOf(name, e.data);
    if (!Array.isArray(e.shape) || !e.shape.every(isIndex)) {
      throw rangeError(action, `tensor '${name}' shape ${JSON.stringify(e.shape)} is not a list of sizes`);
    }
    const count = e.shape.reduce((p: number, d: number) => p * d, 1);
    if (count !== e.data.length) {
      throw rangeError(
        action,
        `tensor '${name}' has ${e.data.length} values for shape [${e.shape.join(", ")}] (${count})`,
      );
    }
    const nbytes = count * ITEM_SIZE[dtype];
    const info = { dtype, shape: [...e.shape], data_offsets: [offset, offset + nbytes] };
    fields.push(`${JSON.stringify(name)}:${JSON.stringify(info)}`);
    parts.push({ begin: offset, data: e.data, dtype });
    offset += nbytes;
  }
  let json = `{${fields.join(",")}}`;
  json += " ".repeat((8 - (new TextEncoder().encode(json).length % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  const base = 8 + head.length;
  for (const p of parts) {
    const at = base + p.begin;
    if (LITTLE_ENDIAN) {
      out.set(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength), at);
      continue;
    }
    const size = ITEM_SIZE[p.dtype];
    for (let i = 0; i < p.data.length; i++) {
      const v = p.data[i];
      if (p.dtype === "F32") dv.setFloat32(at + i * size, v as number, true);
      else if (p.dtype === "F64") dv.setFloat64(at + i * size, v as number, true);
      else if (p.dtype === "I32") dv.setInt32(at + i * size, v as number, true);
      else dv.setBigInt64(at + i * size, v as bigint, true);
    }
  }
  return out;
}
