import { describe, expect, it } from "vitest";
import { np, newRef, type Array, type Ref } from "@refs/core";
import { grad, jit, stopGradient, valueAndGrad } from "../src/index.js";

describe("grad (framework)", () => {
  it("differentiates a function that creates and doubles an internal ref → 2.0", () => {
    // Needs the mul/add VJP rules; the rules module registers them.
    const f = (x: Array) => {
      const r = newRef(x);
      r.set(r.get().mul(2));
      return r.get();
    };
    expect((grad(f)(np.array(3, { dtype: "float32" })) as Array).item()).toBe(2);
  });

  it("writing a differentiated value into a plumbing ref is an error; stopGradient makes it legal", () => {
    const stats = newRef(np.zeros([]));
    const bad = (x: Array) => {
      stats.set(x.mul(x));
      return x.mul(3);
    };
    expect(() => grad(bad)(np.array(2, { dtype: "float32" }))).toThrow(
      /^performing a set\/swap operation with a differentiated value on a non-differentiated array reference of type Ref\{float32\[\]\}\. Move the array reference to be an argument of the differentiated function\?/,
    );
    const good = (x: Array) => {
      stats.set(stopGradient(x.mul(x)));
      return x.mul(3);
    };
    const [v, g] = valueAndGrad(good)(np.array(2, { dtype: "float32" }));
    expect((v as Array).item()).toBe(6);
    expect((g as Array).item()).toBe(3);
    expect(stats.get().item()).toBe(4);
  });

  it("refuses to differentiate with respect to a Ref", () => {
    const f = (r: Ref) => r.get().sum();
    expect(() => grad(f)(newRef(np.ones([2])))).toThrow(/^grad cannot differentiate with respect to a Ref-typed argument/);
  });

  it("grad works inside jit", () => {
    const g = jit((x: Array) => grad((y: Array) => y.mul(y).sum())(x));
    expect((g(np.array([1, 2, 3]).astype("float32")) as Array).toJs()).toEqual([2, 4, 6]);
  });
});
