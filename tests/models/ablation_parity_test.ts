/**
 * The seed's ablation options (docs/ablations.md) against torch: fixtures from
 * tools/fixtures/make_ablation_parity.py (torch 1.13 reference modules written from the papers with our
 * parameter names, seeded random weights and BN statistics, float64 references). identityMappingResNet(8)
 * in the five activation orders and with the shortcut variants (constant with and without scaleResidual,
 * exclusive and shortcut-only gating under "original" and "full-preact", 1×1-conv shortcut, dropout
 * shortcut in eval mode); wrn(10, 1) with block types B(3,1,3), B(1,3,1), B(3,1,1), B(1,3), B(3,1) and
 * l = 3. Each variant loads torch's state dict with `loadStateDict(strict)` (so the key sets are equal),
 * then: eval logits within 1e-4 of max |logit|; one train-mode forward (batch statistics) within 1e-4 and
 * the input gradient of sum(logits · loss_weight) within 1e-3 of its max |value|. Guarded by
 * kernelsReady() as the other parity tests.
 */
import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";
import { type IdentityMappingOptions, identityMappingResNet } from "../../models/identity_mappings.ts";
import { wrn, type WrnOptions } from "../../models/preact_resnet.ts";
import { kernelsReady, MODEL_KERNELS } from "../_util/kernels_ready.ts";
import { relErr } from "./_preact_densenet_parity.ts";

const READY = kernelsReady(...MODEL_KERNELS, "reluForward", "reluBackward", "mul", "copyStrided");
if (READY) await cnn.init({ threads: 1 });

/** The identity-mappings variants of the fixture, depth 8 (options as given to identityMappingResNet). */
const IDENTITY: Record<string, IdentityMappingOptions> = {
  "original": { order: "original" },
  "bn-after-add": { order: "bn-after-add" },
  "relu-before-add": { order: "relu-before-add" },
  "relu-only-preact": { order: "relu-only-preact" },
  "full-preact": { order: "full-preact" },
  "constant": { order: "original", shortcut: "constant" },
  "constant-scaled": { order: "original", shortcut: "constant", scaleResidual: true, lambda: 0.3 },
  "exclusive-gating": { order: "original", shortcut: "exclusive-gating", gateBias: -2 },
  "shortcut-gating": { order: "original", shortcut: "shortcut-gating" },
  "conv1x1": { order: "original", shortcut: "conv1x1" },
  "dropout": { order: "original", shortcut: "dropout", shortcutDropout: 0.3 },
  "full-preact-exclusive-gating": { order: "full-preact", shortcut: "exclusive-gating" },
  "full-preact-shortcut-gating": { order: "full-preact", shortcut: "shortcut-gating" },
};

/** The WRN-10-1 variants of the fixture (options as given to wrn). */
const WRN: Record<string, WrnOptions> = {
  "B(3,1,3)": { block: [3, 1, 3] },
  "B(1,3,1)": { block: [1, 3, 1] },
  "B(3,1,1)": { block: [3, 1, 1] },
  "B(1,3)": { block: [1, 3] },
  "B(3,1)": { block: [3, 1] },
  "l=3": { l: 3 },
};

/** One variant as the fixture's metadata describes it. */
interface Variant {
  builder: "identityMappingResNet" | "wrn";
  depth: number;
  k?: number;
  options: Record<string, unknown>;
  train: boolean;
  keys: Record<string, number>;
}

interface Fixture {
  arrays: Map<string, cnn.io.SafetensorsEntry>;
  variants: Map<string, Variant>;
}

function readAblationFixture(file: string): Fixture {
  const bytes = Deno.readFileSync(new URL(`../fixtures/${file}.safetensors`, import.meta.url));
  const { tensors, metadata } = cnn.io.parseSafetensors(bytes);
  const variants = new Map<string, Variant>();
  for (const [k, v] of Object.entries(metadata)) {
    if (k.startsWith("variant.")) variants.set(k.slice("variant.".length), JSON.parse(v));
  }
  return { arrays: tensors, variants };
}

function array(fx: Fixture, name: string): cnn.io.SafetensorsEntry {
  const a = fx.arrays.get(name);
  assert.ok(a, `fixture has no ${name}`);
  return a;
}

function floats(fx: Fixture, name: string): Float32Array {
  return array(fx, name).data as Float32Array;
}

function toTensor(e: cnn.io.SafetensorsEntry): cnn.Tensor {
  return e.data instanceof BigInt64Array
    ? cnn.tensor(e.data, e.shape, { dtype: "int64" })
    : cnn.tensor(e.data as Float32Array, e.shape);
}

function build(v: Variant): cnn.nn.Module {
  return v.builder === "wrn"
    ? wrn(v.depth, v.k!, v.options as WrnOptions)
    : identityMappingResNet(v.depth, v.options as IdentityMappingOptions);
}

/** Loads torch's state dict (strict: the model's keys are exactly torch's), eval and train-mode checks. */
async function checkVariant(fx: Fixture, name: string): Promise<void> {
  const v = fx.variants.get(name)!;
  const model = build(v);
  const dict = new Map(Object.entries(v.keys).map(([k, i]) => [k, toTensor(array(fx, `p${i}`))]));
  model.loadStateDict(dict, { strict: true });
  for (const t of dict.values()) t.dispose();
  const xs = array(fx, "input");

  model.eval();
  const x = cnn.tensor(xs.data as Float32Array, xs.shape);
  const y = cnn.noGrad(() => model.forward(x));
  assert.deepEqual([...y.shape], array(fx, `${name}.logits`).shape);
  const eEval = relErr(await y.toArray() as Float32Array, floats(fx, `${name}.logits`));
  assert.ok(eEval < 1e-4, `${name}: eval logits rel err ${eEval}`);
  x.dispose();
  y.dispose();

  if (v.train) {
    model.train();
    const xt = cnn.tensor(xs.data as Float32Array, xs.shape);
    xt.requiresGrad = true;
    const yt = model.forward(xt);
    const w = array(fx, "loss_weight");
    const upstream = cnn.tensor(w.data as Float32Array, w.shape);
    await cnn.backward(yt, upstream);
    const eTrain = relErr(await yt.toArray() as Float32Array, floats(fx, `${name}.train_logits`));
    assert.ok(eTrain < 1e-4, `${name}: train-mode logits rel err ${eTrain}`);
    const eGrad = relErr(await xt.grad!.toArray() as Float32Array, floats(fx, `${name}.input_grad`));
    assert.ok(eGrad < 1e-3, `${name}: input gradient rel err ${eGrad}`);
    for (const t of [xt, yt, upstream]) t.dispose();
  }
  model.dispose();
}

for (
  const [file, table] of [
    ["ablation_identity_parity", IDENTITY],
    ["ablation_wrn_parity", WRN],
  ] as const
) {
  const fx = readAblationFixture(file);
  Deno.test(`${file}: the fixture holds exactly the listed variants, with the same options`, () => {
    assert.deepEqual([...fx.variants.keys()].sort(), Object.keys(table).sort());
    for (const [name, options] of Object.entries(table)) {
      assert.deepEqual(fx.variants.get(name)!.options, options, name);
    }
  });
  for (const name of Object.keys(table)) {
    const train = fx.variants.get(name)?.train;
    Deno.test({
      name: `${file}: ${name} matches torch (eval logits${
        train ? ", train-mode logits, input gradient" : ""
      })`,
      ignore: !READY,
      fn: () => checkVariant(fx, name),
    });
  }
}
