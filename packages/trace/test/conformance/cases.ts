/**
 * Backend conformance cases for @refs/trace (jit with refs, grad, vmap, scan,
 * cond, whileLoop): run on the CPU by this package's `test/conformance.test.ts` and on
 * other backends (e.g. @refs/gpu) against the CPU. Same shape as
 * @refs/core's cases: `expected` holds hand-computed values; `tol` is the
 * relative float32 tolerance across backends (default 1e-5 + 1e-6 absolute).
 */
import { np, newRef, type Array, type Ref } from "@refs/core";
import { cond, foriLoop, grad, jit, jvp, scan, switchCase, valueAndGrad, vmap, whileLoop } from "../../src/index.js";

export interface ConformanceCase {
  name: string;
  run: () => Array | Array[];
  tol?: number;
  expected?: number[][];
}

const ramp = (shape: number[], k = 1) => {
  const n = shape.reduce((a, b) => a * b, 1);
  return np.sin(np.arange(n).astype("float32").mul(0.37 * k).add(0.1 * k)).reshape(shape);
};

const mlpLoss = (p: { w1: Array; b1: Array; w2: Array; b2: Array }, x: Array, y: Array) => {
  const h = np.tanh(np.matmul(x, p.w1).add(p.b1));
  return np.mean(np.square(np.matmul(h, p.w2).add(p.b2).sub(y)));
};
const i32 = (v: number) => np.array(v, { dtype: "int32" });

/** Collatz: steps until n reaches 1 (a trip count that depends on the data). */
const collatz = (n0: Array): [Array, Array] =>
  whileLoop(
    ([n]: [Array, Array]) => n.gt(1),
    ([n, k]: [Array, Array]) => [np.where(n.mod(2).eq(0), n.floorDiv(2), n.mul(3).add(1)), k.add(1)] as [Array, Array],
    [n0, i32(0)] as [Array, Array],
  );

/** Newton's iteration for sqrt(a) until |x² - a| <= 1e-5 a, counting iterations. */
const newtonSqrt = (a: Array): [Array, Array] =>
  whileLoop(
    ([x]: [Array, Array]) => np.abs(x.mul(x).sub(a)).gt(a.mul(1e-5)),
    ([x, k]: [Array, Array]) => [x.add(a.div(x)).mul(0.5), k.add(1)] as [Array, Array],
    [a.add(1), i32(0)] as [Array, Array],
  );

const mlpParams = () => ({ w1: ramp([3, 8], 1), b1: ramp([8], 2).mul(0.1), w2: ramp([8, 2], 3), b2: np.zeros([2]) });

export const traceCases: ConformanceCase[] = [
  {
    name: "jit: a ref updated in place (the notebook's increment), three calls",
    run: () => {
      const r = newRef(np.array([1, 2, 3], { dtype: "int32" }));
      const increment = jit(function increment(r: Ref) {
        r.set(r.get().add(1));
      });
      increment(r);
      increment(r);
      increment(r);
      return r.get();
    },
    expected: [[4, 5, 6]],
  },
  {
    name: "jit: a float ref and an output, read between calls",
    run: () => {
      const r = newRef(np.zeros([5]));
      const step = jit(function step(r: Ref, x: Array) {
        const v = r.get().mul(0.5).add(x);
        r.set(v);
        return np.sum(v);
      });
      const x = ramp([5]);
      const s1 = step(r, x);
      const mid = r.get();
      const s2 = step(r, x);
      return [s1, mid, s2, r.get()];
    },
  },
  {
    name: "jit: multiple outputs, literals and int ops",
    run: () => {
      const f = jit((x: Array, i: Array) => [np.exp(x).mul(2).sub(1), i.mul(3).add(7), np.where(x.gt(0), i, i.neg())] as const);
      const [a, b, c] = f(ramp([4, 3]), np.arange(12).reshape([4, 3]));
      return [a, b, c];
    },
  },
  {
    name: "grad of a small MLP loss (and valueAndGrad under jit)",
    run: () => {
      const x = ramp([6, 3], 4), y = ramp([6, 2], 5);
      const g = grad(mlpLoss)(mlpParams(), x, y);
      const [loss, g2] = jit((p: ReturnType<typeof mlpParams>) => valueAndGrad(mlpLoss)(p, x, y))(mlpParams());
      return [g.w1, g.b1, g.w2, g.b2, loss as Array, (g2 as typeof g).w1];
    },
    tol: 1e-4,
  },
  {
    name: "grad through softmax cross-entropy and reductions",
    run: () => {
      const f = (z: Array) => {
        const lse = np.logsumexp(z, { axis: -1, keepdims: true });
        return np.mean(np.sum(z.sub(lse).mul(ramp([3, 5], 2).gt(0)), { axis: -1 })).neg();
      };
      return grad(f)(ramp([3, 5]));
    },
  },
  {
    name: "vmap: per-example matmul, inAxes, and vmap of grad",
    run: () => {
      const w = ramp([4, 3]);
      const a = vmap((x: Array) => np.tanh(np.matmul(x, w)))(ramp([5, 4], 2)) as Array;
      const b = vmap((x: Array, y: Array) => np.sum(x.mul(y)), { inAxes: [1, null] })(ramp([3, 6], 3), ramp([3], 4)) as Array;
      const c = vmap(grad((x: Array) => np.sum(np.sin(x).mul(x))))(ramp([4, 3], 5)) as Array;
      return [a, b, c];
    },
  },
  {
    name: "scan: a closed-over ref += 2 five times",
    run: () => {
      const r = newRef(np.zeros([]));
      const [c, ys] = scan(
        (carry: Array, _x: Array) => {
          r.addUpdate(2);
          return [carry.add(1), r.get()] as const;
        },
        np.zeros([]),
        np.arange(5),
      );
      return [c as Array, ys as Array, r.get()];
    },
    expected: [[5], [2, 4, 6, 8, 10], [10]],
  },
  {
    name: "scan: refs as xs (rows updated in place)",
    run: () => {
      const r = newRef(np.arange(5));
      const [, ys] = scan(
        (carry: null, row: Ref) => {
          row.set(row.get().mul(2));
          return [carry, row.get()] as const;
        },
        null,
        r,
      );
      const m = newRef(ramp([4, 3]));
      scan((c: Array, row: Ref) => {
        row.set(np.tanh(row.get().add(c)));
        return [c.add(0.5), null] as const;
      }, np.zeros([3]), m);
      return [r.get(), ys as Array, m.get()];
    },
    expected: [[0, 2, 4, 6, 8], [0, 2, 4, 6, 8]],
  },
  {
    name: "scan: an RNN carry with stacked outputs, reverse, under jit",
    run: () => {
      const w = ramp([3, 3], 2).mul(0.5);
      const body = (h: Array, x: Array) => {
        const n = np.tanh(np.matmul(h, w).add(x));
        return [n, n.mul(2)] as const;
      };
      const [h, ys] = scan(body, np.zeros([3]), ramp([6, 3], 3)) as [Array, Array];
      const [h2] = jit((xs: Array) => scan(body, np.zeros([3]), xs, { reverse: true }))(ramp([6, 3], 4)) as [Array, Array];
      const f = foriLoop(0, 4, (i: Array, a: Array) => a.mul(1.5).add(np.astype(i, "float32")), np.ones([2]));
      return [h, ys, h2, f];
    },
  },
  {
    name: "cond and switchCase (eager and under jit)",
    run: () => {
      const x = ramp([4]);
      const a = cond(np.array(true), (v: Array) => v.mul(3), (v: Array) => v.sub(3), x) as Array;
      const b = cond(np.array(false), (v: Array) => v.mul(3), (v: Array) => v.sub(3), x) as Array;
      const j = jit((p: Array, v: Array) => cond(p, (v: Array) => np.exp(v), (v: Array) => np.negative(v), v));
      const c = j(np.array(true), x) as Array;
      const d = j(np.array(false), x) as Array;
      const s = switchCase(np.array(2, { dtype: "int32" }), [(v: Array) => v, (v: Array) => v.add(1), (v: Array) => v.mul(10)], x) as Array;
      return [a, b, c, d, s];
    },
  },
  {
    name: "cond writing a ref in one branch",
    run: () => {
      const r = newRef(np.zeros([3]));
      const f = jit(function f(r: Ref, p: Array) {
        cond(p, () => r.set(r.get().add(1)), () => r.set(r.get().sub(5)));
      });
      f(r, np.array(true));
      f(r, np.array(true));
      f(r, np.array(false));
      return r.get();
    },
    expected: [[-3, -3, -3]],
  },
  {
    name: "whileLoop: Collatz step counts (data-dependent trip count), eager, under jit and vmapped",
    run: () => {
      const [n27, k27] = collatz(i32(27));
      const [, k97] = jit(collatz)(i32(97));
      const [, ks] = vmap(collatz)(np.array([1, 6, 7, 27, 97], { dtype: "int32" }));
      return [n27, k27, k97, ks];
    },
    expected: [[1], [111], [118], [0, 8, 16, 111, 118]],
  },
  {
    name: "whileLoop: Newton's sqrt to a tolerance (float carry), vmapped over a, and its jvp",
    run: () => {
      const [x, k] = newtonSqrt(np.array(2));
      const [xs, ks] = jit(vmap(newtonSqrt))(np.array([0.25, 2, 10, 1000, 12345]));
      // Forward mode through the loop: d sqrt(a)/da = 1 / (2 sqrt(a)).
      const [, dx] = jvp((a: Array) => newtonSqrt(a)[0], [np.array(9, { dtype: "float32" })], [np.array(1, { dtype: "float32" })]);
      return [k, x, ks, xs, dx as Array];
    },
    expected: [[4]],
  },
  {
    name: "whileLoop: zero trips returns the initial carry (eager and under jit)",
    run: () => {
      const a = whileLoop((c: Array) => c.gt(100), (c: Array) => c.mul(2), np.array([5, 6]).sum());
      const f = jit((x: Array, n: Array) => whileLoop(([i]: [Array, Array]) => i.lt(n), ([i, v]: [Array, Array]) => [i.add(1), np.tanh(v)] as [Array, Array], [i32(0), x]));
      const [i, v] = f(ramp([3]), i32(0));
      // foriLoop with traced bounds is a while loop; lo > hi runs nothing.
      const g = foriLoop(i32(4), i32(2), (_i: Array, c: Array) => c.add(1), ramp([2]));
      return [a, i, v, g];
    },
    expected: [[11], [0]],
  },
  {
    name: "whileLoop: refs in the body (closed over eagerly; a ref argument under jit, donated)",
    run: () => {
      const r = newRef(np.zeros([3]));
      const n = whileLoop(
        (i: Array) => i.lt(5),
        (i: Array) => {
          r.set(r.get().add(i.astype("float32")));
          return i.add(1);
        },
        i32(0),
      );
      const acc = newRef(np.ones([4]));
      const grow = jit(function grow(acc: Ref, limit: Array) {
        return whileLoop(
          (k: Array) => np.sum(acc.get()).lt(limit),
          (k: Array) => {
            acc.set(acc.get().mul(2));
            return k.add(1);
          },
          i32(0),
        );
      });
      const k1 = grow(acc, np.array(100));
      const mid = acc.get();
      const k2 = grow(acc, np.array(100));
      const k3 = grow(acc, np.array(1000));
      return [n, r.get(), k1 as Array, mid, k2 as Array, k3 as Array, acc.get()];
    },
    expected: [[5], [10, 10, 10], [5], [32, 32, 32, 32], [0], [3], [256, 256, 256, 256]],
  },
  {
    name: "whileLoop nested: while in while, while in scan, while in a cond branch",
    run: () => {
      // Triangular numbers the long way: for i < n, add 1 i times.
      const tri = jit((n: Array) =>
        whileLoop(
          ([i]: [Array, Array]) => i.lt(n),
          ([i, s]: [Array, Array]) => {
            const [, s2] = whileLoop(([j]: [Array, Array]) => j.lt(i), ([j, t]: [Array, Array]) => [j.add(1), t.add(1)] as [Array, Array], [i32(0), s]);
            return [i.add(1), s2] as [Array, Array];
          },
          [i32(0), i32(0)] as [Array, Array],
        ),
      );
      const [, t7] = tri(i32(7));
      const [, t0] = tri(i32(0));
      // In a scan: per row, the first power of two above x.
      const [last, pows] = scan(
        (c: Array, x: Array) => {
          const p = whileLoop((v: Array) => v.le(x), (v: Array) => v.mul(2), i32(1));
          return [c.add(p), p] as const;
        },
        i32(0),
        np.array([0, 1, 5, 16, 100], { dtype: "int32" }),
      );
      // In a cond branch: the branch not taken would never end (odd numbers never reach 0 by steps of 2).
      const pick = jit((p: Array, x: Array) =>
        cond(
          p,
          (x: Array) => whileLoop((c: Array) => c.ne(0), (c: Array) => c.sub(2), x.mul(2)),
          (x: Array) => whileLoop((c: Array) => c.ne(0), (c: Array) => c.sub(2), x.mul(2).add(1)).add(1000),
          x,
        ),
      );
      return [t7, t0, last as Array, pows as Array, pick(np.array(true), i32(6)) as Array];
    },
    expected: [[21], [0], [1 + 2 + 8 + 32 + 128], [1, 2, 8, 32, 128], [0]],
  },
  {
    name: "whileLoop carries updated out of place: swapped leaves, a reversal, a leaf read after another's update",
    run: () => {
      const f = jit((a0: Array, b0: Array, n: Array) =>
        whileLoop(
          ([i]: [Array, Array, Array]) => i.lt(n),
          ([i, a, b]: [Array, Array, Array]) => [i.add(1), np.flip(b, 0).add(1), a.mul(2).add(np.flip(a, 0))] as [Array, Array, Array],
          [i32(0), a0, b0] as [Array, Array, Array],
        ),
      );
      const swap = whileLoop(
        ([i]: [Array, Array, Array]) => i.lt(3),
        ([i, a, b]: [Array, Array, Array]) => [i.add(1), b, a] as [Array, Array, Array],
        [i32(0), np.array([1, 2]), np.array([3, 4])] as [Array, Array, Array],
      );
      const [i, a, b] = f(np.arange(5).astype("float32"), np.ones([5]), i32(6));
      return [i, swap[1], swap[2], a, b];
    },
    expected: [[6], [3, 4], [1, 2]],
  },
  {
    name: "whileLoop body with kernels that use workgroup barriers (tiled matmul, workgroup reduction)",
    run: () => {
      const a = ramp([64, 64], 7).mul(0.2);
      const u = ramp([5000], 3);
      const f = jit((v0: Array, n: Array) =>
        whileLoop(
          ([k]: [Array, Array, Array]) => k.lt(n),
          ([k, v, t]: [Array, Array, Array]) => {
            const w = np.matmul(np.matmul(a, a), v);
            const vn = w.div(np.sum(np.abs(w)));
            return [k.add(1), vn, t.add(np.sum(np.tanh(u.mul(vn.get(0).mul(50)))))] as [Array, Array, Array];
          },
          [i32(0), v0, np.zeros([])] as [Array, Array, Array],
        ),
      );
      const [k, v, t] = f(np.ones([64]).div(64), i32(12));
      return [k, v, t];
    },
    expected: [[12]],
    tol: 1e-4,
  },
  {
    name: "whileLoop body with a scan, a cond and a matmul inside",
    run: () => {
      const w = ramp([4, 4], 3).mul(0.7);
      const f = jit((x0: Array) =>
        whileLoop(
          ([x, k]: [Array, Array]) => np.sum(np.abs(x)).gt(0.01).and(k.lt(40)),
          ([x, k]: [Array, Array]) => {
            const [y] = scan((c: Array, row: Array) => [np.tanh(np.matmul(c, w)).add(row.mul(0.0005)), null] as const, x, ramp([2, 4], 5));
            const z = cond(k.mod(2).eq(0), (v: Array) => v.mul(0.9), (v: Array) => v.mul(0.7), y as Array) as Array;
            return [z, k.add(1)] as [Array, Array];
          },
          [x0, i32(0)] as [Array, Array],
        ),
      );
      const [x, k] = f(ramp([4], 2).mul(3));
      return [k, x];
    },
    expected: [[17]],
    tol: 1e-4,
  },
];
