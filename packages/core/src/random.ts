/**
 * `random`: JAX's default PRNG, bit for bit.
 *
 * Keys are raw uint32 arrays of shape [2] (JAX's legacy `PRNGKey` layout, what
 * `jax.random.key_data` returns). Everything follows current JAX with its
 * defaults: the threefry2x32 implementation with `jax_threefry_partitionable`
 * on (the default since JAX 0.5) and x64 disabled:
 *
 * - `split(k, n)[i] = threefry(k, [hi(i), lo(i)])` (the 64-bit index split in
 *   two words), `foldIn(k, d) = threefry(k, [0, d])`;
 * - 32-bit random bits at flat index j: `y0 ^ y1` of `threefry(k, [hi(j), lo(j)])`;
 * - the samplers are transcriptions of `jax/_src/random.py` (`_uniform`,
 *   `_normal_real`, `_truncated_normal`, `_bernoulli`, `_randint`, `_shuffle`,
 *   `_gumbel`, `categorical`), op for op, so their float rounding is JAX's.
 *
 * Every function is built from primitives through `bind`, never by reading
 * values on the host, so all of them work under jit, vmap and grad tracing.
 */
import { broadcastShapes, normAxis, shapeEqual, shapeSize, shapeTuple, type Shape } from "./aval.js";
import { castScalar, isFloat, isInt, typedArrayFor, type DType } from "./dtype.js";
import { bind, bind1 } from "./interp.js";
import * as P from "./primitives.js";
import { Array, fromHost } from "./array.js";

/** A PRNG key: a uint32 Array of shape [2] (or [..., 2] for a batch of keys where accepted). */
export type Key = Array;

/** Float dtypes the samplers produce. */
export type FloatDType = "float32" | "float16";

const isArray = (x: unknown): x is Array => x instanceof Array;
const isList = (x: unknown): x is readonly unknown[] => globalThis.Array.isArray(x);

// ---- small primitive helpers ------------------------------------------------------

function scalar(v: number, dtype: DType): Array {
  if (dtype === "float16") return convert(scalar(v, "float32"), "float16");
  const data = typedArrayFor(dtype, 1);
  data[0] = castScalar(v, dtype);
  return fromHost(data, [], dtype);
}

function full(v: number, dtype: DType, shape: Shape): Array {
  return broadcastTo(scalar(v, dtype), shape);
}

/** numpy-style broadcast (leading axes added, size-1 axes stretched). */
function broadcastTo(x: Array, shape: Shape, op = "broadcast"): Array {
  if (shapeEqual(x.shape, shape)) return x;
  const lead = shape.length - x.ndim;
  if (lead < 0 || x.shape.some((d, i) => d !== 1 && d !== shape[lead + i]))
    throw new Error(`${op}: cannot broadcast shape ${shapeTuple(x.shape)} to ${shapeTuple(shape)}`);
  return bind1(P.broadcastInDim, [x], {
    shape: [...shape],
    broadcastDimensions: x.shape.map((_, i) => lead + i),
  });
}

function reshape(x: Array, shape: Shape): Array {
  return shapeEqual(x.shape, shape) ? x : bind1(P.reshape, [x], { newSizes: [...shape] });
}

function convert(x: Array, dtype: DType): Array {
  if (x.dtype === dtype) return x;
  // Same-width integer changes are bit reinterpretations (modular, as XLA's convert).
  if (isInt(x.dtype) && isInt(dtype)) return bind1(P.bitcastConvertType, [x], { newDtype: dtype });
  return bind1(P.convertElementType, [x], { newDtype: dtype, weakType: false });
}

const bin = (prim: typeof P.add) => (a: Array, b: Array) => bind1(prim, [a, b]);
const add = bin(P.add);
const sub = bin(P.sub);
const mul = bin(P.mul);
const div = bin(P.div);
const rem = bin(P.rem);
const max = bin(P.max);
const min = bin(P.min);
const and = bin(P.and);
const or = bin(P.or);
const xor = bin(P.xor);
const shl = bin(P.shiftLeft);
const shr = bin(P.shiftRightLogical);
const eq = bin(P.eq);
const ne = bin(P.ne);
const lt = bin(P.lt);
const le = bin(P.le);
const gt = bin(P.gt);
const select = (p: Array, t: Array, f: Array) => bind1(P.select, [p, t, f]);
const bitcast = (x: Array, newDtype: DType) => bind1(P.bitcastConvertType, [x], { newDtype });
const unary = (prim: typeof P.neg) => (x: Array) => bind1(prim, [x]);
const neg = unary(P.neg);
const log = unary(P.log);
const erf = unary(P.erf);
const erfInv = unary(P.erfInv);

/** Flat iota (0, 1, 2, ... in row-major order) of `shape`. */
function flatIota(dtype: DType, shape: Shape): Array {
  const n = shapeSize(shape);
  if (shape.length === 0) return scalar(0, dtype);
  return reshape(bind1(P.iota, [], { dtype, shape: [n], dimension: 0 }), shape);
}

function describe(x: unknown): string {
  if (isArray(x)) return x.aval.str();
  if (x === null) return "null";
  if (isList(x)) return `a JS array of length ${x.length}`;
  return typeof x === "object" ? (x.constructor?.name ?? "object") : `${typeof x} ${String(x)}`;
}

// ---- validation ----------------------------------------------------------------------

function checkKey(op: string, key: unknown, batched = false): asserts key is Array {
  const ok =
    isArray(key) &&
    key.dtype === "uint32" &&
    key.ndim >= 1 &&
    key.shape[key.ndim - 1] === 2 &&
    (batched || key.ndim === 1);
  if (!ok) {
    if (isArray(key) && key.dtype === "uint32" && key.ndim > 1 && key.shape[key.ndim - 1] === 2)
      throw new TypeError(
        `${op}: expected a single PRNG key of shape (2,), got a batch of keys ${key.aval.str()}; use vmap to map over keys`,
      );
    throw new TypeError(
      `${op}: expected a PRNG key of dtype uint32 and shape (2,)${batched ? " or (..., 2)" : ""}, got ${describe(key)}`,
    );
  }
}

function checkShape(op: string, shape: unknown): number[] {
  if (!isList(shape) || !shape.every((d) => typeof d === "number" && Number.isInteger(d) && d >= 0))
    throw new TypeError(
      `${op}: shape must be a list of non-negative integers, got ${isList(shape) ? `[${shape.map(String).join(", ")}]` : describe(shape)}`,
    );
  return [...(shape as number[])];
}

function checkFloatDType(op: string, dtype: unknown): FloatDType {
  if (dtype === "float32" || dtype === "float16") return dtype;
  throw new TypeError(`${op}: dtype must be a float dtype (float32 or float16), got ${String(dtype)}`);
}

/** JAX's `_check_shape`: parameter shapes must broadcast to exactly `shape`. */
function checkParamShapes(op: string, shape: Shape, ...paramShapes: Shape[]): void {
  const b = broadcastShapes(op, shape, ...paramShapes);
  if (!shapeEqual(b, shape))
    throw new Error(
      `${op}: parameter shapes must be broadcast-compatible with shape argument, and the result of ` +
        `broadcasting the shapes must equal the shape argument, but got result ${shapeTuple(b)} for shape argument ${shapeTuple(shape)}`,
    );
}

function checkInt(op: string, what: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi)
    throw new TypeError(`${op}: ${what} must be an integer in [${lo}, ${hi}], got ${describe(v)}`);
  return v;
}

/** A number (as a `dtype` constant) or an Array (converted to `dtype`). */
function asArray(op: string, what: string, x: unknown, dtype: DType): Array {
  if (typeof x === "number") return scalar(x, dtype);
  if (isArray(x)) return convert(x, dtype);
  throw new TypeError(`${op}: ${what} must be a number or an Array, got ${describe(x)}`);
}

// ---- threefry core ---------------------------------------------------------------------

/** The two key words of a key array [..., 2], each of shape [...]. */
function keyWords(key: Array): [Array, Array] {
  const batch = key.shape.slice(0, -1);
  const word = (i: number) =>
    reshape(
      bind1(P.slice, [key], {
        startIndices: [...batch.map(() => 0), i],
        limitIndices: [...batch, i + 1],
        strides: key.shape.map(() => 1),
      }),
      batch,
    );
  return [word(0), word(1)];
}

/**
 * threefry2x32 of keys (k0, k1 of shape B) over the counters of shape S, as
 * `iota_2x32_shape(S)` makes them: counter j = [hi(j), lo(j)] with j the flat
 * index into S. Outputs have shape [...B, ...S].
 */
function threefryIota(k0: Array, k1: Array, shape: Shape): [Array, Array] {
  const size = shapeSize(shape);
  if (size > 2 ** 32) throw new RangeError(`random: cannot draw more than 2**32 values at once, got ${size}`);
  const batch = k0.shape;
  const out = [...batch, ...shape];
  const kdims = batch.map((_, i) => i);
  const cdims = shape.map((_, i) => batch.length + i);
  const kb = (k: Array) => (shapeEqual(k.shape, out) ? k : bind1(P.broadcastInDim, [k], { shape: out, broadcastDimensions: kdims }));
  const lo = flatIota("uint32", shape);
  const loB = shapeEqual(lo.shape, out) ? lo : bind1(P.broadcastInDim, [lo], { shape: out, broadcastDimensions: cdims });
  const hi = full(0, "uint32", out);
  const [y0, y1] = bind(P.threefry2x32, [kb(k0), kb(k1), hi, loB]) as Array[];
  return [y0!, y1!];
}

/** Stack two arrays of shape S into [...S, 2]. */
function stackLast(a: Array, b: Array): Array {
  const s = [...a.shape, 1];
  return bind1(P.concatenate, [reshape(a, s), reshape(b, s)], { dimension: a.ndim });
}

/** Key `i` of a [n, 2] key array, as a [2] key. */
function keyAt(keys: Array, i: number): Array {
  return reshape(bind1(P.slice, [keys], { startIndices: [i, 0], limitIndices: [i + 1, 2], strides: [1, 1] }), [2]);
}

function splitImpl(key: Array, num: number): Array {
  const [k0, k1] = keyWords(key);
  const [y0, y1] = threefryIota(k0, k1, [num]);
  return stackLast(y0, y1);
}

function bitsImpl(key: Array, shape: Shape): Array {
  const [k0, k1] = keyWords(key);
  const [y0, y1] = threefryIota(k0, k1, shape);
  return xor(y0, y1);
}

/** JAX's `_uniform` for a validated key, shape and float dtype; minval/maxval broadcast to `shape`. */
function uniformImpl(op: string, key: Array, shape: Shape, dtype: FloatDType, minval: unknown, maxval: unknown): Array {
  let mn = asArray(op, "minval", minval, dtype);
  const mx = asArray(op, "maxval", maxval, dtype);
  checkParamShapes(op, shape, mn.shape, mx.shape);
  const bits = bitsImpl(key, shape);
  let floats: Array;
  if (dtype === "float32") {
    // bitcast((bits >> (32 - 23)) | bits(1.0)) - 1
    const fb = or(shr(bits, full(9, "uint32", shape)), full(0x3f800000, "uint32", shape));
    floats = sub(bitcast(fb, "float32"), full(1, "float32", shape));
  } else {
    // float16: 16 random bits (the low half, as convert to uint16), 10 mantissa bits.
    // 1 + m/1024 is exact in float32, so build it there and convert exactly.
    const low = and(bits, full(0xffff, "uint32", shape));
    const m = shr(low, full(6, "uint32", shape));
    const fb = or(shl(m, full(13, "uint32", shape)), full(0x3f800000, "uint32", shape));
    floats = convert(sub(bitcast(fb, "float32"), full(1, "float32", shape)), "float16");
  }
  // floats * (maxval - minval) + minval, then max(minval, .), as JAX.
  const common = broadcastShapes(op, mn.shape, mx.shape);
  const span = broadcastTo(sub(broadcastTo(mx, common, op), broadcastTo(mn, common, op)), shape, op);
  mn = broadcastTo(mn, shape, op);
  return max(mn, add(mul(floats, span), mn));
}

/** XLA's NextAfter(x, ±inf) for float32, built from bit operations. */
function nextAfterInf(x: Array, up: boolean): Array {
  const s = x.shape;
  const u = (v: number) => full(v, "uint32", s);
  const bits = bitcast(x, "uint32");
  const toBits = up ? 0x7f800000 : 0xff800000;
  const toSign = up ? 0 : 0x80000000;
  const sign = and(bits, u(0x80000000));
  const isZero = eq(and(bits, u(0x7fffffff)), u(0));
  // |to| = inf is never smaller than |x|: step toward zero iff the signs disagree.
  let r = select(ne(sign, u(toSign)), sub(bits, u(1)), add(bits, u(1)));
  r = select(isZero, u(toSign | 1), r);
  r = select(eq(bits, u(toBits)), u(toBits), r);
  r = select(ne(x, x), u(0x7fc00000), r);
  return bitcast(r, "float32");
}

const SQRT2: Record<FloatDType, number> = { float32: Math.fround(Math.SQRT2), float16: 1.4140625 };
/** nextafter(-1, 0) in each dtype. */
const NEXT_ABOVE_MINUS_ONE: Record<FloatDType, number> = { float32: -(1 - 2 ** -24), float16: -(1 - 2 ** -11) };
/** finfo(dtype).tiny: the smallest normal number. */
const TINY: Record<FloatDType, number> = { float32: 2 ** -126, float16: 2 ** -14 };

// ---- public API ------------------------------------------------------------------------

/**
 * A PRNG key from an integer seed, as `jax.random.PRNGKey(seed)` with x64
 * disabled (JAX's default): `[0, seed mod 2**32]`. Negative and large seeds
 * wrap to 32 bits exactly as JAX does there (`key(-1)` = `[0, 4294967295]`).
 */
export function key(seed: number): Key {
  if (typeof seed !== "number" || !Number.isSafeInteger(seed))
    throw new TypeError(`random.key: PRNG key seed must be an integer, got ${describe(seed)}`);
  // Seeds in [0, 2^32) and negative seeds follow JAX's default 32-bit mode
  // ([0, seed mod 2^32], from JAX's test_prng_seeds_and_keys); larger seeds
  // keep their high word (SPEC §7: [seed / 2^32, seed mod 2^32]) instead of overflowing.
  const lo = ((seed % 2 ** 32) + 2 ** 32) % 2 ** 32;
  const hi = seed >= 2 ** 32 ? Math.floor(seed / 2 ** 32) : 0;
  return fromHost(Uint32Array.of(hi, lo), [2], "uint32");
}

/** `num` new keys from one: shape [num, 2] (for a batch of keys [..., 2]: [..., num, 2]). */
export function split(key: Key, num = 2): Key {
  checkKey("random.split", key, true);
  checkInt("random.split", "num", num, 0, 2 ** 32);
  return splitImpl(key, num);
}

/** Fold 32-bit data (a number, or an int32/uint32 scalar Array, traced or not) into a key. */
export function foldIn(key: Key, data: number | Array): Key {
  const op = "random.foldIn";
  checkKey(op, key, true);
  let d: Array;
  if (typeof data === "number") {
    checkInt(op, "data", data, -(2 ** 31), 2 ** 32 - 1);
    d = scalar(data >>> 0, "uint32");
  } else if (isArray(data) && isInt(data.dtype) && data.ndim === 0) {
    d = convert(data, "uint32");
  } else {
    throw new TypeError(`${op}: data must be an integer or an integer scalar Array, got ${describe(data)}`);
  }
  const [k0, k1] = keyWords(key);
  const batch = k0.shape;
  const c1 = broadcastTo(d, batch);
  const [y0, y1] = bind(P.threefry2x32, [k0, k1, full(0, "uint32", batch), c1]) as Array[];
  return stackLast(y0!, y1!);
}

/** Uniform random uint32 bits of `shape`. */
export function bits(key: Key, shape: readonly number[] = []): Array {
  checkKey("random.bits", key);
  return bitsImpl(key, checkShape("random.bits", shape));
}

export interface UniformOptions {
  dtype?: FloatDType;
  minval?: number | Array;
  maxval?: number | Array;
}

/** Uniform values in [minval, maxval). */
export function uniform(key: Key, shape: readonly number[] = [], opts: UniformOptions = {}): Array {
  const op = "random.uniform";
  checkKey(op, key);
  const s = checkShape(op, shape);
  const dtype = checkFloatDType(op, opts.dtype ?? "float32");
  return uniformImpl(op, key, s, dtype, opts.minval ?? 0, opts.maxval ?? 1);
}

export interface DTypeOptions {
  dtype?: FloatDType;
}

/** Standard normal values: `sqrt(2) * erfinv(uniform(nextafter(-1, 0), 1))`. */
export function normal(key: Key, shape: readonly number[] = [], opts: DTypeOptions = {}): Array {
  const op = "random.normal";
  checkKey(op, key);
  const s = checkShape(op, shape);
  const dtype = checkFloatDType(op, opts.dtype ?? "float32");
  const u = uniformImpl(op, key, s, dtype, NEXT_ABOVE_MINUS_ONE[dtype], 1);
  return mul(full(SQRT2[dtype], dtype, s), erfInv(u));
}

/**
 * Standard normal values truncated to the open interval (lower, upper). The
 * shape defaults to the broadcast of lower's and upper's shapes.
 */
export function truncatedNormal(
  key: Key,
  lower: number | Array,
  upper: number | Array,
  shape?: readonly number[],
  opts: DTypeOptions = {},
): Array {
  const op = "random.truncatedNormal";
  checkKey(op, key);
  const dtype = checkFloatDType(op, opts.dtype ?? "float32");
  if (dtype !== "float32") throw new TypeError(`${op}: only float32 is supported, got ${dtype}`);
  const lo = asArray(op, "lower", lower, dtype);
  const hi = asArray(op, "upper", upper, dtype);
  let s: number[];
  if (shape === undefined) s = broadcastShapes(op, lo.shape, hi.shape);
  else {
    s = checkShape(op, shape);
    checkParamShapes(op, s, lo.shape, hi.shape);
  }
  const sqrt2 = (sh: Shape) => full(SQRT2[dtype], dtype, sh);
  const a = erf(div(lo, sqrt2(lo.shape)));
  const b = erf(div(hi, sqrt2(hi.shape)));
  const u = uniformImpl(op, key, s, dtype, a, b);
  const out = mul(sqrt2(s), erfInv(u));
  // jnp.clip(out, nextafter(lower, inf), nextafter(upper, -inf))
  const clipLo = broadcastTo(nextAfterInf(lo, true), s, op);
  const clipHi = broadcastTo(nextAfterInf(hi, false), s, op);
  return min(clipHi, max(clipLo, out));
}

/** Booleans that are true with probability p: `uniform(key, shape, p.dtype) < p`. */
export function bernoulli(key: Key, p: number | Array = 0.5, shape?: readonly number[]): Array {
  const op = "random.bernoulli";
  checkKey(op, key);
  let pa: Array;
  if (typeof p === "number") pa = scalar(p, "float32");
  else if (isArray(p)) {
    if (!isFloat(p.dtype)) throw new TypeError(`${op}: probability \`p\` must have a floating dtype, got ${p.dtype}`);
    pa = p;
  } else throw new TypeError(`${op}: p must be a number or a float Array, got ${describe(p)}`);
  let s: number[];
  if (shape === undefined) s = [...pa.shape];
  else {
    s = checkShape(op, shape);
    checkParamShapes(op, s, pa.shape);
  }
  const u = uniformImpl(op, key, s, pa.dtype as FloatDType, 0, 1);
  return lt(u, broadcastTo(pa, s, op));
}

/** JAX's `_shuffle`: rounds of stable sorts by fresh random 32-bit keys. */
function shuffle(key: Array, x: Array, axis: number): Array {
  const exponent = 3;
  const uint32max = 4294967295;
  const numRounds = Math.ceil((exponent * Math.log(Math.max(1, x.size))) / Math.log(uint32max));
  for (let r = 0; r < numRounds; r++) {
    const keys = splitImpl(key, 2);
    key = keyAt(keys, 0);
    const subkey = keyAt(keys, 1);
    const sortKeys = bitsImpl(subkey, x.shape);
    x = bind(P.sort, [sortKeys, x], { dimension: axis, numKeys: 1 })[1] as Array;
  }
  return x;
}

export interface PermutationOptions {
  axis?: number;
  /** Shuffle each slice along `axis` independently (only for arrays of rank > 1). */
  independent?: boolean;
}

/**
 * A random permutation: of `arange(n)` for an integer n (int32), or of an
 * array's entries along `axis` (default 0).
 */
export function permutation(key: Key, x: number | Array, opts: PermutationOptions = {}): Array {
  const op = "random.permutation";
  checkKey(op, key);
  const axisOpt = opts.axis ?? 0;
  if (typeof x === "number" || (isArray(x) && x.ndim === 0)) {
    let n: number;
    if (typeof x === "number") n = x;
    else {
      if (!isInt(x.dtype)) throw new TypeError(`${op}: x must be an integer or at least 1-dimensional, got ${x.aval.str()}`);
      if (!x.isConcrete)
        throw new TypeError(`${op}: the length of the permutation must be concrete (a JS number), got a traced ${x.aval.str()}`);
      n = Number(x.item());
    }
    if (!Number.isInteger(n) || n < 0 || n > 2 ** 31 - 1)
      throw new TypeError(`${op}: x must be a non-negative integer or at least 1-dimensional, got ${describe(x)}`);
    normAxis(op, axisOpt, 1);
    return shuffle(key, bind1(P.iota, [], { dtype: "int32", shape: [n], dimension: 0 }), 0);
  }
  if (!isArray(x)) throw new TypeError(`${op}: x must be an integer or an Array, got ${describe(x)}`);
  const axis = normAxis(op, axisOpt, x.ndim);
  if (opts.independent || x.ndim === 1) return shuffle(key, x, axis);
  const ind = shuffle(key, bind1(P.iota, [], { dtype: "int32", shape: [x.shape[axis]!], dimension: 0 }), 0);
  return bind1(P.gather, [x, ind], { axis });
}

export interface RandintOptions {
  dtype?: "int32" | "uint32";
}

/** Integers in [minval, maxval), with JAX's double-width remainder algorithm. */
export function randint(
  key: Key,
  shape: readonly number[],
  minval: number | Array,
  maxval: number | Array,
  opts: RandintOptions = {},
): Array {
  const op = "random.randint";
  checkKey(op, key);
  const s = checkShape(op, shape);
  const dtype = opts.dtype ?? "int32";
  if (dtype !== "int32" && dtype !== "uint32") throw new TypeError(`${op}: dtype must be int32 or uint32, got ${String(dtype)}`);
  // jnp.asarray: JS integers are (weak) int32; floats are cast with astype(int).
  const toInt = (what: string, v: unknown): Array => {
    if (typeof v === "number") {
      if (!Number.isInteger(v) || v < -(2 ** 31) || v > 2 ** 31 - 1)
        throw new TypeError(`${op}: ${what} must be an integer in the int32 range, got ${v}`);
      return scalar(v, "int32");
    }
    if (isArray(v)) return isInt(v.dtype) ? v : convert(v, "int32");
    throw new TypeError(`${op}: ${what} must be an integer or an Array, got ${describe(v)}`);
  };
  let mn = toInt("minval", minval);
  let mx = toInt("maxval", maxval);
  checkParamShapes(op, s, mn.shape, mx.shape);

  // maxval_out_of_range: only possible for a uint32 maxval with an int32 dtype.
  let maxOutOfRange: Array | null = null;
  if (mx.dtype === "uint32" && dtype === "int32")
    maxOutOfRange = broadcastTo(gt(mx, full(2 ** 31 - 1, "uint32", mx.shape)), s, op);
  // _convert_and_clip_integer
  const clip = (v: Array): Array => {
    if (v.dtype === dtype) return v;
    if (v.dtype === "int32") return convert(max(v, full(0, "int32", v.shape)), "uint32"); // int32 -> uint32
    return convert(min(v, full(2 ** 31 - 1, "uint32", v.shape)), "int32"); // uint32 -> int32
  };
  mn = broadcastTo(clip(mn), s, op);
  mx = broadcastTo(clip(mx), s, op);

  const keys = splitImpl(key, 2);
  const higherBits = bitsImpl(keyAt(keys, 0), s);
  const lowerBits = bitsImpl(keyAt(keys, 1), s);
  const u = (v: number) => full(v, "uint32", s);

  let span = convert(sub(mx, mn), "uint32");
  span = select(le(mx, mn), u(1), span);
  if (maxOutOfRange) span = select(and(maxOutOfRange, gt(mx, mn)), add(span, u(1)), span);
  let multiplier = rem(u(2 ** 16), span);
  multiplier = rem(mul(multiplier, multiplier), span);
  let offset = add(mul(rem(higherBits, span), multiplier), rem(lowerBits, span));
  offset = rem(offset, span);
  return add(mn, convert(offset, dtype));
}

/** Gumbel samples: `-log(-log(uniform(tiny, 1)))`. */
function gumbelImpl(op: string, key: Array, shape: Shape, dtype: FloatDType): Array {
  return neg(log(neg(log(uniformImpl(op, key, shape, dtype, TINY[dtype], 1)))));
}

export interface CategoricalOptions {
  axis?: number;
  /** Output shape; must end with the batch shape of `logits` (its shape without `axis`). */
  shape?: readonly number[];
}

/** Samples of category indices (int32) from unnormalized log-probabilities, by the Gumbel-max trick. */
export function categorical(key: Key, logits: Array, opts: CategoricalOptions = {}): Array {
  const op = "random.categorical";
  checkKey(op, key);
  if (!isArray(logits) || !isFloat(logits.dtype) || logits.ndim === 0)
    throw new TypeError(`${op}: logits must be a float Array of rank >= 1, got ${describe(logits)}`);
  const ax = normAxis(op, opts.axis ?? -1, logits.ndim);
  const batchShape = logits.shape.filter((_, i) => i !== ax);
  let s: number[];
  if (opts.shape === undefined) s = [...batchShape];
  else {
    s = checkShape(op, opts.shape);
    checkParamShapes(op, s, batchShape);
  }
  const prefix = s.slice(0, s.length - batchShape.length);
  const logitsShape = s.slice(s.length - batchShape.length);
  logitsShape.splice(ax, 0, logits.shape[ax]!);
  const fullShape = [...prefix, ...logitsShape];
  const g = gumbelImpl(op, key, fullShape, logits.dtype as FloatDType);
  const z = add(g, broadcastTo(logits, fullShape, op));
  return bind1(P.argmax, [z], { axis: prefix.length + ax, indexDtype: "int32" });
}

/** `-log(-log(uniform(tiny, 1)))`: standard Gumbel samples. */
export function gumbel(key: Key, shape: readonly number[] = [], opts: DTypeOptions = {}): Array {
  const op = "random.gumbel";
  checkKey(op, key);
  return gumbelImpl(op, key, checkShape(op, shape), checkFloatDType(op, opts.dtype ?? "float32"));
}

export const random = {
  key,
  split,
  foldIn,
  bits,
  uniform,
  normal,
  truncatedNormal,
  bernoulli,
  permutation,
  randint,
  categorical,
  gumbel,
};
