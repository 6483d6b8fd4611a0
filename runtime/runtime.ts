/**
 * The runtime: one heap, the kernel module chosen for this host, and (where the host allows) a worker
 * pool. Backends: `"ref"` runs the TypeScript reference kernels, `"wasm"` one Wasm thread, `"wasm-mt"`
 * the Wasm kernels on a pool of workers sharing the memory.
 * @module
 */
import { rangeError, typeError } from "./errors.ts";
import { Heap } from "./heap.ts";
import { kernelNames, MAX_THREADS, WorkerPool } from "./pool.ts";
import { REF_KERNELS } from "./ref/mod.ts";

/**
 * Which kernels run the math. "meta" runs none: ops still check shapes and allocate, which is how
 * `summary()` walks a model without computing it.
 */
export type BackendKind = "ref" | "wasm" | "wasm-mt" | "meta";

/** A kernel module given by the host instead of the embedded bytes. */
export type ModuleSource = WebAssembly.Module | BufferSource | URL | Response | Promise<Response>;

/** Options of {@linkcode createRuntime}. */
export interface InitOptions {
  /** Threads to use including the calling one (default: the host's core count, at most 8). */
  threads?: number;
  /**
   * A kernel module to use instead of the embedded bytes: required on hosts that refuse to compile
   * Wasm from bytes (Cloudflare workerd). Give the variant matching the memory: a `cnnzoo_mt*.wasm`
   * module is used with threads, `cnnzoo_simd*.wasm` without.
   */
  module?: ModuleSource;
  /** Force a backend (default: "wasm-mt" when threads > 1 and possible, else "wasm"). */
  backend?: BackendKind;
  /** Memory cap in bytes (default 4 GiB, the wasm32 limit). */
  capBytes?: number;
  /** Minimum estimated cost (FLOPs or element operations) before a call is split across threads (default 5e4). */
  parallelMinCost?: number;
  /**
   * Microseconds the threads spin waiting for the next kernel (workers) or for each other (the caller)
   * before they sleep (default 200; 0 sleeps at once, saving power at the cost of 10-60 us per threaded
   * kernel call to wake up).
   */
  spinMicros?: number;
}

/** What {@linkcode createRuntime} found and chose. */
export interface InitReport {
  /** The kernels in use: reference TS, Wasm, Wasm with worker threads, or shape-only (meta). */
  backend: BackendKind;
  /** The host validates Wasm SIMD. */
  simd: boolean;
  /** The host validates relaxed SIMD (relaxed_madd). */
  relaxedSimd: boolean;
  /** Threads calls may use (1 = the calling thread only). */
  threads: number;
  /** The memory is a SharedArrayBuffer shared with workers. */
  sharedMemory: boolean;
  /** Why fewer threads (or the reference backend) than asked for are in use. */
  fallbackReason?: string;
}

/** How a call is split: work units, cost estimate, and scratch bytes each thread needs. */
export interface RunOptions {
  /** The kernel's work units: it is called on slices [start, end) of [0, units). */
  units: number;
  /** Estimated operations; small calls stay on one thread. Default: `units`. */
  cost?: number;
  /** Scratch bytes each thread needs (passed as the kernel's last argument). */
  scratchBytes?: number;
}

function decodeBase64(b64: string): Uint8Array<ArrayBuffer> {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

// Feature probes (no kernels needed): a function returning i8x16.splat(0), and one that also applies
// f32x4.relaxed_madd. Tiny, so a bundle that fetches the .wasm files need not embed the kernels.
const PROBE_HEAD = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7b, 3, 2, 1, 0];
const SPLAT0 = [0x41, 0, 0xfd, 0x0f];
const SIMD_PROBE = new Uint8Array([...PROBE_HEAD, 0x0a, 8, 1, 6, 0, ...SPLAT0, 0x0b]);
const RELAXED_PROBE = new Uint8Array([
  ...PROBE_HEAD,
  ...[0x0a, 0x13, 1, 0x11, 0, ...SPLAT0, ...SPLAT0, ...SPLAT0, 0xfd, 0x85, 0x02, 0x0b],
]);

/** The embedded kernel bytes of a variant, loaded on first use (bundles may leave them out). */
async function embeddedWasm(name: string): Promise<Uint8Array<ArrayBuffer>> {
  const { WASM_BASE64 } = await import("./_wasm/kernels.generated.ts");
  return decodeBase64((WASM_BASE64 as Record<string, string>)[name]);
}

async function toModule(src: ModuleSource): Promise<WebAssembly.Module> {
  if (src instanceof WebAssembly.Module) return src;
  let s: unknown = await src;
  if (s instanceof URL) s = await fetch(s);
  if (s instanceof Response) {
    if (!s.ok) throw typeError("load kernel module", `fetch answered ${s.status} ${s.statusText}`);
    s = await s.arrayBuffer();
  }
  if (s instanceof ArrayBuffer || ArrayBuffer.isView(s)) return await WebAssembly.compile(s as BufferSource);
  throw typeError("load kernel module", "module must be a WebAssembly.Module, bytes, a URL or a Response");
}

function defaultThreads(): number {
  const n = (globalThis.navigator as { hardwareConcurrency?: number } | undefined)?.hardwareConcurrency ?? 1;
  return Math.max(1, Math.min(8, n));
}

function threadsUnavailable(): string | undefined {
  if (typeof SharedArrayBuffer === "undefined") {
    return "SharedArrayBuffer is unavailable (in a browser: serve the page with COOP/COEP headers)";
  }
  if (typeof Worker === "undefined") return "Worker is unavailable on this host";
  const g = globalThis as { crossOriginIsolated?: boolean };
  if (g.crossOriginIsolated === false) return "the page is not cross-origin isolated (COOP/COEP headers)";
  return undefined;
}

/**
 * A live runtime. Most code uses the default one from `init()`; tests create several to compare
 * backends.
 */
export class Runtime {
  /** The memory every tensor lives in. */
  readonly heap: Heap;
  /** What was found and chosen. */
  readonly report: InitReport;
  readonly #fns: Record<string, (...a: number[]) => void>;
  #pool: WorkerPool | undefined;
  readonly #rebuild: (() => Promise<WorkerPool>) | undefined;
  readonly #parallelMinCost: number;
  #scratch: number[] = [];
  #scratchBytes = 0;
  #closed = false;
  #queue: Promise<void> = Promise.resolve();
  #pending = 0;

  /** Used by {@linkcode createRuntime}; not meant to be called directly. */
  constructor(
    heap: Heap,
    report: InitReport,
    fns: Record<string, (...a: number[]) => void>,
    pool: WorkerPool | undefined,
    parallelMinCost: number,
    rebuild?: () => Promise<WorkerPool>,
  ) {
    this.heap = heap;
    this.report = report;
    this.#fns = fns;
    this.#pool = pool;
    this.#rebuild = rebuild;
    this.#parallelMinCost = parallelMinCost;
  }

  /** @internal Sets the threads' spin time in microseconds (see InitOptions.spinMicros); returns the old one. */
  setSpinMicros(us: number): number {
    return this.#pool ? this.#pool.setSpinMicros(us) : 0;
  }

  /** Number of threads calls may use. */
  get threads(): number {
    return this.report.threads;
  }

  /** True if `name` is a kernel of this runtime. */
  has(name: string): boolean {
    return name in this.#fns;
  }

  #ensureScratch(bytes: number): void {
    if (bytes <= this.#scratchBytes) return;
    for (const p of this.#scratch) this.heap.free(p);
    this.#scratch = [];
    this.#scratchBytes = 0;
    const size = Math.ceil(bytes / 65536) * 65536;
    for (let t = 0; t < this.threads; t++) {
      const p = this.heap.alloc(size);
      this.#scratch.push(p);
      this.#pool?.setScratch(t, p);
    }
    this.#scratchBytes = size;
  }

  /**
   * Runs `kernel(...args, start, end, scratch)` over the work units [0, units), split across threads
   * when the cost pays for it. Calls are serialized: concurrent callers queue.
   */
  run(kernel: string, args: readonly number[], options: RunOptions): Promise<void> {
    return this.enqueue(() => this.#run(kernel, args, options));
  }

  /**
   * Runs a kernel now, bypassing the queue. Launchers use this; call it only from inside
   * {@linkcode Runtime.enqueue} (or when nothing else is queued), or kernels run out of order.
   */
  exec(kernel: string, args: readonly number[], options: RunOptions): Promise<void> {
    return this.#run(kernel, args, options);
  }

  /**
   * Runs `fn` after every call queued before it (kernels, host reads and writes, frees), so host code
   * sees memory in program order.
   */
  enqueue<T>(fn: () => T | Promise<T>): Promise<T> {
    this.#pending++;
    const p = this.#queue.then(fn);
    this.#queue = p.then(() => void this.#pending--, () => void this.#pending--);
    return p;
  }

  /** True when nothing is queued: memory holds the results of every call made so far. */
  get idle(): boolean {
    return this.#pending === 0;
  }

  /** Resolves when everything queued so far has run. */
  sync(): Promise<void> {
    return this.#queue;
  }

  async #run(kernel: string, args: readonly number[], options: RunOptions): Promise<void> {
    if (this.#closed) throw rangeError(`run ${kernel}`, "the runtime is closed");
    const fn = this.#fns[kernel];
    if (fn === undefined) {
      throw rangeError("run kernel", `'${kernel}' is not a kernel of backend ${this.report.backend}`);
    }
    const units = options.units;
    if (!Number.isInteger(units) || units < 0) {
      throw rangeError(`run ${kernel}`, `units must be an integer >= 0, got ${units}`);
    }
    if (units === 0) return;
    if (options.scratchBytes) this.#ensureScratch(options.scratchBytes);
    const cost = options.cost ?? units;
    let n = 1;
    if (this.#pool !== undefined) {
      n = Math.min(this.threads, units, Math.max(1, Math.floor(cost / this.#parallelMinCost)));
    }
    if (n <= 1 || this.#pool === undefined) {
      try {
        fn(...args, 0, units, this.#scratch[0] ?? 0);
      } catch (e) {
        if (e instanceof WebAssembly.RuntimeError) {
          throw new Error(`Cannot run kernel ${kernel}: it trapped (${e.message}); this is a cnnzoo bug`);
        }
        throw e;
      }
      return;
    }
    const pool = this.#pool;
    try {
      await pool.run(kernel, args, units, n);
    } catch (e) {
      if (pool.dead) await this.#recover(pool);
      throw e;
    }
  }

  /** Replaces a pool whose worker died; falls back to one thread if a new pool cannot start. */
  async #recover(broken: WorkerPool): Promise<void> {
    broken.close();
    this.#pool = undefined;
    const reason = broken.dead ?? "a worker died";
    try {
      if (!this.#rebuild) throw new Error("no way to restart workers");
      const pool = await this.#rebuild();
      this.#scratch.forEach((p, t) => pool.setScratch(t, p));
      this.#pool = pool;
      (this.report as { fallbackReason?: string }).fallbackReason = `workers restarted after: ${reason}`;
    } catch (e) {
      (this.report as { threads: number }).threads = 1;
      (this.report as { fallbackReason?: string }).fallbackReason =
        `running on one thread: workers could not restart after "${reason}" (${
          e instanceof Error ? e.message : e
        })`;
    }
  }

  /** Test hook: terminates worker `i` of the pool (1-based) as a crash would. */
  terminateWorkerForTest(i: number): void {
    this.#pool?.terminateWorker(i);
  }

  /** Ends worker threads. Pending calls finish first. */
  async close(): Promise<void> {
    await this.#queue;
    this.#closed = true;
    this.#pool?.close();
  }
}

/**
 * Creates a runtime: picks the kernel variant this host supports, the memory kind and the threads.
 *
 * @example
 * ```ts
 * import { createRuntime } from "./runtime.ts";
 * const rt = await createRuntime({ threads: 1 });
 * console.log(rt.report.backend); // "wasm"
 * await rt.close();
 * ```
 */
export async function createRuntime(options: InitOptions = {}): Promise<Runtime> {
  const asked = options.threads ?? defaultThreads();
  if (!Number.isInteger(asked) || asked < 1 || asked > MAX_THREADS) {
    throw rangeError("initialize runtime", `threads must be an integer in [1, ${MAX_THREADS}], got ${asked}`);
  }
  const spin = options.spinMicros;
  if (spin !== undefined && !(typeof spin === "number" && spin >= 0 && spin <= 2000)) {
    throw rangeError("initialize runtime", `spinMicros must be a number in [0, 2000], got ${spin}`);
  }
  // 5e4: with spinning threads a split call costs ~3 us; measured against 2e5 and 8e5 on 2 threads
  // (ResNet-20 b64 frozen 1.08x, ResNet-18 b1 frozen 1.05x over 2e5; training equal).
  const parallelMinCost = options.parallelMinCost ?? 5e4;
  const backend = options.backend;
  if (backend !== undefined && !["ref", "wasm", "wasm-mt", "meta"].includes(backend)) {
    throw rangeError(
      "initialize runtime",
      `backend must be "ref", "wasm", "wasm-mt" or "meta", got ${JSON.stringify(backend)}`,
    );
  }
  if (backend === "meta") {
    const heap = new Heap({ capBytes: options.capBytes });
    const noop = (): void => {};
    const fns = new Proxy({} as Record<string, (...a: number[]) => void>, {
      get: () => noop,
      has: () => true,
    });
    const report: InitReport = {
      backend: "meta",
      simd: false,
      relaxedSimd: false,
      threads: 1,
      sharedMemory: false,
    };
    return new Runtime(heap, report, fns, undefined, parallelMinCost);
  }
  const simd = WebAssembly.validate(SIMD_PROBE);
  const relaxedSimd = simd && WebAssembly.validate(RELAXED_PROBE);
  let fallbackReason: string | undefined;
  if (backend === "ref" || (!simd && options.module === undefined)) {
    if (backend !== "ref") fallbackReason = "this host has no Wasm SIMD; using the reference kernels";
    const heap = new Heap({ capBytes: options.capBytes });
    const report: InitReport = { backend: "ref", simd, relaxedSimd, threads: 1, sharedMemory: false };
    if (fallbackReason) report.fallbackReason = fallbackReason;
    const fns: Record<string, (...a: number[]) => void> = {};
    for (const [name, k] of Object.entries(REF_KERNELS)) fns[name] = (...a: number[]) => k(heap, ...a);
    return new Runtime(heap, report, fns, undefined, parallelMinCost);
  }
  let wantThreads = backend === "wasm" ? 1 : asked;
  if (backend === "wasm-mt" && asked < 2) wantThreads = 2;
  if (wantThreads > 1) {
    const why = threadsUnavailable();
    if (why !== undefined) {
      if (backend === "wasm-mt") throw rangeError("use backend wasm-mt", why);
      fallbackReason = why;
      wantThreads = 1;
    }
  }
  const shared = wantThreads > 1;
  const heap = new Heap({ shared, capBytes: options.capBytes });
  let module: WebAssembly.Module;
  if (options.module !== undefined) {
    module = await toModule(options.module);
  } else {
    const name = (shared ? "mt" : "simd") + (relaxedSimd ? "_relaxed" : "");
    module = await WebAssembly.compile(await embeddedWasm(name));
  }
  let instance: WebAssembly.Instance;
  try {
    instance = await WebAssembly.instantiate(module, { env: { memory: heap.memory } });
  } catch (err) {
    throw typeError(
      "instantiate kernel module",
      `${
        (err as Error).message
      } (a cnnzoo_mt*.wasm module needs threads > 1, cnnzoo_simd*.wasm needs threads: 1)`,
    );
  }
  const fns: Record<string, (...a: number[]) => void> = {};
  for (const name of kernelNames(module)) {
    fns[name] = (instance.exports as Record<string, (...a: number[]) => void>)[name];
  }
  const makePool = () =>
    WorkerPool.create(
      { module, memory: heap.memory, threads: wantThreads, spinMicros: options.spinMicros },
      instance,
    );
  let pool: WorkerPool | undefined;
  if (shared) {
    try {
      pool = await makePool();
    } catch (err) {
      if (backend === "wasm-mt") throw err;
      fallbackReason = `workers failed to start: ${(err as Error).message}`;
      wantThreads = 1;
    }
  }
  const report: InitReport = {
    backend: pool ? "wasm-mt" : "wasm",
    simd,
    relaxedSimd,
    threads: pool ? wantThreads : 1,
    sharedMemory: shared,
  };
  if (fallbackReason !== undefined) report.fallbackReason = fallbackReason;
  const rebuild = pool ? makePool : undefined;
  return new Runtime(heap, report, fns, pool, parallelMinCost, rebuild);
}
