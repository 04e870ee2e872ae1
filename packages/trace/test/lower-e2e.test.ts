import { describe, expect, it } from "vitest";
import { np, newRef, random, type Array, type Ref } from "@refs/core";
import { cond, foriLoop, jit, makeJaxpr, scan, vmap } from "../src/index.js";
import { checkStableHlo } from "./stablehlo-check.js";

function valid(text: string): void {
  expect(checkStableHlo(text), text).toEqual([]);
}

describe("lowering jitted programs end to end", () => {
  it("scan over a ref with a closed-over counter", () => {
    const counter = newRef(np.array(0, { dtype: "int32" }));
    const f = jit(function step(xs: Ref, c0: Array) {
      const [c] = scan(
        (c: Array, x: Ref) => {
          counter.addUpdate(1);
          const v = x.get();
          x.set(v.mul(2));
          return [c.add(v.sum()), null] as const;
        },
        c0,
        xs,
      );
      return c;
    });
    const text = f.lower(newRef(np.ones([3, 2])), np.array(0.5)).asText();
    valid(text);
    expect(text).toContain('"stablehlo.while"');
    expect(text).toMatch(/tf\.aliasing_output = \d+ : i32/);
  });

  it("cond, foriLoop, random and matmul", () => {
    const f = jit(function mixed(x: Array, key: Array) {
      const y = cond(x.sum().gt(0), (a: Array) => a.mul(2), (a: Array) => a.neg(), x);
      const z = foriLoop(0, 3, (_i: Array, acc: Array) => acc.add(1), y);
      const n = random.normal(key, [2, 2]);
      return np.matmul(n, z.reshape([2, 1]));
    });
    const text = f.lower(np.array([1.5, 2.5]), random.key(0)).asText();
    valid(text);
    expect(text).toContain('"stablehlo.case"');
    expect(text).toContain("func.func private @threefry2x32");
    expect(text).toContain("stablehlo.dot_general");
  });

  it("vmap inside jit and makeJaxpr of the same function", () => {
    const g = (x: Array) => vmap((r: Array) => r.exp().sum())(x);
    const text = jit(g).lower(np.ones([4, 3])).asText();
    valid(text);
    expect(makeJaxpr(g)(np.ones([4, 3])).toString()).toContain("exp");
  });
});

