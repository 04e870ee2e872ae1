import { describe, expect, it } from "vitest";
import {
  Literal,
  ShapedArray,
  Var,
  bind,
  makeProgram,
  np,
  newRef,
  primitives as P,
  type Array,
  type Atom,
  type Aval,
  type Eqn,
  type Params,
  type Primitive,
  type Program,
  type Ref,
  type Value,
} from "@refs/core";
import { jit, lowerToStableHlo, stageFlat } from "../src/index.js";
import { checkStableHlo } from "./stablehlo-check.js";

const NOTEBOOK = `module @jit_increment attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main(%arg0: tensor<3xi32> {tf.aliasing_output = 0 : i32}) -> (tensor<3xi32> {jax.result_info = ""}) {
    %c = stablehlo.constant dense<1> : tensor<i32>
    %0 = stablehlo.broadcast_in_dim %c, dims = [] : (tensor<i32>) -> tensor<3xi32>
    %1 = stablehlo.add %arg0, %0 : tensor<3xi32>
    return %1 : tensor<3xi32>
  }
}`;

const sa = (shape: number[], dtype: "float32" | "int32" | "uint32" | "bool" = "float32") => new ShapedArray(shape, dtype);

/** Stage a pure program from bind calls. */
function stage(fn: (...xs: Value[]) => Value[], avals: Aval[]): Program {
  const s = stageFlat(fn, avals, { name: "f" });
  expect(s.consts.length).toBe(0);
  return s.jaxpr as Program;
}

function expectValid(text: string): void {
  const errors = checkStableHlo(text);
  expect(errors, text).toEqual([]);
}

describe("lowerToStableHlo", () => {
  it("lowers the notebook's increment exactly", () => {
    const aRef = newRef(np.array([1, 2, 3], { dtype: "int32" }));
    const increment = jit(function increment(aRef: Ref) {
      aRef.set(aRef.get().add(1));
    });
    const text = increment.lower(aRef).asText();
    expect(text).toContain("%arg0: tensor<3xi32> {tf.aliasing_output = 0 : i32}");
    expect(text).toContain("stablehlo.add");
    expect(text.trimEnd()).toBe(NOTEBOOK);
    expectValid(text);
  });

  it("a ref that is only read, its value discarded, lowers to no computation", () => {
    const r = newRef(np.array([1, 2, 3], { dtype: "int32" }));
    const f = jit(function readOnly(r: Ref) {
      r.get().add(1);
    });
    const lowered = f.lower(r);
    const text = lowered.asText();
    expect(text).not.toContain("stablehlo.add");
    expect(text).not.toContain("broadcast_in_dim");
    expect(text).toContain("func.func public @main(%arg0: tensor<3xi32> {tf.aliasing_output = 0 : i32}) -> (tensor<3xi32> {jax.result_info = \"\"})");
    expect(text).toContain("return %arg0 : tensor<3xi32>");
    expect(lowered.program.eqns.length).toBe(0);
    expectValid(text);
    // Still runs.
    f(r);
    expect(r.get().toJs()).toEqual([1, 2, 3]);
  });

  it("regular outputs come first with result info, ref outputs after with empty info", () => {
    const a = newRef(np.array([1.5, 2]));
    const f = jit(function two(a: Ref, x: Array) {
      a.set(a.get().add(x));
      return [x.mul(2), x.sum()];
    });
    const text = f.lower(a, np.array([1.5, 2.5])).asText();
    expect(text).toContain("module @jit_two ");
    expect(text).toContain(
      'func.func public @main(%arg0: tensor<2xf32> {tf.aliasing_output = 2 : i32}, %arg1: tensor<2xf32>) -> (tensor<2xf32> {jax.result_info = "result[0]"}, tensor<f32> {jax.result_info = "result[1]"}, tensor<2xf32> {jax.result_info = ""})',
    );
    expectValid(text);
    const g = jit(function one(x: Array) {
      return x.exp();
    });
    const t2 = g.lower(np.array([1.5])).asText();
    expect(t2).toContain('-> (tensor<1xf32> {jax.result_info = "result"})');
    expect(t2).toContain("stablehlo.exponential %arg0 : tensor<1xf32>");
    expectValid(t2);
  });

  it("lowers elementwise primitives of every dtype class", () => {
    const f32 = sa([2, 3]);
    const i32 = sa([2, 3], "int32");
    const u32 = sa([2, 3], "uint32");
    const b = sa([2, 3], "bool");
    const p = stage(
      (x, y, i, j, u, m) => {
        const outs: Value[] = [];
        for (const pr of [P.neg, P.abs, P.sign, P.exp, P.expm1, P.log, P.log1p, P.sqrt, P.rsqrt, P.tanh, P.logistic, P.erf, P.erfInv, P.sin, P.cos, P.floor, P.ceil, P.round, P.isFinite, P.copy])
          outs.push(...bind(pr, [x!]));
        for (const pr of [P.add, P.sub, P.mul, P.div, P.rem, P.pow, P.max, P.min, P.atan2, P.eq, P.ne, P.lt, P.le, P.gt, P.ge]) outs.push(...bind(pr, [x!, y!]));
        for (const pr of [P.add, P.div, P.rem, P.and, P.or, P.xor, P.shiftLeft, P.shiftRightLogical, P.shiftRightArithmetic, P.lt]) outs.push(...bind(pr, [i!, j!]));
        outs.push(...bind(P.lt, [u!, u!]), ...bind(P.not, [u!]), ...bind(P.not, [m!]), ...bind(P.and, [m!, m!]), ...bind(P.eq, [m!, m!]));
        outs.push(...bind(P.select, [m!, x!, y!]));
        outs.push(...bind(P.convertElementType, [x!], { newDtype: "int32", weakType: false }));
        outs.push(...bind(P.convertElementType, [i!], { newDtype: "bool", weakType: false }));
        outs.push(...bind(P.bitcastConvertType, [x!], { newDtype: "uint32" }));
        outs.push(...bind(P.threefry2x32, [u!, u!, u!, u!]));
        return outs;
      },
      [f32, f32, i32, i32, u32, b],
    );
    const text = lowerToStableHlo(p, { name: "jit_elementwise" });
    expectValid(text);
    for (const op of [
      "negate", "abs", "sign", "exponential", "exponential_minus_one", "log", "log_plus_one", "sqrt", "rsqrt", "tanh",
      "logistic", "sine", "cosine", "floor", "ceil", "round_nearest_afz", "is_finite", "add", "subtract", "multiply",
      "divide", "remainder", "power", "maximum", "minimum", "atan2", "and", "or", "xor", "not", "shift_left",
      "shift_right_logical", "shift_right_arithmetic", "select", "convert", "bitcast_convert",
    ])
      expect(text, op).toContain(`stablehlo.${op} `);
    expect(text).toContain('"chlo.erf"(%arg0) : (tensor<2x3xf32>) -> tensor<2x3xf32>');
    expect(text).toContain('"chlo.erf_inv"(%arg0)');
    expect(text).toContain("stablehlo.compare  LT, %arg0, %arg1,  FLOAT : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xi1>");
    expect(text).toContain("stablehlo.compare  LT, %arg2, %arg3,  SIGNED");
    expect(text).toContain("stablehlo.compare  LT, %arg4, %arg4,  UNSIGNED");
    expect(text).toContain("stablehlo.compare  EQ, %arg5, %arg5,  UNSIGNED");
    expect(text).toContain("stablehlo.select %arg5, %arg0, %arg1 : tensor<2x3xi1>, tensor<2x3xf32>");
    expect(text).toMatch(/= func\.call @threefry2x32\(%arg4, %arg4, %arg4, %arg4\) : \(tensor<2x3xui32>, tensor<2x3xui32>, tensor<2x3xui32>, tensor<2x3xui32>\) -> \(tensor<2x3xui32>, tensor<2x3xui32>\)/);
    expect(text).toContain("func.func private @threefry2x32(%arg0: tensor<2x3xui32>, %arg1: tensor<2x3xui32>, %arg2: tensor<2x3xui32>, %arg3: tensor<2x3xui32>) -> (tensor<2x3xui32>, tensor<2x3xui32>)");
    expect(text).toContain("dense<466688986> : tensor<2x3xui32>"); // 0x1BD11BDA
  });

  it("lowers shape, creation, indexing and reduction primitives", () => {
    const p = stage(
      (x, v, idx, s) => {
        const o: Value[] = [];
        o.push(...bind(P.iota, [], { dtype: "int32", shape: [2, 3], dimension: 1 }));
        o.push(...bind(P.broadcastInDim, [x!], { shape: [4, 2, 3], broadcastDimensions: [1, 2] }));
        o.push(...bind(P.reshape, [x!], { newSizes: [3, 2] }));
        o.push(...bind(P.transpose, [x!], { permutation: [1, 0] }));
        o.push(...bind(P.slice, [x!], { startIndices: [0, 1], limitIndices: [2, 3], strides: [1, 2] }));
        o.push(...bind(P.pad, [x!, s!], { lo: [1, 0], hi: [0, 2], interior: [0, 1] }));
        o.push(...bind(P.concatenate, [x!, x!], { dimension: 0 }));
        o.push(...bind(P.rev, [x!], { dimensions: [0, 1] }));
        for (const pr of [P.reduceSum, P.reduceProd, P.reduceMax, P.reduceMin]) o.push(...bind(pr, [x!], { axes: [1] }));
        o.push(...bind(P.reduceMax, [idx!], { axes: [0] }));
        o.push(...bind(P.argmax, [x!], { axis: 1, indexDtype: "int32" }), ...bind(P.argmin, [x!], { axis: 0, indexDtype: "int32" }));
        o.push(...bind(P.cumsum, [x!], { axis: 1, reverse: false }), ...bind(P.cumsum, [x!], { axis: 0, reverse: true }));
        o.push(...bind(P.dotGeneral, [x!, v!], { lhsContracting: [1], rhsContracting: [0], lhsBatch: [], rhsBatch: [] }));
        o.push(...bind(P.dotGeneral, [x!, x!], { lhsContracting: [], rhsContracting: [], lhsBatch: [0], rhsBatch: [0] }));
        o.push(...bind(P.dotGeneral, [x!, x!], { lhsContracting: [1], rhsContracting: [1], lhsBatch: [0], rhsBatch: [0] }));
        o.push(...bind(P.gather, [x!, idx!], { axis: 1 }));
        const zero = bind(P.gather, [v!, idx!], { axis: 0 })[0]!;
        void zero;
        o.push(...bind(P.scatterAdd, [v!, idx!, bind(P.gather, [v!, idx!], { axis: 0 })[0]!], { axis: 0 }));
        o.push(...bind(P.scatter, [x!, idx!, bind(P.gather, [x!, idx!], { axis: 1 })[0]!], { axis: 1 }));
        const i0 = bind(P.reduceMin, [idx!], { axes: [0] })[0]!;
        const ds = bind(P.dynamicSlice, [x!, i0, i0], { sliceSizes: [1, 2] })[0]!;
        o.push(ds, ...bind(P.dynamicUpdateSlice, [x!, ds, i0, i0]));
        o.push(...bind(P.sort, [x!], { dimension: 1, numKeys: 1 }));
        o.push(...bind(P.sort, [x!, x!, bind(P.iota, [], { dtype: "int32", shape: [2, 3], dimension: 1 })[0]!], { dimension: 0, numKeys: 2 }));
        return o;
      },
      [sa([2, 3]), sa([3]), sa([4], "int32"), sa([])],
    );
    const text = lowerToStableHlo(p, { name: "jit_shapes" });
    expectValid(text);
    expect(text).toContain("stablehlo.iota dim = 1 : tensor<2x3xi32>");
    expect(text).toContain("stablehlo.broadcast_in_dim %arg0, dims = [1, 2] : (tensor<2x3xf32>) -> tensor<4x2x3xf32>");
    expect(text).toContain("stablehlo.transpose %arg0, dims = [1, 0] : (tensor<2x3xf32>) -> tensor<3x2xf32>");
    expect(text).toContain('"stablehlo.slice"(%arg0) {limit_indices = array<i64: 2, 3>, start_indices = array<i64: 0, 1>, strides = array<i64: 1, 2>} : (tensor<2x3xf32>) -> tensor<2x1xf32>');
    expect(text).toContain('"stablehlo.pad"(%arg0, %arg3) {edge_padding_high = array<i64: 0, 2>, edge_padding_low = array<i64: 1, 0>, interior_padding = array<i64: 0, 1>}');
    expect(text).toContain("stablehlo.concatenate %arg0, %arg0, dim = 0 : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>");
    expect(text).toContain('"stablehlo.reverse"(%arg0) {dimensions = array<i64: 0, 1>}');
    expect(text).toMatch(/stablehlo\.reduce\(%arg0 init: %cst\w*\) applies stablehlo\.add across dimensions = \[1\] : \(tensor<2x3xf32>, tensor<f32>\) -> tensor<2xf32>/);
    expect(text).toContain("stablehlo.constant dense<0xFF800000> : tensor<f32>"); // -inf for max
    expect(text).toContain("stablehlo.constant dense<-2147483648> : tensor<i32>");
    expect(text).toContain('"stablehlo.reduce"(%arg0, ');
    expect(text).toContain('"stablehlo.reduce_window"(%arg0, ');
    expect(text).toContain("padding = dense<[[0, 0], [2, 0]]> : tensor<2x2xi64>, window_dimensions = array<i64: 1, 3>");
    expect(text).toContain("padding = dense<[[0, 1], [0, 0]]> : tensor<2x2xi64>, window_dimensions = array<i64: 2, 1>");
    expect(text).toContain("stablehlo.dot_general %arg0, %arg1, contracting_dims = [1] x [0] : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2xf32>");
    expect(text).toContain('"stablehlo.dot_general"(%arg0, %arg0) {dot_dimension_numbers = #stablehlo.dot<lhs_batching_dimensions = [0], rhs_batching_dimensions = [0]>}');
    expect(text).toContain("batching_dims = [0] x [0], contracting_dims = [1] x [1] : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2xf32>");
    expect(text).toContain(
      '"stablehlo.gather"(%arg0, %arg2) {dimension_numbers = #stablehlo.gather<offset_dims = [0], collapsed_slice_dims = [1], start_index_map = [1], index_vector_dim = 1>, indices_are_sorted = false, slice_sizes = array<i64: 2, 1>} : (tensor<2x3xf32>, tensor<4xi32>) -> tensor<2x4xf32>',
    );
    expect(text).toContain("#stablehlo.scatter<inserted_window_dims = [0], scatter_dims_to_operand_dims = [0], index_vector_dim = 1>");
    expect(text).toContain("#stablehlo.scatter<update_window_dims = [0], inserted_window_dims = [1], scatter_dims_to_operand_dims = [1], index_vector_dim = 1>");
    expect(text).toMatch(/"stablehlo\.dynamic_slice"\(%arg0, %\d+, %\d+\) \{slice_sizes = array<i64: 1, 2>\} : \(tensor<2x3xf32>, tensor<i32>, tensor<i32>\) -> tensor<1x2xf32>/);
    expect(text).toContain('"stablehlo.dynamic_update_slice"(%arg0, ');
    expect(text).toContain("{dimension = 1 : i64, is_stable = true} : (tensor<2x3xf32>) -> tensor<2x3xf32>");
    expect(text).toContain("TOTALORDER");
    expect(text).toContain("{dimension = 0 : i64, is_stable = true} : (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xi32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xi32>)");
  });

  it("lowers scan as a while loop, while as stablehlo.while and cond as stablehlo.case", () => {
    const f32 = sa([]);
    const body = stage((c, k, x) => {
      const s = bind(P.add, [k!, bind(P.mul, [c!, x!])[0]!])[0]!;
      return [s, bind(P.sin, [s])[0]!];
    }, [f32, f32, f32]);
    const condP = stage((lim, i) => bind(P.lt, [i!, lim!]), [sa([], "int32"), sa([], "int32")]);
    const wbody = stage((i) => bind(P.add, [i!, bind(P.broadcastInDim, [i!], { shape: [], broadcastDimensions: [] })[0]!]), [sa([], "int32")]);
    const br0 = stage((a, b) => [bind(P.sub, [a!, b!])[0]!], [f32, f32]);
    const br1 = stage((a, b) => [bind(P.mul, [a!, b!])[0]!], [f32, f32]);
    const p = stage(
      (c, k, xs, lim, i0, idx) => {
        const [carry, ys] = bind(P.scan, [c!, k!, xs!], { body, length: 5, reverse: false, numConsts: 1, numCarry: 1 });
        const [carryR] = bind(P.scan, [c!, k!, xs!], { body, length: 5, reverse: true, numConsts: 1, numCarry: 1 });
        const [w] = bind(P.whileLoop, [lim!, i0!], { cond: condP, body: wbody, condNumConsts: 1, bodyNumConsts: 0 });
        const [r] = bind(P.cond, [idx!, carry!, k!], { branches: [br0, br1] });
        return [carry!, ys!, carryR!, w!, r!];
      },
      [f32, f32, sa([5]), sa([], "int32"), sa([], "int32"), sa([], "int32")],
    );
    const text = lowerToStableHlo(p, { name: "jit_control" });
    expectValid(text);
    expect(text).toContain('"stablehlo.while"(');
    expect(text).toContain('"stablehlo.case"(');
    expect(text).toContain("stablehlo.clamp");
    expect(text).toContain('"stablehlo.dynamic_slice"');
    expect(text).toContain('"stablehlo.dynamic_update_slice"');
    // scan: state is (i, consts, carry, xs, ys).
    expect(text).toContain(
      ": (tensor<i32>, tensor<f32>, tensor<f32>, tensor<5xf32>, tensor<5xf32>) -> (tensor<i32>, tensor<f32>, tensor<f32>, tensor<5xf32>, tensor<5xf32>)",
    );
    expect(text).toContain("^bb0(%arg6: tensor<i32>, %arg7: tensor<f32>, %arg8: tensor<f32>, %arg9: tensor<5xf32>, %arg10: tensor<5xf32>):");
    expect(text).toMatch(/return %\d+#2, %\d+#4, %\d+#2, %\d+#1, %\d+ : tensor<f32>, tensor<5xf32>, tensor<f32>, tensor<i32>, tensor<f32>/);
  });

  it("lowers nested jit calls as private functions", () => {
    const inner = stage((x) => bind(P.mul, [x!, x!]), [sa([2])]);
    const p = stage(
      (x) => {
        const [a] = bind(P.jitCall, [x!], { program: inner, name: "square" });
        const [b] = bind(P.jitCall, [a!], { program: inner, name: "square" });
        return [b!];
      },
      [sa([2])],
    );
    const text = lowerToStableHlo(p, { name: "jit_outer" });
    expectValid(text);
    expect(text).toContain("%0 = func.call @square(%arg0) : (tensor<2xf32>) -> tensor<2xf32>");
    expect(text).toContain("%1 = func.call @square(%0) : (tensor<2xf32>) -> tensor<2xf32>");
    expect(text.match(/func\.func private @square/g)?.length).toBe(1);
    expect(text).toContain("func.func private @square(%arg0: tensor<2xf32>) -> tensor<2xf32> {");
  });

  it("names constants like MLIR (c, cst, c_0, ...) and prints floats and bools", () => {
    const x = new Var(sa([2])), i = new Var(sa([2], "int32")), m = new Var(sa([2], "bool"));
    const eqns: Eqn[] = [];
    const eqn = (prim: Primitive, inputs: Atom[], params: Params = {}): Var => {
      const outs = prim.abstractEval(inputs.map((a) => a.aval), params).map((a) => new Var(a as ShapedArray));
      eqns.push({ prim, params, inputs, outputs: outs });
      return outs[0]!;
    };
    const bc = (l: Literal) => eqn(P.broadcastInDim, [l], { shape: [2], broadcastDimensions: [] });
    const lit = (v: number, d: "float32" | "int32" | "bool") => new Literal(v, sa([], d));
    const outs = [
      eqn(P.add, [x, bc(lit(0.5, "float32"))]),
      eqn(P.add, [x, bc(lit(Math.fround(0.1), "float32"))]),
      eqn(P.mul, [i, bc(lit(-3, "int32"))]),
      eqn(P.mul, [i, bc(lit(7, "int32"))]),
      eqn(P.and, [m, bc(lit(1, "bool"))]),
      eqn(P.max, [x, bc(lit(Infinity, "float32"))]),
    ];
    const p = makeProgram([x, i, m], eqns, [...outs, lit(2, "int32")], [], "f");
    const text = lowerToStableHlo(p);
    expectValid(text);
    expect(text).toContain("%cst = stablehlo.constant dense<5.000000e-01> : tensor<f32>");
    expect(text).toContain("%cst_0 = stablehlo.constant dense<1.000000e-01> : tensor<f32>");
    expect(text).toContain("%c = stablehlo.constant dense<-3> : tensor<i32>");
    expect(text).toContain("%c_1 = stablehlo.constant dense<7> : tensor<i32>");
    expect(text).toContain("%c_2 = stablehlo.constant dense<true> : tensor<i1>");
    expect(text).toContain("%cst_3 = stablehlo.constant dense<0x7F800000> : tensor<f32>");
    expect(text).toContain("%c_4 = stablehlo.constant dense<2> : tensor<i32>");
    expect(text).toContain("module @jit_f ");
  });

  it("refuses programs that still have ref effects", () => {
    const p = stageFlat((r) => [(r as Ref).get()], [newRef(np.zeros([2])).aval]).jaxpr as unknown as Program;
    expect(() => lowerToStableHlo(p)).toThrow(/discharge/);
  });

  it("the checker rejects broken text", () => {
    expect(checkStableHlo(NOTEBOOK.replace("%1 = stablehlo.add %arg0, %0", "%1 = stablehlo.add %arg0, %5"))).not.toEqual([]);
    expect(checkStableHlo(NOTEBOOK.replace("-> tensor<3xi32>\n", "-> tensor<3xf32>\n"))).not.toEqual([]);
    expect(checkStableHlo(NOTEBOOK.replace("stablehlo.add", "stablehlo.addd"))).not.toEqual([]);
    expect(checkStableHlo(NOTEBOOK.replace("  }\n}", "  }\n"))).not.toEqual([]);
    expect(checkStableHlo(NOTEBOOK.replace("%1 = stablehlo.add %arg0, %0", "%0 = stablehlo.add %arg0, %0"))).not.toEqual([]);
  });
});


