/** Small numeric helpers shared by transformations and schedules. */
import { Array, np, tree, type DType } from "@refs/core";

export const INT32_MAX = 2147483647;

/** A fresh int32 scalar zero: the initial step count. */
export function zeroCount(): Array {
  return np.zeros([], { dtype: "int32" });
}

/** `count + 1`, saturating at the int32 maximum (optax `numerics.safe_increment`). */
export function safeIncrement(count: Array): Array {
  const max = np.array(INT32_MAX, { dtype: "int32" });
  return np.where(count.lt(max), count.add(np.array(1, { dtype: "int32" })), max);
}

/** `tree.map` with a typed callback over Array leaves. */
export function mapArrays(f: (...leaves: Array[]) => Array, t: unknown, ...rest: unknown[]): unknown {
  return tree.map(f as (...leaves: unknown[]) => unknown, t, ...rest);
}

/** Zeros like every leaf of `t`, optionally in `dtype`. */
export function treeZerosLike(t: unknown, dtype?: DType): unknown {
  return mapArrays((x) => (dtype === undefined ? np.zerosLike(x) : np.zerosLike(x, { dtype })), t);
}

/** `1 - decay ** count` in float32 (optax `tree_bias_correction`'s denominator). */
export function biasCorrection(decay: number, count: Array): Array {
  const c = count.astype("float32");
  return np.subtract(1, np.power(np.array(decay, { dtype: "float32" }), c));
}

/** The scalar a schedule returned, as an Array. */
export function scheduleValue(where: string, v: unknown): Array {
  if (v instanceof Array) return v;
  if (typeof v === "number") return np.array(v, { dtype: "float32" });
  throw new TypeError(`${where}: a schedule must return an Array (or a number), got ${v === null ? "null" : typeof v}`);
}
