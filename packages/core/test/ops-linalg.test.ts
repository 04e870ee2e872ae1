import { describe, expect, test } from "vitest";
import { np } from "../src/index.js";

const A = np.array([
  [1, 2],
  [3, 4],
  [5, 6],
]); // 3x2
const B = np.array([
  [1, 0, -1],
  [2, 1, 0],
]); // 2x3

describe("matmul", () => {
  test("2-D @ 2-D", () => {
    // A @ B: row i = A[i,0]*B[0] + A[i,1]*B[1]
    expect(np.matmul(A, B).toJs()).toEqual([
      [5, 2, -1],
      [11, 4, -3],
      [17, 6, -5],
    ]);
    expect(np.matmul(B, A).toJs()).toEqual([
      [-4, -4],
      [5, 8],
    ]);
    expect(A.matmul(B).shape).toEqual([3, 3]);
  });
  test("1-D operands", () => {
    const v = np.array([1, -1]);
    expect(np.matmul(A, v).toJs()).toEqual([-1, -1, -1]);
    expect(np.matmul(np.array([1, 1, 1]), A).toJs()).toEqual([9, 12]);
    const d = np.matmul(v, v);
    expect(d.shape).toEqual([]);
    expect(d.item()).toBe(2);
  });
  test("batched with broadcast batch dims", () => {
    const s = np.stack([A, np.multiply(A, 2)]); // [2,3,2]
    const r = np.matmul(s, B); // [2,3,3]
    expect(r.shape).toEqual([2, 3, 3]);
    expect((r.toJs() as number[][][])[1]).toEqual([
      [10, 4, -2],
      [22, 8, -6],
      [34, 12, -10],
    ]);
    const l = np.matmul(B, s); // [2,2,3] @ ... B is 2x3, s is [2,3,2] -> [2,2,2]
    expect(l.shape).toEqual([2, 2, 2]);
    expect((l.toJs() as number[][][])[1]).toEqual([
      [-8, -8],
      [10, 16],
    ]);
    const x = np.ones([4, 1, 3, 2]);
    const y = np.ones([5, 2, 7]);
    const z = np.matmul(x, y);
    expect(z.shape).toEqual([4, 5, 3, 7]);
    expect(z.dataSync().every((v) => v === 2)).toBe(true);
    expect(np.matmul(np.ones([2]), np.ones([3, 2, 4])).shape).toEqual([3, 4]);
    expect(np.matmul(np.ones([3, 4, 2]), np.ones([2])).shape).toEqual([3, 4]);
  });
  test("promotes dtypes", () => {
    const r = np.matmul(A, np.array([[0.5], [0.5]]));
    expect(r.dtype).toBe("float32");
    expect(r.toJs()).toEqual([[1.5], [3.5], [5.5]]);
  });
});

describe("dot / inner / outer / tensordot", () => {
  test("dot", () => {
    expect(np.dot(np.array([1, 2, 3]), np.array([4, 5, 6])).item()).toBe(32);
    expect(np.dot(A, B).toJs()).toEqual(np.matmul(A, B).toJs());
    expect(np.dot(A, 2).toJs()).toEqual([
      [2, 4],
      [6, 8],
      [10, 12],
    ]);
    // N-D . M-D: a[...,k] b[...,k,n] -> a.shape[:-1] + b.shape[:-2] + b.shape[-1:]
    expect(np.dot(np.ones([2, 3, 4]), np.ones([5, 4, 6])).shape).toEqual([2, 3, 5, 6]);
    expect(A.dot(np.array([1, 1])).toJs()).toEqual([3, 7, 11]);
  });
  test("inner / outer / tensordot", () => {
    expect(np.inner(np.array([1, 2]), np.array([3, 4])).item()).toBe(11);
    expect(np.inner(A, A).toJs()).toEqual([
      [5, 11, 17],
      [11, 25, 39],
      [17, 39, 61],
    ]);
    expect(np.outer(np.array([1, 2]), np.array([1, 10, 100])).toJs()).toEqual([
      [1, 10, 100],
      [2, 20, 200],
    ]);
    expect(np.tensordot(A, B, 1).toJs()).toEqual(np.matmul(A, B).toJs());
    expect(np.tensordot(A, A, 2).item()).toBe(1 + 4 + 9 + 16 + 25 + 36);
    expect(np.tensordot(A, B, [[0], [1]]).toJs()).toEqual(np.matmul(B, A).T.toJs());
  });
});
