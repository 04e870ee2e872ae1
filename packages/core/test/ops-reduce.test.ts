import { describe, expect, test } from "vitest";
import { np, type Array } from "../src/index.js";

const close = (x: Array, want: number[], digits = 5) => {
  const got = globalThis.Array.from(x.dataSync());
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, digits));
};

// [[1, 2, 3],
//  [4, 5, 6]]
const m = np.array([
  [1, 2, 3],
  [4, 5, 6],
]);

describe("sum / prod / max / min", () => {
  test("all axes", () => {
    expect(np.sum(m).item()).toBe(21);
    expect(np.sum(m).shape).toEqual([]);
    expect(np.sum(m).dtype).toBe("int32");
    expect(np.prod(m).item()).toBe(720);
    expect(np.max(m).item()).toBe(6);
    expect(np.min(m).item()).toBe(1);
  });
  test("one axis, negative axes, axis lists", () => {
    expect(np.sum(m, 0).toJs()).toEqual([5, 7, 9]);
    expect(np.sum(m, 1).toJs()).toEqual([6, 15]);
    expect(np.sum(m, -1).toJs()).toEqual([6, 15]);
    expect(np.sum(m, -2).toJs()).toEqual([5, 7, 9]);
    expect(np.sum(m, [0, 1]).item()).toBe(21);
    expect(np.sum(m, [-1, 0]).item()).toBe(21);
    expect(np.sum(m, null).item()).toBe(21);
    expect(np.prod(m, 1).toJs()).toEqual([6, 120]);
    expect(np.max(m, 0).toJs()).toEqual([4, 5, 6]);
    expect(np.min(m, -1).toJs()).toEqual([1, 4]);
  });
  test("keepdims and options objects", () => {
    const s = np.sum(m, { axis: 1, keepdims: true });
    expect(s.shape).toEqual([2, 1]);
    expect(s.toJs()).toEqual([[6], [15]]);
    expect(np.sum(m, 0, { keepdims: true }).toJs()).toEqual([[5, 7, 9]]);
    expect(np.sum(m, { keepdims: true }).toJs()).toEqual([[21]]);
    expect(m.max({ axis: 0, keepdims: true }).shape).toEqual([1, 3]);
    expect(m.sum(1).toJs()).toEqual([6, 15]);
  });
  test("empty axis list is the identity", () => {
    expect(np.sum(m, []).toJs()).toEqual(m.toJs());
  });
  test("bool sums count as int32", () => {
    const s = np.sum(np.array([true, false, true]));
    expect(s.dtype).toBe("int32");
    expect(s.item()).toBe(2);
  });
  test("dtype option", () => {
    const s = np.sum(m, { dtype: "float32" });
    expect(s.dtype).toBe("float32");
    expect(s.item()).toBe(21);
  });
  test("any / all", () => {
    const b = np.array([
      [true, false],
      [true, true],
    ]);
    expect(np.any(b, 1).toJs()).toEqual([true, true]);
    expect(np.all(b, 1).toJs()).toEqual([false, true]);
    expect(np.all(b, 0).toJs()).toEqual([true, false]);
    expect(np.any(np.array([0, 0, 3])).item()).toBe(true);
  });
  test("NaN propagates through max", () => {
    expect(np.max(np.array([1, NaN, 3])).item()).toBeNaN();
  });
});

describe("mean / var / std", () => {
  test("mean of ints is float32", () => {
    const r = np.mean(m);
    expect(r.dtype).toBe("float32");
    expect(r.item()).toBe(3.5);
    expect(np.mean(m, 0).toJs()).toEqual([2.5, 3.5, 4.5]);
    expect(np.mean(m, 1, { keepdims: true }).toJs()).toEqual([[2], [5]]);
  });
  test("var is biased by default, ddof gives the unbiased one", () => {
    // [1,2,3,4]: mean 2.5, squared deviations 2.25+0.25+0.25+2.25 = 5
    const v = np.array([1, 2, 3, 4]);
    expect(np.var(v).item()).toBe(1.25);
    expect(np.var(v, { ddof: 1 }).item()).toBeCloseTo(5 / 3, 6);
    expect(v.var().dtype).toBe("float32");
    close(np.std(v), [Math.sqrt(1.25)]);
    // rows of m: var [2/3, 2/3], columns: var 2.25 each
    close(np.var(m, 1), [2 / 3, 2 / 3]);
    expect(np.var(m, 0).toJs()).toEqual([2.25, 2.25, 2.25]);
    expect(np.var(m, 0, { keepdims: true }).shape).toEqual([1, 3]);
    close(m.std(0), [1.5, 1.5, 1.5]);
  });
});

describe("argmax / argmin", () => {
  const a = np.array([
    [1, 9, 3],
    [7, 2, 7],
  ]);
  test("flattened and per axis", () => {
    const r = np.argmax(a);
    expect(r.dtype).toBe("int32");
    expect(r.item()).toBe(1);
    expect(np.argmin(a).item()).toBe(0);
    expect(np.argmax(a, 0).toJs()).toEqual([1, 0, 1]);
    expect(np.argmax(a, 1).toJs()).toEqual([1, 0]); // first maximum wins
    expect(np.argmin(a, -1).toJs()).toEqual([0, 1]);
    expect(a.argmax(1).toJs()).toEqual([1, 0]);
  });
  test("keepdims", () => {
    expect(np.argmax(a, 1, { keepdims: true }).toJs()).toEqual([[1], [0]]);
    expect(np.argmax(a, null, { keepdims: true }).toJs()).toEqual([[1]]);
    expect(np.argmax(a, { axis: 0, keepdims: true }).shape).toEqual([1, 3]);
  });
});

describe("logsumexp / cumsum", () => {
  test("logsumexp", () => {
    close(np.logsumexp(np.array([0, 0])), [Math.LN2]);
    close(np.logsumexp(np.array([1000, 1000])), [1000 + Math.LN2], 3);
    close(np.logsumexp(np.array([[0, Math.log(3)], [1, 1]]), 1), [Math.log(4), 1 + Math.LN2]);
    expect(np.logsumexp(np.array([[0, 0]]), 1, { keepdims: true }).shape).toEqual([1, 1]);
    expect(np.logsumexp(np.array([-Infinity, -Infinity])).item()).toBe(-Infinity);
  });
  test("cumsum", () => {
    expect(np.cumsum(np.array([1, 2, 3, 4])).toJs()).toEqual([1, 3, 6, 10]);
    expect(np.cumsum(m, 1).toJs()).toEqual([
      [1, 3, 6],
      [4, 9, 15],
    ]);
    expect(np.cumsum(m, 0).toJs()).toEqual([
      [1, 2, 3],
      [5, 7, 9],
    ]);
    expect(np.cumsum(m).toJs()).toEqual([1, 3, 6, 10, 15, 21]);
    expect(np.cumsum(np.array([true, true])).dtype).toBe("int32");
  });
});
