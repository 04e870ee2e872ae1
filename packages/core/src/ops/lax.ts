/**
 * lax-style ops: thin, strict wrappers over single primitives, for code that
 * wants exactly one primitive (no promotion or broadcasting).
 */
import type { Array, ArrayLike } from "../array.js";
import { checkDType, itemsize, type DType } from "../dtype.js";
import { bind1 } from "../interp.js";
import * as P from "../primitives.js";
import { checkShape, toArray } from "./util.js";

/** Reinterpret the bits of each element as another dtype of the same size (float32 ↔ int32 ↔ uint32). */
export function bitcastConvertType(x: ArrayLike, dtype: DType): Array {
  const d = checkDType("bitcastConvertType", dtype);
  const a = toArray("bitcastConvertType", x);
  if (itemsize(a.dtype) !== itemsize(d))
    throw new TypeError(`bitcastConvertType: cannot bitcast ${a.aval.str()} to ${d}: item sizes differ (${itemsize(a.dtype)} and ${itemsize(d)} bytes)`);
  if (a.dtype === d && !a.weakType) return a;
  return bind1(P.bitcastConvertType, [a], { newDtype: d });
}

/** Convert values to a dtype (C-style casts; strongly typed result). */
export function convertElementType(x: ArrayLike, dtype: DType): Array {
  const d = checkDType("convertElementType", dtype);
  const a = toArray("convertElementType", x);
  if (a.dtype === d && !a.weakType) return a;
  return bind1(P.convertElementType, [a], { newDtype: d, weakType: false });
}

/** Values counting 0, 1, 2, ... along `dimension` of `shape`. */
export function iota(dtype: DType, shape: number | readonly number[], dimension = 0): Array {
  const d = checkDType("iota", dtype);
  const s = checkShape("iota", shape);
  if (!Number.isInteger(dimension) || dimension < 0 || dimension >= s.length)
    throw new RangeError(`iota: dimension ${dimension} is out of range for shape [${s.join(",")}]`);
  return bind1(P.iota, [], { dtype: d, shape: s, dimension });
}

/** The lax-style namespace. */
export const lax = {
  bitcastConvertType,
  convertElementType,
  iota,
};
