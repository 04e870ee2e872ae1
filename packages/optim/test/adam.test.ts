import { describe, expect, it } from "vitest";
import { np, tree, type Array } from "@refs/core";
import { jit } from "@refs/trace";
import { adam, adamw, applyUpdates, scaleByAdam, ScaleByAdamState, EmptyState, INT32_MAX, chain, scaleByLearningRate } from "../src/index.js";
import { expectClose, flat } from "./helpers.js";

const f32 = (v: number | number[]): Array => np.array(v, { dtype: "float32" });
const fr = Math.fround;
/** optax's bias correction `1 − b ** count`, evaluated in float32 (it cancels: 1 − 0.999² loses digits). */
const bc = (b: number, c: number): number => fr(1 - fr(fr(b) ** c));

/**
 * Adam in float64, written out: the update of each step for a list of
 * gradients. Hyper-parameters enter as the float32 constants optax uses
 * (`(1 − b1)` is computed in double and then rounded) and the bias
 * corrections are float32 values; without that, the first step alone differs
 * from optax's float32 result by 7e-6 relative (1 − fround(0.999) ≠ fround(1 − 0.999)),
 * the second by 3e-6.
 */
function adamRef(grads: number[][], lr: number, b1x = 0.9, b2x = 0.999, epsx = 1e-8, epsRootx = 0, wdx = 0, params?: number[]): number[][] {
  const b1 = fr(b1x), b2 = fr(b2x), eps = fr(epsx), epsRoot = fr(epsRootx), wd = fr(wdx);
  const c1 = fr(1 - b1x), c2 = fr(1 - b2x);
  const n = grads[0]!.length;
  let mu = new globalThis.Array<number>(n).fill(0);
  let nu = new globalThis.Array<number>(n).fill(0);
  let p = params ? params.slice() : new globalThis.Array<number>(n).fill(0);
  const out: number[][] = [];
  grads.forEach((g, step) => {
    const c = step + 1;
    mu = g.map((gi, i) => c1 * fr(gi) + b1 * mu[i]!);
    nu = g.map((gi, i) => c2 * fr(gi) * fr(gi) + b2 * nu[i]!);
    const u = mu.map((m, i) => {
      const mHat = m / bc(b1, c);
      const vHat = nu[i]! / bc(b2, c);
      return fr(-lr) * (mHat / (Math.sqrt(vHat + epsRoot) + eps) + wd * p[i]!);
    });
    p = p.map((pi, i) => pi + u[i]!);
    out.push(u);
  });
  return out;
}

describe("adam", () => {
  it("matches a hand-computed two-step example (scalar and vector)", () => {
    // optax runs in float32: the constants are float32 roundings of
    // (1 − b1) = 0.1, b1 = 0.9, (1 − b2) = 0.001, b2 = 0.999, and the bias
    // corrections 1 − b^c are float32 values (see bc).
    const c1 = fr(0.1), b1 = fr(0.9), c2 = fr(0.001), b2 = fr(0.999), lr = fr(-0.1), eps = fr(1e-8);
    // Step 1, g = 0.5: mu = 0.05, nu = 0.00025, m̂ = 0.05/0.1 = 0.5, v̂ ≈ 0.00025/0.001 = 0.25,
    // u ≈ −0.1 · 0.5/(0.5 + 1e-8) (exactly: v̂ = 0.00025/(1 − 0.99900001) = 0.2500032).
    const g1 = 0.5;
    const mu1 = c1 * g1;
    const nu1 = c2 * g1 * g1;
    const u1 = lr * ((mu1 / bc(b1, 1)) / (Math.sqrt(nu1 / bc(b2, 1)) + eps));
    expect(u1).toBeCloseTo(-0.1 * 0.5 / Math.sqrt(0.25), 5);
    // Step 2, g = −1: mu = 0.1·(−1) + 0.9·0.05 = −0.055, nu = 0.001·1 + 0.999·0.00025 = 0.00124975,
    // m̂ = −0.055/(1 − 0.9²) = −0.055/0.19, v̂ = 0.00124975/(1 − 0.999²) = 0.00124975/0.001999.
    const g2 = -1;
    const mu2 = c1 * g2 + b1 * mu1;
    const nu2 = c2 * g2 * g2 + b2 * nu1;
    const u2 = lr * ((mu2 / bc(b1, 2)) / (Math.sqrt(nu2 / bc(b2, 2)) + eps));
    expect(mu2).toBeCloseTo(-0.055, 7);
    expect(nu2).toBeCloseTo(0.00124975, 7);
    expect(u2).toBeCloseTo(-0.1 * (-0.055 / 0.19) / Math.sqrt(0.00124975 / 0.001999), 5);

    const opt = adam(0.1);
    const params = { s: f32(1.0), v: f32([1.0, 2.0]) };
    let state = opt.init(params);
    const [up1, s1] = opt.update({ s: f32(g1), v: f32([g1, 2 * g1]) }, state, params);
    state = s1;
    const [up2, s2] = opt.update({ s: f32(g2), v: f32([g2, 3]) }, state, params);
    expectClose(up1.s, u1);
    expectClose(up2.s, u2);
    const [v1, v2] = adamRef([[g1, 2 * g1], [g2, 3]], 0.1);
    expectClose(up1.v, v1);
    expectClose(up2.v, v2);
    // state: count is an int32 scalar; mu/nu have the params' structure
    const [adamState, lrState] = s2;
    expect(adamState).toBeInstanceOf(ScaleByAdamState);
    expect(lrState).toBeInstanceOf(EmptyState);
    expect(String(adamState.count)).toBe("Array(2, dtype=int32)");
    expectClose((adamState.mu as { s: unknown }).s, mu2);
    expectClose((adamState.nu as { s: unknown }).s, nu2);
  });

  it("honours b1, b2, eps and epsRoot", () => {
    const grads = [[0.3, -1.2, 4], [0.1, 0.1, -2], [-5, 0.02, 0.5]];
    const expected = adamRef(grads, 0.01, 0.8, 0.99, 1e-3, 1e-4);
    const opt = adam(0.01, { b1: 0.8, b2: 0.99, eps: 1e-3, epsRoot: 1e-4 });
    const params = np.zeros([3]);
    let state = opt.init(params);
    grads.forEach((g, i) => {
      const [u, s] = opt.update(f32(g), state);
      state = s;
      expectClose(u, expected[i]);
    });
  });

  it("is chain(scaleByAdam, scaleByLearningRate)", () => {
    const a = adam(0.05);
    const b = chain(scaleByAdam(), scaleByLearningRate(0.05));
    const p = f32([1, 2, 3]);
    const g = f32([0.5, -0.25, 2]);
    const [ua] = a.update(g, a.init(p));
    const [ub] = b.update(g, b.init(p));
    expect(ua.toJs()).toEqual(ub.toJs());
  });

  it("keeps mu in muDtype (checked on the staged program: the CPU backend has no float16)", () => {
    const opt = adam(0.1, { muDtype: "float16" });
    type S = { mu: { w: Array }; nu: { w: Array } };
    const lowered = jit((w: Array, g: Array) => {
      const s0 = opt.init({ w });
      const [u, s1] = opt.update({ w: g }, s0);
      return [(s0[0] as S).mu.w, (s0[0] as S).nu.w, u.w, (s1[0] as S).mu.w];
    }).lower(np.ones([2]), f32([0.5, -0.5]));
    expect(lowered.program.outputs.map((o) => o.aval.dtype)).toEqual(["float16", "float32", "float32", "float16"]);
  });

  it("saturates the step count at the int32 maximum", () => {
    const tx = scaleByAdam();
    const p = f32([1.0]);
    const s0 = tx.init(p);
    let s = new ScaleByAdamState(np.array(INT32_MAX - 1, { dtype: "int32" }), s0.mu, s0.nu);
    [, s] = tx.update(f32([1.0]), s);
    expect(s.count.item()).toBe(INT32_MAX);
    const [u, s2] = tx.update(f32([1.0]), s);
    expect(s2.count.item()).toBe(INT32_MAX);
    expect(s2.count.dtype).toBe("int32");
    // bias corrections are 1 at such counts: u = mu/(sqrt(nu)+eps)
    const mu = flat(s2.mu)[0]!;
    const nu = flat(s2.nu)[0]!;
    expectClose(u, mu / (Math.sqrt(nu) + 1e-8), 1e-6);
  });

  it("applyUpdates moves params by the updates and keeps their dtype", () => {
    const opt = adam(0.1);
    const params = { a: f32([1, 2]), b: [f32(3.0)] };
    const state = opt.init(params);
    const [u] = opt.update({ a: f32([1, -1]), b: [f32(0.0)] }, state);
    const next = applyUpdates(params, u);
    expectClose(next.a, [0.9, 2.1], 1e-6);
    expectClose(next.b, [3.0]);
    expect(next.a.dtype).toBe("float32");
    const ints = applyUpdates(np.array([1, 2], { dtype: "int32" }), np.array([0.6, 0.6]));
    expect(ints.dtype).toBe("int32");
    expect(ints.toJs()).toEqual([1, 2]);
  });
});

describe("adamw", () => {
  it("adds weightDecay·p after the Adam scaling and before the learning rate", () => {
    const params = [2.0, -3.0];
    const grads = [[0.4, 0.1], [-0.2, 0.3]];
    const expected = adamRef(grads, 0.1, 0.9, 0.999, 1e-8, 0, 0.05, params);
    const opt = adamw(0.1, { weightDecay: 0.05 });
    let p = f32(params);
    let state = opt.init(p);
    grads.forEach((g, i) => {
      const [u, s] = opt.update(f32(g), state, p);
      state = s;
      expectClose(u, expected[i]);
      p = applyUpdates(p, u);
    });
    // step 1 by hand: Adam's first step is sign(g) (up to eps and float32
    // rounding of the constants, 7e-6), so u = −0.1·(1 + 0.05·2), −0.1·(1 − 0.05·3)
    expectClose(expected[0], [-0.1 * (1 + 0.1), -0.1 * (1 - 0.15)], 1e-5);
  });

  it("uses the default weight decay 1e-4", () => {
    const opt = adamw(1);
    const p = f32([100.0]);
    const [u] = opt.update(f32([1.0]), opt.init(p), p);
    expectClose(u, adamRef([[1]], 1, 0.9, 0.999, 1e-8, 0, 1e-4, [100])[0]);
    expectClose(u, [-(1 + 1e-4 * 100)], 1e-5);
  });

  it("a mask limits the decay to the selected leaves", () => {
    const params = { w: f32([2.0]), b: f32([2.0]) };
    const g = { w: f32([1.0]), b: f32([1.0]) };
    const withTree = adamw(0.1, { weightDecay: 0.5, mask: { w: true, b: false } });
    const [u1] = withTree.update(g, withTree.init(params), params);
    expectClose(u1.w, adamRef([[1]], 0.1, 0.9, 0.999, 1e-8, 0, 0.5, [2])[0]); // −0.1·(1 + 0.5·2)
    expectClose(u1.b, adamRef([[1]], 0.1)[0]); // −0.1·1
    const withFn = adamw(0.1, { weightDecay: 0.5, mask: (p: unknown) => tree.map(() => false, p) });
    const [u2] = withFn.update(g, withFn.init(params), params);
    expectClose(u2.w, adamRef([[1]], 0.1)[0]);
  });

  it("needs params", () => {
    const opt = adamw(0.1);
    const p = f32([1.0]);
    expect(() => opt.update(f32([1.0]), opt.init(p))).toThrow(/addDecayedWeights: .*not passing `params`/);
  });
});
