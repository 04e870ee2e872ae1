/**
 * Reductions: sum, prod, max, min, mean, var, std, argmax/argmin, any/all,
 * logsumexp and cumsum. Each takes `(x, axisOrOptions?, options?)`, where the
 * second argument is an axis (number, list, or null for all) or a
 * `ReduceOptions` object (`{axis, keepdims, ddof, dtype}`).
 */
import { normAxis, shapeEqual } from "../aval.js";
import type { Array, ArrayLike } from "../array.js";
import { checkDType, type DType } from "../dtype.js";
import { bind1 } from "../interp.js";
import type { Primitive } from "../primitive.js";
import * as P from "../primitives.js";
import { constLike, toBool } from "./elementwise.js";
import {
  broadcastRaw,
  convertTo,
  describe,
  normAxes,
  reduceArgs,
  requireClass,
  toArray,
  toInexact,
  type Axis,
  type ReduceOptions,
} from "./util.js";

type AxisOrOptions = Axis | ReduceOptions;

/** The shape a reduction keeps when `keepdims` is set: reduced axes become 1. */
function keptShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function keep(out: Array, inShape: readonly number[], axes: readonly number[], keepdims: boolean | undefined): Array {
  if (!keepdims) return out;
  const shape = keptShape(inShape, axes);
  return shapeEqual(shape, out.shape) ? out : bind1(P.reshape, [out], { newSizes: shape });
}

/** Bind a reduction primitive over `axes` (none: identity). */
export function reduceRaw(prim: Primitive<any>, x: Array, axes: readonly number[], keepdims?: boolean): Array {
  const sorted = [...axes].sort((a, b) => a - b);
  const out = sorted.length === 0 ? x : bind1(prim, [x], { axes: sorted });
  return keep(out, x.shape, sorted, keepdims);
}

function withDtype(op: string, a: Array, opts: ReduceOptions, boolTo: "int32" | null): Array {
  if (opts.dtype !== undefined) {
    const d = checkDType(op, opts.dtype);
    return convertTo(op, a, d, false);
  }
  if (boolTo !== null && a.dtype === "bool") return convertTo(op, a, boolTo, false);
  return a;
}

function reduceSizes(a: Array, axes: readonly number[]): number {
  let n = 1;
  for (const ax of axes) n *= a.shape[ax]!;
  return n;
}

/** Sum over axes (bool sums as int32). */
export function sum(x: ArrayLike, axis?: AxisOrOptions, options?: ReduceOptions): Array {
  const opts = reduceArgs(axis, options);
  const a = withDtype("sum", toArray("sum", x), opts, "int32");
  return reduceRaw(P.reduceSum, a, normAxes("sum", opts.axis, a.ndim), opts.keepdims);
}

/** Product over axes (bool multiplies as int32). */
export function prod(x: ArrayLike, axis?: AxisOrOptions, options?: ReduceOptions): Array {
  const opts = reduceArgs(axis, options);
  const a = withDtype("prod", toArray("prod", x), opts, "int32");
  return reduceRaw(P.reduceProd, a, normAxes("prod", opts.axis, a.ndim), opts.keepdims);
}

function extremum(op: "max" | "min", prim: Primitive<any>, x: ArrayLike, axis?: AxisOrOptions, options?: ReduceOptions): Array {
  const opts = reduceArgs(axis, options);
  const a = toArray(op, x);
  const axes = normAxes(op, opts.axis, a.ndim);
  if (axes.some((ax) => a.shape[ax] === 0))
    throw new Error(`${op}: zero-size array to reduction operation ${op} which has no identity (${a.aval.str()}, axis ${describeAxes(axes)})`);
  return reduceRaw(prim, a, axes, opts.keepdims);
}

function describeAxes(axes: readonly number[]): string {
  return axes.length === 1 ? String(axes[0]) : `(${axes.join(", ")})`;
}

/** Maximum over axes (NaN propagates). */
export function max(x: ArrayLike, axis?: AxisOrOptions, options?: ReduceOptions): Array {
  return extremum("max", P.reduceMax, x, axis, options);
}
export { max as amax };

/** Minimum over axes (NaN propagates). */
export function min(x: ArrayLike, axis?: AxisOrOptions, options?: ReduceOptions): Array {
  return extremum("min", P.reduceMin, x, axis, options);
}
export { min as amin };

/** Whether any element (nonzero) is true over axes. */
export function any(x: ArrayLike, axis?: AxisOrOptions, options?: ReduceOptions): Array {
  const opts = reduceArgs(axis, options);
  const a = toBool("any", x);
  return reduceRaw(P.reduceMax, a, normAxes("any", opts.axis, a.ndim), opts.keepdims);
}

/** Whether all elements are true (nonzero) over axes. */
export function all(x: ArrayLike, axis?: AxisOrOptions, options?: ReduceOptions): Array {
  const opts = reduceArgs(axis, options);
  const a = toBool("all", x);
  return reduceRaw(P.reduceMin, a, normAxes("all", opts.axis, a.ndim), opts.keepdims);
}

/** Arithmetic mean: sum divided by the count (integers and bools give float32). */
export function mean(x: ArrayLike, axis?: AxisOrOptions, options?: ReduceOptions): Array {
  const opts = reduceArgs(axis, options);
  const a = toInexact(withDtype("mean", toArray("mean", x), opts, null));
  requireClass("mean", a, "float");
  const axes = normAxes("mean", opts.axis, a.ndim);
  const s = reduceRaw(P.reduceSum, a, axes, opts.keepdims);
  return bind1(P.div, [s, constLike(s, reduceSizes(a, axes))]);
}

/** Variance: mean of squared deviations, divided by n - ddof (ddof = 0: biased). */
export function var_(x: ArrayLike, axis?: AxisOrOptions, options?: ReduceOptions): Array {
  const opts = reduceArgs(axis, options);
  const a = toInexact(withDtype("var", toArray("var", x), opts, null));
  const axes = normAxes("var", opts.axis, a.ndim);
  const ddof = opts.ddof ?? 0;
  if (typeof ddof !== "number" || !Number.isFinite(ddof))
    throw new TypeError(`var: ddof must be a number, got ${describe(ddof)}`);
  const m = reduceRaw(P.reduceSum, a, axes, true);
  const mu = bind1(P.div, [m, constLike(m, reduceSizes(a, axes))]);
  const centered = bind1(P.sub, [a, broadcastRaw(mu, a.shape)]);
  const s = reduceRaw(P.reduceSum, bind1(P.mul, [centered, centered]), axes, opts.keepdims);
  return bind1(P.div, [s, constLike(s, Math.max(reduceSizes(a, axes) - ddof, 0))]);
}

/** Standard deviation: sqrt of `var_` (same options). */
export function std(x: ArrayLike, axis?: AxisOrOptions, options?: ReduceOptions): Array {
  return bind1(P.sqrt, [var_(x, axis, options)]);
}

function argReduce(op: "argmax" | "argmin", prim: Primitive<any>, x: ArrayLike, axis?: number | null | ReduceOptions, options?: ReduceOptions): Array {
  const opts = reduceArgs(axis as AxisOrOptions, options);
  let a = toArray(op, x);
  const ax0 = opts.axis;
  if (ax0 !== null && ax0 !== undefined && typeof ax0 !== "number")
    throw new TypeError(`${op}: axis must be a single number or null, got ${describe(ax0)}`);
  const inShape = a.shape;
  let ax: number;
  if (ax0 === null || ax0 === undefined) {
    if (a.ndim !== 1) a = bind1(P.reshape, [a], { newSizes: [a.size] });
    ax = 0;
  } else {
    ax = normAxis(op, ax0, a.ndim);
  }
  if (a.shape[ax] === 0) throw new Error(`${op}: attempt to get ${op} of an empty sequence (${toArray(op, x).aval.str()})`);
  const out = bind1(prim, [a], { axis: ax, indexDtype: "int32" });
  if (!opts.keepdims) return out;
  const shape = ax0 === null || ax0 === undefined ? inShape.map(() => 1) : keptShape(inShape, [ax]);
  return bind1(P.reshape, [out], { newSizes: shape });
}

/** Index (int32) of the first maximum along an axis, or of the flattened array when axis is null. */
export function argmax(x: ArrayLike, axis?: number | null | ReduceOptions, options?: ReduceOptions): Array {
  return argReduce("argmax", P.argmax, x, axis, options);
}

/** Index (int32) of the first minimum along an axis, or of the flattened array when axis is null. */
export function argmin(x: ArrayLike, axis?: number | null | ReduceOptions, options?: ReduceOptions): Array {
  return argReduce("argmin", P.argmin, x, axis, options);
}

/** log(sum(exp(x))) over axes, computed stably (the max is subtracted first). */
export function logsumexp(x: ArrayLike, axis?: AxisOrOptions, options?: ReduceOptions): Array {
  const opts = reduceArgs(axis, options);
  const a = toInexact(toArray("logsumexp", x));
  const axes = normAxes("logsumexp", opts.axis, a.ndim);
  const mx = reduceRaw(P.reduceMax, a, axes, true);
  const safe = bind1(P.select, [bind1(P.isFinite, [mx]), mx, constLike(mx, 0)]);
  const e = bind1(P.exp, [bind1(P.sub, [a, broadcastRaw(safe, a.shape)])]);
  const s = reduceRaw(P.reduceSum, e, axes, opts.keepdims);
  const shift = shapeEqual(safe.shape, s.shape) ? safe : bind1(P.reshape, [safe], { newSizes: s.shape });
  return bind1(P.add, [bind1(P.log, [s]), shift]);
}

/** Inclusive cumulative sum along an axis (null: over the flattened array). Bool sums as int32. */
export function cumsum(x: ArrayLike, axis?: number | null, options?: { dtype?: DType }): Array {
  let a = withDtype("cumsum", toArray("cumsum", x), options ?? {}, "int32");
  let ax: number;
  if (axis === null || axis === undefined) {
    if (a.ndim !== 1) a = bind1(P.reshape, [a], { newSizes: [a.size] });
    ax = 0;
  } else {
    ax = normAxis("cumsum", axis, a.ndim);
  }
  requireClass("cumsum", a, "numeric");
  return bind1(P.cumsum, [a], { axis: ax, reverse: false });
}
