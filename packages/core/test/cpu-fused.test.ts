/**
 * The CPU backend's Wasm SIMD kernel path against its JS path: the same
 * programs run with setCpuKernelImpl("js") and ("wasm") must agree bit for
 * bit (NaN payloads aside) for every exact op, dtype, broadcast pattern and
 * reduction, with threads on and off and with operands in or out of the Wasm
 * heap; the transcendental approximations must stay within their measured
 * ulp bounds over wide input ranges.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ShapedArray, type Shape } from "../src/aval.js";
import type { DType, TypedArray } from "../src/dtype.js";
import { Literal, Var, makeProgram, type Atom, type Eqn, type Program } from "../src/program.js";
import type { Params, Primitive } from "../src/primitive.js";
import * as P from "../src/primitives.js";
import { CpuBackend, setCpuHeap, setCpuKernelImpl, type CpuExecutable, type CpuKernelImpl } from "../src/backend/cpu/index.js";
import { heapBlockCount } from "../src/backend/cpu/storage.js";
import { poolStats, setWasmOptions, threadCount, runtime } from "../src/backend/cpu/wasm/runtime.js";
import { fusedModule } from "../src/backend/cpu/wasm/fused.js";
import { LaneAnalysis, reduceLanes } from "../src/fusion/lanes.js";
import { cnst, idiv, imod, imul, iadd, vr, op as irop } from "../src/fusion/ir.js";
import { planProgram, type Kernel } from "../src/fusion/plan.js";

const be = new CpuBackend();
const fr = Math.fround;
const sa = (shape: Shape, dtype: DType = "float32") => new ShapedArray(shape, dtype);
const lit = (v: number, dtype: DType = "float32") => new Literal(v, sa([], dtype));

function builder() {
  const eqns: Eqn[] = [];
  const b = (prim: Primitive<any>, params: Params, ...inputs: Atom[]): Var => {
    const outs = (prim.abstractEval(inputs.map((a) => a.aval), params) as ShapedArray[]).map((a) => new Var(a));
    eqns.push({ prim, params, inputs, outputs: outs });
    return outs[0]!;
  };
  const bAll = (prim: Primitive<any>, params: Params, ...inputs: Atom[]): Var[] => {
    const outs = (prim.abstractEval(inputs.map((a) => a.aval), params) as ShapedArray[]).map((a) => new Var(a));
    eqns.push({ prim, params, inputs, outputs: outs });
    return outs;
  };
  /** A literal broadcast to `like`'s shape. */
  const full = (v: number, like: Var, dtype: DType = like.aval.dtype): Var => b(P.broadcastInDim, { shape: like.aval.shape, broadcastDimensions: [] }, lit(v, dtype));
  return { eqns, b, bAll, full };
}

function typed(dtype: DType, data: ArrayLike<number>): TypedArray {
  const t = dtype === "float32" ? new Float32Array(data.length) : dtype === "int32" ? new Int32Array(data.length) : dtype === "uint32" ? new Uint32Array(data.length) : new Uint8Array(data.length);
  t.set(data);
  return t;
}

/** Runs `p` on `args` with the given kernel path; returns the outputs. */
function run(p: Program, args: readonly TypedArray[], impl: CpuKernelImpl): TypedArray[] {
  const prev = setCpuKernelImpl(impl);
  try {
    const exe = be.compile(p);
    const hs = args.map((a, i) => be.alloc(p.inputs[i]!.aval, a));
    const outs = be.execute(exe, hs, args.map(() => false));
    const res = outs.map((h, i) => be.readSync(h, p.outputs[i]!.aval));
    for (const h of new Set([...hs, ...outs])) be.free(h);
    return res;
  } finally {
    setCpuKernelImpl(prev);
  }
}

const f32bits = (x: number) => new Uint32Array(new Float32Array([x]).buffer)[0]!;

/** Bit-for-bit equality (float32: by bits, all NaNs equal). */
function expectSame(got: TypedArray, want: TypedArray, what: string): void {
  expect(got.length, what).toBe(want.length);
  const F = got instanceof Float32Array;
  for (let i = 0; i < got.length; i++) {
    const a = got[i]!, b = want[i]!;
    const same = F ? (a !== a && b !== b) || f32bits(a) === f32bits(b) : a === b;
    if (!same) throw new Error(`${what}: element ${i}: wasm ${Object.is(a, -0) ? "-0" : a}, js ${Object.is(b, -0) ? "-0" : b}`);
  }
}

/** Both paths on `p`; asserts they agree exactly and that the Wasm path really compiled every kernel. */
function agree(p: Program, args: readonly TypedArray[], what: string, opts: { wasmKernels?: boolean } = {}): TypedArray[] {
  const js = run(p, args, "js");
  const w = run(p, args, "wasm");
  js.forEach((o, i) => expectSame(w[i]!, o, `${what} (output ${i})`));
  if (opts.wasmKernels !== false) {
    const exe = be.compile(p) as CpuExecutable;
    for (const { kernel } of exe.kernels) expect(fusedModule(kernel, { shared: true, minPages: 1, maxPages: 32768 }), `${what}: a kernel fell back to JS`).not.toBeNull();
  }
  return w;
}

// ---- input values ---------------------------------------------------------------

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

const F_SPECIAL = [0, -0, 1, -1, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999997, -0.49999997, NaN, Infinity, -Infinity, 1e-45, -1e-45, 1.1754942e-38, 3.4028235e38, -3.4028235e38, 16777217, 8388609, 2 ** 31, -(2 ** 31), 2 ** 32, -4294967296, 1e10, -1e10, 2147483520, 4294967040, 0.1, -7.25];
const I_SPECIAL = [0, 1, -1, 2, -2, 3, 7, -7, 31, 32, 33, 100, -100, 0x7fffffff, -0x80000000, -0x7fffffff, 65536, -65536, 1000003];
const U_SPECIAL = [0, 1, 2, 3, 7, 31, 32, 33, 100, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 65536, 1000003];

/** n values of `dtype`: the special ones first, then pseudo-random ones of several magnitudes. */
function values(dtype: DType, n: number, seed: number): TypedArray {
  const r = rng(seed);
  const out = typed(dtype, new Array(n).fill(0));
  const special = dtype === "float32" ? F_SPECIAL : dtype === "int32" ? I_SPECIAL : dtype === "uint32" ? U_SPECIAL : [0, 1];
  for (let i = 0; i < n; i++) {
    if (i < special.length && seed % 2 === 1) out[i] = special[i]!;
    else if (dtype === "float32") out[i] = (r() - 0.5) * 2 ** Math.floor(r() * 20 - 8);
    else if (dtype === "int32") out[i] = (r() * 2 ** 32) | 0;
    else if (dtype === "uint32") out[i] = (r() * 2 ** 32) >>> 0;
    else out[i] = r() < 0.5 ? 1 : 0;
  }
  // a second copy of the specials, shifted, so pairs of specials meet in binary ops
  if (seed % 2 === 0) for (let i = 0; i < special.length && i < n; i++) out[(i * 7 + 3) % n] = special[(i * 3) % special.length]!;
  return out;
}

// ---- ops -----------------------------------------------------------------------

const UNARY: Record<DType, string[]> = {
  float32: ["neg", "abs", "sign", "floor", "ceil", "round", "is_finite", "sqrt", "rsqrt", "copy"],
  int32: ["neg", "abs", "sign", "not", "copy"],
  uint32: ["neg", "abs", "sign", "not", "copy"],
  bool: ["not", "copy"],
  float16: [],
};
const BINARY: Record<DType, string[]> = {
  float32: ["add", "sub", "mul", "div", "max", "min", "eq", "ne", "lt", "le", "gt", "ge"],
  int32: ["add", "sub", "mul", "div", "rem", "max", "min", "and", "or", "xor", "shift_left", "shift_right_logical", "shift_right_arithmetic", "eq", "ne", "lt", "le", "gt", "ge"],
  uint32: ["add", "sub", "mul", "div", "rem", "max", "min", "and", "or", "xor", "shift_left", "shift_right_logical", "shift_right_arithmetic", "eq", "ne", "lt", "le", "gt", "ge"],
  bool: ["add", "mul", "max", "min", "and", "or", "xor", "eq", "ne", "lt", "le", "gt", "ge"],
  float16: [],
};
const DTYPES: DType[] = ["float32", "int32", "uint32", "bool"];
const prim = (name: string) => (Object.values(P) as Primitive<any>[]).find((p) => (p as { name?: string }).name === name)!;

const SIZES = [0, 1, 3, 4, 5, 17, 1031];

let prevThreads: ReturnType<typeof setWasmOptions>;
beforeAll(() => {
  prevThreads = setWasmOptions({});
});
afterAll(() => {
  setWasmOptions({ ...prevThreads, alwaysThread: false });
  setCpuHeap(true);
});

describe("wasm kernels: elementwise ops agree with the JS path bit for bit", () => {
  it("runs where Wasm SIMD is available (Node 20+)", () => {
    expect(runtime()).not.toBeNull();
  });
  for (const d of DTYPES) {
    it(`unary ops on ${d}, sizes ${SIZES.join(", ")}`, () => {
      for (const name of UNARY[d]) {
        for (const n of SIZES) {
          const x = new Var(sa([n], d));
          const { eqns, b } = builder();
          const y = b(prim(name), {}, x);
          agree(makeProgram([x], eqns, [y]), [values(d, n, 1)], `${name}<${d}>[${n}]`);
        }
      }
    });
    it(`binary ops on ${d}, specials against specials and random values`, () => {
      for (const name of BINARY[d]) {
        for (const n of [1, 5, 1031]) {
          const x = new Var(sa([n], d)), y = new Var(sa([n], d));
          const { eqns, b } = builder();
          const z = b(prim(name), {}, x, y);
          const p = makeProgram([x, y], eqns, [z]);
          agree(p, [values(d, n, 1), values(d, n, 2)], `${name}<${d}>[${n}]`);
          agree(p, [values(d, n, 2), values(d, n, 1)], `${name}<${d}>[${n}] swapped`);
        }
      }
    });
  }
  it("integer division and remainder by zero, INT_MIN / -1, as the JS path defines them", () => {
    const xs = [7, -7, 0, -0x80000000, 0x7fffffff, 5, -5, 1];
    const ys = [0, 0, 0, -1, -1, 2, -2, 0];
    for (const d of ["int32", "uint32"] as const)
      for (const name of ["div", "rem"]) {
        const x = new Var(sa([8], d)), y = new Var(sa([8], d));
        const { eqns, b } = builder();
        const z = b(prim(name), {}, x, y);
        const out = agree(makeProgram([x, y], eqns, [z]), [typed(d, xs), typed(d, ys)], `${name}<${d}>`);
        if (d === "int32" && name === "div") expect(Array.from(out[0]!)).toEqual([-1, -1, -1, -0x80000000, -0x7fffffff, 2, 2, -1]);
        if (d === "uint32" && name === "rem") expect(out[0]![0]).toBe(7);
      }
  });
  it("shifts by constant amounts (0, 1, 31, 32, 33, -1 as uint) and by per-element amounts", () => {
    for (const d of ["int32", "uint32"] as const)
      for (const name of ["shift_left", "shift_right_logical", "shift_right_arithmetic"])
        for (const c of [0, 1, 31, 32, 33, -1]) {
          const x = new Var(sa([37], d));
          const { eqns, b } = builder();
          const s = b(P.broadcastInDim, { shape: [37], broadcastDimensions: [] }, lit(d === "uint32" ? c >>> 0 : c, d));
          const z = b(prim(name), {}, x, s);
          agree(makeProgram([x], eqns, [z]), [values(d, 37, 1)], `${name}<${d}> by ${c}`);
        }
  });
  it("conversions and bitcasts between every pair of dtypes (saturating, NaN → 0, nonzero → true)", () => {
    for (const from of DTYPES)
      for (const to of DTYPES) {
        const x = new Var(sa([1031], from));
        const { eqns, b } = builder();
        const y = b(P.convertElementType, { newDtype: to, weakType: false }, x);
        agree(makeProgram([x], eqns, [y]), [values(from, 1031, 1)], `convert ${from} → ${to}`);
        if (from !== "bool" && to !== "bool") {
          const x2 = new Var(sa([1031], from));
          const b2 = builder();
          const y2 = b2.b(P.bitcastConvertType, { newDtype: to }, x2);
          agree(makeProgram([x2], b2.eqns, [y2]), [values(from, 1031, 3)], `bitcast ${from} → ${to}`);
        }
      }
  });
  it("select with every dtype, and a chain of ops in one kernel (no fused multiply-add)", () => {
    for (const d of DTYPES) {
      const c = new Var(sa([1031], "bool")), x = new Var(sa([1031], d)), y = new Var(sa([1031], d));
      const { eqns, b } = builder();
      const z = b(P.select, {}, c, x, y);
      agree(makeProgram([c, x, y], eqns, [z]), [values("bool", 1031, 5), values(d, 1031, 1), values(d, 1031, 2)], `select<${d}>`);
    }
    const [a, bb, cc] = [new Var(sa([1031])), new Var(sa([1031])), new Var(sa([1031]))];
    const { eqns, b } = builder();
    const m = b(P.mul, {}, a, bb);
    const s = b(P.add, {}, m, cc);
    const q = b(P.div, {}, s, a);
    const r = b(P.sqrt, {}, b(P.abs, {}, q));
    const p = makeProgram([a, bb, cc], eqns, [r, m]);
    expect((be.compile(p) as CpuExecutable).kernelCount).toBe(1);
    const xs = values("float32", 1031, 7);
    xs[0] = 1 + 2 ** -23;
    const ys = values("float32", 1031, 8);
    ys[0] = 1 - 2 ** -23;
    const zs = values("float32", 1031, 9);
    zs[0] = -1;
    const out = agree(p, [xs, ys, zs], "chain");
    expect(out[1]![0]! + zs[0]!).toBe(fr(fr(xs[0]! * ys[0]!) - 1)); // rounded product, then the add
  });
  it("threefry2x32 (PRNG bits) matches the JS path", () => {
    const xs = [0, 1, 2, 3].map((s) => new Var(sa([1031], "uint32")));
    const { eqns, bAll } = builder();
    const [y0, y1] = bAll(P.threefry2x32, {}, ...xs);
    agree(makeProgram(xs, eqns, [y0!, y1!]), [0, 1, 2, 3].map((s) => values("uint32", 1031, 10 + s)), "threefry");
  });
});

describe("wasm kernels: broadcasts and index patterns", () => {
  /** out = x (shape s) + broadcast(y (shape ys) along dims) in one kernel. */
  function bcast(s: Shape, ys: Shape, dims: number[], d: DType = "float32"): void {
    const x = new Var(sa(s, d)), y = new Var(sa(ys, d));
    const { eqns, b } = builder();
    const yb = b(P.broadcastInDim, { shape: s, broadcastDimensions: dims }, y);
    const z = b(d === "bool" ? P.or : P.add, {}, x, yb);
    const p = makeProgram([x, y], eqns, [z]);
    expect((be.compile(p) as CpuExecutable).kernelCount).toBe(1);
    const n = s.reduce((a, c) => a * c, 1), m = ys.reduce((a, c) => a * c, 1);
    agree(p, [values(d, n, 2), values(d, m, 4)], `[${s}] + bcast([${ys}], [${dims}])<${d}>`);
  }
  it("rows broadcast (x + b over the last axis): contiguous when the row is a multiple of 4, gathered otherwise", () => {
    for (const cols of [1, 3, 4, 8, 13, 64, 65])
      for (const d of DTYPES) bcast([7, cols], [cols], [1], d);
  });
  it("columns broadcast (x + m[:, None]): a splat when the row length is a multiple of 4", () => {
    for (const cols of [1, 2, 4, 6, 16, 33]) bcast([9, cols], [9], [0]);
    bcast([3, 5, 8], [3, 5], [0, 1]);
    bcast([3, 5, 8], [3, 8], [0, 2]);
    bcast([4, 5, 7], [5], [1]);
    bcast([1031], [], []);
    bcast([2, 1, 12], [2, 1, 1], [0, 1, 2]);
  });
  it("transposes, strided and reversed slices, iota", () => {
    for (const [s, perm] of [[[5, 7], [1, 0]], [[4, 8], [1, 0]], [[2, 3, 8], [2, 0, 1]], [[3, 4, 5], [0, 2, 1]]] as [Shape, number[]][]) {
      const x = new Var(sa(s));
      const { eqns, b, full } = builder();
      const t = b(P.transpose, { permutation: perm }, x);
      const z = b(P.mul, {}, t, full(3, t));
      const n = s.reduce((a, c) => a * c, 1);
      agree(makeProgram([x], eqns, [z]), [values("float32", n, 1)], `transpose [${s}] ${perm}`);
    }
    for (const [s, start, limit, strides] of [[[40], [1], [39], [2]], [[9, 12], [1, 0], [8, 12], [1, 1]], [[9, 12], [0, 2], [9, 10], [2, 1]], [[64], [3], [64], [3]]] as [Shape, number[], number[], number[]][]) {
      const x = new Var(sa(s));
      const { eqns, b } = builder();
      const t = b(P.slice, { startIndices: start, limitIndices: limit, strides }, x);
      const z = b(P.neg, {}, t);
      const n = s.reduce((a, c) => a * c, 1);
      agree(makeProgram([x], eqns, [z]), [values("float32", n, 3)], `slice [${s}] ${start}:${limit}:${strides}`);
    }
    for (const [s, dims] of [[[37], [0]], [[40], [0]], [[6, 8], [1]], [[6, 8], [0]], [[5, 9], [0, 1]]] as [Shape, number[]][]) {
      const x = new Var(sa(s, "int32"));
      const { eqns, b, full } = builder();
      const t = b(P.rev, { dimensions: dims }, x);
      const z = b(P.add, {}, t, full(1, t));
      const n = s.reduce((a, c) => a * c, 1);
      agree(makeProgram([x], eqns, [z]), [values("int32", n, 3)], `rev [${s}] ${dims}`);
    }
    for (const d of DTYPES)
      for (const [shape, dim] of [[[1031], 0], [[6, 13], 1], [[6, 13], 0], [[4, 8], 1]] as [Shape, number][]) {
        const x = new Var(sa(shape, d));
        const { eqns, b } = builder();
        const io = b(P.iota, { dtype: d, shape, dimension: dim });
        const z = b(P.max, {}, x, io);
        const n = shape.reduce((a, c) => a * c, 1);
        agree(makeProgram([x], eqns, [z]), [values(d, n, 5)], `iota<${d}> [${shape}] dim ${dim}`);
      }
  });
});

describe("wasm kernels: reductions", () => {
  const ops: [string, Primitive<any>][] = [
    ["sum", P.reduceSum],
    ["prod", P.reduceProd],
    ["max", P.reduceMax],
    ["min", P.reduceMin],
  ];
  const shapes: [Shape, number[]][] = [
    [[7, 13, 5], [0]],
    [[7, 13, 5], [1]],
    [[7, 13, 5], [2]],
    [[7, 13, 5], [0, 2]],
    [[7, 13, 5], [1, 2]],
    [[7, 13, 5], [0, 1, 2]],
    [[9, 64], [1]],
    [[9, 67], [1]],
    [[64, 9], [0]],
    [[3, 8, 12], [1]],
    [[1031], [0]],
    [[5, 3], [1]],
    [[5, 0], [1]],
    [[0, 5], [1]],
    [[4, 4, 4], [2]],
  ];
  for (const [name, p] of ops)
    for (const d of DTYPES) {
      if (d === "bool" && (name === "sum" || name === "prod")) continue;
      it(`${name} over several axes, ${d}`, () => {
        for (const [s, axes] of shapes) {
          const x = new Var(sa(s, d));
          const { eqns, b } = builder();
          const y = b(p, { axes }, x);
          const n = s.reduce((a, c) => a * c, 1);
          const xs = values(d, n, 3);
          if (d === "float32" && name === "prod") for (let i = 0; i < n; i++) xs[i] = xs[i] !== xs[i] || Math.abs(xs[i]!) > 4 ? 1.01 : 0.5 + Math.abs(xs[i]!);
          agree(makeProgram([x], eqns, [y]), [xs], `${name}<${d}> [${s}] over ${axes}`);
        }
      });
    }
  it("max/min keep the JS path's choice between -0 and +0 and propagate NaN", () => {
    const rows = [
      [-0, 0, -0, 0, 0, -0, 0],
      [0, -0, 0, -0, -0],
      [-0, -0, -0, -0, -0, -0, -0, -0, 0],
      [0, 0, 0, 0, 0, 0, 0, 0, -0],
      [1, NaN, 2, 3, 4, 5, 6, 7, 8],
      [-Infinity, -Infinity, -Infinity, -Infinity, -Infinity],
      [NaN, 0, 0, 0, 0, 0, 0, 0, 0],
      [3, 2, 1, 0, -0, -1, -2, -3, NaN],
    ];
    for (const row of rows)
      for (const [, p] of ops.slice(2)) {
        const x = new Var(sa([2, row.length]));
        const { eqns, b } = builder();
        const y = b(p, { axes: [1] }, x);
        const z = b(p, { axes: [0] }, x);
        agree(makeProgram([x], eqns, [y, z]), [typed("float32", [...row, ...row.slice().reverse()])], `${p.name} of [${row.map((v) => (Object.is(v, -0) ? "-0" : v))}]`);
      }
  });
  it("float sums accumulate in float64 (a float32 accumulator would lose the small terms)", () => {
    const n = 4099;
    const xs = new Float32Array(n).fill(2 ** -24);
    xs[0] = 1;
    const x = new Var(sa([1, n]));
    const { eqns, b } = builder();
    const y = b(P.reduceSum, { axes: [1] }, x);
    const [out] = agree(makeProgram([x], eqns, [y]), [xs], "sum with tiny terms");
    expect(out![0]).toBe(fr(1 + (n - 1) * 2 ** -24));
  });
  it("a reduction with fused producers and an extra output (softmax's exp-sum kernel)", () => {
    for (const cols of [8, 13, 1024]) {
      const x = new Var(sa([6, cols])), m = new Var(sa([6]));
      const { eqns, b } = builder();
      const mb = b(P.broadcastInDim, { shape: [6, cols], broadcastDimensions: [0] }, m);
      const e = b(P.exp, {}, b(P.sub, {}, x, mb));
      const s = b(P.reduceSum, { axes: [1] }, e);
      const t = b(P.reduceMax, { axes: [0] }, b(P.mul, {}, x, x));
      const p = makeProgram([x, m], eqns, [s, e, t]);
      const args = [samples(-10, 10, 6 * cols, 2), samples(-10, 10, 6, 4)];
      const js = run(p, args, "js");
      const w = run(p, args, "wasm");
      // exp is approximate: within 1 ulp per element; the sums within the accumulated bound
      expectUlps(w[1]! as Float32Array, js[1]! as Float32Array, 1, "exp");
      for (let i = 0; i < 6; i++) expect(Math.abs(w[0]![i]! - js[0]![i]!)).toBeLessThanOrEqual(Math.abs(js[0]![i]!) * 2 ** -22 + 1e-30);
      expectSame(w[2]!, js[2]!, "max of squares");
    }
  });
});

describe("wasm kernels: threads, heap and staging", () => {
  afterEach(() => {
    setWasmOptions({ threads: true, alwaysThread: false });
    setCpuHeap(true);
  });
  /** A mix of kernels: broadcast elementwise, row and column reductions with tails, bool outputs. */
  function mixed(rows: number, cols: number): { p: Program; args: TypedArray[] } {
    const x = new Var(sa([rows, cols])), bv = new Var(sa([cols])), k = new Var(sa([rows * cols], "uint32"));
    const { eqns, b, bAll, full } = builder();
    const y = b(P.tanh, {}, b(P.add, {}, x, b(P.broadcastInDim, { shape: [rows, cols], broadcastDimensions: [1] }, bv)));
    const s = b(P.reduceSum, { axes: [1] }, y);
    const c = b(P.reduceMax, { axes: [0] }, b(P.mul, {}, x, x));
    const g = b(P.gt, {}, x, full(0, x));
    const [t0] = bAll(P.threefry2x32, {}, k, k, k, k);
    return { p: makeProgram([x, bv, k], eqns, [y, s, c, g, t0!]), args: [values("float32", rows * cols, 2), values("float32", cols, 4), values("uint32", rows * cols, 6)] };
  }
  const compare = (p: Program, args: TypedArray[]) => {
    const js = run(p, args, "js");
    const w = run(p, args, "wasm");
    expectUlps(w[0] as Float32Array, js[0] as Float32Array, 1, "tanh");
    // tanh is approximate, so its row sums differ by at most the summed 1-ulp errors
    for (let i = 0; i < js[1]!.length; i++) {
      const [a, c] = [w[1]![i]!, js[1]![i]!];
      if (a !== a || c !== c) expect(a !== a && c !== c).toBe(true);
      else expect(Math.abs(a - c)).toBeLessThanOrEqual(2 ** -22 * (args[0]!.length / js[1]!.length) + 2 ** -22 * Math.abs(c));
    }
    for (let k = 2; k < js.length; k++) expectSame(w[k]!, js[k]!, `output ${k}`);
  };
  it("threads on and off give the same results (jobs split in multiples of the lane width)", async () => {
    setWasmOptions({ threads: true, threadCount: 2, alwaysThread: true });
    // let the worker start
    for (let i = 0; i < 200 && (poolStats()?.online ?? 0) < 1; i++) {
      run(mixed(8, 8).p, mixed(8, 8).args, "wasm");
      await new Promise((r) => setTimeout(r, 10));
    }
    const threaded = threadCount() > 1;
    const before = poolStats()?.workerJobs ?? 0;
    for (const [rows, cols] of [[129, 257], [300, 64], [7, 1031], [1031, 3]]) {
      const { p, args } = mixed(rows, cols);
      setWasmOptions({ threads: true, alwaysThread: true });
      const a = run(p, args, "wasm");
      setWasmOptions({ threads: false });
      const s = run(p, args, "wasm");
      a.forEach((o, i) => expectSame(o, s[i]!, `[${rows}, ${cols}] output ${i}`));
      compare(p, args);
    }
    if (threaded) expect((poolStats()?.workerJobs ?? 0) - before).toBeGreaterThan(0);
  });
  it("operands outside the heap are staged in and out (copy path), with the same results", () => {
    const { p, args } = mixed(33, 45);
    const inHeap = run(p, args, "wasm");
    setCpuHeap(false);
    const copied = run(p, args, "wasm");
    inHeap.forEach((o, i) => expectSame(copied[i]!, o, `output ${i}`));
    compare(p, args);
  });
  it("in-place updates of donated buffers (outside and inside the heap)", () => {
    for (const heap of [true, false]) {
      setCpuHeap(heap);
      const x = new Var(sa([2000]));
      const { eqns, b, full } = builder();
      const y = b(P.mul, {}, b(P.add, {}, x, full(1, x)), full(0.5, x));
      const p = makeProgram([x], eqns, [y], [{ input: 0, output: 0 }]);
      for (const impl of ["js", "wasm"] as const) {
        const prev = setCpuKernelImpl(impl);
        const xs = values("float32", 2000, 2);
        const h = be.alloc(p.inputs[0]!.aval, xs);
        const [o] = be.execute(be.compile(p), [h], [true]);
        expect(o).toBe(h);
        const got = be.readSync(o!, p.outputs[0]!.aval);
        expectSame(got, typed("float32", Array.from(xs, (v) => fr(fr(v + 1) * 0.5))), `in place (${impl}, heap ${heap})`);
        be.free(h);
        setCpuKernelImpl(prev);
      }
    }
  });
  it("intermediates and freed buffers return their heap blocks", () => {
    const base = heapBlockCount();
    const x = new Var(sa([64, 64]));
    const { eqns, b } = builder();
    let v: Var = x;
    for (let i = 0; i < 6; i++) v = b(P.reduceSum, { axes: [2] }, b(P.broadcastInDim, { shape: [64, 64, 2], broadcastDimensions: [0, 1] }, b(P.exp, {}, b(P.mul, {}, v, v))));
    const p = makeProgram([x], eqns, [v]);
    for (const impl of ["js", "wasm", "auto"] as const) for (let i = 0; i < 3; i++) run(p, [values("float32", 4096, 1)], impl);
    expect(heapBlockCount()).toBe(base);
  });
});

// ---- accuracy of the approximations ------------------------------------------------

const ordered = (x: number) => {
  const b = new Int32Array(new Float32Array([x]).buffer)[0]!;
  return b < 0 ? -0x80000000 - b : b;
};
function ulps(a: number, b: number): number {
  if (a !== a || b !== b) return a !== a && b !== b ? 0 : Infinity;
  return Math.abs(ordered(a) - ordered(b));
}
function expectUlps(got: Float32Array, want: Float32Array, bound: number, what: string): number {
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const u = ulps(got[i]!, want[i]!);
    if (u > bound) throw new Error(`${what}: element ${i}: wasm ${got[i]}, js ${want[i]} (${u} ulp > ${bound})`);
    worst = Math.max(worst, u);
  }
  return worst;
}

/** n float32 samples: half uniform on [lo, hi], half log-uniform in magnitude (both signs when lo < 0). */
function samples(lo: number, hi: number, n: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  const m = Math.max(Math.abs(lo), Math.abs(hi));
  for (let i = 0; i < n; i++) {
    let v = i % 2 ? lo + (hi - lo) * r() : m * 2 ** (-60 * r());
    if (i % 2 === 0 && lo < 0 && r() < 0.5) v = -v;
    out[i] = v < lo || v > hi ? lo + (hi - lo) * r() : v;
  }
  return out;
}

describe("wasm kernels: transcendental approximations", () => {
  // [op, max ulp against the JS path (Math.* rounded to float32), random sample range, dense grids]
  const cases: [string, number, number, number, [number, number][]][] = [
    ["exp", 1, -110, 90, [[-104, -87], [-1, 1], [80, 89]]],
    ["expm1", 1, -110, 90, [[-1.1, -0.3], [0.3, 1.1], [-0.5, 0.5], [-20, -15]]],
    ["log", 1, 0, 3.4e38, [[0, 1e-37], [0.5, 2], [1, 3e38]]],
    ["log1p", 1, -1, 3.4e38, [[-1, -0.5], [-1e-3, 1e-3], [1, 1e6]]],
    ["tanh", 1, -30, 30, [[-1, 1], [0.5, 0.7], [8, 10]]],
    ["logistic", 2, -120, 120, [[-5, 5], [-100, -80]]],
    ["sin", 1, -262144, 262144, [[-10, 10], [8000, 8192], [-1e-3, 1e-3]]],
    ["cos", 1, -262144, 262144, [[-10, 10], [1.5, 1.65], [200000, 262144]]],
    ["erf", 1, -10, 10, [[-4.5, 4.5], [0.8, 0.95], [3, 4.1]]],
  ];
  const SPECIAL = [0, -0, NaN, Infinity, -Infinity, 1e-45, -1e-45, 1e-30, -1e-30, 1, -1, 88.7, 88.73, -87.4, -103.9, -104, -200, 3.4e38, -3.4e38, 0.625, -0.625, 0.3465, -0.3466, 9.5, 20];
  for (const [name, bound, lo, hi, grids] of cases)
    it(`${name}: at most ${bound} ulp from the JS path on 2^18 samples in [${lo}, ${hi}] and dense grids; special values exact`, () => {
      const n = 1 << 18;
      const g = 1 << 16;
      const xs = new Float32Array(n + g * grids.length);
      xs.set(samples(lo, hi, n, name.length * 7 + 1));
      grids.forEach(([a, c], k) => {
        for (let i = 0; i < g; i++) xs[n + k * g + i] = a + ((c - a) * i) / g;
      });
      xs.set(SPECIAL.filter((v) => (v >= lo && v <= hi) || v !== v || !Number.isFinite(v)), 0);
      const x = new Var(sa([xs.length]));
      const { eqns, b } = builder();
      const y = b(prim(name), {}, x);
      const p = makeProgram([x], eqns, [y]);
      const js = run(p, [xs], "js")[0] as Float32Array;
      const w = run(p, [xs], "wasm")[0] as Float32Array;
      expectUlps(w, js, bound, name);
      // special values: NaN, infinities and signed zeros exactly as the JS path
      const sp = Float32Array.from(SPECIAL);
      const xs2 = new Var(sa([sp.length]));
      const b2 = builder();
      const y2 = b2.b(prim(name), {}, xs2);
      const p2 = makeProgram([xs2], b2.eqns, [y2]);
      const j2 = run(p2, [sp], "js")[0] as Float32Array;
      const w2 = run(p2, [sp], "wasm")[0] as Float32Array;
      for (let i = 0; i < sp.length; i++) {
        const v = j2[i]!;
        if (v !== v || !Number.isFinite(v) || v === 0) expect(Object.is(w2[i], v) || (v !== v && w2[i] !== w2[i]), `${name}(${sp[i]}) = ${w2[i]}, js ${v}`).toBe(true);
        else expect(ulps(w2[i]!, v), `${name}(${sp[i]})`).toBeLessThanOrEqual(bound);
      }
    });
  it("sin and cos of |x| >= 2^18 (and infinities) go lane by lane to the JS path's Math functions: bit-identical, threads included", async () => {
    const big = [262144, -262144.5, 1e6, -3.1e7, 1e30, -3.4e38, Infinity, -Infinity, NaN, 0.5, 1e5];
    const n = 1 << 16;
    const xs = new Float32Array(n);
    for (let i = 0; i < n; i++) xs[i] = i % 3 === 0 ? big[i % big.length]! : (i - n / 2) * 0.37;
    setWasmOptions({ threads: true, threadCount: 2, alwaysThread: true });
    for (let i = 0; i < 100 && (poolStats()?.online ?? 0) < 1; i++) await new Promise((r) => setTimeout(r, 10));
    const before = poolStats()?.workerJobs ?? 0;
    for (const name of ["sin", "cos"]) {
      const x = new Var(sa([n]));
      const { eqns, b } = builder();
      const y = b(prim(name), {}, x);
      const p = makeProgram([x], eqns, [y]);
      const js = run(p, [xs], "js")[0] as Float32Array;
      for (let rep = 0; rep < 4; rep++) {
        const w = run(p, [xs], "wasm")[0] as Float32Array;
        for (let i = 0; i < n; i += 3) if (!(Object.is(w[i], js[i]) || (w[i] !== w[i] && js[i] !== js[i]))) throw new Error(`${name}(${xs[i]}) = ${w[i]}, js ${js[i]}`);
        expectUlps(w, js, 1, name);
      }
    }
    if (threadCount() > 1) {
      expect(poolStats()!.badModules).toBe(0); // workers instantiate modules that import Math functions
      expect((poolStats()?.workerJobs ?? 0) - before).toBeGreaterThan(0);
    }
    setWasmOptions({ threads: true, alwaysThread: false });
  });
  it("kernels with ops that have no Wasm version (pow, atan2, float rem, erf_inv) stay on the JS path", () => {
    for (const name of ["pow", "atan2", "rem"]) {
      const x = new Var(sa([2000])), y = new Var(sa([2000]));
      const { eqns, b } = builder();
      const z = b(prim(name), {}, x, y);
      const p = makeProgram([x, y], eqns, [z]);
      const k = planProgram(p).steps[0] as Kernel;
      expect(fusedModule(k, { shared: true, minPages: 1, maxPages: 32768 })).toBeNull();
      agree(p, [values("float32", 2000, 1), values("float32", 2000, 2)], name, { wasmKernels: false });
    }
    const x = new Var(sa([2000]));
    const { eqns, b } = builder();
    const z = b(P.erfInv, {}, x);
    const p = makeProgram([x], eqns, [z]);
    agree(p, [samples(-1, 1, 2000, 3)], "erf_inv", { wasmKernels: false });
  });
});

describe("lane analysis (fusion/lanes.ts)", () => {
  const i = vr("i");
  const L = new LaneAnalysis({ i: { s: 1, a: 4 } });
  it("contiguous, uniform and gathered index patterns", () => {
    expect(L.form(i)).toEqual({ s: 1, a: 4 });
    expect(L.form(cnst(7, "index"))).toEqual({ s: 0, a: 7 });
    expect(L.form(imod(i, 8))).toEqual({ s: 1, a: 4 }); // row broadcast, row of 8
    expect(L.form(imod(i, 6))).toBeNull(); // rows of 6 straddle a group of 4
    expect(L.form(idiv(i, 8))?.s).toBe(0); // column broadcast: same row for 4 lanes
    expect(L.form(idiv(i, 6))).toBeNull();
    expect(L.form(iadd(imul(idiv(i, 12), 12), imod(i, 12)))?.s).toBe(1);
    expect(L.form(imul(i, 3))).toEqual({ s: 3, a: 12 }); // strided: a gather of stride 3
    expect(L.form(irop("irev", "index", [imod(i, 8), cnst(7, "index")]))?.s).toBe(-1);
    expect(L.form(idiv(imod(i, 16), 4))?.s).toBe(0);
    expect(L.form(vr("q"))).toBeNull();
  });
  it("reduction layouts: rows when the reduced offset is contiguous, columns otherwise", () => {
    const spec = (off: ReturnType<typeof vr>, redSize: number) =>
      ({ op: "sum", out: new Var(sa([1])), dtype: "float32", exp: cnst(0, "float32"), outSize: 1, redSize, base: cnst(0, "index"), off }) as const;
    expect(reduceLanes(spec(vr("r"), 64))).toBe("rows");
    expect(reduceLanes(spec(vr("r"), 3))).toBe("cols");
    expect(reduceLanes(spec(imul(vr("r"), 5), 64))).toBe("cols");
  });
});
