/**
 * The primitive set: every op of `np`, `random` and the transforms reduces to
 * these, and a backend that implements them runs everything. Semantics follow
 * XLA/StableHLO (https://openxla.org/stablehlo/spec) unless a comment says
 * otherwise. Shapes of elementwise operands must be equal (the `np` layer
 * broadcasts first), and binary operands share a dtype (the `np` layer
 * promotes first).
 */
import { RefType, ShapedArray, shapeEqual, shapeSize, type Aval, type Shape } from "./aval.js";
import { isFloat, isInt, itemsize, type DType } from "./dtype.js";
import { definePrimitive, type Params, type Primitive } from "./primitive.js";
import type { Program } from "./program.js";

function arr(prim: string, a: Aval | undefined, i = 0): ShapedArray {
  if (!(a instanceof ShapedArray))
    throw new TypeError(`${prim}: operand ${i} must be an array, got ${a ? a.str() : "nothing"}`);
  return a;
}

function ref(prim: string, a: Aval | undefined): RefType {
  if (!(a instanceof RefType))
    throw new TypeError(`${prim}: operand 0 must be a Ref, got ${a ? a.str() : "nothing"}`);
  return a;
}

// ---- elementwise ------------------------------------------------------------

type DtypeClass = "any" | "numeric" | "float" | "intOrBool" | "int";

function checkClass(prim: string, dtype: DType, cls: DtypeClass): void {
  const ok =
    cls === "any" ||
    (cls === "numeric" && dtype !== "bool") ||
    (cls === "float" && isFloat(dtype)) ||
    (cls === "intOrBool" && (isInt(dtype) || dtype === "bool")) ||
    (cls === "int" && isInt(dtype));
  if (!ok) {
    const want = { numeric: "a numeric", float: "a floating", intOrBool: "an integer or boolean", int: "an integer", any: "any" }[cls];
    throw new TypeError(`${prim}: expected ${want} dtype, got ${dtype}`);
  }
}

function unary(name: string, cls: DtypeClass, outDtype?: DType): Primitive {
  return definePrimitive(name, {
    elementwise: true,
    abstractEval([x]) {
      const a = arr(name, x);
      checkClass(name, a.dtype, cls);
      return [outDtype ? new ShapedArray(a.shape, outDtype, false) : a];
    },
  });
}

function binary(name: string, cls: DtypeClass, outDtype?: DType): Primitive {
  return definePrimitive(name, {
    elementwise: true,
    abstractEval([x, y]) {
      const a = arr(name, x, 0);
      const b = arr(name, y, 1);
      if (!shapeEqual(a.shape, b.shape) || a.dtype !== b.dtype)
        throw new TypeError(`${name}: operands must have equal shapes and dtypes, got ${a.str()} and ${b.str()}`);
      checkClass(name, a.dtype, cls);
      const weak = a.weakType && b.weakType;
      return [new ShapedArray(a.shape, outDtype ?? a.dtype, outDtype ? false : weak)];
    },
  });
}

export const neg = unary("neg", "numeric");
export const abs = unary("abs", "numeric");
export const sign = unary("sign", "numeric");
export const exp = unary("exp", "float");
export const expm1 = unary("expm1", "float");
export const log = unary("log", "float");
export const log1p = unary("log1p", "float");
export const sqrt = unary("sqrt", "float");
export const rsqrt = unary("rsqrt", "float");
export const tanh = unary("tanh", "float");
export const logistic = unary("logistic", "float");
export const erf = unary("erf", "float");
/** Inverse error function; float32 uses Giles' single-precision polynomial (as XLA). */
export const erfInv = unary("erf_inv", "float");
export const sin = unary("sin", "float");
export const cos = unary("cos", "float");
export const floor = unary("floor", "float");
export const ceil = unary("ceil", "float");
/** Round half away from zero (XLA RoundingMethod.AWAY_FROM_ZERO). */
export const round = unary("round", "float");
export const isFinite = unary("is_finite", "float", "bool");
/** Logical not for bool, bitwise not for integers. */
export const not = unary("not", "intOrBool");
/** Identity that produces a fresh buffer. */
export const copy = unary("copy", "any");

export const add = binary("add", "any");
export const sub = binary("sub", "numeric");
export const mul = binary("mul", "any");
/** Integer division truncates toward zero; integer division by zero gives -1 (all bits set), as XLA. */
export const div = binary("div", "numeric");
/** Remainder with the sign of the dividend (C fmod); integer x rem 0 gives x, as XLA. */
export const rem = binary("rem", "numeric");
export const pow = binary("pow", "float");
export const max = binary("max", "any");
export const min = binary("min", "any");
export const atan2 = binary("atan2", "float");
export const and = binary("and", "intOrBool");
export const or = binary("or", "intOrBool");
export const xor = binary("xor", "intOrBool");
/** Shifts by >= 32 give 0 (logical) or the sign fill (arithmetic), as XLA. */
export const shiftLeft = binary("shift_left", "int");
export const shiftRightLogical = binary("shift_right_logical", "int");
export const shiftRightArithmetic = binary("shift_right_arithmetic", "int");
export const eq = binary("eq", "any", "bool");
export const ne = binary("ne", "any", "bool");
export const lt = binary("lt", "any", "bool");
export const le = binary("le", "any", "bool");
export const gt = binary("gt", "any", "bool");
export const ge = binary("ge", "any", "bool");

/** select(pred, onTrue, onFalse): pred is bool with the same shape. */
export const select = definePrimitive("select", {
  elementwise: true,
  abstractEval([p, t, f]) {
    const pa = arr("select", p, 0);
    const ta = arr("select", t, 1);
    const fa = arr("select", f, 2);
    if (pa.dtype !== "bool") throw new TypeError(`select: predicate must be bool, got ${pa.str()}`);
    if (!shapeEqual(pa.shape, ta.shape) || !shapeEqual(ta.shape, fa.shape) || ta.dtype !== fa.dtype)
      throw new TypeError(`select: operands must have equal shapes and dtypes, got ${pa.str()}, ${ta.str()}, ${fa.str()}`);
    return [new ShapedArray(ta.shape, ta.dtype, ta.weakType && fa.weakType)];
  },
});

/** Value conversion (float→int truncates toward zero, saturating NaN→0; nonzero→true for bool). */
export const convertElementType = definePrimitive<{ newDtype: DType; weakType: boolean }>("convert_element_type", {
  elementwise: true,
  abstractEval([x], { newDtype, weakType }) {
    const a = arr("convert_element_type", x);
    return [new ShapedArray(a.shape, newDtype, weakType)];
  },
});

/** Reinterpret bits; dtypes must have equal item sizes. */
export const bitcastConvertType = definePrimitive<{ newDtype: DType }>("bitcast_convert_type", {
  elementwise: true,
  abstractEval([x], { newDtype }) {
    const a = arr("bitcast_convert_type", x);
    if (itemsize(a.dtype) !== itemsize(newDtype))
      throw new TypeError(`bitcast_convert_type: ${a.dtype} and ${newDtype} differ in size`);
    return [new ShapedArray(a.shape, newDtype, false)];
  },
});

/**
 * threefry2x32(k0, k1, x0, x1) → [y0, y1]: the Threefry-2x32 block cipher with
 * 20 rounds, elementwise over uint32 operands of one shape (JAX's threefry2x32_p).
 */
export const threefry2x32 = definePrimitive("threefry2x32", {
  elementwise: true,
  abstractEval(avals) {
    const as = avals.map((a, i) => arr("threefry2x32", a, i));
    if (as.length !== 4 || as.some((a) => a.dtype !== "uint32" || !shapeEqual(a.shape, as[0]!.shape)))
      throw new TypeError(`threefry2x32: expected four uint32 operands of one shape, got ${as.map((a) => a.str()).join(", ")}`);
    const out = new ShapedArray(as[0]!.shape, "uint32");
    return [out, out];
  },
});

// ---- creation and shape -------------------------------------------------------

/** iota: values counting along `dimension` of `shape`. */
export const iota = definePrimitive<{ dtype: DType; shape: Shape; dimension: number }>("iota", {
  abstractEval(_, { dtype, shape, dimension }) {
    if (dimension < 0 || dimension >= shape.length) throw new RangeError(`iota: dimension ${dimension} out of range for shape [${shape}]`);
    return [new ShapedArray(shape, dtype)];
  },
});

/** broadcast_in_dim: operand axis i maps to output axis broadcastDimensions[i] (size equal or 1). */
export const broadcastInDim = definePrimitive<{ shape: Shape; broadcastDimensions: readonly number[] }>("broadcast_in_dim", {
  abstractEval([x], { shape, broadcastDimensions }) {
    const a = arr("broadcast_in_dim", x);
    const ok =
      broadcastDimensions.length === a.ndim &&
      broadcastDimensions.every((d, i) => d >= 0 && d < shape.length && (a.shape[i] === 1 || a.shape[i] === shape[d]) && (i === 0 || d > broadcastDimensions[i - 1]!));
    if (!ok)
      throw new TypeError(`broadcast_in_dim: cannot broadcast ${a.str()} to [${shape}] with dims [${broadcastDimensions}]`);
    return [new ShapedArray(shape, a.dtype, a.weakType)];
  },
});

export const reshape = definePrimitive<{ newSizes: Shape }>("reshape", {
  abstractEval([x], { newSizes }) {
    const a = arr("reshape", x);
    if (shapeSize(newSizes) !== a.size) throw new TypeError(`reshape: cannot reshape ${a.str()} to [${newSizes}]`);
    return [new ShapedArray(newSizes, a.dtype, a.weakType)];
  },
});

export const transpose = definePrimitive<{ permutation: readonly number[] }>("transpose", {
  abstractEval([x], { permutation }) {
    const a = arr("transpose", x);
    const sorted = [...permutation].sort((p, q) => p - q);
    if (permutation.length !== a.ndim || sorted.some((p, i) => p !== i))
      throw new TypeError(`transpose: permutation [${permutation}] is not a permutation of the axes of ${a.str()}`);
    return [new ShapedArray(permutation.map((p) => a.shape[p]!), a.dtype, a.weakType)];
  },
});

/** Static strided slice: out[i] = x[start + i*stride] for start <= . < limit. */
export const slice = definePrimitive<{ startIndices: readonly number[]; limitIndices: readonly number[]; strides: readonly number[] }>("slice", {
  abstractEval([x], { startIndices, limitIndices, strides }) {
    const a = arr("slice", x);
    const shape = a.shape.map((d, i) => {
      const s = startIndices[i]!, l = limitIndices[i]!, st = strides[i]!;
      if (!(0 <= s && s <= l && l <= d && st >= 1)) throw new RangeError(`slice: bad bounds ${s}:${l}:${st} for axis ${i} of ${a.str()}`);
      return Math.max(0, Math.ceil((l - s) / st));
    });
    return [new ShapedArray(shape, a.dtype, a.weakType)];
  },
});

/** pad(x, padValue): lo/hi (>= 0) edge padding and interior padding per axis. */
export const pad = definePrimitive<{ lo: readonly number[]; hi: readonly number[]; interior: readonly number[] }>("pad", {
  abstractEval([x, v], { lo, hi, interior }) {
    const a = arr("pad", x, 0);
    const pv = arr("pad", v, 1);
    if (pv.ndim !== 0 || pv.dtype !== a.dtype) throw new TypeError(`pad: padding value must be a ${a.dtype} scalar, got ${pv.str()}`);
    const shape = a.shape.map((d, i) => lo[i]! + hi[i]! + d + Math.max(0, d - 1) * interior[i]!);
    return [new ShapedArray(shape, a.dtype, a.weakType)];
  },
});

export const concatenate = definePrimitive<{ dimension: number }>("concatenate", {
  abstractEval(avals, { dimension }) {
    const as = avals.map((a, i) => arr("concatenate", a, i));
    const first = as[0]!;
    let total = 0;
    for (const a of as) {
      if (a.ndim !== first.ndim || a.dtype !== first.dtype || a.shape.some((d, i) => i !== dimension && d !== first.shape[i]))
        throw new TypeError(`concatenate: operands must agree except on axis ${dimension}, got ${as.map((b) => b.str()).join(", ")}`);
      total += a.shape[dimension]!;
    }
    const shape = [...first.shape];
    shape[dimension] = total;
    return [new ShapedArray(shape, first.dtype, as.every((a) => a.weakType))];
  },
});

/** Reverse the order of elements along `dimensions`. */
export const rev = definePrimitive<{ dimensions: readonly number[] }>("rev", {
  abstractEval([x]) {
    return [arr("rev", x)];
  },
});

// ---- reductions ------------------------------------------------------------

function reduction(name: string, cls: DtypeClass): Primitive<{ axes: readonly number[] }> {
  return definePrimitive<{ axes: readonly number[] }>(name, {
    abstractEval([x], { axes }) {
      const a = arr(name, x);
      checkClass(name, a.dtype, cls);
      return [new ShapedArray(a.shape.filter((_, i) => !axes.includes(i)), a.dtype, a.weakType)];
    },
  });
}

export const reduceSum = reduction("reduce_sum", "numeric");
export const reduceProd = reduction("reduce_prod", "numeric");
/** Max/min propagate NaN. */
export const reduceMax = reduction("reduce_max", "any");
export const reduceMin = reduction("reduce_min", "any");

function argReduction(name: string): Primitive<{ axis: number; indexDtype: DType }> {
  return definePrimitive<{ axis: number; indexDtype: DType }>(name, {
    abstractEval([x], { axis, indexDtype }) {
      const a = arr(name, x);
      if (a.shape[axis] === 0) throw new RangeError(`${name}: cannot reduce an empty axis ${axis} of ${a.str()}`);
      return [new ShapedArray(a.shape.filter((_, i) => i !== axis), indexDtype)];
    },
  });
}

/** Index of the first maximum along `axis` (NaN counts as the maximum, as in JAX). */
export const argmax = argReduction("argmax");
export const argmin = argReduction("argmin");

// ---- linear algebra ----------------------------------------------------------

export interface DotGeneralParams extends Params {
  lhsContracting: readonly number[];
  rhsContracting: readonly number[];
  lhsBatch: readonly number[];
  rhsBatch: readonly number[];
}

/** dot_general: output axes are batch, then lhs free, then rhs free (StableHLO order). */
export const dotGeneral = definePrimitive<DotGeneralParams>("dot_general", {
  abstractEval([x, y], { lhsContracting, rhsContracting, lhsBatch, rhsBatch }) {
    const a = arr("dot_general", x, 0);
    const b = arr("dot_general", y, 1);
    const bad =
      a.dtype !== b.dtype ||
      lhsContracting.length !== rhsContracting.length ||
      lhsBatch.length !== rhsBatch.length ||
      lhsContracting.some((d, i) => a.shape[d] !== b.shape[rhsContracting[i]!]) ||
      lhsBatch.some((d, i) => a.shape[d] !== b.shape[rhsBatch[i]!]);
    if (bad) throw new TypeError(`dot_general: incompatible operands ${a.str()} and ${b.str()}`);
    const free = (s: ShapedArray, c: readonly number[], bt: readonly number[]) =>
      s.shape.filter((_, i) => !c.includes(i) && !bt.includes(i));
    const shape = [...lhsBatch.map((d) => a.shape[d]!), ...free(a, lhsContracting, lhsBatch), ...free(b, rhsContracting, rhsBatch)];
    return [new ShapedArray(shape, a.dtype, a.weakType && b.weakType)];
  },
});

// ---- gather / scatter ----------------------------------------------------------

/**
 * gather(x, idx) {axis}: take along one axis. out.shape =
 * x.shape[:axis] + idx.shape + x.shape[axis+1:]. idx is int32; out-of-range
 * indices are clamped into range (JAX's default for reads).
 */
export const gather = definePrimitive<{ axis: number }>("gather", {
  abstractEval([x, i], { axis }) {
    const a = arr("gather", x, 0);
    const ix = arr("gather", i, 1);
    if (ix.dtype !== "int32") throw new TypeError(`gather: indices must be int32, got ${ix.str()}`);
    if (axis < 0 || axis >= a.ndim) throw new RangeError(`gather: axis ${axis} out of range for ${a.str()}`);
    return [new ShapedArray([...a.shape.slice(0, axis), ...ix.shape, ...a.shape.slice(axis + 1)], a.dtype, a.weakType)];
  },
});

function scatterLike(name: string): Primitive<{ axis: number }> {
  return definePrimitive<{ axis: number }>(name, {
    abstractEval([x, i, u], { axis }) {
      const a = arr(name, x, 0);
      const ix = arr(name, i, 1);
      const up = arr(name, u, 2);
      const want = [...a.shape.slice(0, axis), ...ix.shape, ...a.shape.slice(axis + 1)];
      if (ix.dtype !== "int32" || up.dtype !== a.dtype || !shapeEqual(up.shape, want))
        throw new TypeError(`${name}: expected int32 indices and ${a.dtype}[${want}] updates, got ${ix.str()} and ${up.str()}`);
      return [a];
    },
  });
}

/**
 * scatter_add(x, idx, updates) {axis}: x with updates added at idx along axis;
 * out-of-range indices are dropped (JAX's default for updates). Duplicates accumulate.
 */
export const scatterAdd = scatterLike("scatter_add");
/** scatter(x, idx, updates) {axis}: like scatter_add but writes; with duplicate indices the last write wins. */
export const scatter = scatterLike("scatter");

/** dynamic_slice(x, ...starts) {sliceSizes}: starts are int32 scalars, clamped so the slice fits. */
export const dynamicSlice = definePrimitive<{ sliceSizes: Shape }>("dynamic_slice", {
  abstractEval([x, ...starts], { sliceSizes }) {
    const a = arr("dynamic_slice", x);
    if (starts.length !== a.ndim || sliceSizes.some((s, i) => s < 0 || s > a.shape[i]!))
      throw new TypeError(`dynamic_slice: need ${a.ndim} start indices and sizes within ${a.str()}`);
    return [new ShapedArray(sliceSizes, a.dtype, a.weakType)];
  },
});

/** dynamic_update_slice(x, update, ...starts): starts clamped so the update fits. */
export const dynamicUpdateSlice = definePrimitive("dynamic_update_slice", {
  abstractEval([x, u, ...starts]) {
    const a = arr("dynamic_update_slice", x, 0);
    const up = arr("dynamic_update_slice", u, 1);
    if (starts.length !== a.ndim || up.ndim !== a.ndim || up.dtype !== a.dtype || up.shape.some((s, i) => s > a.shape[i]!))
      throw new TypeError(`dynamic_update_slice: cannot place ${up.str()} into ${a.str()}`);
    return [a];
  },
});

/**
 * sort(...operands) {dimension, numKeys}: stable sort of all operands along
 * `dimension`, ordered lexicographically by the first numKeys operands.
 */
export const sort = definePrimitive<{ dimension: number; numKeys: number }>("sort", {
  abstractEval(avals) {
    const as = avals.map((a, i) => arr("sort", a, i));
    if (as.some((a) => !shapeEqual(a.shape, as[0]!.shape)))
      throw new TypeError(`sort: operands must share a shape, got ${as.map((a) => a.str()).join(", ")}`);
    return as;
  },
});

/** cumsum/cummax... along an axis (inclusive scan). */
export const cumsum = definePrimitive<{ axis: number; reverse: boolean }>("cumsum", {
  abstractEval([x]) {
    return [arr("cumsum", x)];
  },
});

// ---- calls and control flow (params hold sub-programs) ---------------------------

function programOuts(p: Program): ShapedArray[] {
  return p.outputs.map((o) => o.aval);
}

/** Call a whole program (what `jit` binds). */
export const jitCall = definePrimitive<{ program: Program; name: string }>("jit_call", {
  abstractEval(_, { program }) {
    return programOuts(program);
  },
});

/**
 * scan(...consts, ...carry, ...xs) {body, length, reverse, numConsts, numCarry}:
 * body(consts, carry, x_i) → (carry, y_i); outputs carry then ys stacked on a leading axis.
 */
export const scan = definePrimitive<{ body: Program; length: number; reverse: boolean; numConsts: number; numCarry: number }>("scan", {
  abstractEval(_, { body, length, numCarry }) {
    const outs = programOuts(body);
    return [...outs.slice(0, numCarry), ...outs.slice(numCarry).map((a) => new ShapedArray([length, ...a.shape], a.dtype, a.weakType))];
  },
});

/** cond(index, ...operands) {branches}: runs branches[clamp(index)] on the operands. */
export const cond = definePrimitive<{ branches: readonly Program[] }>("cond", {
  abstractEval(_, { branches }) {
    return programOuts(branches[0]!);
  },
});

/**
 * while(...condConsts, ...bodyConsts, ...carry) {cond, body, condNumConsts, bodyNumConsts}:
 * while cond(condConsts, carry) is true: carry = body(bodyConsts, carry).
 */
export const whileLoop = definePrimitive<{ cond: Program; body: Program; condNumConsts: number; bodyNumConsts: number }>("while", {
  abstractEval(_, { body }) {
    return programOuts(body);
  },
});

// ---- refs (effects; discharged by trace, run by the eager interpreter) ------------

export const refNew = definePrimitive("ref_new", {
  effectful: true,
  abstractEval([x]) {
    return [new RefType(arr("ref_new", x).withWeak(arr("ref_new", x).weakType))];
  },
});

/** The indexer of a ref access: see indexing.ts. */
export type IndexerParam = Params["k"];

export const refGet = definePrimitive<{ indexer: IndexerParam }>("ref_get", {
  effectful: true,
  abstractEval([r, ...idx], { indexer }) {
    return [indexedAval(ref("ref_get", r).inner, indexer, idx)];
  },
});

export const refSwap = definePrimitive<{ indexer: IndexerParam }>("ref_swap", {
  effectful: true,
  abstractEval([r, _v, ...idx], { indexer }) {
    return [indexedAval(ref("ref_swap", r).inner, indexer, idx)];
  },
});

export const refAddUpdate = definePrimitive<{ indexer: IndexerParam }>("ref_addupdate", {
  effectful: true,
  abstractEval([r]) {
    ref("ref_addupdate", r);
    return [];
  },
});

export const refFreeze = definePrimitive("ref_freeze", {
  effectful: true,
  abstractEval([r]) {
    return [ref("ref_freeze", r).inner];
  },
});

// Filled in by indexing.ts (kept out of this file to avoid a cycle).
let indexedAvalImpl: (inner: ShapedArray, indexer: IndexerParam, idx: readonly Aval[]) => ShapedArray = () => {
  throw new Error("indexing not initialised");
};
export function setIndexedAval(f: typeof indexedAvalImpl): void {
  indexedAvalImpl = f;
}
function indexedAval(inner: ShapedArray, indexer: IndexerParam, idx: readonly Aval[]): ShapedArray {
  return indexedAvalImpl(inner, indexer, idx);
}
