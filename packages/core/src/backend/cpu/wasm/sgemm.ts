/**
 * float32 GEMM on WebAssembly SIMD128 (kernels.ts), optionally multi-threaded
 * over the runtime's worker pool (runtime.ts, pool.ts), all in the one heap
 * memory (heap.ts).
 *
 * Per call (a group of g batch entries at a time), in one scratch block of the
 * heap (bytes, 64-aligned):
 *   A, B  the raw operands, copied in whole (any strided layout, see Strides3)
 *         unless they already live in the heap (CPU buffers usually do)
 *   jobs  job records (kernels.ts): packing jobs, then GEMM jobs
 *   Ap    [g] x Mpad x K, A packed into MR-row panels per KC block (Mpad = M rounded up to MR)
 *   Bp    [g] x K x Npad, B packed into NR-column panels per KC block (Npad = N rounded up to NR)
 *   C     [g] x Mpad x Npad, whose rows are copied out; when the output lives
 *         in the heap and M, N are whole tiles, the kernel writes it directly
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
import { JOB, KIND_GEMM, KIND_PACK_A, KIND_PACK_B, REC_WORDS, gemmModuleBytes, type GemmConfig } from "./kernels.js";
import { MAX_PAGES, compileModule, memoryDecl, options, poolStats, runJobs, runtime, setWasmOptions, threadCount, type WasmOptions } from "./runtime.js";
import { PAGE } from "./heap.js";

/** Batch groups are sized to stay below this many bytes of scratch where possible. */
const GROUP_BYTES = 256 << 20;
/** Below this many flops (per call, all batch entries) the GEMM stays on the calling thread. */
const THREAD_MIN_FLOPS = 2 * 96 * 96 * 96;
const MAX_JOBS = 0xfff0;
/** Target upper bound on the flops of one job. */
let JOB_FLOPS = 1 << 26;
/** Row / column panels per packing job. */
const PACK_A_PANELS = 16, PACK_B_PANELS = 8;

let config: GemmConfig & { mc: number } = { mr: 4, nrv: 2, kc: 256, unroll: 1, madd: false, mc: 64 };
let configEpoch = 0;

/** Feature overrides for tests and benchmarks (they apply to every CPU Wasm kernel). */
export type WasmSgemmOptions = WasmOptions;

/** Sets feature overrides; returns the previous ones. Changing `simd`/`relaxed`/`threadCount` resets modules and pool. */
export function setWasmSgemmOptions(o: WasmSgemmOptions): WasmSgemmOptions {
  return setWasmOptions(o);
}

/** Enable or disable worker threads (for tests / benchmarks). */
export function setWasmSgemmThreads(on: boolean): void {
  options.threads = on;
}

/** Internal: override the kernel configuration (benchmarks). */
export function _setWasmSgemmConfig(c: Partial<GemmConfig & { mc: number; jobFlops: number }>): void {
  const { jobFlops, ...rest } = c;
  if (jobFlops !== undefined) JOB_FLOPS = jobFlops;
  config = { ...config, ...rest };
  configEpoch++;
}

/** Whether this runtime can run the Wasm SIMD kernel. */
export function wasmSgemmAvailable(): boolean {
  return runtime() !== null;
}

/** Whether the kernel uses f32x4.relaxed_madd. */
export function wasmSgemmRelaxed(): boolean {
  return runtime()?.relaxed ?? false;
}

/** Threads a threaded GEMM would use now (1: single-threaded). */
export function wasmSgemmThreads(): number {
  return runtime() ? threadCount() : 1;
}

/** Pool statistics (tests): threads, workers started, jobs run by workers; null without a pool. */
export function wasmSgemmPoolStats(): { threads: number; online: number; workerJobs: number; badModules: number } | null {
  return poolStats();
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
  const rt = runtime();
  if (!rt) return false;
  if (batch === 0 || M === 0 || N === 0) return true;
  if (K === 0) {
    out.fill(0, 0, batch * M * N);
    return true;
  }
  const heap = rt.heap;
  const mod = compileModule(rt, `sgemm:${configEpoch}:${JSON.stringify(config)}:${rt.relaxed}`, () =>
    gemmModuleBytes({ ...config, madd: rt.relaxed }, memoryDecl(rt).shared, MAX_PAGES),
  );
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
  const threaded = options.threads && (options.alwaysThread || 2 * batch * M * N * K >= THREAD_MIN_FLOPS);
  const threads = threaded ? threadCount() : 1;
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
  // Operands already in the heap are read in place; others are copied in whole.
  const inHeap = (x: ArrayLike<number>): x is Float32Array => x instanceof Float32Array && rt.shared && heap.contains(x);
  const aIn = inHeap(A), bIn = inHeap(Bm);
  const rawA = aIn ? 0 : A.length, rawB = bIn ? 0 : Bm.length;
  const rawBytes = align(rawA * 4) + align(rawB * 4);
  // The kernel writes whole tiles: straight into `out` when it is in the heap and M, N are whole tiles.
  // (both in the heap: compare byte ranges)
  const overlapsOut = (x: ArrayLike<number>) =>
    x instanceof Float32Array && x.byteOffset < out.byteOffset + out.byteLength && out.byteOffset < x.byteOffset + x.byteLength;
  const direct = rt.shared && heap.contains(out) && Mpad === M && Npad === N && !(aIn && overlapsOut(A)) && !(bIn && overlapsOut(Bm));
  const per = { ap: Mpad * K * 4, bp: K * Npad * 4, c: direct ? 0 : Mpad * Npad * 4 };
  const entryBytes = per.ap + per.bp + per.c + jobsPerEntry * REC;
  const group = Math.max(1, Math.min(batch, Math.floor(GROUP_BYTES / entryBytes), Math.floor(MAX_JOBS / jobsPerEntry)));
  const scratchBytes = rawBytes + group * entryBytes + 4 * 64;
  if (scratchBytes > MAX_PAGES * PAGE) return false;
  const base = heap.alloc(scratchBytes);
  if (base < 0) return false;
  try {
    const aRaw = aIn ? (A as Float32Array).byteOffset : base;
    const bRaw = bIn ? (Bm as Float32Array).byteOffset : base + align(rawA * 4);
    const gBase = base + rawBytes;
    // Views after the last allocation (a non-shared memory detaches them on grow).
    const buf = heap.buffer;
    const F = new Float32Array(buf);
    const I = new Int32Array(buf);
    if (!aIn) {
      if (A instanceof Float32Array) F.set(A, aRaw >> 2);
      else for (let i = 0; i < rawA; i++) F[(aRaw >> 2) + i] = A[i]!;
    }
    if (!bIn) {
      if (Bm instanceof Float32Array) F.set(Bm, bRaw >> 2);
      else for (let i = 0; i < rawB; i++) F[(bRaw >> 2) + i] = Bm[i]!;
    }
    for (let b0 = 0; b0 < batch; b0 += group) {
      const g = Math.min(group, batch - b0);
      const nPack = g * (packAJobs + packBJobs);
      const nGemm = g * mBlocks * chunks;
      const packOff = gBase;
      const gemmOff = packOff + nPack * REC;
      const apOff = align(gemmOff + nGemm * REC);
      const bpOff = align(apOff + g * per.ap);
      const cOff = align(bpOff + g * per.bp);
      const cAt = (e: number): number => (direct ? out.byteOffset + (b0 + e) * M * N * 4 : cOff + e * per.c);
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
            I[r + JOB.C] = cAt(e) + (p0 * mr * Npad + q0 * NR) * 4;
            I[r + JOB.LDC] = Npad * 4;
            I[r + JOB.K] = K;
          }
      runJobs(mod, nPack, packOff, REC, threaded);
      runJobs(mod, nGemm, gemmOff, REC, threaded);
      if (direct) continue;
      // Copy C out.
      for (let e = 0; e < g; e++) {
        const c0 = cAt(e) >> 2;
        const o0 = (b0 + e) * M * N;
        if (Npad === N) out.set(F.subarray(c0, c0 + M * N), o0);
        else for (let i = 0; i < M; i++) out.set(F.subarray(c0 + i * Npad, c0 + i * Npad + N), o0 + i * N);
      }
    }
  } finally {
    heap.free(base);
  }
  return true;
}
