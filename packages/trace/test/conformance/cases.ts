/**
 * Backend conformance cases for @refs/trace (jit with refs, grad, vmap, scan,
 * cond): run on the CPU by this package's `test/conformance.test.ts` and on
 * other backends (e.g. @refs/gpu) against the CPU. Same shape as
 * @refs/core's cases: `expected` holds hand-computed values; `tol` is the
 * relative float32 tolerance across backends (default 1e-5 + 1e-6 absolute).
 */
import { np, newRef, type Array, type Ref } from "@refs/core";
import { cond, foriLoop, grad, jit, scan, switchCase, valueAndGrad, vmap } from "../../src/index.js";

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
];
