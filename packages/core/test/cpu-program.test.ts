import { describe, expect, it } from "vitest";
import { ShapedArray } from "../src/aval.js";
import { Literal, Var, makeProgram, type Atom, type Eqn, type Program } from "../src/program.js";
import type { Params, Primitive } from "../src/primitive.js";
import * as P from "../src/primitives.js";
import { CpuBackend, type CpuExecutable } from "../src/backend/cpu/index.js";
import { f32, fr, i32, runProgram, scalar, toTyped, u32 } from "./cpu-util.js";

const sa = (shape: number[], dtype: "float32" | "int32" | "uint32" | "bool" = "float32") => new ShapedArray(shape, dtype);
const lit = (v: number, dtype: "float32" | "int32" | "uint32" | "bool" = "float32") => new Literal(v, sa([], dtype));

/** A tiny program builder: bind(prim, params, ...inputs) appends an equation. */
function builder() {
  const eqns: Eqn[] = [];
  const bind = (prim: Primitive<any>, params: Params, ...inputs: Atom[]): Var[] => {
    const outs = (prim.abstractEval(inputs.map((a) => a.aval), params) as ShapedArray[]).map((a) => new Var(a));
    eqns.push({ prim, params, inputs, outputs: outs });
    return outs;
  };
  const b1 = (prim: Primitive<any>, params: Params, ...inputs: Atom[]): Var => bind(prim, params, ...inputs)[0]!;
  return { eqns, bind, b1 };
}

describe("fusion", () => {
  it("a chain of 5 elementwise ops is one kernel", () => {
    const be = new CpuBackend();
    const x = new Var(sa([4]));
    const y = new Var(sa([4]));
    const { eqns, b1 } = builder();
    const a = b1(P.mul, {}, x, x);
    const b = b1(P.add, {}, a, y);
    const c = b1(P.exp, {}, b);
    const d = b1(P.neg, {}, c);
    const e = b1(P.sub, {}, d, x);
    const p = makeProgram([x, y], eqns, [e]);
    const exe = be.compile(p) as CpuExecutable;
    expect(exe.kernelCount).toBe(1);
    expect(exe.describe()).toMatch(/^kernel\[4\] \(mul, add, exp, neg, sub\)/);
    const xs = [0.5, -1, 2, 0];
    const ys = [0.25, 1, -3, 0];
    const [out] = runProgram(p, [f32(xs), f32(ys)]);
    expect(Array.from(out!)).toEqual(xs.map((v, i) => fr(fr(-fr(Math.exp(fr(fr(v * v) + ys[i]!)))) - v)));
  });
  it("fused mul+add rounds in between (no FMA)", () => {
    const [a, b, c] = [new Var(sa([1])), new Var(sa([1])), new Var(sa([1]))];
    const { eqns, b1 } = builder();
    const m = b1(P.mul, {}, a, b);
    const s = b1(P.add, {}, m, c);
    const p = makeProgram([a, b, c], eqns, [s]);
    expect((new CpuBackend().compile(p) as CpuExecutable).kernelCount).toBe(1);
    const [out] = runProgram(p, [f32([1 + 2 ** -23]), f32([1 - 2 ** -23]), f32([-1])]);
    expect(out![0]).toBe(0);
  });
  it("broadcasts and literals are read through index arithmetic in the same kernel", () => {
    const x = new Var(sa([2, 3]));
    const bvec = new Var(sa([3]));
    const { eqns, b1 } = builder();
    const bb = b1(P.broadcastInDim, { shape: [2, 3], broadcastDimensions: [1] }, bvec);
    const s = b1(P.add, {}, x, bb);
    const two = b1(P.broadcastInDim, { shape: [2, 3], broadcastDimensions: [] }, lit(2));
    const m = b1(P.mul, {}, s, two);
    const p = makeProgram([x, bvec], eqns, [m]);
    expect((new CpuBackend().compile(p) as CpuExecutable).kernelCount).toBe(1);
    const [out] = runProgram(p, [f32([1, 2, 3, 4, 5, 6], [2, 3]), f32([10, 20, 30])]);
    expect(Array.from(out!)).toEqual([22, 44, 66, 28, 50, 72]);
  });
  it("a value used by a program output is materialised, still one kernel", () => {
    const x = new Var(sa([3]));
    const { eqns, b1 } = builder();
    const a = b1(P.add, {}, x, x);
    const b = b1(P.mul, {}, a, a);
    const p = makeProgram([x], eqns, [a, b]);
    const exe = new CpuBackend().compile(p) as CpuExecutable;
    expect(exe.kernelCount).toBe(1);
    const [oa, ob] = runProgram(p, [f32([1, 2, 3])]);
    expect(Array.from(oa!)).toEqual([2, 4, 6]);
    expect(Array.from(ob!)).toEqual([4, 16, 36]);
  });
  it("sum(x*x) fuses the square into the reduction", () => {
    const x = new Var(sa([2, 3]));
    const { eqns, b1 } = builder();
    const sq = b1(P.mul, {}, x, x);
    const s = b1(P.reduceSum, { axes: [1] }, sq);
    const p = makeProgram([x], eqns, [s]);
    const exe = new CpuBackend().compile(p) as CpuExecutable;
    expect(exe.kernelCount).toBe(1);
    expect(exe.describe()).toContain("reduce_sum");
    const [out] = runProgram(p, [f32([1, 2, 3, 4, 5, 6], [2, 3])]);
    expect(Array.from(out!)).toEqual([14, 77]);
  });
  it("threefry on iota counters fuses (PRNG-style program)", () => {
    const k0 = new Var(sa([], "uint32"));
    const k1 = new Var(sa([], "uint32"));
    const { eqns, b1, bind } = builder();
    const c = b1(P.iota, { dtype: "uint32", shape: [4], dimension: 0 }, );
    const kb0 = b1(P.broadcastInDim, { shape: [4], broadcastDimensions: [] }, k0);
    const kb1 = b1(P.broadcastInDim, { shape: [4], broadcastDimensions: [] }, k1);
    const zero = b1(P.broadcastInDim, { shape: [4], broadcastDimensions: [] }, lit(0, "uint32"));
    const [y0, y1] = bind(P.threefry2x32, {}, kb0, kb1, zero, c);
    const sh = b1(P.shiftRightLogical, {}, y0!, b1(P.broadcastInDim, { shape: [4], broadcastDimensions: [] }, lit(9, "uint32")));
    const p = makeProgram([k0, k1], eqns, [sh, y1!]);
    expect((new CpuBackend().compile(p) as CpuExecutable).kernelCount).toBe(1);
    const [o0, o1] = runProgram(p, [scalar("uint32", 0), scalar("uint32", 0)]);
    // counter (0, 0) with key (0, 0) is the first known answer
    expect(o0![0]).toBe(0x6b200159 >>> 9);
    expect(o1![0]).toBe(0x99ba4efe);
  });
  it("transpose feeding elementwise is one kernel", () => {
    const x = new Var(sa([2, 3]));
    const y = new Var(sa([3, 2]));
    const { eqns, b1 } = builder();
    const t = b1(P.transpose, { permutation: [1, 0] }, x);
    const s = b1(P.add, {}, t, y);
    const p = makeProgram([x, y], eqns, [s]);
    expect((new CpuBackend().compile(p) as CpuExecutable).kernelCount).toBe(1);
    const [out] = runProgram(p, [f32([1, 2, 3, 4, 5, 6], [2, 3]), f32([0, 0, 10, 10, 20, 20], [3, 2])]);
    expect(Array.from(out!)).toEqual([1, 4, 12, 15, 23, 26]);
  });
  it("kernels are cached by source text", () => {
    const mk = () => {
      const x = new Var(sa([5]));
      const { eqns, b1 } = builder();
      return makeProgram([x], eqns, [b1(P.tanh, {}, b1(P.add, {}, x, x))]);
    };
    const be = new CpuBackend();
    const e1 = be.compile(mk()) as CpuExecutable;
    const e2 = be.compile(mk()) as CpuExecutable;
    expect(e1.kernels[0]!.source).toBe(e2.kernels[0]!.source);
  });
});

describe("buffers, memory and donation", () => {
  it("alloc copies, read returns a copy, free is idempotent, memory counts", () => {
    const be = new CpuBackend();
    expect(be.memory()).toEqual({ buffers: 0, bytes: 0 });
    const data = new Float32Array([1, 2, 3, 4]);
    const h = be.alloc(sa([4]), data);
    data[0] = 99;
    const hb = be.alloc(sa([3], "bool"));
    expect(be.memory()).toEqual({ buffers: 2, bytes: 16 + 3 });
    const r = be.readSync(h, sa([4]));
    expect(Array.from(r)).toEqual([1, 2, 3, 4]);
    r[1] = 42;
    expect(Array.from(be.readSync(h, sa([4])))).toEqual([1, 2, 3, 4]);
    expect(Array.from(be.readSync(hb, sa([3], "bool")))).toEqual([0, 0, 0]);
    expect(be.readSync(hb, sa([3], "bool"))).toBeInstanceOf(Uint8Array);
    const x = new Var(sa([4]));
    const { eqns, b1 } = builder();
    const p = makeProgram([x], eqns, [b1(P.neg, {}, x), b1(P.reduceSum, { axes: [0] }, x)]);
    const outs = be.execute(be.compile(p), [h], [false]);
    expect(be.memory()).toEqual({ buffers: 4, bytes: 16 + 3 + 16 + 4 });
    be.free(h);
    be.free(h);
    be.free(hb);
    for (const o of outs) be.free(o);
    expect(be.memory()).toEqual({ buffers: 0, bytes: 0 });
  });
  it("float16 is refused", async () => {
    const be = new CpuBackend();
    expect(be.supportsDtype("float16")).toBe(false);
    expect(be.supportsDtype("float32")).toBe(true);
    expect(() => be.alloc(new ShapedArray([2], "float16"))).toThrow("cpu backend: float16 is not supported; use float32");
    const x = new Var(new ShapedArray([2], "float16"));
    expect(() => be.compile(makeProgram([x], [], [x]))).toThrow("cpu backend: float16 is not supported; use float32");
  });
  it("ref primitives are rejected", () => {
    const x = new Var(sa([2]));
    const r = new Var(sa([2]));
    const p = makeProgram([x], [{ prim: P.refNew, params: {}, inputs: [x], outputs: [r] }], [x]);
    expect(() => new CpuBackend().compile(p)).toThrow(/ref_new.*discharged/);
  });
  it("identity outputs are copies", () => {
    const be = new CpuBackend();
    const x = new Var(sa([2]));
    const p = makeProgram([x], [], [x, x, lit(7)]);
    const h = be.alloc(sa([2]), new Float32Array([1, 2]));
    const [o1, o2, o3] = be.execute(be.compile(p), [h], [false]);
    expect(o1).not.toBe(h);
    expect(o2).not.toBe(o1);
    be.free(h);
    expect(Array.from(be.readSync(o1!, sa([2])))).toEqual([1, 2]);
    expect(Array.from(be.readSync(o2!, sa([2])))).toEqual([1, 2]);
    expect(Array.from(be.readSync(o3!, sa([])))).toEqual([7]);
  });
  it("writes an aliased output in place into the donated input", () => {
    const be = new CpuBackend();
    const x = new Var(sa([4]));
    const { eqns, b1 } = builder();
    const y = b1(P.add, {}, x, b1(P.broadcastInDim, { shape: [4], broadcastDimensions: [] }, lit(1)));
    const p = makeProgram([x], eqns, [y], [{ input: 0, output: 0 }]);
    const exe = be.compile(p);
    const h = be.alloc(sa([4]), new Float32Array([1, 2, 3, 4]));
    const before = be.memory();
    const [o] = be.execute(exe, [h], [true]);
    expect(o).toBe(h);
    expect(be.memory()).toEqual(before);
    expect(Array.from(be.readSync(h, sa([4])))).toEqual([2, 3, 4, 5]);
    // not donated: a fresh buffer, input untouched
    const [o2] = be.execute(exe, [h], [false]);
    expect(o2).not.toBe(h);
    expect(Array.from(be.readSync(h, sa([4])))).toEqual([2, 3, 4, 5]);
    expect(Array.from(be.readSync(o2!, sa([4])))).toEqual([3, 4, 5, 6]);
  });
  it("dynamic_update_slice and scatter write in place", () => {
    const be = new CpuBackend();
    const x = new Var(sa([6]));
    const u = new Var(sa([2]));
    const i = new Var(sa([], "int32"));
    const { eqns, b1 } = builder();
    const y = b1(P.dynamicUpdateSlice, {}, x, u, i);
    const p = makeProgram([x, u, i], eqns, [y], [{ input: 0, output: 0 }]);
    const hx = be.alloc(sa([6]), new Float32Array([0, 1, 2, 3, 4, 5]));
    const hu = be.alloc(sa([2]), new Float32Array([9, 8]));
    const hi = be.alloc(sa([], "int32"), new Int32Array([2]));
    const [o] = be.execute(be.compile(p), [hx, hu, hi], [true, false, false]);
    expect(o).toBe(hx);
    expect(Array.from(be.readSync(hx, sa([6])))).toEqual([0, 1, 9, 8, 4, 5]);
  });
  it("falls back to compute-then-copy when a later step reads the old value", () => {
    const be = new CpuBackend();
    const x = new Var(sa([3]));
    const { eqns, b1 } = builder();
    const y = b1(P.mul, {}, x, x);
    const s = b1(P.reduceSum, { axes: [0] }, x);
    const r = b1(P.rev, { dimensions: [0] }, x);
    const p = makeProgram([x], eqns, [y, s, r], [{ input: 0, output: 0 }]);
    const h = be.alloc(sa([3]), new Float32Array([1, 2, 3]));
    const [oy, os, or] = be.execute(be.compile(p), [h], [true]);
    expect(oy).toBe(h);
    expect(Array.from(be.readSync(h, sa([3])))).toEqual([1, 4, 9]);
    expect(Array.from(be.readSync(os!, sa([])))).toEqual([6]);
    expect(Array.from(be.readSync(or!, sa([3])))).toEqual([3, 2, 1]);
  });
  it("an aliased output read through a non-identity index is not written in place", () => {
    const be = new CpuBackend();
    const x = new Var(sa([4]));
    const { eqns, b1 } = builder();
    const y = b1(P.rev, { dimensions: [0] }, x);
    const p = makeProgram([x], eqns, [y], [{ input: 0, output: 0 }]);
    const h = be.alloc(sa([4]), new Float32Array([1, 2, 3, 4]));
    const [o] = be.execute(be.compile(p), [h], [true]);
    expect(o).toBe(h);
    expect(Array.from(be.readSync(h, sa([4])))).toEqual([4, 3, 2, 1]);
  });
  it("never writes in place into a buffer passed twice", () => {
    const be = new CpuBackend();
    const x = new Var(sa([2]));
    const w = new Var(sa([2]));
    const { eqns, b1 } = builder();
    const y = b1(P.add, {}, x, w);
    const p = makeProgram([x, w], eqns, [y], [{ input: 0, output: 0 }]);
    const h = be.alloc(sa([2]), new Float32Array([1, 2]));
    const [o] = be.execute(be.compile(p), [h, h], [true, false]);
    expect(o).not.toBe(h);
    expect(Array.from(be.readSync(h, sa([2])))).toEqual([1, 2]);
    expect(Array.from(be.readSync(o!, sa([2])))).toEqual([2, 4]);
  });
});

describe("control flow", () => {
  const inner = (): Program => {
    const a = new Var(sa([2]));
    const b = new Var(sa([2]));
    const { eqns, b1 } = builder();
    const m = b1(P.mul, {}, a, b);
    return makeProgram([a, b], eqns, [m, a]);
  };
  it("jit_call runs the sub-program", () => {
    const a = new Var(sa([2]));
    const b = new Var(sa([2]));
    const { eqns, bind } = builder();
    const [m, id] = bind(P.jitCall, { program: inner(), name: "f" }, a, b);
    const p = makeProgram([a, b], eqns, [m!, id!]);
    const [om, oid] = runProgram(p, [f32([2, 3]), f32([4, 5])]);
    expect(Array.from(om!)).toEqual([8, 15]);
    expect(Array.from(oid!)).toEqual([2, 3]);
  });
  it("scan: carry, stacked ys, reverse", () => {
    // body(c, x) = (c + x, c * 2)
    const c = new Var(sa([2], "int32"));
    const x = new Var(sa([2], "int32"));
    const { eqns, b1 } = builder();
    const c2 = b1(P.add, {}, c, x);
    const y = b1(P.mul, {}, c, b1(P.broadcastInDim, { shape: [2], broadcastDimensions: [] }, lit(2, "int32")));
    const body = makeProgram([c, x], eqns, [c2, y]);
    for (const reverse of [false, true]) {
      const c0 = new Var(sa([2], "int32"));
      const xs = new Var(sa([3, 2], "int32"));
      const outer = builder();
      const [cf, ys] = outer.bind(P.scan, { body, length: 3, reverse, numConsts: 0, numCarry: 1 }, c0, xs);
      const p = makeProgram([c0, xs], outer.eqns, [cf!, ys!]);
      const xsData = [1, 2, 3, 4, 5, 6];
      const [oc, oy] = runProgram(p, [i32([10, 20]), i32(xsData, [3, 2])]);
      // reference
      let carry = [10, 20];
      const ysRef = new Array<number>(6);
      for (let t = 0; t < 3; t++) {
        const i = reverse ? 2 - t : t;
        ysRef[2 * i] = carry[0]! * 2;
        ysRef[2 * i + 1] = carry[1]! * 2;
        carry = [carry[0]! + xsData[2 * i]!, carry[1]! + xsData[2 * i + 1]!];
      }
      expect(Array.from(oc!)).toEqual(carry);
      expect(Array.from(oy!)).toEqual(ysRef);
    }
  });
  it("scan with consts and a passthrough carry", () => {
    const k = new Var(sa([]));
    const c = new Var(sa([]));
    const x = new Var(sa([]));
    const { eqns, b1 } = builder();
    const y = b1(P.mul, {}, x, k);
    const body = makeProgram([k, c, x], eqns, [c, y]);
    const k0 = new Var(sa([]));
    const c0 = new Var(sa([]));
    const xs = new Var(sa([3]));
    const o = builder();
    const [cf, ys] = o.bind(P.scan, { body, length: 3, reverse: false, numConsts: 1, numCarry: 1 }, k0, c0, xs);
    const p = makeProgram([k0, c0, xs], o.eqns, [cf!, ys!]);
    const [oc, oy] = runProgram(p, [scalar("float32", 3), scalar("float32", 5), f32([1, 2, 3])]);
    expect(Array.from(oc!)).toEqual([5]);
    expect(Array.from(oy!)).toEqual([3, 6, 9]);
  });
  it("cond clamps the index", () => {
    const mk = (prim: Primitive<any>, v: number) => {
      const a = new Var(sa([2]));
      const { eqns, b1 } = builder();
      return makeProgram([a], eqns, [b1(prim, {}, a, b1(P.broadcastInDim, { shape: [2], broadcastDimensions: [] }, lit(v)))]);
    };
    const branches = [mk(P.add, 1), mk(P.mul, 10)];
    const idx = new Var(sa([], "int32"));
    const a = new Var(sa([2]));
    const { eqns, b1 } = builder();
    const r = b1(P.cond, { branches }, idx, a);
    const p = makeProgram([idx, a], eqns, [r]);
    const run = (i: number) => Array.from(runProgram(p, [scalar("int32", i), f32([1, 2])])[0]!);
    expect(run(0)).toEqual([2, 3]);
    expect(run(1)).toEqual([10, 20]);
    expect(run(7)).toEqual([10, 20]);
    expect(run(-4)).toEqual([2, 3]);
  });
  it("while loop with consts", () => {
    // cond(limit; i, s) = i < limit ; body(step; i, s) = (i + step, s + i)
    const limit = new Var(sa([], "int32"));
    const ci = new Var(sa([], "int32"));
    const cs = new Var(sa([], "int32"));
    const cb = builder();
    const condP = makeProgram([limit, ci, cs], cb.eqns, [cb.b1(P.lt, {}, ci, limit)]);
    const step = new Var(sa([], "int32"));
    const bi = new Var(sa([], "int32"));
    const bs = new Var(sa([], "int32"));
    const bb = builder();
    const bodyP = makeProgram([step, bi, bs], bb.eqns, [bb.b1(P.add, {}, bi, step), bb.b1(P.add, {}, bs, bi)]);
    const L = new Var(sa([], "int32"));
    const S = new Var(sa([], "int32"));
    const I0 = new Var(sa([], "int32"));
    const S0 = new Var(sa([], "int32"));
    const o = builder();
    const [fi, fs] = o.bind(P.whileLoop, { cond: condP, body: bodyP, condNumConsts: 1, bodyNumConsts: 1 }, L, S, I0, S0);
    const p = makeProgram([L, S, I0, S0], o.eqns, [fi!, fs!]);
    const out = runProgram(p, [scalar("int32", 10), scalar("int32", 3), scalar("int32", 0), scalar("int32", 0)]);
    expect(out.map((a) => a[0])).toEqual([12, 0 + 3 + 6 + 9]);
    // zero iterations returns the initial carry
    const out0 = runProgram(p, [scalar("int32", 0), scalar("int32", 3), scalar("int32", 5), scalar("int32", 1)]);
    expect(out0.map((a) => a[0])).toEqual([5, 1]);
  });
});

describe("misc", () => {
  it("uint32 programs and multiple outputs", () => {
    const x = new Var(sa([2], "uint32"));
    const { eqns, b1 } = builder();
    const y = b1(P.add, {}, x, x);
    const p = makeProgram([x], eqns, [y, b1(P.convertElementType, { newDtype: "float32", weakType: false }, y)]);
    const [a, b] = runProgram(p, [u32([0x80000001, 3])]);
    expect(Array.from(a!)).toEqual([2, 6]);
    expect(Array.from(b!)).toEqual([2, 6]);
    void toTyped;
  });
});
