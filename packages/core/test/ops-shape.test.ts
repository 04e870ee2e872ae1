import { describe, expect, test } from "vitest";
import { np } from "../src/index.js";

const a = np.arange(6).reshape([2, 3]); // [[0,1,2],[3,4,5]]

describe("reshape / ravel / transpose", () => {
  test("reshape with -1", () => {
    expect(np.reshape(a, [3, 2]).toJs()).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    expect(np.reshape(a, [-1]).toJs()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(np.reshape(a, [3, -1]).shape).toEqual([3, 2]);
    expect(np.reshape(a, 6).shape).toEqual([6]);
    expect(np.reshape(np.array(5), [1, 1]).toJs()).toEqual([[5]]);
    expect(a.ravel().toJs()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(a.flatten().shape).toEqual([6]);
  });
  test("transpose", () => {
    expect(a.T.toJs()).toEqual([
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
    const b = np.arange(24).reshape([2, 3, 4]);
    const t = np.transpose(b, [1, 0, 2]);
    expect(t.shape).toEqual([3, 2, 4]);
    // t[i][j][k] = b[j][i][k] = 12j + 4i + k
    expect((t.toJs() as number[][][])[2]![1]![3]).toBe(12 + 8 + 3);
    expect(np.transpose(b).shape).toEqual([4, 3, 2]);
    expect(np.transpose(b, [-1, 0, 1]).shape).toEqual([4, 2, 3]);
  });
  test("swapaxes / moveaxis", () => {
    const b = np.zeros([2, 3, 4]);
    expect(np.swapaxes(b, 0, 2).shape).toEqual([4, 3, 2]);
    expect(np.moveaxis(b, 0, -1).shape).toEqual([3, 4, 2]);
    expect(np.moveaxis(b, -1, 0).shape).toEqual([4, 2, 3]);
    expect(np.moveaxis(b, [0, 1], [-1, -2]).shape).toEqual([4, 3, 2]);
    expect(np.swapaxes(a, 0, 1).toJs()).toEqual(a.T.toJs());
  });
});

describe("broadcastTo / squeeze / expandDims / flip", () => {
  test("broadcastTo", () => {
    expect(np.broadcastTo(np.array([1, 2]), [2, 2]).toJs()).toEqual([
      [1, 2],
      [1, 2],
    ]);
    expect(np.broadcastTo(np.array([[1], [2]]), [2, 3]).toJs()).toEqual([
      [1, 1, 1],
      [2, 2, 2],
    ]);
    expect(np.array(7).broadcastTo([2]).toJs()).toEqual([7, 7]);
  });
  test("squeeze", () => {
    const b = np.zeros([1, 3, 1]);
    expect(np.squeeze(b).shape).toEqual([3]);
    expect(np.squeeze(b, 0).shape).toEqual([3, 1]);
    expect(np.squeeze(b, [-1]).shape).toEqual([1, 3]);
    expect(b.squeeze([0, 2]).shape).toEqual([3]);
  });
  test("expandDims", () => {
    const v = np.array([1, 2, 3]);
    expect(np.expandDims(v, 0).shape).toEqual([1, 3]);
    expect(np.expandDims(v, -1).shape).toEqual([3, 1]);
    expect(np.expandDims(v, [0, 2]).shape).toEqual([1, 3, 1]);
    expect(v.expandDims(1).toJs()).toEqual([[1], [2], [3]]);
  });
  test("flip", () => {
    expect(np.flip(a).toJs()).toEqual([
      [5, 4, 3],
      [2, 1, 0],
    ]);
    expect(np.flip(a, 1).toJs()).toEqual([
      [2, 1, 0],
      [5, 4, 3],
    ]);
    expect(np.flip(a, 0).toJs()).toEqual([
      [3, 4, 5],
      [0, 1, 2],
    ]);
  });
});

describe("concatenate / stack / split / take", () => {
  test("concatenate", () => {
    expect(np.concatenate([a, a]).shape).toEqual([4, 3]);
    expect(np.concatenate([a, np.array([[9], [9]])], 1).toJs()).toEqual([
      [0, 1, 2, 9],
      [3, 4, 5, 9],
    ]);
    expect(np.concatenate([a, a], -1).shape).toEqual([2, 6]);
    expect(np.concatenate([np.array([1, 2]), np.array([3])]).toJs()).toEqual([1, 2, 3]);
    expect(np.concatenate([a, np.array([7])], null).toJs()).toEqual([0, 1, 2, 3, 4, 5, 7]);
    const mixed = np.concatenate([np.array([1]), np.array([0.5])]);
    expect([mixed.dtype, mixed.toJs()]).toEqual(["float32", [1, 0.5]]);
  });
  test("stack", () => {
    const x = np.array([1, 2]);
    const y = np.array([3, 4]);
    expect(np.stack([x, y]).toJs()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(np.stack([x, y], 1).toJs()).toEqual([
      [1, 3],
      [2, 4],
    ]);
    expect(np.stack([x, y], -1).shape).toEqual([2, 2]);
    expect(np.stack([1, 2, 3]).toJs()).toEqual([1, 2, 3]);
  });
  test("split", () => {
    const parts = np.split(np.arange(6), 3);
    expect(parts.map((p) => p.toJs())).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    expect(np.split(np.arange(5), [2, 3]).map((p) => p.toJs())).toEqual([[0, 1], [2], [3, 4]]);
    expect(np.split(a, 3, 1).map((p) => p.shape)).toEqual([[2, 1], [2, 1], [2, 1]]);
  });
  test("take", () => {
    const v = np.array([10, 20, 30, 40]);
    expect(np.take(v, np.array([3, 0, -1])).toJs()).toEqual([40, 10, 40]);
    expect(np.take(v, [1, 1]).toJs()).toEqual([20, 20]);
    expect(np.take(a, np.array([2, 0]), 1).toJs()).toEqual([
      [2, 0],
      [5, 3],
    ]);
    expect(np.take(a, np.array([[1]]), 0).shape).toEqual([1, 1, 3]);
    expect(np.take(a, 4).item()).toBe(4);
  });
});
