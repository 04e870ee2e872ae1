import { describe, expect, it } from "vitest";
import * as P from "../src/primitives.js";
import { apply, f32, i32, bool } from "./cpu-util.js";

/** Deterministic pseudo-random floats in [-1, 1), rounded to float32. */
function rand(n: number, seed: number): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return Math.fround(s / 2 ** 31 - 1);
  });
}

/** Naive reference: out[b,m,n] = sum_k lhs(b,m,k) * rhs(b,k,n), via index functions. */
function naive(
  B: number, M: number, N: number, K: number,
  lhs: (b: number, m: number, k: number) => number,
  rhs: (b: number, k: number, n: number) => number,
): number[] {
  const out: number[] = [];
  for (let b = 0; b < B; b++)
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += lhs(b, m, k) * rhs(b, k, n);
        out.push(s);
      }
  return out;
}

function expectClose(got: number[], want: number[], K: number): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < got.length; i++) {
    const tol = 1e-6 * Math.max(1, Math.sqrt(K)) + Math.abs(want[i]!) * 2 ** -23;
    if (Math.abs(got[i]! - want[i]!) > tol) throw new Error(`element ${i}: got ${got[i]}, want ${want[i]}`);
  }
}

const mm = { lhsContracting: [1], rhsContracting: [0], lhsBatch: [], rhsBatch: [] };

describe("cpu dot_general", () => {
  it("small hand-computed matmul", () => {
    expect(apply(P.dotGeneral, mm, [f32([1, 2, 3, 4, 5, 6], [2, 3]), f32([7, 8, 9, 10, 11, 12], [3, 2])])[0]).toEqual([58, 64, 139, 154]);
    expect(apply(P.dotGeneral, mm, [i32([1, 2, 3, 4], [2, 2]), i32([5, 6, 7, 8], [2, 2])])[0]).toEqual([19, 22, 43, 50]);
    expect(apply(P.dotGeneral, mm, [i32([65536, 0], [1, 2]), i32([65536, 0], [2, 1])])[0]).toEqual([0]);
    expect(apply(P.dotGeneral, mm, [bool([1, 0, 0, 1], [2, 2]), bool([0, 1, 1, 0], [2, 2])])[0]).toEqual([0, 1, 1, 0]);
    // vector dot: contracting the only axis
    expect(apply(P.dotGeneral, { lhsContracting: [0], rhsContracting: [0], lhsBatch: [], rhsBatch: [] }, [f32([1, 2, 3]), f32([4, 5, 6])])[0]).toEqual([32]);
  });
  it("matches a naive reference on odd sizes", () => {
    const sizes = [1, 3, 17, 65, 130];
    let seed = 1;
    for (const M of sizes)
      for (const K of [1, 17, 130, 300])
        for (const N of [1, 3, 65, 130]) {
          if (M * N * K > 2_000_000) continue;
          const a = rand(M * K, seed++);
          const b = rand(K * N, seed++);
          const [got] = apply(P.dotGeneral, mm, [f32(a, [M, K]), f32(b, [K, N])]);
          const want = naive(1, M, N, K, (_, m, k) => a[m * K + k]!, (_, k, n) => b[k * N + n]!);
          expectClose(got!, want, K);
        }
  });
  it("batched, with contracting and batch dims in any layout", () => {
    // lhs [K, B, M] (contract 0, batch 1); rhs [N, K, B] (contract 1, batch 2) → out [B, M, N]
    const [B, M, N, K] = [3, 5, 4, 7];
    const a = rand(K * B * M, 11);
    const b = rand(N * K * B, 12);
    const [got] = apply(P.dotGeneral, { lhsContracting: [0], rhsContracting: [1], lhsBatch: [1], rhsBatch: [2] }, [
      f32(a, [K, B, M]),
      f32(b, [N, K, B]),
    ]);
    const want = naive(B, M, N, K, (bb, m, k) => a[(k * B + bb) * M + m]!, (bb, k, n) => b[(n * K + k) * B + bb]!);
    expectClose(got!, want, K);
    // standard batched [B,M,K] x [B,K,N], int32
    const ai = Array.from({ length: 2 * 3 * 4 }, (_, i) => (i * 7) % 11 - 5);
    const bi = Array.from({ length: 2 * 4 * 2 }, (_, i) => (i * 5) % 7 - 3);
    const [gi] = apply(P.dotGeneral, { lhsContracting: [2], rhsContracting: [1], lhsBatch: [0], rhsBatch: [0] }, [
      i32(ai, [2, 3, 4]),
      i32(bi, [2, 4, 2]),
    ]);
    expect(gi).toEqual(naive(2, 3, 2, 4, (bb, m, k) => ai[(bb * 3 + m) * 4 + k]!, (bb, k, n) => bi[(bb * 4 + k) * 2 + n]!));
  });
  it("multiple free and contracting dims", () => {
    // lhs [2,3,4] contract [2,0]; rhs [4,5,2] contract [0,2] → out [3,5]
    const a = rand(24, 21);
    const b = rand(40, 22);
    const [got] = apply(P.dotGeneral, { lhsContracting: [2, 0], rhsContracting: [0, 2], lhsBatch: [], rhsBatch: [] }, [
      f32(a, [2, 3, 4]),
      f32(b, [4, 5, 2]),
    ]);
    const want: number[] = [];
    for (let m = 0; m < 3; m++)
      for (let n = 0; n < 5; n++) {
        let s = 0;
        for (let k2 = 0; k2 < 4; k2++) for (let k0 = 0; k0 < 2; k0++) s += a[(k0 * 3 + m) * 4 + k2]! * b[(k2 * 5 + n) * 2 + k0]!;
        want.push(s);
      }
    expectClose(got!, want, 8);
  });
});
