/**
 * Backend conformance cases for @refs/core: one source of tests, run on the
 * CPU by this package's `test/conformance.test.ts` and on every other backend
 * (e.g. @refs/gpu's conformance test) against the CPU.
 *
 * A case builds its arrays with np/random ops on whatever backend is current.
 * `expected` (optional) holds hand-computed values, checked on the CPU;
 * `tol` is the relative float32 tolerance for cross-backend comparison
 * (default 1e-5 relative + 1e-6 absolute; 0 means bit-exact).
 * Integer and bool outputs are always compared exactly.
 */
import { np, random, slice, type Array } from "../../src/index.js";

export interface ConformanceCase {
  name: string;
  run: () => Array | Array[];
  tol?: number;
  expected?: number[][];
}

const i32 = (xs: number[] | number[][]) => np.array(xs, { dtype: "int32" });
const u32 = (xs: number[]) => np.array(xs, { dtype: "uint32" });
const f32 = (xs: number[] | number[][]) => np.array(xs, { dtype: "float32" });
/** A deterministic float32 array of the given shape with values in [-1, 1). */
const ramp = (shape: number[], k = 1) => {
  const n = shape.reduce((a, b) => a * b, 1);
  return np.sin(np.arange(n).astype("float32").mul(0.37 * k).add(0.1 * k)).reshape(shape);
};

export const coreCases: ConformanceCase[] = [
  // ---- elementwise -----------------------------------------------------------
  {
    name: "float unary chain",
    run: () => {
      const x = np.linspace(-3, 3, 25);
      return [np.exp(x), np.tanh(x), np.abs(x), np.sign(x), np.square(x), np.sin(x), np.cos(x), np.floor(x), np.ceil(x), np.round(x), np.sigmoid(x), np.erf(x), np.negative(x)];
    },
  },
  {
    name: "float unary on positive domain",
    run: () => {
      const x = np.linspace(0.1, 5, 17);
      return [np.log(x), np.sqrt(x), np.rsqrt(x), np.reciprocal(x), np.erfinv(x.mul(0.19))];
    },
  },
  {
    name: "float binary ops",
    run: () => {
      const a = ramp([4, 5]), b = ramp([4, 5], 3).add(1.5);
      return [a.add(b), a.sub(b), a.mul(b), a.div(b), np.maximum(a, b), np.minimum(a, b), np.power(b, 2.5), np.floorDivide(a, b), np.mod(a.mul(7), b)];
    },
  },
  {
    name: "float division by zero and nan/inf predicates",
    run: () => {
      const x = f32([1, -1, 0, 2]);
      const q = x.div(0);
      return [q, np.isnan(q), np.isinf(q), np.isfinite(q)];
    },
    expected: [[Infinity, -Infinity, NaN, Infinity], [0, 0, 1, 0], [1, 1, 0, 1], [0, 0, 0, 0]],
  },
  {
    name: "float comparisons with NaN and infinite operands",
    run: () => {
      const z = f32([0, 1, 0, 2, -1]).div(f32([0, 0, 0, 1, 0])); // [NaN, Inf, NaN, 2, -Inf]
      const y = f32([0, 0, 1, 2, -Infinity]).div(f32([0, 1, 1, 1, 1])); // [NaN, 0, 1, 2, -Inf]
      return [z.eq(z), z.ne(z), z.eq(y), z.ne(y), z.lt(y), z.le(y), z.gt(y), z.ge(y), np.isnan(z), np.maximum(z, y), z.astype("bool"), y.mul(-0).astype("bool")];
    },
    expected: [
      [0, 1, 0, 1, 1],
      [1, 0, 1, 0, 0],
      [0, 0, 0, 1, 1],
      [1, 1, 1, 0, 0],
      [0, 0, 0, 0, 0],
      [0, 0, 0, 1, 1],
      [0, 1, 0, 0, 0],
      [0, 1, 0, 1, 1],
      [1, 0, 1, 0, 0],
      [NaN, Infinity, NaN, 2, -Infinity],
      [1, 1, 1, 1, 1],
      [1, 0, 0, 0, 1],
    ],
  },
  {
    name: "int32 wraparound",
    run: () => {
      const big = i32([2147483647, -2147483648, 65536, 123456789]);
      return [big.add(1), big.sub(1), big.mul(65536), np.negative(big)];
    },
    expected: [
      [-2147483648, -2147483647, 65537, 123456790],
      [2147483646, 2147483647, 65535, 123456788],
      [-65536, 0, 0, (123456789 * 65536) | 0],
      [-2147483647, -2147483648, -65536, -123456789],
    ],
  },
  {
    name: "uint32 wraparound",
    run: () => {
      const x = u32([0, 1, 4294967295]);
      return [x.sub(u32([1, 1, 1])), x.add(u32([4294967295, 4294967295, 1]))];
    },
    expected: [[4294967295, 0, 4294967294], [4294967295, 0, 0]],
  },
  {
    name: "int32 integer division and modulo (signs, by zero)",
    run: () => {
      const a = i32([7, -7, 7, -7, 5, 0, -3]);
      const b = i32([2, 2, -2, -2, 0, 0, 0]);
      return [np.floorDivide(a, b), np.mod(a, b)];
    },
  },
  {
    name: "int32 bitwise ops and shifts",
    run: () => {
      const a = i32([0x0f0f, -1, 12345, -98765]);
      const b = i32([0x00ff, 3, 7, 31]);
      return [np.bitwiseAnd(a, b), np.bitwiseOr(a, b), np.bitwiseXor(a, b), np.bitwiseNot(a), np.leftShift(a, i32([1, 2, 3, 4])), np.rightShift(a, i32([1, 2, 3, 4]))];
    },
  },
  {
    name: "comparisons and logical ops give bools",
    run: () => {
      const a = ramp([6]), b = ramp([6], 2);
      const p = a.gt(b), q = a.lt(0);
      return [p, q, a.eq(a), np.notEqual(a, b), np.lessEqual(a, b), np.greaterEqual(a, b), np.logicalAnd(p, q), np.logicalOr(p, q), np.logicalXor(p, q), np.logicalNot(p)];
    },
  },
  {
    name: "astype between float, int and bool",
    run: () => {
      const x = f32([-2.7, -0.5, 0, 0.5, 2.7, 1e9]);
      return [x.astype("int32"), x.astype("bool"), x.astype("int32").astype("float32"), i32([-3, 0, 5]).astype("uint32"), np.array([true, false]).astype("float32")];
    },
  },
  // ---- promotion and broadcasting -----------------------------------------------
  {
    name: "dtype promotion (int + float, bool + int, weak scalars)",
    run: () => {
      const i = i32([1, 2, 3]);
      const f = f32([0.5, 0.25, 0.125]);
      const b = np.array([true, false, true]);
      return [i.add(f), b.add(i), i.mul(2), i.add(0.5), b.mul(1.5), i.div(2)];
    },
    expected: [[1.5, 2.25, 3.125], [2, 2, 4], [2, 4, 6], [1.5, 2.5, 3.5], [1.5, 0, 1.5], [0.5, 1, 1.5]],
  },
  {
    name: "broadcasting (row, column, scalar, 3-D)",
    run: () => {
      const m = ramp([3, 4]);
      const r = ramp([4], 2), c = ramp([3, 1], 5);
      return [m.add(r), m.mul(c), r.sub(c), ramp([2, 1, 4]).add(ramp([3, 1], 7)), np.broadcastTo(r, [2, 3, 4])];
    },
  },
  // ---- reductions ----------------------------------------------------------------
  {
    name: "reductions over all axes",
    run: () => {
      const x = ramp([3, 4, 5]);
      return [np.sum(x), np.mean(x), np.max(x), np.min(x), np.prod(x.mul(0.1).add(1)), np.var(x), np.std(x), np.logsumexp(x)];
    },
  },
  {
    name: "reductions with axes and keepdims",
    run: () => {
      const x = ramp([3, 4, 5]);
      return [
        np.sum(x, { axis: 0 }),
        np.sum(x, { axis: -1, keepdims: true }),
        np.mean(x, { axis: [0, 2] }),
        np.max(x, { axis: 1 }),
        np.min(x, { axis: [1, 2], keepdims: true }),
        np.argmax(x, 2),
        np.argmin(x, 0),
      ];
    },
  },
  {
    name: "int and bool reductions",
    run: () => {
      const i = np.arange(12).reshape([3, 4]);
      const b = i.mod(3).eq(0);
      return [np.sum(i), np.sum(i, { axis: 1 }), np.max(i, { axis: 0 }), np.prod(i.add(1), { axis: 1 }), np.any(b, { axis: 1 }), np.all(b, { axis: 0 }), np.sum(b)];
    },
    expected: [[66], [6, 22, 38], [8, 9, 10, 11], [24, 1680, 11880], [1, 1, 1], [0, 0, 0, 0], [4]],
  },
  {
    name: "cumsum over axes",
    run: () => {
      const x = ramp([3, 4]);
      return [np.cumsum(x, 0), np.cumsum(x, 1), np.cumsum(np.arange(10)), np.cumsum(x)];
    },
  },
  // ---- matmul ---------------------------------------------------------------------
  {
    name: "matmul 1-D x 1-D, 1-D x 2-D, 2-D x 1-D",
    run: () => {
      const v = ramp([5]), w = ramp([5], 2), m = ramp([5, 3], 3), n = ramp([4, 5], 4);
      return [np.matmul(v, w), np.matmul(v, m), np.matmul(n, v), np.dot(v, w), np.outer(v, w), np.inner(v, w)];
    },
  },
  {
    name: "matmul 2-D (odd sizes, larger than one tile)",
    run: () => [np.matmul(ramp([7, 13]), ramp([13, 5], 2)), np.matmul(ramp([37, 70]), ramp([70, 41], 3))],
    tol: 1e-4,
  },
  {
    name: "matmul batched and broadcast batch",
    run: () => [np.matmul(ramp([3, 4, 6]), ramp([3, 6, 2], 2)), np.matmul(ramp([2, 1, 4, 6]), ramp([3, 6, 5], 5)), np.matmul(ramp([4, 6]), ramp([2, 6, 3], 7))],
    tol: 1e-5,
  },
  {
    name: "matmul int32 exact",
    run: () => np.matmul(np.arange(12).reshape([3, 4]), np.arange(8).reshape([4, 2])),
    expected: [[28, 34, 76, 98, 124, 162]],
  },
  // ---- shape ------------------------------------------------------------------------
  {
    name: "reshape, transpose, swapaxes, moveaxis, squeeze, expandDims, flip",
    run: () => {
      const x = ramp([2, 3, 4]);
      return [
        x.reshape([6, 4]),
        x.reshape([4, -1]),
        np.transpose(x),
        np.transpose(x, [1, 2, 0]),
        np.swapaxes(x, 0, 2),
        np.moveaxis(x, 0, -1),
        np.squeeze(x.reshape([2, 1, 12])),
        np.expandDims(x, 1),
        np.flip(x, 1),
        np.ravel(np.transpose(x, [2, 0, 1])),
      ];
    },
  },
  {
    name: "concatenate, stack and split",
    run: () => {
      const a = ramp([2, 3]), b = ramp([2, 3], 2), c = ramp([1, 3], 3);
      const [s0, s1] = np.split(ramp([4, 6], 4), 2, 1) as Array[];
      return [np.concatenate([a, c, b], 0), np.concatenate([a, b], 1), np.stack([a, b]), np.stack([a, b], -1), np.concatenate([i32([1, 2]), i32([3])]), s0!, s1!];
    },
  },
  // ---- indexing -------------------------------------------------------------------------
  {
    name: "indexing get: integers, slices, negative, arrays",
    run: () => {
      const x = ramp([4, 5, 3]);
      return [x.get(1), x.get(-1), x.get([1, 2]), x.get([null, 3]), x.get([slice(1, null), slice(null, null, 2), -1]), x.get(["...", slice(0, 2)]), x.get(i32([3, 0, 3])), np.take(x, i32([4, 0]), 1), np.take(np.arange(10), i32([9, 2, 2]))];
    },
  },
  {
    name: "at().set / at().add (duplicates accumulate)",
    run: () => {
      const z = np.zeros([6]);
      const idx = i32([1, 3, 1]);
      const m = ramp([3, 4]);
      return [z.at(idx).add(2), z.at(idx).set(5), z.at(2).set(7), m.at(1).set(0), m.at(i32([0, 2])).add(ramp([2, 4], 3)), np.arange(5).at(i32([0, 0, 4])).add(10)];
    },
    expected: [[0, 4, 0, 2, 0, 0], [0, 5, 0, 5, 0, 0], [0, 0, 7, 0, 0, 0]],
  },
  {
    name: "where with broadcasting and mixed dtypes",
    run: () => {
      const x = ramp([3, 4]);
      return [np.where(x.gt(0), x, np.negative(x)), np.where(x.gt(0), 1, 0), np.where(np.array([true, false, true, false]), x, ramp([4], 2)), np.where(i32([1, 0, 2]).gt(0), i32([5, 6, 7]), -1)];
    },
  },
  {
    name: "creation ops: arange, linspace, eye, full, iota-like",
    run: () => [np.arange(10), np.arange(2, 11, 3), np.arange(0, 1, 0.125), np.linspace(0, 1, 9), np.eye(4), np.full([2, 3], 2.5), np.onesLike(ramp([2, 2]))],
  },
  {
    name: "softmax-like fused chain",
    run: () => {
      const x = ramp([4, 7]).mul(3);
      const e = np.exp(x.sub(np.max(x, { axis: -1, keepdims: true })));
      return e.div(np.sum(e, { axis: -1, keepdims: true }));
    },
  },
  // ---- random (bit-exact) ------------------------------------------------------------------
  {
    name: "random key, split, foldIn, bits",
    run: () => {
      const k = random.key(0);
      return [k, random.split(k), random.split(random.key(42), 5), random.foldIn(k, 7), random.bits(random.key(3), [16])];
    },
    tol: 0,
  },
  {
    name: "random uniform (incl. SPEC value)",
    run: () => [random.uniform(random.key(0), [3]), random.uniform(random.key(7), [64]), random.uniform(random.key(1), [5, 3], { minval: -2, maxval: 3 })],
    tol: 0,
    expected: [[0.947667, 0.9785799, 0.33229148].map(Math.fround)],
  },
  {
    name: "random normal",
    run: () => [random.normal(random.key(42), [1000]), random.normal(random.split(random.key(1)).get(1), [7, 3])],
    // The bits are bit-exact; erf_inv's log/sqrt may differ by an ulp between backends.
    tol: 1e-6,
  },
  {
    name: "random bernoulli",
    run: () => [random.bernoulli(random.key(5), 0.3, [100]), random.bernoulli(random.key(6), 0.9, [4, 8])],
    tol: 0,
  },
];
