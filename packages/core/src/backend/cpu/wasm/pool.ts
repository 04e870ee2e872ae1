/**
 * A synchronous fork-join pool for the CPU backend's Wasm kernels: worker
 * threads share the heap's `WebAssembly.Memory` and run job records of any
 * kernel module the caller has sent them, taking job indices from a
 * SharedArrayBuffer queue.
 *
 * Protocol (Int32Array `ctrl` over a SharedArrayBuffer):
 *   SEQ   generation counter; workers sleep in Atomics.wait(ctrl, SEQ, seen)
 *   NEXT  (gen & 0x7fff) << 16 | next unclaimed job index; claimed by CAS
 *   DONE  finished jobs; the caller sleeps on it until DONE == TOTAL
 *   TOTAL, JOBS (byte address of the job records), REC_BYTES (record size),
 *   MODULE (id of the module whose `job` export runs the records)
 *   ONLINE, WORKER_JOBS, BAD_MODULES: workers started / jobs run by workers /
 *   modules a worker failed to instantiate (statistics)
 * The caller writes the parameters, then NEXT, then bumps SEQ and notifies;
 * it claims jobs itself like any worker (so the run completes even if no
 * worker ever wakes up), waits for DONE == TOTAL, and finally closes NEXT
 * (index 0xffff) so that a late worker can never claim a job against the next
 * run's parameters. A worker only runs a job whose CAS succeeded on its own
 * generation, which implies the parameters it read are that generation's.
 *
 * Modules: the caller posts each module to every worker once, before the
 * first run that uses it. In Node a woken worker that lacks the run's module
 * takes it from its MessagePort synchronously (`receiveMessageOnPort`); a Web
 * Worker cannot, so it returns to its event loop to receive the module and
 * sits that run out. Either way a worker without the module claims no job.
 *
 * Node: worker_threads (unref'd, so they never keep the process alive).
 * Browsers: nested dedicated Web Workers, only when the caller itself runs in
 * a cross-origin-isolated worker; on the browser main thread Atomics.wait is
 * not allowed, so there is no pool there and kernels run single-threaded.
 */

import { MATH_IMPORTS_SRC } from "./emit.js";

export const SEQ = 0, NEXT = 1, DONE = 2, TOTAL = 3, JOBS = 4, MODULE = 5, ERROR = 7, REC_BYTES = 8, ONLINE = 9, WORKER_JOBS = 10, BAD_MODULES = 11;
const CTRL_WORDS = 16;
const CLOSED = 0xffff;

/** The worker's run loop; expects `memory`, `ctrl`, `fnFor(id)` and `ASYNC` in scope. */
const LOOP_SRC = `
const fns = new Map();
const MATH = ${MATH_IMPORTS_SRC};
function take(m) {
  if (m.drop !== undefined) fns.delete(m.drop);
  else {
    // A module this worker cannot instantiate is skipped (the caller runs its jobs).
    let job = null;
    try {
      job = new WebAssembly.Instance(m.module, { e: { m: memory, ...MATH } }).exports.job;
    } catch (e) {
      Atomics.add(new Int32Array(ctrl), ${BAD_MODULES}, 1);
    }
    fns.set(m.id, job);
  }
}
let counted = false;
function loop() {
  const c = new Int32Array(ctrl);
  let seen = Atomics.load(c, ${SEQ});
  if (!counted) Atomics.add(c, ${ONLINE}, 1), (counted = true);
  for (;;) {
    for (let i = 0; i < 20000 && Atomics.load(c, ${SEQ}) === seen; i++);
    Atomics.wait(c, ${SEQ}, seen);
    seen = Atomics.load(c, ${SEQ});
    const g = seen & 0x7fff;
    const job = fnFor(Atomics.load(c, ${MODULE}));
    if (!job) {
      if (ASYNC) return;
      continue;
    }
    const total = Atomics.load(c, ${TOTAL});
    const jobs = Atomics.load(c, ${JOBS});
    const rec = Atomics.load(c, ${REC_BYTES});
    for (;;) {
      const v = Atomics.load(c, ${NEXT});
      if ((v >>> 16) !== g || (v & 0xffff) >= total) break;
      if (Atomics.compareExchange(c, ${NEXT}, v, v + 1) !== v) continue;
      try {
        job(jobs + (v & 0xffff) * rec);
      } catch (e) {
        Atomics.store(c, ${ERROR}, 1);
      }
      Atomics.add(c, ${WORKER_JOBS}, 1);
      if (Atomics.add(c, ${DONE}, 1) + 1 === total) Atomics.notify(c, ${DONE});
    }
  }
}
`;

const NODE_WORKER_SRC = `const { workerData, receiveMessageOnPort } = require("node:worker_threads");
const { memory, ctrl, port } = workerData;
const ASYNC = false;
function fnFor(id) {
  let f = fns.get(id);
  while (f === undefined) {
    const r = receiveMessageOnPort(port);
    if (r === undefined) return undefined;
    take(r.message);
    f = fns.get(id);
  }
  return f;
}
${LOOP_SRC}
loop();`;

const WEB_WORKER_SRC = `let memory, ctrl;
const ASYNC = true;
const fnFor = (id) => fns.get(id);
${LOOP_SRC}
onmessage = (ev) => {
  const m = ev.data;
  if (m.memory) (memory = m.memory), (ctrl = m.ctrl);
  else take(m);
  loop();
};`;

/** A compiled kernel module: `job` is the caller's instance's export. */
export interface PoolModule {
  readonly id: number;
  readonly module: object;
  readonly job: (rec: number) => void;
}

export interface Pool {
  /** Threads including the caller. */
  readonly threads: number;
  /** Runs jobs 0..total-1 (`mod`'s `job(jobs + i * recBytes)` in some thread), blocking until all are done. */
  run(mod: PoolModule, total: number, jobs: number, recBytes: number): void;
  /** Lets workers drop their instance of a module the caller no longer uses. */
  drop(id: number): void;
  /** Workers started so far, jobs they have run, modules they could not instantiate. */
  stats(): { online: number; workerJobs: number; badModules: number };
  terminate(): void;
}

interface Terminable {
  terminate(): unknown;
}

type Proc = { getBuiltinModule?: (id: string) => unknown; versions?: { node?: string }; env?: Record<string, string | undefined> };

/** Total threads to use (caller included): min(availableParallelism, 4), or REFS_CPU_THREADS. */
export function defaultThreads(): number {
  const g = globalThis as { process?: Proc; navigator?: { hardwareConcurrency?: number } };
  let cores = 1;
  const os = g.process?.getBuiltinModule?.("node:os") as { availableParallelism?: () => number; cpus(): unknown[] } | undefined;
  if (os) cores = os.availableParallelism ? os.availableParallelism() : os.cpus().length;
  else if (g.navigator?.hardwareConcurrency) cores = g.navigator.hardwareConcurrency;
  const env = Number(g.process?.env?.REFS_CPU_THREADS ?? "");
  if (Number.isFinite(env) && env >= 1) return Math.min(Math.floor(env), 64);
  return Math.max(1, Math.min(cores, 4));
}

/** Whether this runtime has SharedArrayBuffer (a shared Wasm memory is possible if Wasm threads validate too). */
export function canShare(): boolean {
  const g = globalThis as { SharedArrayBuffer?: unknown; crossOriginIsolated?: boolean; process?: Proc };
  if (typeof g.SharedArrayBuffer !== "function" || typeof Atomics === "undefined") return false;
  return g.process?.versions?.node ? true : g.crossOriginIsolated === true;
}

/** Whether this thread may block in Atomics.wait and share Wasm memory with workers. */
export function canBlockAndShare(): boolean {
  const g = globalThis as {
    SharedArrayBuffer?: unknown;
    crossOriginIsolated?: boolean;
    process?: Proc;
    WorkerGlobalScope?: unknown;
    Worker?: unknown;
  };
  if (typeof g.SharedArrayBuffer !== "function" || typeof Atomics === "undefined") return false;
  if (g.process?.versions?.node) return typeof g.process.getBuiltinModule === "function";
  // Browser: only inside a cross-origin-isolated worker that can itself start workers.
  return g.crossOriginIsolated === true && typeof g.WorkerGlobalScope !== "undefined" && typeof g.Worker === "function";
}

/** Starts `threads - 1` workers on the shared `memory`; null where that is impossible. */
export function createPool(memory: object, threads: number): Pool | null {
  if (threads <= 1 || !canBlockAndShare()) return null;
  const ctrlBuf = new SharedArrayBuffer(CTRL_WORDS * 4);
  const ctrl = new Int32Array(ctrlBuf);
  ctrl[NEXT] = CLOSED;
  ctrl[MODULE] = -1;
  const workers: Terminable[] = [];
  /** Where to post modules: one port (Node) or the worker itself (browsers) per worker. */
  const sinks: { postMessage(m: unknown): void }[] = [];
  const g = globalThis as {
    process?: Proc;
    Worker?: new (url: string) => Terminable & { postMessage(m: unknown): void };
    Blob?: new (parts: string[], o: object) => object;
    URL?: { createObjectURL(b: object): string };
  };
  try {
    if (g.process?.versions?.node) {
      const wt = g.process.getBuiltinModule?.("node:worker_threads") as
        | {
            Worker: new (src: string, opts: object) => Terminable & { unref(): void };
            MessageChannel: new () => { port1: { postMessage(m: unknown): void; unref(): void }; port2: object };
          }
        | undefined;
      if (!wt) return null;
      for (let id = 1; id < threads; id++) {
        const ch = new wt.MessageChannel();
        const w = new wt.Worker(NODE_WORKER_SRC, { eval: true, workerData: { memory, ctrl: ctrlBuf, port: ch.port2 }, transferList: [ch.port2] });
        w.unref();
        ch.port1.unref();
        workers.push(w);
        sinks.push(ch.port1);
      }
    } else {
      if (!g.Worker || !g.Blob || !g.URL) return null;
      const url = g.URL.createObjectURL(new g.Blob([WEB_WORKER_SRC], { type: "text/javascript" }));
      for (let id = 1; id < threads; id++) {
        const w = new g.Worker(url);
        w.postMessage({ memory, ctrl: ctrlBuf });
        workers.push(w);
        sinks.push(w);
      }
    }
  } catch {
    for (const w of workers) w.terminate();
    return null;
  }
  const posted = new Set<number>();
  let gen = 0;
  return {
    threads,
    run(mod, total, jobs, recBytes) {
      if (total >= CLOSED) throw new Error("wasm pool: too many jobs");
      if (!posted.has(mod.id)) {
        for (const s of sinks) s.postMessage({ id: mod.id, module: mod.module });
        posted.add(mod.id);
      }
      gen = (gen + 1) & 0x7fff;
      Atomics.store(ctrl, TOTAL, total);
      Atomics.store(ctrl, JOBS, jobs);
      Atomics.store(ctrl, REC_BYTES, recBytes);
      Atomics.store(ctrl, MODULE, mod.id);
      Atomics.store(ctrl, DONE, 0);
      Atomics.store(ctrl, ERROR, 0);
      Atomics.store(ctrl, NEXT, gen << 16);
      Atomics.add(ctrl, SEQ, 1);
      Atomics.notify(ctrl, SEQ);
      const job = mod.job;
      for (;;) {
        const v = Atomics.load(ctrl, NEXT);
        if ((v & 0xffff) >= total) break;
        if (Atomics.compareExchange(ctrl, NEXT, v, v + 1) !== v) continue;
        try {
          job(jobs + (v & 0xffff) * recBytes);
        } catch {
          Atomics.store(ctrl, ERROR, 1); // keep going: workers must be done before we return
        }
        Atomics.add(ctrl, DONE, 1);
      }
      for (let spins = 0; ; spins++) {
        const d = Atomics.load(ctrl, DONE);
        if (d >= total) break;
        if (spins > 1000) Atomics.wait(ctrl, DONE, d);
      }
      Atomics.store(ctrl, NEXT, CLOSED);
      if (Atomics.load(ctrl, ERROR)) throw new Error("wasm pool: a job failed");
    },
    drop(id) {
      if (!posted.delete(id)) return;
      for (const s of sinks) s.postMessage({ drop: id });
    },
    stats() {
      return { online: Atomics.load(ctrl, ONLINE), workerJobs: Atomics.load(ctrl, WORKER_JOBS), badModules: Atomics.load(ctrl, BAD_MODULES) };
    },
    terminate() {
      for (const w of workers) w.terminate();
    },
  };
}
