/**
 * The tape: each op that needs gradients records a {@linkcode Node} beside its forward; `backward`
 * only walks the nodes in reverse topological order. It knows no specific op.
 * @module
 */
import { rangeError } from "./errors.ts";
import type { Tensor } from "./tensor.ts";

/** What an op records: its inputs, the tensors it saved, and how to map the output gradient to input gradients. */
export interface Node {
  /** Op name, for error messages. */
  readonly name: string;
  /** Inputs in order; gradients are returned in the same order (null where not needed). */
  readonly inputs: readonly Tensor[];
  /** Returns fresh gradient tensors for the inputs. `g` is owned by the engine and disposed after. */
  backward(g: Tensor): (Tensor | null)[];
  /** Releases saved tensors (after backward, or when the graph is dropped). */
  release(): void;
  /** Set once released; a second backward through it is an error. */
  released: boolean;
}

let gradEnabled = true;

/** True unless inside {@linkcode noGrad}. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Runs `fn` without recording gradients (inference). Works with async functions.
 *
 * @example
 * ```ts
 * import { noGrad } from "./autograd.ts";
 * const r = noGrad(() => 42);
 * console.log(r);
 * ```
 */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  let result: T;
  try {
    result = fn();
  } catch (err) {
    gradEnabled = prev;
    throw err;
  }
  if (result instanceof Promise) {
    return result.finally(() => {
      gradEnabled = prev;
    }) as T;
  }
  gradEnabled = prev;
  return result;
}

/** True if an op with these inputs must record a node. */
export function needsGrad(...inputs: (Tensor | null | undefined)[]): boolean {
  if (!gradEnabled) return false;
  for (const t of inputs) if (t && t.requiresGrad) return true;
  return false;
}

/** Attaches `node` to `out` (which then requires grad). */
export function record(out: Tensor, node: Node): Tensor {
  out.node = node;
  out.requiresGrad = true;
  return out;
}

/** Hooks the engine needs from the ops tier (set by ops/mod.ts): fresh ones-like, in-place add, copy. */
export interface GradKernels {
  onesLike(t: Tensor): Tensor;
  /** acc += g (both fresh, same shape). */
  addInto(acc: Tensor, g: Tensor): void;
  /** a + b into a fresh tensor. */
  add(a: Tensor, b: Tensor): Tensor;
  clone(t: Tensor): Tensor;
}

/**
 * Back-propagates from `root`: gradients of every leaf that requires grad accumulate into `.grad`
 * (as in torch). Saved tensors are released afterwards. Resolves when the kernels have run.
 */
export async function backward(root: Tensor, grad: Tensor | undefined, k: GradKernels): Promise<void> {
  if (!root.requiresGrad) throw rangeError("run backward", `${root} does not require grad`);
  if (grad === undefined && root.size !== 1) {
    throw rangeError(
      "run backward",
      `an implicit gradient needs a scalar, got shape [${root.shape.join(", ")}]`,
    );
  }
  if (grad !== undefined && grad.shape.join() !== root.shape.join()) {
    throw rangeError("run backward", `grad shape [${grad.shape.join(", ")}] != [${root.shape.join(", ")}]`);
  }
  // Topological order of the nodes reachable from root.
  const order: Node[] = [];
  const seen = new Set<Node>();
  if (root.node) {
    const stack: [Node, number][] = [[root.node, 0]];
    seen.add(root.node);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [node, i] = top;
      if (i < node.inputs.length) {
        top[1]++;
        const next = node.inputs[i].node;
        if (next && !seen.has(next)) {
          seen.add(next);
          stack.push([next, 0]);
        }
      } else {
        stack.pop();
        order.push(node);
      }
    }
  }
  for (const n of order) {
    if (n.released) {
      throw rangeError("run backward", `the graph through ${n.name} was already freed by a backward`);
    }
  }
  const grads = new Map<Node, Tensor>();
  // A gradient that shares memory with another tensor is copied before anything accumulates into it.
  const own = (g: Tensor): Tensor => {
    if (g.storage.refs <= 1) return g;
    const c = k.clone(g);
    g.dispose();
    return c;
  };
  const accumulateLeaf = (leaf: Tensor, g: Tensor): void => {
    if (leaf.grad === null) {
      leaf.grad = own(g).keep();
    } else {
      k.addInto(leaf.grad, g);
      g.dispose();
    }
  };
  const seed = grad !== undefined ? k.clone(grad) : k.onesLike(root);
  if (!root.node) {
    accumulateLeaf(root, seed);
  } else {
    grads.set(root.node, seed);
  }
  for (let idx = order.length - 1; idx >= 0; idx--) {
    const node = order[idx];
    const g = grads.get(node);
    grads.delete(node);
    if (g === undefined) {
      node.release();
      continue;
    }
    const inGrads = node.backward(g);
    g.dispose();
    node.release();
    for (let i = 0; i < node.inputs.length; i++) {
      const gi = inGrads[i];
      const input = node.inputs[i];
      if (!gi) continue;
      if (!input.requiresGrad) {
        gi.dispose();
        continue;
      }
      if (input.node) {
        // A node's gradient may share memory (a view another input also got): backward functions only
        // read theirs, so it is copied only if something is added to it, and then out of place.
        const prev = grads.get(input.node);
        if (prev === undefined) grads.set(input.node, gi);
        else if (prev.storage.refs > 1) {
          grads.set(input.node, k.add(prev, gi));
          prev.dispose();
          gi.dispose();
        } else {
          k.addInto(prev, gi);
          gi.dispose();
        }
      } else {
        accumulateLeaf(input, gi);
      }
    }
  }
  await root.rt.sync();
}
