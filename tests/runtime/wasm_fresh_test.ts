import assert from "node:assert/strict";
import { SOURCE_HASH, WASM_BASE64 } from "../../runtime/_wasm/kernels.generated.ts";
import { sourceHash, VARIANTS } from "../../tools/wasm_sources.ts";
import { checkKernelModule } from "../../tools/wasm_check.ts";

Deno.test("generated wasm is fresh: source hash matches assembly/ (run `deno task build`)", async () => {
  assert.equal(
    SOURCE_HASH,
    await sourceHash(),
    "runtime/_wasm/kernels.generated.ts is stale: run `deno task build`",
  );
});

Deno.test("every variant is embedded, shipped as a file identical to the embedded bytes, and passes checks", async () => {
  assert.deepEqual(Object.keys(WASM_BASE64).sort(), Object.keys(VARIANTS).sort());
  for (const [name, b64] of Object.entries(WASM_BASE64)) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const file = await Deno.readFile(new URL(`../../runtime/_wasm/cnnzoo_${name}.wasm`, import.meta.url));
    assert.deepEqual(file, bytes, `runtime/_wasm/cnnzoo_${name}.wasm differs from the embedded bytes`);
    checkKernelModule(bytes, name);
  }
});

Deno.test("wasm check rejects a module with a start function or extra import", () => {
  // (module (import "env" "f" (func)))  -- an import other than env.memory
  const extraImport = new Uint8Array([
    0,
    97,
    115,
    109,
    1,
    0,
    0,
    0,
    1,
    4,
    1,
    96,
    0,
    0,
    2,
    9,
    1,
    3,
    101,
    110,
    118,
    1,
    102,
    0,
    0,
  ]);
  assert.throws(() => checkKernelModule(extraImport, "t"), /only env.memory is allowed/);
  // (module (func) (start 0))
  const start = new Uint8Array([
    0,
    97,
    115,
    109,
    1,
    0,
    0,
    0,
    1,
    4,
    1,
    96,
    0,
    0,
    3,
    2,
    1,
    0,
    8,
    1,
    0,
    10,
    4,
    1,
    2,
    0,
    11,
  ]);
  assert.ok(WebAssembly.validate(start));
  assert.throws(() => checkKernelModule(start, "t"), /start function/);
});

Deno.test("the runtime's SIMD/relaxed-SIMD probes agree with validating the real kernel modules", async () => {
  const { createRuntime } = await import("../../runtime/mod.ts");
  const { WASM_BASE64 } = await import("../../runtime/_wasm/kernels.generated.ts");
  const bytes = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const rt = await createRuntime({ backend: "wasm", threads: 1 });
  try {
    if (rt.report.simd !== WebAssembly.validate(bytes(WASM_BASE64.simd))) {
      throw new Error("SIMD probe disagrees");
    }
    if (rt.report.relaxedSimd !== WebAssembly.validate(bytes(WASM_BASE64.simd_relaxed))) {
      throw new Error("relaxed SIMD probe disagrees");
    }
  } finally {
    await rt.close();
  }
});
