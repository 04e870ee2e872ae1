/**
 * The harness: cases (one workload at one size), implementations (one library
 * on one backend, prepared for one case), the numerical check, and the
 * interleaved timing loop (A, B, C, A, B, C, …) that turns them into rows.
 */

export type LibName = "refs" | "jax-js" | "tfjs";
export type BackendName = "cpu" | "wasm" | "webgpu";

/** One library on one backend, e.g. jax-js on wasm. */
export interface Target {
  lib: LibName;
  backend: BackendName;
  /** Make this target's backend the current one (tf.setBackend, jax defaultDevice, refs setBackend). */
  activate(): Promise<void> | void;
}

export const targetLabel = (t: { lib: LibName; backend: BackendName }): string => `${t.lib} ${t.backend}`;

/** A prepared implementation of one case on one target. */
export interface Impl {
  /** One iteration; resolves once the result is complete (read back to the host). */
  run(): Promise<void>;
  /** The numbers compared across libraries (a result, or a few losses of a deterministic run). */
  check(): Promise<Float32Array>;
  dispose?(): void;
}

export interface Case {
  workload: string;
  /** The size, as printed: "512", "4096×1024", "batch 128". */
  size: string;
  /** Work per call: floating-point operations (GFLOP/s) or items (items/s). */
  work: number;
  unit: "GFLOP/s" | "items/s";
  /** A cost used to predict the time of the next size from the last one (flops or elements). */
  cost: number;
  /** Relative tolerance of the numerical check: max|a-b| / max|ref|. */
  tolerance: number;
  /** Prepare the case on a target, or return a reason it cannot run there. */
  make(target: Target): Promise<Impl | string>;
}

export type RowStatus = "ok" | "mismatch" | "skipped" | "error";

export interface Row {
  workload: string;
  size: string;
  lib: LibName;
  backend: BackendName;
  status: RowStatus;
  /** Why a row was skipped or failed, or a mismatch's size. */
  note?: string;
  /** Median time of one call, ms. */
  medianMs: number | null;
  minMs: number | null;
  /** Timed samples (each the mean of `inner` calls). */
  samples: number;
  inner: number;
  /** Work per second in `unit`. */
  throughput: number | null;
  unit: Case["unit"];
  /** Relative error against the reference target of the check (null for the reference itself). */
  checkError: number | null;
  /** The target the check compared against. */
  checkRef: string | null;
  /** peer time ÷ refs time on the same backend class (> 1: refs is faster); null for refs rows or when either is missing. */
  speedup: number | null;
}

export interface RunOptions {
  /** Timed samples per target (each target gets at least `minReps`, at most `reps`, within `budgetMs`). */
  reps: number;
  minReps: number;
  /** Warm-up calls before timing (compiles, caches). */
  warmup: number;
  /** Aim for at least this long per sample: fast calls are repeated `inner` times per sample. */
  sampleMs: number;
  /** Stop sampling a target of a case once its samples took this long (after `minReps`). */
  budgetMs: number;
  /** Skip a target when its predicted time per call (from the previous size) is above this. */
  maxCallMs: number;
  progress?: (line: string) => void;
  /** Called loudly on a numerical mismatch. */
  onMismatch?: (row: Row) => void;
}

export const QUICK: RunOptions = { reps: 5, minReps: 2, warmup: 1, sampleMs: 10, budgetMs: 800, maxCallMs: 3000 };
export const FULL: RunOptions = { reps: 9, minReps: 3, warmup: 2, sampleMs: 25, budgetMs: 6000, maxCallMs: 20000 };

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** max|a-b| / max|ref| (a NaN anywhere, or a length mismatch, gives Infinity). */
export function relError(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (got.length !== ref.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i]!;
    const d = Math.abs(got[i]! - r);
    if (!Number.isFinite(d)) return Infinity;
    if (d > diff) diff = d;
    if (Math.abs(r) > scale) scale = Math.abs(r);
  }
  return diff / Math.max(scale, 1e-30);
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split("\n")[0]!.slice(0, 160);

/** Which CPU-class refs row a peer row is compared with: refs cpu for cpu/wasm peers, refs webgpu for webgpu peers. */
const refsBackendFor = (b: BackendName): BackendName => (b === "webgpu" ? "webgpu" : "cpu");

interface Live {
  target: Target;
  impl: Impl;
  row: Row;
  times: number[];
  spent: number;
  done: boolean;
}

/**
 * Run the cases on the targets. For each case: prepare every target, check
 * them against the first that works (refs cpu when it does), then time them
 * interleaved, round by round, so drift (thermal, GC, other load) hits all alike.
 */
export async function runCases(cases: readonly Case[], targets: readonly Target[], opts: RunOptions, unavailable: ReadonlyMap<string, string> = new Map()): Promise<Row[]> {
  const rows: Row[] = [];
  /** Last (cost, ms per call) of each target on each workload, to predict the next size. */
  const last = new Map<string, { cost: number; ms: number }>();
  const progress = opts.progress ?? (() => {});
  let caseNo = 0;

  for (const c of cases) {
    caseNo++;
    const head = `[${caseNo}/${cases.length}] ${c.workload} ${c.size}`;
    const blank = (target: { lib: LibName; backend: BackendName }, status: RowStatus, note?: string): Row => ({
      workload: c.workload,
      size: c.size,
      lib: target.lib,
      backend: target.backend,
      status,
      ...(note !== undefined ? { note } : {}),
      medianMs: null,
      minMs: null,
      samples: 0,
      inner: 0,
      throughput: null,
      unit: c.unit,
      checkError: null,
      checkRef: null,
      speedup: null,
    });

    // ---- prepare -------------------------------------------------------------------
    const live: Live[] = [];
    const caseRows: Row[] = [];
    for (const [label, why] of unavailable) {
      const [lib, backend] = label.split(" ") as [LibName, BackendName];
      caseRows.push(blank({ lib, backend }, "skipped", why));
    }
    for (const target of targets) {
      const key = `${targetLabel(target)}|${c.workload}`;
      const prev = last.get(key);
      if (prev && prev.cost > 0) {
        const predicted = (prev.ms * c.cost) / prev.cost;
        if (predicted > opts.maxCallMs) {
          caseRows.push(blank(target, "skipped", `too slow: ~${fmtMs(predicted)} ms/call predicted from the previous size (limit ${opts.maxCallMs} ms)`));
          continue;
        }
      }
      progress(`${head} · ${targetLabel(target)} · preparing`);
      try {
        await target.activate();
        const impl = await c.make(target);
        if (typeof impl === "string") {
          caseRows.push(blank(target, "skipped", impl));
          continue;
        }
        const row = blank(target, "ok");
        caseRows.push(row);
        live.push({ target, impl, row, times: [], spent: 0, done: false });
      } catch (e) {
        caseRows.push(blank(target, "error", message(e)));
      }
    }

    // ---- numerical check (before any timing) ---------------------------------------------
    let ref: { label: string; values: Float32Array } | null = null;
    for (const l of [...live]) {
      progress(`${head} · ${targetLabel(l.target)} · checking`);
      try {
        await l.target.activate();
        const values = await l.impl.check();
        if (ref === null) {
          ref = { label: targetLabel(l.target), values };
          l.row.checkRef = null;
          continue;
        }
        const err = relError(values, ref.values);
        l.row.checkError = err;
        l.row.checkRef = ref.label;
        if (!(err <= c.tolerance)) {
          l.row.status = "mismatch";
          l.row.note = `differs from ${ref.label}: rel. error ${err.toExponential(2)} > ${c.tolerance}`;
          opts.onMismatch?.(l.row);
        }
      } catch (e) {
        l.row.status = "error";
        l.row.note = `check failed: ${message(e)}`;
        live.splice(live.indexOf(l), 1);
        try {
          l.impl.dispose?.();
        } catch {
          /* already broken */
        }
      }
    }

    // ---- warm-up and calibration -----------------------------------------------------------
    for (const l of [...live]) {
      progress(`${head} · ${targetLabel(l.target)} · warm-up`);
      try {
        await l.target.activate();
        let t = 0;
        for (let i = 0; i < Math.max(1, opts.warmup); i++) {
          const t0 = performance.now();
          await l.impl.run();
          t = performance.now() - t0;
        }
        l.row.inner = Math.max(1, Math.min(1000, Math.ceil(opts.sampleMs / Math.max(t, 1e-3))));
      } catch (e) {
        l.row.status = "error";
        l.row.note = `warm-up failed: ${message(e)}`;
        live.splice(live.indexOf(l), 1);
      }
    }

    // ---- interleaved timing ----------------------------------------------------------------------
    for (let rep = 0; rep < opts.reps; rep++) {
      const active = live.filter((l) => !l.done);
      if (active.length === 0) break;
      for (const l of active) {
        progress(`${head} · ${targetLabel(l.target)} · rep ${rep + 1}/${opts.reps}`);
        try {
          await l.target.activate();
          const t0 = performance.now();
          for (let i = 0; i < l.row.inner; i++) await l.impl.run();
          const dt = performance.now() - t0;
          l.times.push(dt / l.row.inner);
          l.spent += dt;
          if (l.times.length >= opts.minReps && l.spent >= opts.budgetMs) l.done = true;
        } catch (e) {
          l.row.status = "error";
          l.row.note = `run failed: ${message(e)}`;
          l.done = true;
          l.times = [];
        }
      }
    }

    for (const l of live) {
      try {
        l.impl.dispose?.();
      } catch {
        /* ignore */
      }
      if (l.times.length === 0) continue;
      const ms = median(l.times);
      l.row.medianMs = ms;
      l.row.minMs = Math.min(...l.times);
      l.row.samples = l.times.length;
      l.row.throughput = c.unit === "GFLOP/s" ? c.work / (ms * 1e6) : (c.work * 1000) / ms;
      last.set(`${targetLabel(l.target)}|${c.workload}`, { cost: c.cost, ms });
    }

    // ---- speed-ups: peer time ÷ refs time on the same backend class ----------------------------
    for (const row of caseRows) {
      if (row.lib === "refs" || row.medianMs === null) continue;
      const refsRow = caseRows.find((r) => r.lib === "refs" && r.backend === refsBackendFor(row.backend) && r.medianMs !== null);
      if (refsRow) row.speedup = row.medianMs / refsRow.medianMs!;
    }
    // Table order: CPU-class rows, then WebGPU rows; refs, jax-js, tfjs; cpu before wasm.
    const order = (r: Row) => (r.backend === "webgpu" ? 100 : 0) + 10 * ["refs", "jax-js", "tfjs"].indexOf(r.lib) + (r.backend === "wasm" ? 1 : 0);
    rows.push(...caseRows.sort((a, b) => order(a) - order(b)));
  }
  return rows;
}

export function fmtMs(ms: number): string {
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}

export function fmtThroughput(x: number, unit: Case["unit"]): string {
  if (unit === "GFLOP/s") return x >= 10 ? x.toFixed(1) : x.toFixed(2);
  if (x >= 1e9) return `${(x / 1e9).toFixed(2)}G`;
  if (x >= 1e6) return `${(x / 1e6).toFixed(1)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(0);
}

/** A progress reporter: one line rewritten with `\r` on a TTY, plain lines otherwise. */
export function progressLine(out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number } = process.stderr): { update(line: string): void; clear(): void } {
  const tty = Boolean(out.isTTY);
  let shown = false;
  let lastPlain = "";
  return {
    update(line: string) {
      if (tty) {
        const width = Math.max(20, (out.columns ?? 100) - 1);
        out.write(`\r\x1b[K${line.slice(0, width)}`);
        shown = true;
      } else {
        // Without a TTY, print a line when a new case/target starts (not every rep).
        const key = line.replace(/ · [^·]+ · rep \d+\/\d+$/, " · timing, interleaved");
        if (key !== lastPlain) out.write(`${key}\n`);
        lastPlain = key;
      }
    },
    clear() {
      if (tty && shown) out.write("\r\x1b[K");
      shown = false;
    },
  };
}
