import { describe, expect, it } from "vitest";
import { ShapedArray } from "../src/aval.js";
import { Var, makeProgram, type Atom, type Eqn } from "../src/program.js";
import type { Params, Primitive } from "../src/primitive.js";
import * as P from "../src/primitives.js";
import { fitBindings, kernelBindings, planProgram, type Step } from "../src/fusion/index.js";

const sa = (shape: number[]) => new ShapedArray(shape, "float32");

function chain(n: number, shape: number[]) {
  const eqns: Eqn[] = [];
  const b1 = (prim: Primitive<any>, params: Params, ...inputs: Atom[]): Var => {
    const out = new Var((prim.abstractEval(inputs.map((a) => a.aval), params) as ShapedArray[])[0]!);
    eqns.push({ prim, params, inputs, outputs: [out] });
    return out;
  };
  const x = new Var(sa(shape));
  const y = new Var(sa(shape));
  const ts: Var[] = [];
  let t = x;
  for (let i = 0; i < n; i++) ts.push((t = b1(i % 2 ? P.mul : P.add, {}, t, i % 3 ? y : x)));
  return { p: makeProgram([x, y], eqns, ts), x, y, ts };
}

const writes = (s: Step): Var[] => (s.kind === "kernel" ? [...s.outputs.map((o) => o.v), ...(s.reduce ? [s.reduce.out] : [])] : [...s.eqn.outputs]);
const reads = (s: Step): Var[] => (s.kind === "kernel" ? [...s.inputs] : s.eqn.inputs.filter((a): a is Var => a instanceof Var));

describe("fitBindings", () => {
  it("leaves a kernel within the limit alone", () => {
    const { p } = chain(4, [8]);
    const [k] = planProgram(p).steps;
    expect(k!.kind).toBe("kernel");
    expect(fitBindings(k!, 16)).toEqual([k]);
  });

  it("cuts a chain that keeps every intermediate into few consecutive kernels, each within the limit", () => {
    const { p, x, y } = chain(20, [8]);
    const [k] = planProgram(p).steps;
    expect(k!.kind === "kernel" && kernelBindings(k)).toBe(22);
    const steps = fitBindings(k!, 8);
    for (const s of steps) expect(s.kind === "kernel" && kernelBindings(s)).toBeLessThanOrEqual(8);
    // 20 outputs, at most 6 per kernel (two inputs + a carried value): 4 kernels, not one per equation.
    expect(steps.length).toBe(4);
    // Data flow: every value a step reads exists before it; every program output is written; equations keep their order.
    const have = new Set<Var>([x, y]);
    for (const s of steps) {
      for (const v of reads(s)) expect(have.has(v)).toBe(true);
      for (const v of writes(s)) have.add(v);
    }
    for (const o of p.outputs) expect(have.has(o as Var)).toBe(true);
    expect(steps.flatMap((s) => (s.kind === "kernel" ? s.eqns : [s.eqn]))).toEqual(p.eqns);
  });

  it("keeps a reduction at the end of its segment", () => {
    const { p: p0, ts } = chain(12, [4, 8]);
    const last = ts[ts.length - 1]!;
    const s = new Var(sa([4]));
    const eqns = [...p0.eqns, { prim: P.reduceSum, params: { axes: [1] }, inputs: [last], outputs: [s] }];
    const p = makeProgram(p0.inputs, eqns, [...ts.slice(0, -1), s]);
    const [k] = planProgram(p).steps;
    expect(k!.kind === "kernel" && k.reduce?.op).toBe("sum");
    const steps = fitBindings(k!, 6);
    for (const st of steps) expect(st.kind === "kernel" && kernelBindings(st)).toBeLessThanOrEqual(6);
    const lastStep = steps[steps.length - 1]!;
    expect(lastStep.kind === "kernel" && lastStep.reduce?.out).toBe(s);
  });
});
