import { describe, expect, it } from "vitest";
import { ShapedArray, Var, makeProgram, primitives as P, setBackend, type Eqn } from "@refs/core";
import { hasGpu } from "./setup.js";
import { profile } from "../src/index.js";

const av = new ShapedArray([1000], "float32");
const eqn = (prim: any, params: any, inputs: Var[], out: Var): Eqn => ({ prim, params, inputs, outputs: [out] });

describe.skipIf(!hasGpu)("donation", () => {
  it("writes an aliased output in place when safe (same handle, no allocation)", async () => {
    const be = await setBackend("webgpu");
    const x = new Var(av), y = new Var(av), z = new Var(av);
    const p = makeProgram([x], [eqn(P.add, {}, [x, x], y), eqn(P.mul, {}, [y, x], z)], [z], [{ input: 0, output: 0 }]);
    const exe = be.compile(p);
    const data = Float32Array.from({ length: 1000 }, (_, i) => i);
    const h = be.alloc(av, data);
    const mem = be.memory();
    const [o] = be.execute(exe, [h], [true]);
    expect(o).toBe(h);
    expect(profile().bytesAllocated).toBe(0);
    expect(be.memory()).toEqual(mem);
    const got = await be.read(o!, av);
    expect([...got.slice(0, 4)]).toEqual([0, 2, 8, 18]);
    // Not donated: a fresh buffer, the input untouched.
    const [o2] = be.execute(exe, [h], [false]);
    expect(o2).not.toBe(h);
    expect([...(await be.read(h, av)).slice(0, 4)]).toEqual([0, 2, 8, 18]);
    expect([...(await be.read(o2!, av)).slice(0, 4)]).toEqual([0, 8, 128, 648]);
  });

  it("an unsafe alias (reads other elements) computes, then copies into the donated buffer", async () => {
    const be = await setBackend("webgpu");
    const x = new Var(av), y = new Var(av);
    const p = makeProgram([x], [eqn(P.rev, { dimensions: [0] }, [x], y)], [y], [{ input: 0, output: 0 }]);
    const exe = be.compile(p);
    const h = be.alloc(av, Float32Array.from({ length: 1000 }, (_, i) => i));
    const [o] = be.execute(exe, [h], [true]);
    expect(o).toBe(h);
    const got = await be.read(o!, av);
    expect([got[0], got[1], got[999]]).toEqual([999, 998, 0]);
  });

  it("scatter_add and dynamic_update_slice update a donated operand in place", async () => {
    const be = await setBackend("webgpu");
    const x = new Var(av), i = new Var(new ShapedArray([2], "int32")), u = new Var(new ShapedArray([2], "float32")), y = new Var(av);
    const p = makeProgram([x, i, u], [eqn(P.scatterAdd, { axis: 0 }, [x, i, u], y)], [y], [{ input: 0, output: 0 }]);
    const exe = be.compile(p);
    const h = be.alloc(av, new Float32Array(1000).fill(1));
    const hi = be.alloc(i.aval, Int32Array.from([5, 5]));
    const hu = be.alloc(u.aval, Float32Array.from([2, 3]));
    const [o] = be.execute(exe, [h, hi, hu], [true, false, false]);
    expect(o).toBe(h);
    expect(profile().dispatches).toBe(1); // no copy of the operand
    const got = await be.read(o!, av);
    expect([got[4], got[5], got[6]]).toEqual([1, 6, 1]);
  });
});
