/** Refs under vmap (SPEC §4): per-example ref views, write-back, and the errors. */
import { describe, expect, it } from "vitest";
import { Array, np, newRef, type Ref } from "@refs/core";
import { jit, vmap, ValueError } from "../src/index.js";
import { expectClose, rand } from "./vmap-helpers.js";

describe("refs under vmap", () => {
  it("two += on a batched ref: the ref holds 2 * vals", () => {
    const vals = rand([4, 3]);
    const r = newRef(np.zerosLike(vals));
    vmap((r: Ref, x: Array) => {
      r.addUpdate(x);
      r.addUpdate(x);
    })(r, vals);
    expectClose(r.get(), vals.mul(2));
  });

  it("the same with the ref batched on axis 1 (inAxes: [1, 0])", () => {
    const vals = rand([4, 3]);
    const r = newRef(np.zeros([3, 4]));
    vmap(
      (r: Ref, x: Array) => {
        r.addUpdate(x);
        r.addUpdate(x);
      },
      { inAxes: [1, 0] },
    )(r, vals);
    expectClose(r.get(), np.transpose(vals.mul(2)));
  });

  it("writes land in the right slice: indexed set on a per-example view (ref batched on axis 1)", () => {
    const r = newRef(np.zeros([5, 3]));
    const idx = np.array([0, 2, 4], { dtype: "int32" });
    const v = np.array([1, 2, 3], { dtype: "float32" });
    vmap((r: Ref, i: Array, v: Array) => r.set(np.broadcastTo(v, [3]), i), { inAxes: [1, null, 0] })(r, idx, v);
    // Column b of r (example b) gets v[b] at rows idx; other rows stay 0.
    const expected = np.zeros([5, 3]).at([idx]).set(np.broadcastTo(v, [3, 3]));
    expectClose(r.get(), expected);
  });

  it("reads see the example's slice and returned values batch normally", () => {
    const base = rand([3, 4]);
    const r = newRef(base);
    const out = vmap((r: Ref) => {
      const v = r.get();
      r.set(v.mul(3));
      return v.sum();
    })(r);
    expectClose(out, base.sum(1));
    expectClose(r.get(), base.mul(3));
  });

  it("a ref that is only read is left alone", () => {
    const base = rand([3, 4]);
    const r = newRef(base);
    const out = vmap((r: Ref, x: Array) => r.get().mul(x), { inAxes: [null, 0] })(r, rand([2, 4]));
    expect((out as Array).shape).toEqual([2, 3, 4]);
    expectClose(r.get(), base);
  });

  it("an unbatched ref may receive unbatched values", () => {
    const count = newRef(np.zeros([]));
    const out = vmap((x: Array) => {
      count.addUpdate(1);
      return x.mul(2);
    })(np.array([1, 2, 3]));
    expect((out as Array).toJs()).toEqual([2, 4, 6]);
    expect(count.get().item()).toBe(1);
  });

  it("refs created inside the vmapped function work", () => {
    const f = (x: Array) => {
      const acc = newRef(np.zeros([2]));
      acc.addUpdate(x);
      acc.addUpdate(x.get(0).mul(x.get(1)), 0);
      return acc.get();
    };
    const x = rand([4, 2]);
    const exp = np.stack([0, 1, 2, 3].map((i) => f(x.get(i))));
    expectClose(vmap(f)(x), exp);
  });

  it("a ref passed with in-axis null written with a batched value throws", () => {
    const r = newRef(np.zeros([3]));
    expect(() => vmap((r: Ref, x: Array) => r.set(x), { inAxes: [null, 0] })(r, np.ones([2, 3]))).toThrow(
      "performing a set/swap operation with vmapped value on an unbatched array reference of type Ref{float32[3]}. Move the array reference to be an argument to the vmapped function?",
    );
  });

  it("a closed-over ref written with a batched value throws", () => {
    const r = newRef(np.zeros([3]));
    expect(() => vmap((x: Array) => r.addUpdate(x))(np.ones([2, 3]))).toThrow(
      "performing a set/swap operation with vmapped value on an unbatched array reference of type Ref{float32[3]}.",
    );
    expect(r.get().toJs()).toEqual([0, 0, 0]);
  });

  it("aliased ref arguments throw the 'only one reference' error", () => {
    const r = newRef(np.zeros([2, 3]));
    const f = function f(a: Ref, b: Ref) {
      a.addUpdate(b.get());
    };
    expect(() => vmap(f)(r, r)).toThrow(ValueError);
    expect(() => vmap(f)(r, r)).toThrow(
      /^only one reference to a mutable array may be passed as an argument to a function, but when tracing f at .* for vmap the mutable array reference of type Ref\{float32\[2,3\]\} appeared at both a and b\.$/,
    );
  });

  it("refs under jit(vmap(...)): in place, twice", () => {
    const vals = rand([4, 3]);
    const r = newRef(np.zeros([3, 4]));
    const step = jit(
      vmap(
        (r: Ref, x: Array) => {
          r.addUpdate(x);
          r.addUpdate(x);
        },
        { inAxes: [1, 0] },
      ),
    );
    step(r, vals);
    step(r, vals);
    expectClose(r.get(), np.transpose(vals.mul(4)));
  });

  it("vmap of jit with a ref argument", () => {
    const vals = rand([4, 3]);
    const r = newRef(np.zeros([4, 3]));
    const inc = jit((r: Ref, x: Array) => r.addUpdate(x.mul(2)));
    vmap(inc)(r, vals);
    expectClose(r.get(), vals.mul(2));
  });

  it("nested vmap over a 2-d batch of refs", () => {
    const vals = rand([2, 3, 4]);
    const r = newRef(np.zeros([2, 3, 4]));
    vmap(vmap((r: Ref, x: Array) => r.addUpdate(x.mul(x))))(r, vals);
    expectClose(r.get(), vals.mul(vals));
  });
});

