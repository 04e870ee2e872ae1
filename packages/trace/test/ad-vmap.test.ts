import { describe, expect, it } from "vitest";
import { np, type Array } from "@refs/core";
import { grad, jit, jvp, scan, vmap } from "../src/index.js";
import { arg, checkBoth, expectClose, host, rand, toArr } from "./ad-helpers.js";

describe("AD and vmap compose", () => {
  it("grad through vmap (vs finite differences)", () => {
    const g = (w: Array, x: Array) => np.sum(np.tanh(np.matmul(w, x)));
    const f = (w: Array, xs: Array) => vmap((x: Array) => g(w, x))(xs) as Array;
    checkBoth(f, [arg([2, 3], rand(6, 1)), arg([4, 3], rand(12, 2))]);
  });

  it("vmap of grad gives per-example gradients", () => {
    const loss = (w: Array, x: Array) => np.sum(np.square(np.sin(np.multiply(w, x))));
    const w = toArr(arg([3], rand(3, 3)));
    const xs = toArr(arg([4, 3], rand(12, 4)));
    const per = vmap((x: Array) => grad(loss)(w, x) as Array)(xs) as Array;
    expect(per.shape).toEqual([4, 3]);
    for (let i = 0; i < 4; i++) {
      const gi = grad(loss)(w, xs.get(i)) as Array;
      expectClose(host(per.get(i)), host(gi), { rtol: 1e-5, atol: 1e-6 }, `row ${i}`);
    }
  });

  it("jit(vmap(grad(f))) and jvp of vmap", () => {
    const f = (x: Array) => np.sum(np.multiply(np.exp(x), x));
    const jg = jit(vmap(grad(f)));
    const xs = toArr(arg([3, 2], rand(6, 5)));
    expectClose(host(jg(xs) as Array), host(np.multiply(np.exp(xs), np.add(xs, 1))), { rtol: 1e-5, atol: 1e-6 });
    const [, t] = jvp(vmap((x: Array) => np.sin(x)), [xs], [np.onesLike(xs)]) as [Array, Array];
    expectClose(host(t), host(np.cos(xs)), { rtol: 1e-5, atol: 1e-6 });
  });

  it("grad through vmap of a scan", () => {
    const run = (w: Array, xs: Array) => {
      const [c] = scan((c: Array, x: Array) => [np.sin(np.add(np.multiply(c, w), x)), c] as const, np.zeros([]), xs);
      return c as Array;
    };
    const f = (w: Array, batch: Array) => vmap((xs: Array) => run(w, xs))(batch) as Array;
    checkBoth(f, [arg([], [0.7]), arg([3, 4], rand(12, 6))]);
  });
});
