import { describe, expect, it } from "vitest";
import { np, registerPytreeNode, tree, type Array } from "@refs/core";
import { jit } from "@refs/trace";
import {
  adam,
  adamw,
  applyUpdates,
  chain,
  clipByGlobalNorm,
  EmptyState,
  ScaleByAdamState,
  sgd,
  warmupCosineDecaySchedule,
  type GradientTransformation,
} from "../src/index.js";
import { expectClose, flat, host } from "./helpers.js";

const f32 = (v: number | number[] | number[][]): Array => np.array(v, { dtype: "float32" });

/** A user's registered pytree class (like a module). */
class Linear {
  constructor(readonly kernel: Array, readonly bias: Array, readonly name: string) {}
}
registerPytreeNode(Linear, {
  flatten: (l) => [[["kernel", l.kernel], ["bias", l.bias]], l.name],
  unflatten: (name, [kernel, bias]) => new Linear(kernel as Array, bias as Array, name as string),
});

const makeParams = () => ({
  layers: [new Linear(f32([[1, 2], [3, 4]]), f32([0.5, -0.5]), "l0"), new Linear(f32([[-1], [2]]), f32([0]), "l1")],
  extra: { scale: f32(2), nothing: null },
});
const makeGrads = (k: number) => ({
  layers: [
    new Linear(f32([[0.1 * k, -0.2], [0.3, 0.4 * k]]), f32([1, -k]), "l0"),
    new Linear(f32([[k], [-0.5]]), f32([0.25 * k]), "l1"),
  ],
  extra: { scale: f32(-k), nothing: null },
});

describe("pytrees", () => {
  it("states and updates keep the params' structure (objects, arrays, registered classes, null)", () => {
    const opt = adam(0.01);
    const params = makeParams();
    const state = opt.init(params);
    const adamState = state[0];
    expect(tree.structure(adamState.mu).equals(tree.structure(params))).toBe(true);
    const [u, s1] = opt.update(makeGrads(1), state, params);
    expect(u.layers[0]).toBeInstanceOf(Linear);
    expect(u.layers[1]!.name).toBe("l1");
    expect(u.extra.nothing).toBeNull();
    const next = applyUpdates(params, u);
    expect(next.layers[0]).toBeInstanceOf(Linear);
    expect(tree.structure(next).equals(tree.structure(params))).toBe(true);
    // Each leaf moves like a one-leaf Adam would move it.
    const single = adam(0.01);
    const [uw] = single.update(makeGrads(1).layers[0]!.kernel, single.init(params.layers[0]!.kernel));
    expectClose(u.layers[0]!.kernel, uw, 0);
    // The whole state is a pytree: its leaves are count, mu's and nu's leaves.
    expect(tree.leaves(s1)).toHaveLength(1 + 2 * tree.leaves(params).length);
  });

  it("leaves of every dtype-preserving shape come back with their shapes", () => {
    const opt = chain(clipByGlobalNorm(1), sgd(0.1, { momentum: 0.9 }));
    const params = makeParams();
    const [u] = opt.update(makeGrads(2), opt.init(params), params);
    expect(tree.leaves(u).map((l) => (l as Array).shape)).toEqual(tree.leaves(params).map((l) => (l as Array).shape));
  });
});

describe("under jit", () => {
  function compare<S>(opt: GradientTransformation<S>, steps = 3): void {
    const step = (params: ReturnType<typeof makeParams>, state: S, grads: ReturnType<typeof makeGrads>) => {
      const [u, s] = opt.update(grads, state, params);
      return [applyUpdates(params, u), s] as const;
    };
    const jstep = jit(step);
    let pe = makeParams();
    let pj = makeParams();
    let se = opt.init(pe);
    let sj = opt.init(pj);
    for (let k = 1; k <= steps; k++) {
      [pe, se] = step(pe, se, makeGrads(k));
      [pj, sj] = jstep(pj, sj, makeGrads(k));
      expect(pj.layers[0]).toBeInstanceOf(Linear);
      expectClose(pj, pe, 1e-6, 1e-9);
      expectClose(sj, se, 1e-6, 1e-9);
      expect(tree.structure(sj).equals(tree.structure(se))).toBe(true);
    }
    expect(jstep.cacheSize).toBe(1);
  }

  it("a jitted adam step gives the eager numbers", () => compare(adam(0.05)));
  it("a jitted adamw step with a schedule and a mask gives the eager numbers", () =>
    compare(
      adamw(warmupCosineDecaySchedule(0, 0.1, 2, 10), {
        weightDecay: 0.1,
        mask: (p: unknown) => tree.map((x: unknown) => (x as Array).ndim > 1, p),
      }),
      4,
    ));
  it("a jitted sgd step with Nesterov momentum and clipping gives the eager numbers", () =>
    compare(chain(clipByGlobalNorm(0.5), sgd(0.1, { momentum: 0.9, nesterov: true }))));

  it("state classes survive jit: ScaleByAdamState and EmptyState come back", () => {
    const opt = adam(0.1);
    const p = { w: f32([1, 2]) };
    const f = jit((s: ReturnType<typeof opt.init>, g: { w: Array }) => opt.update(g, s, p)[1]);
    const s = f(opt.init(p), { w: f32([1, 1]) });
    expect(s[0]).toBeInstanceOf(ScaleByAdamState);
    expect(s[1]).toBeInstanceOf(EmptyState);
    expect(s[0].count.dtype).toBe("int32");
    expect(s[0].count.item()).toBe(1);
    expect(flat(host(s[0].mu))).toEqual(flat(f32([0.1, 0.1])));
  });
});
