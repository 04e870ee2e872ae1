import { describe, expect, it } from "vitest";
import { ShapedArray } from "../src/aval.js";
import { Literal } from "../src/program.js";
import * as P from "../src/primitives.js";
import { apply, bool, f32, i32, scalar, u32 } from "./cpu-util.js";

const range = (n: number, f: (i: number) => number = (i) => i) => Array.from({ length: n }, (_, i) => f(i));

describe("cpu creation and shape ops", () => {
  it("iota", () => {
    expect(apply(P.iota, { dtype: "int32", shape: [2, 3], dimension: 1 }, [])[0]).toEqual([0, 1, 2, 0, 1, 2]);
    expect(apply(P.iota, { dtype: "float32", shape: [2, 3], dimension: 0 }, [])[0]).toEqual([0, 0, 0, 1, 1, 1]);
    expect(apply(P.iota, { dtype: "uint32", shape: [4], dimension: 0 }, [])[0]).toEqual([0, 1, 2, 3]);
  });
  it("broadcast_in_dim", () => {
    expect(apply(P.broadcastInDim, { shape: [2, 3], broadcastDimensions: [1] }, [f32([1, 2, 3])])[0]).toEqual([1, 2, 3, 1, 2, 3]);
    expect(apply(P.broadcastInDim, { shape: [2, 3], broadcastDimensions: [0] }, [i32([1, 2])])[0]).toEqual([1, 1, 1, 2, 2, 2]);
    expect(apply(P.broadcastInDim, { shape: [2, 2], broadcastDimensions: [0, 1] }, [f32([5, 6], [1, 2])])[0]).toEqual([5, 6, 5, 6]);
    expect(apply(P.broadcastInDim, { shape: [3], broadcastDimensions: [] }, [scalar("bool", 1)])[0]).toEqual([1, 1, 1]);
    expect(apply(P.broadcastInDim, { shape: [2, 1, 3], broadcastDimensions: [0, 2] }, [f32(range(6), [2, 3])])[0]).toEqual(range(6));
  });
  it("reshape and transpose", () => {
    expect(apply(P.reshape, { newSizes: [3, 2] }, [f32(range(6), [2, 3])])[0]).toEqual(range(6));
    expect(apply(P.transpose, { permutation: [1, 0] }, [f32(range(6), [2, 3])])[0]).toEqual([0, 3, 1, 4, 2, 5]);
    // [2,3,4] → perm [2,0,1]: out[k,i,j] = x[i,j,k]
    const x = range(24);
    const want: number[] = [];
    for (let k = 0; k < 4; k++) for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) want.push(x[i * 12 + j * 4 + k]!);
    expect(apply(P.transpose, { permutation: [2, 0, 1] }, [i32(x, [2, 3, 4])])[0]).toEqual(want);
  });
  it("slice (strided)", () => {
    expect(apply(P.slice, { startIndices: [1], limitIndices: [8], strides: [3] }, [f32(range(10))])[0]).toEqual([1, 4, 7]);
    expect(apply(P.slice, { startIndices: [0, 1], limitIndices: [2, 3], strides: [1, 1] }, [u32(range(6), [2, 3])])[0]).toEqual([1, 2, 4, 5]);
    expect(apply(P.slice, { startIndices: [2], limitIndices: [2], strides: [1] }, [f32(range(3))])[0]).toEqual([]);
  });
  it("pad with lo/hi/interior", () => {
    expect(apply(P.pad, { lo: [1], hi: [2], interior: [1] }, [f32([1, 2, 3]), scalar("float32", 9)])[0]).toEqual([9, 1, 9, 2, 9, 3, 9, 9]);
    expect(apply(P.pad, { lo: [0, 1], hi: [1, 0], interior: [0, 0] }, [i32([1, 2, 3, 4], [2, 2]), scalar("int32", 0)])[0]).toEqual([
      0, 1, 2, 0, 3, 4, 0, 0, 0,
    ]);
    const lit = new Literal(-1, new ShapedArray([], "float32"));
    expect(apply(P.pad, { lo: [1], hi: [0], interior: [0] }, [f32([5]), lit])[0]).toEqual([-1, 5]);
  });
  it("concatenate and rev", () => {
    expect(apply(P.concatenate, { dimension: 1 }, [f32([1, 2, 3, 4], [2, 2]), f32([5, 6], [2, 1])])[0]).toEqual([1, 2, 5, 3, 4, 6]);
    expect(apply(P.concatenate, { dimension: 0 }, [bool([1]), bool([0, 1])])[0]).toEqual([1, 0, 1]);
    expect(apply(P.rev, { dimensions: [1] }, [f32(range(6), [2, 3])])[0]).toEqual([2, 1, 0, 5, 4, 3]);
    expect(apply(P.rev, { dimensions: [0, 1] }, [f32(range(6), [2, 3])])[0]).toEqual([5, 4, 3, 2, 1, 0]);
  });
});

describe("cpu reductions", () => {
  const x = f32([1, 2, 3, 4, 5, 6], [2, 3]);
  it("sum/prod/max/min over any axes", () => {
    expect(apply(P.reduceSum, { axes: [1] }, [x])[0]).toEqual([6, 15]);
    expect(apply(P.reduceSum, { axes: [0] }, [x])[0]).toEqual([5, 7, 9]);
    expect(apply(P.reduceSum, { axes: [0, 1] }, [x])[0]).toEqual([21]);
    expect(apply(P.reduceSum, { axes: [] }, [x])[0]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(apply(P.reduceProd, { axes: [1] }, [x])[0]).toEqual([6, 120]);
    expect(apply(P.reduceMax, { axes: [0] }, [x])[0]).toEqual([4, 5, 6]);
    expect(apply(P.reduceMin, { axes: [1] }, [x])[0]).toEqual([1, 4]);
    // [2,3,2] over axes [0,2]
    const y = f32(range(12), [2, 3, 2]);
    expect(apply(P.reduceSum, { axes: [0, 2] }, [y])[0]).toEqual([0 + 1 + 6 + 7, 2 + 3 + 8 + 9, 4 + 5 + 10 + 11]);
  });
  it("max/min propagate NaN; empty reductions give the identity", () => {
    expect(apply(P.reduceMax, { axes: [0] }, [f32([1, NaN, 3])])[0]).toEqual([NaN]);
    expect(apply(P.reduceMin, { axes: [0] }, [f32([NaN, 1])])[0]).toEqual([NaN]);
    expect(apply(P.reduceMax, { axes: [0] }, [f32([])])[0]).toEqual([-Infinity]);
    expect(apply(P.reduceSum, { axes: [1] }, [f32([], [2, 0])])[0]).toEqual([0, 0]);
  });
  it("int reductions wrap", () => {
    expect(apply(P.reduceSum, { axes: [0] }, [i32([2147483647, 1])])[0]).toEqual([-2147483648]);
    expect(apply(P.reduceProd, { axes: [0] }, [i32([65536, 65536, 3])])[0]).toEqual([0]);
    expect(apply(P.reduceSum, { axes: [0] }, [u32([4294967295, 2])])[0]).toEqual([1]);
    expect(apply(P.reduceMax, { axes: [0] }, [i32([-5, -3])])[0]).toEqual([-3]);
    expect(apply(P.reduceMin, { axes: [0] }, [u32([4294967295, 7])])[0]).toEqual([7]);
    expect(apply(P.reduceMax, { axes: [0] }, [bool([0, 1, 0])])[0]).toEqual([1]);
    expect(apply(P.reduceMin, { axes: [0] }, [bool([1, 0, 1])])[0]).toEqual([0]);
  });
  it("float32 sum is accurate (float64 accumulation, one rounding)", () => {
    const n = 100000;
    const data = range(n, () => 0.1);
    const [[s]] = apply(P.reduceSum, { axes: [0] }, [f32(data)]);
    expect(s).toBe(Math.fround(n * Math.fround(0.1)));
  });
  it("argmax/argmin: first occurrence, NaN wins", () => {
    const a = { axis: 1, indexDtype: "int32" };
    expect(apply(P.argmax, a, [f32([1, 3, 3, 0, 5, 5, 1, 2], [2, 4])])[0]).toEqual([1, 0]);
    expect(apply(P.argmin, a, [f32([1, 3, 0, 0, 5, 5, 1, 2], [2, 4])])[0]).toEqual([2, 2]);
    expect(apply(P.argmax, { axis: 0, indexDtype: "int32" }, [f32([1, NaN, 9, NaN])])[0]).toEqual([1]);
    expect(apply(P.argmin, { axis: 0, indexDtype: "int32" }, [f32([1, -9, NaN])])[0]).toEqual([2]);
    expect(apply(P.argmax, { axis: 0, indexDtype: "int32" }, [f32([1, 2, 7, 0, 4, 3], [2, 3])])[0]).toEqual([0, 1, 0]);
    expect(apply(P.argmax, { axis: 0, indexDtype: "int32" }, [i32([-1, 5, 5])])[0]).toEqual([1]);
  });
  it("cumsum (inclusive, reverse)", () => {
    expect(apply(P.cumsum, { axis: 0, reverse: false }, [f32([1, 2, 3, 4])])[0]).toEqual([1, 3, 6, 10]);
    expect(apply(P.cumsum, { axis: 0, reverse: true }, [f32([1, 2, 3, 4])])[0]).toEqual([10, 9, 7, 4]);
    expect(apply(P.cumsum, { axis: 1, reverse: false }, [i32([1, 2, 3, 4, 5, 6], [2, 3])])[0]).toEqual([1, 3, 6, 4, 9, 15]);
    expect(apply(P.cumsum, { axis: 0, reverse: false }, [i32([1, 2, 3, 4, 5, 6], [2, 3])])[0]).toEqual([1, 2, 3, 5, 7, 9]);
    expect(apply(P.cumsum, { axis: 0, reverse: false }, [i32([2147483647, 1])])[0]).toEqual([2147483647, -2147483648]);
  });
});

describe("cpu gather/scatter/dynamic slices", () => {
  it("gather clamps indices", () => {
    const x = f32(range(6), [3, 2]);
    expect(apply(P.gather, { axis: 0 }, [x, i32([2, 0, 5, -1])])[0]).toEqual([4, 5, 0, 1, 4, 5, 0, 1]);
    expect(apply(P.gather, { axis: 1 }, [x, i32([1, 1, 0], [3])])[0]).toEqual([1, 1, 0, 3, 3, 2, 5, 5, 4]);
    expect(apply(P.gather, { axis: 0 }, [x, i32([1, 2, 0, 0], [2, 2])])[0]).toEqual([2, 3, 4, 5, 0, 1, 0, 1]);
  });
  it("scatter drops out-of-range indices, last write wins", () => {
    const x = f32([0, 0, 0, 0]);
    expect(apply(P.scatter, { axis: 0 }, [x, i32([1, 7, 1, -1]), f32([5, 6, 7, 8])])[0]).toEqual([0, 7, 0, 0]);
    expect(apply(P.scatterAdd, { axis: 0 }, [x, i32([1, 7, 1, 3]), f32([5, 6, 7, 8])])[0]).toEqual([0, 12, 0, 8]);
    expect(apply(P.scatterAdd, { axis: 1 }, [i32([1, 1, 1, 1], [2, 2]), i32([0, 0]), i32([1, 2, 3, 4], [2, 2])])[0]).toEqual([4, 1, 8, 1]);
  });
  it("dynamic_slice clamps starts so the slice fits", () => {
    const x = f32(range(12), [3, 4]);
    expect(apply(P.dynamicSlice, { sliceSizes: [2, 2] }, [x, scalar("int32", 1), scalar("int32", 1)])[0]).toEqual([5, 6, 9, 10]);
    expect(apply(P.dynamicSlice, { sliceSizes: [2, 2] }, [x, scalar("int32", 5), scalar("int32", -3)])[0]).toEqual([4, 5, 8, 9]);
  });
  it("dynamic_update_slice clamps starts", () => {
    const x = f32(range(6), [2, 3]);
    const u = f32([10, 20], [1, 2]);
    expect(apply(P.dynamicUpdateSlice, {}, [x, u, scalar("int32", 1), scalar("int32", 0)])[0]).toEqual([0, 1, 2, 10, 20, 5]);
    expect(apply(P.dynamicUpdateSlice, {}, [x, u, scalar("int32", 9), scalar("int32", 9)])[0]).toEqual([0, 1, 2, 3, 10, 20]);
  });
});

describe("cpu sort", () => {
  it("sorts floats with NaN last, stable, -0 == 0", () => {
    expect(apply(P.sort, { dimension: 0, numKeys: 1 }, [f32([3, NaN, -1, 2, -Infinity])])[0]).toEqual([-Infinity, -1, 2, 3, NaN]);
    // -0 and 0 are equal: order of the payload is kept
    const [k, v] = apply(P.sort, { dimension: 0, numKeys: 1 }, [f32([0, -0, 0, -1]), i32([0, 1, 2, 3])]);
    expect(v).toEqual([3, 0, 1, 2]);
    expect(Object.is(k![2], -0)).toBe(true);
  });
  it("multiple operands, lexicographic keys, along an axis", () => {
    const [a, b, c] = apply(P.sort, { dimension: 0, numKeys: 2 }, [i32([2, 1, 2, 1]), u32([5, 9, 3, 9]), f32([0, 1, 2, 3])]);
    expect(a).toEqual([1, 1, 2, 2]);
    expect(b).toEqual([9, 9, 3, 5]);
    expect(c).toEqual([1, 3, 2, 0]);
    expect(apply(P.sort, { dimension: 1, numKeys: 1 }, [i32([3, 1, 2, 9, 8, 7], [2, 3])])[0]).toEqual([1, 2, 3, 7, 8, 9]);
    expect(apply(P.sort, { dimension: 0, numKeys: 1 }, [i32([3, 1, 2, 0], [2, 2])])[0]).toEqual([2, 0, 3, 1]);
    expect(apply(P.sort, { dimension: 0, numKeys: 1 }, [bool([1, 0, 1])])[0]).toEqual([0, 1, 1]);
  });
});
