/**
 * The module system. A module's parameters, buffers and child modules are its own properties, found in
 * assignment order; the property path is the state_dict key, exactly as in PyTorch
 * (`layer1.0.bn1.running_mean`). Layers hold tensors and do no math themselves: `forward` calls ops.
 * @module
 */
import { rangeError, typeError } from "../runtime/mod.ts";
import { fmt, Tensor } from "../tensor/mod.ts";

const KIND = new WeakMap<Tensor, "parameter" | "buffer">();

/** Marks `t` as a learnable parameter (requires grad, kept out of tidy scopes) and returns it. */
export function parameter(t: Tensor): Tensor {
  KIND.set(t, "parameter");
  t.requiresGrad = true;
  return t.keep();
}

/** Marks `t` as a buffer (state saved in the state_dict but not learned, e.g. running_mean). */
export function buffer(t: Tensor): Tensor {
  KIND.set(t, "buffer");
  return t.keep();
}

/** A state dict as accepted by {@linkcode Module.loadStateDict}. */
export type StateDictLike = Map<string, Tensor> | Record<string, Tensor>;

/** What {@linkcode Module.loadStateDict} found. */
export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/**
 * Base class of every layer and model.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * class Tiny extends cnn.nn.Module {
 *   fc = new cnn.nn.Linear(4, 2);
 *   forward(x: cnn.Tensor): cnn.Tensor {
 *     return this.fc.forward(x);
 *   }
 * }
 * console.log([...new Tiny().stateDict().keys()]); // ["fc.weight", "fc.bias"]
 * ```
 */
export abstract class Module {
  /** Training mode (batch statistics, dropout active) or eval mode. */
  training = true;

  /** Runs the module. */
  abstract forward(...inputs: Tensor[]): Tensor;

  /** @internal Own entries in registration order: [name, value]. Containers override. */
  protected entries(): [string, unknown][] {
    return Object.entries(this);
  }

  /** Direct children with their attribute names. */
  namedChildren(): [string, Module][] {
    return this.entries().filter((e): e is [string, Module] => e[1] instanceof Module);
  }

  /** Every descendant module with its dotted path ("" for this one). */
  namedModules(prefix = ""): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.namedChildren()) {
      out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    }
    return out;
  }

  #own(kind: "parameter" | "buffer"): [string, Tensor][] {
    return this.entries().filter((e): e is [string, Tensor] =>
      e[1] instanceof Tensor && KIND.get(e[1]) === kind
    );
  }

  /** Parameters with their state_dict keys. */
  namedParameters(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [path, m] of this.namedModules()) {
      for (const [name, t] of m.#own("parameter")) out.push([path ? `${path}.${name}` : name, t]);
    }
    return out;
  }

  /** Learnable tensors, in state_dict order. */
  parameters(): Tensor[] {
    return this.namedParameters().map((e) => e[1]);
  }

  /** Buffers with their state_dict keys. */
  namedBuffers(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [path, m] of this.namedModules()) {
      for (const [name, t] of m.#own("buffer")) out.push([path ? `${path}.${name}` : name, t]);
    }
    return out;
  }

  /** Buffers (running statistics and counters). */
  buffers(): Tensor[] {
    return this.namedBuffers().map((e) => e[1]);
  }

  /** Number of learnable scalars. */
  numParameters(): number {
    return this.parameters().reduce((s, p) => s + p.size, 0);
  }

  /**
   * Parameters and buffers by PyTorch key, in PyTorch's order (each module's parameters, then its
   * buffers, then its children). The tensors are live, not copies.
   */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    const visit = (m: Module, prefix: string): void => {
      for (const [name, t] of m.#own("parameter")) out.set(prefix + name, t);
      for (const [name, t] of m.#own("buffer")) out.set(prefix + name, t);
      for (const [name, child] of m.namedChildren()) visit(child, `${prefix}${name}.`);
    };
    visit(this, "");
    return out;
  }

  /**
   * Copies values from `dict` into this module's tensors (queued in program order). With `strict`
   * (default) any missing or unexpected key is an error; shape mismatches are always errors. Nothing is
   * written unless every check passes.
   */
  loadStateDict(dict: StateDictLike, options: { strict?: boolean } = {}): LoadResult {
    const strict = options.strict ?? true;
    const src = dict instanceof Map ? dict : new Map(Object.entries(dict));
    const own = this.stateDict();
    const missingKeys = [...own.keys()].filter((k) => !src.has(k));
    const unexpectedKeys = [...src.keys()].filter((k) => !own.has(k));
    const problems: string[] = [];
    for (const [key, t] of own) {
      const s = src.get(key);
      if (s === undefined) continue;
      if (!(s instanceof Tensor)) {
        problems.push(`${key} is not a Tensor`);
      } else if (s.shape.join() !== t.shape.join()) {
        problems.push(`size mismatch for ${key}: checkpoint ${fmt(s.shape)}, model ${fmt(t.shape)}`);
      } else if ((s.dtype === "int64") !== (t.dtype === "int64")) {
        problems.push(`dtype mismatch for ${key}: checkpoint ${s.dtype}, model ${t.dtype}`);
      }
    }
    if (strict && missingKeys.length) problems.push(`missing keys: ${missingKeys.join(", ")}`);
    if (strict && unexpectedKeys.length) problems.push(`unexpected keys: ${unexpectedKeys.join(", ")}`);
    if (problems.length) throw rangeError("load state dict", problems.join("; "));
    for (const [key, t] of own) {
      const s = src.get(key);
      if (s !== undefined) copyInto(t, s);
    }
    return { missingKeys, unexpectedKeys };
  }

  /** Sets training mode here and below. Returns this. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  /** Sets eval mode here and below. Returns this. */
  eval(): this {
    return this.train(false);
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Releases the memory of every parameter and buffer; the module is unusable afterwards. */
  dispose(): void {
    for (const t of this.stateDict().values()) t.dispose();
  }
}

/** Copies `src` into `dst` (same shape) in queue order, across runtimes and dtypes where needed. */
export function copyInto(dst: Tensor, src: Tensor): void {
  if (dst.storage.host) {
    const host = dst.storage.host;
    if (src.storage.host) {
      host.set(src.storage.host.subarray(0, host.length));
      return;
    }
    void src.data().then((d) => {
      for (let i = 0; i < host.length; i++) host[i] = BigInt(d[i]);
    });
    return;
  }
  if (src.rt === dst.rt && src.dtype === dst.dtype && !src.storage.host) {
    const [s, d, n] = [src.ptr >> 2, dst.ptr >> 2, dst.size];
    const heap = dst.rt.heap;
    void dst.rt.enqueue(() => heap.f32.copyWithin(d, s, s + n));
    return;
  }
  void src.data().then((data) => dst.write(Array.from(data, Number)));
}

/** Throws a TypeError unless `m` is a Module. */
export function checkModule(action: string, m: unknown): Module {
  if (!(m instanceof Module)) throw typeError(action, `expected a Module, got ${String(m)}`);
  return m;
}
