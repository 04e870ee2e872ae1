import { describe, expect, it } from "vitest";
import { bind1, np, primitives as P, type Array } from "@refs/core";
import { grad, jvp, vjp } from "../src/index.js";
import { arg, checkBoth, checkGrad, expectClose, host, rand, toArr } from "./ad-helpers.js";

const v = (n: number, seed: number, lo = -1, hi = 1) => arg([n], rand(n, seed, lo, hi));
const m = (r: number, c: number, seed: number, lo = -1, hi = 1) => arg([r, c], rand(r * c, seed, lo, hi));

describe("AD of unary elementwise primitives (vs central differences)", () => {
  const cases: [string, (x: Array) => Array, number, number][] = [
    ["neg", (x) => np.negative(x), -2, 2],
    ["abs", (x) => np.abs(x), 0.2, 1.5],
    ["abs (negative side)", (x) => np.abs(x), -1.5, -0.2],
    ["exp", (x) => np.exp(x), -1, 1],
    ["expm1", (x) => np.expm1(x), -1, 1],
    ["log", (x) => np.log(x), 0.5, 3],
    ["log1p", (x) => np.log1p(x), -0.5, 2],
    ["sqrt", (x) => np.sqrt(x), 0.5, 3],
    ["rsqrt", (x) => np.rsqrt(x), 0.5, 3],
    ["tanh", (x) => np.tanh(x), -2, 2],
    ["logistic", (x) => np.sigmoid(x), -3, 3],
    ["erf", (x) => np.erf(x), -1.5, 1.5],
    ["erf_inv", (x) => np.erfinv(x), -0.7, 0.7],
    ["sin", (x) => np.sin(x), -3, 3],
    ["cos", (x) => np.cos(x), -3, 3],
  ];
  for (const [name, f, lo, hi] of cases) {
    it(name, () => checkBoth(f, [m(2, 3, name.length * 13 + 1, lo, hi)]));
  }

  it("sign, floor, ceil, round have zero derivative", () => {
    const x = toArr(v(5, 3, -2.3, 2.3));
    for (const f of [np.sign, np.floor, np.ceil, (a: Array) => bind1(P.round, [a])]) {
      const g = grad((a: Array) => np.sum(np.multiply(f(a), a)))(x) as Array;
      // d/dx (f(x) * x) = f(x) where f is piecewise constant
      expectClose(host(g), host(f(x)), { rtol: 0, atol: 0 }, "piecewise constant");
      const [, t] = jvp(f, [x], [np.onesLike(x)]) as [Array, Array];
      expect(host(t)).toEqual([0, 0, 0, 0, 0]);
    }
  });

  it("abs has derivative 1 at 0 (as JAX)", () => {
    expect((grad((x: Array) => np.abs(x))(np.array(0, { dtype: "float32" })) as Array).item()).toBe(1);
  });
});

describe("AD of binary elementwise primitives", () => {
  it("add, sub, mul, div", () => {
    checkBoth((x, y) => np.add(x, y), [m(2, 3, 1), m(2, 3, 2)]);
    checkBoth((x, y) => np.subtract(x, y), [m(2, 3, 3), m(2, 3, 4)]);
    checkBoth((x, y) => np.multiply(x, y), [m(2, 3, 5), m(2, 3, 6)]);
    checkBoth((x, y) => np.divide(x, y), [m(2, 3, 7), m(2, 3, 8, 0.5, 2)]);
  });

  it("the same operand on both sides accumulates (x * x, x / x)", () => {
    checkBoth((x) => np.multiply(x, x), [v(4, 9)]);
    checkBoth((x) => np.add(np.divide(x, np.add(x, 3)), x), [v(4, 10)]);
  });

  it("rem (fmod) in both arguments", () => {
    const rem = (x: Array, y: Array) => bind1(P.rem, [x, y]);
    checkBoth(rem, [arg([4], [2.3, -3.7, 5.2, -1.1]), arg([4], [1.5, 1.6, -2.1, 0.7])]);
  });

  it("pow in both arguments, and at x = 0", () => {
    checkBoth((x, y) => np.power(x, y), [v(5, 11, 0.5, 2), v(5, 12, -1.5, 2.5)]);
    // d/dx 0^y = 0 for y > 1; d/dy 0^y = 0 (log 0 read as 0, as JAX); d/dx x^0 = 0.
    const [gx, gy] = grad((x: Array, y: Array) => np.sum(np.power(x, y)), { argnums: [0, 1] })(
      np.array([0, 0, 2], { dtype: "float32" }),
      np.array([2, 3.5, 0], { dtype: "float32" }),
    ) as Array[];
    expect(host(gx!)).toEqual([0, 0, 0]);
    expect(host(gy!).slice(0, 2)).toEqual([0, 0]);
    expect(host(gy!)[2]).toBeCloseTo(Math.log(2), 5);
  });

  it("maximum and minimum (no ties)", () => {
    checkBoth((x, y) => np.maximum(x, y), [v(6, 13), v(6, 14)]);
    checkBoth((x, y) => np.minimum(x, y), [v(6, 15), v(6, 16)]);
  });

  it("maximum/minimum split ties half and half (as JAX)", () => {
    const x = np.array([1, 2, 3], { dtype: "float32" });
    const y = np.array([1, 0, 3], { dtype: "float32" });
    for (const f of [np.maximum, np.minimum]) {
      const [gx, gy] = grad((a: Array, b: Array) => np.sum(f(a, b)), { argnums: [0, 1] })(x, y) as Array[];
      const want = f === np.maximum ? [[0.5, 1, 0.5], [0.5, 0, 0.5]] : [[0.5, 0, 0.5], [0.5, 1, 0.5]];
      expect(host(gx!)).toEqual(want[0]);
      expect(host(gy!)).toEqual(want[1]);
    }
    // relu: derivative 0.5 at exactly 0, as jnp.maximum(x, 0)
    expect((grad((a: Array) => np.maximum(a, 0))(np.array(0, { dtype: "float32" })) as Array).item()).toBe(0.5);
  });

  it("atan2 in both arguments", () => {
    checkBoth((x, y) => np.arctan2(x, y), [v(5, 17), v(5, 18, 0.3, 1)]);
  });

  it("select (where): the predicate carries nothing, branches get masked cotangents", () => {
    checkBoth((x, y) => np.where(np.greater(x, 0), np.multiply(x, y), np.sin(y)), [v(6, 19), v(6, 20)]);
  });

  it("comparisons, logic and is_finite are non-differentiable", () => {
    const f = (x: Array) => np.sum(np.where(np.logicalAnd(np.greater(x, 0), np.isfinite(x)), x, np.multiply(x, 2)));
    checkGrad(f, [v(6, 21)]);
    const g = (x: Array) => np.astype(np.less(x, 0.5), "float32");
    expect(host(grad((x: Array) => np.sum(g(x)))(toArr(v(3, 22))) as Array)).toEqual([0, 0, 0]);
  });
});

describe("AD of dtype conversion and copy", () => {
  it("float → int → float has zero derivative; float → float (weak → strong) is the identity", () => {
    const x = np.array([1.5, -2.25], { dtype: "float32" });
    const g = grad((a: Array) => np.sum(np.multiply(np.astype(np.astype(a, "int32"), "float32"), a)))(x) as Array;
    expect(host(g)).toEqual([1, -2]);
    const weak = bind1(P.convertElementType, [x], { newDtype: "float32", weakType: true });
    expect(weak.weakType).toBe(true);
    checkBoth((a) => np.multiply(bind1(P.convertElementType, [a], { newDtype: "float32", weakType: true }), a), [v(3, 23)]);
  });

  it("copy is the identity", () => {
    checkBoth((a) => np.multiply(bind1(P.copy, [a]), a), [v(3, 24)]);
  });
});

describe("public API: vjp and jvp", () => {
  it("vjp returns cotangents of every argument", () => {
    const x = toArr(v(3, 25));
    const y = toArr(v(3, 26));
    const [out, back] = vjp((a: Array, b: Array) => np.multiply(np.sin(a), b), x, y);
    expectClose(host(out as Array), host(np.multiply(np.sin(x), y)), { rtol: 1e-6, atol: 0 });
    const ct = np.array([1, 2, 3], { dtype: "float32" });
    const [cx, cy] = back(ct) as Array[];
    expectClose(host(cx!), host(np.multiply(np.multiply(np.cos(x), y), ct)), { rtol: 1e-5, atol: 1e-6 });
    expectClose(host(cy!), host(np.multiply(np.sin(x), ct)), { rtol: 1e-5, atol: 1e-6 });
  });
});
