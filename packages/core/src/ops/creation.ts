/**
 * Array construction: array/asarray from JS values, zeros/ones/full, arange,
 * linspace, eye and the *Like variants.
 *
 * Filled arrays are a broadcast of one scalar (as jnp), so inside jit they stay
 * a single small constant; arange/linspace with explicit bounds are computed
 * on the host from their static JS-number arguments (as jnp does).
 */
import { Array, fromHost, type ArrayLike } from "../array.js";
import { checkDType, isBool, isInt, type DType } from "../dtype.js";
import { bind1 } from "../interp.js";
import * as P from "../primitives.js";
import { add } from "./elementwise.js";
import { broadcastToOp, concatenate, reshape } from "./shape.js";
import {
  broadcastRaw,
  checkShape,
  convertTo,
  describe,
  hostData,
  isJsArray,
  resultType,
  scalar,
  toArray,
} from "./util.js";

export interface DTypeOptions {
  dtype?: DType;
}

/** Nested JS lists of numbers/booleans (or Arrays, stacked). */
export type NestedArray = number | boolean | Array | readonly NestedArray[];

/** Host array kinds `np.array` accepts. */
export type HostArray =
  | Float32Array
  | Float64Array
  | Int32Array
  | Uint32Array
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Uint8ClampedArray;

function optDtype(op: string, opts: DTypeOptions | undefined): DType | undefined {
  if (opts === undefined || opts === null) return undefined;
  if (typeof opts !== "object") throw new TypeError(`${op}: expected an options object like {dtype: "float32"}, got ${describe(opts)}`);
  return opts.dtype === undefined ? undefined : checkDType(op, opts.dtype);
}

function typedDefault(v: ArrayBufferView): DType | null {
  if (v instanceof Float32Array || v instanceof Float64Array) return "float32";
  if (v instanceof Int32Array) return "int32";
  if (v instanceof Uint32Array) return "uint32";
  return null;
}

/**
 * An array from JS data. A JS number gives a weakly typed scalar, a nested
 * list of numbers int32 (all integers) or float32, booleans bool; typed arrays
 * keep their type (Float64Array becomes float32). Arrays are copied (cast when
 * `dtype` is given).
 */
export function array(value: NestedArray | HostArray, opts?: DTypeOptions): Array {
  const dtype = optDtype("array", opts);
  if (value instanceof Array) {
    if (dtype !== undefined && (dtype !== value.dtype || value.weakType)) return convertTo("array", value, dtype, false);
    return bind1(P.copy, [value]);
  }
  if (typeof value === "number" || typeof value === "boolean") {
    if (dtype !== undefined) return scalar(value, dtype, false);
    return toArray("array", value);
  }
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    if (typeof (value as unknown as { [i: number]: unknown })[0] === "bigint" || value instanceof BigInt64Array || value instanceof BigUint64Array)
      throw new TypeError("array: BigInt typed arrays are not supported; convert to Int32Array or Float32Array");
    const d = dtype ?? typedDefault(value);
    if (d === null) {
      const name = value.constructor.name;
      const hint = value instanceof Uint8Array ? `{dtype: "bool"} for a mask, or {dtype: "int32"}` : `{dtype: "int32"} or {dtype: "float32"}`;
      throw new TypeError(`array: a ${name} needs an explicit dtype, e.g. ${hint}`);
    }
    const src = value as unknown as { readonly length: number; readonly [i: number]: number };
    return fromHost(hostData(src, d), [src.length], d, false);
  }
  if (isJsArray(value)) return fromNested(value, dtype);
  throw new TypeError(`array: cannot make an array from ${describe(value)}`);
}

function fromNested(value: readonly NestedArray[], dtype: DType | undefined): Array {
  // The shape comes from the first element at each depth; every other element must agree.
  const shape: number[] = [];
  let cur: unknown = value;
  while (isJsArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
  }
  const leaves: (number | boolean | Array)[] = [];
  const pos = (p: number[]) => `[${p.join(",")}]`;
  const kind = (v: unknown) => (isJsArray(v) ? `a list of length ${v.length}` : v instanceof Array ? `an Array ${v.aval.str()}` : typeof v === "number" || typeof v === "boolean" ? `a ${typeof v}` : describe(v));
  const walk = (v: unknown, path: number[]): void => {
    const d = path.length;
    if (d < shape.length) {
      if (!isJsArray(v) || v.length !== shape[d])
        throw new TypeError(
          `array: ragged nested list: the element at ${pos(path)} is ${kind(v)}, expected a list of length ${shape[d]} ` +
            `(like the element at ${pos(path.map(() => 0))}); all sublists at one depth must have equal lengths`,
        );
      for (let i = 0; i < v.length; i++) walk(v[i], [...path, i]);
      return;
    }
    if (isJsArray(v))
      throw new TypeError(
        `array: ragged nested list: the element at ${pos(path)} is ${kind(v)}, expected a number or boolean ` +
          `(like the element at ${pos(path.map(() => 0))})`,
      );
    if (typeof v !== "number" && typeof v !== "boolean" && !(v instanceof Array))
      throw new TypeError(`array: unsupported element at ${pos(path)}: ${describe(v)}; expected numbers, booleans or Arrays`);
    leaves.push(v);
  };
  walk(value, []);

  if (leaves.some((v) => v instanceof Array)) return stackLeaves(leaves, shape, dtype);

  let d = dtype;
  if (d === undefined) {
    if (leaves.length === 0) d = "float32";
    else if (leaves.every((v) => typeof v === "boolean")) d = "bool";
    else if (leaves.every((v) => typeof v === "boolean" || Number.isInteger(v))) {
      d = "int32";
      const i = leaves.findIndex((v) => typeof v === "number" && (v < -(2 ** 31) || v > 2 ** 31 - 1));
      if (i >= 0)
        throw new RangeError(
          `array: the integer ${leaves[i]} is out of range for int32 (the default for integer lists); pass {dtype: "uint32"} or {dtype: "float32"}`,
        );
    } else d = "float32";
  }
  return fromHost(hostData(leaves as (number | boolean)[], d), shape, d, false);
}

function stackLeaves(leaves: (number | boolean | Array)[], shape: number[], dtype: DType | undefined): Array {
  const t = resultType("array", leaves);
  const d = dtype ?? t.dtype;
  const xs = leaves.map((v) => convertTo("array", v, d, false));
  const inner = xs[0]!.shape;
  for (let i = 0; i < xs.length; i++)
    if (xs[i]!.shape.length !== inner.length || xs[i]!.shape.some((s, k) => s !== inner[k]))
      throw new TypeError(`array: ragged nested list: Array elements have different shapes, ${xs[0]!.aval.str()} and ${xs[i]!.aval.str()}`);
  const flat = xs.map((x) => reshape(x, [1, ...inner]));
  return reshape(concatenate(flat, 0), [...shape, ...inner]);
}

/** Like `array`, but returns Arrays unchanged when no conversion is needed. */
export function asarray(value: NestedArray | HostArray, opts?: DTypeOptions): Array {
  const dtype = optDtype("asarray", opts);
  if (value instanceof Array) return dtype === undefined || dtype === value.dtype ? value : convertTo("asarray", value, dtype, false);
  return array(value, opts);
}

// ---- filled arrays -------------------------------------------------------------------

/** An array of `shape` filled with `value` (a JS number gives a weakly typed result unless `dtype` is set). */
export function full(shape: number | readonly number[], value: ArrayLike, opts?: DTypeOptions): Array {
  const s = checkShape("full", shape);
  const dtype = optDtype("full", opts);
  let v: Array;
  if (value instanceof Array) {
    v = dtype === undefined ? value : convertTo("full", value, dtype, false);
    return broadcastToOp("full", v, s);
  }
  if (typeof value !== "number" && typeof value !== "boolean")
    throw new TypeError(`full: the fill value must be a number, a boolean or an Array, got ${describe(value)}`);
  v = dtype === undefined ? toArray("full", value) : scalar(value, dtype, false);
  return broadcastRaw(v, s);
}

/** Zeros (float32 unless `dtype` is given). */
export function zeros(shape: number | readonly number[], opts?: DTypeOptions): Array {
  const dtype = optDtype("zeros", opts) ?? "float32";
  return broadcastRaw(scalar(0, dtype, false), checkShape("zeros", shape));
}

/** Ones (float32 unless `dtype` is given). */
export function ones(shape: number | readonly number[], opts?: DTypeOptions): Array {
  const dtype = optDtype("ones", opts) ?? "float32";
  return broadcastRaw(scalar(1, dtype, false), checkShape("ones", shape));
}

/** An array with `x`'s shape and dtype (and weak type) filled with `value`. */
export function fullLike(x: ArrayLike, value: ArrayLike, opts?: DTypeOptions): Array {
  const a = toArray("fullLike", x);
  const dtype = optDtype("fullLike", opts);
  const d = dtype ?? a.dtype;
  const weak = dtype === undefined && a.weakType;
  if (value instanceof Array) return broadcastToOp("fullLike", convertTo("fullLike", value, d, weak), a.shape);
  if (typeof value !== "number" && typeof value !== "boolean")
    throw new TypeError(`fullLike: the fill value must be a number, a boolean or an Array, got ${describe(value)}`);
  return broadcastRaw(scalar(value, d, weak), a.shape);
}

export function zerosLike(x: ArrayLike, opts?: DTypeOptions): Array {
  return fullLike(x, 0, opts);
}

export function onesLike(x: ArrayLike, opts?: DTypeOptions): Array {
  return fullLike(x, 1, opts);
}

// ---- ranges ---------------------------------------------------------------------------

/**
 * Evenly spaced values in [start, stop) with `step`: `arange(stop)`,
 * `arange(start, stop)`, `arange(start, stop, step)`, each optionally followed
 * by `{dtype}`. int32 when all arguments are integers, else float32.
 */
export function arange(start: number, stop?: number | DTypeOptions, step?: number | DTypeOptions, opts?: DTypeOptions): Array {
  const nums: number[] = [];
  let options: DTypeOptions | undefined;
  for (const a of [start, stop, step, opts] as unknown[]) {
    if (a === undefined) continue;
    if (options !== undefined) throw new TypeError(`arange: the options object must come last, got ${describe(a)} after it`);
    if (typeof a === "number") nums.push(a);
    else if (a !== null && typeof a === "object" && !isJsArray(a) && !(a instanceof Array)) options = a as DTypeOptions;
    else throw new TypeError(`arange: start, stop and step must be JS numbers, got ${describe(a)}`);
  }
  if (nums.length === 0) throw new TypeError("arange: expected at least one number (stop)");
  if (nums.length > 3) throw new TypeError("arange: expected at most three numbers (start, stop, step)");
  const lo = nums.length === 1 ? 0 : nums[0]!;
  const hi = nums.length === 1 ? nums[0]! : nums[1]!;
  const st = nums[2] ?? 1;
  if (nums.some((v) => !Number.isFinite(v))) throw new RangeError(`arange: arguments must be finite, got (${nums.join(", ")})`);
  if (st === 0) throw new RangeError("arange: step must not be zero");
  const dtype = optDtype("arange", options) ?? (nums.every(Number.isInteger) ? "int32" : "float32");
  if (isBool(dtype)) throw new TypeError("arange: expected a numeric dtype, got bool");
  const n = Math.max(0, Math.ceil((hi - lo) / st));
  if (nums.length === 1 && n > 0) return bind1(P.iota, [], { dtype, shape: [n], dimension: 0 });
  const vals = new Float64Array(n);
  for (let i = 0; i < n; i++) vals[i] = lo + i * st;
  return fromHost(hostData(vals, dtype), [n], dtype, false);
}

export interface LinspaceOptions extends DTypeOptions {
  /** Whether `stop` is the last value (default true). */
  endpoint?: boolean;
}

/** `num` evenly spaced values from start to stop (included unless endpoint is false). float32 by default. */
export function linspace(start: number, stop: number, num: number | LinspaceOptions = 50, opts?: LinspaceOptions): Array {
  if (typeof num === "object" && num !== null) {
    opts = num;
    num = 50;
  }
  if (typeof start !== "number" || typeof stop !== "number")
    throw new TypeError(`linspace: start and stop must be JS numbers, got ${describe(start)} and ${describe(stop)}`);
  if (typeof num !== "number" || !Number.isInteger(num) || num < 0)
    throw new RangeError(`linspace: num must be a non-negative integer, got ${describe(num)}`);
  const dtype = optDtype("linspace", opts) ?? "float32";
  const endpoint = opts?.endpoint ?? true;
  const div = endpoint ? num - 1 : num;
  const step = div > 0 ? (stop - start) / div : 0;
  const vals = new Float64Array(num);
  for (let i = 0; i < num; i++) vals[i] = start + i * step;
  if (endpoint && num > 1) vals[num - 1] = stop;
  if (isInt(dtype)) for (let i = 0; i < num; i++) vals[i] = Math.floor(vals[i]!);
  return fromHost(hostData(vals, dtype), [num], dtype, false);
}

export interface EyeOptions extends DTypeOptions {
  /** Diagonal offset: 0 main, > 0 above, < 0 below. */
  k?: number;
}

/** An n×m matrix with ones on the k-th diagonal (float32 by default). */
export function eye(n: number, m?: number | EyeOptions | null, opts?: EyeOptions): Array {
  if (typeof m === "object" && m !== null) {
    opts = m;
    m = undefined;
  }
  const cols = m ?? n;
  const shape = checkShape("eye", [n, cols]);
  const dtype = optDtype("eye", opts) ?? "float32";
  const k = opts?.k ?? 0;
  if (!Number.isInteger(k)) throw new TypeError(`eye: k must be an integer, got ${describe(k)}`);
  if (shape[0] === 0 || shape[1] === 0) return zeros(shape, { dtype });
  const rows = bind1(P.iota, [], { dtype: "int32", shape, dimension: 0 });
  const colIdx = bind1(P.iota, [], { dtype: "int32", shape, dimension: 1 });
  const shifted = k === 0 ? rows : add(rows, k);
  const mask = bind1(P.eq, [shifted, colIdx]);
  return convertTo("eye", mask, dtype, false);
}
