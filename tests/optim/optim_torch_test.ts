// The optimizer classes end to end (state creation, `first` step, TF vs torch style) against the same
// torch fixture as the kernel test.
import * as cnn from "../../mod.ts";
import { assertClose } from "../_util/assert_close.ts";
import { readFixture } from "../_util/fixture.ts";

await cnn.init({ threads: 1 });

const FIX = readFixture(Deno.readFileSync(new URL("../fixtures/optim_steps.safetensors", import.meta.url)));
const get = (name: string): Float32Array => {
  const a = FIX.get(name);
  if (!a) throw new Error(`fixture has no ${name}`);
  return a.data;
};

async function check(name: string, make: (params: cnn.Tensor[]) => cnn.optim.SGD | cnn.optim.RMSProp) {
  const p0 = get("param0");
  const p = cnn.tensor(p0, [p0.length]);
  p.requiresGrad = true;
  const opt = make([p]);
  for (let s = 0; s < 3; s++) {
    p.grad = cnn.tensor(get(`grad${s}`), [p0.length]);
    await opt.step();
    assertClose(await p.toArray() as Float32Array, get(`${name}/step${s}`), {
      rtol: 1e-5,
      atol: 1e-6,
      label: `${name} step ${s}`,
    });
  }
}

Deno.test("optim.SGD matches torch.optim.SGD for 3 steps", async () => {
  await check("sgd_plain", (ps) => new cnn.optim.SGD(ps, { lr: 0.1 }));
  await check("sgd_wd", (ps) => new cnn.optim.SGD(ps, { lr: 0.1, weightDecay: 0.01 }));
  await check("sgd_mom", (ps) => new cnn.optim.SGD(ps, { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 }));
  await check(
    "sgd_damp",
    (ps) => new cnn.optim.SGD(ps, { lr: 0.05, momentum: 0.6, dampening: 0.3, weightDecay: 1e-3 }),
  );
  await check(
    "sgd_nesterov",
    (ps) => new cnn.optim.SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4 }),
  );
});

Deno.test("optim.RMSProp matches torch.optim.RMSprop (torch style) and TF RMSProp (tf style)", async () => {
  await check(
    "rms_torch",
    (ps) => new cnn.optim.RMSProp(ps, { lr: 0.01, decay: 0.9, eps: 1e-3, style: "torch" }),
  );
  await check(
    "rms_torch_mom",
    (ps) =>
      new cnn.optim.RMSProp(ps, {
        lr: 0.01,
        decay: 0.9,
        eps: 1e-3,
        momentum: 0.9,
        weightDecay: 1e-3,
        style: "torch",
      }),
  );
  await check(
    "rms_tf",
    (ps) => new cnn.optim.RMSProp(ps, { lr: 0.045, decay: 0.9, momentum: 0.9, eps: 1, weightDecay: 4e-5 }),
  );
});
