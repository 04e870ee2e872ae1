/**
 * float32 GEMM on WebAssembly SIMD128 (kernels.ts), optionally multi-threaded
 * over workers sharing one SharedArrayBuffer-backed `WebAssembly.Memory`
 * (pool.ts).
 *
 * Per call (a group of g batch entries at a time), in Wasm memory (bytes, 64-aligned):
 *   A, B  the raw operands, copied in whole (any strided layout, see Strides3)
 *   jobs  job records (kernels.ts): packing jobs, then GEMM jobs
 *   Ap    [g] x Mpad x K, A packed into MR-row panels per KC block (Mpad = M rounded up to MR)
 *   Bp    [g] x K x Npad, B packed into NR-column panels per KC block (Npad = N rounded up to NR)
 *   C     [g] x Mpad x Npad, whose rows are copied out
 * Two fork-join phases: packing jobs (row panels of A, column panels of B),
 * then GEMM jobs of MC rows x a column chunk of C. Every job runs entirely in
 * Wasm; single-threaded runs call the jobs in a loop.
 *
 * Accumulation is in float32 (f32x4 mul + add, or relaxed_madd where the
 * runtime has relaxed SIMD), unlike the float64-accumulating JS kernel.
 *
 * Threads: min(availableParallelism, 4) including the calling thread (or
 * REFS_CPU_THREADS), started lazily on the first GEMM of at least
 * THREAD_MIN_FLOPS. On the browser main thread (no Atomics.wait) and wherever
 * SharedArrayBuffer is unavailable, everything runs single-threaded.
 */
import { relaxedProbe, sharedMemoryProbe, simdProbe } from "./emit.js";
import { JOB, KIND_GEMM, KIND_PACK_A, KIND_PACK_B, REC_WORDS, gemmModuleBytes, type GemmConfig } from "./kernels.js";
import { canBlockAndShare, createPool, defaultThreads, type Pool } from "./pool.js";

interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
  Memory: new (d: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
}
type JobFn = (rec: number) => void;

const WA = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

const PAGE = 65536;
const MAX_PAGES = 16384; // 1 GiB
/** Batch groups are sized to stay below this many bytes of Wasm memory where possible. */
const GROUP_BYTES = 256 << 20;
/** Below this many flops (per call, all batch entries) the GEMM stays on the calling thread. */
const THREAD_MIN_FLOPS = 2 * 96 * 96 * 96;
const MAX_JOBS = 0xfff0;
/** Target upper bound on the flops of one job. */
let JOB_FLOPS = 1 << 26;
/** Row / column panels per packing job. */
const PACK_A_PANELS = 16, PACK_B_PANELS = 8;

let config: GemmConfig & { mc: number } = { mr: 4, nrv: 2, kc: 256, unroll: 1, madd: false, mc: 64 };

interface State {
  memory: WasmMemory;
  module: object;
  job: JobFn;
  shared: boolean;
  relaxed: boolean;
  pool: Pool | null | undefined; // undefined: not started yet; null: unavailable
}

let state: State | null | undefined;

/** Feature overrides for tests and benchmarks. */
export interface WasmSgemmOptions {
  /** false: behave as if Wasm SIMD were unavailable (callers fall back to JS). */
  simd?: boolean;
  /** false: never use relaxed_madd even where available. */
  relaxed?: boolean;
  /** false: single-threaded; true: threads where possible. */
  threads?: boolean;
  /** Total threads (caller included) for a pool started from now on. */
  threadCount?: number;
  /** Use threads even for small problems (tests). */
  alwaysThread?: boolean;
}
const opts: Required<Omit<WasmSgemmOptions, "threadCount">> & { threadCount: number | undefined } = {
  simd: true,
  relaxed: true,
  threads: true,
  threadCount: undefined,
  alwaysThread: false,
};

/** Sets feature overrides; returns the previous ones. Changing `simd`/`relaxed`/`threadCount` resets the module and pool. */
export function setWasmSgemmOptions(o: WasmSgemmOptions): WasmSgemmOptions {
  const prev = { ...opts };
  if ((o.simd !== undefined && o.simd !== opts.simd) || (o.relaxed !== undefined && o.relaxed !== opts.relaxed) || (o.threadCount !== undefined && o.threadCount !== opts.threadCount)) reset();
  Object.assign(opts, Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)));
  return prev;
}

/** Enable or disable worker threads (for tests / benchmarks). */
export function setWasmSgemmThreads(on: boolean): void {
  opts.threads = on;
}

/** Internal: override the kernel configuration (benchmarks). */
export function _setWasmSgemmConfig(c: Partial<GemmConfig & { mc: number; jobFlops: number }>): void {
  const { jobFlops, ...rest } = c;
  if (jobFlops !== undefined) JOB_FLOPS = jobFlops;
  config = { ...config, ...rest };
  reset();
}

function reset(): void {
  state?.pool?.terminate();
  state = undefined;
}

/** Whether this runtime can run the Wasm SIMD kernel. */
export function wasmSgemmAvailable(): boolean {
  return init() !== null;
}

/** Whether the kernel uses f32x4.relaxed_madd. */
export function wasmSgemmRelaxed(): boolean {
  return init()?.relaxed ?? false;
}

/** Threads a threaded GEMM would use now (1: single-threaded). */
export function wasmSgemmThreads(): number {
  const s = init();
  if (!s || !opts.threads) return 1;
  return getPool(s)?.threads ?? 1;
}

/** Pool statistics (tests): threads, workers started, jobs run by workers; null without a pool. */
export function wasmSgemmPoolStats(): { threads: number; online: number; workerJobs: number } | null {
  const pool = state?.pool;
  return pool ? { threads: pool.threads, ...pool.stats() } : null;
}

function init(): State | null {
  if (state !== undefined) return state;
  state = null;
  if (!opts.simd) return null;
  try {
    if (!WA || !WA.validate(simdProbe())) return null;
    const relaxed = opts.relaxed && WA.validate(relaxedProbe());
    const shared = canBlockAndShare() && WA.validate(sharedMemoryProbe());
    const module = new WA.Module(gemmModuleBytes({ ...config, madd: relaxed }, shared, MAX_PAGES));
    const memory = new WA.Memory(shared ? { initial: 1, maximum: MAX_PAGES, shared: true } : { initial: 1, maximum: MAX_PAGES });
    const inst = new WA.Instance(module, { e: { m: memory } });
    state = { memory, module, job: inst.exports.job as JobFn, shared, relaxed, pool: undefined };
  } catch {
    state = null;
  }
  return state;
}

function getPool(s: State): Pool | null {
  if (s.pool !== undefined) return s.pool;
  s.pool = s.shared ? createPool(s.module, s.memory, opts.threadCount ?? defaultThreads()) : null;
  return s.pool;
}

const align = (bytes: number) => Math.ceil(bytes / 64) * 64;

/**
 * Element strides (in floats) of a batched operand: A as [batch, M, K] ->
 * [sb, sm, sk]; B as [batch, K, N] -> [sb, sk, sn].
 */
export type Strides3 = readonly [number, number, number];

/**
 * out[b] = A[b] @ Bm[b] for b < batch, out [batch, M, N] row-major float32.
 * A and Bm are row-major [batch, M, K] / [batch, K, N] unless `layout` gives
 * their element strides (any layout whose batch / free / contracting axes each
 * flatten to one stride, e.g. a transposed operand, needs no copy). Returns
 * false (doing nothing) when the Wasm kernel is unavailable or the problem
 * does not fit in memory.
 */
export function wasmSgemmBatched(
  A: ArrayLike<number>,
  Bm: ArrayLike<number>,
  out: Float32Array,
  batch: number,
  M: number,
  N: number,
  K: number,
  layout?: { a: Strides3; b: Strides3 },
): boolean {
  const s = init();
  if (!s) return false;
  if (batch === 0 || M === 0 || N === 0) return true;
  if (K === 0) {
    out.fill(0, 0, batch * M * N);
    return true;
  }
  const [sab, sam, sak] = layout?.a ?? [M * K, K, 1];
  const [sbb, sbk, sbn] = layout?.b ?? [K * N, N, 1];
  const { mr, nrv, mc: MC } = config;
  const NR = 4 * nrv;
  const Npad = Math.ceil(N / NR) * NR;
  const Mpad = Math.ceil(M / mr) * mr;
  const mPanelsAll = Mpad / mr;
  const nPanelsAll = Npad / NR;
  const blkPanels = Math.max(1, Math.round(MC / mr));
  const mBlocks = Math.ceil(mPanelsAll / blkPanels);
  const threaded = opts.threads && (opts.alwaysThread || 2 * batch * M * N * K >= THREAD_MIN_FLOPS);
  const pool = threaded ? getPool(s) : null;
  const threads = pool?.threads ?? 1;
  // Packing jobs: A by PACK_A_PANELS row panels, B by PACK_B_PANELS column panels.
  const packAJobs = Math.ceil(mPanelsAll / PACK_A_PANELS);
  const packBJobs = Math.ceil(nPanelsAll / PACK_B_PANELS);
  const maxChunks = Math.floor((MAX_JOBS - packAJobs - packBJobs) / mBlocks);
  if (maxChunks < 1) return false;
  // GEMM jobs: MC rows x a chunk of columns. Column chunks give enough jobs for
  // every thread (about 3 per thread) when row blocks alone are too few, and
  // keep jobs at most ~JOB_FLOPS (a thread descheduled mid-job then delays the
  // others less; the B columns a job sweeps also stay in L2).
  const wantChunks = Math.max(threads > 1 ? Math.ceil((3 * threads) / (mBlocks * batch)) : 1, Math.ceil((2 * Math.min(MC, M) * Npad * K) / JOB_FLOPS));
  const chunkPanels = Math.ceil(nPanelsAll / Math.max(1, Math.min(nPanelsAll, wantChunks, maxChunks)));
  const chunks = Math.ceil(nPanelsAll / chunkPanels);
  const jobsPerEntry = mBlocks * chunks + packAJobs + packBJobs;
  const REC = REC_WORDS * 4;
  // The raw operands are copied in whole; per entry of a batch group: Ap, Bp, C.
  const rawA = A.length, rawB = Bm.length;
  const rawBytes = align(rawA * 4) + align(rawB * 4);
  const per = { ap: Mpad * K * 4, bp: K * Npad * 4, c: Mpad * Npad * 4 };
  const entryBytes = per.ap + per.bp + per.c + jobsPerEntry * REC;
  const group = Math.max(1, Math.min(batch, Math.floor(GROUP_BYTES / entryBytes), Math.floor(MAX_JOBS / jobsPerEntry)));
  if (rawBytes + group * entryBytes + 1024 > MAX_PAGES * PAGE) return false;
  const aRaw = 0;
  const bRaw = align(rawA * 4);
  const gBase = rawBytes;
  for (let b0 = 0; b0 < batch; b0 += group) {
    const g = Math.min(group, batch - b0);
    const nPack = g * (packAJobs + packBJobs);
    const nGemm = g * mBlocks * chunks;
    const packOff = gBase;
    const gemmOff = packOff + nPack * REC;
    const apOff = align(gemmOff + nGemm * REC);
    const bpOff = align(apOff + g * per.ap);
    const cOff = align(bpOff + g * per.bp);
    const total = cOff + g * per.c;
    const have = s.memory.buffer.byteLength;
    if (total > have) s.memory.grow(Math.ceil((total - have) / PAGE));
    const buf = s.memory.buffer;
    const F = new Float32Array(buf);
    const I = new Int32Array(buf);
    if (b0 === 0) {
      if (A instanceof Float32Array) F.set(A, aRaw >> 2);
      else for (let i = 0; i < rawA; i++) F[(aRaw >> 2) + i] = A[i]!;
      if (Bm instanceof Float32Array) F.set(Bm, bRaw >> 2);
      else for (let i = 0; i < rawB; i++) F[(bRaw >> 2) + i] = Bm[i]!;
    }
    // Job records: packing, then the GEMM tiles.
    let r = packOff >> 2;
    for (let e = 0; e < g; e++) {
      const be = b0 + e;
      for (let q = 0; q < mPanelsAll; q += PACK_A_PANELS, r += REC_WORDS)
        I.set([KIND_PACK_A, aRaw + be * sab * 4, sam * 4, apOff + e * per.ap, K, M, Mpad, q, Math.min(mPanelsAll, q + PACK_A_PANELS), sak * 4], r);
      for (let q = 0; q < nPanelsAll; q += PACK_B_PANELS, r += REC_WORDS)
        I.set([KIND_PACK_B, bRaw + be * sbb * 4, sbk * 4, bpOff + e * per.bp, K, N, Npad, q, Math.min(nPanelsAll, q + PACK_B_PANELS), sbn * 4], r);
    }
    for (let e = 0; e < g; e++)
      for (let ib = 0; ib < mBlocks; ib++)
        for (let ch = 0; ch < chunks; ch++, r += REC_WORDS) {
          const p0 = ib * blkPanels;
          const q0 = ch * chunkPanels;
          I[r] = KIND_GEMM;
          I[r + JOB.AP] = apOff + e * per.ap;
          I[r + JOB.MPAD] = Mpad;
          I[r + JOB.P0] = p0;
          I[r + JOB.MPANELS] = Math.min(blkPanels, mPanelsAll - p0);
          I[r + JOB.BP] = bpOff + e * per.bp;
          I[r + JOB.NPAD] = Npad;
          I[r + JOB.Q0] = q0;
          I[r + JOB.NPANELS] = Math.min(chunkPanels, nPanelsAll - q0);
          I[r + JOB.C] = cOff + e * per.c + (p0 * mr * Npad + q0 * NR) * 4;
          I[r + JOB.LDC] = Npad * 4;
          I[r + JOB.K] = K;
        }
    if (pool && nPack > 1) pool.run(s.job, nPack, packOff, REC);
    else for (let i = 0; i < nPack; i++) s.job(packOff + i * REC);
    if (pool && nGemm > 1) pool.run(s.job, nGemm, gemmOff, REC);
    else for (let i = 0; i < nGemm; i++) s.job(gemmOff + i * REC);
    // Copy C out.
    for (let e = 0; e < g; e++) {
      const c0 = (cOff + e * per.c) >> 2;
      const o0 = (b0 + e) * M * N;
      if (Npad === N) out.set(F.subarray(c0, c0 + M * N), o0);
      else for (let i = 0; i < M; i++) out.set(F.subarray(c0 + i * Npad, c0 + i * Npad + N), o0 + i * N);
    }
  }
  return true;
}
