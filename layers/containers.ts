/**
 * Containers: Sequential (children "0", "1", ... or named), Concat of parallel branches, ModuleList.
 * @module
 */
import { rangeError } from "../runtime/mod.ts";
import { ops, type Tensor } from "../tensor/mod.ts";
import { checkModule, Module } from "./module.ts";

/** A container whose children are kept in a Map (so numeric names keep their order). */
abstract class Container extends Module {
  /** @internal */
  readonly items: Map<string, Module> = new Map();

  protected override entries(): [string, unknown][] {
    return [...super.entries().filter(([k]) => k !== "items"), ...this.items];
  }

  /** Number of children. */
  get length(): number {
    return this.items.size;
  }

  /** The child at position `i` (or with name `i` when a string). */
  at(i: number | string): Module {
    const m = typeof i === "number"
      ? [...this.items.values()][i < 0 ? this.items.size + i : i]
      : this.items.get(i);
    if (!m) throw rangeError("get module", `no child ${JSON.stringify(i)} among ${this.items.size}`);
    return m;
  }

  /** Appends a child named by its position, or by `name`. Returns this. */
  add(m: Module, name?: string): this {
    checkModule("add module", m);
    const key = name ?? String(this.items.size);
    if (this.items.has(key)) throw rangeError("add module", `a child named ${JSON.stringify(key)} exists`);
    this.items.set(key, m);
    return this;
  }
}

/**
 * Runs children in order. Children are named "0", "1", ... unless given as [name, module] pairs.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const net = new cnn.nn.Sequential(new cnn.nn.Flatten(), new cnn.nn.Linear(12, 3));
 * console.log(net.forward(cnn.zeros([2, 3, 2, 2])).shape, [...net.stateDict().keys()]);
 * ```
 */
export class Sequential extends Container {
  constructor(...modules: (Module | [string, Module])[]) {
    super();
    for (const m of modules) {
      if (Array.isArray(m)) this.add(m[1], m[0]);
      else this.add(m);
    }
  }

  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.items.values()) y = m.forward(y);
    return y;
  }
}

/** Children kept in a list, for models that call them themselves. `forward` is not defined. */
export class ModuleList extends Container {
  constructor(modules: Module[] = []) {
    super();
    for (const m of modules) this.add(m);
  }

  forward(): Tensor {
    throw rangeError("run ModuleList", "it has no forward; call its children");
  }

  /** The children in order. */
  [Symbol.iterator](): Iterator<Module> {
    return this.items.values();
  }
}

/**
 * Parallel branches over one input, concatenated along channels (an Inception block's shape).
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const block = new cnn.nn.Concat(
 *   new cnn.nn.Conv2d(3, 4, { kernelSize: 1 }),
 *   new cnn.nn.Conv2d(3, 2, { kernelSize: 3, padding: 1 }),
 * );
 * console.log(block.forward(cnn.zeros([1, 3, 5, 5])).shape); // [1, 6, 5, 5]
 * ```
 */
export class Concat extends Container {
  constructor(...branches: (Module | [string, Module])[]) {
    super();
    for (const m of branches) {
      if (Array.isArray(m)) this.add(m[1], m[0]);
      else this.add(m);
    }
  }

  forward(x: Tensor): Tensor {
    const outs = [...this.items.values()].map((m) => m.forward(x));
    const y = ops.concat(outs);
    for (const o of outs) if (o !== x) o.dispose();
    return y;
  }
}
