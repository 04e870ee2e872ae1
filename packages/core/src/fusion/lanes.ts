/**
 * Lane analysis of index expressions, for vectorising code generators: when a
 * loop variable runs over W consecutive lanes (lane l = v0 + l, v0 a multiple
 * of W), which index expressions are affine in the lane, `base + s*l`? Then a
 * load at stride 1 is one vector load, at stride 0 one splat, and everything
 * else a per-lane gather. Division and modulo by constants stay affine when the
 * lanes cannot straddle a multiple of the divisor (e.g. `i / c` with W | c is
 * the same for all lanes), which covers the broadcasts the planner emits.
 *
 * Also decides how a reduction vectorises (`reduceLanes`), so that every
 * target (and the JS path, which must agree bit for bit on float sums)
 * accumulates in the same order.
 */
import type { Exp } from "./ir.js";
import { expKey } from "./ir.js";
import type { ReduceSpec } from "./plan.js";

/**
 * Lane l has value base + s*l, where base is a multiple of `a` (a = 0: base is
 * exactly 0). Index values are non-negative.
 */
export interface LaneForm {
  readonly s: number;
  readonly a: number;
}

const gcd = (x: number, y: number): number => {
  x = Math.abs(x);
  y = Math.abs(y);
  while (y) [x, y] = [y, x % y];
  return x;
};
/** d divides x (every d divides 0). */
const divides = (d: number, x: number): boolean => x % d === 0;

export class LaneAnalysis {
  private readonly memo = new Map<string, LaneForm | null>();
  constructor(
    /** Lane form of each loop variable ("i", "o", "r", "j"); absent: not a lane variable here. */
    private readonly vars: Readonly<Record<string, LaneForm>>,
    readonly width = 4,
  ) {}

  form(e: Exp): LaneForm | null {
    const key = expKey(e);
    if (this.memo.has(key)) return this.memo.get(key)!;
    const f = this.compute(e);
    this.memo.set(key, f);
    return f;
  }

  private compute(e: Exp): LaneForm | null {
    if (e.k === "const") return { s: 0, a: Math.abs(e.value) };
    if (e.k === "var") return this.vars[e.name] ?? null;
    if (e.k !== "op") return null;
    const x = e.args[0] ? this.form(e.args[0]) : null;
    const c = e.args[1]?.k === "const" ? e.args[1].value : NaN;
    switch (e.op) {
      case "iadd": {
        const y = this.form(e.args[1]!);
        return x && y ? { s: x.s + y.s, a: gcd(x.a, y.a) } : null;
      }
      case "imul":
        return x && c === c ? { s: x.s * c, a: x.a * c } : null;
      case "irev":
        return x && c === c ? { s: -x.s, a: gcd(x.a, c) } : null;
      case "idiv":
      case "imod": {
        if (!x || !(c > 0) || x.s < 0) return null;
        const div = e.op === "idiv";
        const aligned = divides(c, x.a); // base % c == 0
        if (x.s === 0) return div ? { s: 0, a: aligned ? x.a / c : 1 } : { s: 0, a: aligned ? 0 : gcd(x.a, c) };
        // c | s: the lanes advance by whole multiples of c.
        if (divides(c, x.s)) return div ? { s: x.s / c, a: aligned ? x.a / c : 1 } : { s: 0, a: aligned ? 0 : gcd(x.a, c) };
        // Largest possible base % c, then whether the lanes stay below the next multiple of c.
        const maxRes = aligned ? 0 : x.a > 0 && divides(x.a, c) ? c - x.a : c - 1;
        if (maxRes + x.s * (this.width - 1) >= c) return null;
        return div ? { s: 0, a: aligned ? x.a / c : 1 } : { s: x.s, a: aligned ? 0 : gcd(x.a, c) };
      }
    }
    return null;
  }
}

/**
 * How a reduction kernel vectorises over W lanes:
 *  - "rows": lanes run over consecutive reduced elements r (the reduced
 *    offset is contiguous: a row reduction); ROW_PARTIALS partial
 *    accumulators (element r feeds partial r % ROW_PARTIALS), combined
 *    pairwise, ((p0 op p1) op (p2 op p3)) op ((p4 op p5) op (p6 op p7)), after
 *    the last whole group, then the remaining elements in order. Every target
 *    uses this order for float reductions, so they agree bit for bit (two
 *    vectors of partials also halve the accumulators' dependency chains).
 *  - "cols": lanes run over consecutive outputs o, each lane accumulating its
 *    own output in order (the sequential order).
 */
/** Vector lanes the targets use (f32x4 / i32x4). */
export const LANES = 4;

/** Partial accumulators of a "rows" reduction (two groups of 4 lanes). */
export const ROW_PARTIALS = 8;

export function reduceLanes(r: ReduceSpec, width = 4): "rows" | "cols" {
  const off = new LaneAnalysis({ r: { s: 1, a: width } }, width).form(r.off);
  return off && off.s === 1 && r.redSize >= width ? "rows" : "cols";
}
