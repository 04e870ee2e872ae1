import { describe, expect, it } from "vitest";
import { Array, np, random } from "@refs/core";
import { grad, jit } from "@refs/trace";
import { BatchNorm, Dropout, Embed, LayerNorm, Linear, Module, RMSNorm, Rngs, initializers, useRefs, type Variable } from "../src/index.js";

const vals = (a: Array): number[] => globalThis.Array.from(a.dataSync() as ArrayLike<number>, Number);
const countOf = (v: Variable): number => Number(v.value.item());
const close = (a: Array | number[], b: number[], tol = 1e-6) => {
  const x = globalThis.Array.isArray(a) ? a : vals(a);
  expect(x.length).toBe(b.length);
  x.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[i]!))));
};

describe("Linear", () => {
  it("shapes, kernel from params() count c, bias draws c+1", () => {
    const rngs = new Rngs(0, { params: 5 });
    rngs.params(); // count 1
    const layer = new Linear(3, 4, { rngs });
    expect(layer.kernel.shape).toEqual([3, 4]);
    expect(layer.bias!.shape).toEqual([4]);
    expect(countOf(rngs.get("params").count)).toBe(3);
    expect(countOf(rngs.get("default").count)).toBe(0);
    const expected = initializers.lecunNormal()(random.foldIn(random.key(5), 1), [3, 4]);
    expect(vals(layer.kernel.value)).toEqual(vals(expected));
    expect(vals(layer.bias!.value)).toEqual([0, 0, 0, 0]);
    const y = layer.call(np.ones([10, 3]));
    expect(y.shape).toEqual([10, 4]);
    expect(y.dtype).toBe("float32");
    // x @ kernel + bias
    const x = random.normal(random.key(1), [2, 5, 3]);
    const y2 = layer.call(x);
    expect(y2.shape).toEqual([2, 5, 4]);
    close(y2, vals(np.matmul(x, layer.kernel.value).add(layer.bias!.value)), 1e-6);
  });

  it("without a bias draws one key", () => {
    const rngs = new Rngs(0);
    const layer = new Linear(2, 3, { rngs, useBias: false });
    expect(layer.bias).toBeNull();
    expect(countOf(rngs.get("default").count)).toBe(1);
    close(layer.call(np.ones([1, 2])), vals(layer.kernel.value.sum(0)));
  });

  it("custom initializers get their keys", () => {
    const rngs = new Rngs(3);
    const layer = new Linear(4, 2, { rngs, kernelInit: initializers.normal(1.0), biasInit: initializers.normal(1.0) });
    expect(vals(layer.bias!.value)).toEqual(vals(random.normal(random.foldIn(random.key(3), 1), [2])));
  });

  it("kernel statistics follow lecun normal", () => {
    const layer = new Linear(256, 512, { rngs: new Rngs(1) });
    const k = vals(layer.kernel.value);
    const mean = k.reduce((a, b) => a + b, 0) / k.length;
    const std = Math.sqrt(k.reduce((a, b) => a + (b - mean) ** 2, 0) / k.length);
    expect(Math.abs(mean)).toBeLessThan(1e-3);
    expect(Math.abs(std - 1 / 16) / (1 / 16)).toBeLessThan(0.02);
    const bound = (2 * (1 / 16)) / 0.87962566103423978;
    expect(k.reduce((a, b) => Math.max(a, Math.abs(b)), 0)).toBeLessThanOrEqual(bound * (1 + 1e-6));
  });

  it("matches Flax's Linear(3, 4, rngs=Rngs(0)) on ones", () => {
    // flax/nnx/nn/stochastic.py docstring (eval output of Linear(3, 4) with Rngs(0))
    const layer = new Linear(3, 4, { rngs: new Rngs(0) });
    close(layer.call(np.ones([1, 3])), [1.0533503, -1.2679932, -0.7960095, -1.2619419], 2e-7);
  });

  it("a feature-size mismatch names the layer and shapes", () => {
    const layer = new Linear(2, 4, { rngs: new Rngs(0) });
    expect(() => layer.call(np.ones([10, 3]))).toThrow("Linear: expected input with 2 features (last axis), got float32[10,3]");
  });
});

describe("BatchNorm", () => {
  const x = np.array([
    [1, 2],
    [3, 6],
    [5, 10],
  ]).astype("float32");

  it("draws a params key for scale and for bias", () => {
    const rngs = new Rngs(0);
    const bn = new BatchNorm(2, { rngs });
    expect(countOf(rngs.get("default").count)).toBe(2);
    expect(vals(bn.scale!.value)).toEqual([1, 1]);
    expect(vals(bn.bias!.value)).toEqual([0, 0]);
    expect(vals(bn.mean.value)).toEqual([0, 0]);
    expect(vals(bn.var.value)).toEqual([1, 1]);
    const r2 = new Rngs(0);
    new BatchNorm(2, { rngs: r2, useBias: false, useScale: false });
    expect(countOf(r2.get("default").count)).toBe(0);
  });

  for (const refs of [false, true]) {
    it(`train: batch stats, running update; eval: running stats (useRefs(${refs}))`, () => {
      const bn = useRefs(refs, () => new BatchNorm(2, { rngs: new Rngs(0) }));
      expect(bn.useRunningAverage).toBe(false);
      const y = bn.call(x);
      const mean = [3, 6];
      const variance = [35 / 3 - 9, 140 / 3 - 36]; // biased
      const expectY = [0, 1, 2].flatMap((i) => [0, 1].map((j) => (vals(x)[i * 2 + j]! - mean[j]!) / Math.sqrt(variance[j]! + 1e-5)));
      close(y, expectY, 1e-5);
      close(bn.mean.value, mean.map((m) => 0.01 * m), 1e-6);
      close(bn.var.value, variance.map((v) => 0.99 + 0.01 * v), 1e-6);
      // a second step compounds
      bn.call(x);
      close(bn.mean.value, mean.map((m) => 0.99 * 0.01 * m + 0.01 * m), 1e-6);

      bn.eval();
      expect(bn.useRunningAverage).toBe(true);
      const rm = vals(bn.mean.value);
      const rv = vals(bn.var.value);
      const ye = bn.call(x);
      const expectE = [0, 1, 2].flatMap((i) => [0, 1].map((j) => (vals(x)[i * 2 + j]! - rm[j]!) / Math.sqrt(rv[j]! + 1e-5)));
      close(ye, expectE, 1e-5);
      expect(vals(bn.mean.value)).toEqual(rm);
      expect(vals(bn.var.value)).toEqual(rv);
      bn.train();
      expect(bn.useRunningAverage).toBe(false);
      // call-time override
      close(bn.call(x, { useRunningAverage: true }), expectE, 1e-5);
      expect(vals(bn.mean.value)).toEqual(rm);
    });
  }

  it("scale and bias apply per feature; other axes reduce", () => {
    const bn = new BatchNorm(3, { rngs: new Rngs(0), axis: 1 });
    bn.scale!.value = np.array([1, 2, 3]).astype("float32");
    bn.bias!.value = np.array([0.5, 0, -1]).astype("float32");
    const x3 = random.normal(random.key(2), [4, 3, 5]);
    const y = bn.call(x3);
    expect(y.shape).toEqual([4, 3, 5]);
    const m = x3.mean([0, 2], { keepdims: true });
    const v = x3.square().mean([0, 2], { keepdims: true }).sub(m.square());
    const ref = x3.sub(m).mul(np.rsqrt(v.add(1e-5))).mul(np.array([1, 2, 3]).reshape([1, 3, 1])).add(np.array([0.5, 0, -1]).reshape([1, 3, 1]));
    close(y, vals(ref), 1e-5);
    expect(bn.mean.shape).toEqual([3]);
    expect(() => bn.call(np.ones([4, 2, 5]))).toThrow(/BatchNorm: expected input with 3 features .*float32\[4,2,5\]/);
  });

  it("updates running stats through refs under jit", () => {
    const bn = useRefs(true, () => new BatchNorm(2, { rngs: new Rngs(0) }));
    const f = jit((m: BatchNorm, x: Array) => m.call(x));
    const y = f(bn, x);
    expect(y.shape).toEqual([3, 2]);
    close(bn.mean.value, [0.03, 0.06], 1e-6);
    f(bn, x);
    close(bn.mean.value, [0.99 * 0.03 + 0.03, 0.99 * 0.06 + 0.06], 1e-6);
  });
});

describe("Dropout", () => {
  const x = random.normal(random.key(7), [4, 8]);

  it("identity when deterministic or rate 0, zeros at rate 1", () => {
    const rngs = new Rngs(0);
    expect(new Dropout(0.5, { rngs, deterministic: true }).call(x)).toBe(x);
    expect(new Dropout(0, { rngs }).call(x)).toBe(x);
    expect(vals(new Dropout(1, { rngs }).call(x))).toEqual(new globalThis.Array(32).fill(0));
    const d = new Dropout(0.5, { rngs });
    d.eval();
    expect(d.deterministic).toBe(true);
    expect(d.call(x)).toBe(x);
    expect(d.call(x, { deterministic: false })).not.toBe(x);
  });

  it("forks the dropout stream (falling back to default) at construction", () => {
    const rngs = new Rngs(0);
    rngs.next();
    rngs.next();
    const d = new Dropout(0.25, { rngs });
    expect(countOf(rngs.get("default").count)).toBe(3);
    const k = random.foldIn(random.key(0), 2);
    expect(vals(d.rngs!.key.value)).toEqual(vals(k));
    const y = d.call(x);
    const mask = random.bernoulli(random.foldIn(k, 0), 0.75, [4, 8]);
    const expected = np.where(mask, x.div(0.75), 0);
    expect(vals(y)).toEqual(vals(expected));
    // the next call uses the next key of the forked stream
    const y2 = d.call(x);
    expect(vals(y2)).toEqual(vals(np.where(random.bernoulli(random.foldIn(k, 1), 0.75, [4, 8]), x.div(0.75), 0)));
    expect(countOf(d.rngs!.count)).toBe(2);
    // a dropout stream wins over default
    const r2 = new Rngs(0, { dropout: 9 });
    const d2 = new Dropout(0.5, { rngs: r2 });
    expect(vals(d2.rngs!.key.value)).toEqual(vals(random.foldIn(random.key(9), 0)));
    expect(countOf(r2.get("default").count)).toBe(0);
  });

  it("broadcastDims share the mask; call-time rngs override", () => {
    const d = new Dropout(0.5, { rngs: new Rngs(1), broadcastDims: [0] });
    const y = d.call(np.ones([6, 8]));
    const rows = vals(y);
    for (let i = 1; i < 6; i++) expect(rows.slice(i * 8, i * 8 + 8)).toEqual(rows.slice(0, 8));
    expect(rows.every((v) => v === 0 || v === 2)).toBe(true);
    const k = random.key(3);
    const yk = new Dropout(0.5).call(x, { rngs: k });
    expect(vals(yk)).toEqual(vals(np.where(random.bernoulli(k, 0.5, [4, 8]), x.div(0.5), 0)));
    expect(() => new Dropout(0.5).call(x)).toThrow(/no `rngs`/);
  });

  it("matches Flax's Dropout docstring (MLP with Rngs(0), train mode)", () => {
    class MLP extends Module {
      linear: Linear;
      dropout: Dropout;
      constructor(rngs: Rngs) {
        super();
        this.linear = new Linear(3, 4, { rngs });
        this.dropout = new Dropout(0.5, { rngs });
      }
      call(x: Array): Array {
        return this.dropout.call(this.linear.call(x));
      }
    }
    const model = new MLP(new Rngs(0));
    close(model.call(np.ones([1, 3])), [2.1067007, -2.5359864, -1.592019, -2.5238838], 2e-7);
    model.eval();
    close(model.call(np.ones([1, 3])), [1.0533503, -1.2679932, -0.7960095, -1.2619419], 2e-7);
  });

  it("advances its stream through refs under jit", () => {
    const d = useRefs(true, () => new Dropout(0.5, { rngs: new Rngs(0) }));
    const f = jit((m: Dropout, x: Array) => m.call(x));
    const k = random.foldIn(random.key(0), 0);
    const y1 = f(d, x);
    const y2 = f(d, x);
    expect(countOf(d.rngs!.count)).toBe(2);
    expect(vals(y1)).toEqual(vals(np.where(random.bernoulli(random.foldIn(k, 0), 0.5, [4, 8]), x.div(0.5), 0)));
    expect(vals(y2)).toEqual(vals(np.where(random.bernoulli(random.foldIn(k, 1), 0.5, [4, 8]), x.div(0.5), 0)));
  });
});

describe("LayerNorm, RMSNorm, Embed", () => {
  it("LayerNorm normalizes each example", () => {
    const rngs = new Rngs(0);
    const ln = new LayerNorm(5, { rngs });
    expect(countOf(rngs.get("default").count)).toBe(2);
    const x = random.normal(random.key(4), [3, 5]).mul(3).add(1);
    const y = ln.call(x);
    const m = x.mean(-1, { keepdims: true });
    const v = x.square().mean(-1, { keepdims: true }).sub(m.square());
    close(y, vals(x.sub(m).mul(np.rsqrt(v.add(1e-6)))), 1e-5);
    expect(() => ln.call(np.ones([3, 4]))).toThrow(/LayerNorm: expected input with 5 features/);
  });

  it("RMSNorm scales by the root mean square", () => {
    const rms = new RMSNorm(4, { rngs: new Rngs(0) });
    const x = random.normal(random.key(5), [2, 4]);
    close(rms.call(x), vals(x.mul(np.rsqrt(x.square().mean(-1, { keepdims: true }).add(1e-6)))), 1e-5);
  });

  it("Embed matches Flax's docstring and takes rows", () => {
    const rngs = new Rngs(0);
    const e = new Embed(5, 3, { rngs });
    expect(countOf(rngs.get("default").count)).toBe(1);
    // flax/nnx/nn/linear.py Embed docstring (nnx.Embed(5, 3, rngs=nnx.Rngs(0)))
    close(
      e.embedding.value,
      [0.57966787, -0.523274, -0.43195742, -0.676289, -0.50300646, 0.33996582, 0.41796115, -0.59212935, 0.95934135, -1.0917838, -0.7441663, 0.07713798, -0.66570747, 0.13815777, 1.007365],
      3e-7,
    );
    const out = e.call(np.array([[0, 1, 2], [-1, -2, -3]], { dtype: "int32" }));
    expect(out.shape).toEqual([2, 3, 3]);
    const emb = vals(e.embedding.value);
    const row = (i: number) => emb.slice(i * 3, i * 3 + 3);
    expect(vals(out)).toEqual([...row(0), ...row(1), ...row(2), ...row(4), ...row(3), ...row(2)]);
    expect(vals(e.call(np.array([7], { dtype: "int32" }))).every(Number.isNaN)).toBe(true);
    expect(() => e.call(np.ones([2]))).toThrow(/Embed: input type must be an integer/);
    const q = random.normal(random.key(1), [2, 3]);
    close(e.attend(q), vals(np.matmul(q, e.embedding.value.T)), 1e-6);
  });
});

describe("gradients", () => {
  class Stack extends Module {
    l1: Linear;
    bn: BatchNorm;
    l2: Linear;
    constructor(rngs: Rngs) {
      super();
      this.l1 = new Linear(3, 5, { rngs });
      this.bn = new BatchNorm(5, { rngs });
      this.l2 = new Linear(5, 2, { rngs });
    }
    call(x: Array): Array {
      return this.l2.call(this.bn.call(this.l1.call(x)));
    }
  }

  it("grad through Linear + BatchNorm matches finite differences", () => {
    const model = new Stack(new Rngs(0));
    const x = random.normal(random.key(11), [6, 3]);
    const t = random.normal(random.key(12), [6, 2]);
    const loss = (m: Stack) => m.call(x).sub(t).square().mean();
    const g = grad(loss)(model) as Stack;
    const gk = vals(g.l1.kernel.value);
    const gs = vals(g.bn.scale!.value);
    const gb2 = vals(g.l2.bias!.value);
    const fd = (v: Variable, i: number, h = 1e-2): number => {
      const base = v.value;
      const flat = vals(base);
      const at = (d: number) => {
        const p = flat.slice();
        p[i] = p[i]! + d;
        v.value = np.array(p).reshape(base.shape).astype("float32");
        const r = Number(loss(model).item());
        v.value = base;
        return r;
      };
      return (at(h) - at(-h)) / (2 * h);
    };
    for (const i of [0, 4, 7, 14]) expect(Math.abs(fd(model.l1.kernel, i) - gk[i]!)).toBeLessThan(2e-3 * Math.max(1, Math.abs(gk[i]!)));
    for (const i of [0, 3]) expect(Math.abs(fd(model.bn.scale!, i) - gs[i]!)).toBeLessThan(2e-3 * Math.max(1, Math.abs(gs[i]!)));
    for (const i of [0, 1]) expect(Math.abs(fd(model.l2.bias!, i) - gb2[i]!)).toBeLessThan(2e-3 * Math.max(1, Math.abs(gb2[i]!)));
    // running statistics carry no gradient
    expect(vals(g.bn.mean.value).every((v) => v === 0)).toBe(true);
  });
});
