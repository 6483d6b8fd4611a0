// The guard bytes every kernel test relies on must catch a write just outside a buffer (otherwise the
// "kernels stay inside their buffers" checks in tests/kernels/ could never fail).
import assert from "node:assert/strict";
import { createRuntime } from "../../runtime/mod.ts";
import { Buf } from "../_util/buffers.ts";

Deno.test("guard bytes catch writes one byte before and one float past a buffer", async () => {
  const rt = await createRuntime({ backend: "wasm", threads: 1 });
  try {
    const b = new Buf(rt, 10);
    b.checkGuards();
    rt.heap.u8[b.ptr - 1] = 0;
    assert.throws(() => b.checkGuards("b"), /b: write 1 bytes before the buffer/);
    const c = new Buf(rt, 10);
    rt.heap.f32[(c.ptr >> 2) + 10] = 1;
    assert.throws(() => c.checkGuards("c"), /c: write 0 bytes past the end/);
    // relu over exactly 10 floats leaves the guards alone.
    const d = new Buf(rt, 10), e = new Buf(rt, 10);
    await rt.run("relu_forward", [d.ptr, e.ptr], { units: 10 });
    e.checkGuards("relu");
  } finally {
    await rt.close();
  }
});
