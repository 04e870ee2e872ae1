/**
 * Data types and JAX's type promotion, weak types included.
 *
 * A JS number is *weakly typed*: it adopts the dtype of the array it meets
 * (`int32Array.add(1)` stays int32) and only decides the dtype on its own when
 * nothing else does. The lattice below is JAX's, restricted to our dtypes and
 * canonicalised for 32-bit mode (x64 disabled), see
 * https://jax.readthedocs.io/en/latest/type_promotion.html
 */

export type DType = "float32" | "int32" | "uint32" | "bool" | "float16";

export const DTYPES: readonly DType[] = ["float32", "int32", "uint32", "bool", "float16"];

export type TypedArray = Float32Array | Int32Array | Uint32Array | Uint8Array | Uint16Array;

export function isDType(x: unknown): x is DType {
  return typeof x === "string" && (DTYPES as readonly string[]).includes(x);
}

export function checkDType(op: string, x: unknown): DType {
  if (isDType(x)) return x;
  const wide = typeof x === "string" && /64$/.test(x) ? " (64-bit dtypes are not supported: refs computes in 32 bits, like JAX with x64 disabled; use float32 or int32)" : "";
  throw new TypeError(`${op}: unsupported dtype ${JSON.stringify(x)}; expected one of ${DTYPES.join(", ")}${wide}`);
}

export function itemsize(dtype: DType): number {
  switch (dtype) {
    case "bool":
      return 1;
    case "float16":
      return 2;
    default:
      return 4;
  }
}

export const isFloat = (d: DType): boolean => d === "float32" || d === "float16";
export const isInt = (d: DType): boolean => d === "int32" || d === "uint32";
export const isBool = (d: DType): boolean => d === "bool";

/** The typed array that stores a dtype on the host. float16 is stored as raw bits. */
export function typedArrayFor(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(size);
    case "int32":
      return new Int32Array(size);
    case "uint32":
      return new Uint32Array(size);
    case "bool":
      return new Uint8Array(size);
    case "float16":
      return new Uint16Array(size);
  }
}

/** Convert a JS number to what a dtype would store (C-style casts, as XLA does). */
export function castScalar(v: number | boolean, dtype: DType): number {
  const x = typeof v === "boolean" ? (v ? 1 : 0) : v;
  switch (dtype) {
    case "float32":
    case "float16":
      return Math.fround(x);
    case "int32":
      return Number.isFinite(x) ? Math.trunc(x) | 0 : 0;
    case "uint32":
      return Number.isFinite(x) ? Math.trunc(x) >>> 0 : 0;
    case "bool":
      return x !== 0 ? 1 : 0; // NaN is nonzero: true, as XLA
  }
}

// ---- promotion lattice ----------------------------------------------------

/** Lattice nodes: our dtypes plus the weak "i*"/"f*" and the int64 that int32+uint32 meet at. */
type Node = "b" | "i*" | "i32" | "u32" | "i64" | "f*" | "f16" | "f32";

const UPPER: Record<Node, readonly Node[]> = {
  b: ["b", "i*", "i32", "u32", "i64", "f*", "f16", "f32"],
  "i*": ["i*", "i32", "u32", "i64", "f*", "f16", "f32"],
  i32: ["i32", "i64", "f*", "f16", "f32"],
  u32: ["u32", "i64", "f*", "f16", "f32"],
  i64: ["i64", "f*", "f16", "f32"],
  "f*": ["f*", "f16", "f32"],
  f16: ["f16", "f32"],
  f32: ["f32"],
};

function toNode(dtype: DType, weak: boolean): Node {
  if (weak && (dtype === "int32" || dtype === "uint32")) return "i*";
  if (weak && isFloat(dtype)) return "f*";
  switch (dtype) {
    case "bool":
      return "b";
    case "int32":
      return "i32";
    case "uint32":
      return "u32";
    case "float16":
      return "f16";
    case "float32":
      return "f32";
  }
}

function fromNode(n: Node): { dtype: DType; weakType: boolean } {
  switch (n) {
    case "b":
      return { dtype: "bool", weakType: false };
    case "i*":
      return { dtype: "int32", weakType: true };
    case "i32":
    case "i64": // x64 disabled: int64 canonicalises to int32
      return { dtype: "int32", weakType: false };
    case "u32":
      return { dtype: "uint32", weakType: false };
    case "f*":
      return { dtype: "float32", weakType: true };
    case "f16":
      return { dtype: "float16", weakType: false };
    case "f32":
      return { dtype: "float32", weakType: false };
  }
}

/** Least upper bound of the given (dtype, weak) pairs in JAX's lattice. */
export function promoteTypes(
  ...types: { dtype: DType; weakType: boolean }[]
): { dtype: DType; weakType: boolean } {
  if (types.length === 0) throw new Error("promoteTypes: no types given");
  let common: Node[] = [...UPPER[toNode(types[0]!.dtype, types[0]!.weakType)]];
  for (const t of types.slice(1)) {
    const ub = UPPER[toNode(t.dtype, t.weakType)];
    common = common.filter((n) => ub.includes(n));
  }
  // The join is the member of the common upper bounds that is below all others:
  // the one whose own upper set is largest.
  let best = common[0]!;
  for (const n of common) if (UPPER[n].length > UPPER[best].length) best = n;
  return fromNode(best);
}

/** Dtype a JS value gets on its own: booleans are bool, integers weak int32, others weak float32. */
export function dtypeOfScalar(v: number | boolean): { dtype: DType; weakType: boolean } {
  if (typeof v === "boolean") return { dtype: "bool", weakType: false };
  return Number.isInteger(v) && Math.abs(v) <= 2 ** 31
    ? { dtype: "int32", weakType: true }
    : { dtype: "float32", weakType: true };
}
