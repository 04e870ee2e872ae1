import { describe, expect, it } from "vitest";
import { Array, freeze, isRef, newRef, np, Ref, slice } from "../src/index.js";

const i32 = (v: number[]) => np.array(v, { dtype: "int32" });

describe("newRef", () => {
  it("copies its input: later writes never change the source", () => {
    const x = i32([1, 2, 3]);
    const r = newRef(x);
    r.set(i32([7, 8, 9]));
    expect(x.toJs()).toEqual([1, 2, 3]);
    expect(r.get().toJs()).toEqual([7, 8, 9]);
  });

  it("is a Ref, not an Array", () => {
    const r = newRef(np.zeros([2]));
    expect(isRef(r)).toBe(true);
    expect(r instanceof Array).toBe(false);
    expect(isRef(np.zeros([2]))).toBe(false);
    expect(r instanceof Ref).toBe(true);
  });

  it("reports shape, dtype, ndim, size and length", () => {
    const r = newRef(np.zeros([4, 3], { dtype: "int32" }));
    expect(r.shape).toEqual([4, 3]);
    expect(r.dtype).toBe("int32");
    expect(r.ndim).toBe(2);
    expect(r.size).toBe(12);
    expect(r.length).toBe(4);
  });

  it("a 0-d ref has no length", () => {
    const r = newRef(np.array(0));
    expect(() => r.length).toThrow(new TypeError("len() of unsized object"));
  });

  it("refuses a Ref as its input", () => {
    const r = newRef(np.zeros([2]));
    expect(() => newRef(r as never)).toThrow(/newRef: got a Ref/);
  });

  it("records where it was created", () => {
    const r = newRef(np.zeros([2]));
    expect(r.site?.location).toMatch(/ref\.test\.ts:\d+:\d+$/);
  });
});

describe("reads and writes", () => {
  it("the eager ref program r += 1; r[0] += 1; r[1] += 5 gives [2, 6, 1]", () => {
    const r = newRef(np.zeros([3]));
    r.set(r.get().add(1));
    r.set(r.get(0).add(1), 0);
    r.addUpdate(5, 1);
    expect(r.get().toJs()).toEqual([2, 6, 1]);
    expect(String(r)).toBe("ArrayRef([2., 6., 1.], dtype=float32)");
  });

  it("get returns an immutable snapshot", () => {
    const r = newRef(i32([1, 2, 3]));
    const before = r.get();
    r.addUpdate(10);
    expect(before.toJs()).toEqual([1, 2, 3]);
    expect(r.get().toJs()).toEqual([11, 12, 13]);
  });

  it("swap writes and returns the old value", () => {
    const r = newRef(i32([1, 2, 3]));
    const old = r.swap(i32([4, 5, 6]));
    expect(old.toJs()).toEqual([1, 2, 3]);
    expect(r.get().toJs()).toEqual([4, 5, 6]);
    const oldRow = r.swap(9, 1);
    expect(oldRow.item()).toBe(5);
    expect(r.get().toJs()).toEqual([4, 9, 6]);
  });

  it("supports full index expressions", () => {
    const r = newRef(np.arange(12).reshape([3, 4]));
    expect(r.get([1, slice(1, 3)]).toJs()).toEqual([5, 6]);
    expect(r.get(["...", 0]).toJs()).toEqual([0, 4, 8]);
    expect(r.get(-1).toJs()).toEqual([8, 9, 10, 11]);
    expect(r.get([slice(null, null, 2), 3]).toJs()).toEqual([3, 11]);
    r.set(np.zeros([2], { dtype: "int32" }), [slice(0, 2), 0]);
    expect(r.get().toJs()).toEqual([[0, 1, 2, 3], [0, 5, 6, 7], [8, 9, 10, 11]]);
    r.addUpdate(100, [2, slice(1)]);
    expect(r.get(2).toJs()).toEqual([8, 109, 110, 111]);
  });

  it("supports integer-array indices (dynamic), with scatter-add of duplicates", () => {
    const r = newRef(np.zeros([4], { dtype: "int32" }));
    r.addUpdate(np.array([1, 1, 1], { dtype: "int32" }), np.array([0, 2, 0], { dtype: "int32" }));
    expect(r.get().toJs()).toEqual([2, 0, 1, 0]);
    expect(r.get(np.array([3, 0], { dtype: "int32" })).toJs()).toEqual([0, 2]);
  });

  it("freeze returns the value as an Array", () => {
    const r = newRef(i32([1, 2, 3]));
    const f = freeze(r);
    expect(f).toBeInstanceOf(Array);
    r.addUpdate(1);
    expect(f.toJs()).toEqual([1, 2, 3]);
    expect(() => freeze(np.zeros([1]) as never)).toThrow(/freeze: expected a Ref/);
  });

  it("a weakly typed JS number is cast to the ref's dtype", () => {
    const r = newRef(i32([1, 2, 3]));
    r.set(2.7, 0);
    expect(r.get().toJs()).toEqual([2, 2, 3]);
    expect(r.dtype).toBe("int32");
  });
});

describe("checks", () => {
  it("float written into an int ref", () => {
    const r = newRef(i32([1, 2, 3]));
    expect(() => r.set(np.array([1.5, 2, 3]))).toThrow(
      "Invalid dtype for `swap`. Ref dtype: int32. Value dtype: float32.",
    );
    expect(() => r.addUpdate(np.array([1.5, 2, 3]))).toThrow(
      "Invalid dtype for `addupdate`. Ref dtype: int32. Value dtype: float32.",
    );
  });

  it("shape mismatch", () => {
    const r = newRef(i32([1, 2, 3]));
    expect(() => r.set(i32([1, 2, 3, 4]))).toThrow(
      "Invalid shape for `swap`. Ref shape: (3,). Expected shape: (3,). Value shape: (4,).",
    );
    const m = newRef(np.zeros([2, 3]));
    expect(() => m.set(np.zeros([2]), [slice(), 0])).not.toThrow();
    expect(() => m.set(np.zeros([3]), [slice(), 0])).toThrow(
      "Invalid shape for `swap`. Ref shape: (2, 3). Expected shape: (2,). Value shape: (3,).",
    );
  });

  it("a ref stored into a ref", () => {
    const a = newRef(i32([1, 2, 3]));
    const b = newRef(i32([1, 2, 3]));
    expect(() => a.set(b)).toThrow("Cannot store a Ref into another Ref. Did you forget to load from it using `get()`?");
  });

  it("static out-of-bounds integer", () => {
    const r = newRef(i32([1, 2, 3]));
    expect(() => r.get(5)).toThrow("Out of bound indexer: idx=5, dim=3.");
    expect(() => r.set(1, -4)).toThrow("Out of bound indexer: idx=-4, dim=3.");
  });

  it("slice step below 1", () => {
    const r = newRef(i32([1, 2, 3]));
    expect(() => r.get(slice(null, null, -1))).toThrow("slice must have a step >= 1 (found: -1)");
    expect(() => r.get(slice(null, null, 0))).toThrow("slice must have a step >= 1 (found: 0)");
  });

  it("too many indices and bad index items", () => {
    const r = newRef(i32([1, 2, 3]));
    expect(() => r.get([0, 0])).toThrow(/too many indices: the Ref is 1-dimensional, but 2 were indexed/);
    expect(() => r.get(null)).toThrow(/new axes \(null\) are not supported when indexing a Ref/);
    expect(() => r.get("x" as never)).toThrow(/unsupported index "x"/);
    expect(() => r.get(np.array([0.5]))).toThrow(/index arrays must be integer, got float32\[1\]/);
  });
});

describe("printing", () => {
  it("ArrayRef repr and the short type", () => {
    const r = newRef(i32([1, 2, 3]));
    expect(String(r)).toBe("ArrayRef([1, 2, 3], dtype=int32)");
    expect(r.aval.str()).toBe("Ref{int32[3]}");
    expect(newRef(np.array(0)).aval.str()).toBe("Ref{int32[]}");
    expect(String(newRef(np.array(0)))).toBe("ArrayRef(0, dtype=int32, weak_type=True)");
  });
});
