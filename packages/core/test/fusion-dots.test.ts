/**
 * The dot_general passes of the fusion planner (backend-free): epilogue
 * fusion on plans, and the transpose folding rewrite on programs (whose
 * results are checked on the CPU backend against the unrewritten program).
 */
import { describe, expect, it } from "vitest";
import { ShapedArray } from "../src/aval.js";
import { Literal, Var, makeProgram, type Atom, type Eqn, type Program } from "../src/program.js";
import type { Params, Primitive } from "../src/primitive.js";
import * as P from "../src/primitives.js";
import { describePlan, planProgram } from "../src/fusion/plan.js";
import { fuseDotEpilogues } from "../src/fusion/epilogue.js";
import { foldMovement } from "../src/fusion/fold-movement.js";
import { planAliases } from "../src/fusion/aliases.js";
import { f32, runProgram, type Arg } from "./cpu-util.js";

const sa = (shape: number[]) => new ShapedArray(shape, "float32");
const lit = (v: number) => new Literal(v, sa([]));
const MM = { lhsContracting: [1], rhsContracting: [0], lhsBatch: [], rhsBatch: [] };

function builder() {
  const eqns: Eqn[] = [];
  const b1 = (prim: Primitive<any>, params: Params, ...inputs: Atom[]): Var => {
    const outs = (prim.abstractEval(inputs.map((a) => a.aval), params) as ShapedArray[]).map((a) => new Var(a));
    eqns.push({ prim, params, inputs, outputs: outs });
    return outs[0]!;
  };
  return { eqns, b1 };
}

const fused = (p: Program, maxBuffers?: number) => describePlan(fuseDotEpilogues(p, planProgram(p), maxBuffers ? { maxBuffers } : {}));

function rand(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1);
}

/** x[m,k] @ w[k,n] + b[n], then relu: the canonical epilogue. */
function dense(m: number, k: number, n: number) {
  const x = new Var(sa([m, k]));
  const w = new Var(sa([k, n]));
  const b = new Var(sa([n]));
  const { eqns, b1 } = builder();
  const d = b1(P.dotGeneral, MM, x, w);
  const bb = b1(P.broadcastInDim, { shape: [m, n], broadcastDimensions: [1] }, b);
  const h = b1(P.add, {}, d, bb);
  const zero = b1(P.broadcastInDim, { shape: [m, n], broadcastDimensions: [] }, lit(0));
  const r = b1(P.max, {}, h, zero);
  return { x, w, b, d, h, r, eqns, b1 };
}

describe("fuseDotEpilogues", () => {
  it("attaches bias+relu to the dot: one step, the dot result not materialised", () => {
    const { x, w, b, r, eqns } = dense(5, 7, 3);
    const p = makeProgram([x, w, b], eqns, [r]);
    expect(describePlan(planProgram(p))).toBe("routine dot_general\nkernel[15] (broadcast_in_dim, add, broadcast_in_dim, max) in=2 out=1");
    expect(fused(p)).toBe("routine dot_general + epilogue (broadcast_in_dim, add, broadcast_in_dim, max) out=1");
    const st = fuseDotEpilogues(p, planProgram(p)).steps[0]!;
    expect(st.kind === "routine" && st.epilogue?.writeDot).toBe(false);
  });

  it("keeps writing the dot result when it is a program output or used after the epilogue", () => {
    const { x, w, b, d, r, eqns, b1 } = dense(4, 4, 4);
    expect(fused(makeProgram([x, w, b], eqns, [r, d]))).toBe("routine dot_general + epilogue (broadcast_in_dim, add, broadcast_in_dim, max) out=2");
    const s = b1(P.reduceSum, { axes: [0] }, d);
    expect(fused(makeProgram([x, w, b], eqns, [r, s]))).toBe(
      "routine dot_general + epilogue (broadcast_in_dim, add, broadcast_in_dim, max) out=2\nkernel[16] reduce_sum (reduce_sum) in=1 out=1",
    );
  });

  it("multiple epilogue outputs (the pre-activation and the activation)", () => {
    const { x, w, b, h, r, eqns } = dense(4, 6, 8);
    expect(fused(makeProgram([x, w, b], eqns, [h, r]))).toBe("routine dot_general + epilogue (broadcast_in_dim, add, broadcast_in_dim, max) out=2");
  });

  it("does not fuse a reduction, a larger domain, or a load of the dot result away from the element", () => {
    // A reduction of the dot result (the reduction kernel absorbs the add).
    {
      const { x, w, b, h, eqns, b1 } = dense(4, 4, 4);
      const s = b1(P.reduceSum, { axes: [1] }, h);
      expect(fused(makeProgram([x, w, b], eqns, [s]))).toMatch(/^routine dot_general\nkernel\[16\] reduce_sum/);
    }
    // The dot result broadcast into a larger domain.
    {
      const x = new Var(sa([3, 4]));
      const w = new Var(sa([4, 5]));
      const { eqns, b1 } = builder();
      const d = b1(P.dotGeneral, MM, x, w);
      const big = b1(P.broadcastInDim, { shape: [2, 3, 5], broadcastDimensions: [1, 2] }, d);
      const y = b1(P.exp, {}, big);
      expect(fused(makeProgram([x, w], eqns, [y]))).toBe("routine dot_general\nkernel[30] (broadcast_in_dim, exp) in=1 out=1");
    }
    // The dot result read transposed, or reversed (same size, other elements).
    for (const move of ["transpose", "rev"] as const) {
      const x = new Var(sa([4, 4]));
      const w = new Var(sa([4, 4]));
      const { eqns, b1 } = builder();
      const d = b1(P.dotGeneral, MM, x, w);
      const t = move === "transpose" ? b1(P.transpose, { permutation: [1, 0] }, d) : b1(P.rev, { dimensions: [0] }, d);
      const y = b1(P.add, {}, t, x);
      expect(fused(makeProgram([x, w], eqns, [y]))).toBe(`routine dot_general\nkernel[16] (${move}, add) in=2 out=1`);
    }
  });

  it("does not fuse when another step reads the dot result before the elementwise kernel", () => {
    const x = new Var(sa([4, 4]));
    const w = new Var(sa([4, 4]));
    const { eqns, b1 } = builder();
    const d = b1(P.dotGeneral, MM, x, w);
    const d2 = b1(P.dotGeneral, MM, d, w); // reads d first
    const y = b1(P.exp, {}, d);
    const z = b1(P.add, {}, y, d2);
    expect(fused(makeProgram([x, w], eqns, [z]))).toBe("routine dot_general\nroutine dot_general + epilogue (exp, add) out=1");
  });

  it("respects the binding budget", () => {
    const { x, w, b, r, eqns } = dense(4, 4, 4);
    const p = makeProgram([x, w, b], eqns, [r]);
    expect(fused(p, 3)).toBe("routine dot_general\nkernel[16] (broadcast_in_dim, add, broadcast_in_dim, max) in=2 out=1");
    expect(fused(p, 4)).toBe("routine dot_general + epilogue (broadcast_in_dim, add, broadcast_in_dim, max) out=1");
  });

  it("an epilogue update of a donated input runs in place (SGD), unless the dot reads that input", () => {
    const x = new Var(sa([3, 4]));
    const g = new Var(sa([3, 5]));
    const wv = new Var(sa([4, 5]));
    const { eqns, b1 } = builder();
    const dw = b1(P.dotGeneral, { lhsContracting: [0], rhsContracting: [0], lhsBatch: [], rhsBatch: [] }, x, g);
    const lr = b1(P.broadcastInDim, { shape: [4, 5], broadcastDimensions: [] }, lit(0.1));
    const upd = b1(P.sub, {}, wv, b1(P.mul, {}, dw, lr));
    const p = makeProgram([x, g, wv], eqns, [upd], [{ input: 2, output: 0 }]);
    const plan = fuseDotEpilogues(p, planProgram(p));
    expect(describePlan(plan)).toMatch(/^routine dot_general \+ epilogue/);
    expect(planAliases(p, plan.steps)[0]!.mode).toBe("inplace");
    // w @ w^T-like: the dot reads the donated input itself, so it is copied.
    const a = new Var(sa([4, 4]));
    const q = builder();
    const d = q.b1(P.dotGeneral, MM, a, a);
    const y = q.b1(P.add, {}, a, d);
    const p2 = makeProgram([a], q.eqns, [y], [{ input: 0, output: 0 }]);
    expect(planAliases(p2, fuseDotEpilogues(p2, planProgram(p2)).steps)[0]!.mode).toBe("copy");
  });
});

describe("foldMovement", () => {
  const same = (p: Program, args: Arg[]) => {
    const q = foldMovement(p);
    expect(q).not.toBe(p);
    const want = runProgram(p, args).map((t) => Array.from(t));
    const got = runProgram(q, args).map((t) => Array.from(t));
    got.forEach((g, i) => g.forEach((v, j) => expect(v).toBeCloseTo(want[i]![j]!, 5)));
    return q;
  };

  it("reads a transposed operand through its permutation (all four A/B transposed or not)", () => {
    for (const [ta, tb] of [
      [false, true],
      [true, false],
      [true, true],
    ]) {
      const x = new Var(sa(ta ? [4, 3] : [3, 4]));
      const w = new Var(sa(tb ? [5, 4] : [4, 5]));
      const { eqns, b1 } = builder();
      const a = ta ? b1(P.transpose, { permutation: [1, 0] }, x) : x;
      const bm = tb ? b1(P.transpose, { permutation: [1, 0] }, w) : w;
      const d = b1(P.dotGeneral, MM, a, bm);
      const p = makeProgram([x, w], eqns, [d]);
      const q = same(p, [f32(rand(12, 1), x.aval.shape), f32(rand(20, 2), w.aval.shape)]);
      expect(q.eqns.find((e) => e.prim.name === "dot_general")!.inputs).toEqual([x, w]);
      expect(describePlan(planProgram(q))).toBe("routine dot_general");
    }
  });

  it("keeps a transpose that would reorder the free axes", () => {
    const x = new Var(sa([2, 3, 4]));
    const w = new Var(sa([4, 5]));
    const { eqns, b1 } = builder();
    const t = b1(P.transpose, { permutation: [1, 0, 2] }, x); // [3, 2, 4]: free axes swap order
    const d = b1(P.dotGeneral, { lhsContracting: [2], rhsContracting: [0], lhsBatch: [], rhsBatch: [] }, t, w);
    const p = makeProgram([x, w], eqns, [d]);
    expect(foldMovement(p)).toBe(p);
  });

  it("a batched operand transpose maps batch and contracting axes", () => {
    const x = new Var(sa([4, 2, 3])); // [k, batch, m] → transposed to [batch, m, k]
    const w = new Var(sa([2, 4, 5]));
    const { eqns, b1 } = builder();
    const t = b1(P.transpose, { permutation: [1, 2, 0] }, x);
    const d = b1(P.dotGeneral, { lhsContracting: [2], rhsContracting: [1], lhsBatch: [0], rhsBatch: [0] }, t, w);
    same(makeProgram([x, w], eqns, [d]), [f32(rand(24, 3), [4, 2, 3]), f32(rand(40, 4), [2, 4, 5])]);
  });

  it("computes (g^T x)^T as x^T g by swapping the operands", () => {
    const g = new Var(sa([6, 3]));
    const x = new Var(sa([6, 4]));
    const { eqns, b1 } = builder();
    const d = b1(P.dotGeneral, { lhsContracting: [0], rhsContracting: [0], lhsBatch: [], rhsBatch: [] }, g, x); // [3, 4]
    const t = b1(P.transpose, { permutation: [1, 0] }, d); // [4, 3]
    const y = b1(P.exp, {}, t);
    const q = same(makeProgram([g, x], eqns, [y]), [f32(rand(18, 5), [6, 3]), f32(rand(24, 6), [6, 4])]);
    expect(q.eqns.map((e) => e.prim.name)).toEqual(["dot_general", "exp"]);
    expect(fused(q)).toBe("routine dot_general + epilogue (exp) out=1");
  });

  it("broadcasts read through reshapes that only add unit axes (a bias reshaped to [1, n] or [n, 1])", () => {
    for (const [rs, shape, bd, want] of [
      [[1, 5], [3, 5], [0, 1], [1]],
      [[5, 1], [5, 3], [0, 1], [0]],
      [[1, 5, 1], [2, 5, 3], [0, 1, 2], [1]],
    ] as const) {
      const b = new Var(sa([5]));
      const x = new Var(sa([...shape]));
      const { eqns, b1 } = builder();
      const r = b1(P.reshape, { newSizes: [...rs] }, b);
      const bb = b1(P.broadcastInDim, { shape: [...shape], broadcastDimensions: [...bd] }, r);
      const y = b1(P.add, {}, x, bb);
      const p = makeProgram([x, b], eqns, [y]);
      expect(describePlan(planProgram(p))).toMatch(/^kernel\[5\] \(reshape\) in=1 out=1\n/);
      const n = shape.reduce((a, v) => a * v, 1);
      const q = same(p, [f32(rand(n, 7), [...shape]), f32(rand(5, 8))]);
      expect(q.eqns[1]!.params.broadcastDimensions).toEqual([...want]);
      expect(describePlan(planProgram(q))).toBe(`kernel[${n}] (broadcast_in_dim, add) in=2 out=1`);
    }
    // Through a dtype-preserving convert (weak scalar made strong) and a reshape.
    {
      const s0 = new Var(new ShapedArray([], "float32", true));
      const x = new Var(sa([2, 3]));
      const { eqns, b1 } = builder();
      const c = b1(P.convertElementType, { newDtype: "float32", weakType: false }, s0);
      const r = b1(P.reshape, { newSizes: [1, 1] }, c);
      const bb = b1(P.broadcastInDim, { shape: [2, 3], broadcastDimensions: [0, 1] }, r);
      const y = b1(P.mul, {}, x, bb);
      const p = makeProgram([x, s0], eqns, [y]);
      const q = same(p, [f32(rand(6, 9), [2, 3]), f32([2.5], [])]);
      expect(describePlan(planProgram(q))).toBe("kernel[6] (broadcast_in_dim, mul) in=2 out=1");
    }
    // A reshape that merges axes is not a unit-axis reshape: kept.
    const b = new Var(sa([2, 3]));
    const { eqns, b1 } = builder();
    const r = b1(P.reshape, { newSizes: [6] }, b);
    const bb = b1(P.broadcastInDim, { shape: [4, 6], broadcastDimensions: [1] }, r);
    const p = makeProgram([b], eqns, [bb]);
    expect(foldMovement(p)).toBe(p);
  });

  it("does not swap when the untransposed dot result is used too", () => {
    const g = new Var(sa([6, 3]));
    const x = new Var(sa([6, 4]));
    const { eqns, b1 } = builder();
    const d = b1(P.dotGeneral, { lhsContracting: [0], rhsContracting: [0], lhsBatch: [], rhsBatch: [] }, g, x);
    const t = b1(P.transpose, { permutation: [1, 0] }, d);
    const p = makeProgram([g, x], eqns, [t, d]);
    expect(foldMovement(p)).toBe(p);
  });
});
