/**
 * vmap of every primitive family, compared with the function applied per
 * example in a JS loop. Each case runs with its batched arguments on axis 0,
 * and again with the batch axis moved to the last axis (inAxes -1).
 */
import { describe, expect, it } from "vitest";
import { Array, bind, bind1, np, primitives as P, random, slice } from "@refs/core";
import { vmap } from "../src/index.js";
import { expectClose, perExample, rand, randInt } from "./vmap-helpers.js";

interface Case {
  name: string;
  f: (...args: any[]) => unknown;
  args: () => unknown[];
  inAxes: (number | null)[];
  tol?: number;
}

const B = 3;
const u32 = (shape: number[]) => randInt(shape, 0, 1 << 30).astype("uint32");

const unary: [string, (x: Array) => Array, [number, number]?][] = [
  ["neg", (x) => x.neg(), undefined],
  ["abs", (x) => np.abs(x)],
  ["sign", (x) => np.sign(x)],
  ["exp", (x) => np.exp(x)],
  ["expm1", (x) => np.expm1(x)],
  ["log", (x) => np.log(x), [0.1, 2]],
  ["log1p", (x) => np.log1p(x), [0, 2]],
  ["sqrt", (x) => np.sqrt(x), [0.1, 2]],
  ["rsqrt", (x) => np.rsqrt(x), [0.1, 2]],
  ["tanh", (x) => np.tanh(x)],
  ["logistic", (x) => np.sigmoid(x)],
  ["erf", (x) => np.erf(x)],
  ["erf_inv", (x) => np.erfinv(x), [-0.9, 0.9]],
  ["sin", (x) => np.sin(x)],
  ["cos", (x) => np.cos(x)],
  ["floor", (x) => np.floor(x.mul(3))],
  ["ceil", (x) => np.ceil(x.mul(3))],
  ["round", (x) => np.round(x.mul(3))],
  ["is_finite", (x) => np.isfinite(np.log(x))],
  ["not", (x) => np.logicalNot(x.gt(0))],
  ["copy", (x) => bind1(P.copy, [x])],
];

const binaryF: [string, (x: Array, y: Array) => Array][] = [
  ["add", (x, y) => x.add(y)],
  ["sub", (x, y) => x.sub(y)],
  ["mul", (x, y) => x.mul(y)],
  ["div", (x, y) => x.div(y.abs().add(0.5))],
  ["rem", (x, y) => bind1(P.rem, [x, y.abs().add(0.5)])],
  ["pow", (x, y) => np.power(x.abs().add(0.1), y)],
  ["max", (x, y) => np.maximum(x, y)],
  ["min", (x, y) => np.minimum(x, y)],
  ["atan2", (x, y) => np.arctan2(x, y)],
  ["eq", (x, y) => x.eq(y.mul(0).add(x.get(0)))],
  ["ne", (x, y) => x.ne(y)],
  ["lt", (x, y) => x.lt(y)],
  ["le", (x, y) => x.le(y)],
  ["gt", (x, y) => x.gt(y)],
  ["ge", (x, y) => x.ge(y)],
];

const binaryI: [string, (x: Array, y: Array) => Array][] = [
  ["and", (x, y) => np.bitwiseAnd(x, y)],
  ["or", (x, y) => np.bitwiseOr(x, y)],
  ["xor", (x, y) => np.bitwiseXor(x, y)],
  ["shift_left", (x, y) => bind1(P.shiftLeft, [x, np.bitwiseAnd(y, 7)])],
  ["shift_right_logical", (x, y) => bind1(P.shiftRightLogical, [x, np.bitwiseAnd(y, 7)])],
  ["shift_right_arithmetic", (x, y) => bind1(P.shiftRightArithmetic, [x.sub(500), np.bitwiseAnd(y, 7)])],
  ["int div", (x, y) => x.div(y.add(1))],
];

const cases: Case[] = [
  ...unary.map(([name, f, r]): Case => ({ name: `unary ${name}`, f, args: () => [rand([B, 4], r?.[0] ?? -1, r?.[1] ?? 1)], inAxes: [0] })),
  ...binaryF.flatMap(([name, f]): Case[] => [
    { name: `binary ${name} (both batched)`, f, args: () => [rand([B, 4]), rand([B, 4])], inAxes: [0, 0] },
    { name: `binary ${name} (lhs batched)`, f, args: () => [rand([B, 4]), rand([4])], inAxes: [0, null] },
    { name: `binary ${name} (rhs batched)`, f, args: () => [rand([4]), rand([B, 4])], inAxes: [null, 0] },
  ]),
  ...binaryI.map(([name, f]): Case => ({ name: `binary ${name}`, f, args: () => [randInt([B, 5], 0, 1000), randInt([5], 0, 100)], inAxes: [0, null] })),
  { name: "logical and/or on bool", f: (x: Array, y: Array) => np.logicalOr(np.logicalAnd(x.gt(0), y.gt(0)), x.lt(-0.5)), args: () => [rand([B, 4]), rand([B, 4])], inAxes: [0, 0] },
  { name: "select (pred batched)", f: (p: Array, x: Array, y: Array) => np.where(p.gt(0), x, y), args: () => [rand([B, 4]), rand([4]), rand([4])], inAxes: [0, null, null] },
  { name: "select (values batched)", f: (p: Array, x: Array, y: Array) => np.where(p.gt(0), x, y), args: () => [rand([4]), rand([B, 4]), rand([4])], inAxes: [null, 0, null] },
  { name: "scalar literal arithmetic", f: (x: Array) => x.sum().mul(2).add(1), args: () => [rand([B, 4])], inAxes: [0] },
  { name: "convert_element_type", f: (x: Array) => x.mul(10).astype("int32"), args: () => [rand([B, 4])], inAxes: [0] },
  { name: "bitcast_convert_type", f: (x: Array) => np.bitcastConvertType(x, "uint32"), args: () => [rand([B, 4])], inAxes: [0] },
  {
    name: "threefry2x32 (some operands batched)",
    f: (a: Array, b: Array, c: Array, d: Array) => bind(P.threefry2x32, [a, b, c, d]),
    args: () => [u32([B, 4]), u32([4]), u32([B, 4]), u32([4])],
    inAxes: [0, null, 0, null],
  },
  { name: "iota inside (unbatched) plus batched", f: (x: Array) => x.add(np.arange(4)), args: () => [rand([B, 4])], inAxes: [0] },
  { name: "broadcast_in_dim", f: (x: Array) => np.broadcastTo(x, [2, 3, 4]), args: () => [rand([B, 4])], inAxes: [0] },
  { name: "broadcast_in_dim (implicit, [4] + [3,4])", f: (x: Array, y: Array) => x.add(y), args: () => [rand([B, 4]), rand([3, 4])], inAxes: [0, null] },
  { name: "broadcast scalar to batched partner", f: (x: Array, y: Array) => x.mul(y), args: () => [rand([B]), rand([B, 2, 3])], inAxes: [0, 0] },
  { name: "reshape", f: (x: Array) => x.reshape([3, 2]), args: () => [rand([B, 2, 3])], inAxes: [0] },
  { name: "transpose", f: (x: Array) => x.transpose([2, 0, 1]), args: () => [rand([B, 2, 3, 4])], inAxes: [0] },
  { name: "slice (strided)", f: (x: Array) => x.get([slice(1, 5, 2), slice(0, 2)]), args: () => [rand([B, 6, 3])], inAxes: [0] },
  { name: "int index (slice + reshape)", f: (x: Array) => x.get(1), args: () => [rand([B, 4, 3])], inAxes: [0] },
  {
    name: "pad (value unbatched)",
    f: (x: Array, v: Array) => bind1(P.pad, [x, v], { lo: [1, 0], hi: [0, 2], interior: [1, 0] }),
    args: () => [rand([B, 3, 2]), np.array(7.5, { dtype: "float32" })],
    inAxes: [0, null],
  },
  {
    name: "pad (value batched)",
    f: (x: Array, v: Array) => bind1(P.pad, [x, v], { lo: [1, 0], hi: [0, 2], interior: [1, 0] }),
    args: () => [rand([B, 3, 2]), rand([B])],
    inAxes: [0, 0],
  },
  { name: "pad (only value batched)", f: (x: Array, v: Array) => bind1(P.pad, [x, v], { lo: [2], hi: [1], interior: [0] }), args: () => [rand([3]), rand([B])], inAxes: [null, 0] },
  { name: "concatenate", f: (x: Array, y: Array) => np.concatenate([x, y, x], 1), args: () => [rand([B, 2, 3]), rand([2, 2])], inAxes: [0, null] },
  { name: "stack", f: (x: Array, y: Array) => np.stack([x, y], 0), args: () => [rand([B, 4]), rand([B, 4])], inAxes: [0, 0] },
  { name: "rev", f: (x: Array) => np.flip(x, 1), args: () => [rand([B, 2, 3])], inAxes: [0] },
  { name: "reduce_sum axis", f: (x: Array) => x.sum(1), args: () => [rand([B, 2, 3])], inAxes: [0] },
  { name: "reduce_prod", f: (x: Array) => x.prod(0), args: () => [rand([B, 2, 3])], inAxes: [0] },
  { name: "reduce_max", f: (x: Array) => x.max(), args: () => [rand([B, 2, 3])], inAxes: [0] },
  { name: "reduce_min", f: (x: Array) => x.min(1), args: () => [rand([B, 2, 3])], inAxes: [0] },
  { name: "mean/var", f: (x: Array) => np.var(x, 0).add(x.mean()), args: () => [rand([B, 4, 3])], inAxes: [0] },
  { name: "argmax", f: (x: Array) => x.argmax(1), args: () => [rand([B, 2, 5])], inAxes: [0] },
  { name: "argmin", f: (x: Array) => x.argmin(0), args: () => [rand([B, 4, 3])], inAxes: [0] },
  { name: "cumsum", f: (x: Array) => np.cumsum(x, 1), args: () => [rand([B, 2, 5])], inAxes: [0] },
  { name: "cumsum reverse", f: (x: Array) => bind1(P.cumsum, [x], { axis: 0, reverse: true }), args: () => [rand([B, 4])], inAxes: [0] },
  {
    name: "sort (two operands, one key)",
    f: (x: Array, y: Array) => bind(P.sort, [x, y], { dimension: 1, numKeys: 1 }),
    args: () => [rand([B, 2, 5]), rand([2, 5])],
    inAxes: [0, null],
  },
  { name: "matmul both batched", f: (x: Array, y: Array) => np.matmul(x, y), args: () => [rand([B, 2, 3]), rand([B, 3, 4])], inAxes: [0, 0] },
  { name: "matmul lhs batched", f: (x: Array, y: Array) => np.matmul(x, y), args: () => [rand([B, 2, 3]), rand([3, 4])], inAxes: [0, null] },
  { name: "matmul rhs batched", f: (x: Array, y: Array) => np.matmul(x, y), args: () => [rand([2, 3]), rand([B, 3, 4])], inAxes: [null, 0] },
  { name: "dot vector", f: (x: Array, y: Array) => np.dot(x, y), args: () => [rand([B, 3]), rand([3])], inAxes: [0, null] },
  {
    name: "dot_general with dot batch dims (lhs batched)",
    f: (x: Array, y: Array) => bind1(P.dotGeneral, [x, y], { lhsContracting: [2], rhsContracting: [1], lhsBatch: [0], rhsBatch: [0] }),
    args: () => [rand([B, 2, 4, 3]), rand([2, 3, 5])],
    inAxes: [0, null],
  },
  {
    name: "dot_general with dot batch dims (rhs batched)",
    f: (x: Array, y: Array) => bind1(P.dotGeneral, [x, y], { lhsContracting: [2], rhsContracting: [1], lhsBatch: [0], rhsBatch: [0] }),
    args: () => [rand([2, 4, 3]), rand([B, 2, 3, 5])],
    inAxes: [null, 0],
  },
  {
    name: "dot_general with dot batch dims (both batched)",
    f: (x: Array, y: Array) => bind1(P.dotGeneral, [x, y], { lhsContracting: [2], rhsContracting: [1], lhsBatch: [0], rhsBatch: [0] }),
    args: () => [rand([B, 2, 4, 3]), rand([B, 2, 3, 5])],
    inAxes: [0, 0],
  },
  { name: "gather (operand batched)", f: (x: Array, i: Array) => x.get(i), args: () => [rand([B, 5, 2]), randInt([3], -5, 5)], inAxes: [0, null] },
  { name: "gather (indices batched)", f: (x: Array, i: Array) => x.get(i), args: () => [rand([5, 2]), randInt([B, 3], -5, 5)], inAxes: [null, 0] },
  { name: "gather (both batched)", f: (x: Array, i: Array) => x.get(i), args: () => [rand([B, 5, 2]), randInt([B, 2, 3], -5, 5)], inAxes: [0, 0] },
  { name: "gather on a middle axis (both batched)", f: (x: Array, i: Array) => x.get([slice(), i]), args: () => [rand([B, 2, 5, 3]), randInt([B, 4], 0, 5)], inAxes: [0, 0] },
  { name: "gather clamps out-of-range (both batched)", f: (x: Array, i: Array) => bind1(P.gather, [x, i], { axis: 1 }), args: () => [rand([B, 2, 5]), randInt([B, 4], -3, 9)], inAxes: [0, 0] },
  { name: "take", f: (x: Array, i: Array) => np.take(x, i, 1), args: () => [rand([B, 2, 5]), randInt([B, 3], 0, 5)], inAxes: [0, 0] },
  {
    name: "multi-index gather (2 index arrays)",
    f: (x: Array, i: Array, j: Array) => x.get([i, j]),
    args: () => [rand([B, 4, 5]), randInt([B, 3], 0, 4), randInt([3], 0, 5)],
    inAxes: [0, 0, null],
  },
  { name: "scatter (operand batched)", f: (x: Array, i: Array, v: Array) => x.at(i).set(v), args: () => [rand([B, 5]), np.array([1, 3], { dtype: "int32" }), rand([2])], inAxes: [0, null, null] },
  { name: "scatter (updates batched)", f: (x: Array, i: Array, v: Array) => x.at(i).set(v), args: () => [rand([5]), np.array([1, 3], { dtype: "int32" }), rand([B, 2])], inAxes: [null, null, 0] },
  { name: "scatter (indices batched)", f: (x: Array, i: Array, v: Array) => x.at(i).set(v), args: () => [rand([5, 2]), randInt([B, 2], 0, 5), rand([2, 2])], inAxes: [null, 0, null] },
  { name: "scatter (all batched, out of range dropped)", f: (x: Array, i: Array, v: Array) => bind1(P.scatter, [x, i, v], { axis: 1 }), args: () => [rand([B, 2, 5, 3]), randInt([B, 2], -2, 7), rand([B, 2, 2, 3])], inAxes: [0, 0, 0] },
  { name: "scatter_add duplicates (all batched)", f: (x: Array, i: Array, v: Array) => x.at(i).add(v), args: () => [rand([B, 5]), randInt([B, 6], 0, 5), rand([B, 6])], inAxes: [0, 0, 0] },
  { name: "scatter_add (indices batched only)", f: (x: Array, i: Array, v: Array) => bind1(P.scatterAdd, [x, i, v], { axis: 0 }), args: () => [rand([5, 2]), randInt([B, 3], 0, 5), rand([3, 2])], inAxes: [null, 0, null] },
  {
    name: "dynamic_slice (operand batched)",
    f: (x: Array, s: Array) => bind1(P.dynamicSlice, [x, s, np.array(1, { dtype: "int32" })], { sliceSizes: [2, 2] }),
    args: () => [rand([B, 5, 4]), np.array(2, { dtype: "int32" })],
    inAxes: [0, null],
  },
  {
    name: "dynamic_slice (starts batched, clamped)",
    f: (x: Array, s: Array, t: Array) => bind1(P.dynamicSlice, [x, s, t], { sliceSizes: [2, 3] }),
    args: () => [rand([5, 4]), randInt([B], -1, 6), randInt([B], 0, 4)],
    inAxes: [null, 0, 0],
  },
  {
    name: "dynamic_slice (operand and one start batched)",
    f: (x: Array, s: Array, t: Array) => bind1(P.dynamicSlice, [x, s, t], { sliceSizes: [2, 3] }),
    args: () => [rand([B, 5, 4]), randInt([B], 0, 5), np.array(1, { dtype: "int32" })],
    inAxes: [0, 0, null],
  },
  {
    name: "dynamic_update_slice (operand/update batched)",
    f: (x: Array, u: Array, s: Array) => bind1(P.dynamicUpdateSlice, [x, u, s, np.array(0, { dtype: "int32" })]),
    args: () => [rand([B, 5, 3]), rand([B, 2, 2]), np.array(4, { dtype: "int32" })],
    inAxes: [0, 0, null],
  },
  {
    name: "dynamic_update_slice (starts batched)",
    f: (x: Array, u: Array, s: Array, t: Array) => bind1(P.dynamicUpdateSlice, [x, u, s, t]),
    args: () => [rand([5, 3]), rand([2, 2]), randInt([B], -1, 6), randInt([B], 0, 3)],
    inAxes: [null, null, 0, 0],
  },
  {
    name: "dynamic_update_slice (everything batched)",
    f: (x: Array, u: Array, s: Array, t: Array) => bind1(P.dynamicUpdateSlice, [x, u, s, t]),
    args: () => [rand([B, 5, 3]), rand([B, 2, 2]), randInt([B], 0, 5), randInt([B], 0, 3)],
    inAxes: [0, 0, 0, 0],
  },
  { name: "random.split with batched keys", f: (k: Array) => random.split(k, 3), args: () => [random.split(random.key(0), B)], inAxes: [0] },
  { name: "random.uniform with batched keys", f: (k: Array) => random.uniform(k, [2, 3]), args: () => [random.split(random.key(1), B)], inAxes: [0] },
  { name: "random.normal with batched keys", f: (k: Array) => random.normal(k, [4]), args: () => [random.split(random.key(2), B)], inAxes: [0], tol: 1e-4 },
  { name: "softmax-ish composite", f: (x: Array) => np.exp(x.sub(x.max(-1, { keepdims: true }))).div(np.exp(x).sum()), args: () => [rand([B, 2, 3])], inAxes: [0] },
];

/** Move each batched argument's batch axis to its last axis. */
function toLastAxis(args: unknown[], inAxes: (number | null)[]): unknown[] {
  return args.map((a, i) => (inAxes[i] === null ? a : np.moveaxis(a as Array, 0, -1)));
}

describe("vmap of every primitive family (compared with a per-example loop)", () => {
  for (const c of cases) {
    it(c.name, () => {
      const args = c.args();
      const out = vmap(c.f, { inAxes: c.inAxes })(...args);
      expectClose(out, perExample(c.f, args, c.inAxes, B), c.tol);
      // Batch axis last, given as a negative axis; output on axis -1.
      const moved = toLastAxis(args, c.inAxes);
      const neg = c.inAxes.map((a) => (a === null ? null : -1));
      const out2 = vmap(c.f, { inAxes: neg, outAxes: -1 })(...moved);
      expectClose(out2, perExample(c.f, moved, neg, B, -1), c.tol);
    });
  }

  it("covers every primitive of core with a batching rule (ref effects are discharged first)", async () => {
    const { allPrimitives } = await import("@refs/core");
    const missing = allPrimitives()
      .filter((p) => !p.spec.effectful && !p.rules.has("batch"))
      .map((p) => p.name);
    expect(missing).toEqual([]);
  });
});
