/**
 * Test buffers in a runtime's heap, each surrounded by guard bytes that a kernel must not touch.
 * @module
 */
import type { Runtime } from "../../runtime/mod.ts";

const GUARD = 256; // bytes on each side
const GUARD_BYTE = 0xa5;

/** A Float32 buffer placed in a runtime's heap with guard bytes around it. */
export class Buf {
  readonly ptr: number;
  readonly length: number;
  readonly #rt: Runtime;
  readonly #base: number;

  constructor(rt: Runtime, data: ArrayLike<number> | number) {
    this.#rt = rt;
    this.length = typeof data === "number" ? data : data.length;
    const bytes = this.length * 4;
    this.#base = rt.heap.alloc(bytes + 2 * GUARD);
    this.ptr = this.#base + GUARD;
    const u8 = rt.heap.u8;
    u8.fill(GUARD_BYTE, this.#base, this.ptr);
    u8.fill(GUARD_BYTE, this.ptr + bytes, this.ptr + bytes + GUARD);
    if (typeof data !== "number") rt.heap.f32.set(data, this.ptr >> 2);
    else rt.heap.f32.fill(Number.NaN, this.ptr >> 2, (this.ptr >> 2) + this.length);
  }

  /** A copy of the contents. */
  read(): Float32Array {
    return this.#rt.heap.f32.slice(this.ptr >> 2, (this.ptr >> 2) + this.length);
  }

  /** Overwrites the contents. */
  write(data: ArrayLike<number>): void {
    this.#rt.heap.f32.set(data, this.ptr >> 2);
  }

  /** Throws if a guard byte changed (a kernel wrote outside the buffer). */
  checkGuards(label = "buffer"): void {
    const u8 = this.#rt.heap.u8;
    const end = this.ptr + this.length * 4;
    for (let i = this.#base; i < this.ptr; i++) {
      if (u8[i] !== GUARD_BYTE) throw new Error(`${label}: write ${this.ptr - i} bytes before the buffer`);
    }
    for (let i = end; i < end + GUARD; i++) {
      if (u8[i] !== GUARD_BYTE) {
        throw new Error(`${label}: write ${i - end} bytes past the end of the buffer`);
      }
    }
  }

  /** Checks guards, then returns the memory to the heap. */
  free(label?: string): void {
    this.checkGuards(label);
    this.#rt.heap.free(this.#base);
  }
}
