/**
 * The three ResNeXt block forms of Xie et al. Fig. 3 (models/resnext_forms.ts): module trees of forms (a)
 * and (b) (C paths of 3 convs; C paths of 2 convs plus one 1×1), parameter counts equal across forms and
 * equal to a formula written out here, single blocks and small whole networks giving the same outputs,
 * input gradients, weight gradients and BN running statistics in forms (c), (a) and (b), in eval and in
 * training mode, with randomised BN parameters and statistics; SGD steps on form (a) lowering the loss;
 * errors for bad input.
 */
import assert from "node:assert/strict";
import * as cnn from "../../mod.ts";
import { createRuntime, type Runtime, withRuntime } from "../../tensor/mod.ts";
import { type BasicBlock, Bottleneck } from "../../models/resnet.ts";
import {
  ResNeXtBlockA,
  ResNeXtBlockB,
  resnextBlockFromGrouped,
  ResNeXtPath,
  resnextToForm,
} from "../../models/resnext_forms.ts";
import { kernelsReady, MODEL_KERNELS } from "../_util/kernels_ready.ts";
import { rng, uniform } from "../_util/rng.ts";

await cnn.init({ threads: 1 });
const READY = kernelsReady(...MODEL_KERNELS, "reluForward", "reluBackward", "copyStrided");
const meta: Runtime = await createRuntime({ backend: "meta" });
const onMeta = <T>(fn: () => T): T => withRuntime(meta, fn);
const ops = cnn.ops;
const TOL = 1e-4;

/** A small CIFAR ResNeXt: C = 4, d = 4 / 8 / 8 (widthPerGroup 32 halves the planes), outputs 32 / 64 / 64. */
const TINY = {
  groups: 4,
  widthPerGroup: 32,
  widths: [8, 16, 16],
  stemWidth: 8,
  depths: [2, 1, 1],
  numClasses: 5,
};

type Net = cnn.nn.Module;

function mod(net: Net, path: string): cnn.nn.Module {
  const m = new Map(net.namedModules()).get(path);
  if (!m) throw new Error(`no module ${path}`);
  return m;
}

async function values(t: cnn.Tensor): Promise<Float32Array> {
  return await t.toArray() as Float32Array;
}

function close(got: ArrayLike<number>, want: ArrayLike<number>, label: string, tol = TOL): void {
  assert.equal(got.length, want.length, `${label}: length`);
  for (let i = 0; i < got.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol * Math.max(1, Math.abs(want[i])))) {
      assert.fail(`${label}[${i}]: got ${got[i]}, want ${want[i]}`);
    }
  }
}

/** Non-trivial BN affine parameters, running statistics and counters everywhere, from `seed`. */
async function randomizeBn(net: Net, seed: number): Promise<void> {
  const r = rng(seed);
  for (const [, m] of net.namedModules()) {
    if (!(m instanceof cnn.nn.BatchNorm2d)) continue;
    const c = m.running_mean.size;
    await m.weight!.write(uniform(r, c, 0.5, 1.5));
    await m.bias!.write(uniform(r, c, -0.5, 0.5));
    await m.running_mean.write(uniform(r, c, -0.3, 0.3));
    await m.running_var.write(uniform(r, c, 0.5, 2));
    await m.num_batches_tracked.write([Math.floor(r() * 100)]);
  }
}

/** The grouped net (row + overrides, random BN), and the same weights converted to forms a and b. */
async function threeForms(
  extra: Record<string, unknown> = {},
  row = "resnext29_8x64d",
): Promise<{ c: Net; a: Net; b: Net }> {
  const opts = { ...TINY, ...extra };
  const c = cnn.models.create(row, { ...opts, generator: new cnn.Generator(7) });
  await randomizeBn(c, 100);
  const copy = async (form: "a" | "b") => {
    const n = cnn.models.create(row, { ...opts, generator: new cnn.Generator(99) });
    n.loadStateDict(c.stateDict());
    return await resnextToForm(n, form);
  };
  return { c, a: await copy("a"), b: await copy("b") };
}

// ------------------------------------------------------------------------------------------------
// Structure (meta runtime: shapes only)

/** Parameters of one grouped block (form c) from `inp` to `out` with C paths of width d, by the formula. */
function groupedBlockParams(inp: number, c: number, d: number, out: number, projection: boolean): number {
  const cd = c * d;
  return inp * cd + 2 * cd + // conv1, bn1
    cd * d * 9 + 2 * cd + // grouped conv2 (d inputs per group), bn2
    cd * out + 2 * out + // conv3, bn3
    (projection ? inp * out + 2 * out : 0);
}

/** The same block counted as form (a): C paths of in·d + 9d² + d·out weights plus their BNs. */
function formAParams(inp: number, c: number, d: number, out: number, projection: boolean): number {
  return c * (inp * d + 2 * d + 9 * d * d + 2 * d + d * out) + 2 * out +
    (projection ? inp * out + 2 * out : 0);
}

/** A CIFAR ResNeXt's parameters: 3×3 stem, stages of blocks (projection where the shape changes), fc. */
function cifarResNeXtParams(
  o: { stemWidth: number; widths: number[]; depths: number[]; groups: number; widthPerGroup: number },
  numClasses: number,
  perBlock = groupedBlockParams,
): number {
  let total = 3 * o.stemWidth * 9 + 2 * o.stemWidth;
  let inp = o.stemWidth;
  o.widths.forEach((planes, s) => {
    const d = Math.floor(planes * o.widthPerGroup / 64);
    const out = 4 * planes;
    for (let i = 0; i < o.depths[s]; i++) {
      const stride = i === 0 && s > 0 ? 2 : 1;
      total += perBlock(inp, o.groups, d, out, stride !== 1 || inp !== out);
      inp = out;
    }
  });
  return total + inp * numClasses + numClasses;
}

Deno.test("structure: resnext29_8x64d in forms a and b (C = 8 paths, d = 64 at stage 1), equal counts", async () => {
  const opts = { stemWidth: 64, widths: [64, 128, 256], depths: [3, 3, 3], groups: 8, widthPerGroup: 64 };
  assert.equal(cifarResNeXtParams(opts, 10), 34_426_698);
  assert.equal(cifarResNeXtParams(opts, 10, formAParams), 34_426_698); // Fig. 3: same parameters
  for (const form of ["a", "b"] as const) {
    const net = onMeta(() => cnn.models.create("resnext29_8x64d"));
    const keysBefore = net.stateDict().size;
    await resnextToForm(net, form);
    assert.equal(net.numParameters(), 34_426_698, form);
    const s = new Map(net.namedParameters().map(([k, t]) => [k, [...t.shape]]));
    let blocks = 0;
    for (const [name, m] of net.namedModules()) {
      assert.ok(!(m instanceof Bottleneck), `${form}: ${name} is still grouped`);
      if (!(m instanceof ResNeXtBlockA || m instanceof ResNeXtBlockB)) continue;
      blocks++;
      assert.equal(m instanceof ResNeXtBlockA, form === "a", name);
      assert.equal(m.paths.length, 8, name);
      for (const p of m.paths) {
        const convs = p.namedModules().filter(([, x]) => x instanceof cnn.nn.Conv2d);
        assert.equal(convs.length, form === "a" ? 3 : 2, `${form}: ${name} path convs`);
      }
      const ownConvs = m.namedChildren().filter(([, x]) => x instanceof cnn.nn.Conv2d).map(([k]) => k);
      assert.deepEqual(ownConvs, form === "a" ? [] : ["conv3"], `${form}: ${name} block-level convs`);
    }
    assert.equal(blocks, 9);
    // keys: path i holds its slice; layer2.0 has stride 2 on the paths' 3×3 and a projection
    assert.deepEqual(s.get("layer1.0.paths.0.conv1.weight"), [64, 64, 1, 1]);
    assert.deepEqual(s.get("layer1.0.paths.7.conv2.weight"), [64, 64, 3, 3]);
    assert.deepEqual(s.get("layer2.0.paths.3.conv1.weight"), [128, 256, 1, 1]);
    assert.deepEqual(s.get("layer3.2.paths.7.bn2.weight"), [256]);
    assert.deepEqual(s.get("layer1.0.bn3.weight"), [256]);
    assert.deepEqual(s.get("layer2.0.downsample.0.weight"), [512, 256, 1, 1]);
    assert.deepEqual(s.get("layer2.0.downsample.1.weight"), [512]);
    assert.ok(!s.has("layer1.0.conv1.weight"));
    if (form === "a") {
      assert.deepEqual(s.get("layer1.0.paths.7.conv3.weight"), [256, 64, 1, 1]);
      assert.ok(!s.has("layer1.0.conv3.weight"));
    } else {
      assert.deepEqual(s.get("layer1.0.conv3.weight"), [256, 512, 1, 1]);
      assert.ok(!s.has("layer1.0.paths.0.conv3.weight"));
    }
    const p2 = (mod(net, "layer2.0") as ResNeXtBlockA).paths.at(0) as ResNeXtPath;
    assert.equal(p2.conv2.options.stride, 2);
    assert.equal(p2.conv1.options.stride, 1);
    // a path holds conv1, bn1 (5 entries), conv2, bn2 (5) and in form (a) conv3: 13 or 12 entries, which
    // the grouped block held once; the other C - 1 = 7 copies are new
    const perBlockExtra = 7 * (form === "a" ? 13 : 12);
    assert.equal(net.stateDict().size, keysBefore + 9 * perBlockExtra, form);
    const keys = [...net.stateDict().keys()].filter((k) => k.startsWith("layer1.0."));
    assert.deepEqual(keys.slice(0, 6), [
      "layer1.0.paths.0.conv1.weight",
      "layer1.0.paths.0.bn1.weight",
      "layer1.0.paths.0.bn1.bias",
      "layer1.0.paths.0.bn1.running_mean",
      "layer1.0.paths.0.bn1.running_var",
      "layer1.0.paths.0.bn1.num_batches_tracked",
    ]);
    net.dispose();
  }
});

Deno.test("structure: resnext50_32x4d forms keep the torchvision count; the tiny row matches the formula", async () => {
  for (const form of ["a", "b"] as const) {
    const net = onMeta(() => cnn.models.create("resnext50_32x4d"));
    await resnextToForm(net, form);
    assert.equal(net.numParameters(), 25_028_904, form);
    assert.equal((mod(net, "layer4.2") as ResNeXtBlockA).paths.length, 32);
    const p = (mod(net, "layer4.0") as ResNeXtBlockA).paths.at(31) as ResNeXtPath;
    assert.deepEqual(p.conv2.weight.shape, [32, 32, 3, 3]); // d = 4 · 2^3
    net.dispose();
  }
  const tiny = onMeta(() => cnn.models.create("resnext29_8x64d", TINY));
  assert.equal(tiny.numParameters(), cifarResNeXtParams(TINY, 5));
  await resnextToForm(tiny, "a");
  assert.equal(tiny.numParameters(), cifarResNeXtParams(TINY, 5, formAParams));
  tiny.dispose();
});

Deno.test("structure: standalone blocks and paths; init draws each slice like the grouped conv", async () => {
  const a = new ResNeXtBlockA(16, 32, {
    cardinality: 4,
    width: 8,
    stride: 2,
    downsample: new cnn.nn.Sequential(
      new cnn.nn.Conv2d(16, 32, { kernelSize: 1, stride: 2, bias: false }),
      new cnn.nn.BatchNorm2d(32),
    ),
    generator: new cnn.Generator(3),
  });
  assert.equal(a.cardinality, 4);
  assert.equal(a.width, 8);
  assert.equal(a.numParameters(), formAParams(16, 4, 8, 32, true));
  const b = new ResNeXtBlockB(16, 32, { cardinality: 4, width: 8, strideOn: "1x1", stride: 2 });
  assert.equal(b.numParameters(), formAParams(16, 4, 8, 32, false));
  assert.equal((b.paths.at(0) as ResNeXtPath).conv1.options.stride, 2);
  assert.equal((b.paths.at(0) as ResNeXtPath).conv2.options.stride, 1);
  const w2: number[] = [];
  for (const p of a.paths) w2.push(...await values((p as ResNeXtPath).conv2.weight));
  const std = Math.sqrt(w2.reduce((s, v) => s + v * v, 0) / w2.length);
  const want = Math.sqrt(2 / (4 * 8 * 9)); // fan_out of the grouped 3×3: C·d·9
  assert.ok(Math.abs(std - want) < 0.15 * want, `std ${std} vs ${want}`);
  a.dispose();
  b.dispose();
});

// ------------------------------------------------------------------------------------------------
// Equality across forms

/** Output, input gradient (for a fixed upstream gradient) and the module's parameter gradients. */
async function run(
  m: cnn.nn.Module,
  xs: Float32Array,
  shape: number[],
  upstream: (size: number) => Float32Array,
): Promise<{ y: Float32Array; gx: Float32Array }> {
  m.zeroGrad();
  const x = cnn.tensor(xs, shape);
  x.requiresGrad = true;
  const y = m.forward(x);
  await cnn.backward(y, cnn.tensor(upstream(y.size), y.shape));
  const out = { y: await values(y), gx: await values(x.grad!) };
  y.dispose();
  x.dispose();
  return out;
}

/** Grouped weight gradient rows [i·d, (i+1)·d) (dim 0), or columns (dim 1) of a [rows, cols] matrix. */
function slice(v: Float32Array, rowSize: number, from: number, to: number, dim: 0 | 1): number[] {
  if (dim === 0) return [...v.subarray(from * rowSize, to * rowSize)];
  const out: number[] = [];
  for (let r = 0; r < v.length / rowSize; r++) out.push(...v.subarray(r * rowSize + from, r * rowSize + to));
  return out;
}

Deno.test({
  name:
    "single blocks: forms c, a, b agree (output, input and weight gradients, BN statistics), eval + train",
  ignore: !READY,
  fn: async () => {
    const net = cnn.models.create("resnext29_8x64d", { ...TINY, generator: new cnn.Generator(1) });
    await randomizeBn(net, 5);
    // layer1.0: 8 → 32 with a projection; layer1.1: identity; layer2.0: stride 2, projection
    for (const [site, cin, hw] of [["layer1.0", 8, 6], ["layer1.1", 32, 5], ["layer2.0", 32, 6]] as const) {
      const g = mod(net, site) as Bottleneck;
      const a = await resnextBlockFromGrouped(g, "a");
      const b = await resnextBlockFromGrouped(g, "b");
      assert.ok(a instanceof ResNeXtBlockA && b instanceof ResNeXtBlockB);
      const c = g.conv2.options.groups, d = g.conv2.weight.shape[1], cd = c * d;
      const shape = [3, cin, hw, hw];
      const xs = uniform(rng(hw + cin), 3 * cin * hw * hw);
      const up = (n: number) => uniform(rng(42), n);
      for (const mode of ["eval", "train"] as const) {
        for (const m of [g, a, b]) m.train(mode === "train");
        const rc = await run(g, xs, shape, up);
        const ra = await run(a, xs, shape, up);
        const rb = await run(b, xs, shape, up);
        close(ra.y, rc.y, `${site} ${mode}: form a output`);
        close(rb.y, rc.y, `${site} ${mode}: form b output`);
        close(ra.gx, rc.gx, `${site} ${mode}: form a input gradient`);
        close(rb.gx, rc.gx, `${site} ${mode}: form b input gradient`);
        assert.ok(rc.y.some((v) => v > 0) && rc.gx.some((v) => v !== 0), `${site}: non-trivial`);
        // weight gradients are the slices of the grouped ones
        const g1 = await values(g.conv1.weight.grad!), g2 = await values(g.conv2.weight.grad!);
        const g3 = await values(g.conv3.weight.grad!);
        for (let i = 0; i < c; i++) {
          const [pa, pb] = [a.paths.at(i), b.paths.at(i)] as ResNeXtPath[];
          for (const p of [pa, pb]) {
            close(
              await values(p.conv1.weight.grad!),
              slice(g1, cin, i * d, (i + 1) * d, 0),
              `${site} conv1 ${i}`,
            );
            close(
              await values(p.conv2.weight.grad!),
              slice(g2, d * 9, i * d, (i + 1) * d, 0),
              `${site} conv2 ${i}`,
            );
          }
          close(
            await values(pa.conv3!.weight.grad!),
            slice(g3, cd, i * d, (i + 1) * d, 1),
            `${site} a conv3 ${i}`,
          );
        }
        close(await values(b.conv3.weight.grad!), g3, `${site} b conv3`);
        close(await values(a.bn3.weight!.grad!), await values(g.bn3.weight!.grad!), `${site} a bn3`);
        // BN statistics (updated in training): mapping the grouped block again gives the same state
        for (const [form, got] of [["a", a], ["b", b]] as const) {
          const again = await resnextBlockFromGrouped(g, form);
          for (const [k, t] of again.stateDict()) {
            const mine = got.stateDict().get(k)!;
            close(
              Array.from(await t.data(), Number),
              Array.from(await mine.data(), Number),
              `${site} ${mode} ${form} ${k}`,
            );
          }
          again.dispose();
        }
      }
      a.dispose();
      b.dispose();
    }
    net.dispose();
  },
});

/** Logits and the input gradient of the cross-entropy loss. */
async function logitsAndGrad(net: Net, xs: Float32Array, shape: number[], labels: Int32Array) {
  net.zeroGrad();
  const x = cnn.tensor(xs, shape);
  x.requiresGrad = true;
  const y = net.forward(x);
  const loss = ops.crossEntropy(y, labels);
  await cnn.backward(loss);
  const out = { y: await values(y), gx: await values(x.grad!) };
  for (const t of [loss, y, x]) t.dispose();
  return out;
}

Deno.test({
  name:
    "whole networks: forms c, a, b agree in eval and train mode (shortcuts A/B/C, stride on 1x1, dilation)",
  ignore: !READY,
  fn: async () => {
    const cases: [string, Record<string, unknown>, number][] = [
      ["resnext29_8x64d", {}, 8],
      ["resnext29_8x64d", { shortcut: "A" }, 8],
      ["resnext29_8x64d", { shortcut: "C", strideOn: "1x1" }, 8],
      ["resnext29_8x64d", { stochasticDepth: { pL: 0.5 } }, 8], // eval: gates scale by p_l, train: skipped
      ["resnext50_32x4d", { widths: [8, 16, 16, 16], depths: [1, 1, 2, 2], outputStride: 8 }, 24],
    ];
    for (const [row, extra, hw] of cases) {
      const label = `${row} ${JSON.stringify(extra)}`;
      const { c, a, b } = await threeForms(extra, row);
      if (row.startsWith("resnext50")) {
        // stages 3 and 4 dilated (torchvision rule: layer4.0's 3×3 keeps the previous dilation, 2)
        for (
          const [site, want] of [["layer3.0", 1], ["layer3.1", 2], ["layer4.0", 2], ["layer4.1", 4]] as const
        ) {
          const p = (mod(a, site) as ResNeXtBlockA).paths.at(0) as ResNeXtPath;
          assert.equal(p.conv2.options.dilation, want, `${label} ${site}`);
          assert.equal(p.conv2.options.dilation, (mod(c, site) as Bottleneck).conv2.options.dilation);
          assert.equal(p.conv2.options.stride, 1);
        }
      }
      const shape = [4, 3, hw, hw];
      const xs = uniform(rng(hw), 4 * 3 * hw * hw);
      const labels = new Int32Array([0, 1, 2, 3]);
      const modes = extra.stochasticDepth ? ["eval"] : ["eval", "train", "eval"];
      for (const [step, mode] of modes.entries()) {
        for (const n of [c, a, b]) n.train(mode === "train");
        const rc = await logitsAndGrad(c, xs, shape, labels);
        const ra = await logitsAndGrad(a, xs, shape, labels);
        const rb = await logitsAndGrad(b, xs, shape, labels);
        const at = `${label} ${mode} (step ${step})`;
        close(ra.y, rc.y, `${at}: form a logits`);
        close(rb.y, rc.y, `${at}: form b logits`);
        close(ra.gx, rc.gx, `${at}: form a input gradient`);
        close(rb.gx, rc.gx, `${at}: form b input gradient`);
        assert.ok(rc.gx.some((v) => v !== 0), at);
      }
      for (const n of [c, a, b]) n.dispose();
    }
  },
});

Deno.test({
  name: "a few SGD steps on form (a) lower the loss",
  ignore: !READY,
  fn: async () => {
    const net = cnn.models.create("resnext29_8x64d", {
      ...TINY,
      numClasses: 4,
      generator: new cnn.Generator(11),
    });
    await resnextToForm(net, "a");
    const x = cnn.tensor(uniform(rng(3), 4 * 3 * 8 * 8), [4, 3, 8, 8]);
    const labels = new Int32Array([0, 1, 2, 3]);
    const opt = new cnn.optim.SGD(net.parameters(), { lr: 0.05, momentum: 0.9 });
    const losses: number[] = [];
    for (let s = 0; s < 6; s++) {
      opt.zeroGrad();
      const loss = ops.crossEntropy(net.forward(x), labels);
      losses.push(await loss.item());
      await cnn.backward(loss);
      await opt.step();
      loss.dispose();
    }
    const label = losses.map((l) => l.toFixed(3)).join(" ");
    assert.ok(losses.every(Number.isFinite), label);
    assert.ok(losses[losses.length - 1] < losses[0] - 0.05, label);
    net.dispose();
  },
});

// ------------------------------------------------------------------------------------------------
// Errors

function throwsRange(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof RangeError && re.test(e.message), String(re));
}

async function rejectsRange(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof RangeError && re.test(e.message), String(re));
}

Deno.test("bad input gives RangeErrors that say what is wrong", async () => {
  const net = onMeta(() => cnn.models.create("resnext29_8x64d", TINY));
  const g = mod(net, "layer1.0") as Bottleneck;
  await rejectsRange(
    resnextBlockFromGrouped(g, "c" as never),
    /^Cannot convert a ResNeXt block to form "c": form must be "a" or "b", got "c"$/,
  );
  await rejectsRange(resnextToForm(net, "d" as never), /^Cannot convert a network .*form must be "a" or "b"/);
  const plain = onMeta(() => cnn.models.create("resnet50"));
  await rejectsRange(
    resnextBlockFromGrouped(mod(plain, "layer1.0") as Bottleneck, "a"),
    /the Bottleneck has groups 1; form \(c\) needs groups > 1/,
  );
  await rejectsRange(resnextToForm(plain, "a"), /it has no grouped Bottleneck \(groups > 1\)/);
  const basic = onMeta(() => cnn.models.create("resnet20_cifar"));
  await rejectsRange(
    resnextBlockFromGrouped(mod(basic, "layer1.0") as BasicBlock as unknown as Bottleneck, "b"),
    /expected a grouped Bottleneck of models\/resnet.ts, got a BasicBlock/,
  );
  await rejectsRange(resnextToForm(basic, "b"), /no grouped Bottleneck/);
  await rejectsRange(resnextToForm(null as never, "a"), /expected a Module, got null/);
  onMeta(() => {
    throwsRange(
      () => new ResNeXtBlockA(8, 8, { cardinality: 0, width: 4 }),
      /cardinality must be an integer >= 1, got 0/,
    );
    throwsRange(
      () => new ResNeXtBlockB(8, 8, { cardinality: 2, width: 1.5 }),
      /^Cannot create ResNeXtBlockB: width/,
    );
    throwsRange(() => new ResNeXtBlockA(8, 8, undefined as never), /options with cardinality and width/);
    throwsRange(
      () => new ResNeXtPath(8, { width: 4, strideOn: "2x2" as never }),
      /^Cannot create ResNeXtPath: strideOn must be "3x3" or "1x1", got "2x2"$/,
    );
  });
  // a block that cannot be converted (an unknown shortcut in layer2.0) leaves the whole network as it was
  (mod(net, "layer2.0") as Bottleneck).downsample = new cnn.nn.Identity();
  await rejectsRange(
    resnextToForm(net, "a"),
    /^Cannot convert a ResNeXt block to form "a": its shortcut is a Identity, not a conv \+ BN projection/,
  );
  for (const site of ["layer1.0", "layer1.1", "layer2.0", "layer3.0"]) {
    assert.ok(mod(net, site) instanceof Bottleneck, site);
  }
  for (const n of [net, plain, basic]) n.dispose();
});

Deno.test("close the meta runtime", async () => {
  await meta.close();
});
