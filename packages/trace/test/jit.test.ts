import { describe, expect, it } from "vitest";
import { np, newRef, type Ref, type Array } from "@refs/core";
import { jit, ValueError } from "../src/index.js";

describe("jit with refs", () => {
  it("increments a ref argument in place, returning nothing", () => {
    const aRef = newRef(np.array([1, 2, 3], { dtype: "int32" }));
    const increment = jit(function increment(aRef: Ref) {
      const array = aRef.get();
      aRef.set(array.add(1));
    });
    expect(increment(aRef)).toBeUndefined();
    expect(String(aRef)).toBe("ArrayRef([2, 3, 4], dtype=int32)");
    increment(aRef);
    expect(aRef.get().toJs()).toEqual([3, 4, 5]);
    expect(increment.cacheSize).toBe(1);
  });

  it("r=newRef(zeros(3)); r += 1; r[0] += 1; r[1] += 5 → [2, 6, 1] under jit", () => {
    const f = jit(() => {
      const r = newRef(np.zeros([3]));
      r.addUpdate(1);
      r.addUpdate(1, 0);
      r.addUpdate(5, 1);
      return r.get();
    });
    expect(f().toJs()).toEqual([2, 6, 1]);
  });

  it("a jitted closure over a ref called twice applies its effect twice → [4, 12, 2]", () => {
    const r = newRef(np.zeros([3]));
    const f = jit(() => {
      r.addUpdate(1);
      r.addUpdate(1, 0);
      r.addUpdate(5, 1);
    });
    f();
    f();
    expect(r.get().toJs()).toEqual([4, 12, 2]);
  });

  it("multiple ref arguments and regular outputs", () => {
    const a = newRef(np.array([1, 2]));
    const b = newRef(np.array([10, 20]));
    const f = jit((a: Ref, b: Ref, x: Array) => {
      const s = a.get().add(b.get());
      a.set(s);
      b.addUpdate(x);
      return s.mul(2);
    });
    const out = f(a, b, np.array([1, 1]));
    expect(out.toJs()).toEqual([22, 44]);
    expect(a.get().toJs()).toEqual([11, 22]);
    expect(b.get().toJs()).toEqual([11, 21]);
  });

  it("nested jit", () => {
    const r = newRef(np.array([1.0, 2.0]));
    const inner = jit((r: Ref) => r.addUpdate(1));
    const outer = jit((r: Ref) => {
      inner(r);
      inner(r);
      return r.get().sum();
    });
    expect(outer(r).item()).toBe(7);
    expect(r.get().toJs()).toEqual([3, 4]);
  });

  it("the same ref twice among the arguments", () => {
    const x = newRef(np.array(0));
    const f = jit(function f(a: Ref, b: Ref) {
      void a;
      void b;
    });
    expect(() => f(x, x)).toThrow(ValueError);
    expect(() => f(x, x)).toThrow(
      /^only one reference to a mutable array may be passed as an argument to a function, but when tracing f at .*jit\.test\.ts:\d+ for jit the mutable array reference of type Ref\{int32\[\]\} appeared at both a and b\.$/,
    );
  });

  it("a returned ref is an error naming the path and where it was created", () => {
    const f = jit(function createModel() {
      return { bn: { bias: newRef(np.zeros([64])) } };
    });
    expect(() => f()).toThrow(
      /^function createModel at .*jit\.test\.ts:\d+ traced for jit returned a mutable array reference of type Ref\{float32\[64\]\} at output tree path result\.bn\.bias, but mutable array references cannot be returned\.\n\nThe returned mutable array was created on line .*jit\.test\.ts:\d+:\d+ \(createModel\)\.$/,
    );
    const g = jit(function g(x: Ref) {
      return x;
    });
    expect(() => g(newRef(np.zeros([2])))).toThrow(/\n\nThe returned mutable array was passed in as the argument x\.$/);
  });

  it("closed over and also passed", () => {
    const r = newRef(np.zeros([2]));
    const f = jit(function f(x: Ref) {
      r.addUpdate(1);
      x.addUpdate(1);
    });
    expect(() => f(r)).toThrow(
      "when tracing f for jit, a mutable array reference of type Ref{float32[2]} was both closed over and passed as the argument x",
    );
  });

  it("caches by shape, dtype and weak type and retraces otherwise", () => {
    let traces = 0;
    const f = jit((x: Array) => {
      traces++;
      return x.mul(2);
    });
    f(np.ones([3]));
    f(np.ones([3]));
    expect(traces).toBe(1);
    f(np.ones([4]));
    f(np.ones([3], { dtype: "int32" }));
    f(2 as unknown as Array);
    expect(traces).toBe(4);
    expect(f(2 as unknown as Array).weakType).toBe(true);
  });

  it("static arguments are part of the cache key", () => {
    let traces = 0;
    const f = jit(
      (x: Array, n: number) => {
        traces++;
        return x.mul(n);
      },
      { staticArgnums: 1 },
    );
    expect(f(np.ones([2]), 3).toJs()).toEqual([3, 3]);
    expect(f(np.ones([2]), 3).toJs()).toEqual([3, 3]);
    expect(f(np.ones([2]), 4).toJs()).toEqual([4, 4]);
    expect(traces).toBe(2);
  });
});

describe("jit's cache is per backend", () => {
  it("a function jitted on one backend compiles again for another, and for a fresh instance of it", async () => {
    const { CpuBackend, registerBackend, setBackend, memory, resetBackend } = await import("@refs/core");
    let made = 0;
    registerBackend("cpu-other", () => (made++, new CpuBackend()), { priority: -10 });
    const f = jit((x: Array) => x.mul(2).add(1));
    try {
      await setBackend("cpu");
      expect(f(np.arange(3)).toJs()).toEqual([1, 3, 5]);
      await setBackend("cpu-other");
      const before = memory("cpu-other").buffers;
      const y = f(np.arange(3));
      // The output lives on the backend that is current at the call, not the one of the first call.
      expect(memory("cpu-other").buffers).toBeGreaterThan(before);
      expect(y.toJs()).toEqual([1, 3, 5]);
      expect(f.cacheSize).toBe(2);
      // A backend instance that was reset (a lost device brought up again) gets a fresh compile, not the dead one's executable.
      resetBackend("cpu-other");
      await setBackend("cpu-other");
      expect(made).toBe(2);
      const before2 = memory("cpu-other").buffers;
      expect(f(np.arange(3)).toJs()).toEqual([1, 3, 5]);
      expect(memory("cpu-other").buffers).toBeGreaterThan(before2);
      expect(f.cacheSize).toBe(2);
    } finally {
      await setBackend("cpu");
    }
  });
});
