import { describe, expect, test } from "vitest";
import {
  auxKey,
  flatten,
  flattenWithPath,
  isLeafValue,
  keystr,
  leaves,
  map,
  mapWithPath,
  registerPytreeNode,
  structure,
  TreeDef,
  unflatten,
  type KeyPath,
  type PathEntry,
} from "../src/tree.js";

/** A leaf-like class that is not registered. */
class Box {
  constructor(readonly v: number) {}
}

/** A registered node with children and static (aux) data. */
class Linear {
  constructor(
    readonly kernel: unknown,
    readonly bias: unknown,
    readonly features: number,
    readonly activation: string = "relu",
  ) {}
}
registerPytreeNode(Linear, {
  flatten: (x) => [
    [
      ["kernel", x.kernel],
      ["bias", x.bias],
    ],
    { features: x.features, activation: x.activation },
  ],
  unflatten: (aux, [kernel, bias]) => {
    const a = aux as { features: number; activation: string };
    return new Linear(kernel, bias, a.features, a.activation);
  },
});

/** A subclass that inherits Linear's registration. */
class BigLinear extends Linear {}

/** A base class and a subclass with its own registration. */
class Pair {
  constructor(
    readonly a: unknown,
    readonly b: unknown,
  ) {}
}
registerPytreeNode(Pair, {
  flatten: (p) => [
    [
      [0, p.a],
      [1, p.b],
    ],
    null,
  ],
  unflatten: (_aux, [a, b]) => new Pair(a, b),
});
class OnlyFirst extends Pair {}
registerPytreeNode(OnlyFirst, {
  flatten: (p) => [[["a", p.a]], { b: p.b }],
  unflatten: (aux, [a]) => new OnlyFirst(a, (aux as { b: unknown }).b),
});

describe("flatten / unflatten", () => {
  test("nested objects, arrays and null round-trip", () => {
    const tree = { b: [1, 2, { c: 3 }], a: 4, n: null, u: undefined, e: [], o: {} };
    const [ls, td] = flatten(tree);
    expect(ls).toEqual([4, 1, 2, 3]); // keys sorted: a, b, e, n, o, u
    expect(td.numLeaves).toBe(4);
    const back = unflatten(td, ls) as typeof tree;
    expect(back).toEqual(tree);
    expect(Object.keys(back)).toEqual(["a", "b", "e", "n", "o", "u"]);
    expect("u" in back).toBe(true);
    expect(back.n).toBeNull();
  });

  test("keys are visited in sorted order regardless of insertion order", () => {
    expect(leaves({ z: 1, a: 2, m: 3 })).toEqual([2, 3, 1]);
    expect(structure({ z: 1, a: 2 }).equals(structure({ a: 5, z: 6 }))).toBe(true);
  });

  test("leaves: numbers, strings, booleans, functions, typed arrays, unregistered classes", () => {
    const fn = () => 1;
    const box = new Box(1);
    const ta = new Float32Array(2);
    expect(leaves([1, "s", true, fn, box, ta])).toEqual([1, "s", true, fn, box, ta]);
    expect(isLeafValue(box)).toBe(true);
    expect(isLeafValue({})).toBe(false);
    expect(isLeafValue(null)).toBe(false);
    const [ls, td] = flatten(5);
    expect(ls).toEqual([5]);
    expect(td.isLeaf).toBe(true);
    expect(unflatten(td, [7])).toBe(7);
  });

  test("null and undefined are empty nodes, not leaves", () => {
    const [ls, td] = flatten([null, undefined, 1]);
    expect(ls).toEqual([1]);
    expect(td.toString()).toBe("PyTreeDef([null, undefined, *])");
    expect(unflatten(td, [2])).toEqual([null, undefined, 2]);
    expect(structure(null).numLeaves).toBe(0);
  });

  test("null-prototype objects are containers and stay null-prototype", () => {
    const o = Object.create(null) as Record<string, unknown>;
    o.y = 1;
    o.x = 2;
    const [ls, td] = flatten(o);
    expect(ls).toEqual([2, 1]);
    const back = unflatten(td, [3, 4]) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBeNull();
    expect(back.x).toBe(3);
    expect(td.equals(structure({ x: 0, y: 0 }))).toBe(false);
  });

  test("isLeaf stops descent", () => {
    const tree = { a: [1, 2], b: { c: 3 } };
    const [ls, td] = flatten(tree, (x) => Array.isArray(x));
    expect(ls).toEqual([[1, 2], 3]);
    expect(td.numLeaves).toBe(2);
  });

  test("unflatten with the wrong number of leaves names both counts", () => {
    const td = structure({ a: 1, b: [2, 3] });
    expect(() => unflatten(td, [1, 2])).toThrow(/3 leaves.*2 leaves were given/);
    expect(() => unflatten(td, [1, 2, 3, 4])).toThrow(/3 leaves, but 4/);
  });

  test("cycles throw naming the path", () => {
    const a: Record<string, unknown> = { x: 1 };
    a.self = { inner: [a] };
    expect(() => flatten(a)).toThrow(/cycle.*tree\.self\.inner\[0\]/);
    const arr: unknown[] = [1];
    arr.push(arr);
    expect(() => leaves(arr)).toThrow(/cycle.*tree\[1\]/);
  });

  test("shared (non-cyclic) references are fine", () => {
    const shared = { w: 1 };
    expect(leaves({ a: shared, b: shared })).toEqual([1, 1]);
  });
});

describe("registered nodes", () => {
  test("flatten and unflatten a registered class", () => {
    const lin = new Linear(1, 2, 64);
    const [ls, td] = flatten({ layer: lin, x: 3 });
    expect(ls).toEqual([1, 2, 3]);
    const back = unflatten(td, [10, 20, 30]) as { layer: Linear; x: number };
    expect(back.layer).toBeInstanceOf(Linear);
    expect(back.layer.kernel).toBe(10);
    expect(back.layer.bias).toBe(20);
    expect(back.layer.features).toBe(64);
    expect(back.x).toBe(30);
  });

  test("static aux data is part of the structure and the key", () => {
    const a = structure(new Linear(1, 2, 64));
    const b = structure(new Linear(5, 6, 64));
    const c = structure(new Linear(1, 2, 32));
    const d = structure(new Linear(1, 2, 64, "gelu"));
    expect(a.equals(b)).toBe(true);
    expect(a.key()).toBe(b.key());
    expect(a.equals(c)).toBe(false);
    expect(a.key()).not.toBe(c.key());
    expect(a.equals(d)).toBe(false);
    expect(a.key()).not.toBe(d.key());
    expect(a.toString()).toBe(
      "PyTreeDef(CustomNode(Linear[{'activation': 'relu', 'features': 64}], {kernel: *, bias: *}))",
    );
  });

  test("subclasses use the registered base entry", () => {
    const big = new BigLinear(1, 2, 8);
    const [ls, td] = flatten(big);
    expect(ls).toEqual([1, 2]);
    // the base's unflatten builds the base class
    expect(unflatten(td, [3, 4])).toBeInstanceOf(Linear);
    expect(td.equals(structure(new Linear(1, 2, 8)))).toBe(true);
  });

  test("a subclass may register its own entry", () => {
    expect(leaves(new Pair(1, 2))).toEqual([1, 2]);
    const [ls, td] = flatten(new OnlyFirst(1, 2));
    expect(ls).toEqual([1]);
    const back = unflatten(td, [9]) as OnlyFirst;
    expect(back).toBeInstanceOf(OnlyFirst);
    expect(back.a).toBe(9);
    expect(back.b).toBe(2);
    expect(structure(new OnlyFirst(1, 2)).key()).not.toBe(structure(new OnlyFirst(1, 3)).key());
    expect(structure(new Pair(1, 2)).equals(structure(new OnlyFirst(1, 2)))).toBe(false);
  });

  test("duplicate registration throws", () => {
    expect(() =>
      registerPytreeNode(Pair, { flatten: () => [[], null], unflatten: () => new Pair(0, 0) }),
    ).toThrow(/duplicate/);
  });

  test("registered node paths: string keys as attributes, numbers as indices", () => {
    const [pls] = flattenWithPath({ pair: new Pair(new Linear(1, 2, 3), 4) });
    expect(pls.map(([p]) => keystr(p, "m"))).toEqual(["m.pair[0].kernel", "m.pair[0].bias", "m.pair[1]"]);
    expect(pls[0]![0]).toEqual([
      { kind: "key", key: "pair" },
      { kind: "index", index: 0 },
      { kind: "attr", name: "kernel" },
    ]);
  });
});

describe("paths", () => {
  test("keystr forms", () => {
    const path: PathEntry[] = [
      { kind: "attr", name: "bn" },
      { kind: "attr", name: "bias" },
      { kind: "attr", name: "value" },
    ];
    expect(keystr(path, "result")).toBe("result.bn.bias.value");
    expect(keystr([{ kind: "index", index: 1 }], "args")).toBe("args[1]");
    expect(keystr([{ kind: "index", index: 0 }, { kind: "key", key: "a" }], "args")).toBe("args[0].a");
    expect(keystr([{ kind: "key", key: "a" }, { kind: "index", index: 0 }])).toBe(".a[0]");
    expect(keystr([{ kind: "key", key: "not an id" }, { kind: "key", key: "it's" }], "x")).toBe(
      "x['not an id']['it\\'s']",
    );
    expect(keystr([{ kind: "attr", name: "0abc" }])).toBe("['0abc']");
    expect(keystr([], "root")).toBe("root");
  });

  test("flattenWithPath on nested containers", () => {
    const [pls, td] = flattenWithPath({ pytree: { c: { value: 1 }, a: { value: 2 } }, xs: [3, [4]] });
    expect(pls.map(([p, l]) => [keystr(p), l])).toEqual([
      [".pytree.a.value", 2],
      [".pytree.c.value", 1],
      [".xs[0]", 3],
      [".xs[1][0]", 4],
    ]);
    expect(td.numLeaves).toBe(4);
    const [args] = flattenWithPath([{ a: 1 }, 2]);
    expect(args.map(([p]) => keystr(p, "args"))).toEqual(["args[0].a", "args[1]"]);
  });
});

describe("TreeDef", () => {
  test("toString is readable", () => {
    expect(structure({ a: 1, b: [2, 3] }).toString()).toBe("PyTreeDef({'a': *, 'b': [*, *]})");
    expect(structure(1).toString()).toBe("PyTreeDef(*)");
    expect(structure([]).toString()).toBe("PyTreeDef([])");
  });

  test("equals and key distinguish structures", () => {
    const s1 = structure({ a: 1, b: [2, 3] });
    const s2 = structure({ a: "x", b: [true, null] });
    const s3 = structure({ a: 1, b: [2, 3], c: 4 });
    expect(s1.equals(structure({ a: 9, b: [8, 7] }))).toBe(true);
    expect(s1.equals(s2)).toBe(false); // null is structure, not a leaf
    expect(s1.equals(s3)).toBe(false);
    expect(s1.key()).toBe(structure({ b: [0, 0], a: 0 }).key());
    expect(new Set([s1.key(), s2.key(), s3.key()]).size).toBe(3);
    expect(structure([1, 2]).key()).not.toBe(structure({ 0: 1, 1: 2 }).key());
    expect(structure([[1], 2]).key()).not.toBe(structure([1, [2]]).key());
  });

  test("children, numNodes, flattenUpTo, unflatten method", () => {
    const td = structure({ a: 1, b: [2, 3] });
    expect(td.children().map((c) => c.toString())).toEqual(["PyTreeDef(*)", "PyTreeDef([*, *])"]);
    expect(td.numNodes).toBe(5);
    expect(td.flattenUpTo({ a: [1, 2], b: [3, { x: 4 }] })).toEqual([[1, 2], 3, { x: 4 }]);
    expect(() => td.flattenUpTo({ a: 1, b: [2] })).toThrow(/tree\.b/);
    expect(td.unflatten<{ a: number }>([1, 2, 3]).a).toBe(1);
  });
});

describe("auxKey", () => {
  test("structural for data, identity for opaque objects", () => {
    expect(auxKey({ b: [1, "x"], a: null })).toBe(auxKey({ a: null, b: [1, "x"] }));
    expect(auxKey([1, 2])).not.toBe(auxKey([1, "2"]));
    expect(auxKey(0)).not.toBe(auxKey(-0));
    expect(auxKey(new Box(1))).not.toBe(auxKey(new Box(1)));
    const box = new Box(1);
    expect(auxKey(box)).toBe(auxKey(box));
    const keyed = { key: () => "k1" };
    expect(auxKey(keyed)).toBe(auxKey({ key: () => "k1" }));
    class Shape {
      constructor(readonly dims: number[]) {}
      key(): string {
        return this.dims.join("x");
      }
    }
    expect(auxKey(new Shape([2, 3]))).toBe(auxKey(new Shape([2, 3])));
    expect(auxKey(new Shape([2, 3]))).not.toBe(auxKey(new Shape([3, 2])));
    const f = () => 0;
    const g = () => 0;
    expect(auxKey(f)).not.toBe(auxKey(g));
    expect(auxKey(new Map([["a", 1]]))).toBe(auxKey(new Map([["a", 1]])));
  });

  test("aux with key() objects: equal keys mean equal structures", () => {
    class Static {
      constructor(readonly name: string) {}
      key(): string {
        return this.name;
      }
    }
    class Holder {
      constructor(
        readonly x: unknown,
        readonly s: Static,
      ) {}
    }
    registerPytreeNode(Holder, {
      flatten: (h) => [[["x", h.x]], h.s],
      unflatten: (aux, [x]) => new Holder(x, aux as Static),
    });
    const a = structure(new Holder(1, new Static("p")));
    const b = structure(new Holder(2, new Static("p")));
    const c = structure(new Holder(1, new Static("q")));
    expect(a.key()).toBe(b.key());
    expect(a.key()).not.toBe(c.key());
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
  });
});

describe("map", () => {
  test("over one tree", () => {
    expect(map((x: number) => x * 2, { a: 1, b: [2, null, 3] })).toEqual({ a: 2, b: [4, null, 6] });
  });

  test("over several trees", () => {
    const t1 = { w: [1, 2], b: 3 };
    const t2 = { b: 30, w: [10, 20] };
    const t3 = { w: [100, 200], b: 300 };
    expect(map((a: number, b: number, c: number) => a + b + c, t1, t2, t3)).toEqual({ w: [111, 222], b: 333 });
  });

  test("over registered nodes", () => {
    const out = map((k: number, g: number) => k - g, new Linear(1, 2, 4), new Linear(0.5, 1, 4)) as Linear;
    expect(out).toBeInstanceOf(Linear);
    expect([out.kernel, out.bias, out.features]).toEqual([0.5, 1, 4]);
  });

  test("rest trees may hold whole subtrees where the first has leaves", () => {
    expect(map((a: number, b: unknown) => [a, b], [1, 2], [{ x: 1 }, [3]])).toEqual([
      [1, { x: 1 }],
      [2, [3]],
    ]);
  });

  test("mismatched structures name the path and both structures", () => {
    const run = () => map((a: number, b: number) => a + b, { a: 1, b: [2, 3] }, { a: 1, b: [2] });
    expect(run).toThrow(/tree\.b/);
    expect(run).toThrow(/array of length 2/);
    expect(run).toThrow(/PyTreeDef\(\{'a': \*, 'b': \[\*, \*\]\}\)/);
    expect(run).toThrow(/PyTreeDef\(\{'a': \*, 'b': \[\*\]\}\)/);
    expect(() => map((a: number, b: number) => a + b, { a: 1 }, { b: 1 })).toThrow(/keys \['a'\]/);
    expect(() => map((a: number, b: number) => a + b, [null], [1])).toThrow(/tree\[0\].*expected null/);
    expect(() => map((a: unknown, b: unknown) => [a, b], new Linear(1, 2, 4), new Linear(1, 2, 8))).toThrow(
      /static data/,
    );
  });

  test("mapWithPath passes key paths", () => {
    const out = mapWithPath((p: KeyPath, x: number) => `${keystr(p, "t")}=${x}`, { a: [1], b: 2 });
    expect(out).toEqual({ a: ["t.a[0]=1"], b: "t.b=2" });
    const sums = mapWithPath((_p: KeyPath, x: number, y: number) => x + y, [1, 2], [3, 4]);
    expect(sums).toEqual([4, 6]);
  });

  test("TreeDef is usable as a value type", () => {
    expect(structure({})).toBeInstanceOf(TreeDef);
  });
});
