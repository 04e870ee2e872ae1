import { describe, expect, it } from "vitest";
import { np, newRef, random, type Array, type Ref } from "@refs/core";
import { cond, foriLoop, jit, scan, switchCase, whileLoop } from "../src/index.js";

const f32 = (v: number[]) => np.array(v).astype("float32");

describe("scan", () => {
  it("a closed-over ref += 2 five times: ys [2, 4, 6, 8, 10] and the ref at 10", () => {
    const r = newRef(np.zeros([]));
    const [c, ys] = scan(
      (carry: Array, _x: Array) => {
        r.addUpdate(2);
        return [carry, r.get()] as const;
      },
      np.zeros([]),
      np.arange(5),
    );
    expect((ys as Array).toJs()).toEqual([2, 4, 6, 8, 10]);
    expect(r.get().item()).toBe(10);
    expect((c as Array).item()).toBe(0);
  });

  it("refs as xs: the body sees row views and writes land in the original → arange(5) * 2", () => {
    const r = newRef(np.arange(5));
    const [, ys] = scan(
      (carry: null, row: Ref) => {
        row.set(row.get().mul(2));
        return [carry, row.get()] as const;
      },
      null,
      r,
    );
    expect(r.get().toJs()).toEqual([0, 2, 4, 6, 8]);
    expect((ys as Array).toJs()).toEqual([0, 2, 4, 6, 8]);
  });

  it("computes a cumulative sum with a carry, forwards and in reverse, under jit too", () => {
    const body = (c: Array, x: Array) => {
      const n = c.add(x);
      return [n, n] as const;
    };
    const xs = f32([1, 2, 3, 4]);
    const [c, ys] = scan(body, np.zeros([]), xs);
    expect((c as Array).item()).toBe(10);
    expect((ys as Array).toJs()).toEqual([1, 3, 6, 10]);
    const [, rys] = scan(body, np.zeros([]), xs, { reverse: true });
    expect((rys as Array).toJs()).toEqual([10, 9, 7, 4]);
    const j = jit((xs: Array) => scan(body, np.zeros([]), xs)[1]);
    expect((j(xs) as Array).toJs()).toEqual([1, 3, 6, 10]);
  });

  it("promotes a weakly typed initial carry to the body's dtype", () => {
    const [c] = scan((c: Array, x: Array) => [c.add(x), null] as const, 0 as unknown as Array, f32([0.5, 0.25]));
    expect((c as Array).dtype).toBe("float32");
    expect((c as Array).item()).toBe(0.75);
  });

  it("a body whose carry changes shape or dtype is an error naming the path and both types", () => {
    expect(() => scan((c: Array, x: Array) => [c.reshape([1]).add(x), null] as const, np.zeros([]), f32([1, 2]))).toThrow(
      /scan: the body function .* must return a carry with the same types as its input carry, but init is float32\[\] on input and float32\[1\] on output/,
    );
    expect(() => scan((c: { a: Array }, _x: Array) => [{ a: c.a.astype("int32") }, null] as const, { a: np.zeros([]) }, f32([1]))).toThrow(
      /init\.a is float32\[\] on input and int32\[\] on output/,
    );
  });

  it("a body that returns a ref fails", () => {
    const r = newRef(np.zeros([2]));
    expect(() => scan(function body(c: null, _x: Array) { return [c, r] as const; }, null, np.arange(3))).toThrow(
      /^function body at .* traced for scan returned a mutable array reference of type Ref\{float32\[2\]\} at output tree path result\[1\], but mutable array references cannot be returned\./,
    );
  });

  it("inconsistent xs lengths", () => {
    expect(() => scan((c: null, x: [Array, Array]) => [c, x[0]] as const, null, [np.arange(3), np.arange(4)])).toThrow(
      /scan got inconsistent lengths: xs\[1\] has leading size 4 but the scan length is 3/,
    );
  });

  it("scan over a stack of keys (PRNG inside a scan body)", () => {
    const keys = random.split(random.key(0), 3);
    const [, ys] = scan((c: null, k: Array) => [c, random.uniform(k, [2])] as const, null, keys);
    const expected = [0, 1, 2].map((i) => random.uniform(keys.get(i), [2]).toJs());
    expect((ys as Array).toJs()).toEqual(expected);
  });
});

describe("cond and switchCase", () => {
  it("picks a branch; both branches writing the same ref", () => {
    const r = newRef(np.zeros([2]));
    const f = jit((p: Array) =>
      cond(
        p,
        () => r.addUpdate(f32([1, 0])),
        () => r.addUpdate(f32([0, 10])),
      ),
    );
    f(np.asarray(true));
    f(np.asarray(false));
    f(np.asarray(true));
    expect(r.get().toJs()).toEqual([2, 10]);
  });

  it("returns values eagerly with operands", () => {
    const x = f32([1, 2]);
    expect((cond(true, (a: Array) => a.mul(2), (a: Array) => a.neg(), x) as Array).toJs()).toEqual([2, 4]);
    expect((cond(np.asarray(0), (a: Array) => a.mul(2), (a: Array) => a.neg(), x) as Array).toJs()).toEqual([-1, -2]);
  });

  it("branches that disagree name both types", () => {
    expect(() => cond(true, () => np.zeros([2]), () => np.zeros([3]))).toThrow(
      "cond: branches must return the same types, but output 0 is float32[3] in the false branch and float32[2] in the true branch",
    );
  });

  it("switchCase clamps its index", () => {
    const bs = [() => np.asarray(10), () => np.asarray(20), () => np.asarray(30)];
    expect((switchCase(1, bs) as Array).item()).toBe(20);
    expect((switchCase(7, bs) as Array).item()).toBe(30);
    expect((switchCase(-3, bs) as Array).item()).toBe(10);
  });
});

describe("whileLoop and foriLoop", () => {
  it("while loop with a data-dependent trip count", () => {
    const out = whileLoop(
      ([i, x]: [Array, Array]) => x.lt(100),
      ([i, x]: [Array, Array]) => [i.add(1), x.mul(2)] as [Array, Array],
      [np.asarray(0), np.asarray(3)] as [Array, Array],
    );
    expect(out[0].item()).toBe(6);
    expect(out[1].item()).toBe(192);
  });

  it("a while loop writing a closed-over ref", () => {
    const r = newRef(np.asarray(0));
    const n = whileLoop(
      (i: Array) => i.lt(4),
      (i: Array) => {
        r.addUpdate(i);
        return i.add(1);
      },
      np.asarray(0),
    );
    expect(n.item()).toBe(4);
    expect(r.get().item()).toBe(6);
  });

  it("foriLoop with static and dynamic bounds", () => {
    const s = foriLoop(0, 5, (i: Array, acc: Array) => acc.add(i), np.asarray(0));
    expect(s.item()).toBe(10);
    const j = jit((hi: Array) => foriLoop(np.asarray(1), hi, (i: Array, acc: Array) => acc.mul(i), np.asarray(1)));
    expect(j(np.asarray(5)).item()).toBe(24);
  });
});
