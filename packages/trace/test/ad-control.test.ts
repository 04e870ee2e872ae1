import { describe, expect, it } from "vitest";
import { np, newRef, type Array } from "@refs/core";
import { cond, foriLoop, grad, jit, jvp, scan, switchCase, valueAndGrad, vjp, whileLoop } from "../src/index.js";
import { arg, checkBoth, checkGrad, expectClose, host, rand, toArr } from "./ad-helpers.js";

const f32 = (v: number | number[]) => np.array(v, { dtype: "float32" });

describe("AD through scan", () => {
  it("a carry and ys, with closed-over weights, forwards and in reverse", () => {
    for (const reverse of [false, true]) {
      const f = (w: Array, c0: Array, xs: Array) => {
        const [c, ys] = scan(
          (c: Array, x: Array) => {
            const n = np.tanh(np.add(np.multiply(c, w), x));
            return [n, np.multiply(n, x)] as const;
          },
          c0,
          xs,
          { reverse },
        );
        return np.add(np.sum(ys as Array), np.multiply(np.sum(c as Array), 2));
      };
      checkBoth(f, [arg([2], rand(2, 1)), arg([2], rand(2, 2)), arg([4, 2], rand(8, 3))]);
    }
  });

  it("an RNN-style body with a matmul against a closed-over matrix, and a pytree carry", () => {
    const f = (wm: Array, xs: Array) => {
      const [carry] = scan(
        (c: { h: Array; s: Array }, x: Array) => {
          const h = np.sin(np.add(np.matmul(wm, c.h), x));
          return [{ h, s: np.add(c.s, np.sum(np.square(h))) }, h] as const;
        },
        { h: np.zeros([3]), s: np.zeros([]) },
        xs,
      );
      return np.add((carry as { s: Array }).s, np.sum((carry as { h: Array }).h));
    };
    checkBoth(f, [arg([3, 3], rand(9, 4, -0.6, 0.6)), arg([5, 3], rand(15, 5))]);
  });

  it("only ys are differentiated (carry is an integer counter)", () => {
    const f = (xs: Array) => {
      const [, ys] = scan(
        (i: Array, x: Array) => [i.add(1), np.multiply(x, np.astype(i, "float32"))] as const,
        np.array(1, { dtype: "int32" }),
        xs,
      );
      return ys as Array;
    };
    checkBoth(f, [arg([3, 2], rand(6, 6))]);
  });

  it("foriLoop with static bounds (a scan) differentiates", () => {
    const f = (x: Array) => foriLoop(0, 4, (_i: Array, c: Array) => np.sin(np.multiply(c, 1.5)), x);
    checkBoth(f, [arg([3], rand(3, 7))]);
  });

  it("grad of grad through a scan", () => {
    const f = (x: Array) => {
      const [c] = scan((c: Array, _: Array) => [np.multiply(c, np.sin(c)), c] as const, x, np.zeros([3]));
      return c as Array;
    };
    const x0 = 0.8;
    const d = (a: number) => (grad(f)(f32(a)) as Array).item() as number;
    const eps = 1e-3;
    const fd = (d(x0 + eps) - d(x0 - eps)) / (2 * eps);
    expect((grad(grad(f))(f32(x0)) as Array).item()).toBeCloseTo(fd, 2);
  });

  it("grad through scan inside jit", () => {
    const f = jit((x: Array) => {
      const [c] = scan((c: Array, xi: Array) => [np.add(np.multiply(c, xi), np.cos(c)), c] as const, np.ones([]), x);
      return c as Array;
    });
    checkGrad((x) => f(x), [arg([4], rand(4, 8))]);
  });

  it("a length-3 scan under grad runs its ref side effect 3 times, not 6", () => {
    const r = newRef(np.zeros([]));
    const f = (x: Array) => {
      const [c] = scan(
        (c: Array, _: Array) => {
          r.set(r.get().add(1));
          return [np.multiply(c, x), c] as const;
        },
        np.ones([]),
        np.zeros([3]),
      );
      return c as Array;
    };
    const [v, g] = valueAndGrad(f)(f32(2));
    expect((v as Array).item()).toBe(8);
    expect((g as Array).item()).toBe(12);
    expect(r.get().item()).toBe(3);
    grad(f)(f32(2));
    expect(r.get().item()).toBe(6);
    jvp(f, [f32(2)], [f32(1)]);
    expect(r.get().item()).toBe(9);
  });

  it("vjp of a scan with cotangents on ys only", () => {
    const f = (xs: Array) => scan((c: Array, x: Array) => [np.add(c, x), np.multiply(c, x)] as const, np.zeros([]), xs)[1] as Array;
    const xs = f32([1, 2, 3]);
    const [ys, back] = vjp(f, xs);
    expect(host(ys as Array)).toEqual([0, 2, 9]);
    // ys = [0, x0 x1, (x0 + x1) x2]: d/dx0 = x1 + x2, d/dx1 = x0 + x2, d/dx2 = x0 + x1
    const [g] = back(f32([1, 1, 1])) as Array[];
    expect(host(g!)).toEqual([2 + 3, 1 + 3, 1 + 2]);
  });
});

describe("AD through cond", () => {
  it("both branches, against finite differences", () => {
    for (const p of [true, false]) {
      const f = (x: Array, y: Array) =>
        cond(
          p,
          (a: Array, b: Array) => np.multiply(np.sin(a), b),
          (a: Array, b: Array) => np.add(np.exp(a), np.multiply(b, b)),
          x,
          y,
        ) as Array;
      checkBoth(f, [arg([3], rand(3, 9)), arg([3], rand(3, 10))]);
    }
  });

  it("a traced predicate; branches with different residuals and a constant branch", () => {
    const f = (x: Array) =>
      cond(
        np.greater(np.sum(x), 0),
        (a: Array) => np.multiply(np.tanh(a), np.sum(np.square(a))),
        (_a: Array) => np.ones([3]),
        x,
      ) as Array;
    checkBoth(f, [arg([3], [0.5, 0.2, -0.1])]);
    const g = grad((a: Array) => np.sum(f(a)))(f32([-0.5, 0.2, -0.1])) as Array;
    expect(host(g)).toEqual([0, 0, 0]);
  });

  it("switchCase with three branches, under jit", () => {
    const f = (i: number) =>
      jit((x: Array) =>
        switchCase(
          np.array(i, { dtype: "int32" }),
          [(a: Array) => np.sin(a), (a: Array) => np.multiply(a, a), (a: Array) => np.log1p(np.square(a))],
          x,
        ) as Array,
      );
    for (const i of [0, 1, 2]) checkBoth((x) => f(i)(x), [arg([2], rand(2, 11 + i))]);
  });

  it("second derivatives through cond and scan (grad of grad, jvp of grad)", () => {
    const c = (x: Array) => cond(np.greater(x, 0), (a: Array) => np.multiply(np.sin(a), a), (a: Array) => np.exp(a), x) as Array;
    // d²/dx² (x sin x) = 2 cos x - x sin x
    expect((grad(grad(c))(f32(0.6)) as Array).item()).toBeCloseTo(2 * Math.cos(0.6) - 0.6 * Math.sin(0.6), 4);
    expect((grad(grad(c))(f32(-0.6)) as Array).item()).toBeCloseTo(Math.exp(-0.6), 4);
    const s = (x: Array) => {
      const [cc] = scan((cc: Array, w: Array) => [np.multiply(np.sin(cc), w), cc] as const, x, f32([1.5, 0.5, 2]));
      return cc as Array;
    };
    const d = (a: number) => (grad(s)(f32(a)) as Array).item() as number;
    const fd = (d(0.7 + 1e-3) - d(0.7 - 1e-3)) / 2e-3;
    const [, hv] = jvp(grad(s), [f32(0.7)], [f32(1)]) as [Array, Array];
    expect(hv.item()).toBeCloseTo(fd, 2);
  });

  it("cond inside scan, differentiated", () => {
    const f = (xs: Array) => {
      const [c] = scan(
        (c: Array, x: Array) => [cond(np.greater(x, 0), (a: Array) => np.multiply(a, x), (a: Array) => np.add(a, np.sin(x)), c) as Array, c] as const,
        f32(1),
        xs,
      );
      return c as Array;
    };
    checkBoth(f, [arg([4], [0.5, -0.3, 0.8, -0.9])]);
  });
});

describe("AD through whileLoop", () => {
  it("jvp through whileLoop works", () => {
    const f = (x: Array) =>
      (whileLoop(
        (c: [Array, Array]) => np.less(c[0], 3),
        (c: [Array, Array]) => [c[0].add(1), np.sin(np.multiply(c[1], 1.2))] as [Array, Array],
        [np.array(0, { dtype: "int32" }), x] as [Array, Array],
      ) as [Array, Array])[1];
    const x = toArr(arg([2], [0.3, -0.7]));
    const [out, t] = jvp(f, [x], [np.onesLike(x)]) as [Array, Array];
    let v = [0.3, -0.7];
    let d = [1, 1];
    for (let i = 0; i < 3; i++) {
      d = d.map((di, k) => Math.cos(1.2 * v[k]!) * 1.2 * di);
      v = v.map((vi) => Math.sin(1.2 * vi));
    }
    expectClose(host(out), v, { rtol: 1e-5, atol: 1e-6 });
    expectClose(host(t), d, { rtol: 1e-4, atol: 1e-5 });
  });

  it("jvp with a closed-over differentiated constant (the carry tangent starts at zero)", () => {
    const f = (w: Array) =>
      (whileLoop(
        (c: [Array, Array]) => np.less(c[0], 4),
        (c: [Array, Array]) => [c[0].add(1), np.add(np.multiply(c[1], w), 1)] as [Array, Array],
        [np.array(0, { dtype: "int32" }), f32(1)] as [Array, Array],
      ) as [Array, Array])[1];
    // c4 = w^4 + w^3 + w^2 + w + 1 → d/dw = 4w^3 + 3w^2 + 2w + 1
    const [, t] = jvp(f, [f32(0.5)], [f32(1)]) as [Array, Array];
    expect(t.item()).toBeCloseTo(4 * 0.125 + 3 * 0.25 + 1 + 1, 5);
  });

  it("grad through whileLoop throws a clear error", () => {
    const f = (x: Array) =>
      (whileLoop(
        (c: [Array, Array]) => np.less(c[0], 3),
        (c: [Array, Array]) => [c[0].add(1), np.multiply(c[1], 2)] as [Array, Array],
        [np.array(0, { dtype: "int32" }), x] as [Array, Array],
      ) as [Array, Array])[1];
    expect(() => grad(f)(f32(1))).toThrow(
      "Reverse-mode differentiation does not work for whileLoop (a loop with a dynamic trip count). Use foriLoop with static bounds (which becomes a scan), or jvp for forward mode.",
    );
  });
});
