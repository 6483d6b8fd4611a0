/**
 * One `WebAssembly.Memory` owned by JavaScript, with a first-fit allocator over it. Blocks are 64-byte
 * aligned; addresses below {@linkcode HEAP_BASE} are reserved (0 is null, the rest holds the thread
 * pool's control block). Views are refreshed after the memory grows.
 * @module
 */
import { rangeError } from "./errors.ts";

/** Bytes in a Wasm page. */
export const PAGE = 65536;
/** First address the allocator hands out; below it: null and the pool's control block. */
export const HEAP_BASE = 4096;
/** Byte offset of the thread pool's control block. */
export const CONTROL_OFFSET = 64;
/** The largest memory wasm32 can address: 65536 pages. */
export const MAX_BYTES = 65536 * PAGE;
const ALIGN = 64;

/** Options of {@linkcode Heap}. */
export interface HeapOptions {
  /** Make the memory shareable with workers. */
  shared?: boolean;
  /** Refuse allocations that would grow the memory past this many bytes (default and maximum 4 GiB). */
  capBytes?: number;
  /** Bytes to reserve up front (default 16 MiB). */
  initialBytes?: number;
}

/**
 * A Wasm memory plus its allocator.
 *
 * @example
 * ```ts
 * import { Heap } from "./heap.ts";
 * const heap = new Heap({ capBytes: 1 << 24 });
 * const p = heap.alloc(16);
 * heap.f32.set([1, 2, 3, 4], p >> 2);
 * heap.free(p);
 * ```
 */
export class Heap {
  /** The underlying memory, passed to every kernel instance. */
  readonly memory: WebAssembly.Memory;
  /** The allocation cap in bytes. */
  readonly capBytes: number;
  #top = HEAP_BASE;
  #inUse = 0;
  #used = new Map<number, number>();
  // Free blocks, sorted by address.
  #freeAddr: number[] = [];
  #freeSize: number[] = [];
  #bufLen = -1;
  #f32!: Float32Array;
  #i32!: Int32Array;
  #u8!: Uint8Array;

  /** A heap with its own Wasm memory (shared when `options.shared`), capped at `options.capBytes`. */
  constructor(options: HeapOptions = {}) {
    const cap = options.capBytes ?? MAX_BYTES;
    if (!(cap >= HEAP_BASE + PAGE && cap <= MAX_BYTES)) {
      throw rangeError("create heap", `capBytes must be in [${HEAP_BASE + PAGE}, ${MAX_BYTES}], got ${cap}`);
    }
    this.capBytes = cap;
    const maxPages = Math.floor(cap / PAGE);
    const initial = Math.min(maxPages, Math.ceil((options.initialBytes ?? (1 << 24)) / PAGE));
    this.memory = new WebAssembly.Memory({ initial, maximum: maxPages, shared: options.shared ?? false });
    this.#refresh();
  }

  #refresh(): void {
    const buf = this.memory.buffer;
    if (buf.byteLength !== this.#bufLen) {
      this.#bufLen = buf.byteLength;
      this.#f32 = new Float32Array(buf);
      this.#i32 = new Int32Array(buf);
      this.#u8 = new Uint8Array(buf);
    }
  }

  /** A Float32Array over the whole memory (index = byte address / 4). */
  get f32(): Float32Array {
    this.#refresh();
    return this.#f32;
  }
  /** An Int32Array over the whole memory (index = byte address / 4). */
  get i32(): Int32Array {
    this.#refresh();
    return this.#i32;
  }
  /** A Uint8Array over the whole memory. */
  get u8(): Uint8Array {
    this.#refresh();
    return this.#u8;
  }

  /** Bytes currently allocated (rounded up to the alignment). */
  get bytesInUse(): number {
    return this.#inUse;
  }
  /** Current size of the memory in bytes. */
  get bytesReserved(): number {
    return this.memory.buffer.byteLength;
  }

  /** Allocates `bytes` (64-byte aligned) and returns the address. Throws a `RangeError` past the cap. */
  alloc(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 0) {
      throw rangeError("allocate", `byte count must be a non-negative integer, got ${bytes}`);
    }
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    for (let i = 0; i < this.#freeAddr.length; i++) {
      if (this.#freeSize[i] >= size) {
        const addr = this.#freeAddr[i];
        if (this.#freeSize[i] === size) {
          this.#freeAddr.splice(i, 1);
          this.#freeSize.splice(i, 1);
        } else {
          this.#freeAddr[i] += size;
          this.#freeSize[i] -= size;
        }
        return this.#take(addr, size);
      }
    }
    const addr = this.#top;
    const end = addr + size;
    if (end > this.capBytes) {
      throw rangeError(
        "allocate memory",
        `${bytes} bytes requested, ${this.#inUse} in use, cap is ${this.capBytes} bytes`,
      );
    }
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const want = Math.min(
        Math.floor(this.capBytes / PAGE),
        Math.max(Math.ceil(end / PAGE), Math.ceil(have * 1.5 / PAGE)),
      );
      this.memory.grow(want - have / PAGE);
    }
    this.#top = end;
    return this.#take(addr, size);
  }

  #take(addr: number, size: number): number {
    this.#used.set(addr, size);
    this.#inUse += size;
    return addr;
  }

  /** Returns a block to the allocator. Freeing 0 is a no-op; an unknown address throws. */
  free(addr: number): void {
    if (addr === 0) return;
    const size = this.#used.get(addr);
    if (size === undefined) throw rangeError("free memory", `address ${addr} is not an allocated block`);
    this.#used.delete(addr);
    this.#inUse -= size;
    // Insert sorted, then merge with neighbours.
    let lo = 0, hi = this.#freeAddr.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#freeAddr[mid] < addr) lo = mid + 1;
      else hi = mid;
    }
    this.#freeAddr.splice(lo, 0, addr);
    this.#freeSize.splice(lo, 0, size);
    if (lo + 1 < this.#freeAddr.length && addr + this.#freeSize[lo] === this.#freeAddr[lo + 1]) {
      this.#freeSize[lo] += this.#freeSize[lo + 1];
      this.#freeAddr.splice(lo + 1, 1);
      this.#freeSize.splice(lo + 1, 1);
    }
    if (lo > 0 && this.#freeAddr[lo - 1] + this.#freeSize[lo - 1] === addr) {
      this.#freeSize[lo - 1] += this.#freeSize[lo];
      this.#freeAddr.splice(lo, 1);
      this.#freeSize.splice(lo, 1);
      lo--;
    }
    // A free block at the top returns to the bump pointer.
    if (lo === this.#freeAddr.length - 1 && this.#freeAddr[lo] + this.#freeSize[lo] === this.#top) {
      this.#top = this.#freeAddr[lo];
      this.#freeAddr.pop();
      this.#freeSize.pop();
    }
  }

  /** Size in bytes of the allocated block at `addr`, or undefined. */
  sizeOf(addr: number): number | undefined {
    return this.#used.get(addr);
  }
}
