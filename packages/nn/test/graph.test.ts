import { describe, expect, it } from "vitest";
import { np, random, type Array } from "@refs/core";
import { jit } from "@refs/trace";
import {
  BatchStat,
  Module,
  Param,
  Pytree,
  State,
  Variable,
  findDuplicates,
  merge,
  split,
  state,
  toArrays,
  toRefs,
  update,
  useRefs,
  type Filter,
} from "../src/index.js";

class Linear extends Module {
  kernel: Param;
  bias: Param;
  constructor(inF: number, outF: number, seed = 0) {
    super();
    this.kernel = new Param(random.normal(random.key(seed), [inF, outF]));
    this.bias = new Param(np.zeros([outF]));
  }
  call(x: Array): Array {
    return x.matmul(this.kernel.value).add(this.bias.value.get([null]));
  }
}

class SharedVariables extends Pytree {
  a = new Variable(np.array(0));
  b = new Variable(np.array(1));
  c = this.a;
}

class SharedModules extends Pytree {
  d = new Linear(1, 1);
  e = new Linear(1, 1);
  f = this.d;
}

describe("graph ops", () => {
  it("findDuplicates on the notebook's shared objects", () => {
    expect(findDuplicates(new SharedVariables())).toEqual([[["a"], ["c"]]]);
    expect(findDuplicates(new SharedModules())).toEqual([[["d"], ["f"]]]);
  });

  it("split deduplicates and jit(h)(graphdef, state) updates the shared variable seen through both names", () => {
    const sv = useRefs(true, () => new SharedVariables());
    const [graphdef, st] = split(sv);
    expect(Object.keys(st)).toEqual(["a", "b"]);
    expect(String(st)).toBe(
      "State({\n  'a': Variable( # 1 (4 B)\n    value=ArrayRef(0, dtype=int32, weak_type=True)\n  ),\n  'b': Variable( # 1 (4 B)\n    value=ArrayRef(1, dtype=int32, weak_type=True)\n  )\n})",
    );
    const h = jit(function h(gd: typeof graphdef, s: State) {
      const obj = merge<SharedVariables>(gd, s);
      obj.a.set(obj.a.get().add(10));
    });
    h(graphdef, st);
    expect(sv.a.value.item()).toBe(10);
    expect(sv.c.value.item()).toBe(10);
    expect(sv.c).toBe(sv.a);
    expect(String(sv)).toMatch(/^SharedVariables\( # Variable: 2 \(8 B\)\n  a=Variable\( # 1 \(4 B\)\n    value=ArrayRef\(10, dtype=int32\)\n  \),/);
  });

  it("merge restores sharing of modules", () => {
    const sm = new SharedModules();
    const [gd, st] = split(sm);
    const back = merge<SharedModules>(gd, st);
    expect(back.f).toBe(back.d);
    expect(back.e).not.toBe(back.d);
    expect(back).toBeInstanceOf(SharedModules);
  });

  it("filters split state; the first matching filter wins; ... only last; non-exhaustive filters", () => {
    class M extends Module {
      w = new Param(np.ones([2]));
      s = new BatchStat(np.zeros([2]));
      v = new Variable(np.zeros([1]));
    }
    const m = new M();
    const [, params, rest] = split(m, Param, "...");
    expect(Object.keys(params)).toEqual(["w"]);
    expect(Object.keys(rest)).toEqual(["s", "v"]);
    const [, p2] = split(m, [Param, BatchStat] as Filter, "...");
    expect(Object.keys(p2)).toEqual(["s", "w"]);
    const [, byPath] = split(m, (path) => path[0] === "v", "...");
    expect(Object.keys(byPath)).toEqual(["v"]);
    expect(() => split(m, "...", Param)).toThrow(/`\.\.\.` can only be used as the last filter/);
    expect(() => split(m, Param)).toThrow(/^Non-exhaustive filters, got a non-empty remainder: s \(BatchStat\), v \(Variable\)/);
    expect(Object.keys(state(m, BatchStat))).toEqual(["s"]);
  });

  it("update writes values in place", () => {
    const m = useRefs(true, () => new Linear(2, 3));
    const st = state(m, Param);
    const doubled = new State({ bias: new Param(np.ones([3])), kernel: new Param(np.zeros([2, 3])) });
    update(m, doubled);
    expect(m.bias.value.toJs()).toEqual([1, 1, 1]);
    expect(() => update(m)).toThrow(/update: pass at least one State/);
    void st;
  });

  it("toRefs/toArrays make new objects and print like Flax", () => {
    const model = new Linear(1, 3);
    const refsModel = toRefs(model);
    expect(refsModel).not.toBe(model);
    expect(refsModel.kernel.hasRef).toBe(true);
    expect(model.kernel.hasRef).toBe(false);
    expect(String(refsModel)).toBe(
      "Linear( # Param: 6 (24 B)\n  bias=Param( # 3 (12 B)\n    value=ArrayRef(shape=(3,), dtype=dtype('float32'))\n  ),\n  kernel=Param( # 3 (12 B)\n    value=ArrayRef(shape=(1, 3), dtype=dtype('float32'))\n  )\n)",
    );
    const arraysModel = toArrays(refsModel);
    expect(arraysModel.kernel.hasRef).toBe(false);
    expect(arraysModel.kernel.value.toJs()).toEqual(model.kernel.value.toJs());
  });

  it("duplicates make toRefs throw", () => {
    expect(() => toRefs(new SharedVariables())).toThrow(/^Found duplicate at paths:\n  ---\n  a\n  c\n  ---/);
  });

  it("a Variable refuses a Ref; a standalone Variable prints its value", () => {
    const v = new Variable(np.array([1, 2, 3], { dtype: "int32" }), { isHijax: true });
    expect(v.isHijax).toBe(true);
    expect(v.hasRef).toBe(true);
    expect(String(v)).toBe("Variable( # 3 (12 B)\n  value=ArrayRef([1, 2, 3], dtype=int32)\n)");
    expect(() => new Variable(v.ref as never)).toThrow("Cannot pass a Ref directly into Variable constructor.");
  });

  it("a jitted increment works on a Variable as on a Ref", () => {
    const v = new Variable(np.array([1, 2, 3], { dtype: "int32" }), { isHijax: true });
    const increment = jit(function increment(r: { get(): Array; set(v: Array): void }) {
      r.set(r.get().add(1));
    });
    increment(v);
    expect(String(v)).toBe("Variable( # 3 (12 B)\n  value=ArrayRef([2, 3, 4], dtype=int32)\n)");
  });

  it("mutating a ref-less Variable from inside a trace of another level is refused", () => {
    const v = new Variable(np.zeros([2]));
    const f = jit((x: Array) => {
      v.value = x;
      return x;
    });
    expect(() => f(np.ones([2]))).toThrow("Cannot mutate Variable from a different trace level");
  });

  it("jit over pytrees with shared variables reports both paths", () => {
    const g = jit(function g(pytree: unknown) {
      void pytree;
    });
    const sv = useRefs(true, () => new SharedVariables());
    expect(() => g(sv)).toThrow(
      /for jit the mutable array reference of type Ref\{int32\[\]\} appeared at both pytree\.a\.value and pytree\.c\.value\.$/,
    );
    const sm = useRefs(true, () => new SharedModules());
    expect(() => g(sm)).toThrow(/Ref\{float32\[1\]\} appeared at both pytree\.d\.bias\.value and pytree\.f\.bias\.value\.$/);
  });
});
