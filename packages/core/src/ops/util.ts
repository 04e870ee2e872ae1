/**
 * Shared machinery of the `np` layer: turning op arguments into Arrays,
 * JAX-style dtype promotion (weak types included), numpy broadcasting, axis
 * parsing and host-side constant building.
 *
 * Everything here works on tracers as well as concrete arrays: it only looks
 * at avals (shape, dtype, weak type), never at values.
 */
import { broadcastShapes, normAxis, shapeEqual, type Shape } from "../aval.js";
import { Array, fromHost, type ArrayLike } from "../array.js";
import {
  castScalar,
  dtypeOfScalar,
  isBool,
  isFloat,
  isInt,
  promoteTypes,
  typedArrayFor,
  type DType,
  type TypedArray,
} from "../dtype.js";
import { bind1 } from "../interp.js";
import * as P from "../primitives.js";

export type { ArrayLike };

/** An axis argument: one axis, several, or all (`null`/`undefined`). */
export type Axis = number | readonly number[] | null | undefined;

/** Keyword options of reductions (`sum`, `mean`, `var`, ...). */
export type ReduceOptions = {
  axis?: Axis;
  keepdims?: boolean;
  /** Delta degrees of freedom for `var`/`std` (divide by n - ddof). */
  ddof?: number;
  /** Accumulation/result dtype for `sum`, `prod`, `mean`, `cumsum`. */
  dtype?: DType;
};

export const isJsArray = (v: unknown): v is readonly unknown[] => globalThis.Array.isArray(v);

/** A short description of an unexpected argument, for messages. */
export function describe(x: unknown): string {
  if (x instanceof Array) return x.aval.str();
  if (x === null) return "null";
  if (x === undefined) return "undefined";
  if (isJsArray(x)) return "a JS array";
  if (typeof x === "object") return `an object (${(x as object).constructor?.name ?? "Object"})`;
  if (typeof x === "string") return JSON.stringify(x);
  return `${typeof x} ${String(x)}`;
}

function badArg(op: string, x: unknown): TypeError {
  return new TypeError(
    `${op}: expected an Array, a number or a boolean, got ${describe(x)}` +
      (isJsArray(x) ? "; wrap JS arrays with np.array(...)" : ""),
  );
}

// ---- float16 bits --------------------------------------------------------------

const f32Buf = new Float32Array(1);
const u32Buf = new Uint32Array(f32Buf.buffer);

/** IEEE half-precision bits of a number (round to nearest even via float32). */
export function float16Bits(v: number): number {
  f32Buf[0] = v;
  const x = u32Buf[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++;
  return sign | half;
}

/** Host storage for `values` converted to `dtype` (C-style casts; float16 as bits). */
export function hostData(values: { readonly length: number; readonly [i: number]: number | boolean }, dtype: DType): TypedArray {
  const n = values.length;
  const out = typedArrayFor(dtype, n);
  if (dtype === "float16") {
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      out[i] = float16Bits(typeof v === "boolean" ? (v ? 1 : 0) : v);
    }
  } else {
    for (let i = 0; i < n; i++) out[i] = castScalar(values[i]!, dtype);
  }
  return out;
}

/** A concrete scalar array holding `v` as `dtype`. */
export function scalar(v: number | boolean, dtype: DType, weakType = false): Array {
  return fromHost(hostData([v], dtype), [], dtype, weakType);
}

function checkIntRange(op: string, v: number, dtype: DType): void {
  if (!Number.isInteger(v)) return;
  const [lo, hi] = dtype === "uint32" ? [0, 2 ** 32 - 1] : [-(2 ** 31), 2 ** 31 - 1];
  if (v < lo || v > hi)
    throw new RangeError(`${op}: the JS number ${v} is out of range for ${dtype} (${lo} to ${hi})`);
}

// ---- argument conversion and promotion ----------------------------------------------

/** The (dtype, weak) an argument has on its own. */
export function typeOf(op: string, x: unknown): { dtype: DType; weakType: boolean } {
  if (x instanceof Array) return { dtype: x.dtype, weakType: x.weakType };
  if (typeof x === "number" || typeof x === "boolean") return dtypeOfScalar(x);
  throw badArg(op, x);
}

/** An op argument as an Array: Arrays pass through, JS numbers become weak scalars, booleans bool scalars. */
export function toArray(op: string, x: unknown): Array {
  if (x instanceof Array) return x;
  if (typeof x === "number" || typeof x === "boolean") {
    const t = dtypeOfScalar(x);
    return scalar(x, t.dtype, t.weakType);
  }
  throw badArg(op, x);
}

/** Convert to (dtype, weak) if either differs. JS scalars are built directly in the target type. */
export function convertTo(op: string, x: ArrayLike, dtype: DType, weakType: boolean): Array {
  if (!(x instanceof Array)) {
    if (typeof x === "number" && isInt(dtype)) checkIntRange(op, x, dtype);
    if (typeof x !== "number" && typeof x !== "boolean") throw badArg(op, x);
    return scalar(x, dtype, weakType);
  }
  if (x.dtype === dtype && x.weakType === weakType) return x;
  return bind1(P.convertElementType, [x], { newDtype: dtype, weakType });
}

/** JAX's `promote_dtypes`: every argument converted to the least upper bound of their types. */
export function promote(op: string, xs: readonly unknown[]): Array[] {
  const types = xs.map((x) => typeOf(op, x));
  const t = promoteTypes(...types);
  return xs.map((x) => convertTo(op, x as ArrayLike, t.dtype, t.weakType));
}

/** The promoted (dtype, weak) of some arguments, without converting them. */
export function resultType(op: string, xs: readonly unknown[]): { dtype: DType; weakType: boolean } {
  return promoteTypes(...xs.map((x) => typeOf(op, x)));
}

/** Integers and bools become float32 (keeping weakness), as jnp's `promote_args_inexact`. */
export function toInexact(x: Array): Array {
  if (isFloat(x.dtype)) return x;
  return bind1(P.convertElementType, [x], { newDtype: "float32", weakType: x.weakType && !isBool(x.dtype) });
}

/** Broadcast `x` to `shape` (numpy rules; assumed compatible). */
export function broadcastRaw(x: Array, shape: Shape): Array {
  if (shapeEqual(x.shape, shape)) return x;
  const off = shape.length - x.ndim;
  return bind1(P.broadcastInDim, [x], {
    shape: [...shape],
    broadcastDimensions: x.shape.map((_, i) => i + off),
  });
}

/** Broadcast arrays to their common shape; the error names `op`. */
export function broadcastAll(op: string, xs: readonly Array[]): Array[] {
  const first = xs[0]!.shape;
  if (xs.every((x) => shapeEqual(x.shape, first))) return [...xs];
  const shape = broadcastShapes(op, ...xs.map((x) => x.shape));
  return xs.map((x) => broadcastRaw(x, shape));
}

/** Promote then broadcast: the operands of an elementwise primitive. */
export function prepare(op: string, xs: readonly unknown[]): Array[] {
  return broadcastAll(op, promote(op, xs));
}

export type DtypeClass = "numeric" | "float" | "intOrBool" | "int";

/** Check the dtype class an op needs, with the op's own name in the message. */
export function requireClass(op: string, x: Array, cls: DtypeClass): void {
  const d = x.dtype;
  const ok =
    (cls === "numeric" && d !== "bool") ||
    (cls === "float" && isFloat(d)) ||
    (cls === "intOrBool" && (isInt(d) || d === "bool")) ||
    (cls === "int" && isInt(d));
  if (!ok) {
    const want = { numeric: "a numeric", float: "a floating-point", intOrBool: "an integer or boolean", int: "an integer" }[cls];
    throw new TypeError(`${op}: expected ${want} dtype, got ${x.aval.str()}`);
  }
}

// ---- axes and shapes ---------------------------------------------------------------

/** Normalised, validated axes; `null`/`undefined` means all axes. Duplicates are an error. */
export function normAxes(op: string, axis: Axis, ndim: number): number[] {
  if (axis === null || axis === undefined) return axisRange(ndim);
  const list = typeof axis === "number" ? [axis] : axis;
  if (!isJsArray(list)) throw new TypeError(`${op}: axis must be a number, an array of numbers or null, got ${describe(axis)}`);
  const out = list.map((a) => {
    if (typeof a !== "number") throw new TypeError(`${op}: axis must be a number, an array of numbers or null, got ${describe(a)}`);
    return normAxis(op, a, ndim);
  });
  if (new Set(out).size !== out.length) throw new Error(`${op}: repeated axis in [${list.join(", ")}]`);
  return out;
}

export function axisRange(n: number, start = 0): number[] {
  const r = new globalThis.Array<number>(n);
  for (let i = 0; i < n; i++) r[i] = start + i;
  return r;
}

/** A shape argument: a non-negative integer or a list of them. */
export function checkShape(op: string, shape: unknown): number[] {
  const list = typeof shape === "number" ? [shape] : shape;
  if (!isJsArray(list) || list.some((d) => typeof d !== "number" || !Number.isInteger(d) || d < 0))
    throw new TypeError(
      `${op}: invalid shape ${isJsArray(list) ? `[${list.join(",")}]` : describe(shape)}: dimensions must be non-negative integers`,
    );
  return [...(list as number[])];
}

/** Split `(axisOrOptions?, options?)` of a reduction into one options object. */
export function reduceArgs(axisOrOptions: Axis | ReduceOptions | undefined, options: ReduceOptions | undefined): ReduceOptions {
  if (axisOrOptions !== null && typeof axisOrOptions === "object" && !isJsArray(axisOrOptions)) {
    return { ...(axisOrOptions as ReduceOptions), ...options };
  }
  return { ...options, axis: (axisOrOptions as Axis) ?? options?.axis };
}
