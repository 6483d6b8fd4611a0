/**
 * The kernel build's inputs: the compiler flags of each variant and the hash of the sources.
 * Shared by `build.ts` and the freshness test so both hash exactly the same things.
 * @module
 */

const BASE = [
  "-O3",
  "--noAssert",
  "--runtime",
  "stub",
  "--use",
  "abort=",
  "--enable",
  "simd",
  "--importMemory",
  "--initialMemory",
  "0",
  "--noExportMemory",
] as const;
const THREADS = ["--enable", "threads", "--sharedMemory", "--maximumMemory", "65536"] as const;
const RELAXED = ["--enable", "relaxed-simd"] as const;

/** Compiler flags of each shipped variant, keyed by variant name. */
export const VARIANTS: Readonly<Record<string, readonly string[]>> = {
  simd: [...BASE],
  simd_relaxed: [...BASE, ...RELAXED],
  mt: [...BASE, ...THREADS],
  mt_relaxed: [...BASE, ...THREADS, ...RELAXED],
};

/** SHA-256 (hex) over the flags and every `assembly/*.ts` file (sorted by name). */
export async function sourceHash(root: URL = new URL("../", import.meta.url)): Promise<string> {
  const dir = new URL("assembly/", root);
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.endsWith(".ts")) names.push(e.name);
  }
  names.sort();
  let text = JSON.stringify(VARIANTS) + "\n";
  for (const n of names) text += `--- ${n}\n` + (await Deno.readTextFile(new URL(n, dir))) + "\n";
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
