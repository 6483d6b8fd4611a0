/**
 * Runs one conformance suite on every backend. Runtimes are created once per test file and closed by
 * the last test registered through {@linkcode closeBackends}.
 * @module
 */
import { type BackendKind, createRuntime, type Runtime } from "../../runtime/mod.ts";

/** Backends every kernel suite runs on; exclusions are listed where a suite uses them, with reasons. */
export const BACKENDS: readonly BackendKind[] = ["ref", "wasm", "wasm-mt"];

const cache = new Map<BackendKind, Promise<Runtime>>();

/** The shared runtime of a backend (wasm-mt uses 2 threads and splits every call). */
export function backend(kind: BackendKind): Promise<Runtime> {
  let rt = cache.get(kind);
  if (!rt) {
    rt = createRuntime({ backend: kind, threads: kind === "wasm-mt" ? 2 : 1, parallelMinCost: 1 });
    cache.set(kind, rt);
  }
  return rt;
}

/** Closes every runtime this file opened (call from the file's last test). */
export async function closeBackends(): Promise<void> {
  for (const rt of cache.values()) await (await rt).close();
  cache.clear();
}

/** Registers `Deno.test(`${name} [${kind}]`)` for each backend not excluded. */
export function forEachBackend(
  name: string,
  fn: (rt: Runtime, kind: BackendKind) => Promise<void> | void,
  exclude: Partial<Record<BackendKind, string>> = {},
): void {
  for (const kind of BACKENDS) {
    if (exclude[kind] !== undefined) continue;
    Deno.test(`${name} [${kind}]`, async () => {
      await fn(await backend(kind), kind);
    });
  }
}
