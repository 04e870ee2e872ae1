import { describe, expect, it } from "vitest";
import { Array, np, random } from "@refs/core";
import { vmap } from "@refs/trace";
import { BatchNorm, Dropout, Module, Param, RngCount, RngKey, RngStream, Rngs, useRefs, type Variable } from "../src/index.js";

const bits = (a: Array): number[] => globalThis.Array.from(a.dataSync() as Uint32Array);
const expectKey = (a: Array, b: Array) => {
  expect(a.dtype).toBe("uint32");
  expect(a.shape).toEqual(b.shape);
  expect(bits(a)).toEqual(bits(b));
};
const countOf = (v: Variable): number => Number(v.value.item());

// The notebook's cell-6 Linear: kernel from rngs() (the default stream), bias zeros without a key.
class NbLinear extends Module {
  kernel: Param;
  bias: Param;
  constructor(din: number, dout: number, opts: { rngs: Rngs }) {
    super();
    this.kernel = new Param(random.normal(opts.rngs.next(), [din, dout]));
    this.bias = new Param(np.zeros([dout]));
  }
  call(x: Array): Array {
    return x.matmul(this.kernel.value).add(this.bias.value);
  }
}

class Block extends Module {
  linear: NbLinear;
  bn: BatchNorm;
  dropout: Dropout;
  linearOut: NbLinear;
  constructor(din: number, dmid: number, dout: number, opts: { rngs: Rngs }) {
    super();
    this.linear = new NbLinear(din, dmid, opts);
    this.bn = new BatchNorm(dmid, opts);
    this.dropout = new Dropout(0.1, opts);
    this.linearOut = new NbLinear(dmid, dout, opts);
  }
}

for (const refs of [false, true]) {
  describe(`Rngs (useRefs(${refs}))`, () => {
    const mk = <T>(f: () => T): T => useRefs(refs, f);

    it("draws foldIn(key, count) and advances the count", () => {
      const rngs = mk(() => new Rngs(0));
      const s = rngs.get("default");
      expect(s).toBeInstanceOf(RngStream);
      expect(s.key).toBeInstanceOf(RngKey);
      expect(s.count).toBeInstanceOf(RngCount);
      expect(s.key.hasRef).toBe(refs);
      expect(s.count.hasRef).toBe(refs);
      expect(s.count.dtype).toBe("uint32");
      expect(s.count.shape).toEqual([]);
      expectKey(s.key.value, random.key(0));
      for (let c = 0; c < 3; c++) {
        expectKey(rngs.next(), random.foldIn(random.key(0), c));
        expect(countOf(s.count)).toBe(c + 1);
      }
      expect(s.count.value.dtype).toBe("uint32");
    });

    it("params()/dropout()/stream() use their streams and fall back to default", () => {
      const rngs = mk(() => new Rngs(3, { params: 7 }));
      expectKey(rngs.params(), random.foldIn(random.key(7), 0));
      expectKey(rngs.params(), random.foldIn(random.key(7), 1));
      // dropout: no such stream -> default
      expectKey(rngs.dropout(), random.foldIn(random.key(3), 0));
      expectKey(rngs.stream("noise"), random.foldIn(random.key(3), 1));
      expectKey(rngs.next(), random.foldIn(random.key(3), 2));
      expect(countOf(rngs.get("params").count)).toBe(2);
      expect(countOf(rngs.get("default").count)).toBe(3);
      expect(rngs.names()).toEqual(["default", "params"]);
    });

    it("accepts records, key arrays and streams", () => {
      const k = random.key(42);
      const rngs = mk(() => new Rngs({ params: k, dropout: 1 }));
      expectKey(rngs.params(), random.foldIn(k, 0));
      expectKey(rngs.dropout(), random.foldIn(random.key(1), 0));
      const again = mk(() => new Rngs({ default: rngs.get("params") }));
      expectKey(again.next(), random.foldIn(k, 0)); // same key, fresh count
      expect(() => new Rngs({ params: np.zeros([2]) })).toThrow(/invalid rng value for stream 'params'/);
    });

    it("an unknown stream without default names both", () => {
      const rngs = mk(() => new Rngs({ params: 0 }));
      expect(() => rngs.dropout()).toThrow(/No RngStream named 'dropout'.*no 'default' stream.*'params'/);
      expect(() => rngs.next()).toThrow(/No RngStream named 'default'/);
    });

    it("stream.fork() starts at the next key with count 0", () => {
      const rngs = mk(() => new Rngs(0));
      rngs.next();
      const s = rngs.get("default");
      const f = mk(() => s.fork());
      expect(countOf(s.count)).toBe(2);
      const k = random.foldIn(random.key(0), 1);
      expectKey(f.key.value, k);
      expect(countOf(f.count)).toBe(0);
      expect(f.key.hasRef).toBe(refs);
      expectKey(f.call(), random.foldIn(k, 0));
      expect(f.tag).toBe("default");
    });

    it("rngs.fork() forks every stream", () => {
      const rngs = mk(() => new Rngs(0, { params: 1 }));
      const f = rngs.fork();
      expectKey(f.get("default").key.value, random.foldIn(random.key(0), 0));
      expectKey(f.get("params").key.value, random.foldIn(random.key(1), 0));
      expect(countOf(rngs.get("default").count)).toBe(1);
      expect(countOf(rngs.get("params").count)).toBe(1);
    });

    it("rngs.fork({split}) gives keys [n, 2] and counts [n]", () => {
      const rngs = mk(() => new Rngs(0, { params: 1 }));
      const f = rngs.fork({ split: 8 });
      for (const [name, seed] of [["default", 0], ["params", 1]] as const) {
        const s = f.get(name);
        expect(s.key.shape).toEqual([8, 2]);
        expect(s.count.shape).toEqual([8]);
        expect(s.count.dtype).toBe("uint32");
        expect(bits(s.count.value)).toEqual(new globalThis.Array(8).fill(0));
        expectKey(s.key.value, random.split(random.foldIn(random.key(seed), 0), 8));
      }
      // per-name splits, "..." for the rest, null: unsplit
      const g = mk(() => new Rngs(0, { params: 1 })).fork({ split: { params: [2, 3], "...": null } });
      expect(g.get("params").key.shape).toEqual([2, 3, 2]);
      expect(g.get("params").count.shape).toEqual([2, 3]);
      expectKey(g.get("params").key.value, random.split(random.foldIn(random.key(1), 0), 6).reshape([2, 3, 2]));
      expect(g.get("default").key.shape).toEqual([2]);
    });

    it("a split stream draws per example (directly and under vmap)", () => {
      const f = mk(() => new Rngs(0).fork({ split: 4 }));
      const keys = f.get("default").key.value;
      const rows = (c: number) => np.stack([0, 1, 2, 3].map((i) => random.foldIn(keys.get(i), c)));
      expectKey(f.next(), rows(0));
      expect(bits(f.get("default").count.value)).toEqual([1, 1, 1, 1]);
      if (!refs) {
        const g = new Rngs(0).fork({ split: 4 });
        const out = vmap((r: Rngs) => r.next())(g) as Array;
        expectKey(out, rows(0));
      }
    });

    it("the notebook Block consumes 5 default keys; Dropout forks at count 3", () => {
      const rngs = mk(() => new Rngs(0));
      const block = mk(() => new Block(2, 64, 3, { rngs }));
      expect(countOf(rngs.get("default").count)).toBe(5);
      const k0 = random.key(0);
      // linear kernel: key count 0
      expect(bits(block.linear.kernel.value)).toEqual(bits(random.normal(random.foldIn(k0, 0), [2, 64])));
      // Dropout's stream forked from draw 3, at count 0
      const d = block.dropout.rngs!;
      expectKey(d.key.value, random.foldIn(k0, 3));
      expect(countOf(d.count)).toBe(0);
      expect(d.key.hasRef).toBe(refs);
      // linear_out kernel: count 4
      expect(bits(block.linearOut.kernel.value)).toEqual(bits(random.normal(random.foldIn(k0, 4), [64, 3])));
    });
  });
}
