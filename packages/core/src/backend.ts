/**
 * The Backend interface and the registry of backends.
 *
 * Backends own buffers and run programs; nothing else. Eager ops and jit
 * programs reach a backend the same way: `compile(program)` once (cached by
 * the caller), then `execute` per call. Backend packages (`@refs/gpu`) call
 * `registerBackend`; users pick one with `setBackend` and `await ready()`.
 */
import type { ShapedArray } from "./aval.js";
import type { DType, TypedArray } from "./dtype.js";
import type { Program } from "./program.js";

/** An opaque handle to a backend-owned buffer. */
export interface BufferHandle {
  readonly __bufferHandle?: never;
}

/** A compiled program, opaque to everyone but its backend. */
export interface Executable {
  readonly program: Program;
  /** The generated code (JS, WGSL...) for inspection, where the backend can show it. */
  describe?(): string;
}

export interface Backend {
  readonly name: string;
  /** Allocate a buffer for `aval`, filled from `data` (host layout of the dtype) or zeros. */
  alloc(aval: ShapedArray, data?: TypedArray): BufferHandle;
  /** Copy a buffer back to the host. */
  read(h: BufferHandle, aval: ShapedArray): Promise<TypedArray>;
  /** Synchronous read, where the runtime allows one (absent on WebGPU). */
  readSync?(h: BufferHandle, aval: ShapedArray): TypedArray;
  free(h: BufferHandle): void;
  compile(p: Program): Executable;
  /**
   * Run a compiled program. `donated[i]` says input i's buffer may be reused
   * for the output aliased to it in `program.aliases` (the backend decides
   * whether it can; if it does, the returned handle is the input's handle).
   */
  execute(e: Executable, inputs: readonly BufferHandle[], donated: readonly boolean[]): BufferHandle[];
  memory(): { buffers: number; bytes: number };
  supportsDtype(d: DType): boolean;
  /** Release device resources (optional). */
  dispose?(): void;
}

type Factory = () => Backend | Promise<Backend>;

interface Entry {
  factory: Factory;
  priority: number;
  instance?: Backend;
  pending?: Promise<Backend>;
  error?: unknown;
}

const entries = new Map<string, Entry>();
let currentName: string | undefined;

/**
 * Register a backend under `name`. Higher priority backends are chosen by
 * default when no `setBackend` call was made (CPU has priority 0).
 */
export function registerBackend(name: string, factory: Factory, { priority = 1 }: { priority?: number } = {}): void {
  const prev = entries.get(name);
  if (prev?.instance?.dispose) prev.instance.dispose();
  entries.set(name, { factory, priority });
}

export function listBackends(): string[] {
  return [...entries.keys()];
}

function defaultName(): string {
  let best: [string, Entry] | undefined;
  for (const e of entries) if (!best || e[1].priority > best[1].priority) best = e;
  if (!best) throw new Error("no backend is registered");
  return best[0];
}

function start(name: string, e: Entry): Promise<Backend> {
  if (e.instance) return Promise.resolve(e.instance);
  if (!e.pending) {
    let r: Backend | Promise<Backend>;
    try {
      r = e.factory();
    } catch (err) {
      e.error = err;
      return Promise.reject(err);
    }
    if (r instanceof Promise) {
      e.pending = r.then(
        (b) => ((e.instance = b), b),
        (err) => {
          e.error = err;
          e.pending = undefined;
          throw err;
        },
      );
    } else {
      e.instance = r;
      return Promise.resolve(r);
    }
  }
  return e.pending!;
}

/**
 * Choose the backend for new arrays and eager ops. Returns a promise that
 * resolves once it is ready (same as `ready()`).
 */
export function setBackend(name: string): Promise<Backend> {
  const e = entries.get(name);
  if (!e) throw new Error(`setBackend: unknown backend "${name}"; registered: ${listBackends().join(", ") || "none"}. Import the backend's package (e.g. @refs/gpu) to register it.`);
  currentName = name;
  e.error = undefined;
  return start(name, e);
}

/** Wait until the current backend is initialised. */
export function ready(): Promise<Backend> {
  const name = currentName ?? defaultName();
  return start(name, entries.get(name)!);
}

/** The current backend, initialised. Throws if it is still starting: `await ready()` first. */
export function getBackend(name?: string): Backend {
  const n = name ?? currentName ?? defaultName();
  const e = entries.get(n);
  if (!e) throw new Error(`unknown backend "${n}"`);
  if (e.instance) return e.instance;
  if (e.error) throw new Error(`backend "${n}" failed to initialise: ${(e.error as Error)?.message ?? e.error}`);
  const r = start(n, e);
  if (e.instance) return e.instance;
  void r.catch(() => {});
  throw new Error(`backend "${n}" is still initialising; call \`await ready()\` (or await setBackend("${n}")) before using it`);
}

/** Name of the current backend. */
export function getBackendName(): string {
  return currentName ?? defaultName();
}

/** Drop a backend's instance so the next use makes a fresh one (after a lost device). */
export function resetBackend(name: string): void {
  const e = entries.get(name);
  if (!e) return;
  try {
    e.instance?.dispose?.();
  } catch {
    /* a lost device may fail to dispose */
  }
  e.instance = undefined;
  e.pending = undefined;
  e.error = undefined;
}
