/**
 * Shape ops: reshape, transpose, broadcastTo, squeeze, expandDims, ravel,
 * swapaxes, moveaxis, flip, concatenate, stack, split, take, astype.
 */
import { normAxis, shapeEqual, shapeSize } from "../aval.js";
import type { Array, ArrayLike } from "../array.js";
import { checkDType, type DType } from "../dtype.js";
import { bind1 } from "../interp.js";
import * as P from "../primitives.js";
import { asarray } from "./creation.js";
import { constLike } from "./elementwise.js";
import {
  axisRange,
  broadcastRaw,
  checkShape,
  convertTo,
  describe,
  isJsArray,
  normAxes,
  promote,
  requireClass,
  toArray,
  type Axis,
} from "./util.js";

/** Give an array a new shape with the same number of elements; one dimension may be -1 (inferred). */
export function reshape(x: ArrayLike, shape: number | readonly number[]): Array {
  const a = toArray("reshape", x);
  const list = typeof shape === "number" ? [shape] : shape;
  if (!isJsArray(list) || list.some((d) => typeof d !== "number" || !Number.isInteger(d) || d < -1))
    throw new TypeError(`reshape: invalid shape ${isJsArray(list) ? `[${list.join(",")}]` : describe(shape)}: dimensions must be non-negative integers or -1`);
  const unknown = list.filter((d) => d === -1).length;
  if (unknown > 1) throw new TypeError(`reshape: can only specify one unknown dimension (-1), got [${list.join(",")}]`);
  const fail = () => new TypeError(`reshape: cannot reshape ${a.aval.str()} (${a.size} elements) to [${list.join(",")}]`);
  let newShape = [...list];
  if (unknown === 1) {
    const known = shapeSize(list.filter((d) => d !== -1));
    if (known === 0 || a.size % known !== 0) throw fail();
    newShape = list.map((d) => (d === -1 ? a.size / known : d));
  }
  if (shapeSize(newShape) !== a.size) throw fail();
  if (shapeEqual(newShape, a.shape)) return a;
  return bind1(P.reshape, [a], { newSizes: newShape });
}

/** The flattened (1-D) array. */
export function ravel(x: ArrayLike): Array {
  const a = toArray("ravel", x);
  return a.ndim === 1 ? a : bind1(P.reshape, [a], { newSizes: [a.size] });
}
export { ravel as flatten };

/** Permute axes (default: reverse them). */
export function transpose(x: ArrayLike, axes?: readonly number[] | null): Array {
  const a = toArray("transpose", x);
  let perm: number[];
  if (axes === undefined || axes === null) {
    perm = axisRange(a.ndim).reverse();
  } else {
    const bad = () =>
      new TypeError(`transpose: axes [${isJsArray(axes) ? axes.join(",") : describe(axes)}] are not a permutation of the axes of ${a.aval.str()}`);
    if (!isJsArray(axes) || axes.length !== a.ndim) throw bad();
    perm = axes.map((ax) => normAxis("transpose", ax, a.ndim));
    if (new Set(perm).size !== perm.length) throw bad();
  }
  if (perm.every((p, i) => p === i)) return a;
  return bind1(P.transpose, [a], { permutation: perm });
}

/** Exchange two axes. */
export function swapaxes(x: ArrayLike, axis1: number, axis2: number): Array {
  const a = toArray("swapaxes", x);
  const i = normAxis("swapaxes", axis1, a.ndim);
  const j = normAxis("swapaxes", axis2, a.ndim);
  const perm = axisRange(a.ndim);
  perm[i] = j;
  perm[j] = i;
  return transpose(a, perm);
}

/** Move axes to new positions; other axes keep their order. */
export function moveaxis(x: ArrayLike, source: number | readonly number[], destination: number | readonly number[]): Array {
  const a = toArray("moveaxis", x);
  const src = normAxes("moveaxis", typeof source === "number" ? [source] : source, a.ndim);
  const dst = normAxes("moveaxis", typeof destination === "number" ? [destination] : destination, a.ndim);
  if (src.length !== dst.length)
    throw new TypeError(`moveaxis: source and destination must have the same number of axes, got [${src}] and [${dst}]`);
  const order = axisRange(a.ndim).filter((i) => !src.includes(i));
  const pairs = dst.map((d, k) => [d, src[k]!] as const).sort((p, q) => p[0] - q[0]);
  for (const [d, s] of pairs) order.splice(d, 0, s);
  return transpose(a, order);
}

/** Broadcast to a shape (numpy rules: trailing axes align, sizes must match or be 1). */
export function broadcastTo(x: ArrayLike, shape: readonly number[]): Array {
  return broadcastToOp("broadcastTo", x, shape);
}

/** `broadcastTo` whose errors name `op`. */
export function broadcastToOp(op: string, x: ArrayLike, shape: readonly number[]): Array {
  const a = toArray(op, x);
  const target = checkShape(op, shape);
  const off = target.length - a.ndim;
  const ok = off >= 0 && a.shape.every((d, i) => d === 1 || d === target[i + off]);
  if (!ok)
    throw new TypeError(
      `${op}: cannot broadcast ${a.aval.str()} to [${target.join(",")}]` +
        (off < 0 ? ": the target has fewer dimensions" : "; sizes must match or be 1 (aligned from the right)"),
    );
  return broadcastRaw(a, target);
}

/** Remove axes of size 1 (all of them, or the given ones, which must have size 1). */
export function squeeze(x: ArrayLike, axis?: Axis): Array {
  const a = toArray("squeeze", x);
  let axes: number[];
  if (axis === null || axis === undefined) {
    axes = axisRange(a.ndim).filter((i) => a.shape[i] === 1);
  } else {
    axes = normAxes("squeeze", axis, a.ndim);
    for (const ax of axes)
      if (a.shape[ax] !== 1)
        throw new TypeError(`squeeze: cannot squeeze axis ${ax} of ${a.aval.str()}: its size is ${a.shape[ax]}, not 1`);
  }
  if (axes.length === 0) return a;
  return bind1(P.reshape, [a], { newSizes: a.shape.filter((_, i) => !axes.includes(i)) });
}

/** Insert axes of size 1 at the given positions (positions in the result). */
export function expandDims(x: ArrayLike, axis: number | readonly number[]): Array {
  const a = toArray("expandDims", x);
  const list = typeof axis === "number" ? [axis] : axis;
  const outNdim = a.ndim + (isJsArray(list) ? list.length : 0);
  const axes = normAxes("expandDims", list, outNdim);
  const shape: number[] = [];
  let k = 0;
  for (let i = 0; i < outNdim; i++) shape.push(axes.includes(i) ? 1 : a.shape[k++]!);
  return bind1(P.reshape, [a], { newSizes: shape });
}

/** Reverse the order of elements along axes (default: all). */
export function flip(x: ArrayLike, axis?: Axis): Array {
  const a = toArray("flip", x);
  const axes = normAxes("flip", axis, a.ndim).sort((p, q) => p - q);
  if (axes.length === 0) return a;
  return bind1(P.rev, [a], { dimensions: axes });
}

/** Join arrays along an existing axis (null: flatten them first). Dtypes are promoted. */
export function concatenate(arrays: readonly ArrayLike[], axis: number | null = 0): Array {
  if (!isJsArray(arrays)) throw new TypeError(`concatenate: expected a list of arrays, got ${describe(arrays)}`);
  if (arrays.length === 0) throw new TypeError("concatenate: need at least one array to concatenate");
  let xs = promote("concatenate", arrays);
  if (axis === null) {
    xs = xs.map(ravel);
    axis = 0;
  }
  const first = xs[0]!;
  if (xs.some((a) => a.ndim === 0))
    throw new TypeError(`concatenate: zero-dimensional arrays cannot be concatenated, got ${xs.map((a) => a.aval.str()).join(", ")}`);
  const ax = normAxis("concatenate", axis, first.ndim);
  for (const a of xs)
    if (a.ndim !== first.ndim || a.shape.some((d, i) => i !== ax && d !== first.shape[i]))
      throw new TypeError(
        `concatenate: all input array dimensions except for the concatenation axis ${ax} must match exactly, ` +
          `got ${first.aval.str()} and ${a.aval.str()}`,
      );
  if (xs.length === 1) return first;
  return bind1(P.concatenate, xs, { dimension: ax });
}

/** Join arrays of one shape along a new axis. */
export function stack(arrays: readonly ArrayLike[], axis = 0): Array {
  if (!isJsArray(arrays)) throw new TypeError(`stack: expected a list of arrays, got ${describe(arrays)}`);
  if (arrays.length === 0) throw new TypeError("stack: need at least one array to stack");
  const xs = arrays.map((x) => toArray("stack", x));
  const first = xs[0]!;
  for (const a of xs)
    if (!shapeEqual(a.shape, first.shape))
      throw new TypeError(`stack: all input arrays must have the same shape, got ${first.aval.str()} and ${a.aval.str()}`);
  const ax = normAxis("stack", axis, first.ndim + 1);
  return concatenate(
    xs.map((a) => expandDims(a, ax)),
    ax,
  );
}

/**
 * Split into pieces along an axis: `sections` equal parts (a number), or at
 * the given indices (a list), as numpy.split.
 */
export function split(x: ArrayLike, sections: number | readonly number[], axis = 0): Array[] {
  const a = toArray("split", x);
  const ax = normAxis("split", axis, a.ndim);
  const n = a.shape[ax]!;
  let cuts: number[];
  if (typeof sections === "number") {
    if (!Number.isInteger(sections) || sections <= 0 || n % sections !== 0)
      throw new TypeError(`split: cannot split axis ${ax} of ${a.aval.str()} into ${sections} equal sections`);
    cuts = axisRange(sections - 1, 1).map((i) => (i * n) / sections);
  } else {
    cuts = sections.map((c) => Math.min(Math.max(c < 0 ? c + n : c, 0), n));
  }
  const bounds = [0, ...cuts, n];
  const out: Array[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const lo = bounds[i]!;
    const hi = Math.max(lo, bounds[i + 1]!);
    out.push(
      bind1(P.slice, [a], {
        startIndices: a.shape.map((_, k) => (k === ax ? lo : 0)),
        limitIndices: a.shape.map((d, k) => (k === ax ? hi : d)),
        strides: a.shape.map(() => 1),
      }),
    );
  }
  return out;
}

/**
 * Take elements along an axis (null: of the flattened array) at integer
 * indices. Negative indices count from the end; out-of-range indices are
 * clamped (the gather primitive's rule).
 */
export function take(x: ArrayLike, indices: ArrayLike | readonly number[], axis?: number | null): Array {
  let a = toArray("take", x);
  let ax: number;
  if (axis === null || axis === undefined) {
    a = ravel(a);
    ax = 0;
  } else {
    ax = normAxis("take", axis, a.ndim);
  }
  let idx = isJsArray(indices) ? asarray(indices as readonly number[]) : toArray("take", indices);
  if (idx.dtype !== "int32" && idx.dtype !== "uint32")
    throw new TypeError(`take: indices must be an integer array, got ${idx.aval.str()}`);
  idx = convertTo("take", idx, "int32", false);
  requireClass("take", idx, "int");
  const n = a.shape[ax]!;
  const wrapped = bind1(P.add, [idx, constLike(idx, n)]);
  idx = bind1(P.select, [bind1(P.lt, [idx, constLike(idx, 0)]), wrapped, idx]);
  return bind1(P.gather, [a, idx], { axis: ax });
}

/** Convert to a dtype (strongly typed result). */
export function astype(x: ArrayLike, dtype: DType): Array {
  const d = checkDType("astype", dtype);
  return convertTo("astype", toArray("astype", x), d, false);
}
