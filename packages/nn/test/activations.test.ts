import { describe, expect, it } from "vitest";
import { Array, np, random } from "@refs/core";
import { grad, jit, vmap } from "@refs/trace";
import { celu, elu, gelu, hardTanh, leakyRelu, logSigmoid, logSoftmax, oneHot, relu, relu6, selu, sigmoid, silu, softplus, softmax, tanh } from "../src/index.js";

const vals = (a: Array): number[] => globalThis.Array.from(a.dataSync() as ArrayLike<number>, Number);
const pts = [-5, -2.5, -1, -0.3, 0, 0.2, 0.7, 1, 3, 8];
const X = np.array(pts).astype("float32");
const f32 = (v: number) => Math.fround(v);
const check = (a: Array, f: (x: number) => number, tol = 2e-6) => {
  const got = vals(a);
  pts.forEach((p, i) => {
    const want = f(f32(p));
    expect(Math.abs(got[i]! - want)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want)));
  });
};

// erf via a high-precision series/continued fraction (for the exact gelu)
function erf(x: number): number {
  const t = 1 / (1 + 0.5 * Math.abs(x));
  const y =
    1 -
    t *
      Math.exp(
        -x * x -
          1.26551223 +
          t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
      );
  return x >= 0 ? y : -y;
}

describe("activations", () => {
  it("closed forms", () => {
    check(relu(X), (x) => Math.max(x, 0));
    check(relu6(X.mul(2)), (x) => Math.min(Math.max(2 * x, 0), 6));
    check(sigmoid(X), (x) => 1 / (1 + Math.exp(-x)));
    check(silu(X), (x) => x / (1 + Math.exp(-x)));
    check(tanh(X), Math.tanh);
    check(gelu(X), (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))));
    check(gelu(X, false), (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)), 1e-6);
    check(elu(X), (x) => (x > 0 ? x : Math.expm1(x)));
    check(elu(X, 0.5), (x) => (x > 0 ? x : 0.5 * Math.expm1(x)));
    check(celu(X, 2), (x) => Math.max(x, 0) + 2 * Math.expm1(Math.min(x, 0) / 2));
    check(selu(X), (x) => 1.0507009873554805 * (x > 0 ? x : 1.6732632423543772 * Math.expm1(x)));
    check(leakyRelu(X), (x) => (x >= 0 ? x : 0.01 * x));
    check(leakyRelu(X, 0.2), (x) => (x >= 0 ? x : 0.2 * x));
    check(softplus(X), (x) => Math.log1p(Math.exp(x)));
    check(logSigmoid(X), (x) => -Math.log1p(Math.exp(-x)));
    check(hardTanh(X), (x) => Math.min(Math.max(x, -1), 1));
  });

  it("gelu follows JAX's float32 expression exactly", () => {
    const c = f32(Math.sqrt(2 / Math.PI));
    const got = vals(gelu(X));
    pts.forEach((p, i) => {
      const x = f32(p);
      const x3 = f32(f32(x * x) * x);
      const inner = f32(c * f32(x + f32(x3 * f32(0.044715))));
      const cdf = f32(0.5 * f32(1 + f32(Math.tanh(inner))));
      // tanh may differ by an ulp between implementations
      expect(Math.abs(got[i]! - f32(x * cdf))).toBeLessThanOrEqual(2 * 2 ** -23 * Math.max(Math.abs(x), 1e-30));
    });
  });

  it("softmax and logSoftmax", () => {
    const x = random.normal(random.key(0), [3, 5]).mul(4);
    const s = softmax(x);
    expect(s.shape).toEqual([3, 5]);
    vals(s.sum(-1)).forEach((v) => expect(Math.abs(v - 1)).toBeLessThan(1e-6));
    const xv = vals(x);
    for (let r = 0; r < 3; r++) {
      const row = xv.slice(r * 5, r * 5 + 5);
      const m = Math.max(...row);
      const z = row.reduce((a, b) => a + Math.exp(b - m), 0);
      row.forEach((v, j) => {
        expect(Math.abs(vals(s)[r * 5 + j]! - Math.exp(v - m) / z)).toBeLessThan(1e-6);
        expect(Math.abs(vals(logSoftmax(x))[r * 5 + j]! - (v - m - Math.log(z)))).toBeLessThan(2e-6);
      });
    }
    // other axis; large inputs stay finite (max subtracted)
    vals(softmax(x, 0).sum(0)).forEach((v) => expect(Math.abs(v - 1)).toBeLessThan(1e-6));
    const big = softmax(np.array([1000, 1001, 1002]).astype("float32"));
    close3(vals(big), [0.09003057, 0.24472847, 0.66524096]);
  });

  it("oneHot", () => {
    const o = oneHot(np.array([0, 2, 1, 3], { dtype: "int32" }), 3);
    expect(o.dtype).toBe("float32");
    expect(o.toJs()).toEqual([
      [1, 0, 0],
      [0, 0, 1],
      [0, 1, 0],
      [0, 0, 0],
    ]);
    expect(oneHot(np.array([1, 0], { dtype: "int32" }), 2, { axis: 0 }).toJs()).toEqual([
      [0, 1],
      [1, 0],
    ]);
  });

  it("work under jit, vmap and grad", () => {
    const x = random.normal(random.key(3), [4, 6]);
    const f = (x: Array) => gelu(x).add(softmax(x)).add(silu(x)).add(elu(x)).add(relu(x));
    const eager = vals(f(x));
    vals(jit(f)(x)).forEach((v, i) => expect(Math.abs(v - eager[i]!)).toBeLessThan(1e-6));
    vals(vmap(f)(x) as Array).forEach((v, i) => expect(Math.abs(v - eager[i]!)).toBeLessThan(1e-6));
    // d/dx sum(softmax(x) * w) vs the closed form s * (w - sum(s * w))
    const w = random.normal(random.key(4), [6]);
    const row = x.get(0);
    const g = grad((r: Array) => softmax(r).mul(w).sum())(row) as Array;
    const s = softmax(row);
    const want = s.mul(w.sub(s.mul(w).sum()));
    vals(g).forEach((v, i) => expect(Math.abs(v - vals(want)[i]!)).toBeLessThan(1e-6));
    // relu'(0) = 0 as JAX
    expect(vals(grad((v: Array) => relu(v).sum())(np.array([-1, 0, 2]).astype("float32")) as Array)).toEqual([0, 0, 1]);
    // gelu' at a few points vs central differences in float64
    const gg = vals(grad((v: Array) => gelu(v).sum())(X) as Array);
    const gel = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
    pts.forEach((p, i) => expect(Math.abs(gg[i]! - (gel(p + 1e-5) - gel(p - 1e-5)) / 2e-5)).toBeLessThan(1e-5));
  });
});

function close3(a: number[], b: number[]) {
  a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThan(1e-6));
}
