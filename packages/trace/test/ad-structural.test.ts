import { describe, expect, it } from "vitest";
import { bind, bind1, np, primitives as P, slice, type Array } from "@refs/core";
import { grad, jit } from "../src/index.js";
import { arg, checkBoth, checkGrad, host, rand, toArr } from "./ad-helpers.js";

const t = (shape: number[], seed: number, lo = -1, hi = 1) => arg(shape, rand(shape.reduce((a, b) => a * b, 1), seed, lo, hi));
const i32 = (xs: number[] | number[][] | number) => np.array(xs, { dtype: "int32" });

describe("AD of shape primitives", () => {
  it("broadcast_in_dim: new axes and size-1 axes", () => {
    checkBoth((x) => np.broadcastTo(x, [2, 3, 4]), [t([3, 1], 1)]);
    checkBoth((x) => bind1(P.broadcastInDim, [x], { shape: [4, 2, 3], broadcastDimensions: [1] }), [t([2], 2)]);
    checkBoth((x) => np.add(x, np.ones([5, 3])), [t([1, 3], 3)]);
  });

  it("reshape and transpose", () => {
    checkBoth((x) => np.reshape(x, [3, 4]), [t([2, 6], 4)]);
    checkBoth((x) => np.transpose(x, [2, 0, 1]), [t([2, 3, 4], 5)]);
  });

  it("slice, also strided", () => {
    checkBoth((x) => x.get([slice(1, 3), slice(0, 5, 2)]), [t([4, 5], 6)]);
    checkBoth(
      (x) => bind1(P.slice, [x], { startIndices: [1, 0], limitIndices: [4, 6], strides: [2, 3] }),
      [t([5, 7], 7)],
    );
  });

  it("pad with edge and interior padding; the pad value gets the sum over the padding", () => {
    const pad = (x: Array, p: Array) => bind1(P.pad, [x, p], { lo: [1, 0], hi: [2, 1], interior: [1, 2] });
    checkBoth(pad, [t([3, 2], 8), arg([], [0.7])]);
    // x: 3x2 → (1+2+3+2) x (0+1+2+2) = 8 x 5 = 40 elements, 6 from x.
    const [, gp] = grad((x: Array, p: Array) => np.sum(pad(x, p)), { argnums: [0, 1] })(toArr(t([3, 2], 9)), np.array(0.5, { dtype: "float32" })) as Array[];
    expect(gp!.item()).toBe(34);
  });

  it("concatenate (each operand's slice) and rev", () => {
    checkBoth((x, y, z) => np.concatenate([x, y, z], 1), [t([2, 1], 10), t([2, 3], 11), t([2, 2], 12)]);
    checkBoth((x) => np.flip(x, [0, 1]), [t([3, 2], 13)]);
  });
});

describe("AD of reductions", () => {
  it("reduce_sum over some and all axes", () => {
    checkBoth((x) => np.sum(x, [0, 2]), [t([2, 3, 4], 14)]);
    checkBoth((x) => np.sum(x), [t([3, 2], 15)]);
    checkBoth((x) => np.mean(x, 1), [t([3, 2], 16)]);
  });

  it("reduce_max / reduce_min (distinct values)", () => {
    checkBoth((x) => np.max(x, 1), [t([3, 4], 17)]);
    checkBoth((x) => np.min(x, [0, 1]), [t([3, 4], 18)]);
  });

  it("reduce_max / reduce_min split the cotangent among ties", () => {
    const x = np.array([[1, 3, 3], [2, 2, 2]], { dtype: "float32" });
    expect(host(grad((a: Array) => np.sum(np.max(a, 1)))(x) as Array)).toEqual([0, 0.5, 0.5, 1 / 3, 1 / 3, 1 / 3].map((v) => Math.fround(v)));
    expect(host(grad((a: Array) => np.min(a))(x) as Array)).toEqual([1, 0, 0, 0, 0, 0]);
  });

  it("reduce_prod, including zeros", () => {
    checkBoth((x) => np.prod(x, 1), [t([2, 4], 19, 0.5, 1.5)]);
    checkBoth((x) => np.prod(x), [arg([4], [0.5, -1.2, 0.8, 1.3])]);
    const g1 = grad((a: Array) => np.prod(a))(np.array([2, 0, 3], { dtype: "float32" })) as Array;
    expect(host(g1)).toEqual([0, 6, 0]);
    const g2 = grad((a: Array) => np.prod(a))(np.array([2, 0, 0], { dtype: "float32" })) as Array;
    expect(host(g2)).toEqual([0, 0, 0]);
  });

  it("cumsum (and reversed)", () => {
    checkBoth((x) => np.cumsum(x, 1), [t([2, 4], 20)]);
    checkBoth((x) => bind1(P.cumsum, [x], { axis: 0, reverse: true }), [t([4, 2], 21)]);
  });

  it("argmax/argmin carry nothing; logsumexp and var", () => {
    checkGrad((x) => np.multiply(np.astype(np.argmax(x, 1), "float32"), np.sum(x, 1)), [t([2, 3], 22)]);
    checkBoth((x) => np.logsumexp(x, 1), [t([2, 3], 23)]);
    checkBoth((x) => np.var(x, 0), [t([4, 2], 24)]);
  });

  it("sort: values and co-sorted operands", () => {
    const sort1 = (x: Array) => bind(P.sort, [x], { dimension: 1, numKeys: 1 })[0] as Array;
    checkBoth(sort1, [arg([2, 5], [0.3, -0.8, 0.9, 0.1, -0.2, 0.5, 0.45, -0.6, 0.7, -1.1])]);
    const sort0 = (x: Array) => bind(P.sort, [x], { dimension: 0, numKeys: 1 })[0] as Array;
    checkBoth(sort0, [t([4, 3], 26)]);
    // key and payload: the payload is permuted by the key's order
    const byKey = (k: Array, p: Array) => {
      const [sk, sp] = bind(P.sort, [k, p], { dimension: 0, numKeys: 1 }) as Array[];
      return np.add(np.multiply(sk!, 2), np.multiply(sp!, sp!));
    };
    checkBoth(byKey, [t([5], 27), t([5], 28)]);
  });
});

describe("AD of dot_general", () => {
  it("matmul, batched matmul, vector products", () => {
    checkBoth((a, b) => np.matmul(a, b), [t([2, 3], 30), t([3, 4], 31)]);
    checkBoth((a, b) => np.matmul(a, b), [t([2, 2, 3], 32), t([2, 3, 2], 33)]);
    checkBoth((a, b) => np.dot(a, b), [t([3], 34), t([3, 2], 35)]);
    checkBoth((a, b) => np.outer(a, b), [t([3], 36), t([2], 37)]);
  });

  it("non-trivial dimension numbers: batch not leading, contracting out of order", () => {
    // lhs [4(c1), 2(b), 3(c0), 5(free)], rhs [3(c0), 6(free), 2(b), 4(c1)]
    const dg = (a: Array, b: Array) =>
      bind1(P.dotGeneral, [a, b], { lhsContracting: [2, 0], rhsContracting: [0, 3], lhsBatch: [1], rhsBatch: [2] });
    const a = t([4, 2, 3, 5], 38);
    const b = t([3, 6, 2, 4], 39);
    expect(dg(toArr(a), toArr(b)).shape).toEqual([2, 5, 6]);
    checkBoth(dg, [a, b], { rtol: 2e-2, atol: 3e-3 });
    // two batch dims in different orders, free axes on both sides
    const dg2 = (x: Array, y: Array) =>
      bind1(P.dotGeneral, [x, y], { lhsContracting: [1], rhsContracting: [2], lhsBatch: [3, 0], rhsBatch: [0, 3] });
    checkBoth(dg2, [t([2, 3, 4, 2], 40), t([2, 5, 3, 2], 41)], { rtol: 2e-2, atol: 3e-3 });
  });

  it("tensordot over two axes", () => {
    checkBoth((a, b) => np.tensordot(a, b, [[0, 2], [1, 0]]), [t([2, 3, 4], 42), t([4, 2, 5], 43)]);
  });
});

describe("AD of gather, scatter and dynamic slicing", () => {
  it("gather (take), with repeated and out-of-range (clamped) indices", () => {
    checkBoth((x) => np.take(x, [2, 0, 2, 3], 1), [t([2, 4], 44)]);
    const idx = i32([[1, 1], [0, 7]]);
    checkBoth((x) => bind1(P.gather, [x, idx], { axis: 0 }), [t([3, 2], 45)]);
    const g = grad((x: Array) => np.sum(bind1(P.gather, [x, i32([5, -2, 1])], { axis: 0 })))(np.zeros([3])) as Array;
    expect(host(g)).toEqual([1, 1, 1]);
  });

  it("scatter_add (at[].add) with duplicates; dropped updates get no cotangent", () => {
    checkBoth((x, u) => x.at(i32([0, 2, 0])).add(u), [t([4, 2], 46), t([3, 2], 47)]);
    const sa = (x: Array, u: Array) => bind1(P.scatterAdd, [x, i32([1, 9, -1]), u], { axis: 0 });
    checkBoth(sa, [t([3], 48), t([3], 49)]);
    const [, gu] = grad((x: Array, u: Array) => np.sum(np.multiply(sa(x, u), np.array([1, 2, 3], { dtype: "float32" }))), {
      argnums: [0, 1],
    })(np.zeros([3]), np.zeros([3])) as Array[];
    expect(host(gu!)).toEqual([2, 0, 0]);
  });

  it("scatter (at[].set): x loses the overwritten positions; with duplicates the last write gets the cotangent", () => {
    checkBoth((x, u) => x.at(i32([3, 1])).set(u), [t([4, 3], 50), t([2, 3], 51)]);
    const set = (x: Array, u: Array) => bind1(P.scatter, [x, i32([1, 1, 4]), u], { axis: 0 });
    const w = np.array([1, 2, 3], { dtype: "float32" });
    const [gx, gu] = grad((x: Array, u: Array) => np.sum(np.multiply(set(x, u), w)), { argnums: [0, 1] })(np.zeros([3]), np.zeros([3])) as Array[];
    expect(host(gx!)).toEqual([1, 0, 3]);
    expect(host(gu!)).toEqual([0, 2, 0]);
    checkBoth(set, [t([3], 52), t([3], 53)]);
  });

  it("dynamic_slice and dynamic_update_slice (indices clamped)", () => {
    const ds = (x: Array) => bind1(P.dynamicSlice, [x, i32(1), i32(5)], { sliceSizes: [2, 2] });
    checkBoth(ds, [t([4, 3], 54)]);
    const dus = (x: Array, u: Array) => bind1(P.dynamicUpdateSlice, [x, u, i32(2), i32(1)]);
    checkBoth(dus, [t([4, 3], 55), t([2, 2], 56)]);
  });

  it("indexing with integer arrays and slices through x.get", () => {
    checkBoth((x) => x.get([i32([2, 0, 2]), slice(1, 3)]), [t([3, 4], 57)]);
  });
});

describe("AD through calls", () => {
  it("jit_call: jvp and vjp of the sub-program", () => {
    const inner = (a: Array, b: Array) => np.multiply(np.sin(a), b);
    const program = jit(inner).lower(toArr(t([3], 58)), toArr(t([3], 59))).program;
    const call = (a: Array, b: Array) => bind(P.jitCall, [a, b], { program, name: "inner" })[0] as Array;
    checkBoth(call, [t([3], 60), t([3], 61)]);
  });

  it("grad through jit and jit of grad", () => {
    const f = jit((x: Array) => np.sum(np.multiply(np.tanh(x), x)));
    checkGrad((x) => f(x), [t([4], 62)]);
    const g = jit(grad((x: Array) => np.sum(np.multiply(np.sin(x), x))));
    const x = toArr(t([4], 63));
    const want = np.add(np.sin(x), np.multiply(x, np.cos(x)));
    expect(host(g(x) as Array).map((v) => v.toFixed(4))).toEqual(host(want).map((v) => v.toFixed(4)));
  });
});
