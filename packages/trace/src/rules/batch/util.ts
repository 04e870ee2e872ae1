/**
 * Helpers for batching rules: moving the batch axis (transpose), inserting it
 * by broadcasting (broadcast_in_dim), and bringing operands to a common
 * canonical layout (batch axis 0). All bind single primitives, so weak types
 * and dtypes are kept exactly.
 */
import { Array, bind1, fromHost, primitives as P, typedArrayFor, type DType } from "@refs/core";

export type BDim = number | null;

/** Move axis `from` of `x` to position `to`. */
export function moveBdim(x: Array, from: number, to: number): Array {
  if (from === to) return x;
  const perm = x.shape.map((_, i) => i).filter((i) => i !== from);
  perm.splice(to, 0, from);
  return bind1(P.transpose, [x], { permutation: perm });
}

/** Insert a leading batch axis of `size` by broadcasting. */
export function broadcastBatch(x: Array, size: number): Array {
  return bind1(P.broadcastInDim, [x], { shape: [size, ...x.shape], broadcastDimensions: x.shape.map((_, i) => i + 1) });
}

/** `x` with its batch axis at 0, broadcasting an unbatched value. */
export function toFront(x: Array, d: BDim, size: number): Array {
  return d === null ? broadcastBatch(x, size) : moveBdim(x, d, 0);
}

/** `x` with its batch axis at 0 if it has one (unbatched values stay unbatched). */
export function frontOrNull(x: Array, d: BDim): Array {
  return d === null ? x : moveBdim(x, d, 0);
}

/** Broadcast `x` of shape [B] (or a scalar) to `shape` = [B, ...] along axis 0. */
export function broadcastLeading(x: Array, shape: readonly number[]): Array {
  if (x.ndim === shape.length && x.shape.every((d, i) => d === shape[i])) return x;
  return bind1(P.broadcastInDim, [x], { shape, broadcastDimensions: x.ndim === 0 ? [] : [0] });
}

export function scalarOf(v: number | boolean, dtype: DType): Array {
  if (dtype === "float16") return bind1(P.convertElementType, [scalarOf(v, "float32")], { newDtype: "float16", weakType: false });
  const data = typedArrayFor(dtype, 1);
  data[0] = Number(v);
  return fromHost(data, [], dtype);
}

/** A scalar constant broadcast to `shape`. */
export function full(v: number | boolean, dtype: DType, shape: readonly number[]): Array {
  const s = scalarOf(v, dtype);
  return shape.length === 0 ? s : bind1(P.broadcastInDim, [s], { shape, broadcastDimensions: [] });
}

/** int32 iota of `shape` along `dimension`. */
export function iotaI32(shape: readonly number[], dimension: number): Array {
  return bind1(P.iota, [], { dtype: "int32", shape, dimension });
}

/** Elementwise binary primitive with a scalar right operand broadcast to x's shape. */
export function binScalar(prim: typeof P.add, x: Array, v: number): Array {
  return bind1(prim, [x, full(v, x.dtype, x.shape)]);
}

/** Elementwise binary primitive of two arrays of one shape. */
export function bin(prim: typeof P.add, x: Array, y: Array): Array {
  return bind1(prim, [x, y]);
}

/** clamp(x, lo, hi) for scalar bounds. */
export function clampScalar(x: Array, lo: number, hi: number): Array {
  return bind1(P.min, [bind1(P.max, [x, full(lo, x.dtype, x.shape)]), full(hi, x.dtype, x.shape)]);
}

export function reshape(x: Array, newSizes: readonly number[]): Array {
  if (newSizes.length === x.ndim && newSizes.every((d, i) => d === x.shape[i])) return x;
  return bind1(P.reshape, [x], { newSizes });
}

export function transpose(x: Array, permutation: readonly number[]): Array {
  if (permutation.every((p, i) => p === i)) return x;
  return bind1(P.transpose, [x], { permutation });
}

/** Convert to int32 (indices). */
export function toI32(x: Array): Array {
  return x.dtype === "int32" ? x : bind1(P.convertElementType, [x], { newDtype: "int32", weakType: false });
}

export const range = (a: number, b: number): number[] => globalThis.Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);
