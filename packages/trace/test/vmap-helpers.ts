import { expect } from "vitest";
import { Array, np, tree } from "@refs/core";

/** Example b of `a` along `axis`. */
export function exampleOf(a: unknown, b: number, axis: number | null): unknown {
  if (axis === null) return a;
  return tree.map((l: unknown) => (l instanceof Array ? np.moveaxis(l, axis < 0 ? axis + l.ndim : axis, 0).get(b) : l), a);
}

/**
 * The expected result of vmap(f, {inAxes, outAxes}) computed by applying f per
 * example in a JS loop and stacking the per-example results along outAxis.
 */
export function perExample(
  f: (...args: any[]) => unknown,
  args: unknown[],
  inAxes: (number | null)[],
  size: number,
  outAxis = 0,
): unknown {
  const results: unknown[] = [];
  for (let b = 0; b < size; b++) results.push(f(...args.map((a, i) => exampleOf(a, b, inAxes[i]!))));
  const [first, td] = tree.flatten(results[0]);
  const cols = first.map((_, j) => results.map((r) => tree.leaves(r)[j] as Array));
  return tree.unflatten(
    td,
    cols.map((c) => {
      const s = np.stack(c, 0);
      return np.moveaxis(s, 0, outAxis < 0 ? outAxis + s.ndim : outAxis);
    }),
  );
}

export function expectClose(actual: unknown, expected: unknown, tol = 1e-5): void {
  const [al, at] = tree.flatten(actual);
  const [el, et] = tree.flatten(expected);
  expect(at.equals(et)).toBe(true);
  al.forEach((a, i) => {
    const e = el[i] as Array;
    const x = a as Array;
    expect(x.shape).toEqual(e.shape);
    expect(x.dtype).toBe(e.dtype);
    const xs = globalThis.Array.from(x.dataSync() as ArrayLike<number>, Number);
    const es = globalThis.Array.from(e.dataSync() as ArrayLike<number>, Number);
    xs.forEach((v, k) => {
      const w = es[k]!;
      if (Number.isNaN(w)) expect(Number.isNaN(v)).toBe(true);
      else expect(Math.abs(v - w)).toBeLessThanOrEqual(tol * (1 + Math.abs(w)));
    });
  });
}

let seed = 1;
/** Deterministic pseudo-random float32 array. */
export function rand(shape: number[], lo = -1, hi = 1): Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    v[i] = lo + ((hi - lo) * seed) / 2147483648;
  }
  return np.array(v).reshape(shape);
}

export function randInt(shape: number[], lo: number, hi: number): Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    v[i] = lo + Math.floor(((hi - lo) * seed) / 2147483648);
  }
  return np.array(v).reshape(shape);
}
