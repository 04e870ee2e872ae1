/**
 * Finite-difference checks for the AD tests: gradients (through `grad`) and
 * forward derivatives (through `jvp`) against central differences computed on
 * the host from float32 evaluations of the same function.
 */
import { expect } from "vitest";
import { np, type Array } from "@refs/core";
import { grad, jvp } from "../src/index.js";

export interface Arg {
  shape: number[];
  data: number[];
}

export const arg = (shape: number[], data: number[]): Arg => ({ shape, data });

/** A deterministic pseudo-random stream in [lo, hi). */
export function rand(n: number, seed: number, lo = -1, hi = 1): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    // A small integer hash of (seed, i), so nearby seeds give unrelated streams.
    let h = Math.imul(seed + 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35);
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
    h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
    h = (h ^ (h >>> 16)) >>> 0;
    out.push(lo + ((h >>> 8) / 2 ** 24) * (hi - lo));
  }
  return out;
}

export const toArr = (a: Arg): Array => np.array(a.data, { dtype: "float32" }).reshape(a.shape);

export const host = (x: Array): number[] => globalThis.Array.from(x.dataSync() as Float32Array, Number);

export interface Tol {
  rtol?: number;
  atol?: number;
  eps?: number;
}

export function expectClose(got: readonly number[], want: readonly number[], tol: Tol = {}, what = ""): void {
  const rtol = tol.rtol ?? 1e-2;
  const atol = tol.atol ?? 1e-3;
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < got.length; i++) {
    const ok = Math.abs(got[i]! - want[i]!) <= atol + rtol * Math.abs(want[i]!);
    if (!ok) expect.fail(`${what}[${i}]: got ${got[i]}, want ${want[i]} (all: got [${got.join(", ")}], want [${want.join(", ")}])`);
  }
}

/** Sum of out * w (host-side weights), so any output shape gives a scalar loss. */
function weighted(f: (...xs: Array[]) => Array, args: Arg[], seed: number): { loss: (...xs: Array[]) => Array; w: Array } {
  const out = f(...args.map(toArr));
  const w = np.array(rand(out.size, seed, 0.5, 1.5), { dtype: "float32" }).reshape(out.shape);
  return { loss: (...xs: Array[]) => np.sum(np.multiply(f(...xs), w)), w };
}

/** grad of sum(f(...) * w) with respect to every argument, against central differences. */
export function checkGrad(f: (...xs: Array[]) => Array, args: Arg[], tol: Tol = {}, seed = 7): void {
  const eps = tol.eps ?? 1e-3;
  const { loss } = weighted(f, args, seed);
  const g = grad(loss, { argnums: args.map((_, i) => i) })(...args.map(toArr)) as Array[];
  args.forEach((a, i) => {
    const fd: number[] = [];
    for (let k = 0; k < a.data.length; k++) {
      const at = (d: number) => {
        const moved = args.map((b, j) => (j === i ? { shape: b.shape, data: b.data.map((v, m) => (m === k ? v + d : v)) } : b));
        return Number(loss(...moved.map(toArr)).item());
      };
      fd.push((at(eps) - at(-eps)) / (2 * eps));
    }
    expect(g[i]!.shape, `grad shape of argument ${i}`).toEqual(a.shape);
    expectClose(host(g[i]!), fd, tol, `grad of argument ${i}`);
  });
}

/** jvp of f along random tangents, against a central difference along the same direction. */
export function checkJvp(f: (...xs: Array[]) => Array, args: Arg[], tol: Tol = {}, seed = 11): void {
  const eps = tol.eps ?? 1e-3;
  const tans = args.map((a, i) => rand(a.data.length, seed + i));
  const [out, tout] = jvp(f, args.map(toArr), args.map((a, i) => toArr({ shape: a.shape, data: tans[i]! }))) as [Array, Array];
  const at = (d: number) => host(f(...args.map((a, i) => toArr({ shape: a.shape, data: a.data.map((v, k) => v + d * tans[i]![k]!) }))));
  const plus = at(eps);
  const minus = at(-eps);
  const fd = plus.map((p, k) => (p - minus[k]!) / (2 * eps));
  expectClose(host(out), host(f(...args.map(toArr))), { rtol: 1e-6, atol: 1e-6 }, "jvp primal");
  expectClose(host(tout), fd, tol, "jvp tangent");
}

export function checkBoth(f: (...xs: Array[]) => Array, args: Arg[], tol: Tol = {}): void {
  checkGrad(f, args, tol);
  checkJvp(f, args, tol);
}
