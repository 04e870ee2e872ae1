/**
 * vmap's API: inAxes/outAxes forms (numbers, negative, null, pytree
 * prefixes), axisSize, errors, and composition with itself, jit, grad and
 * sub-program calls.
 */
import { describe, expect, it } from "vitest";
import { Array, ShapedArray, bind, np, primitives as P } from "@refs/core";
import { grad, jit, stageFlat, vmap, ValueError } from "../src/index.js";
import { exampleOf, expectClose, perExample, rand } from "./vmap-helpers.js";

describe("vmap inAxes / outAxes", () => {
  const f = (x: Array, y: Array) => np.tanh(x).mul(y).sum(0);

  it("a single number applies to every argument", () => {
    const x = rand([3, 4, 2]);
    const y = rand([3, 4, 2]);
    expectClose(vmap(f, { inAxes: 0 })(x, y), perExample(f, [x, y], [0, 0], 3));
    expectClose(vmap(f, { inAxes: 2 })(x, y), perExample(f, [x, y], [2, 2], 2));
  });

  it("default inAxes is 0 and default outAxes is 0", () => {
    const x = rand([5, 4]);
    const y = rand([5, 4]);
    expectClose(vmap(f)(x, y), perExample(f, [x, y], [0, 0], 5));
  });

  it("per-argument axes, including negative and null", () => {
    const x = rand([4, 2, 3]);
    const y = rand([4, 2]);
    expectClose(vmap(f, { inAxes: [-1, null] })(x, y), perExample(f, [x, y], [-1, null], 3));
    expect((vmap(f, { inAxes: [1, 1] })(rand([4, 6, 2]), rand([4, 6, 2])) as Array).shape).toEqual([6, 2]);
  });

  it("pytree prefixes in inAxes", () => {
    const g = (p: { a: Array; b: [Array, Array] }, z: Array) => p.a.mul(p.b[0]).add(p.b[1]).add(z);
    const a = rand([3, 4]);
    const b0 = rand([4, 3]);
    const b1 = rand([4]);
    const z = rand([4]);
    const out = vmap(g, { inAxes: [{ a: 0, b: [1, null] }, null] })({ a, b: [b0, b1] }, z);
    const expected: Array[] = [];
    for (let i = 0; i < 3; i++) expected.push(g({ a: a.get(i), b: [b0.get([np.arange(4), i] as never), b1] }, z));
    expectClose(out, np.stack(expected));
    // A prefix that covers the whole pair with one axis.
    const out2 = vmap(g, { inAxes: [{ a: 0, b: 0 }, null] })({ a, b: [rand([3, 4]), rand([3, 4])] }, z);
    expect(out2.shape).toEqual([3, 4]);
  });

  it("outAxes: number, negative, per-output pytree prefix, null for unbatched outputs", () => {
    const h = (x: Array, w: Array) => ({ y: np.matmul(x, w), norm: w.sum(), s: x.sum() });
    const x = rand([5, 2, 3]);
    const w = rand([3, 4]);
    const out = vmap(h, { inAxes: [0, null], outAxes: { y: 2, norm: null, s: -1 } })(x, w) as { y: Array; norm: Array; s: Array };
    const exp = perExample(h, [x, w], [0, null], 5) as { y: Array; norm: Array; s: Array };
    expectClose(out.y, np.moveaxis(exp.y, 0, 2));
    expectClose(out.norm, w.sum());
    expectClose(out.s, exp.s);
    const out1 = vmap((x: Array) => x.mul(2), { outAxes: 1 })(x);
    expectClose(out1, np.moveaxis(x.mul(2), 0, 1));
  });

  it("an unbatched output with a non-null out axis is broadcast", () => {
    const out = vmap((x: Array, c: Array) => [x.sum(), c.mul(2)], { inAxes: [0, null] })(rand([3, 2]), np.array([1, 2])) as Array[];
    expect(out[1]!.toJs()).toEqual([
      [2, 4],
      [2, 4],
      [2, 4],
    ]);
  });

  it("axisSize with no batched argument broadcasts the result", () => {
    const out = vmap((c: Array) => c.add(1), { inAxes: null, axisSize: 2 })(np.array([1, 2, 3])) as Array;
    expect(out.toJs()).toEqual([
      [2, 3, 4],
      [2, 3, 4],
    ]);
  });

  it("numbers as unbatched arguments, and JS number outputs", () => {
    const out = vmap((x: Array, s: number) => [x.mul(s), 7], { inAxes: [0, null] })(np.array([1, 2, 3]), 2) as Array[];
    expect(out[0]!.toJs()).toEqual([2, 4, 6]);
    expect(out[1]!.toJs()).toEqual([7, 7, 7]);
  });

  it("closed-over arrays are unbatched constants", () => {
    const c = rand([4]);
    const g = (x: Array) => x.mul(c).sum();
    const x = rand([3, 4]);
    expectClose(vmap(g)(x), perExample(g, [x], [0], 3));
  });
});

describe("vmap errors", () => {
  it("inconsistent sizes name the paths, sizes and axes", () => {
    const g = (x: { a: Array }, y: Array) => x.a.add(y);
    expect(() => vmap(g)({ a: np.zeros([3]) }, np.zeros([4]))).toThrow(
      "vmap got inconsistent sizes for the mapped axis: x.a has size 3 along axis 0 but y has size 4 along axis 0",
    );
    expect(() => vmap(g, { inAxes: [0, 1] })({ a: np.zeros([3]) }, np.zeros([3, 2]))).toThrow(
      "x.a has size 3 along axis 0 but y has size 2 along axis 1",
    );
    expect(() => vmap(g)({ a: np.zeros([3]) }, np.zeros([4]))).toThrow(ValueError);
    expect(() => vmap((x: Array) => x, { axisSize: 2 })(np.zeros([3]))).toThrow("axisSize is 2 but x has size 3 along axis 0");
  });

  it("inAxes length must match the number of arguments", () => {
    expect(() => vmap((x: Array, y: Array) => x.add(y), { inAxes: [0] })(np.zeros([3]), np.zeros([3]))).toThrow(
      "but got inAxes.length=1, args.length=2",
    );
  });

  it("an axis out of range for the argument's rank", () => {
    expect(() => vmap((x: Array) => x, { inAxes: [2] })(np.zeros([3, 4]))).toThrow(
      "vmap was requested to map its argument along axis 2, which implies that its rank should be at least 3, but is only 2 (its shape is (3, 4))",
    );
    expect(() => vmap((x: Array) => x, { inAxes: [-3] })(np.zeros([3, 4]))).toThrow("axis -3");
    expect(() => vmap((x: Array, s: number) => x.mul(s))(np.zeros([3]), 2)).toThrow("argument s of");
  });

  it("non-array leaves", () => {
    expect(() => vmap((x: Array, s: string) => x.mul(s.length))(np.zeros([3]), "hi")).toThrow(
      /vmap: argument s of .* is a string, not an array/,
    );
  });

  it("no batched argument without axisSize", () => {
    expect(() => vmap((x: Array) => x, { inAxes: null })(np.zeros([3]))).toThrow("vmap must have at least one non-null value in inAxes");
  });

  it("a mapped output with outAxes null", () => {
    expect(() => vmap((x: Array) => x, { outAxes: null })(np.zeros([3]))).toThrow("vmap has mapped output but outAxes is null");
  });

  it("an inAxes tree that is not a prefix of the argument", () => {
    expect(() => vmap((p: { a: Array }) => p.a, { inAxes: [{ b: 0 }] })({ a: np.zeros([3]) })).toThrow("tree prefix");
  });
});

describe("vmap composition", () => {
  it("vmap of vmap", () => {
    const f = (x: Array, y: Array) => np.dot(x, y);
    const x = rand([2, 3, 4]);
    const y = rand([2, 3, 4]);
    const out = vmap(vmap(f))(x, y) as Array;
    const exp: Array[] = [];
    for (let i = 0; i < 2; i++) exp.push(perExample(f, [x.get(i), y.get(i)], [0, 0], 3) as Array);
    expectClose(out, np.stack(exp));
  });

  it("outer product by nested vmap with null axes", () => {
    const f = (a: Array, b: Array) => a.mul(b).add(a.sin());
    const a = rand([3]);
    const b = rand([4]);
    const out = vmap(vmap(f, { inAxes: [null, 0] }), { inAxes: [0, null] })(a, b) as Array;
    expectClose(out, np.sin(a).reshape([3, 1]).add(a.reshape([3, 1]).mul(b.reshape([1, 4]))));
  });

  it("vmap of vmap with the inner axis not 0", () => {
    const f = (x: Array) => x.max();
    const x = rand([2, 3, 5]);
    const out = vmap(vmap(f, { inAxes: 1 }), { inAxes: 2 })(x) as Array; // outer over axis 2, inner over axis 1 (of the [2,3] slice)
    const exp = np.max(x, 0); // [3, 5]: for outer k, inner j → max over axis 0 of x[:, j, k]
    expectClose(out, np.transpose(exp));
  });

  it("vmap of jit", () => {
    const f = jit((x: Array, w: Array) => np.tanh(np.matmul(x, w)));
    const x = rand([4, 2, 3]);
    const w = rand([3, 2]);
    expectClose(vmap(f, { inAxes: [0, null] })(x, w), perExample(f, [x, w], [0, null], 4));
  });

  it("jit of vmap, cached per shape", () => {
    const f = (x: Array, w: Array) => np.tanh(np.matmul(x, w)).sum();
    const jf = jit(vmap(f, { inAxes: [0, null] }));
    const x = rand([4, 2, 3]);
    const w = rand([3, 2]);
    expectClose(jf(x, w), perExample(f, [x, w], [0, null], 4));
    expectClose(jf(x.mul(2), w), perExample(f, [x.mul(2), w], [0, null], 4));
    expect(jf.cacheSize).toBe(1);
  });

  it("jit of vmap of jit, and vmap of jit of vmap", () => {
    const f = (x: Array) => x.mul(x).sum();
    const x = rand([3, 4, 5]);
    expectClose(jit(vmap(jit(f)))(x.get(0)), perExample(f, [x.get(0)], [0], 4));
    const g = vmap(jit(vmap(f)));
    const exp: Array[] = [];
    for (let i = 0; i < 3; i++) exp.push(perExample(f, [x.get(i)], [0], 4) as Array);
    expectClose(g(x), np.stack(exp));
  });

  it("a jit_call equation (a staged sub-program) is batched", () => {
    const sub = stageFlat((x) => [np.sin(x as Array).mul(2).sum()], [new ShapedArray([4], "float32")], { name: "sub" }).jaxpr;
    const f = (x: Array) => bind(P.jitCall, [x], { program: sub, name: "sub" })[0] as Array;
    const x = rand([3, 4]);
    expectClose(vmap(f)(x), perExample(f, [x], [0], 3));
    expectClose(jit(vmap(f))(x), perExample(f, [x], [0], 3));
  });

  it.runIf(P.sin.rules.has("vjp") && P.mul.rules.has("vjp"))("vmap of grad: per-example gradients", () => {
    const f = (w: Array, x: Array) => np.sin(w.mul(x)).sum();
    const w = rand([3]);
    const x = rand([5, 3]);
    const g = grad(f);
    expectClose(vmap(g, { inAxes: [null, 0] })(w, x), perExample(g, [w, x], [null, 0], 5));
  });

  it.runIf(P.sin.rules.has("vjp") && P.transpose.rules.has("vjp"))("grad of vmap", () => {
    const f = (w: Array, x: Array) => np.sin(w.mul(x)).sum();
    const w = rand([3]);
    const x = rand([5, 3]);
    const total = (w: Array) => (vmap(f, { inAxes: [null, 0] })(w, x) as Array).sum();
    const direct = (w: Array) => np.sin(w.reshape([1, 3]).mul(x)).sum();
    expectClose(grad(total)(w), grad(direct)(w));
  });

  it("examples are independent: exampleOf helper sanity", () => {
    const x = rand([2, 3]);
    expectClose(exampleOf(x, 1, 1), x.get([np.arange(2), 1] as never));
  });
});
