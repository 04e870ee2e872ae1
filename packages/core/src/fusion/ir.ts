/**
 * The scalar expression IR of fused kernels (in the spirit of tinygrad's UOps
 * and jax-js's AluExp). A kernel evaluates one expression DAG per element of
 * its loop domain; leaves are constants, loop variables and loads from input
 * buffers at an index expression. Index arithmetic uses the pseudo-dtype
 * "index" (non-negative integers below 2^31).
 *
 * Target independent: the CPU backend prints it as JS, a GPU backend as WGSL.
 */
import type { DType } from "../dtype.js";
import type { Shape } from "../aval.js";
import { stridesOf } from "../aval.js";

export type IDType = DType | "index";

export type Exp =
  | { readonly k: "const"; readonly dtype: IDType; readonly value: number }
  /** A loop variable by name ("i": element of an elementwise kernel; "o"/"r"/"j" in reductions). */
  | { readonly k: "var"; readonly name: string }
  /** Element `index` of kernel input `input`. */
  | { readonly k: "load"; readonly input: number; readonly index: Exp; readonly dtype: DType }
  /**
   * An operation. `op` is a primitive name (elementwise primitives keep their
   * names and semantics) or an index op: "iadd", "imul", "idiv" (floor), "imod",
   * "icast" (index → dtype). `src` is the operand dtype for conversions, `out`
   * picks an output of a multi-output op (threefry2x32).
   */
  | {
      readonly k: "op";
      readonly op: string;
      readonly dtype: IDType;
      readonly args: readonly Exp[];
      readonly src?: DType;
      readonly out?: number;
    };

const keys = new WeakMap<Exp, string>();

/** Structural key: equal keys mean equal values (used for CSE and caching). */
export function expKey(e: Exp): string {
  let s = keys.get(e);
  if (s !== undefined) return s;
  switch (e.k) {
    case "const":
      s = `${e.dtype}:${Object.is(e.value, -0) ? "-0" : String(e.value)}`;
      break;
    case "var":
      s = `$${e.name}`;
      break;
    case "load":
      s = `L${e.input}<${e.dtype}>[${expKey(e.index)}]`;
      break;
    case "op":
      s = `${e.op}${e.src ? `<${e.src}>` : ""}${e.out !== undefined ? `#${e.out}` : ""}:${e.dtype}(${e.args.map(expKey).join(",")})`;
      break;
  }
  keys.set(e, s);
  return s;
}

export const cnst = (value: number, dtype: IDType): Exp => ({ k: "const", dtype, value });
export const vr = (name: string): Exp => ({ k: "var", name });
export const load = (input: number, index: Exp, dtype: DType): Exp => ({ k: "load", input, index, dtype });
export function op(name: string, dtype: IDType, args: readonly Exp[], extra: { src?: DType; out?: number } = {}): Exp {
  const e: { k: "op"; op: string; dtype: IDType; args: readonly Exp[]; src?: DType; out?: number } = { k: "op", op: name, dtype, args };
  if (extra.src !== undefined) e.src = extra.src;
  if (extra.out !== undefined) e.out = extra.out;
  return e;
}

const isConst = (e: Exp, v?: number): boolean => e.k === "const" && (v === undefined || e.value === v);
const cval = (e: Exp): number => (e as { value: number }).value;

// ---- index arithmetic with constant folding -------------------------------------

export function iadd(a: Exp, b: Exp): Exp {
  if (isConst(a, 0)) return b;
  if (isConst(b, 0)) return a;
  if (isConst(a) && isConst(b)) return cnst(cval(a) + cval(b), "index");
  return op("iadd", "index", [a, b]);
}
export function imul(a: Exp, c: number): Exp {
  if (c === 0 || isConst(a, 0)) return cnst(0, "index");
  if (c === 1) return a;
  if (isConst(a)) return cnst(cval(a) * c, "index");
  return op("imul", "index", [a, cnst(c, "index")]);
}
export function idiv(a: Exp, c: number): Exp {
  if (c === 1) return a;
  if (isConst(a)) return cnst(Math.floor(cval(a) / c), "index");
  return op("idiv", "index", [a, cnst(c, "index")]);
}
export function imod(a: Exp, c: number): Exp {
  if (c === 1) return cnst(0, "index");
  if (isConst(a)) return cnst(cval(a) % c, "index");
  return op("imod", "index", [a, cnst(c, "index")]);
}

/** Coordinates of flat row-major index `idx` (known to be < size(shape)) in `shape`. */
export function coords(idx: Exp, shape: Shape): Exp[] {
  const st = stridesOf(shape);
  return shape.map((d, i) => {
    if (d === 1) return cnst(0, "index");
    const q = idiv(idx, st[i]!);
    // The leading non-unit axis needs no modulo: idx < size.
    const leading = shape.slice(0, i).every((x) => x === 1);
    return leading ? q : imod(q, d);
  });
}

/** Flat row-major index of `cs` in `shape`. */
export function flat(cs: readonly Exp[], shape: Shape): Exp {
  const st = stridesOf(shape);
  let e: Exp = cnst(0, "index");
  cs.forEach((c, i) => {
    if (shape[i] !== 1) e = iadd(e, imul(c, st[i]!));
  });
  return e;
}

/** Collect the distinct load nodes of an expression DAG. */
export function loadsOf(roots: readonly Exp[]): Exp[] {
  const seen = new Set<string>();
  const out: Exp[] = [];
  const walk = (e: Exp): void => {
    const key = expKey(e);
    if (seen.has(key)) return;
    seen.add(key);
    if (e.k === "load") {
      out.push(e);
      walk(e.index);
    } else if (e.k === "op") e.args.forEach(walk);
  };
  roots.forEach(walk);
  return out;
}
