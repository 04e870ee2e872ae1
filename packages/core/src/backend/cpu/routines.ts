/**
 * Hand-written CPU routines for the primitives the fusion planner does not
 * fuse (pad, concatenate, argmax/argmin, gather/scatter, dynamic slices, sort,
 * cumsum). Each is prepared once per equation (shape arithmetic at compile
 * time) and returns a closure over typed arrays.
 */
import { shapeSize, stridesOf, type Shape } from "../../aval.js";
import { typedArrayFor, type DType, type TypedArray } from "../../dtype.js";
import type { Eqn } from "../../program.js";
import { dotGeneralRoutine } from "./matmul.js";

/** `alloc(k)` gives the buffer for output k (fresh, or a donated input's buffer). */
export type RoutineFn = (ins: readonly TypedArray[], alloc: (k: number) => TypedArray) => TypedArray[];

const fr = Math.fround;

/** Add for a dtype, as the elementwise `add` primitive computes it. */
function adder(dtype: DType): (a: number, b: number) => number {
  switch (dtype) {
    case "float32":
      return (a, b) => fr(a + b);
    case "int32":
      return (a, b) => (a + b) | 0;
    case "uint32":
      return (a, b) => (a + b) >>> 0;
    default:
      return (a, b) => a | b;
  }
}

/** Copy an n-d block of shape `block` from src (at srcStart) to dst (at dstStart). */
export function copyBlock(
  src: TypedArray,
  srcShape: Shape,
  srcStart: readonly number[],
  dst: TypedArray,
  dstShape: Shape,
  dstStart: readonly number[],
  block: Shape,
): void {
  const nd = block.length;
  if (shapeSize(block) === 0) return;
  const ss = stridesOf(srcShape);
  const ds = stridesOf(dstShape);
  let so = 0;
  let dof = 0;
  for (let i = 0; i < nd; i++) {
    so += srcStart[i]! * ss[i]!;
    dof += dstStart[i]! * ds[i]!;
  }
  if (nd === 0) {
    dst[dof] = src[so]!;
    return;
  }
  const inner = block[nd - 1]!;
  const idx = new Array<number>(nd - 1).fill(0);
  const rows = shapeSize(block.slice(0, nd - 1));
  for (let r = 0; r < rows; r++) {
    let s = so;
    let d = dof;
    for (let i = 0; i < nd - 1; i++) {
      s += idx[i]! * ss[i]!;
      d += idx[i]! * ds[i]!;
    }
    if (inner > 16) dst.set(src.subarray(s, s + inner), d);
    else for (let k = 0; k < inner; k++) dst[d + k] = src[s + k]!;
    for (let i = nd - 2; i >= 0; i--) {
      if (++idx[i]! < block[i]!) break;
      idx[i] = 0;
    }
  }
}

const clampI = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);

/** Float total order for sorting: NaNs last, -0 == 0. */
function cmpNum(a: number, b: number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  const an = a !== a;
  const bn = b !== b;
  return an === bn ? 0 : an ? 1 : -1;
}

export function makeRoutine(e: Eqn): RoutineFn {
  const name = e.prim.name;
  const inA = e.inputs.map((a) => a.aval);
  const outA = e.outputs.map((v) => v.aval);
  const out0 = outA[0]!;
  const P = e.params as Record<string, unknown>;
  switch (name) {
    case "pad": {
      const lo = P.lo as number[];
      const interior = P.interior as number[];
      const xs = inA[0]!.shape;
      const os = out0.shape;
      const ost = stridesOf(os);
      const nd = xs.length;
      return (ins, alloc) => {
        const [x, pv] = ins as [TypedArray, TypedArray];
        const out = alloc(0);
        out.fill(pv[0]!);
        const n = x.length;
        const c = new Array<number>(nd).fill(0);
        for (let i = 0; i < n; i++) {
          let o = 0;
          let ok = true;
          for (let d = 0; d < nd; d++) {
            const p = lo[d]! + c[d]! * (interior[d]! + 1);
            if (p < 0 || p >= os[d]!) {
              ok = false;
              break;
            }
            o += p * ost[d]!;
          }
          if (ok) out[o] = x[i]!;
          for (let d = nd - 1; d >= 0; d--) {
            if (++c[d]! < xs[d]!) break;
            c[d] = 0;
          }
        }
        return [out];
      };
    }
    case "concatenate": {
      const dim = P.dimension as number;
      return (ins, alloc) => {
        const out = alloc(0);
        let at = 0;
        ins.forEach((x, i) => {
          const s = inA[i]!.shape;
          const start = s.map((_, d) => (d === dim ? at : 0));
          copyBlock(x, s, s.map(() => 0), out, out0.shape, start, s);
          at += s[dim]!;
        });
        return [out];
      };
    }
    case "argmax":
    case "argmin": {
      const axis = P.axis as number;
      const xs = inA[0]!.shape;
      const outer = shapeSize(xs.slice(0, axis));
      const n = xs[axis]!;
      const inner = shapeSize(xs.slice(axis + 1));
      const isMax = name === "argmax";
      const isF = inA[0]!.dtype === "float32";
      return (ins, alloc) => {
        const x = ins[0]!;
        const out = alloc(0);
        for (let o = 0; o < outer; o++)
          for (let q = 0; q < inner; q++) {
            const b = o * n * inner + q;
            let best = x[b]!;
            let bi = 0;
            if (!(isF && best !== best))
              for (let k = 1; k < n; k++) {
                const v = x[b + k * inner]!;
                if (isF && v !== v) {
                  bi = k;
                  break;
                }
                if (isMax ? v > best : v < best) {
                  best = v;
                  bi = k;
                }
              }
            out[o * inner + q] = bi;
          }
        return [out];
      };
    }
    case "gather": {
      const axis = P.axis as number;
      const xs = inA[0]!.shape;
      const outer = shapeSize(xs.slice(0, axis));
      const A = xs[axis]!;
      const inner = shapeSize(xs.slice(axis + 1));
      const nI = inA[1]!.size;
      return (ins, alloc) => {
        const [x, idx] = ins as [TypedArray, TypedArray];
        const out = alloc(0);
        for (let o = 0; o < outer; o++)
          for (let t = 0; t < nI; t++) {
            const k = clampI(idx[t]!, 0, A - 1);
            const s = (o * A + k) * inner;
            const d = (o * nI + t) * inner;
            for (let q = 0; q < inner; q++) out[d + q] = x[s + q]!;
          }
        return [out];
      };
    }
    case "scatter":
    case "scatter_add": {
      const axis = P.axis as number;
      const xs = inA[0]!.shape;
      const outer = shapeSize(xs.slice(0, axis));
      const A = xs[axis]!;
      const inner = shapeSize(xs.slice(axis + 1));
      const nI = inA[1]!.size;
      const add = name === "scatter_add" ? adder(out0.dtype) : undefined;
      return (ins, alloc) => {
        const [x, idx, u] = ins as [TypedArray, TypedArray, TypedArray];
        const out = alloc(0);
        if (out !== x) out.set(x);
        for (let o = 0; o < outer; o++)
          for (let t = 0; t < nI; t++) {
            const k = idx[t]!;
            if (k < 0 || k >= A) continue;
            const d = (o * A + k) * inner;
            const s = (o * nI + t) * inner;
            if (add) for (let q = 0; q < inner; q++) out[d + q] = add(out[d + q]!, u[s + q]!);
            else for (let q = 0; q < inner; q++) out[d + q] = u[s + q]!;
          }
        return [out];
      };
    }
    case "dynamic_slice": {
      const sizes = P.sliceSizes as number[];
      const xs = inA[0]!.shape;
      return (ins, alloc) => {
        const x = ins[0]!;
        const starts = xs.map((d, i) => clampI(ins[i + 1]![0]!, 0, d - sizes[i]!));
        const out = alloc(0);
        copyBlock(x, xs, starts, out, sizes, sizes.map(() => 0), sizes);
        return [out];
      };
    }
    case "dynamic_update_slice": {
      const xs = inA[0]!.shape;
      const us = inA[1]!.shape;
      return (ins, alloc) => {
        const [x, u] = ins as [TypedArray, TypedArray];
        const starts = xs.map((d, i) => clampI(ins[i + 2]![0]!, 0, d - us[i]!));
        const out = alloc(0);
        if (out !== x) out.set(x);
        copyBlock(u, us, us.map(() => 0), out, xs, starts, us);
        return [out];
      };
    }
    case "sort": {
      const dim = P.dimension as number;
      const numKeys = P.numKeys as number;
      const xs = inA[0]!.shape;
      const outer = shapeSize(xs.slice(0, dim));
      const n = xs[dim] ?? 1;
      const inner = shapeSize(xs.slice(dim + 1));
      return (ins, alloc) => {
        const outs = ins.map((_, k) => alloc(k));
        const perm = new Array<number>(n);
        const keys: number[][] = [];
        for (let k = 0; k < numKeys; k++) keys.push(new Array<number>(n));
        for (let o = 0; o < outer; o++)
          for (let q = 0; q < inner; q++) {
            const b = o * n * inner + q;
            for (let i = 0; i < n; i++) {
              perm[i] = i;
              for (let k = 0; k < numKeys; k++) keys[k]![i] = ins[k]![b + i * inner]!;
            }
            perm.sort((i, j) => {
              for (let k = 0; k < numKeys; k++) {
                const c = cmpNum(keys[k]![i]!, keys[k]![j]!);
                if (c !== 0) return c;
              }
              return i - j;
            });
            ins.forEach((x, k) => {
              const out = outs[k]!;
              for (let i = 0; i < n; i++) out[b + i * inner] = x[b + perm[i]! * inner]!;
            });
          }
        return outs;
      };
    }
    case "cumsum": {
      const axis = P.axis as number;
      const reverse = P.reverse as boolean;
      const xs = inA[0]!.shape;
      const outer = shapeSize(xs.slice(0, axis));
      const n = xs[axis]!;
      const inner = shapeSize(xs.slice(axis + 1));
      const dt = out0.dtype;
      return (ins, alloc) => {
        const x = ins[0]!;
        const out = alloc(0);
        for (let o = 0; o < outer; o++)
          for (let q = 0; q < inner; q++) {
            const b = o * n * inner + q;
            let acc = 0;
            for (let t = 0; t < n; t++) {
              const i = b + (reverse ? n - 1 - t : t) * inner;
              // float32: float64 running sum, rounded per output (more accurate than float32 accumulation).
              acc = dt === "float32" ? acc + x[i]! : dt === "int32" ? (acc + x[i]!) | 0 : dt === "uint32" ? (acc + x[i]!) >>> 0 : acc | x[i]!;
              out[i] = acc;
            }
          }
        return [out];
      };
    }
    case "dot_general":
      return dotGeneralRoutine(e);
  }
  throw new Error(`cpu backend: primitive ${name} is not supported`);
}

export function freshOutput(e: Eqn, k: number): TypedArray {
  const a = e.outputs[k]!.aval;
  return typedArrayFor(a.dtype, a.size);
}
