/**
 * The common-subexpression walk over a kernel's expression DAG, shared by the
 * code generators: each distinct node (by `expKey`) is visited once, operands
 * first, and the target's hook turns it into a value of the target (a JS or
 * WGSL local name, a Wasm local index...). Multi-output ops (threefry2x32:
 * nodes that differ only in `out`) are computed once for all outputs.
 *
 * A walker is one CSE scope: targets use one per loop level (a reduction's
 * row base, its offset, its body) or per lane.
 */
import { expKey, type Exp } from "./ir.js";

export type ConstExp = Extract<Exp, { k: "const" }>;
export type VarExp = Extract<Exp, { k: "var" }>;
export type LoadExp = Extract<Exp, { k: "load" }>;
export type OpExp = Extract<Exp, { k: "op" }>;

export interface ExpHooks<V> {
  constant(e: ConstExp): V;
  variable(e: VarExp): V;
  /** A load; `walk` gives values of other nodes (its index, usually) in the same scope. */
  load(e: LoadExp, walk: (e: Exp) => V): V;
  op(e: OpExp, args: readonly V[]): V;
  /** A multi-output op (`e.out` set): all its outputs at once, indexed by `out`. */
  multi?(e: OpExp, args: readonly V[]): readonly V[];
}

export class ExpWalker<V> {
  private readonly memo = new Map<string, V>();
  private readonly multis = new Map<string, readonly V[]>();
  constructor(private readonly hooks: ExpHooks<V>) {}

  /** Gives node `e` (or the node of key `e`, see `expKey`) a value computed elsewhere (e.g. hoisted out of a loop). */
  seed(e: Exp | string, v: V): void {
    this.memo.set(typeof e === "string" ? e : expKey(e), v);
  }

  readonly walk = (e: Exp): V => {
    const key = expKey(e);
    const hit = this.memo.get(key);
    if (hit !== undefined) return hit;
    let v: V;
    switch (e.k) {
      case "const":
        v = this.hooks.constant(e);
        break;
      case "var":
        v = this.hooks.variable(e);
        break;
      case "load":
        v = this.hooks.load(e, this.walk);
        break;
      case "op":
        if (e.out !== undefined && this.hooks.multi) {
          const mk = `${e.op}:(${e.args.map(expKey).join(",")})`;
          let outs = this.multis.get(mk);
          if (!outs) this.multis.set(mk, (outs = this.hooks.multi(e, e.args.map(this.walk))));
          v = outs[e.out]!;
        } else v = this.hooks.op(e, e.args.map(this.walk));
        break;
    }
    this.memo.set(key, v);
    return v;
  };
}
