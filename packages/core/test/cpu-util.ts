/** Helpers for the CPU backend tests: build one-equation programs and run them. */
import { ShapedArray, type Shape } from "../src/aval.js";
import type { DType, TypedArray } from "../src/dtype.js";
import { typedArrayFor } from "../src/dtype.js";
import type { Params, Primitive } from "../src/primitive.js";
import { Literal, Var, makeProgram, type Atom, type Eqn, type Program } from "../src/program.js";
import { CpuBackend } from "../src/backend/cpu/index.js";

export const be = new CpuBackend();

export interface Arg {
  dtype: DType;
  shape?: Shape;
  data: readonly number[] | TypedArray;
}

export const f32 = (data: readonly number[], shape?: Shape): Arg => ({ dtype: "float32", data, shape: shape ?? [data.length] });
export const i32 = (data: readonly number[], shape?: Shape): Arg => ({ dtype: "int32", data, shape: shape ?? [data.length] });
export const u32 = (data: readonly number[], shape?: Shape): Arg => ({ dtype: "uint32", data, shape: shape ?? [data.length] });
export const bool = (data: readonly number[], shape?: Shape): Arg => ({ dtype: "bool", data, shape: shape ?? [data.length] });
export const scalar = (dtype: DType, v: number): Arg => ({ dtype, data: [v], shape: [] });

export function toTyped(a: Arg): TypedArray {
  const t = typedArrayFor(a.dtype, a.data.length);
  t.set(a.data as ArrayLike<number>);
  return t;
}

/** Apply one primitive to arguments; returns each output as a plain number array. */
export function apply(prim: Primitive<any>, params: Params, args: readonly (Arg | Literal)[]): number[][] {
  const inputs: Var[] = [];
  const atoms: Atom[] = args.map((a) => {
    if (a instanceof Literal) return a;
    const v = new Var(new ShapedArray(a.shape ?? [a.data.length], a.dtype));
    inputs.push(v);
    return v;
  });
  const outAvals = prim.abstractEval(atoms.map((a) => a.aval), params) as ShapedArray[];
  const outs = outAvals.map((av) => new Var(av));
  const eqn: Eqn = { prim, params, inputs: atoms, outputs: outs };
  const p = makeProgram(inputs, [eqn], outs);
  return runProgram(p, args.filter((a): a is Arg => !(a instanceof Literal))).map((t) => Array.from(t));
}

export function runProgram(p: Program, args: readonly Arg[], donated?: boolean[]): TypedArray[] {
  const exe = be.compile(p);
  const hs = args.map((a) => be.alloc(new ShapedArray(a.shape ?? [a.data.length], a.dtype), toTyped(a)));
  const outs = be.execute(exe, hs, donated ?? args.map(() => false));
  const res = outs.map((h, i) => be.readSync(h, p.outputs[i]!.aval));
  for (const h of new Set([...hs, ...outs])) be.free(h);
  return res;
}

/** Bits of a float32 as uint32. */
export function bits(x: number): number {
  return new Uint32Array(new Float32Array([x]).buffer)[0]!;
}

export const fr = Math.fround;
