import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as P from "../src/primitives.js";
import { setCpuMatmulImpl, type CpuMatmulImpl } from "../src/backend/cpu/index.js";
import {
  setWasmSgemmOptions,
  wasmSgemmAvailable,
  wasmSgemmBatched,
  wasmSgemmPoolStats,
  wasmSgemmRelaxed,
  wasmSgemmThreads,
  type WasmSgemmOptions,
} from "../src/backend/cpu/wasm/sgemm.js";
import { FnBuilder, I32, emitModule, op, relaxedProbe, sharedMemoryProbe, simdProbe, sleb, uleb } from "../src/backend/cpu/wasm/emit.js";
import { gemmModuleBytes } from "../src/backend/cpu/wasm/kernels.js";
import { apply, f32 } from "./cpu-util.js";

interface WasmCtors {
  Module: new (b: Uint8Array) => object;
  Instance: new (m: object, i: object) => { exports: Record<string, unknown> };
  Memory: new (d: { initial: number; maximum: number }) => object;
}
const WA = (globalThis as { WebAssembly?: { validate(b: Uint8Array): boolean } }).WebAssembly!;

/** Deterministic pseudo-random floats in [-1, 1), rounded to float32. */
function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/**
 * Naive float64 reference for out[b,m,n] = sum_k lhs(b,m,k) rhs(b,k,n), plus a
 * per-element error bound for float32 accumulation: (K + 2) * 2^-23 * sum_k |lhs*rhs|.
 */
function naive(
  B: number, M: number, N: number, K: number,
  lhs: (b: number, m: number, k: number) => number,
  rhs: (b: number, k: number, n: number) => number,
): { want: Float64Array; tol: Float64Array } {
  const want = new Float64Array(B * M * N);
  const tol = new Float64Array(B * M * N);
  for (let b = 0; b < B; b++)
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let s = 0, a = 0;
        for (let k = 0; k < K; k++) {
          const p = lhs(b, m, k) * rhs(b, k, n);
          s += p;
          a += Math.abs(p);
        }
        const i = (b * M + m) * N + n;
        want[i] = s;
        tol[i] = (K + 2) * 2 ** -23 * a + 1e-30;
      }
  return { want, tol };
}

/** Row-major [M,K] x [K,N] reference (faster than the index-function form, for the big cases). */
function naiveMM(a: Float32Array, b: Float32Array, M: number, N: number, K: number): { want: Float64Array; tol: Float64Array } {
  const want = new Float64Array(M * N);
  const abs = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let k = 0; k < K; k++) {
      const x = a[m * K + k]!;
      const o = m * N;
      const bo = k * N;
      for (let n = 0; n < N; n++) {
        const p = x * b[bo + n]!;
        want[o + n]! += p;
        abs[o + n]! += Math.abs(p);
      }
    }
  const tol = abs.map((v) => (K + 2) * 2 ** -23 * v + 1e-30);
  return { want, tol };
}

function expectClose(got: ArrayLike<number>, { want, tol }: { want: Float64Array; tol: Float64Array }): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < got.length; i++)
    if (!(Math.abs(got[i]! - want[i]!) <= tol[i]!)) throw new Error(`element ${i}: got ${got[i]}, want ${want[i]} (tol ${tol[i]})`);
}

const mm = { lhsContracting: [1], rhsContracting: [0], lhsBatch: [], rhsBatch: [] };
const SIZES = [1, 3, 17, 65, 130, 257, 513];

let prevImpl: CpuMatmulImpl;
let prevOpts: WasmSgemmOptions;
beforeAll(() => {
  prevImpl = setCpuMatmulImpl("auto");
  prevOpts = setWasmSgemmOptions({});
});
afterAll(() => {
  setCpuMatmulImpl(prevImpl);
  setWasmSgemmOptions({ ...prevOpts, alwaysThread: false });
});

describe("wasm emitter", () => {
  it("encodes LEB128", () => {
    expect(uleb(0)).toEqual([0]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(uleb(0x105)).toEqual([0x85, 0x02]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
  });
  it("builds runnable functions (loops, locals)", () => {
    // sum(i for i in [0, n)) via forRange
    const f = new FnBuilder([I32], [I32]);
    const i = f.local(I32), acc = f.local(I32);
    f.forRange(i, 0, 0, 1, () => f.inc(acc, () => f.get(i)));
    f.get(acc);
    const bytes = emitModule([{ name: "sum", fn: f.spec() }], { shared: false, minPages: 1, maxPages: 1 });
    const W = (globalThis as unknown as { WebAssembly: WasmCtors }).WebAssembly;
    const inst = new W.Instance(new W.Module(bytes), { e: { m: new W.Memory({ initial: 1, maximum: 1 }) } });
    const sum = inst.exports.sum as (n: number) => number;
    expect([sum(0), sum(1), sum(10), sum(1000)]).toEqual([0, 0, 45, 499500]);
    expect(op.i32Const(-1)).toEqual([0x41, 0x7f]);
  });
  it("emits modules the runtime validates", () => {
    expect(WA.validate(simdProbe())).toBe(true); // Node 20 has SIMD128
    expect(WA.validate(sharedMemoryProbe())).toBe(true);
    const relaxed = WA.validate(relaxedProbe());
    for (const shared of [false, true])
      for (const [mr, nrv, unroll] of [[4, 2, 1], [4, 2, 4], [6, 2, 2], [3, 3, 1], [1, 1, 1]] as const) {
        expect(WA.validate(gemmModuleBytes({ mr, nrv, kc: 128, unroll, madd: false }, shared, 16))).toBe(true);
        expect(WA.validate(gemmModuleBytes({ mr, nrv, kc: 128, unroll, madd: true }, shared, 16))).toBe(relaxed);
      }
    expect(wasmSgemmAvailable()).toBe(true);
    expect(wasmSgemmRelaxed()).toBe(relaxed);
  });
});

describe("wasm sgemm feature fallback", () => {
  it("without SIMD, dot_general falls back to the JS kernel (bit-identical)", () => {
    const [M, N, K] = [70, 33, 90];
    const a = f32(Array.from(rand(M * K, 5)), [M, K]);
    const b = f32(Array.from(rand(K * N, 6)), [K, N]);
    setCpuMatmulImpl("js");
    const [js] = apply(P.dotGeneral, mm, [a, b]);
    try {
      setWasmSgemmOptions({ simd: false });
      expect(wasmSgemmAvailable()).toBe(false);
      expect(wasmSgemmBatched(new Float32Array(4), new Float32Array(4), new Float32Array(4), 1, 2, 2, 2)).toBe(false);
      for (const impl of ["wasm", "auto"] as const) {
        setCpuMatmulImpl(impl);
        expect(apply(P.dotGeneral, mm, [a, b])[0]).toEqual(js);
      }
    } finally {
      setWasmSgemmOptions({ simd: true });
      setCpuMatmulImpl("auto");
    }
    expect(wasmSgemmAvailable()).toBe(true);
    setCpuMatmulImpl("wasm");
    expectClose(apply(P.dotGeneral, mm, [a, b])[0]!, naiveMM(new Float32Array(a.data as ArrayLike<number>), new Float32Array(b.data as ArrayLike<number>), M, N, K));
    setCpuMatmulImpl("auto");
  });
});

type Path = [name: string, impl: CpuMatmulImpl, opts: WasmSgemmOptions];
const paths: Path[] = [
  ["js", "js", {}],
  ["wasm single-threaded", "wasm", { threads: false }],
  ["wasm threaded (2 threads, every size)", "wasm", { threads: true, threadCount: 2, alwaysThread: true }],
  ["auto", "auto", { threads: true, alwaysThread: false }],
];

/** Waits (asynchronously) until the pool's workers are running, so threaded tests really use them. */
async function poolOnline(): Promise<void> {
  if (wasmSgemmThreads() <= 1) return;
  for (let i = 0; i < 500; i++) {
    const s = wasmSgemmPoolStats();
    if (s && s.online >= s.threads - 1) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each(paths)("cpu f32 dot_general, %s", (name, impl, opts) => {
  const threaded = name.includes("threaded (");
  beforeAll(async () => {
    setWasmSgemmOptions(opts);
    if (threaded) {
      expect(wasmSgemmThreads()).toBe(2);
      await poolOnline();
    }
  });
  afterAll(() => setWasmSgemmOptions({ threads: true, alwaysThread: false }));

  it("matches a naive reference at sizes 1..513", { timeout: 120_000 }, () => {
    setCpuMatmulImpl(impl);
    setWasmSgemmOptions(opts);
    const jobs0 = wasmSgemmPoolStats()?.workerJobs ?? 0;
    let seed = 1;
    for (const M of SIZES)
      for (const K of SIZES)
        for (const N of SIZES) {
          const big = M * N * K;
          // every combination up to ~2.3M MACs, plus a few large ones
          if (big > 2_300_000 && !(M === N && N === K) && !(M === 513 && K === 17) && !(N === 513 && K === 130)) continue;
          if (impl === "js" && big > 20_000_000) continue;
          const a = rand(M * K, seed++);
          const b = rand(K * N, seed++);
          const [got] = apply(P.dotGeneral, mm, [f32(Array.from(a), [M, K]), f32(Array.from(b), [K, N])]);
          expectClose(got!, naiveMM(a, b, M, N, K));
        }
    if (threaded) expect((wasmSgemmPoolStats()?.workerJobs ?? 0) - jobs0).toBeGreaterThan(0);
  });
  it("batched dot_general with permuted layouts", () => {
    setCpuMatmulImpl(impl);
    setWasmSgemmOptions(opts);
    for (const [B, M, N, K] of [[3, 5, 4, 7], [2, 65, 130, 17], [3, 130, 65, 257], [5, 64, 64, 64], [2, 1, 257, 513]] as const) {
      // lhs [K, B, M] (contract 0, batch 1); rhs [N, K, B] (contract 1, batch 2) → out [B, M, N]
      const a = rand(K * B * M, 11 + M);
      const b = rand(N * K * B, 12 + N);
      const [got] = apply(P.dotGeneral, { lhsContracting: [0], rhsContracting: [1], lhsBatch: [1], rhsBatch: [2] }, [
        f32(Array.from(a), [K, B, M]),
        f32(Array.from(b), [N, K, B]),
      ]);
      expectClose(got!, naive(B, M, N, K, (bb, m, k) => a[(k * B + bb) * M + m]!, (bb, k, n) => b[(n * K + k) * B + bb]!));
    }
    // standard layout [B,M,K] x [B,K,N]
    const [B, M, N, K] = [4, 97, 71, 130];
    const a = rand(B * M * K, 3), b = rand(B * K * N, 4);
    const [got] = apply(P.dotGeneral, { lhsContracting: [2], rhsContracting: [1], lhsBatch: [0], rhsBatch: [0] }, [
      f32(Array.from(a), [B, M, K]),
      f32(Array.from(b), [B, K, N]),
    ]);
    expectClose(got!, naive(B, M, N, K, (bb, m, k) => a[(bb * M + m) * K + k]!, (bb, k, n) => b[(bb * K + k) * N + n]!));
  });
});

describe.each(paths)("cpu f32 dot_general layouts, %s", (_, impl, opts) => {
  afterAll(() => setWasmSgemmOptions({ threads: true, alwaysThread: false }));
  it("transposed operands and grouped free / contracting axes", () => {
    setCpuMatmulImpl(impl);
    setWasmSgemmOptions(opts);
    for (const [M, N, K] of [[67, 45, 130], [130, 9, 257], [5, 70, 64]] as const) {
      // A^T @ B^T: lhs [K, M] contract 0; rhs [N, K] contract 1
      const a = rand(K * M, M), b = rand(N * K, N);
      const [got] = apply(P.dotGeneral, { lhsContracting: [0], rhsContracting: [1], lhsBatch: [], rhsBatch: [] }, [f32(Array.from(a), [K, M]), f32(Array.from(b), [N, K])]);
      expectClose(got!, naive(1, M, N, K, (_b, m, k) => a[k * M + m]!, (_b, k, n) => b[n * K + k]!));
      // A @ B^T (x @ W.T)
      const a2 = rand(M * K, M + 1);
      const [got2] = apply(P.dotGeneral, { lhsContracting: [1], rhsContracting: [1], lhsBatch: [], rhsBatch: [] }, [f32(Array.from(a2), [M, K]), f32(Array.from(b), [N, K])]);
      expectClose(got2!, naive(1, M, N, K, (_b, m, k) => a2[m * K + k]!, (_b, k, n) => b[n * K + k]!));
    }
    // lhs [B, M1, M2, K1, K2], rhs [B, K1, K2, N]: groups flatten (M = M1*M2, K = K1*K2)
    const [B, M1, M2, K1, K2, N] = [2, 9, 11, 5, 13, 33];
    const a = rand(B * M1 * M2 * K1 * K2, 7), b = rand(B * K1 * K2 * N, 8);
    const [got] = apply(P.dotGeneral, { lhsContracting: [3, 4], rhsContracting: [1, 2], lhsBatch: [0], rhsBatch: [0] }, [
      f32(Array.from(a), [B, M1, M2, K1, K2]),
      f32(Array.from(b), [B, K1, K2, N]),
    ]);
    const [M, K] = [M1 * M2, K1 * K2];
    expectClose(got!, naive(B, M, N, K, (bb, m, k) => a[(bb * M + m) * K + k]!, (bb, k, n) => b[(bb * K + k) * N + n]!));
    // contracting axes out of order ([4, 3] / [2, 1]): needs the permuting copy
    const [got3] = apply(P.dotGeneral, { lhsContracting: [4, 3], rhsContracting: [2, 1], lhsBatch: [0], rhsBatch: [0] }, [
      f32(Array.from(a), [B, M1, M2, K1, K2]),
      f32(Array.from(b), [B, K1, K2, N]),
    ]);
    expectClose(got3!, naive(B, M, N, K, (bb, m, k) => a[(bb * M + m) * K + k]!, (bb, k, n) => b[(bb * K + k) * N + n]!));
  });
});

describe("wasmSgemmBatched", () => {
  afterAll(() => setWasmSgemmOptions({ threads: true, alwaysThread: false }));
  it("handles K = 0, empty shapes and repeated calls with shrinking / growing sizes", { timeout: 60_000 }, async () => {
    for (const threads of [false, true]) {
      setWasmSgemmOptions({ threads, threadCount: 2, alwaysThread: true });
      if (threads) await poolOnline();
      const out = new Float32Array(6).fill(7);
      expect(wasmSgemmBatched(new Float32Array(0), new Float32Array(0), out, 2, 1, 3, 0)).toBe(true);
      expect(Array.from(out)).toEqual([0, 0, 0, 0, 0, 0]);
      expect(wasmSgemmBatched(new Float32Array(0), new Float32Array(0), new Float32Array(0), 2, 0, 3, 4)).toBe(true);
      for (const n of [140, 9, 300, 33, 1, 64]) {
        const a = rand(n * n, n), b = rand(n * n, n + 1);
        const o = new Float32Array(n * n);
        expect(wasmSgemmBatched(a, b, o, 1, n, n, n)).toBe(true);
        expectClose(o, naiveMM(a, b, n, n, n));
      }
      // plain arrays as inputs
      const a = Array.from(rand(6, 1)), b = Array.from(rand(6, 2));
      const o = new Float32Array(4);
      expect(wasmSgemmBatched(a, b, o, 1, 2, 2, 3)).toBe(true);
      expectClose(o, naiveMM(Float32Array.from(a), Float32Array.from(b), 2, 2, 3));
    }
  });
  it("threaded runs back to back stay correct (job-queue generations)", { timeout: 60_000 }, async () => {
    setWasmSgemmOptions({ threads: true, threadCount: 2, alwaysThread: true });
    await poolOnline();
    for (let it = 0; it < 300; it++) {
      const n = 5 + (it % 7) * 11; // 5..71: few jobs each, so runs are short
      const a = rand(n * 9, it + 1), b = rand(9 * n, it + 2);
      const o = new Float32Array(n * n);
      wasmSgemmBatched(a, b, o, 1, n, n, 9);
      expectClose(o, naiveMM(a, b, n, n, 9));
    }
  });
});
