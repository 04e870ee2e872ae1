import { describe, expect, it } from "vitest";
import { np, type Array } from "@refs/core";
import {
  applyUpdates,
  chain,
  clipByGlobalNorm,
  EmptyState,
  globalNorm,
  identity,
  scale,
  sgd,
  trace,
  TraceState,
  addDecayedWeights,
} from "../src/index.js";
import { expectClose } from "./helpers.js";

const f32 = (v: number | number[] | number[][]): Array => np.array(v, { dtype: "float32" });

describe("sgd", () => {
  it("without momentum: u = −lr·g, state [EmptyState, EmptyState]", () => {
    const opt = sgd(0.5);
    const p = f32([1, 2]);
    const s = opt.init(p);
    expect(s[0]).toBeInstanceOf(EmptyState);
    expect(s[1]).toBeInstanceOf(EmptyState);
    const [u] = opt.update(f32([0.2, -4]), s);
    expectClose(u, [-0.1, 2]);
    expectClose(applyUpdates(p, u), [0.9, 4]);
  });

  it("with momentum (optax trace): t = g + m·t, u = −lr·t", () => {
    const opt = sgd(0.1, { momentum: 0.9 });
    let s = opt.init(f32([0, 0]));
    expect(s[0]).toBeInstanceOf(TraceState);
    // t1 = g1 = [1, 2]; t2 = g2 + 0.9·t1 = [0.5 + 0.9, −1 + 1.8] = [1.4, 0.8];
    // t3 = g3 + 0.9·t2 = [0 + 1.26, 1 + 0.72] = [1.26, 1.72]
    const grads = [[1, 2], [0.5, -1], [0, 1]];
    const expected = [[-0.1, -0.2], [-0.14, -0.08], [-0.126, -0.172]];
    grads.forEach((g, i) => {
      const [u, ns] = opt.update(f32(g), s);
      s = ns;
      expectClose(u, expected[i], 1e-6);
    });
    expectClose((s[0] as TraceState).trace, [1.26, 1.72], 1e-6);
  });

  it("with Nesterov momentum: t = g + m·t, u = −lr·(g + m·t)", () => {
    const opt = sgd(0.1, { momentum: 0.9, nesterov: true });
    let s = opt.init(f32([0, 0]));
    // t1 = [1, 2], u1 = −0.1·(g1 + 0.9·t1) = −0.1·[1.9, 3.8]
    // t2 = [1.4, 0.8], u2 = −0.1·([0.5, −1] + 0.9·[1.4, 0.8]) = −0.1·[1.76, −0.28]
    const grads = [[1, 2], [0.5, -1]];
    const expected = [[-0.19, -0.38], [-0.176, 0.028]];
    grads.forEach((g, i) => {
      const [u, ns] = opt.update(f32(g), s);
      s = ns;
      expectClose(u, expected[i], 1e-6);
    });
  });

  it("trace keeps its accumulator dtype", () => {
    const tx = trace({ decay: 0.5, accumulatorDtype: "float32" });
    const [u, s] = tx.update(f32([2]), tx.init(f32([0])));
    expectClose(u, [2]);
    expect((s.trace as Array).dtype).toBe("float32");
  });
});

describe("chain", () => {
  it("applies transformations in order: scale then add decay ≠ add decay then scale", () => {
    const p = f32([10]);
    const g = f32([1]);
    const a = chain(scale(2), addDecayedWeights(0.5));
    const b = chain(addDecayedWeights(0.5), scale(2));
    const [ua] = a.update(g, a.init(p), p);
    const [ub] = b.update(g, b.init(p), p);
    expectClose(ua, [2 * 1 + 0.5 * 10]);
    expectClose(ub, [2 * (1 + 0.5 * 10)]);
  });

  it("returns one state per transformation and threads them through", () => {
    const opt = chain(identity(), trace({ decay: 0.5 }), scale(-1));
    const s0 = opt.init({ x: f32([0]) });
    expect(s0).toHaveLength(3);
    const [, s1] = opt.update({ x: f32([2]) }, s0);
    const [u2] = opt.update({ x: f32([2]) }, s1);
    expectClose(u2.x, [-(2 + 0.5 * 2)]);
  });

  it("an empty chain is the identity", () => {
    const opt = chain();
    const [u, s] = opt.update(f32([3]), opt.init(f32([0])));
    expect(u.toJs()).toEqual([3]);
    expect(s).toEqual([]);
  });
});

describe("clipByGlobalNorm", () => {
  const g = { a: f32([3, 0]), b: [f32([[4]])] }; // global norm 5

  it("computes the global norm over all leaves", () => {
    expectClose(globalNorm(g), 5);
  });

  it("rescales updates whose norm is above the limit to norm maxNorm", () => {
    const tx = clipByGlobalNorm(1);
    const [u, s] = tx.update(g, tx.init(g));
    expect(s).toBeInstanceOf(EmptyState);
    expectClose(u.a, [0.6, 0]);
    expectClose(u.b, [[0.8]]);
    expectClose(globalNorm(u), 1, 1e-6);
  });

  it("leaves updates below the limit unchanged", () => {
    const tx = clipByGlobalNorm(10);
    const [u] = tx.update(g, tx.init(g));
    expect(u.a.toJs()).toEqual([3, 0]);
    expect(u.b[0]!.toJs()).toEqual([[4]]);
  });

  it("in a chain, clips before scaling", () => {
    const opt = chain(clipByGlobalNorm(2.5), sgd(0.1));
    const [u] = opt.update(g, opt.init(g));
    expectClose(u.a, [-0.15, 0]);
    expectClose(u.b, [[-0.2]]);
  });
});
