import { expect } from "vitest";
import { Array, tree } from "@refs/core";

/** Host values of every leaf of a tree of Arrays, as nested JS numbers. */
export function host(t: unknown): unknown {
  return tree.map((x: unknown) => (x instanceof Array ? x.toJs() : x), t);
}

/** Flat list of numbers from a tree of Arrays or nested JS numbers. */
export function flat(t: unknown): number[] {
  const out: number[] = [];
  const rec = (v: unknown): void => {
    if (v instanceof Array) rec(v.toJs());
    else if (typeof v === "number") out.push(v);
    else if (globalThis.Array.isArray(v)) v.forEach(rec);
    else if (v !== null && typeof v === "object") tree.leaves(v).forEach(rec);
  };
  rec(t);
  return out;
}

/** |a − e| <= atol + rtol·|e| for every leaf, trees compared leaf by leaf in tree order. */
export function expectClose(actual: unknown, expected: unknown, rtol = 1e-6, atol = 0): void {
  const a = flat(actual);
  const e = flat(expected);
  expect(a.length).toBe(e.length);
  a.forEach((x, i) => {
    const tol = atol + rtol * Math.abs(e[i]!);
    if (!(Math.abs(x - e[i]!) <= tol)) {
      throw new Error(`leaf ${i}: got ${x}, expected ${e[i]} (|diff| ${Math.abs(x - e[i]!)} > ${tol})\n got ${JSON.stringify(a)}\n exp ${JSON.stringify(e)}`);
    }
  });
}
