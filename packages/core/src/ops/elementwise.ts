/**
 * Elementwise ops: arithmetic, comparisons, logic, bit operations, unary math
 * and `where`. Each promotes its arguments (JAX lattice, weak types), broadcasts
 * them (numpy rules) and binds one or a few strict primitives.
 */
import type { Array, ArrayLike } from "../array.js";
import { isFloat, isInt } from "../dtype.js";
import { bind1 } from "../interp.js";
import * as P from "../primitives.js";
import type { Primitive } from "../primitive.js";
import {
  broadcastAll,
  broadcastRaw,
  convertTo,
  prepare,
  promote,
  requireClass,
  resultType,
  scalar,
  toArray,
  toInexact,
  type DtypeClass,
} from "./util.js";

// ---- helpers -------------------------------------------------------------------

/** A weak constant with `x`'s dtype and shape (weak, so it never strengthens `x`). */
export function constLike(x: Array, v: number | boolean): Array {
  return broadcastRaw(scalar(v, x.dtype, true), x.shape);
}

function binary(op: string, prim: Primitive<any>, x: unknown, y: unknown, cls?: DtypeClass): Array {
  const [a, b] = prepare(op, [x, y]);
  if (cls) requireClass(op, a!, cls);
  return bind1(prim, [a!, b!]);
}

function unaryFloat(op: string, prim: Primitive<any>, x: unknown): Array {
  return bind1(prim, [toInexact(toArray(op, x))]);
}

// Strict-operand shorthands used inside compositions (same shape and dtype assumed).
const _sub = (a: Array, b: Array) => bind1(P.sub, [a, b]);
const _add = (a: Array, b: Array) => bind1(P.add, [a, b]);
const _and = (a: Array, b: Array) => bind1(P.and, [a, b]);
const _ne = (a: Array, b: Array) => bind1(P.ne, [a, b]);
const _lt = (a: Array, b: Array) => bind1(P.lt, [a, b]);
const _select = (p: Array, t: Array, f: Array) => bind1(P.select, [p, t, f]);
const _sign = (a: Array) => bind1(P.sign, [a]);

// ---- arithmetic -------------------------------------------------------------------

export function add(x: ArrayLike, y: ArrayLike): Array {
  return binary("add", P.add, x, y);
}

export function subtract(x: ArrayLike, y: ArrayLike): Array {
  return binary("subtract", P.sub, x, y, "numeric");
}

export function multiply(x: ArrayLike, y: ArrayLike): Array {
  return binary("multiply", P.mul, x, y);
}

/** True division: integer and bool operands give float32. */
export function divide(x: ArrayLike, y: ArrayLike): Array {
  const [a, b] = broadcastAll("divide", promote("divide", [x, y]).map(toInexact));
  return bind1(P.div, [a!, b!]);
}
export { divide as trueDivide };

/** Floor division with Python semantics (rounds toward negative infinity). */
export function floorDivide(x: ArrayLike, y: ArrayLike): Array {
  const [a, b] = prepare("floorDivide", [x, y]) as [Array, Array];
  requireClass("floorDivide", a, "numeric");
  if (a.dtype === "uint32") return bind1(P.div, [a, b]);
  if (isInt(a.dtype)) {
    const q = bind1(P.div, [a, b]);
    const adjust = _and(_ne(_sign(a), _sign(b)), _ne(bind1(P.rem, [a, b]), constLike(a, 0)));
    return _select(adjust, _sub(q, constLike(q, 1)), q);
  }
  return floatDivmod(a, b)[0];
}

/** CPython's float_divmod, as jnp: [floor(a / b), a mod b] with the divisor's sign. */
function floatDivmod(a: Array, b: Array): [Array, Array] {
  let mod = bind1(P.rem, [a, b]);
  let div = bind1(P.div, [_sub(a, mod), b]);
  const zero = constLike(a, 0);
  const ind = _and(_ne(mod, zero), _ne(_sign(b), _sign(mod)));
  mod = _select(ind, _add(mod, b), mod);
  div = _select(ind, _sub(div, constLike(div, 1)), div);
  return [bind1(P.round, [div]), mod];
}

/** Python remainder: the result has the sign of the divisor. */
export function mod(x: ArrayLike, y: ArrayLike): Array {
  const [a, b] = prepare("mod", [x, y]) as [Array, Array];
  requireClass("mod", a, "numeric");
  const trunc = bind1(P.rem, [a, b]);
  if (a.dtype === "uint32") return trunc;
  const zero = constLike(a, 0);
  const doPlus = _and(_ne(_lt(trunc, zero), _lt(b, zero)), _ne(trunc, zero));
  return _select(doPlus, _add(trunc, b), trunc);
}
export { mod as remainder };

/**
 * x ** y. A JS integer exponent uses binary exponentiation with multiplies
 * (lax.integer_pow, exact for integers); integer arrays raised to integer
 * arrays use JAX's 6-step square-and-multiply; floats use the pow primitive.
 */
export function power(x: ArrayLike, y: ArrayLike): Array {
  if (typeof y === "number" && Number.isInteger(y) && Math.abs(y) < 2 ** 31) {
    const t = resultType("power", [x, y]);
    return integerPow(convertTo("power", x, t.dtype, t.weakType), y);
  }
  const [a, b] = prepare("power", [x, y]) as [Array, Array];
  requireClass("power", a, "numeric");
  if (isFloat(a.dtype)) return bind1(P.pow, [a, b]);
  // integer ** integer array, as jnp._pow_int_int
  let base = a;
  let e = b;
  const one = constLike(a, 1);
  const zero = constLike(a, 0);
  let acc = _select(_and(bind1(P.eq, [base, zero]), _ne(e, zero)), zero, one);
  for (let i = 0; i < 6; i++) {
    const bit = _ne(_and(e, one), zero);
    acc = _select(bit, bind1(P.mul, [acc, base]), acc);
    base = bind1(P.mul, [base, base]);
    e = bind1(P.shiftRightLogical, [e, one]);
  }
  return acc;
}
export { power as pow };

/** x ** n for a static integer n, by repeated squaring. */
export function integerPow(x: Array, n: number): Array {
  requireClass("power", x, "numeric");
  if (n < 0 && !isFloat(x.dtype))
    throw new RangeError(`power: integers to negative integer powers are not allowed (${x.aval.str()} ** ${n})`);
  if (n === 0) return constLike(x, 1);
  let acc: Array | null = null;
  let base = x;
  let m = Math.abs(n);
  while (m > 0) {
    if (m & 1) acc = acc === null ? base : bind1(P.mul, [acc, base]);
    m = Math.floor(m / 2);
    if (m > 0) base = bind1(P.mul, [base, base]);
  }
  return n < 0 ? bind1(P.div, [constLike(acc!, 1), acc!]) : acc!;
}

export function negative(x: ArrayLike): Array {
  const a = toArray("negative", x);
  requireClass("negative", a, "numeric");
  return bind1(P.neg, [a]);
}

export function positive(x: ArrayLike): Array {
  return toArray("positive", x);
}

export function maximum(x: ArrayLike, y: ArrayLike): Array {
  return binary("maximum", P.max, x, y);
}

export function minimum(x: ArrayLike, y: ArrayLike): Array {
  return binary("minimum", P.min, x, y);
}

/** Limit values to [lo, hi]; either bound may be null. */
export function clip(x: ArrayLike, lo: ArrayLike | null = null, hi: ArrayLike | null = null): Array {
  let out = toArray("clip", x);
  if (lo !== null && lo !== undefined) out = binary("clip", P.max, lo, out);
  if (hi !== null && hi !== undefined) out = binary("clip", P.min, hi, out);
  return out;
}

export function abs(x: ArrayLike): Array {
  const a = toArray("abs", x);
  if (a.dtype === "bool" || a.dtype === "uint32") return a;
  return bind1(P.abs, [a]);
}
export { abs as absolute };

export function sign(x: ArrayLike): Array {
  const a = toArray("sign", x);
  requireClass("sign", a, "numeric");
  return bind1(P.sign, [a]);
}

export function square(x: ArrayLike): Array {
  const a = toArray("square", x);
  return bind1(P.mul, [a, a]);
}

/** 1 / x (integers give float32). */
export function reciprocal(x: ArrayLike): Array {
  const a = toInexact(toArray("reciprocal", x));
  return bind1(P.div, [constLike(a, 1), a]);
}

// ---- comparisons and logic ---------------------------------------------------------

export function equal(x: ArrayLike, y: ArrayLike): Array {
  return binary("equal", P.eq, x, y);
}
export function notEqual(x: ArrayLike, y: ArrayLike): Array {
  return binary("notEqual", P.ne, x, y);
}
export function less(x: ArrayLike, y: ArrayLike): Array {
  return binary("less", P.lt, x, y);
}
export function lessEqual(x: ArrayLike, y: ArrayLike): Array {
  return binary("lessEqual", P.le, x, y);
}
export function greater(x: ArrayLike, y: ArrayLike): Array {
  return binary("greater", P.gt, x, y);
}
export function greaterEqual(x: ArrayLike, y: ArrayLike): Array {
  return binary("greaterEqual", P.ge, x, y);
}

/** Truthiness as bool (nonzero is true). */
export function toBool(op: string, x: ArrayLike): Array {
  const a = toArray(op, x);
  return a.dtype === "bool" ? a : _ne(a, constLike(a, 0));
}

export function logicalAnd(x: ArrayLike, y: ArrayLike): Array {
  const [a, b] = broadcastAll("logicalAnd", [toBool("logicalAnd", x), toBool("logicalAnd", y)]);
  return _and(a!, b!);
}
export function logicalOr(x: ArrayLike, y: ArrayLike): Array {
  const [a, b] = broadcastAll("logicalOr", [toBool("logicalOr", x), toBool("logicalOr", y)]);
  return bind1(P.or, [a!, b!]);
}
export function logicalXor(x: ArrayLike, y: ArrayLike): Array {
  const [a, b] = broadcastAll("logicalXor", [toBool("logicalXor", x), toBool("logicalXor", y)]);
  return bind1(P.xor, [a!, b!]);
}
export function logicalNot(x: ArrayLike): Array {
  return bind1(P.not, [toBool("logicalNot", x)]);
}

// ---- bit operations -------------------------------------------------------------------

export function bitwiseAnd(x: ArrayLike, y: ArrayLike): Array {
  return binary("bitwiseAnd", P.and, x, y, "intOrBool");
}
export function bitwiseOr(x: ArrayLike, y: ArrayLike): Array {
  return binary("bitwiseOr", P.or, x, y, "intOrBool");
}
export function bitwiseXor(x: ArrayLike, y: ArrayLike): Array {
  return binary("bitwiseXor", P.xor, x, y, "intOrBool");
}
export function bitwiseNot(x: ArrayLike): Array {
  const a = toArray("bitwiseNot", x);
  requireClass("bitwiseNot", a, "intOrBool");
  return bind1(P.not, [a]);
}
export { bitwiseNot as invert };
export function leftShift(x: ArrayLike, y: ArrayLike): Array {
  return binary("leftShift", P.shiftLeft, x, y, "int");
}
/** Arithmetic shift for int32 (sign fill), logical for uint32. */
export function rightShift(x: ArrayLike, y: ArrayLike): Array {
  const [a, b] = prepare("rightShift", [x, y]) as [Array, Array];
  requireClass("rightShift", a, "int");
  return bind1(a.dtype === "uint32" ? P.shiftRightLogical : P.shiftRightArithmetic, [a, b]);
}

// ---- unary math ------------------------------------------------------------------------

export function exp(x: ArrayLike): Array {
  return unaryFloat("exp", P.exp, x);
}
export function expm1(x: ArrayLike): Array {
  return unaryFloat("expm1", P.expm1, x);
}
export function log(x: ArrayLike): Array {
  return unaryFloat("log", P.log, x);
}
export function log1p(x: ArrayLike): Array {
  return unaryFloat("log1p", P.log1p, x);
}
export function sqrt(x: ArrayLike): Array {
  return unaryFloat("sqrt", P.sqrt, x);
}
export function rsqrt(x: ArrayLike): Array {
  return unaryFloat("rsqrt", P.rsqrt, x);
}
export function tanh(x: ArrayLike): Array {
  return unaryFloat("tanh", P.tanh, x);
}
export function erf(x: ArrayLike): Array {
  return unaryFloat("erf", P.erf, x);
}
export function erfinv(x: ArrayLike): Array {
  return unaryFloat("erfinv", P.erfInv, x);
}
export function sin(x: ArrayLike): Array {
  return unaryFloat("sin", P.sin, x);
}
export function cos(x: ArrayLike): Array {
  return unaryFloat("cos", P.cos, x);
}
export function arctan2(x: ArrayLike, y: ArrayLike): Array {
  const [a, b] = broadcastAll("arctan2", promote("arctan2", [x, y]).map(toInexact));
  return bind1(P.atan2, [a!, b!]);
}
/** The logistic sigmoid 1 / (1 + exp(-x)). */
export function sigmoid(x: ArrayLike): Array {
  return unaryFloat("sigmoid", P.logistic, x);
}

/** Round down; integers are returned unchanged. */
export function floor(x: ArrayLike): Array {
  const a = toArray("floor", x);
  return isFloat(a.dtype) ? bind1(P.floor, [a]) : a;
}
/** Round up; integers are returned unchanged. */
export function ceil(x: ArrayLike): Array {
  const a = toArray("ceil", x);
  return isFloat(a.dtype) ? bind1(P.ceil, [a]) : a;
}

/** Round half to even (numpy/jnp), to `decimals` decimal places. Integers are returned unchanged. */
export function round(x: ArrayLike, decimals = 0): Array {
  const a = toArray("round", x);
  if (!isFloat(a.dtype)) return a;
  if (decimals === 0) return roundHalfEven(a);
  const factor = constLike(a, 10 ** decimals);
  return bind1(P.div, [roundHalfEven(bind1(P.mul, [a, factor])), factor]);
}
export { round as around };

function roundHalfEven(a: Array): Array {
  // The primitive rounds half away from zero; at exact halves pick the even neighbour.
  const r = bind1(P.round, [a]);
  const isHalf = bind1(P.eq, [bind1(P.abs, [_sub(a, r)]), constLike(a, 0.5)]);
  const even = bind1(P.mul, [bind1(P.round, [bind1(P.mul, [a, constLike(a, 0.5)])]), constLike(a, 2)]);
  return _select(isHalf, even, r);
}

export function isfinite(x: ArrayLike): Array {
  const a = toArray("isfinite", x);
  return isFloat(a.dtype) ? bind1(P.isFinite, [a]) : broadcastRaw(scalar(true, "bool"), a.shape);
}
export function isnan(x: ArrayLike): Array {
  const a = toArray("isnan", x);
  return isFloat(a.dtype) ? _ne(a, a) : broadcastRaw(scalar(false, "bool"), a.shape);
}
export function isinf(x: ArrayLike): Array {
  const a = toArray("isinf", x);
  return isFloat(a.dtype)
    ? bind1(P.eq, [bind1(P.abs, [a]), constLike(a, Infinity)])
    : broadcastRaw(scalar(false, "bool"), a.shape);
}

// ---- selection --------------------------------------------------------------------------

/** Elementwise choice: `x` where `cond` is true (nonzero), else `y`; all three broadcast. */
export function where(cond: ArrayLike, x: ArrayLike, y: ArrayLike): Array {
  if (x === undefined || y === undefined)
    throw new TypeError("where: expected three arguments where(cond, x, y); the one-argument form is not supported");
  const c = toBool("where", cond);
  const [a, b] = promote("where", [x, y]);
  const [p, t, f] = broadcastAll("where", [c, a!, b!]);
  return _select(p!, t!, f!);
}
