/**
 * Tensors: NCHW float32 (plus int32 labels and int64 stored integers) living in the runtime's Wasm
 * memory. Ops return tensors at once and queue their kernels on the runtime in program order; reading
 * (`toArray`) waits for the queue. Memory is released deterministically with `dispose()` or `tidy()`,
 * with garbage collection as a safety net.
 * @module
 */
import { type Runtime, runtime } from "../runtime/mod.ts";
import { rangeError, typeError } from "./errors.ts";
import type { Node } from "./autograd.ts";

/** Element types: float32 for math, int32 for labels and indices, int64 for stored counters. */
export type DType = "float32" | "int32" | "int64";

/** Data accepted by {@linkcode tensor}. */
export type TensorData = Float32Array | Int32Array | BigInt64Array | ArrayLike<number>;

// Frees storage of tensors dropped without dispose(). Runtimes without FinalizationRegistry (workerd)
// rely on dispose()/tidy() alone.
const finalizer: Pick<FinalizationRegistry<Storage>, "register" | "unregister"> =
  typeof FinalizationRegistry === "function"
    ? new FinalizationRegistry<Storage>((s) => s.release())
    : { register: () => {}, unregister: () => false };

/** A block of memory shared by a tensor and its views (reshape), freed when the last one lets go. */
export class Storage {
  readonly rt: Runtime;
  readonly ptr: number;
  readonly bytes: number;
  /** Host-side data for int64 tensors (kept out of the Wasm memory). */
  readonly host: BigInt64Array | undefined;
  #refs = 1;

  constructor(rt: Runtime, bytes: number, host?: BigInt64Array) {
    this.rt = rt;
    this.bytes = bytes;
    this.host = host;
    this.ptr = host ? 0 : rt.heap.alloc(bytes);
  }

  /** Number of live holders. */
  get refs(): number {
    return this.#refs;
  }

  retain(): void {
    if (this.#refs <= 0) throw rangeError("use tensor", "its memory was already released");
    this.#refs++;
  }

  release(): void {
    if (this.#refs <= 0) return;
    if (--this.#refs === 0 && this.ptr !== 0) {
      const { heap } = this.rt;
      const ptr = this.ptr;
      // Free now when nothing queued can still use the memory; otherwise after the queued work.
      if (this.rt.idle) heap.free(ptr);
      else void this.rt.enqueue(() => heap.free(ptr));
    }
  }
}

// Scopes of tidy(): tensors created inside are disposed at the end unless kept or returned.
const scopes: Set<Tensor>[] = [];

function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Checks a shape: non-negative integers. Names the argument on failure. */
export function checkShape(shape: readonly number[], action = "create tensor"): void {
  if (!Array.isArray(shape)) {
    throw typeError(action, `shape must be an array of integers, got ${String(shape)}`);
  }
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw rangeError(action, `shape [${shape.join(", ")}] has an entry that is not a non-negative integer`);
    }
  }
}

/**
 * An n-dimensional array in the runtime's memory.
 *
 * @example
 * ```ts
 * import { init } from "../runtime/mod.ts";
 * import { tensor } from "./tensor.ts";
 * await init({ threads: 1 });
 * const t = tensor([1, 2, 3, 4], [2, 2]);
 * console.log(t.shape, await t.toArray());
 * t.dispose();
 * ```
 */
export class Tensor {
  /** Dimensions, outermost first (NCHW for images). */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
  /** Whether gradients flow to this tensor. */
  requiresGrad: boolean;
  /** Accumulated gradient (leaf tensors that require grad), or null. */
  grad: Tensor | null = null;
  /** @internal The op that produced this tensor, for autograd. */
  node: Node | null = null;
  /** @internal Settles when the kernels writing this tensor have run (rejects if one failed). */
  ready: Promise<void>;
  /** @internal */
  readonly storage: Storage;
  #disposed = false;

  /** @internal Use {@linkcode tensor}, {@linkcode zeros} or an op instead. */
  constructor(storage: Storage, shape: readonly number[], dtype: DType, ready?: Promise<void>) {
    this.storage = storage;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.size = sizeOf(shape);
    this.requiresGrad = false;
    this.ready = ready ?? Promise.resolve();
    this.ready.catch(() => {}); // failures surface where the tensor is read
    finalizer.register(this, storage, this);
    scopes[scopes.length - 1]?.add(this);
  }

  /** The runtime whose memory holds this tensor. */
  get rt(): Runtime {
    return this.storage.rt;
  }

  /** Byte address of the first element (throws once disposed). */
  get ptr(): number {
    if (this.#disposed) throw rangeError("use tensor", "it was disposed");
    return this.storage.ptr;
  }

  /** True after {@linkcode Tensor.dispose}. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }

  /** A copy of the data, after every queued kernel writing it has run. */
  async toArray(): Promise<Float32Array> {
    if (this.dtype !== "float32") throw typeError("read tensor as Float32Array", `dtype is ${this.dtype}`);
    return (await this.data()) as Float32Array;
  }

  /** A copy of the data in its own type (Float32Array, Int32Array or BigInt64Array). */
  async data(): Promise<Float32Array | Int32Array | BigInt64Array> {
    const ptr = this.ptr;
    await this.ready;
    if (this.storage.host) return this.storage.host.slice(0, this.size);
    return await this.rt.enqueue(() => {
      const heap = this.rt.heap;
      return this.dtype === "int32"
        ? heap.i32.slice(ptr >> 2, (ptr >> 2) + this.size)
        : heap.f32.slice(ptr >> 2, (ptr >> 2) + this.size);
    });
  }

  /**
   * A copy of the data, read now. Works when nothing is queued on the runtime (e.g. after awaiting a
   * result or `opt.step()`); otherwise throws, because the memory may not be final yet.
   */
  dataSync(): Float32Array | Int32Array | BigInt64Array {
    if (this.storage.host) return this.storage.host.slice(0, this.size);
    if (!this.rt.idle) {
      throw rangeError(
        "read tensor synchronously",
        "kernels are still queued on its runtime; await a result first (or use `await t.data()`)",
      );
    }
    const heap = this.rt.heap, ptr = this.ptr;
    return this.dtype === "int32"
      ? heap.i32.slice(ptr >> 2, (ptr >> 2) + this.size)
      : heap.f32.slice(ptr >> 2, (ptr >> 2) + this.size);
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw rangeError("read item", `tensor has ${this.size} elements, not 1`);
    const d = await this.data();
    return Number(d[0]);
  }

  /** Overwrites the contents: now when the runtime is idle, else queued after pending kernels. */
  write(data: TensorData): Promise<void> {
    if (data.length !== this.size) {
      throw rangeError("write tensor", `${data.length} values given for shape [${this.shape.join(", ")}]`);
    }
    const ptr = this.ptr;
    if (this.storage.host) {
      const host = this.storage.host;
      for (let i = 0; i < this.size; i++) host[i] = BigInt((data as ArrayLike<number | bigint>)[i]);
      return Promise.resolve();
    }
    if (this.rt.idle) {
      // Nothing queued can touch this memory, so writing now keeps program order.
      if (this.dtype === "int32") this.rt.heap.i32.set(data as ArrayLike<number>, ptr >> 2);
      else this.rt.heap.f32.set(data as ArrayLike<number>, ptr >> 2);
      return Promise.resolve();
    }
    const copy = this.dtype === "int32"
      ? Int32Array.from(data as ArrayLike<number>)
      : Float32Array.from(data as ArrayLike<number>);
    return this.rt.enqueue(() => {
      const heap = this.rt.heap;
      if (copy instanceof Int32Array) heap.i32.set(copy, ptr >> 2);
      else heap.f32.set(copy, ptr >> 2);
    });
  }

  /** Releases the memory (queued after pending kernels that use it). Safe to call twice. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    finalizer.unregister(this);
    for (const s of scopes) s.delete(this);
    this.storage.release();
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
  }

  /** @internal Removes this tensor from enclosing tidy() scopes. */
  keep(): this {
    for (const s of scopes) s.delete(this);
    return this;
  }

  /** A view with another shape and the same data (sizes must match; one entry may be -1). */
  reshape(shape: readonly number[]): Tensor {
    return OPS.reshape(this, shape);
  }

  /** Flattens dimensions from `startDim` on (default 1, like torch.nn.Flatten). */
  flatten(startDim = 1): Tensor {
    return OPS.reshape(this, [...this.shape.slice(0, startDim), -1]);
  }

  /** Softmax over `dim` (the last dimension of a 2-D tensor). */
  softmax(dim: number): Tensor {
    return OPS.softmax(this, dim);
  }

  /** Log-softmax over `dim` (the last dimension of a 2-D tensor). */
  logSoftmax(dim: number): Tensor {
    return OPS.logSoftmax(this, dim);
  }

  /** max(x, 0). */
  relu(): Tensor {
    return OPS.relu(this);
  }

  /** Element-wise sum with another tensor of the same shape. */
  add(other: Tensor): Tensor {
    return OPS.add(this, other);
  }

  /** Accumulates gradients of this (scalar) tensor into every leaf that requires them. */
  backward(grad?: Tensor): Promise<void> {
    return OPS.backward(this, grad);
  }

  /** A short description. */
  toString(): string {
    return `Tensor(${this.dtype}, [${this.shape.join(", ")}])`;
  }
}

/** @internal Ops used by Tensor's methods, registered by ops/mod.ts (breaks the import cycle). */
export const OPS: {
  reshape: (x: Tensor, shape: readonly number[]) => Tensor;
  softmax: (x: Tensor, dim: number) => Tensor;
  logSoftmax: (x: Tensor, dim: number) => Tensor;
  relu: (x: Tensor) => Tensor;
  add: (a: Tensor, b: Tensor) => Tensor;
  backward: (t: Tensor, grad?: Tensor) => Promise<void>;
} = {
  reshape: unregistered,
  softmax: unregistered,
  logSoftmax: unregistered,
  relu: unregistered,
  add: unregistered,
  backward: unregistered,
};

function unregistered(): never {
  throw rangeError("run op", "ops are not registered (import the tensor tier through tensor/mod.ts)");
}

/** @internal A new tensor with fresh memory on `rt`. */
export function empty(rt: Runtime, shape: readonly number[], dtype: DType = "float32"): Tensor {
  checkShape(shape);
  const n = sizeOf(shape);
  const storage = dtype === "int64" ? new Storage(rt, n * 8, new BigInt64Array(n)) : new Storage(rt, n * 4);
  return new Tensor(storage, shape, dtype);
}

/**
 * Creates a tensor from data (copied). Float data becomes float32 unless `dtype` says otherwise.
 * `checkFinite: true` rejects NaN and infinities (naming the first one) instead of computing with them.
 *
 * @example
 * ```ts
 * import { init } from "../runtime/mod.ts";
 * import { tensor } from "./tensor.ts";
 * await init({ threads: 1 });
 * const x = tensor(new Float32Array(2 * 3 * 4 * 4), [2, 3, 4, 4]);
 * console.log(x.shape);
 * ```
 */
export function tensor(
  data: TensorData,
  shape?: readonly number[],
  options: { dtype?: DType; rt?: Runtime; checkFinite?: boolean } = {},
): Tensor {
  const s = shape ?? [data.length];
  if (options.checkFinite) {
    for (let i = 0; i < data.length; i++) {
      const v = Number((data as ArrayLike<number | bigint>)[i]);
      if (!Number.isFinite(v)) throw rangeError("create tensor", `value ${i} is ${v} (checkFinite)`);
    }
  }
  checkShape(s);
  const dtype: DType = options.dtype ??
    (data instanceof Int32Array ? "int32" : data instanceof BigInt64Array ? "int64" : "float32");
  if (sizeOf(s) !== data.length) {
    throw rangeError(
      "create tensor",
      `${data.length} values do not fill shape [${s.join(", ")}] (${sizeOf(s)} elements)`,
    );
  }
  const t = empty(options.rt ?? runtime(), s, dtype);
  if (dtype === "int64") {
    const host = t.storage.host!;
    for (let i = 0; i < data.length; i++) host[i] = BigInt((data as ArrayLike<number | bigint>)[i]);
  } else if (dtype === "int32") {
    t.rt.heap.i32.set(
      data instanceof Int32Array ? data : Int32Array.from(data as ArrayLike<number>),
      t.ptr >> 2,
    );
  } else {
    t.rt.heap.f32.set(
      data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>),
      t.ptr >> 2,
    );
  }
  return t;
}

/** A tensor of zeros. */
export function zeros(shape: readonly number[], options: { dtype?: DType; rt?: Runtime } = {}): Tensor {
  const t = empty(options.rt ?? runtime(), shape, options.dtype ?? "float32");
  if (!t.storage.host) t.rt.heap.u8.fill(0, t.ptr, t.ptr + t.size * 4);
  return t;
}

/** A tensor filled with `value`. */
export function full(shape: readonly number[], value: number, options: { rt?: Runtime } = {}): Tensor {
  const t = empty(options.rt ?? runtime(), shape, "float32");
  t.rt.heap.f32.fill(value, t.ptr >> 2, (t.ptr >> 2) + t.size);
  return t;
}

/** @internal A tensor sharing `src`'s memory with another shape. */
export function view(src: Tensor, shape: readonly number[]): Tensor {
  src.storage.retain();
  return new Tensor(src.storage, shape, src.dtype, src.ready);
}

/**
 * Runs `fn` and disposes every tensor it created except those it returns (in a value, array or plain
 * object) or kept with `keep()`. Works with async functions; do not interleave two tidy() calls.
 *
 * @example
 * ```ts
 * import { init } from "../runtime/mod.ts";
 * import { tensor, tidy } from "./tensor.ts";
 * await init({ threads: 1 });
 * const y = await tidy(() => tensor([1, 2, 3]).reshape([3, 1]));
 * console.log(y.shape);
 * ```
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  const finish = (result: Awaited<T>): Awaited<T> => {
    const i = scopes.lastIndexOf(scope);
    if (i >= 0) scopes.splice(i, 1);
    const keepers = new Set<Tensor>();
    collect(result, keepers, 0);
    for (const t of scope) if (!keepers.has(t)) t.dispose();
    // returned tensors belong to the enclosing scope now
    for (const t of keepers) if (scope.has(t)) scopes[scopes.length - 1]?.add(t);
    return result;
  };
  let result: T;
  try {
    result = fn();
  } catch (err) {
    finish(undefined as Awaited<T>);
    throw err;
  }
  if (result instanceof Promise) {
    return result.then(finish, (err) => {
      finish(undefined as Awaited<T>);
      throw err;
    }) as T;
  }
  return finish(result as Awaited<T>);
}

function collect(v: unknown, out: Set<Tensor>, depth: number): void {
  if (depth > 3 || v === null || typeof v !== "object") return;
  if (v instanceof Tensor) {
    out.add(v);
    return;
  }
  if (Array.isArray(v)) { for (const x of v) collect(x, out, depth + 1); }
  else if (v instanceof Map) { for (const x of v.values()) collect(x, out, depth + 1); }
  else if (Object.getPrototypeOf(v) === Object.prototype) {
    for (const x of Object.values(v)) collect(x, out, depth + 1);
  }
}
