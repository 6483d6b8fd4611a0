/**
 * Test fixtures: a minimal little-endian F32/I64 safetensors reader (tests only; the library's own
 * validating reader lives in io/), and the visible-skip rule for large fixtures.
 * @module
 */

/** One stored array. */
export interface FixtureArray {
  shape: number[];
  data: Float32Array;
}

/** Reads a safetensors file of F32 (and I64, converted) tensors into a map by name. */
export function readFixture(bytes: Uint8Array): Map<string, FixtureArray> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  const base = 8 + n;
  const out = new Map<string, FixtureArray>();
  for (const [name, v] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const { dtype, shape, data_offsets: [a, b] } = v as {
      dtype: string;
      shape: number[];
      data_offsets: number[];
    };
    const raw = bytes.slice(base + a, base + b);
    let data: Float32Array;
    if (dtype === "F32") data = new Float32Array(raw.buffer);
    else if (dtype === "I64") data = Float32Array.from(new BigInt64Array(raw.buffer), Number);
    else throw new Error(`Cannot read fixture ${name}: dtype ${dtype} is not F32/I64`);
    out.set(name, { shape, data });
  }
  return out;
}

/** Reads a fixture file if present (null when absent, so the caller can skip visibly). */
export function tryReadFixture(path: string | URL): Map<string, FixtureArray> | null {
  try {
    return readFixture(Deno.readFileSync(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** True if the file exists (use as `ignore: !exists(path)` so a skipped large-fixture test shows). */
export function exists(path: string | URL): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
