/**
 * dot_general on the CPU: normalise both operands to batched [B,M,K] x [B,K,N]
 * (transposing copies only when the layout needs it), then run a GEMM.
 *
 * float32 GEMM: cache-blocked (KC x MC blocks of A, KC x N panels of B,
 * packed into float64 panels of 4 rows / 4 columns), register-tiled 4x4
 * micro-kernel, accumulation in float64 (rounded to float32 once per output).
 * Integer GEMM is a plain i-k-j loop with wrapping arithmetic.
 *
 * float32 GEMMs with M*N*K >= WASM_MIN_FLOPS (per batch entry) go to the
 * WebAssembly SIMD kernel in ./wasm (float32 accumulation, multi-threaded over
 * workers where possible) when the runtime supports it, reading strided
 * (e.g. transposed) operands directly; `setCpuMatmulImpl` or the
 * REFS_CPU_MATMUL environment variable ("js" | "wasm" | "auto") forces a path.
 */
import { implSwitch, type CpuImpl } from "./impl.js";
import { shapeSize, stridesOf, type Shape } from "../../aval.js";
import type { DType, TypedArray } from "../../dtype.js";
import type { DotGeneralParams } from "../../primitives.js";
import type { Eqn } from "../../program.js";
import type { RoutineFn } from "./routines.js";
import { wasmSgemmBatched } from "./wasm/sgemm.js";

export type CpuMatmulImpl = CpuImpl;

/** Per batch entry, M*N*K at or above which float32 GEMMs use the Wasm kernel (it is ~5x faster already at 32^3). */
const WASM_MIN_FLOPS = 32 * 32 * 32;

const matmulImpl = implSwitch("REFS_CPU_MATMUL");

/**
 * Choose the float32 matmul kernel: "js" (float64 accumulation), "wasm" (SIMD,
 * at every size; falls back to JS where Wasm SIMD is unavailable) or "auto".
 * Returns the previous setting.
 */
export function setCpuMatmulImpl(impl: CpuMatmulImpl): CpuMatmulImpl {
  return matmulImpl.set(impl);
}

function useWasm(M: number, N: number, K: number): boolean {
  const impl = matmulImpl.get();
  return impl === "wasm" || (impl === "auto" && M * N * K >= WASM_MIN_FLOPS);
}

/**
 * The stride (in elements) of the index that flattens `axes` (in this order,
 * row-major) of an array with strides `st`, when those axes are consecutive
 * and increasing in memory order; null otherwise. No axes: stride 0.
 */
function groupStride(st: readonly number[], axes: readonly number[]): number | null {
  for (let i = 1; i < axes.length; i++) if (axes[i] !== axes[i - 1]! + 1) return null;
  return axes.length === 0 ? 0 : st[axes[axes.length - 1]!]!;
}

/** Row-major copy of `src` (shape `shape`) with axes permuted (out axis i = in axis perm[i]). */
export function permuteCopy(src: TypedArray, shape: Shape, perm: readonly number[]): TypedArray {
  if (perm.every((p, i) => p === i)) return src;
  const nd = shape.length;
  const st = stridesOf(shape);
  const os = perm.map((p) => shape[p]!);
  const pst = perm.map((p) => st[p]!);
  const out = new (src.constructor as new (n: number) => TypedArray)(src.length);
  const n = src.length;
  if (n === 0) return out;
  const inner = os[nd - 1]!;
  const innerSt = pst[nd - 1]!;
  const c = new Array<number>(nd).fill(0);
  let o = 0;
  const rows = n / inner;
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let d = 0; d < nd - 1; d++) s += c[d]! * pst[d]!;
    for (let k = 0; k < inner; k++) out[o++] = src[s + k * innerSt]!;
    for (let d = nd - 2; d >= 0; d--) {
      if (++c[d]! < os[d]!) break;
      c[d] = 0;
    }
  }
  return out;
}

const MC = 64;
const KC = 256;

/**
 * C[M,N] (float64 accumulator, row-major) += A[M,K] * B[K,N], A and B row-major
 * float32 at the given offsets.
 */
export function sgemm(
  A: ArrayLike<number>,
  aOff: number,
  B: ArrayLike<number>,
  bOff: number,
  C: Float64Array,
  M: number,
  N: number,
  K: number,
): void {
  const nPanels = (N + 3) >> 2;
  const Bp = new Float64Array(nPanels * 4 * Math.min(KC, K));
  const Ap = new Float64Array(((Math.min(MC, M) + 3) >> 2) * 4 * Math.min(KC, K));
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = Math.min(KC, K - k0);
    // Pack B[k0:k0+kc, :] into 4-column panels: Bp[(p*kc + k)*4 + c].
    for (let p = 0; p < nPanels; p++) {
      const j0 = p * 4;
      const w = Math.min(4, N - j0);
      let d = p * kc * 4;
      for (let k = 0; k < kc; k++) {
        const s = bOff + (k0 + k) * N + j0;
        if (w === 4) {
          Bp[d] = B[s]!;
          Bp[d + 1] = B[s + 1]!;
          Bp[d + 2] = B[s + 2]!;
          Bp[d + 3] = B[s + 3]!;
        } else {
          for (let c = 0; c < 4; c++) Bp[d + c] = c < w ? B[s + c]! : 0;
        }
        d += 4;
      }
    }
    for (let i0 = 0; i0 < M; i0 += MC) {
      const mc = Math.min(MC, M - i0);
      const mPanels = (mc + 3) >> 2;
      // Pack A[i0:i0+mc, k0:k0+kc] into 4-row panels: Ap[(p*kc + k)*4 + r].
      for (let p = 0; p < mPanels; p++) {
        const r0 = i0 + p * 4;
        const h = Math.min(4, M - r0);
        const d0 = p * kc * 4;
        for (let r = 0; r < 4; r++) {
          if (r < h) {
            const s = aOff + (r0 + r) * K + k0;
            for (let k = 0; k < kc; k++) Ap[d0 + k * 4 + r] = A[s + k]!;
          } else for (let k = 0; k < kc; k++) Ap[d0 + k * 4 + r] = 0;
        }
      }
      for (let pi = 0; pi < mPanels; pi++) {
        const r0 = i0 + pi * 4;
        const h = Math.min(4, M - r0);
        const ab = pi * kc * 4;
        for (let pj = 0; pj < nPanels; pj++) {
          const j0 = pj * 4;
          const w = Math.min(4, N - j0);
          let bb = pj * kc * 4;
          let a = ab;
          let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
          let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
          let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
          let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
          for (let k = 0; k < kc; k++) {
            const b0 = Bp[bb]!, b1 = Bp[bb + 1]!, b2 = Bp[bb + 2]!, b3 = Bp[bb + 3]!;
            const a0 = Ap[a]!, a1 = Ap[a + 1]!, a2 = Ap[a + 2]!, a3 = Ap[a + 3]!;
            c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
            c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
            c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
            c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            a += 4;
            bb += 4;
          }
          if (h === 4 && w === 4) {
            let o = r0 * N + j0;
            C[o] += c00; C[o + 1] += c01; C[o + 2] += c02; C[o + 3] += c03;
            o += N;
            C[o] += c10; C[o + 1] += c11; C[o + 2] += c12; C[o + 3] += c13;
            o += N;
            C[o] += c20; C[o + 1] += c21; C[o + 2] += c22; C[o + 3] += c23;
            o += N;
            C[o] += c30; C[o + 1] += c31; C[o + 2] += c32; C[o + 3] += c33;
          } else {
            const t = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
            for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) C[(r0 + r) * N + j0 + c] += t[r * 4 + c]!;
          }
        }
      }
    }
  }
}

/** Batched [B,M,K] x [B,K,N] → [B,M,N] for any dtype. */
export function batchedMatmul(
  dtype: DType,
  A: TypedArray,
  Bm: TypedArray,
  out: TypedArray,
  B: number,
  M: number,
  N: number,
  K: number,
): void {
  if (dtype === "float32") {
    if (useWasm(M, N, K) && wasmSgemmBatched(A, Bm, out as Float32Array, B, M, N, K)) return;
    const C = new Float64Array(M * N);
    for (let b = 0; b < B; b++) {
      C.fill(0);
      sgemm(A, b * M * K, Bm, b * K * N, C, M, N, K);
      out.set(C, b * M * N);
    }
    return;
  }
  for (let b = 0; b < B; b++) {
    const ao = b * M * K;
    const bo = b * K * N;
    const co = b * M * N;
    for (let i = 0; i < M; i++) {
      const row = new Float64Array(N);
      for (let k = 0; k < K; k++) {
        const a = A[ao + i * K + k]!;
        if (a === 0) continue;
        const bs = bo + k * N;
        if (dtype === "bool") for (let j = 0; j < N; j++) row[j] = row[j]! | (a & Bm[bs + j]!);
        else for (let j = 0; j < N; j++) row[j] = (row[j]! + Math.imul(a, Bm[bs + j]!)) | 0;
      }
      for (let j = 0; j < N; j++) out[co + i * N + j] = row[j]!;
    }
  }
}

export function dotGeneralRoutine(e: Eqn): RoutineFn {
  const { lhsContracting, rhsContracting, lhsBatch, rhsBatch } = e.params as DotGeneralParams;
  const la = e.inputs[0]!.aval;
  const ra = e.inputs[1]!.aval;
  const lFree = la.shape.map((_, i) => i).filter((i) => !lhsContracting.includes(i) && !lhsBatch.includes(i));
  const rFree = ra.shape.map((_, i) => i).filter((i) => !rhsContracting.includes(i) && !rhsBatch.includes(i));
  const lPerm = [...lhsBatch, ...lFree, ...lhsContracting];
  const rPerm = [...rhsBatch, ...rhsContracting, ...rFree];
  const B = shapeSize(lhsBatch.map((d) => la.shape[d]!));
  const M = shapeSize(lFree.map((d) => la.shape[d]!));
  const K = shapeSize(lhsContracting.map((d) => la.shape[d]!));
  const N = shapeSize(rFree.map((d) => ra.shape[d]!));
  const dtype = e.outputs[0]!.aval.dtype;
  // float32 operands whose batch / free / contracting axes each flatten to one
  // stride (row-major, transposed, ...) go to the Wasm kernel without a copy.
  const ls = stridesOf(la.shape);
  const rs = stridesOf(ra.shape);
  const a3 = [groupStride(ls, lhsBatch), groupStride(ls, lFree), groupStride(ls, lhsContracting)];
  const b3 = [groupStride(rs, rhsBatch), groupStride(rs, rhsContracting), groupStride(rs, rFree)];
  const direct =
    dtype === "float32" && a3.every((x) => x !== null) && b3.every((x) => x !== null)
      ? { a: a3 as [number, number, number], b: b3 as [number, number, number] }
      : undefined;
  return (ins, alloc) => {
    const out = alloc(0);
    if (direct && useWasm(M, N, K) && wasmSgemmBatched(ins[0]!, ins[1]!, out as Float32Array, B, M, N, K, direct)) return [out];
    const A = permuteCopy(ins[0]!, la.shape, lPerm);
    const Bm = permuteCopy(ins[1]!, ra.shape, rPerm);
    batchedMatmul(dtype, A, Bm, out, B, M, N, K);
    return [out];
  };
}
