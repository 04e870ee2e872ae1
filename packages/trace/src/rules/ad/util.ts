/**
 * Small strict helpers the AD rules are built from: each binds exactly one
 * primitive (no promotion, no broadcasting), so rules produce values of the
 * primal's dtype and stay differentiable themselves (grad of grad).
 */
import { Array, ShapedArray, bind, bind1, np, primitives as P, type DType } from "@refs/core";
import type { Ct } from "../../ad.js";

export const add = (a: Array, b: Array): Array => bind1(P.add, [a, b]);
export const sub = (a: Array, b: Array): Array => bind1(P.sub, [a, b]);
export const mul = (a: Array, b: Array): Array => bind1(P.mul, [a, b]);
export const div = (a: Array, b: Array): Array => bind1(P.div, [a, b]);
export const neg = (a: Array): Array => bind1(P.neg, [a]);
export const select = (p: Array, t: Array, f: Array): Array => bind1(P.select, [p, t, f]);
export const eq = (a: Array, b: Array): Array => bind1(P.eq, [a, b]);
export const gt = (a: Array, b: Array): Array => bind1(P.gt, [a, b]);
export const lt = (a: Array, b: Array): Array => bind1(P.lt, [a, b]);
export const ge = (a: Array, b: Array): Array => bind1(P.ge, [a, b]);
export const and = (a: Array, b: Array): Array => bind1(P.and, [a, b]);
export const exp = (a: Array): Array => bind1(P.exp, [a]);
export const log = (a: Array): Array => bind1(P.log, [a]);
export const pow = (a: Array, b: Array): Array => bind1(P.pow, [a, b]);

/** A strongly typed array of `shape` and `dtype` filled with `v`. */
export function full(shape: readonly number[], dtype: DType, v: number): Array {
  return np.full(shape, v, { dtype });
}

/** `v` with the shape and dtype of `x`. */
export function fullLike(x: { shape: readonly number[]; dtype: DType }, v: number): Array {
  return full(x.shape, x.dtype, v);
}

export function zerosLike(x: { shape: readonly number[]; dtype: DType }): Array {
  return fullLike(x, 0);
}

/** A tangent or cotangent made concrete: symbolic zeros become zeros like `like`. */
export function inst(t: Ct, like: { shape: readonly number[]; dtype: DType }): Array {
  return t ?? zerosLike(like);
}

/** Sum of possibly-zero terms (null when every term is zero). */
export function sumCts(terms: readonly Ct[]): Ct {
  let acc: Ct = null;
  for (const t of terms) if (t !== null) acc = acc === null ? t : add(acc, t);
  return acc;
}

export function reshape(x: Array, shape: readonly number[]): Array {
  if (x.shape.length === shape.length && x.shape.every((d, i) => d === shape[i])) return x;
  return bind1(P.reshape, [x], { newSizes: [...shape] });
}

export function reduceSum(x: Array, axes: readonly number[]): Array {
  if (axes.length === 0) return x;
  return bind1(P.reduceSum, [x], { axes: [...axes].sort((a, b) => a - b) });
}

/** Broadcast `x` into `shape`, its axis i going to output axis dims[i]. */
export function bcastInDim(x: Array, shape: readonly number[], dims: readonly number[]): Array {
  if (x.shape.length === shape.length && x.shape.every((d, i) => d === shape[i])) return x;
  return bind1(P.broadcastInDim, [x], { shape: [...shape], broadcastDimensions: [...dims] });
}

/** Broadcast a reduction result (axes removed) back to the input's shape. */
export function unreduce(r: Array, shape: readonly number[], axes: readonly number[]): Array {
  const kept: number[] = [];
  for (let i = 0; i < shape.length; i++) if (!axes.includes(i)) kept.push(i);
  return bcastInDim(r, shape, kept);
}

export function convert(x: Array, dtype: DType, weakType = false): Array {
  if (x.dtype === dtype && x.weakType === weakType) return x;
  return bind1(P.convertElementType, [x], { newDtype: dtype, weakType });
}

/** `x` converted to exactly `aval`'s dtype and weak type (so branches and carries agree). */
export function fit(x: Array, aval: ShapedArray): Array {
  if (x.dtype === aval.dtype && x.weakType === aval.weakType) return x;
  return bind1(P.convertElementType, [x], { newDtype: aval.dtype, weakType: aval.weakType });
}

export function iota(dtype: DType, shape: readonly number[], dimension: number): Array {
  return bind1(P.iota, [], { dtype, shape: [...shape], dimension });
}

export function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function range(a: number, b: number): number[] {
  const r: number[] = [];
  for (let i = a; i < b; i++) r.push(i);
  return r;
}

/**
 * Linear (row-major) indices into an array of `shape` that select, along
 * `dim`, the positions in `idx` (int32 of `shape`): take_along_axis as one
 * flat gather.
 */
export function alongAxisLinear(idx: Array, shape: readonly number[], dim: number): Array {
  let lin: Array | null = null;
  let stride = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    const coord = k === dim ? idx : iota("int32", shape, k);
    const term = stride === 1 ? coord : mul(coord, full(shape, "int32", stride));
    lin = lin === null ? term : add(lin, term);
    stride *= shape[k]!;
  }
  return lin ?? full(shape, "int32", 0);
}

/** take_along_axis(x, idx, dim) for idx of x's shape. */
export function takeAlong(x: Array, idx: Array, dim: number): Array {
  const n = size(x.shape);
  const lin = alongAxisLinear(idx, x.shape, dim);
  const g = bind1(P.gather, [reshape(x, [n]), reshape(lin, [n])], { axis: 0 });
  return reshape(g, x.shape);
}

/** The transpose of takeAlong: scatter-add `ct` into zeros at the selected positions. */
export function putAlong(ct: Array, idx: Array, dim: number): Array {
  const n = size(ct.shape);
  const lin = alongAxisLinear(idx, ct.shape, dim);
  const s = bind1(P.scatterAdd, [full([n], ct.dtype, 0), reshape(lin, [n]), reshape(ct, [n])], { axis: 0 });
  return reshape(s, ct.shape);
}

export { bind, bind1, P };
