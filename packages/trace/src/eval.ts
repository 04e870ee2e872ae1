/**
 * Interpreting programs by binding their equations: the building block of
 * every transform here. Binding goes through the current trace, so evaluating
 * a program inside a staging trace copies it, and at the top level runs it op
 * by op.
 */
import { Array, Literal, bind, float16Bits, fromHost, typedArrayFor, type Atom, type Aval, type Program, type Value, type Var } from "@refs/core";

export function literalArray(l: Literal): Array {
  const data = typedArrayFor(l.aval.dtype, 1);
  data[0] = l.aval.dtype === "float16" ? float16Bits(l.value) : l.value;
  return fromHost(data, [], l.aval.dtype, l.aval.weakType);
}

export class Env {
  private readonly map = new Map<Var<Aval>, Value>();
  read(a: Atom<Aval>): Value {
    if (a instanceof Literal) return literalArray(a);
    const v = this.map.get(a);
    if (v === undefined) throw new Error(`internal error: variable ${a.id} (${a.aval.str()}) read before it was written`);
    return v;
  }
  has(a: Var<Aval>): boolean {
    return this.map.has(a);
  }
  write(v: Var<Aval>, x: Value): void {
    this.map.set(v, x);
  }
}

/** Evaluate `p` on `args` (constants included, in input order). */
export function evalProgram(p: Program<Aval>, args: readonly Value[]): Value[] {
  if (args.length !== p.inputs.length)
    throw new Error(`internal error: program ${p.name ?? ""} takes ${p.inputs.length} inputs, got ${args.length}`);
  const env = new Env();
  p.inputs.forEach((v, i) => {
    const x = args[i]!;
    // A mismatched dtype or shape would be computed as if it were the declared one: refuse it.
    if (v.aval.kind === "array" && x.aval.kind === "array" && (x.aval.dtype !== v.aval.dtype || x.aval.shape.join() !== v.aval.shape.join()))
      throw new TypeError(`evalProgram: input ${i} of ${p.name ?? "the program"} is declared ${v.aval.str()} but got ${x.aval.str()}; convert it first (e.g. x.astype("${v.aval.dtype}"))`);
    env.write(v, x);
  });
  for (const e of p.eqns) {
    const outs = bind(e.prim, e.inputs.map((a) => env.read(a)), e.params);
    e.outputs.forEach((v, i) => env.write(v, outs[i]!));
  }
  return p.outputs.map((a) => env.read(a));
}
