/**
 * random: bit-exactness with JAX's default PRNG (threefry2x32, partitionable,
 * x64 off) and statistical sanity.
 *
 * Reference values and where they come from:
 * - threefry2x32 vectors: Random123's known answers, as in JAX's
 *   tests/random_test.py `testThreefry2x32`.
 * - split(key(0)), uniform(key(0), [3]): SPEC §7.
 * - uniform(key(0)) = 0.947667 and uniform(split(key(0))[1]) = 0.00729382: the
 *   jax.random module docs (docs.jax.dev/en/latest/jax.random.html).
 * - normal(key(42)), the split-loop draws, normal of split(key(42), 3) and
 *   normal(key(42), [3]): the "Pseudorandom numbers" tutorial
 *   (docs.jax.dev/en/latest/random-numbers.html).
 * - key(seed) for negative / out-of-int32 seeds: JAX's
 *   tests/random_test.py `test_prng_seeds_and_keys` (x64 disabled).
 * Printed values are numpy's shortest float32 repr capped at 8 decimals; see
 * `expectPrinted`.
 */
import { describe, expect, it } from "vitest";
import {
  Array,
  ShapedArray,
  Trace,
  bind,
  fromHost,
  newDynamic,
  newMain,
  np,
  primitives,
  random,
  type Params,
  type Primitive,
  type Value,
} from "../src/index.js";

const u32 = (...v: number[]) => fromHost(Uint32Array.from(v), [v.length], "uint32");
const vals = (x: Array): number[] => globalThis.Array.from(x.dataSync() as ArrayLike<number>);

/** threefry2x32 on one block through the primitive. */
function threefryPrim(k: [number, number], x: [number, number]): number[] {
  const [y0, y1] = bind(primitives.threefry2x32, [u32(k[0]), u32(k[1]), u32(x[0]), u32(x[1])]) as Array[];
  return [vals(y0!)[0]!, vals(y1!)[0]!];
}

/** An independent pure-JS threefry2x32 (20 rounds), to check whole arrays. */
function threefryRef(k0: number, k1: number, x0: number, x1: number): [number, number] {
  const rotl = (v: number, r: number) => ((v << r) | (v >>> (32 - r))) >>> 0;
  const ks = [k0 >>> 0, k1 >>> 0, (k0 ^ k1 ^ 0x1bd11bda) >>> 0];
  const rot = [
    [13, 15, 26, 6],
    [17, 29, 16, 24],
  ];
  x0 = (x0 + ks[0]!) >>> 0;
  x1 = (x1 + ks[1]!) >>> 0;
  for (let i = 0; i < 5; i++) {
    for (const r of rot[i % 2]!) {
      x0 = (x0 + x1) >>> 0;
      x1 = rotl(x1, r);
      x1 = (x1 ^ x0) >>> 0;
    }
    x0 = (x0 + ks[(i + 1) % 3]!) >>> 0;
    x1 = (x1 + ks[(i + 2) % 3]! + i + 1) >>> 0;
  }
  return [x0, x1];
}

/** The float32 uniform JAX makes from 32 random bits. */
function uniformFromBits(b: number): number {
  const f = new Float32Array(1);
  new Uint32Array(f.buffer)[0] = ((b >>> 9) | 0x3f800000) >>> 0;
  return Math.fround(f[0]! - 1);
}

/**
 * `printed` is how numpy printed a float32: the shortest round-trip repr, but
 * with at most 8 decimals. Exact when fewer than 8 decimals were needed.
 */
function expectPrinted(actual: number, printed: string): void {
  const decimals = printed.split(".")[1]?.length ?? 0;
  if (decimals < 8) expect(actual, `printed ${printed}`).toBe(Math.fround(Number(printed)));
  else expect(Math.abs(actual - Number(printed)), `printed ${printed}, got ${actual}`).toBeLessThanOrEqual(5e-9);
}

describe("random: keys and threefry", () => {
  it("threefry2x32 matches the Random123 known answers", () => {
    expect(threefryPrim([0, 0], [0, 0])).toEqual([0x6b200159, 0x99ba4efe]);
    expect(threefryPrim([0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff])).toEqual([0x1cb996fc, 0xbb002be7]);
    expect(threefryPrim([0x13198a2e, 0x03707344], [0x243f6a88, 0x85a308d3])).toEqual([0xc4923a9c, 0x483df7a0]);
    // and the JS reference used below agrees
    expect(threefryRef(0x13198a2e, 0x03707344, 0x243f6a88, 0x85a308d3)).toEqual([0xc4923a9c, 0x483df7a0]);
  });

  it("key(seed) is [0, seed mod 2**32] as JAX with x64 off, for seeds below 2**32", () => {
    const k = random.key(0);
    expect(k.dtype).toBe("uint32");
    expect(k.shape).toEqual([2]);
    expect(vals(k)).toEqual([0, 0]);
    expect(vals(random.key(42))).toEqual([0, 42]);
    expect(vals(random.key(-1))).toEqual([0, 4294967295]);
    expect(vals(random.key(-2))).toEqual([0, 4294967294]);
    expect(vals(random.key(2147483647 + 100))).toEqual([0, 2147483747]);
    expect(vals(random.key(-2147483648 - 100))).toEqual([0, 2147483548]);
    // Beyond 32 bits the high word is kept (SPEC §7) rather than dropped.
    expect(vals(random.key(2 ** 32 + 7))).toEqual([1, 7]);
    expect(vals(random.key(3 * 2 ** 32))).toEqual([3, 0]);
  });

  it("split(key(0)) matches JAX", () => {
    const ks = random.split(random.key(0));
    expect(ks.shape).toEqual([2, 2]);
    expect(ks.dtype).toBe("uint32");
    expect(ks.toJs()).toEqual([
      [1797259609, 2579123966],
      [928981903, 3453687069],
    ]);
  });

  it("split(k, n)[i] = threefry(k, [0, i]) and foldIn(k, d) = threefry(k, [0, d])", () => {
    const k = random.key(1701);
    const ks = random.split(k, 5);
    expect(ks.shape).toEqual([5, 2]);
    const rows = ks.toJs() as number[][];
    for (let i = 0; i < 5; i++) expect(rows[i]).toEqual(threefryRef(0, 1701, 0, i));
    expect(vals(random.foldIn(random.key(0), 1))).toEqual([928981903, 3453687069]);
    expect(vals(random.foldIn(k, 3))).toEqual(rows[3]);
    expect(vals(random.foldIn(k, -1))).toEqual(threefryRef(0, 1701, 0, 0xffffffff));
    // data as an int32 / uint32 scalar array
    expect(vals(random.foldIn(k, fromHost(Int32Array.of(-1), [], "int32")))).toEqual(threefryRef(0, 1701, 0, 0xffffffff));
    expect(vals(random.foldIn(k, fromHost(Uint32Array.of(7), [], "uint32")))).toEqual(threefryRef(0, 1701, 0, 7));
    expect(random.split(k, 0).shape).toEqual([0, 2]);
  });

  it("split and foldIn accept batches of keys", () => {
    const ks = random.split(random.key(3), 3);
    const kk = random.split(ks, 4);
    expect(kk.shape).toEqual([3, 4, 2]);
    const rows = ks.toJs() as number[][];
    const got = kk.toJs() as number[][][];
    for (let b = 0; b < 3; b++) for (let i = 0; i < 4; i++) expect(got[b]![i]).toEqual(threefryRef(rows[b]![0]!, rows[b]![1]!, 0, i));
    const f = random.foldIn(ks, 9).toJs() as number[][];
    for (let b = 0; b < 3; b++) expect(f[b]).toEqual(threefryRef(rows[b]![0]!, rows[b]![1]!, 0, 9));
  });

  it("bits at flat index j are y0 ^ y1 of threefry(k, [0, j])", () => {
    const b = random.bits(random.key(1701), [7, 13]);
    expect(b.dtype).toBe("uint32");
    expect(b.shape).toEqual([7, 13]);
    const got = vals(b);
    for (let j = 0; j < 7 * 13; j++) {
      const [y0, y1] = threefryRef(0, 1701, 0, j);
      expect(got[j]).toBe((y0 ^ y1) >>> 0);
    }
    const s = random.bits(random.key(5));
    expect(s.shape).toEqual([]);
    const [y0, y1] = threefryRef(0, 5, 0, 0);
    expect(vals(s)).toEqual([(y0 ^ y1) >>> 0]);
  });
});

describe("random: samplers match JAX", () => {
  it("uniform(key(0), [3])", () => {
    const u = random.uniform(random.key(0), [3]);
    expect(u.dtype).toBe("float32");
    expect(u.shape).toEqual([3]);
    expect(vals(u)).toEqual([0.947667, 0.9785799, 0.33229148].map(Math.fround));
  });

  it("uniform(key(0)) and uniform of the split subkey (jax.random docs)", () => {
    const k = random.key(0);
    expectPrinted(vals(random.uniform(k))[0]!, "0.947667");
    const sub = random.split(k).get(1);
    expectPrinted(vals(random.uniform(sub))[0]!, "0.00729382");
  });

  it("uniform over many values follows the bit formula exactly", () => {
    const k = random.key(123);
    const got = vals(random.uniform(k, [1000]));
    for (let j = 0; j < 1000; j++) {
      const [y0, y1] = threefryRef(0, 123, 0, j);
      expect(got[j]).toBe(uniformFromBits((y0 ^ y1) >>> 0));
    }
  });

  it("uniform with minval/maxval scales as JAX (f * (max - min) + min, then max(min, .))", () => {
    const k = random.key(7);
    const got = vals(random.uniform(k, [200], { minval: -3, maxval: 5 }));
    for (let j = 0; j < 200; j++) {
      const [y0, y1] = threefryRef(0, 7, 0, j);
      const f = uniformFromBits((y0 ^ y1) >>> 0);
      expect(got[j]).toBe(Math.max(-3, Math.fround(Math.fround(f * 8) + -3)));
    }
    // array bounds broadcast against the shape
    const u = random.uniform(k, [50, 2], { minval: np.array([0, 10]), maxval: np.array([1, 20]) });
    const v = u.toJs() as number[][];
    for (const [a, b] of v) {
      expect(a).toBeGreaterThanOrEqual(0);
      expect(a).toBeLessThan(1);
      expect(b).toBeGreaterThanOrEqual(10);
      expect(b).toBeLessThan(20);
    }
  });

  it("normal(key(42)) and the split-loop draws (JAX tutorial)", () => {
    let key = random.key(42);
    expectPrinted(vals(random.normal(key))[0]!, "-0.028304616");
    const draws: number[] = [];
    for (let i = 0; i < 3; i++) {
      const ks = random.split(key);
      draws.push(vals(random.normal(ks.get(1)))[0]!);
      key = ks.get(0);
    }
    // printed through Python float formatting: exact float32 values
    expect(draws).toEqual([0.6057640314102173, -0.21089035272598267, -0.3948981463909149].map(Math.fround));
  });

  it("normal of split(key(42), 3) and normal(key(42), [3]) (JAX tutorial)", () => {
    const key = random.key(42);
    const subs = random.split(key, 3);
    const indiv = [0, 1, 2].map((i) => vals(random.normal(subs.get(i)))[0]!);
    ["0.07592554", "0.60576403", "0.4323065"].forEach((p, i) => expectPrinted(indiv[i]!, p));
    const all = vals(random.normal(key, [3]));
    ["-0.02830462", "0.46713185", "0.29570296"].forEach((p, i) => expectPrinted(all[i]!, p));
  });
});

describe("random: randint follows JAX's algorithm", () => {
  it("randint(k, [300], 0, 10) from the bits of split(k)", () => {
    const k = random.key(21);
    const [a, b] = [threefryRef(0, 21, 0, 0), threefryRef(0, 21, 0, 1)];
    const span = 10;
    const mult = (((2 ** 16 % span) * (2 ** 16 % span)) >>> 0) % span;
    const got = vals(random.randint(k, [300], 0, 10));
    for (let j = 0; j < 300; j++) {
      const [h0, h1] = threefryRef(a[0], a[1], 0, j);
      const [l0, l1] = threefryRef(b[0], b[1], 0, j);
      const hi = (h0 ^ h1) >>> 0;
      const lo = (l0 ^ l1) >>> 0;
      expect(got[j]).toBe((((hi % span) * mult + (lo % span)) >>> 0) % span);
    }
  });
});

describe("random: statistics", () => {
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const variance = (v: number[]) => {
    const m = mean(v);
    return v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length;
  };

  it("uniform: range and moments", () => {
    const v = vals(random.uniform(random.key(1), [10000]));
    expect(Math.min(...v)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...v)).toBeLessThan(1);
    expect(Math.abs(mean(v) - 0.5)).toBeLessThan(0.01);
    expect(Math.abs(variance(v) - 1 / 12)).toBeLessThan(0.005);
  });

  it("normal: mean 0, variance 1, float32", () => {
    const x = random.normal(random.key(2), [100, 100]);
    expect(x.dtype).toBe("float32");
    expect(x.shape).toEqual([100, 100]);
    const v = vals(x);
    expect(v.every(Number.isFinite)).toBe(true);
    expect(Math.abs(mean(v))).toBeLessThan(0.04);
    expect(Math.abs(variance(v) - 1)).toBeLessThan(0.05);
    const frac1 = v.filter((t) => Math.abs(t) < 1).length / v.length;
    expect(Math.abs(frac1 - 0.6827)).toBeLessThan(0.02);
  });

  it("truncatedNormal stays strictly inside (lower, upper)", () => {
    const x = random.truncatedNormal(random.key(3), -0.3, 0.3, [10000]);
    expect(x.shape).toEqual([10000]);
    const v = vals(x);
    expect(Math.min(...v)).toBeGreaterThan(-0.3);
    expect(Math.max(...v)).toBeLessThan(0.3);
    // nearly uniform on a narrow interval: variance close to 0.6^2/12
    expect(Math.abs(mean(v))).toBeLessThan(0.01);
    expect(Math.abs(variance(v) - 0.03)).toBeLessThan(0.003);
    // one-sided, shape from broadcasting the bounds
    const y = random.truncatedNormal(random.key(4), np.array([0, -2, 1], { dtype: "float32" }), 2);
    expect(y.shape).toEqual([3]);
    const [a, b, c] = vals(y);
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(-2);
    expect(c).toBeGreaterThan(1);
    expect(Math.max(a!, b!, c!)).toBeLessThan(2);
    const t = vals(random.truncatedNormal(random.key(5), -2, 2, [20000]));
    expect(Math.abs(variance(t) - 0.7737)).toBeLessThan(0.03);
  });

  it("bernoulli: rate and shape", () => {
    const b = random.bernoulli(random.key(5), 0.3, [10000]);
    expect(b.dtype).toBe("bool");
    const rate = vals(b).filter((t) => t !== 0).length / 10000;
    expect(Math.abs(rate - 0.3)).toBeLessThan(0.02);
    expect(random.bernoulli(random.key(5)).shape).toEqual([]);
    const p = np.array([0, 1], { dtype: "float32" });
    const bb = random.bernoulli(random.key(6), p, [100, 2]).toJs() as boolean[][];
    expect(bb.every(([x, y]) => x === false && y === true)).toBe(true);
    // bernoulli is uniform < p
    const u = vals(random.uniform(random.key(8), [100]));
    const bp = vals(random.bernoulli(random.key(8), 0.5, [100]));
    expect(bp).toEqual(u.map((x) => (x < 0.5 ? 1 : 0)));
  });

  it("permutation(n) is a permutation of arange(n)", () => {
    const p = random.permutation(random.key(0), 100);
    expect(p.dtype).toBe("int32");
    const v = vals(p);
    expect([...v].sort((a, b) => a - b)).toEqual([...globalThis.Array(100).keys()]);
    expect(v).not.toEqual([...globalThis.Array(100).keys()]);
    expect(vals(random.permutation(random.key(0), 1))).toEqual([0]);
    expect(random.permutation(random.key(0), 0).shape).toEqual([0]);
  });

  it("permutation(n) sorts arange(n) by the bits of split(key)[1] (JAX's _shuffle, one round)", () => {
    const k = random.key(11);
    const sub = threefryRef(0, 11, 0, 1);
    const n = 50;
    const keys = [...globalThis.Array(n).keys()].map((j) => {
      const [y0, y1] = threefryRef(sub[0], sub[1], 0, j);
      return (y0 ^ y1) >>> 0;
    });
    const expected = [...globalThis.Array(n).keys()].sort((a, b) => keys[a]! - keys[b]! || a - b);
    expect(vals(random.permutation(k, n))).toEqual(expected);
  });

  it("permutation of an array shuffles rows (or each slice with independent)", () => {
    const x = np.arange(12).reshape([4, 3]);
    const p = random.permutation(random.key(1), x).toJs() as number[][];
    expect(p.map((r) => r[0]).sort((a, b) => a! - b!)).toEqual([0, 3, 6, 9]);
    for (const r of p) expect(r).toEqual([r[0], r[0]! + 1, r[0]! + 2]);
    const q = random.permutation(random.key(2), x, { axis: 1, independent: true }).toJs() as number[][];
    q.forEach((r, i) => expect([...r].sort((a, b) => a - b)).toEqual([3 * i, 3 * i + 1, 3 * i + 2]));
  });

  it("randint: range, dtype and rough uniformity", () => {
    const r = random.randint(random.key(9), [10000], 5, 10);
    expect(r.dtype).toBe("int32");
    const v = vals(r);
    expect(Math.min(...v)).toBe(5);
    expect(Math.max(...v)).toBe(9);
    for (let c = 5; c < 10; c++) expect(Math.abs(v.filter((t) => t === c).length / 10000 - 0.2)).toBeLessThan(0.02);
    expect(vals(random.randint(random.key(9), [5], 3, 3))).toEqual([3, 3, 3, 3, 3]);
    const neg = vals(random.randint(random.key(10), [1000], -2147483648, 2147483647));
    expect(new Set(neg).size).toBeGreaterThan(990);
  });

  it("categorical: frequencies follow softmax(logits)", () => {
    const p = [0.1, 0.2, 0.3, 0.4];
    const logits = np.log(np.array(p, { dtype: "float32" })).sub(42);
    const s = random.categorical(random.key(12), logits, { shape: [10000] });
    expect(s.dtype).toBe("int32");
    expect(s.shape).toEqual([10000]);
    const v = vals(s);
    p.forEach((pi, i) => expect(Math.abs(v.filter((t) => t === i).length / 10000 - pi)).toBeLessThan(0.02));
    const two = random.categorical(random.key(13), np.log(np.array([[0.5, 0.5], [0.01, 0.99]])), { axis: 1 });
    expect(two.shape).toEqual([2]);
  });

  it("float16 on the CPU backend fails with a clear error (the GPU backend tests float16 where it has shader-f16)", () => {
    expect(() => random.uniform(random.key(1), [4], { dtype: "float16" }).dataSync()).toThrow(
      /float16 is not supported; use float32/,
    );
  });
});

describe("random: validation", () => {
  it("rejects bad keys", () => {
    expect(() => random.uniform(np.zeros([3]) as Array)).toThrow(
      "random.uniform: expected a PRNG key of dtype uint32 and shape (2,), got float32[3]",
    );
    expect(() => random.normal(np.zeros([2]) as Array)).toThrow(/random\.normal: expected a PRNG key of dtype uint32/);
    expect(() => random.uniform(random.split(random.key(0), 3))).toThrow(/single PRNG key.*vmap/);
    expect(() => random.split(42 as unknown as Array)).toThrow(/random\.split: expected a PRNG key/);
  });

  it("rejects bad seeds, shapes and counts", () => {
    expect(() => random.key(1.5)).toThrow(/seed must be an integer/);
    expect(() => random.uniform(random.key(0), [-1])).toThrow(/non-negative integers/);
    expect(() => random.normal(random.key(0), [2.5])).toThrow(/non-negative integers/);
    expect(() => random.split(random.key(0), -1)).toThrow(/num must be an integer/);
    expect(() => random.uniform(random.key(0), [2], { dtype: "int32" as "float32" })).toThrow(/float dtype/);
    expect(() => random.bernoulli(random.key(0), np.array([1, 2]))).toThrow(/floating dtype/);
    expect(() => random.uniform(random.key(0), [3], { minval: np.zeros([4]) })).toThrow(/broadcast/);
  });
});

/** A trace that only propagates shapes: any host read of a traced value would throw. */
class ShapeTrace extends Trace {
  lift(x: Value): Value {
    return new Array((x as Array).aval, this, null);
  }
  processPrimitive(prim: Primitive, args: Value[], params: Params): Value[] {
    const outs = prim.abstractEval(
      args.map((a) => a.aval),
      params,
    );
    return outs.map((o) => new Array(o as ShapedArray, this, null));
  }
}

describe("random: traceable (no host reads)", () => {
  it("every sampler works on a traced key", () => {
    const main = newMain(ShapeTrace);
    const dyn = newDynamic(main);
    try {
      const t = new ShapeTrace(main);
      const k = new Array(new ShapedArray([2], "uint32"), t, null);
      const step = new Array(new ShapedArray([], "int32"), t, null);
      const str = (x: Array) => {
        expect(x.isConcrete).toBe(false);
        return x.aval.str();
      };
      expect(str(random.split(k, 3))).toBe("uint32[3,2]");
      expect(str(random.foldIn(k, step))).toBe("uint32[2]");
      expect(str(random.bits(k, [4]))).toBe("uint32[4]");
      expect(str(random.uniform(k, [2, 3]))).toBe("float32[2,3]");
      expect(str(random.normal(k, [5]))).toBe("float32[5]");
      expect(str(random.truncatedNormal(k, -2, 2, [5]))).toBe("float32[5]");
      expect(str(random.bernoulli(k, 0.9, [7]))).toBe("bool[7]");
      expect(str(random.permutation(k, 10))).toBe("int32[10]");
      expect(str(random.randint(k, [3], 0, 5))).toBe("int32[3]");
      expect(str(random.categorical(k, np.zeros([4, 6]), { axis: -1 }))).toBe("int32[4]");
      const p = new Array(new ShapedArray([3], "float32"), t, null);
      expect(str(random.bernoulli(k, p))).toBe("bool[3]");
    } finally {
      dyn[Symbol.dispose]();
      main[Symbol.dispose]();
    }
  });
});
