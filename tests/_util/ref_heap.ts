/**
 * A scratch heap for calling reference kernels directly (gradient checks): put arrays in, run, read
 * back, reset.
 * @module
 */
import { Heap } from "../../runtime/mod.ts";

class ScratchHeap {
  readonly heap = new Heap({ capBytes: 1 << 30 });
  #ptrs: number[] = [];

  /** Copies `data` into the heap and returns its byte address. */
  put(data: ArrayLike<number>): number {
    const p = this.heap.alloc(data.length * 4);
    this.heap.f32.set(data, p >> 2);
    this.#ptrs.push(p);
    return p;
  }

  /** A zero-filled buffer of `n` floats. */
  out(n: number): number {
    const p = this.heap.alloc(n * 4);
    this.heap.f32.fill(0, p >> 2, (p >> 2) + n);
    this.#ptrs.push(p);
    return p;
  }

  /** A copy of `n` floats at `ptr`. */
  get(ptr: number, n: number): Float32Array {
    return this.heap.f32.slice(ptr >> 2, (ptr >> 2) + n);
  }

  /** Frees everything allocated since the last reset. */
  reset(): void {
    for (const p of this.#ptrs) this.heap.free(p);
    this.#ptrs = [];
  }
}

/** The shared scratch heap of a test file. */
export const HEAP: ScratchHeap = new ScratchHeap();
