import { describe, expect, test } from "vitest";
import { np, type Array } from "../src/index.js";

const t = (x: Array) => [x.dtype, x.weakType, x.shape];

describe("array", () => {
  test("JS scalars are weak (numbers) or bool", () => {
    expect(t(np.array(0))).toEqual(["int32", true, []]);
    expect(t(np.array(2.5))).toEqual(["float32", true, []]);
    expect(t(np.array(true))).toEqual(["bool", false, []]);
    expect(t(np.array(3, { dtype: "float32" }))).toEqual(["float32", false, []]);
  });
  test("nested lists: int32 if all integers, else float32; booleans bool", () => {
    expect(t(np.array([1, 2, 3]))).toEqual(["int32", false, [3]]);
    expect(t(np.array([1, 2.5]))).toEqual(["float32", false, [2]]);
    expect(t(np.array([[true], [false]]))).toEqual(["bool", false, [2, 1]]);
    expect(t(np.array([]))).toEqual(["float32", false, [0]]);
    expect(t(np.array([[], []]))).toEqual(["float32", false, [2, 0]]);
    expect(np.array([[1, 2], [3, 4]]).toJs()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(np.array([1, 2], { dtype: "float32" }).dtype).toBe("float32");
    expect(np.array([1.9, -1.9], { dtype: "int32" }).toJs()).toEqual([1, -1]);
    expect(np.array([0, 2], { dtype: "bool" }).toJs()).toEqual([false, true]);
    expect(np.array([true, 2]).toJs()).toEqual([1, 2]);
    expect(np.array([Infinity, NaN]).dtype).toBe("float32");
  });
  test("lists containing Arrays are stacked", () => {
    const r = np.array([np.array([1, 2]), np.array([3, 4])]);
    expect(t(r)).toEqual(["int32", false, [2, 2]]);
    expect(r.toJs()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    const s = np.array([np.array(1.5), 2]);
    expect(t(s)).toEqual(["float32", false, [2]]);
    expect(s.toJs()).toEqual([1.5, 2]);
  });
  test("typed arrays", () => {
    expect(t(np.array(new Float32Array([1, 2])))).toEqual(["float32", false, [2]]);
    expect(t(np.array(new Int32Array([1, 2])))).toEqual(["int32", false, [2]]);
    expect(t(np.array(new Uint32Array([1, 2])))).toEqual(["uint32", false, [2]]);
    expect(t(np.array(new Float64Array([0.1])))).toEqual(["float32", false, [1]]);
    expect(np.array(new Float64Array([0.1])).item()).toBe(Math.fround(0.1));
    expect(np.array(new Uint8Array([0, 3]), { dtype: "bool" }).toJs()).toEqual([false, true]);
    expect(np.array(new Int32Array([1, 2]), { dtype: "float32" }).dtype).toBe("float32");
  });
  test("typed arrays are copied", () => {
    const src = new Float32Array([1, 2]);
    const x = np.array(src);
    src[0] = 9;
    expect(x.toJs()).toEqual([1, 2]);
  });
  test("Arrays are copied or cast; asarray passes them through", () => {
    const x = np.array([1, 2]);
    const c = np.array(x);
    expect(c).not.toBe(x);
    expect(c.toJs()).toEqual([1, 2]);
    expect(np.array(x, { dtype: "float32" }).dtype).toBe("float32");
    expect(np.asarray(x)).toBe(x);
    expect(np.asarray(x, { dtype: "float32" }).dtype).toBe("float32");
    expect(np.asarray([1, 2]).toJs()).toEqual([1, 2]);
    expect(np.array(np.array(1), { dtype: "int32" }).weakType).toBe(false);
  });
});

describe("filled arrays", () => {
  test("zeros / ones default to float32", () => {
    expect(t(np.zeros([2, 3]))).toEqual(["float32", false, [2, 3]]);
    expect(np.zeros([2, 2]).toJs()).toEqual([
      [0, 0],
      [0, 0],
    ]);
    expect(np.ones(3, { dtype: "int32" }).toJs()).toEqual([1, 1, 1]);
    expect(t(np.ones([]))).toEqual(["float32", false, []]);
    expect(np.zeros([0, 3]).shape).toEqual([0, 3]);
  });
  test("full", () => {
    expect(np.full([2], 7).toJs()).toEqual([7, 7]);
    expect(t(np.full([2], 7))).toEqual(["int32", true, [2]]);
    expect(t(np.full([2], 1.5, { dtype: "float32" }))).toEqual(["float32", false, [2]]);
    expect(np.full([2], true).toJs()).toEqual([true, true]);
    expect(np.full([2, 2], np.array([1, 2])).toJs()).toEqual([
      [1, 2],
      [1, 2],
    ]);
  });
  test("*Like keep shape, dtype and weak type", () => {
    const x = np.array([[1, 2, 3]]);
    expect(t(np.zerosLike(x))).toEqual(["int32", false, [1, 3]]);
    expect(np.onesLike(x).toJs()).toEqual([[1, 1, 1]]);
    expect(np.fullLike(x, 2.7).toJs()).toEqual([[2, 2, 2]]);
    expect(t(np.onesLike(x, { dtype: "float32" }))).toEqual(["float32", false, [1, 3]]);
    expect(t(np.zerosLike(1.5))).toEqual(["float32", true, []]);
  });
});

describe("ranges", () => {
  test("arange", () => {
    expect(t(np.arange(4))).toEqual(["int32", false, [4]]);
    expect(np.arange(4).toJs()).toEqual([0, 1, 2, 3]);
    expect(np.arange(2, 5).toJs()).toEqual([2, 3, 4]);
    expect(np.arange(5, 0, -2).toJs()).toEqual([5, 3, 1]);
    expect(np.arange(0, 1, 0.25).toJs()).toEqual([0, 0.25, 0.5, 0.75]);
    expect(np.arange(0, 1, 0.25).dtype).toBe("float32");
    expect(np.arange(3, { dtype: "float32" }).toJs()).toEqual([0, 1, 2]);
    expect(np.arange(3, { dtype: "float32" }).dtype).toBe("float32");
    expect(np.arange(1, 3, { dtype: "uint32" }).dtype).toBe("uint32");
    expect(np.arange(0).shape).toEqual([0]);
    expect(np.arange(5, 2).shape).toEqual([0]);
    expect(np.arange(0.5, 3).toJs()).toEqual([0.5, 1.5, 2.5]);
  });
  test("linspace", () => {
    expect(np.linspace(0, 1, 5).toJs()).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(np.linspace(0, 1, 4, { endpoint: false }).toJs()).toEqual([0, 0.25, 0.5, 0.75]);
    expect(np.linspace(2, 3, 1).toJs()).toEqual([2]);
    expect(np.linspace(0, 1).shape).toEqual([50]);
    expect(np.linspace(0, 1, 0).shape).toEqual([0]);
    expect(np.linspace(0, 10, 3, { dtype: "int32" }).toJs()).toEqual([0, 5, 10]);
    expect(np.linspace(0, 0.3, 4).dataSync()[3]).toBe(Math.fround(0.3));
  });
  test("eye", () => {
    expect(np.eye(2).toJs()).toEqual([
      [1, 0],
      [0, 1],
    ]);
    expect(np.eye(2).dtype).toBe("float32");
    expect(np.eye(2, 3, { k: 1 }).toJs()).toEqual([
      [0, 1, 0],
      [0, 0, 1],
    ]);
    expect(np.eye(3, { k: -1, dtype: "int32" }).toJs()).toEqual([
      [0, 0, 0],
      [1, 0, 0],
      [0, 1, 0],
    ]);
    expect(np.eye(0).shape).toEqual([0, 0]);
  });
});
