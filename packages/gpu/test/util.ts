/** Run one-equation programs (or whole programs) on the CPU backend and on webgpu, and compare. */
import { CpuBackend, Literal, ShapedArray, Var, getBackend, makeProgram, typedArrayFor } from "@refs/core";
import type { Atom, DType, Eqn, Params, Primitive, Program, Shape, TypedArray } from "@refs/core";
import { expect } from "vitest";

export const cpu = new CpuBackend();

export interface Arg {
  dtype: DType;
  shape?: Shape;
  data: readonly number[];
}
export const f32 = (data: readonly number[], shape?: Shape): Arg => ({ dtype: "float32", data, shape: shape ?? [data.length] });
export const i32 = (data: readonly number[], shape?: Shape): Arg => ({ dtype: "int32", data, shape: shape ?? [data.length] });
export const u32 = (data: readonly number[], shape?: Shape): Arg => ({ dtype: "uint32", data, shape: shape ?? [data.length] });
export const bool = (data: readonly number[], shape?: Shape): Arg => ({ dtype: "bool", data, shape: shape ?? [data.length] });
export const scalar = (dtype: DType, v: number): Arg => ({ dtype, data: [v], shape: [] });

export function primProgram(prim: Primitive<any>, params: Params, args: readonly (Arg | Literal)[]): { p: Program; data: TypedArray[] } {
  const inputs: Var[] = [];
  const data: TypedArray[] = [];
  const atoms: Atom[] = args.map((a) => {
    if (a instanceof Literal) return a;
    const v = new Var(new ShapedArray(a.shape ?? [a.data.length], a.dtype));
    inputs.push(v);
    const t = typedArrayFor(a.dtype, a.data.length);
    t.set(a.data);
    data.push(t);
    return v;
  });
  const outAvals = prim.abstractEval(atoms.map((a) => a.aval), params) as ShapedArray[];
  const outs = outAvals.map((av) => new Var(av));
  const eqn: Eqn = { prim, params, inputs: atoms, outputs: outs };
  return { p: makeProgram(inputs, [eqn], outs), data };
}

/** Execute a program on a backend; outputs as number arrays. */
export async function runOn(be: { compile: any; alloc: any; execute: any; read: any; free: any }, p: Program, data: readonly TypedArray[]): Promise<number[][]> {
  const exe = be.compile(p);
  const ins = p.inputs.map((v, i) => be.alloc(v.aval, data[i]));
  const outs = be.execute(exe, ins, ins.map(() => false));
  const res = await Promise.all(outs.map((h: unknown, k: number) => be.read(h, p.outputs[k]!.aval)));
  ins.forEach((h: unknown) => be.free(h));
  outs.forEach((h: unknown) => be.free(h));
  return res.map((t: TypedArray) => [...t]);
}

export function gpu() {
  return getBackend("webgpu");
}

export function expectClose(got: readonly number[], want: readonly number[], rtol = 1e-5, atol = 1e-6, what = ""): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < got.length; i++) {
    const x = got[i]!, y = want[i]!;
    if (Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y)) || x === y) continue;
    if (!(Math.abs(x - y) <= atol + rtol * Math.abs(y)))
      throw new Error(`${what} mismatch at ${i}: webgpu ${x} vs cpu ${y}\n webgpu: ${got.slice(0, 16).join(", ")}\n cpu:    ${want.slice(0, 16).join(", ")}`);
  }
}

/** Apply a primitive on both backends and compare (exactly unless tolerances are given). */
export async function checkPrim(prim: Primitive<any>, params: Params, args: readonly (Arg | Literal)[], tol?: { rtol?: number; atol?: number }): Promise<number[][]> {
  const { p, data } = primProgram(prim, params, args);
  const want = await runOn(cpu, p, data);
  const got = await runOn(gpu(), p, data);
  got.forEach((g, k) => {
    if (tol) expectClose(g, want[k]!, tol.rtol ?? 1e-5, tol.atol ?? 1e-6, `${prim.name} output ${k}`);
    else expect(g, `${prim.name} output ${k}`).toEqual(want[k]);
  });
  return got;
}

export function rand(n: number, seed: number, lo = -1, hi = 1): number[] {
  let s = seed * 2654435761 >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(Math.fround(lo + ((s >>> 8) / 16777216) * (hi - lo)));
  }
  return out;
}
