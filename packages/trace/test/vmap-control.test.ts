/** vmap of scan, cond/switchCase, whileLoop and foriLoop, compared with per-example loops. */
import { describe, expect, it } from "vitest";
import { Array, np, newRef, type Ref } from "@refs/core";
import { cond, foriLoop, jit, scan, switchCase, vmap, whileLoop } from "../src/index.js";
import { expectClose, perExample, rand, randInt } from "./vmap-helpers.js";

describe("vmap of scan", () => {
  const cumul = (xs: Array) => scan((c: Array, x: Array) => [c.add(x), c.mul(x)] as const, np.zeros([xs.shape[1]!]), xs);

  it("batched xs (carry becomes batched)", () => {
    const xs = rand([3, 5, 2]);
    expectClose(vmap(cumul)(xs), perExample(cumul, [xs], [0], 3));
  });

  it("batched xs on another axis, reverse scan", () => {
    const f = (xs: Array) => scan((c: Array, x: Array) => [c.mul(0.5).add(x), c] as const, np.zeros([2]), xs, { reverse: true });
    const xs = rand([5, 2, 4]); // batch on axis 2
    expectClose(vmap(f, { inAxes: 2 })(xs), perExample(f, [xs], [2], 4));
  });

  it("batched init with unbatched xs", () => {
    const f = (c0: Array, xs: Array) => scan((c: Array, x: Array) => [np.tanh(c.add(x)), c.sum()] as const, c0, xs);
    const c0 = rand([4, 3]);
    const xs = rand([6, 3]);
    expectClose(vmap(f, { inAxes: [0, null] })(c0, xs), perExample(f, [c0, xs], [0, null], 4));
  });

  it("a carry that becomes batched through a batched closed-over constant (fixpoint)", () => {
    const xs = rand([6, 3]);
    const f = (w: Array) =>
      scan(
        ([c, k]: [Array, Array], x: Array) => [[c.mul(w).add(x), k.add(1)] as [Array, Array], c.sum()] as const,
        [np.zeros([3]), np.zeros([])] as [Array, Array],
        xs,
      );
    const w = rand([4, 3]);
    expectClose(vmap(f)(w), perExample(f, [w], [0], 4));
  });

  it("foriLoop with static bounds (a scan) and a batched carry", () => {
    const f = (x: Array) => foriLoop(0, 4, (i, c: Array) => c.mul(x).add(i.astype("float32")), np.ones([2]));
    const x = rand([3, 2]);
    expectClose(vmap(f)(x), perExample(f, [x], [0], 3));
  });

  it("a scan writing a batched ref (closed over in the body)", () => {
    const vals = rand([4, 5, 2]);
    const r = newRef(np.zeros([4, 2]));
    vmap((r: Ref, xs: Array) => {
      scan((c: Array, x: Array) => {
        r.addUpdate(x);
        return [c, c] as const;
      }, np.zeros([]), xs);
    })(r, vals);
    expectClose(r.get(), vals.sum(1));
  });

  it("a batched ref passed as scan xs: each step writes its row of each example", () => {
    const base = rand([3, 4, 2]);
    const r = newRef(base);
    vmap((r: Ref, s: Array) => {
      scan((c: Array, row: Ref) => {
        row.set(row.get().mul(s).add(c));
        return [c.add(1), c] as const;
      }, np.zeros([]), r);
    })(r, np.array([1, 2, 3], { dtype: "float32" }));
    const steps = np.arange(4, undefined, undefined, { dtype: "float32" }).reshape([1, 4, 1]);
    expectClose(r.get(), base.mul(np.array([1, 2, 3], { dtype: "float32" }).reshape([3, 1, 1])).add(steps));
  });

  it("jit(vmap(scan))", () => {
    const xs = rand([3, 5, 2]);
    expectClose(jit(vmap(cumul))(xs), perExample(cumul, [xs], [0], 3));
  });
});

describe("vmap of cond / switchCase", () => {
  it("unbatched predicate, batched operands", () => {
    const f = (p: Array, x: Array) => cond(p.gt(0), (x: Array) => np.sin(x), (x: Array) => np.cos(x).mul(2), x);
    const x = rand([4, 3]);
    for (const pv of [1, -1]) {
      const p = np.array(pv, { dtype: "float32" });
      expectClose(vmap(f, { inAxes: [null, 0] })(p, x), perExample(f, [p, x], [null, 0], 4));
    }
  });

  it("unbatched predicate, output batched in one branch only", () => {
    const c = np.array([1, 2, 3], { dtype: "float32" });
    const f = (p: Array, x: Array) => cond(p.gt(0), () => x.mul(2), () => c);
    const x = rand([4, 3]);
    for (const pv of [1, -1]) {
      const p = np.array(pv, { dtype: "float32" });
      expectClose(vmap(f, { inAxes: [null, 0] })(p, x), perExample(f, [p, x], [null, 0], 4));
    }
  });

  it("batched predicate: both branches evaluated, selected per example", () => {
    const f = (p: Array, x: Array) => cond(p.gt(0), (x: Array) => [np.sin(x), x.sum()], (x: Array) => [np.cos(x), x.max()], x);
    const p = np.array([1, -1, 2, -3], { dtype: "float32" });
    const x = rand([4, 3]);
    expectClose(vmap(f)(p, x), perExample(f, [p, x], [0, 0], 4));
  });

  it("batched switch index with three branches (clamped)", () => {
    const branches = [(x: Array) => x.add(1), (x: Array) => x.mul(10), (x: Array) => x.neg()];
    const f = (i: Array, x: Array) => switchCase(i, branches, x);
    const i = np.array([0, 1, 2, 5, -1], { dtype: "int32" });
    const x = rand([5, 2]);
    expectClose(vmap(f)(i, x), perExample(f, [i, x], [0, 0], 5));
  });

  it("cond writing a batched ref", () => {
    const r = newRef(np.zeros([3, 2]));
    const p = np.array([1, 0, 1], { dtype: "int32" });
    const x = rand([3, 2]);
    vmap((r: Ref, p: Array, x: Array) =>
      cond(
        p.gt(0),
        () => r.addUpdate(x),
        () => r.addUpdate(x.mul(-1)),
      ),
    )(r, p, x);
    expectClose(r.get(), x.mul(np.array([1, -1, 1], { dtype: "float32" }).reshape([3, 1])));
  });
});

describe("vmap of whileLoop / foriLoop", () => {
  it("unbatched predicate, batched carry", () => {
    const f = (x: Array) => whileLoop(([i]: [Array, Array]) => i.lt(5), ([i, c]: [Array, Array]) => [i.add(1), c.mul(1.5).add(x)] as [Array, Array], [np.asarray(0), np.zeros([2])] as [Array, Array]);
    const x = rand([3, 2]);
    expectClose(vmap(f)(x), perExample(f, [x], [0], 3));
  });

  it("batched predicate: each example stops on its own", () => {
    const f = (limit: Array) =>
      whileLoop(
        ([v]: [Array, Array]) => v.lt(limit),
        ([v, n]: [Array, Array]) => [v.mul(2).add(1), n.add(1)] as [Array, Array],
        [np.asarray(1, { dtype: "float32" }), np.asarray(0, { dtype: "int32" })] as [Array, Array],
      );
    const limit = np.array([3, 100, 1, 20], { dtype: "float32" });
    const out = vmap(f)(limit) as Array[];
    expectClose(out, perExample(f, [limit], [0], 4));
    // The examples ran different numbers of iterations.
    expect(new Set(out[1]!.toJs() as number[]).size).toBeGreaterThan(2);
  });

  it("foriLoop with a batched upper bound", () => {
    const f = (hi: Array, x: Array) => foriLoop(0, hi, (i, c: Array) => c.add(x.mul(i.astype("float32"))), np.zeros([2]));
    const hi = randInt([4], 0, 6);
    const x = rand([4, 2]);
    expectClose(vmap(f)(hi, x), perExample(f, [hi, x], [0, 0], 4));
  });

  it("jit(vmap(whileLoop)) with a batched predicate", () => {
    const f = (limit: Array) => whileLoop((v: Array) => v.lt(limit), (v: Array) => v.mul(3), np.asarray(1, { dtype: "float32" }));
    const limit = np.array([2, 50, 7], { dtype: "float32" });
    expectClose(jit(vmap(f))(limit), perExample(f, [limit], [0], 3));
  });

  it("nested vmap through a while loop", () => {
    const f = (a: Array, b: Array) => whileLoop((v: Array) => v.lt(b), (v: Array) => v.add(a), np.asarray(0, { dtype: "float32" }));
    const a = np.array([1, 2], { dtype: "float32" });
    const b = np.array([3, 5, 7], { dtype: "float32" });
    const out = vmap(vmap(f, { inAxes: [null, 0] }), { inAxes: [0, null] })(a, b) as Array;
    const exp = np.stack([0, 1].map((i) => perExample(f, [a.get(i), b], [null, 0], 3) as Array));
    expectClose(out, exp);
  });
});
