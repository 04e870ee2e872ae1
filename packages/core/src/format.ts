/**
 * Printing arrays the way numpy and JAX do.
 *
 * `formatValues` is numpy's `str()` of an array (what `print(jax_array)`
 * shows), `formatRepr` is JAX's `repr()` (`Array([1, 2, 3], dtype=int32)`).
 * Both follow numpy's `arrayprint.py` with its default print options
 * (precision=8, floatmode='maxprec', suppress=False, linewidth=75,
 * threshold=1000, edgeitems=3): floats print with the shortest decimal that
 * round-trips in their own dtype (numpy's Dragon4, reimplemented here with
 * BigInt arithmetic), every element of an array shares one layout (aligned
 * columns, common number of fractional digits or common scientific layout),
 * long rows wrap and large arrays are summarised with `...`.
 */
import { shapeSize, shapeTuple, stridesOf } from "./aval.js";
import type { DType } from "./dtype.js";

export interface FormatOptions {
  /** Characters per line before wrapping (numpy `linewidth`, default 75). */
  readonly linewidth?: number;
  /** Arrays with more elements than this are summarised (default 1000). */
  readonly threshold?: number;
  /** Items shown at each end of a summarised axis (default 3). */
  readonly edgeitems?: number;
  /** Maximum fractional digits of floats (default 8). */
  readonly precision?: number;
}

interface Options {
  linewidth: number;
  threshold: number;
  edgeitems: number;
  precision: number;
}

function resolve(o: FormatOptions | undefined): Options {
  return {
    linewidth: o?.linewidth ?? 75,
    threshold: o?.threshold ?? 1000,
    edgeitems: o?.edgeitems ?? 3,
    precision: o?.precision ?? 8,
  };
}

// ---- float16 helpers --------------------------------------------------------

/** Decode IEEE binary16 bits to a number. */
export function halfBitsToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1024 + frac) * 2 ** (exp - 25);
}

/** Exact floor(log2(a)) for a finite positive number. */
function ilog2(a: number): number {
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  return e;
}

/** Round a number to the nearest float16 value (ties to even). */
export function roundToFloat16(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= 65520) return x > 0 ? Infinity : -Infinity;
  const q = Math.max(ilog2(a) - 10, -24);
  const r = a / 2 ** q;
  const fl = Math.floor(r);
  const diff = r - fl;
  const n = diff > 0.5 || (diff === 0.5 && fl % 2 === 1) ? fl + 1 : fl;
  return Math.sign(x) * n * 2 ** q;
}

// ---- shortest round-trip digits (Dragon4, as numpy) -------------------------

interface FloatSpec {
  /** Significand bits, the implicit one included. */
  readonly p: number;
  /** Exponent of the least significant bit of subnormals. */
  readonly emin: number;
  readonly round: (x: number) => number;
}

const F32: FloatSpec = { p: 24, emin: -149, round: Math.fround };
const F16: FloatSpec = { p: 11, emin: -24, round: roundToFloat16 };
const F64: FloatSpec = { p: 53, emin: -1074, round: (x) => x };

function specFor(dtype: DType): FloatSpec {
  return dtype === "float16" ? F16 : dtype === "float32" ? F32 : F64;
}

/** Digits `d1 d2 … dn` and exponent `k` with |x| = 0.d1d2…dn × 10^k. Empty digits mean 0. */
interface Digits {
  digits: string;
  k: number;
}

/**
 * Digit limits, as numpy's Dragon4 takes them: `max` cuts printing off after
 * that many digits (rounding the last one), `min` keeps generating real digits
 * of the exact value past the shortest unique ones until that many are out;
 * counted past the decimal point ("fractional") or in all ("total"); -1: none.
 */
interface Cutoff {
  readonly mode: "fractional" | "total";
  readonly max: number;
  readonly min: number;
}

const BIG10 = 10n;

function pow10(n: number): bigint {
  return BIG10 ** BigInt(n);
}

/**
 * numpy's Dragon4 (dragon4.c) in "unique" digit mode on |x| (finite, nonzero,
 * exactly representable in `spec`): the shortest digits that uniquely identify
 * x among the values of its format (IEEE round-half-even boundaries), subject
 * to the cutoffs, with the last digit rounded like numpy.
 */
function dragon4(x: number, spec: FloatSpec, cutoff: Cutoff): Digits {
  const a = Math.abs(x);
  const q = Math.max(ilog2(a) - (spec.p - 1), spec.emin);
  const m = BigInt(a / 2 ** q);
  const isEven = m % 2n === 0n;
  const unequal = m === 1n << BigInt(spec.p - 1) && q > spec.emin;
  // value = r/s, low margin = mm/s, high margin = mp/s (half the gaps to the neighbours)
  let r: bigint, s: bigint, mp: bigint, mm: bigint;
  if (q > 0) {
    const be = 1n << BigInt(q);
    if (!unequal) {
      r = m * be * 2n;
      s = 2n;
      mp = be;
      mm = be;
    } else {
      r = m * be * 4n;
      s = 4n;
      mp = be * 2n;
      mm = be;
    }
  } else if (!unequal) {
    r = m * 2n;
    s = 1n << BigInt(1 - q);
    mp = 1n;
    mm = 1n;
  } else {
    r = m * 4n;
    s = 1n << BigInt(2 - q);
    mp = 2n;
    mm = 1n;
  }
  // k = floor(log10(|x|)) + 1: the first digit has exponent k - 1.
  let k = Math.floor(Math.log10(a)) + 1;
  if (cutoff.max >= 0 && cutoff.mode === "fractional" && k <= -cutoff.max) {
    // pull the first digit back into the printable range; it will round
    k = -cutoff.max + 1;
  }
  if (k >= 0) s *= pow10(k);
  else {
    const f = pow10(-k);
    r *= f;
    mp *= f;
    mm *= f;
  }
  // Fix up an off-by-one estimate (keeping the clamp above intact).
  while (r >= s) {
    s *= BIG10;
    k++;
  }
  while (r * BIG10 < s && !(cutoff.max >= 0 && cutoff.mode === "fractional" && k <= -cutoff.max + 1)) {
    r *= BIG10;
    mp *= BIG10;
    mm *= BIG10;
    k--;
  }
  let cutoffMaxExp = -Infinity;
  if (cutoff.max >= 0) cutoffMaxExp = cutoff.mode === "total" ? k - cutoff.max : -cutoff.max;
  let cutoffMinExp = k;
  if (cutoff.min >= 0) {
    cutoffMinExp = Math.min(k, cutoff.mode === "total" ? k - cutoff.min : -cutoff.min);
  }
  const out: number[] = [];
  let digitExp = k;
  let low: boolean;
  let high: boolean;
  let d: bigint;
  for (;;) {
    digitExp--;
    r *= BIG10;
    mp *= BIG10;
    mm *= BIG10;
    d = r / s;
    r = r % s;
    low = isEven ? r <= mm : r < mm;
    high = isEven ? r + mp >= s : r + mp > s;
    if (((low || high) && digitExp <= cutoffMinExp) || digitExp === cutoffMaxExp) break;
    out.push(Number(d));
  }
  let roundDown = low;
  if (low === high) {
    const c = r * 2n - s;
    roundDown = c < 0n || (c === 0n && d % 2n === 0n);
  }
  out.push(Number(roundDown ? d : d + 1n));
  // Propagate a carry from rounding up a 9.
  for (let i = out.length - 1; i > 0 && out[i] === 10; i--) {
    out[i] = 0;
    out[i - 1] += 1;
  }
  if (out[0] === 10) {
    out[0] = 1;
    out.length = 1;
    k++;
  }
  // Leading zeros (a clamped first digit) and trailing zeros carry no information.
  let lo = 0;
  while (lo < out.length && out[lo] === 0) {
    lo++;
    k--;
  }
  let n = out.length;
  while (n > lo && out[n - 1] === 0) n--;
  if (lo === n) return { digits: "", k: 0 };
  return { digits: out.slice(lo, n).join(""), k };
}

function digitsOf(x: number, spec: FloatSpec, cutoff: Cutoff): Digits {
  if (x === 0) return { digits: "", k: 0 };
  return dragon4(x, spec, cutoff);
}

/** Integer and (trimmed) fractional parts of a positional rendering; the sign is on `int`. */
function positionalParts(x: number, spec: FloatSpec, precision = -1, minDigits = -1) {
  const { digits, k } = digitsOf(x, spec, { mode: "fractional", max: precision, min: minDigits });
  let int: string;
  let frac: string;
  if (digits === "") {
    int = "0";
    frac = "";
  } else if (k <= 0) {
    int = "0";
    frac = "0".repeat(-k) + digits;
  } else if (k >= digits.length) {
    int = digits + "0".repeat(k - digits.length);
    frac = "";
  } else {
    int = digits.slice(0, k);
    frac = digits.slice(k);
  }
  const neg = x < 0 || Object.is(x, -0);
  return { int: (neg ? "-" : "") + int, frac };
}

/** Scientific parts: sign+first digit, fractional digits (trimmed), exponent string like `-05`. */
function scientificParts(x: number, spec: FloatSpec, precision = -1, minDigits = -1) {
  const { digits, k } = digitsOf(x, spec, {
    mode: "total",
    max: precision < 0 ? -1 : precision + 1,
    min: minDigits < 0 ? -1 : minDigits + 1,
  });
  const neg = x < 0 || Object.is(x, -0);
  const ds = digits === "" ? "0" : digits;
  const e = digits === "" ? 0 : k - 1;
  const exp = (e < 0 ? "-" : "+") + String(Math.abs(e)).padStart(2, "0");
  return { int: (neg ? "-" : "") + ds[0]!, frac: ds.slice(1), exp };
}

/**
 * The shortest decimal that reads back to `x` in the given float dtype, the
 * way numpy's scalar `str()` prints it: positional when 1e-4 <= |x| < 1e16
 * (`1.0`, `0.1`, `16777216.0`), scientific otherwise (`1e-05`, `1.5e+20`).
 */
export function formatFloatScalar(x: number, dtype: DType = "float32"): string {
  const spec = specFor(dtype);
  const v = spec.round(x);
  if (Number.isNaN(v)) return "nan";
  if (v === Infinity) return "inf";
  if (v === -Infinity) return "-inf";
  const a = Math.abs(v);
  if (v === 0 || (a >= 1e-4 && a < 1e16)) {
    const { int, frac } = positionalParts(v, spec);
    return `${int}.${frac === "" ? "0" : frac}`;
  }
  const { int, frac, exp } = scientificParts(v, spec);
  return `${int}${frac === "" ? "" : "." + frac}e${exp}`;
}

// ---- element formatters (numpy's FloatingFormat, IntegerFormat, BoolFormat) --

type ElementFormatter = (x: number) => string;

function floatingFormat(shown: readonly number[], spec: FloatSpec, precision: number): ElementFormatter {
  const finite = shown.filter((v) => Number.isFinite(v));
  let expFormat = false;
  let maxVal = 0;
  let minVal = Infinity;
  for (const v of finite) {
    if (v === 0) continue;
    const a = Math.abs(v);
    if (a > maxVal) maxVal = a;
    if (a < minVal) minVal = a;
  }
  if (maxVal > 0) {
    // numpy compares in the array's own dtype.
    if (maxVal >= spec.round(1e8) || minVal < spec.round(1e-4) || spec.round(maxVal / minVal) > 1000) {
      expFormat = true;
    }
  }
  let padLeft = 0;
  let padRight = 0;
  let expSize = -1;
  let prec = 0;
  if (finite.length > 0 && expFormat) {
    const parts = finite.map((v) => scientificParts(v, spec, precision));
    expSize = Math.max(...parts.map((p) => p.exp.length)) - 1;
    prec = Math.max(...parts.map((p) => p.frac.length));
    padLeft = Math.max(...parts.map((p) => p.int.length));
    padRight = expSize + 2 + prec;
  } else if (finite.length > 0) {
    const parts = finite.map((v) => positionalParts(v, spec, precision));
    padLeft = Math.max(...parts.map((p) => p.int.length));
    padRight = Math.max(...parts.map((p) => p.frac.length));
  }
  if (finite.length !== shown.length) {
    // make room for nan / inf / -inf
    const negInf = shown.some((v) => v === -Infinity);
    const offset = padRight + 1;
    padLeft = Math.max(padLeft, 3 - offset, 3 + (negInf ? 1 : 0) - offset);
  }
  const pl = padLeft;
  const pr = padRight;
  // The output pass, as numpy's FloatingFormat.__call__: in scientific mode every
  // element gets exactly `prec` fractional digits (real digits of the value, not
  // padding), in positional mode digits run at least to the units place.
  const fmtFinite: ElementFormatter = expFormat
    ? (v) => {
        const p = scientificParts(v, spec, prec, prec);
        const e = p.exp[0]! + p.exp.slice(1).padStart(expSize, "0");
        return `${p.int.padStart(pl)}.${p.frac.padEnd(prec, "0")}e${e}`;
      }
    : (v) => {
        const p = positionalParts(v, spec, precision, 0);
        return `${p.int.padStart(pl)}.${p.frac.padEnd(pr)}`;
      };
  const width = padLeft + padRight + 1;
  return (v) => {
    if (Number.isNaN(v)) return "nan".padStart(width);
    if (v === Infinity) return "inf".padStart(width);
    if (v === -Infinity) return "-inf".padStart(width);
    return fmtFinite(v);
  };
}

function integerFormat(shown: readonly number[]): ElementFormatter {
  let max = -Infinity;
  let min = Infinity;
  for (const v of shown) {
    if (v > max) max = v;
    if (v < min) min = v;
  }
  const width = shown.length ? Math.max(String(max).length, String(min).length) : 0;
  return (v) => String(v).padStart(width);
}

function boolFormat(zeroD: boolean): ElementFormatter {
  const t = zeroD ? "True" : " True";
  return (v) => (v ? t : "False");
}

// ---- value normalisation ----------------------------------------------------

function valueReader(data: ArrayLike<number>, dtype: DType): (i: number) => number {
  switch (dtype) {
    case "float32":
      return (i) => Math.fround(Number(data[i]));
    case "float16":
      return data instanceof Uint16Array
        ? (i) => halfBitsToNumber(data[i]!)
        : (i) => roundToFloat16(Number(data[i]));
    case "int32":
      return (i) => Number(data[i]) | 0;
    case "uint32":
      return (i) => Number(data[i]) >>> 0;
    case "bool":
      return (i) => (Number(data[i]) !== 0 && !Number.isNaN(Number(data[i])) ? 1 : 0);
  }
}


/** Flat indices of the elements that a (possibly summarised) print shows, like numpy's `_leading_trailing`. */
function shownIndices(shape: readonly number[], summarize: boolean, edge: number): number[] {
  const strides = stridesOf(shape);
  const out: number[] = [];
  const rec = (axis: number, base: number) => {
    if (axis === shape.length) {
      out.push(base);
      return;
    }
    const n = shape[axis]!;
    const st = strides[axis]!;
    if (summarize && n > 2 * edge) {
      for (let i = 0; i < edge; i++) rec(axis + 1, base + i * st);
      for (let i = n - edge; i < n; i++) rec(axis + 1, base + i * st);
    } else {
      for (let i = 0; i < n; i++) rec(axis + 1, base + i * st);
    }
  };
  rec(0, 0);
  return out;
}

function elementFormatter(
  read: (i: number) => number,
  shape: readonly number[],
  dtype: DType,
  o: Options,
): { fmt: ElementFormatter; summarize: boolean } {
  const summarize = shapeSize(shape) > o.threshold;
  const shown = shownIndices(shape, summarize, o.edgeitems).map(read);
  let fmt: ElementFormatter;
  switch (dtype) {
    case "float32":
    case "float16":
      fmt = floatingFormat(shown, specFor(dtype), o.precision);
      break;
    case "int32":
    case "uint32":
      fmt = integerFormat(shown);
      break;
    case "bool":
      fmt = boolFormat(shape.length === 0);
      break;
  }
  return { fmt, summarize };
}

// ---- numpy's array2string / _formatArray -----------------------------------

function extendLine(s: string, line: string, word: string, lineWidth: number, nextLinePrefix: string) {
  let needsWrap = line.length + word.length > lineWidth;
  // don't wrap lines if it won't help
  if (line.length <= nextLinePrefix.length) needsWrap = false;
  if (needsWrap) {
    s += line.trimEnd() + "\n";
    line = nextLinePrefix;
  }
  line += word;
  return [s, line] as const;
}

function array2string(
  data: ArrayLike<number>,
  shape: readonly number[],
  dtype: DType,
  separator: string,
  prefix: string,
  suffix: string,
  o: Options,
): string {
  const read = valueReader(data, dtype);
  const { fmt, summarize } = elementFormatter(read, shape, dtype, o);
  const strides = stridesOf(shape);
  const edge = o.edgeitems;
  const lineWidth = o.linewidth - suffix.length;
  const nextLinePrefix = " " + " ".repeat(prefix.length);
  const sepStripped = separator.trimEnd();

  const recurser = (axis: number, base: number, hangingIndent: string, currWidth: number): string => {
    const axesLeft = shape.length - axis;
    if (axesLeft === 0) return fmt(read(base));
    const nextHangingIndent = hangingIndent + " ";
    const nextWidth = currWidth - 1;
    const aLen = shape[axis]!;
    const st = strides[axis]!;
    const showSummary = summarize && 2 * edge < aLen;
    const leading = showSummary ? edge : 0;
    const trailing = showSummary ? edge : aLen;
    const child = (i: number) =>
      recurser(axis + 1, base + (i < 0 ? aLen + i : i) * st, nextHangingIndent, nextWidth);
    let s = "";
    if (axesLeft === 1) {
      const elemWidth = currWidth - Math.max(sepStripped.length, 1);
      let line = hangingIndent;
      for (let i = 0; i < leading; i++) {
        [s, line] = extendLine(s, line, child(i), elemWidth, hangingIndent);
        line += separator;
      }
      if (showSummary) {
        [s, line] = extendLine(s, line, "...", elemWidth, hangingIndent);
        line += separator;
      }
      for (let i = trailing; i > 1; i--) {
        [s, line] = extendLine(s, line, child(-i), elemWidth, hangingIndent);
        line += separator;
      }
      [s, line] = extendLine(s, line, child(-1), elemWidth, hangingIndent);
      s += line;
    } else {
      const lineSep = sepStripped + "\n".repeat(axesLeft - 1);
      for (let i = 0; i < leading; i++) s += hangingIndent + child(i) + lineSep;
      if (showSummary) s += hangingIndent + "..." + lineSep;
      for (let i = trailing; i > 1; i--) s += hangingIndent + child(-i) + lineSep;
      s += hangingIndent + child(-1);
    }
    return "[" + s.slice(hangingIndent.length) + "]";
  };
  return recurser(0, 0, nextLinePrefix, lineWidth);
}

// ---- public API -------------------------------------------------------------

/** Python's repr of a shape tuple: `()`, `(3,)`, `(2, 3)`. */
export const formatShape = shapeTuple;

/**
 * numpy's `str()` of an array, i.e. what `print(jax_array)` shows:
 * `[1 2 3]`, `[[ 0.5 -1. ]\n [ 2.   3. ]]`, `[ True False]`; a 0-d array
 * prints as its scalar (`1.000178`, `1.0`, `3`, `True`).
 *
 * `data` holds the elements in row-major order (float16 may be given as raw
 * bits in a `Uint16Array`, or as numbers).
 */
export function formatValues(
  data: ArrayLike<number>,
  shape: readonly number[],
  dtype: DType,
  opts?: FormatOptions,
): string {
  const o = resolve(opts);
  const read = valueReader(data, dtype);
  if (shape.length === 0) {
    const v = read(0);
    switch (dtype) {
      case "float32":
      case "float16":
        return formatFloatScalar(v, dtype);
      case "bool":
        return v ? "True" : "False";
      default:
        return String(v);
    }
  }
  if (shapeSize(shape) === 0) return "[]";
  return array2string(data, shape, dtype, " ", "", "", o);
}

/**
 * JAX's repr of an array: `Array([1, 2, 3], dtype=int32)`,
 * `Array(1.000178, dtype=float32)`, `Array(1, dtype=int32, weak_type=True)`,
 * `Array([], shape=(0,), dtype=float32)`; `prefix` is the type name
 * (`"Array"`, `"ArrayRef"`; a trailing `(` is accepted).
 *
 * Rows are laid out like numpy's `array2string(prefix=layoutPrefix,
 * separator=", ", suffix=",")`: continuation lines are indented by
 * `layoutPrefix.length + 1`. `layoutPrefix` defaults to `prefix + "("`, except
 * for names starting with `Array` (`ArrayRef`), whose layout is that of
 * `"Array("`, because JAX prints a ref as `"ArrayRef" + repr(array)[5:]`.
 */
export function formatRepr(
  prefix: string,
  data: ArrayLike<number>,
  shape: readonly number[],
  dtype: DType,
  weakType: boolean,
  opts?: FormatOptions & { readonly layoutPrefix?: string },
): string {
  const o = resolve(opts);
  const name = prefix.endsWith("(") ? prefix.slice(0, -1) : prefix;
  const layoutPrefix = opts?.layoutPrefix ?? (name.startsWith("Array") ? "Array(" : name + "(");
  const dtypeStr = `dtype=${dtype}${weakType ? ", weak_type=True" : ""})`;
  const s =
    shapeSize(shape) === 0
      ? `[], shape=${formatShape(shape)}`
      : array2string(data, shape, dtype, ", ", layoutPrefix, ",", o);
  // JAX's own (quirky) rule for where the dtype goes.
  const lastLineLen = s.length - s.lastIndexOf("\n") + 1;
  const sep = lastLineLen + dtypeStr.length + 1 > o.linewidth ? " ".repeat(layoutPrefix.length) : " ";
  return `${name}(${s},${sep}${dtypeStr}`;
}

/** `ArrayRef(shape=(3,), dtype=dtype('float32'))`, as Flax prints values it does not show. */
export function formatShapeDtype(prefix: string, shape: readonly number[], dtype: DType): string {
  const name = prefix.endsWith("(") ? prefix.slice(0, -1) : prefix;
  return `${name}(shape=${formatShape(shape)}, dtype=dtype('${dtype}'))`;
}
