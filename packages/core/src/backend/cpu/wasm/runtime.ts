/**
 * The CPU backend's Wasm runtime: feature detection (SIMD128, relaxed SIMD,
 * shared memory), the one heap memory every module imports (heap.ts), compiled
 * modules (cached by key), and the worker pool (pool.ts) that runs their job
 * records in parallel.
 *
 * The heap memory is created once per process and never replaced, because
 * buffers may live in it; options (tests, benchmarks) reset only the modules
 * and the pool.
 */
import { MATH_IMPORTS, relaxedProbe, sharedMemoryProbe, simdProbe } from "./emit.js";
import { PAGE, WasmHeap, type WasmMemoryLike } from "./heap.js";
import { canBlockAndShare, canShare, createPool, defaultThreads, type Pool, type PoolModule } from "./pool.js";

interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
  Memory: new (d: { initial: number; maximum?: number; shared?: boolean }) => WasmMemoryLike;
}

const WA = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};

/** Largest memory any module declares (2 GiB keeps every byte address a non-negative i32). */
export const MAX_PAGES = 32768;

/** Feature overrides for tests and benchmarks. */
export interface WasmOptions {
  /** false: behave as if Wasm SIMD were unavailable (callers fall back to JS). */
  simd?: boolean;
  /** false: never use relaxed SIMD even where available. */
  relaxed?: boolean;
  /** false: single-threaded; true: threads where possible. */
  threads?: boolean;
  /** Total threads (caller included) for a pool started from now on. */
  threadCount?: number;
  /** Use threads even for small problems (tests). */
  alwaysThread?: boolean;
}

export const options: Required<Omit<WasmOptions, "threadCount">> & { threadCount: number | undefined } = {
  simd: true,
  relaxed: true,
  threads: true,
  threadCount: undefined,
  alwaysThread: false,
};

export interface Runtime {
  readonly heap: WasmHeap;
  /** The heap memory is shared: buffers may live in it and workers can run jobs. */
  readonly shared: boolean;
  readonly relaxed: boolean;
  /** Bumped by every reset: compiled modules of an older epoch are gone. */
  readonly epoch: number;
}

let heapState: { heap: WasmHeap; shared: boolean } | null | undefined;
let state: (Runtime & { pool: Pool | null | undefined; modules: Map<string, PoolModule> }) | null | undefined;
let epoch = 0;
let nextId = 1;

/** Sets feature overrides; returns the previous ones. Changing `simd`/`relaxed`/`threadCount` resets modules and pool. */
export function setWasmOptions(o: WasmOptions): WasmOptions {
  const prev = { ...options };
  if ((o.simd !== undefined && o.simd !== options.simd) || (o.relaxed !== undefined && o.relaxed !== options.relaxed) || (o.threadCount !== undefined && o.threadCount !== options.threadCount)) reset();
  Object.assign(options, Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)));
  return prev;
}

function reset(): void {
  state?.pool?.terminate();
  state = undefined;
  epoch++;
}

function heapCapBytes(): number {
  const mb = Number(env.REFS_CPU_HEAP_MB ?? "");
  const cap = Number.isFinite(mb) && mb > 0 ? mb * (1 << 20) : 1 << 30;
  return Math.min(cap, MAX_PAGES * PAGE);
}

/** The process's heap (created on first use); null without WebAssembly. */
function heapOnce(): { heap: WasmHeap; shared: boolean } | null {
  if (heapState !== undefined) return heapState;
  heapState = null;
  if (!WA) return null;
  // REFS_CPU_SHARED=0: behave as where shared memory is unavailable (tests: the browser-main-thread path).
  const shared = env.REFS_CPU_SHARED !== "0" && canShare() && WA.validate(sharedMemoryProbe());
  const initial = 256; // 16 MiB
  for (const max of [MAX_PAGES, 16384, 4096]) {
    try {
      const memory = new WA.Memory(shared ? { initial, maximum: max, shared: true } : { initial, maximum: max });
      heapState = { heap: new WasmHeap(memory, shared, Math.min(heapCapBytes(), max * PAGE)), shared };
      return heapState;
    } catch {
      // a smaller reservation may still succeed (32-bit or memory-constrained hosts)
    }
  }
  return null;
}

/** The heap if it was created (it outlives runtime resets: buffers may live in it). */
export function existingHeap(): { heap: WasmHeap; shared: boolean } | null {
  return heapState ?? null;
}

/** The runtime, or null where Wasm SIMD is unavailable (or disabled by `setWasmOptions({ simd: false })`). */
export function runtime(): Runtime | null {
  if (state !== undefined) return state;
  state = null;
  if (!options.simd || !WA) return null;
  try {
    if (!WA.validate(simdProbe())) return null;
    const h = heapOnce();
    if (!h) return null;
    const relaxed = options.relaxed && WA.validate(relaxedProbe());
    state = { heap: h.heap, shared: h.shared, relaxed, epoch, pool: undefined, modules: new Map() };
  } catch {
    state = null;
  }
  return state;
}

/** Module declarations matching the heap memory (what `emitModule` needs). */
export function memoryDecl(rt: Runtime): { shared: boolean; minPages: number; maxPages: number } {
  return { shared: rt.shared, minPages: 1, maxPages: MAX_PAGES };
}

/** Compiles (once per key and epoch) a module importing the heap as "e"."m" and exporting `job(rec)`. */
export function compileModule(rt: Runtime, key: string, bytes: () => Uint8Array): PoolModule {
  const s = state!;
  let m = s.modules.get(key);
  if (m) {
    // refresh LRU position
    s.modules.delete(key);
    s.modules.set(key, m);
    return m;
  }
  const module = new WA!.Module(bytes());
  const inst = new WA!.Instance(module, { e: { m: rt.heap.memory, ...MATH_IMPORTS } });
  m = { id: nextId++, module, job: inst.exports.job as (rec: number) => void };
  if (s.modules.size >= MAX_MODULES) {
    const [oldKey, old] = s.modules.entries().next().value!;
    s.modules.delete(oldKey);
    s.pool?.drop(old.id);
  }
  s.modules.set(key, m);
  return m;
}
/** Bound on compiled modules kept (least recently used dropped first). */
const MAX_MODULES = 1024;

/** The pool (started on first use), or null where threads are unavailable or disabled. */
export function pool(): Pool | null {
  const s = runtime() as typeof state;
  if (!s || !options.threads) return null;
  if (s.pool !== undefined) return s.pool;
  s.pool = s.shared && canBlockAndShare() ? createPool(s.heap.memory, options.threadCount ?? defaultThreads()) : null;
  return s.pool;
}

/** Threads a threaded run would use now (1: single-threaded). */
export function threadCount(): number {
  return pool()?.threads ?? 1;
}

/** Pool statistics (tests): threads, workers started, jobs run by workers; null without a pool. */
export function poolStats(): { threads: number; online: number; workerJobs: number; badModules: number } | null {
  const p = state?.pool;
  return p ? { threads: p.threads, ...p.stats() } : null;
}

/** Runs `total` job records of `mod` (at `jobs`, `recBytes` apart), on the pool when `threaded` and worthwhile. */
export function runJobs(mod: PoolModule, total: number, jobs: number, recBytes: number, threaded: boolean): void {
  const p = threaded && total > 1 ? pool() : null;
  if (p) p.run(mod, total, jobs, recBytes);
  else for (let i = 0; i < total; i++) mod.job(jobs + i * recBytes);
}
