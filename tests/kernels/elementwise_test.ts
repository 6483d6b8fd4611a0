import { REF_KERNELS } from "../../runtime/mod.ts";
import { assertClose } from "../_util/assert_close.ts";
import { closeBackends, forEachBackend } from "../_util/backends.ts";
import { Buf } from "../_util/buffers.ts";
import { dot, gradcheck } from "../_util/gradcheck.ts";
import { int, rng, uniform } from "../_util/rng.ts";
import { HEAP } from "../_util/ref_heap.ts";

forEachBackend("relu_forward/backward match ref on odd sizes", async (rt) => {
  const r = rng(1);
  for (const n of [1, 3, 4, 5, 17, 1023, int(r, 1, 5000)]) {
    const x = new Buf(rt, uniform(r, n));
    const y = new Buf(rt, n), yRef = new Buf(rt, n);
    await rt.run("relu_forward", [x.ptr, y.ptr], { units: n });
    REF_KERNELS.relu_forward(rt.heap, x.ptr, yRef.ptr, 0, n);
    assertClose(y.read(), yRef.read(), { rtol: 0, atol: 0, label: `relu y n=${n}` });
    const dy = new Buf(rt, uniform(r, n));
    const dx = new Buf(rt, n), dxRef = new Buf(rt, n);
    await rt.run("relu_backward_input", [y.ptr, dy.ptr, dx.ptr], { units: n });
    REF_KERNELS.relu_backward_input(rt.heap, y.ptr, dy.ptr, dxRef.ptr, 0, n);
    assertClose(dx.read(), dxRef.read(), { rtol: 0, atol: 0, label: `relu dx n=${n}` });
    for (const b of [x, y, yRef, dy, dx, dxRef]) b.free(`relu n=${n}`);
  }
});

Deno.test("relu reference backward matches finite differences", () => {
  const r = rng(2);
  const n = 50;
  // keep values away from the kink at 0
  const x0 = uniform(r, n).map((v) => v + Math.sign(v) * 0.1);
  const w = uniform(r, n);
  const loss = (xv: Float32Array): number => {
    const x = HEAP.put(xv), y = HEAP.out(n);
    REF_KERNELS.relu_forward(HEAP.heap, x, y, 0, n);
    return dot(w, HEAP.get(y, n));
  };
  const x = HEAP.put(x0), y = HEAP.out(n), dy = HEAP.put(w), dx = HEAP.out(n);
  REF_KERNELS.relu_forward(HEAP.heap, x, y, 0, n);
  REF_KERNELS.relu_backward_input(HEAP.heap, y, dy, dx, 0, n);
  gradcheck(loss, x0, HEAP.get(dx, n), { label: "relu dx" });
  HEAP.reset();
});

Deno.test("close backends (elementwise)", closeBackends);
