/**
 * Pre-activation ResNet / WRN whole-model parity with torch (tools/fixtures/make_preact_parity.py, a torch
 * reference module with our parameter names, torch 1.13, seeds 2234-2237): a small CIFAR pre-act
 * bottleneck net (depths [2,1,1], widths [32,64,128], stride on the first 1x1) and WRN-10-1, committed,
 * each in eval mode and one train-mode forward/backward (logits, loss, every gradient, running
 * statistics); preact_resnet18 and preact_resnet50 (ImageNet) eval logits at 224 from
 * tests/fixtures/large/ (skipped visibly when absent). Guarded by kernelsReady() until the kernels merge.
 */
import * as cnn from "../../mod.ts";
import { exists, readFixture } from "../_util/fixture.ts";
import { kernelsReady, MODEL_KERNELS } from "../_util/kernels_ready.ts";
import { evalParity, trainParity } from "./_preact_densenet_parity.ts";

const READY = kernelsReady(...MODEL_KERNELS, "reluForward", "reluBackward");
if (READY) await cnn.init({ threads: 1 });

const small = (f: string) =>
  readFixture(Deno.readFileSync(new URL(`../fixtures/${f}.safetensors`, import.meta.url)));
const large = (name: string) => new URL(`../fixtures/large/${name}_parity.safetensors`, import.meta.url);

const PREACT_SMALL = { depths: [2, 1, 1], widths: [32, 64, 128] };

Deno.test({
  name: "small pre-act bottleneck (CIFAR) eval logits match torch",
  ignore: !READY,
  fn: () => evalParity("preact_resnet164_cifar", small("preact_small_parity"), PREACT_SMALL),
});

Deno.test({
  name: "small pre-act bottleneck (CIFAR) train-mode forward/backward matches torch",
  ignore: !READY,
  fn: () => trainParity("preact_resnet164_cifar", small("preact_small_parity"), PREACT_SMALL),
});

Deno.test({
  name: "WRN-10-1 eval logits match torch, with and without (eval-inactive) dropout",
  ignore: !READY,
  fn: async () => {
    const fx = small("wrn_10_1_parity");
    await evalParity("wrn_10_1", fx);
    await evalParity("wrn_10_1", fx, { dropout: 0.3 });
  },
});

Deno.test({
  name: "WRN-10-1 train-mode forward/backward matches torch",
  ignore: !READY,
  fn: () => trainParity("wrn_10_1", small("wrn_10_1_parity")),
});

for (const name of ["preact_resnet18", "preact_resnet50"]) {
  Deno.test({
    name: `${name} (ImageNet) eval logits match torch (large fixture)`,
    ignore: !READY || !exists(large(name)),
    fn: () => evalParity(name, readFixture(Deno.readFileSync(large(name)))),
  });
}
