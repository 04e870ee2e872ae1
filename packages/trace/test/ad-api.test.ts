import { describe, expect, it } from "vitest";
import { np, newRef, type Array } from "@refs/core";
import { grad, jit, jvp, stopGradient, valueAndGrad, vjp } from "../src/index.js";
import { arg, checkBoth, expectClose, host, rand, toArr } from "./ad-helpers.js";

const f32 = (v: number | number[]) => np.array(v, { dtype: "float32" });

describe("higher-order derivatives", () => {
  it("grad of grad of sin is -sin; third derivative is -cos", () => {
    const x = f32(0.7);
    const d2 = grad(grad((a: Array) => np.sin(a)))(x) as Array;
    expect(d2.item()).toBeCloseTo(-Math.sin(0.7), 5);
    const d3 = grad(grad(grad((a: Array) => np.sin(a))))(x) as Array;
    expect(d3.item()).toBeCloseTo(-Math.cos(0.7), 5);
  });

  it("x^3: first and second derivatives (multiplies, integer power, and the pow primitive)", () => {
    const x = f32(1.5);
    const cube = (a: Array) => np.multiply(np.multiply(a, a), a);
    expect((grad(cube)(x) as Array).item()).toBeCloseTo(3 * 1.5 ** 2, 4);
    expect((grad(grad(cube))(x) as Array).item()).toBeCloseTo(6 * 1.5, 4);
    expect((grad(grad((a: Array) => np.power(a, 3)))(x) as Array).item()).toBeCloseTo(9, 4);
    expect((grad(grad((a: Array) => np.power(a, f32(3))))(x) as Array).item()).toBeCloseTo(9, 3);
  });

  it("second derivatives of tanh, exp·log, and a reduction (Hessian-vector product via jvp of grad)", () => {
    expect((grad(grad((a: Array) => np.tanh(a)))(f32(0.3)) as Array).item()).toBeCloseTo(-2 * Math.tanh(0.3) * (1 - Math.tanh(0.3) ** 2), 4);
    const x = toArr(arg([3], [0.5, 1.2, 2.0]));
    // f = sum(x^2 * log x): grad = 2x log x + x, Hessian diag = 2 log x + 3
    const g = grad((a: Array) => np.sum(np.multiply(np.multiply(a, a), np.log(a))));
    const [, hv] = jvp(g, [x], [np.onesLike(x)]) as [Array, Array];
    expectClose(host(hv), [0.5, 1.2, 2.0].map((v) => 2 * Math.log(v) + 3), { rtol: 1e-4, atol: 1e-5 });
  });

  it("grad of grad through max, where, matmul and sums", () => {
    // f(w) = sum(relu(W x)^2): checked against finite differences of its gradient
    const xv = f32([0.3, -0.7, 1.1]);
    const f = (w: Array) => np.sum(np.square(np.maximum(np.matmul(w, xv), 0)));
    const gsum = (w: Array) => np.sum(np.multiply(grad(f)(w) as Array, w));
    checkBoth(gsum, [arg([2, 3], rand(6, 5))]);
  });
});

describe("grad options", () => {
  it("argnums picks arguments; a single number returns one gradient", () => {
    const f = (a: Array, b: Array, c: Array) => np.sum(np.multiply(np.multiply(a, b), c));
    const [a, b, c] = [f32([1, 2]), f32([3, 4]), f32([5, 6])];
    expect(host(grad(f, { argnums: 1 })(a, b, c) as Array)).toEqual([5, 12]);
    const [ga, gc] = grad(f, { argnums: [0, 2] })(a, b, c) as Array[];
    expect(host(ga!)).toEqual([15, 24]);
    expect(host(gc!)).toEqual([3, 8]);
  });

  it("hasAux returns the aux output alongside, undifferentiated", () => {
    const f = (a: Array) => [np.sum(np.square(a)), { doubled: np.multiply(a, 2) }] as const;
    const [g, aux] = grad(f, { hasAux: true })(f32([1, 2])) as [Array, { doubled: Array }];
    expect(host(g)).toEqual([2, 4]);
    expect(host(aux.doubled)).toEqual([2, 4]);
    const [[v, aux2], g2] = valueAndGrad(f, { hasAux: true })(f32([3])) as [[Array, { doubled: Array }], Array];
    expect(v.item()).toBe(9);
    expect(host(aux2.doubled)).toEqual([6]);
    expect(host(g2)).toEqual([6]);
  });

  it("pytree arguments get pytree gradients", () => {
    const f = (p: { w: Array; b: Array }, x: Array) => np.sum(np.add(np.multiply(p.w, x), p.b));
    const g = grad(f)({ w: f32([1, 2]), b: f32([3, 4]) }, f32([5, 6])) as { w: Array; b: Array };
    expect(host(g.w)).toEqual([5, 6]);
    expect(host(g.b)).toEqual([1, 1]);
  });

  it("stopGradient blocks the derivative", () => {
    const f = (a: Array) => np.multiply(stopGradient(np.multiply(a, a)), a);
    expect((grad(f)(f32(3)) as Array).item()).toBe(9);
  });
});

describe("refs under grad", () => {
  it("a function that creates an internal ref and doubles it: grad is 2.0", () => {
    const f = (x: Array) => {
      const r = newRef(x);
      r.set(r.get().mul(2));
      return r.get();
    };
    expect((grad(f)(f32(3)) as Array).item()).toBe(2);
    const [, t] = jvp(f, [f32(3)], [f32(1)]) as [Array, Array];
    expect(t.item()).toBe(2);
  });

  it("plumbing refs: their side effects happen once per call (grad, vjp, jvp, valueAndGrad)", () => {
    const counter = newRef(np.zeros([]));
    const f = (x: Array) => {
      counter.set(counter.get().add(1));
      return np.sum(np.sin(x));
    };
    grad(f)(f32([1, 2]));
    expect(counter.get().item()).toBe(1);
    valueAndGrad(f)(f32([1, 2]));
    expect(counter.get().item()).toBe(2);
    const [, back] = vjp(f, f32([1, 2]));
    back(f32(1));
    expect(counter.get().item()).toBe(3);
    jvp(f, [f32([1, 2])], [f32([1, 1])]);
    expect(counter.get().item()).toBe(4);
    grad(grad((a: Array) => f(a)))(f32(0.5));
    expect(counter.get().item()).toBe(5);
  });

  it("a ref argument outside argnums is plumbing: written once, with a stopGradient'd value", () => {
    const f = (x: Array, stats: ReturnType<typeof newRef>) => {
      stats.set(stopGradient(np.add(stats.get(), np.mean(x))));
      return np.sum(np.square(x));
    };
    const stats = newRef(np.zeros([]));
    const g = grad(f)(f32([1, 3]), stats) as Array;
    expect(host(g)).toEqual([2, 6]);
    expect(stats.get().item()).toBe(2);
  });
});

describe("jit and grad", () => {
  it("grad of a jitted function matches finite differences; jitted grad too", () => {
    const inner = jit((a: Array, b: Array) => np.sum(np.multiply(np.exp(np.multiply(a, 0.5)), b)));
    checkBoth((a, b) => inner(a, b), [arg([3], rand(3, 1)), arg([3], rand(3, 2))]);
    const jg = jit(grad((a: Array) => np.sum(np.multiply(np.exp(a), a))));
    const x = f32([0.1, 0.2]);
    expectClose(host(jg(x) as Array), host(np.multiply(np.exp(x), np.add(x, 1))), { rtol: 1e-5, atol: 1e-6 });
    expectClose(host(jg(x) as Array), host(np.multiply(np.exp(x), np.add(x, 1))), { rtol: 1e-5, atol: 1e-6 });
  });
});
