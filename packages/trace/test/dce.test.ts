import { describe, expect, it } from "vitest";
import { ShapedArray, bind, np, newRef, primitives as P, type Aval, type Program, type Ref, type Value } from "@refs/core";
import { dce, evalProgram, jit, stageFlat } from "../src/index.js";

const sa = (shape: number[], dtype: "float32" | "int32" = "float32") => new ShapedArray(shape, dtype);

function stage(fn: (...xs: Value[]) => Value[], avals: Aval[]): Program {
  const s = stageFlat(fn, avals, { name: "f" });
  return s.jaxpr as Program;
}

const names = (p: Program) => p.eqns.map((e) => e.prim.name);

describe("dce", () => {
  it("drops dead equations and keeps the signature", () => {
    const p = stage(
      (x, y) => {
        bind(P.exp, [x!]); // dead
        const s = bind(P.add, [x!, x!])[0]!;
        bind(P.mul, [s, y!]); // dead
        return [s];
      },
      [sa([3]), sa([3])],
    );
    const q = dce(p);
    expect(names(q)).toEqual(["add"]);
    expect(q.inputs).toBe(p.inputs);
    expect(q.outputs).toBe(p.outputs);
    expect(q.aliases).toBe(p.aliases);
    const [out] = evalProgram(q, [np.array([1.5, 2, 3]), np.zeros([3])]);
    expect((out as never as { toJs(): unknown }).toJs()).toEqual([3, 4, 6]);
  });

  it("keeps everything live and is idempotent", () => {
    const p = stage((x) => [bind(P.sin, [bind(P.exp, [x!])[0]!])[0]!], [sa([2])]);
    expect(names(dce(p))).toEqual(["exp", "sin"]);
    expect(names(dce(dce(p)))).toEqual(["exp", "sin"]);
  });

  it("removes a whole scan whose outputs are unused, and unused ys of a live one", () => {
    const body = stage((k, c, x) => {
      const c2 = bind(P.add, [c!, bind(P.mul, [k!, x!])[0]!])[0]!;
      const y = bind(P.exp, [x!])[0]!;
      return [c2, y];
    }, [sa([]), sa([]), sa([])]);
    const dead = stage(
      (k, c, xs) => {
        bind(P.scan, [k!, c!, xs!], { body, length: 4, reverse: false, numConsts: 1, numCarry: 1 });
        return [c!];
      },
      [sa([]), sa([]), sa([4])],
    );
    expect(dce(dead).eqns).toEqual([]);
    const live = stage(
      (k, c, xs) => [bind(P.scan, [k!, c!, xs!], { body, length: 4, reverse: false, numConsts: 1, numCarry: 1 })[0]!],
      [sa([]), sa([]), sa([4])],
    );
    const q = dce(live);
    expect(names(q)).toEqual(["scan"]);
    const newBody = q.eqns[0]!.params["body"] as Program;
    expect(names(newBody)).toEqual(["mul", "add"]);
    expect(newBody.outputs.length).toBe(1);
    expect(q.eqns[0]!.outputs.length).toBe(1);
    const f32 = (x: number | number[]) => np.array(x, { dtype: "float32" });
    const args = [f32(2), f32(1), f32([1, 2, 3, 4])];
    expect((evalProgram(q, args)[0] as never as { item(): number }).item()).toBe(21);
  });

  it("drops scan carries nothing live depends on, and the consts only they read", () => {
    const body = stage((k, a, b, x) => [bind(P.add, [a!, x!])[0]!, bind(P.mul, [b!, k!])[0]!], [sa([]), sa([]), sa([]), sa([])]);
    const p = stage(
      (k, a, b, xs) => [bind(P.scan, [k!, a!, b!, xs!], { body, length: 3, reverse: false, numConsts: 1, numCarry: 2 })[0]!],
      [sa([]), sa([]), sa([]), sa([3])],
    );
    const q = dce(p);
    const e = q.eqns[0]!;
    expect(e.params["numCarry"]).toBe(1);
    expect(e.params["numConsts"]).toBe(0);
    expect(e.inputs.length).toBe(2);
    const f32 = (x: number | number[]) => np.array(x, { dtype: "float32" });
    const args = [f32(2), f32(1), f32(5), f32([1, 2, 3])];
    expect((evalProgram(q, args)[0] as never as { item(): number }).item()).toBe(7);
  });

  it("prunes cond branches and while carries", () => {
    const br0 = stage((a, b) => [bind(P.sin, [a!])[0]!, bind(P.cos, [b!])[0]!], [sa([]), sa([])]);
    const br1 = stage((a, b) => [bind(P.exp, [a!])[0]!, bind(P.neg, [b!])[0]!], [sa([]), sa([])]);
    const p = stage(
      (i, a, b) => [bind(P.cond, [i!, a!, b!], { branches: [br0, br1] })[0]!],
      [sa([], "int32"), sa([]), sa([])],
    );
    const q = dce(p);
    const e = q.eqns[0]!;
    expect(e.inputs.length).toBe(2);
    expect((e.params["branches"] as Program[]).map(names)).toEqual([["sin"], ["exp"]]);
    expect(e.outputs.length).toBe(1);

    const condP = stage((n, i) => bind(P.lt, [i!, n!]), [sa([], "int32"), sa([], "int32")]);
    const bodyP = stage((i, acc) => {
      const one = bind(P.broadcastInDim, [i!], { shape: [], broadcastDimensions: [] })[0]!;
      return [bind(P.add, [i!, bind(P.sign, [one])[0]!])[0]!, bind(P.add, [acc!, acc!])[0]!];
    }, [sa([], "int32"), sa([])]);
    const w = stage(
      (n, i, acc) => [bind(P.whileLoop, [n!, i!, acc!], { cond: condP, body: bodyP, condNumConsts: 1, bodyNumConsts: 0 })[0]!],
      [sa([], "int32"), sa([], "int32"), sa([])],
    );
    const wq = dce(w);
    expect(wq.eqns[0]!.outputs.length).toBe(1);
    expect((wq.eqns[0]!.params["body"] as Program).outputs.length).toBe(1);
  });

  it("jit compiles the DCE'd program: dead work is gone, ref effects stay", () => {
    const r = newRef(np.array([1, 2, 3], { dtype: "int32" }));
    const f = jit(function f(r: Ref, x: Value) {
      r.get().mul(100); // dead
      r.addUpdate(1);
      return (x as never as { add(y: number): Value }).add(1);
    });
    const lowered = f.lower(r, np.array([1.5]));
    expect(names(lowered.program)).not.toContain("mul");
    expect(lowered.program.inputs.length).toBe(2);
    expect(lowered.program.outputs.length).toBe(2);
    f(r, np.array([1.5]));
    expect(r.get().toJs()).toEqual([2, 3, 4]);
  });
});

describe("evalProgram", () => {
  it("refuses an argument whose dtype or shape is not the declared one", () => {
    const p = stage((x) => [bind(P.exp, [x!])[0]!], [sa([3])]);
    expect(() => evalProgram(p, [np.array([1, 2, 3])])).toThrow(/input 0 of .* is declared float32\[3\] but got int32\[3\]; convert it first/);
    expect(() => evalProgram(p, [np.zeros([4])])).toThrow(/declared float32\[3\] but got float32\[4\]/);
  });
});
