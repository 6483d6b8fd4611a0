/**
 * A pool of workers that share the kernel module and one shared memory. A call splits the work
 * units [0, units) into one slice per thread; the calling thread runs slice 0 itself. Coordination
 * goes through a control block in the shared memory (Atomics), not messages.
 * @module
 */
import { CONTROL_OFFSET } from "./heap.ts";

// Control block layout (Int32 indices relative to CONTROL_OFFSET / 4).
const SEQ = 0; // bumped for every call; workers wait on it
const PENDING = 1; // workers still running the current call
const KERNEL = 2; // index into the sorted export list
const NARGS = 3;
const UNITS = 4;
const NTHREADS = 5; // threads taking part in this call (including the caller)
const ERROR = 6; // 1 + index of a worker that threw, or 0
const SHUTDOWN = 7;
const SPIN_NS = 8; // how long threads spin before sleeping, in nanoseconds (shared with the workers)
/** Maximum kernel arguments (before start, end, scratch). */
export const MAX_ARGS = 24;
const ARGS_BYTE = 64; // Float64 args, relative to CONTROL_OFFSET
const SCRATCH_BYTE = ARGS_BYTE + MAX_ARGS * 8; // Float64 per-thread scratch pointers
/** Most threads a pool can have. */
export const MAX_THREADS = 64;
/** Bytes the control block occupies from CONTROL_OFFSET. */
export const CONTROL_BYTES = SCRATCH_BYTE + MAX_THREADS * 8;

// The worker's whole program. It is stringified into a blob: URL, so it must be self-contained.
function workerMain(): void {
  // deno-lint-ignore no-explicit-any
  const self_ = globalThis as any;
  self_.onmessage = async (e: MessageEvent) => {
    const { module, memory, index, names, control } = e.data;
    const instance = await WebAssembly.instantiate(module as WebAssembly.Module, { env: { memory } });
    // deno-lint-ignore no-explicit-any
    const fns = names.map((n: string) => (instance.exports as any)[n]);
    const ctl = new Int32Array(memory.buffer, control, 16);
    const args = new Float64Array(memory.buffer, control + 64, 24);
    const scratch = new Float64Array(memory.buffer, control + 64 + 24 * 8, 64);
    // Read the call counter before announcing readiness: the pool may start a call the moment it
    // hears "ready", and a counter read afterwards would miss that call (the worker would hang).
    let seen = Atomics.load(ctl, 0);
    self_.postMessage("ready");
    for (;;) {
      // Spin briefly before sleeping: kernels of one op come back to back, and waking from
      // Atomics.wait costs 10-60 us here, more than many kernel slices take.
      const until = performance.now() + Atomics.load(ctl, 8) / 1e6;
      for (let i = 1; Atomics.load(ctl, 0) === seen; i++) {
        if ((i & 255) === 0 && performance.now() > until) {
          Atomics.wait(ctl, 0, seen);
          break;
        }
      }
      seen = Atomics.load(ctl, 0);
      if (Atomics.load(ctl, 7) !== 0) break;
      const n = ctl[5];
      if (index >= n) continue;
      const units = ctl[4];
      const start = Math.floor((units * index) / n);
      const end = Math.floor((units * (index + 1)) / n);
      try {
        const a = Array.from(args.subarray(0, ctl[3]));
        fns[ctl[2]](...a, start, end, scratch[index]);
      } catch (err) {
        Atomics.store(ctl, 6, index + 1);
        self_.postMessage(String(err));
      }
      if (Atomics.sub(ctl, 1, 1) === 1) Atomics.notify(ctl, 1);
    }
    self_.close();
  };
}

/** What a pool needs to start. */
export interface PoolInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  threads: number;
  /** Microseconds threads spin waiting for work or for each other before sleeping (default 200). */
  spinMicros?: number;
}

/**
 * Worker threads plus the calling thread, all running the same kernel module on one shared memory.
 * Create with {@linkcode WorkerPool.create}; `close()` ends the workers.
 */
export class WorkerPool {
  readonly threads: number;
  #workers: Worker[];
  #ctl: Int32Array;
  #args: Float64Array;
  #scratch: Float64Array;
  #names: string[];
  #fns: ((...a: number[]) => void)[];
  #canBlock: boolean;
  #lastError = "";
  /** Why the pool cannot be used any more (a worker died), or undefined. */
  #dead: string | undefined;

  private constructor(
    threads: number,
    workers: Worker[],
    memory: WebAssembly.Memory,
    names: string[],
    fns: ((...a: number[]) => void)[],
  ) {
    this.threads = threads;
    this.#workers = workers;
    this.#names = names;
    this.#fns = fns;
    this.#ctl = new Int32Array(memory.buffer, CONTROL_OFFSET, 16);
    this.#args = new Float64Array(memory.buffer, CONTROL_OFFSET + ARGS_BYTE, MAX_ARGS);
    this.#scratch = new Float64Array(memory.buffer, CONTROL_OFFSET + SCRATCH_BYTE, MAX_THREADS);
    this.#canBlock = canBlock(this.#ctl);
    workers.forEach((w, i) => {
      w.onmessage = (e) => {
        if (typeof e.data === "string" && e.data !== "ready") this.#lastError = e.data;
      };
      w.onerror = (e) => {
        e.preventDefault();
        this.#dead ??= `worker ${i + 1} stopped: ${e.message}`;
      };
    });
  }

  /** Starts `threads - 1` workers and waits until each has instantiated the module. */
  static async create(init: PoolInit, instance: WebAssembly.Instance): Promise<WorkerPool> {
    const names = kernelNames(init.module);
    // deno-lint-ignore no-explicit-any
    const fns = names.map((n) => (instance.exports as any)[n]);
    const ctl = new Int32Array(init.memory.buffer, CONTROL_OFFSET, 16);
    Atomics.store(ctl, SHUTDOWN, 0);
    Atomics.store(ctl, SPIN_NS, Math.round((init.spinMicros ?? 200) * 1000));
    const src = `(${workerMain.toString()})();`;
    const url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
    const workers: Worker[] = [];
    const ready: Promise<void>[] = [];
    try {
      for (let i = 1; i < init.threads; i++) {
        const w = new Worker(url, { type: "module" });
        workers.push(w);
        ready.push(
          new Promise((resolve, reject) => {
            w.onmessage = (e) => e.data === "ready" ? resolve() : reject(new Error(String(e.data)));
            w.onerror = (e) => {
              e.preventDefault();
              reject(new Error(`Cannot start worker ${i}: ${e.message}`));
            };
          }),
        );
        w.postMessage({ module: init.module, memory: init.memory, index: i, names, control: CONTROL_OFFSET });
      }
      await Promise.all(ready);
    } catch (err) {
      for (const w of workers) w.terminate();
      throw err;
    } finally {
      URL.revokeObjectURL(url);
    }
    return new WorkerPool(init.threads, workers, init.memory, names, fns);
  }

  /** Sets how long (microseconds, 0..2000) threads spin for work before sleeping; returns the old value. */
  setSpinMicros(us: number): number {
    const old = Atomics.load(this.#ctl, SPIN_NS) / 1000;
    Atomics.store(this.#ctl, SPIN_NS, Math.round(Math.max(0, Math.min(2000, us)) * 1000));
    return old;
  }

  /** Sets the scratch pointer handed to thread `t` as the kernels' last argument. */
  setScratch(t: number, ptr: number): void {
    this.#scratch[t] = ptr;
  }

  /**
   * Runs `kernel(...args, start, end, scratch)` over [0, units) on `n` threads (1 <= n <= threads).
   * Resolves when every slice is done; rejects if any slice threw.
   */
  async run(kernel: string, args: readonly number[], units: number, n: number): Promise<void> {
    if (this.#dead) throw new Error(`Cannot run kernel ${kernel}: the worker pool is broken (${this.#dead})`);
    const k = this.#names.indexOf(kernel);
    if (k < 0) throw new Error(`Cannot run kernel: '${kernel}' is not exported by the module`);
    const ctl = this.#ctl;
    if (n <= 1) {
      this.#fns[k](...args, 0, units, this.#scratch[0]);
      return;
    }
    ctl[KERNEL] = k;
    ctl[NARGS] = args.length;
    ctl[UNITS] = units;
    ctl[NTHREADS] = n;
    ctl[ERROR] = 0;
    this.#args.set(args);
    Atomics.store(ctl, PENDING, n - 1);
    Atomics.add(ctl, SEQ, 1);
    Atomics.notify(ctl, SEQ);
    let mainError: unknown = undefined;
    try {
      this.#fns[k](...args, 0, Math.floor(units / n), this.#scratch[0]);
    } catch (err) {
      mainError = err;
    }
    // Wait for the workers. Blocking waits are short so that, when a call runs long, the event loop
    // gets a turn to deliver a worker's error event: a dead worker then fails the call instead of
    // hanging it.
    // Spin first (a slice usually ends within microseconds of ours), then block in short waits.
    const spinUntil = performance.now() + Atomics.load(ctl, SPIN_NS) / 1e6;
    while (Atomics.load(ctl, PENDING) !== 0 && performance.now() < spinUntil) {
      for (let i = 0; i < 64; i++) if (Atomics.load(ctl, PENDING) === 0) break;
    }
    for (;;) {
      const left = Atomics.load(ctl, PENDING);
      if (left === 0) break;
      if (this.#canBlock) {
        Atomics.wait(ctl, PENDING, left, 25);
        if (Atomics.load(ctl, PENDING) !== 0) await new Promise((r) => setTimeout(r, 0));
      } else await waitAsync(ctl, PENDING, left);
      if (this.#dead) {
        throw new Error(`Cannot run kernel ${kernel}: ${this.#dead}; the call did not complete`);
      }
    }
    if (mainError !== undefined) throw mainError;
    const bad = Atomics.load(ctl, ERROR);
    if (bad !== 0) {
      await new Promise((r) => setTimeout(r, 0)); // let the worker's message arrive
      throw new Error(`Cannot run kernel ${kernel}: worker ${bad - 1} failed: ${this.#lastError}`);
    }
  }

  /** Why the pool is unusable (a worker died), or undefined while it is healthy. */
  get dead(): string | undefined {
    return this.#dead;
  }

  /** Test hook: terminates worker `i` (1-based, as in errors) as a crash would. */
  terminateWorker(i: number, reason = "terminated"): void {
    this.#workers[i - 1]?.terminate();
    this.#dead ??= `worker ${i} stopped: ${reason}`;
  }

  /** Ends the workers. The pool cannot be used afterwards. */
  close(): void {
    Atomics.store(this.#ctl, SHUTDOWN, 1);
    Atomics.add(this.#ctl, SEQ, 1);
    Atomics.notify(this.#ctl, SEQ);
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
  }
}

/** Function exports of a kernel module, sorted: the index space shared with the workers. */
export function kernelNames(module: WebAssembly.Module): string[] {
  return WebAssembly.Module.exports(module).filter((e) => e.kind === "function").map((e) => e.name).sort();
}

function canBlock(ctl: Int32Array): boolean {
  try {
    Atomics.wait(ctl, SHUTDOWN, 12345, 0); // returns "not-equal" at once where blocking is allowed
    return true;
  } catch {
    return false;
  }
}

async function waitAsync(ctl: Int32Array, index: number, value: number): Promise<void> {
  // deno-lint-ignore no-explicit-any
  const wa = (Atomics as any).waitAsync;
  if (typeof wa === "function") {
    const r = wa(ctl, index, value, 1000);
    if (r.async) await r.value;
  } else {
    await new Promise((r) => setTimeout(r, 0));
  }
}
