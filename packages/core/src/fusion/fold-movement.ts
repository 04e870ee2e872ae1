/**
 * A program rewrite that folds movement ops into the dimension numbers of
 * their consumers, so a backend need not materialise them. No value changes.
 *
 *  - dot_general names its batch and contracting axes freely: an operand
 *    produced by `transpose` is read from the transpose's input, with the
 *    dimension numbers mapped through the permutation, when the operand's
 *    free axes keep their order (the output layout is unchanged);
 *  - a dot_general used only by a transpose that swaps its lhs-free and
 *    rhs-free blocks (what reverse-mode autodiff emits for weight gradients,
 *    `(g^T x)^T`) becomes the dot_general of the swapped operands, whose
 *    output already has the transposed layout;
 *  - a broadcast_in_dim of a reshape that only inserts or drops unit axes
 *    (`b.reshape([1, n])` before a bias add), or of a convert_element_type
 *    that keeps the dtype (a weak-typed scalar made strong), broadcasts their
 *    input.
 *
 * Dead movement ops are left to the planner (it never materialises an
 * unused value). Target independent; backends opt in.
 */
import { Var, makeProgram, type Atom, type Eqn, type Program } from "../program.js";
import type { DotGeneralParams } from "../primitives.js";

const isTranspose = (e: Eqn | undefined): e is Eqn => e !== undefined && e.prim.name === "transpose";

/** `params` with one operand's axes renamed through `perm` (operand axis d is axis perm[d] of the source), or null. */
function throughTranspose(P: DotGeneralParams, side: 0 | 1, perm: readonly number[]): DotGeneralParams | null {
  const batch = side === 0 ? P.lhsBatch : P.rhsBatch;
  const contract = side === 0 ? P.lhsContracting : P.rhsContracting;
  const free = perm.map((_, d) => d).filter((d) => !batch.includes(d) && !contract.includes(d));
  const mapped = free.map((d) => perm[d]!);
  if (mapped.some((d, i) => i > 0 && d < mapped[i - 1]!)) return null;
  const b = batch.map((d) => perm[d]!);
  const c = contract.map((d) => perm[d]!);
  return side === 0 ? { ...P, lhsBatch: b, lhsContracting: c } : { ...P, rhsBatch: b, rhsContracting: c };
}

export function foldMovement(p: Program): Program {
  if (!p.eqns.some((e) => e.prim.name === "dot_general" || e.prim.name === "broadcast_in_dim")) return p;
  const producer = new Map<Var, Eqn>();
  for (const e of p.eqns) for (const v of e.outputs) producer.set(v, e);
  let changed = false;

  // 1. Operands read through their transposes.
  let eqns: Eqn[] = p.eqns.map((e) => {
    if (e.prim.name !== "dot_general") return e;
    let P = e.params as DotGeneralParams;
    const inputs: Atom[] = [...e.inputs];
    for (const side of [0, 1] as const) {
      const a = inputs[side];
      const t = a instanceof Var ? producer.get(a) : undefined;
      if (!isTranspose(t) || !(t.inputs[0] instanceof Var)) continue;
      const q = throughTranspose(P, side, (t.params as { permutation: readonly number[] }).permutation);
      if (!q) continue;
      P = q;
      inputs[side] = t.inputs[0];
    }
    if (inputs.every((a, i) => a === e.inputs[i])) return e;
    changed = true;
    return { ...e, params: P, inputs };
  });

  // 2. A dot whose only use is a transpose swapping its free blocks: swap the operands instead.
  const uses = new Map<Var, number>();
  const count = (a: Atom) => a instanceof Var && uses.set(a, (uses.get(a) ?? 0) + 1);
  eqns.forEach((e) => e.inputs.forEach(count));
  p.outputs.forEach(count);
  const userOf = new Map<Var, Eqn>();
  for (const e of eqns) for (const a of e.inputs) if (a instanceof Var) userOf.set(a, e);
  const removed = new Set<Eqn>();
  eqns = eqns.map((e) => {
    if (e.prim.name !== "dot_general") return e;
    const d = e.outputs[0]!;
    const t = userOf.get(d);
    if (uses.get(d) !== 1 || !isTranspose(t)) return e;
    const P = e.params as DotGeneralParams;
    const [x, y] = e.inputs as [Atom, Atom];
    const nb = P.lhsBatch.length;
    const nl = x.aval.shape.length - nb - P.lhsContracting.length;
    const nr = y.aval.shape.length - nb - P.rhsContracting.length;
    const perm = (t.params as { permutation: readonly number[] }).permutation;
    const want = [...Array.from({ length: nb }, (_, i) => i), ...Array.from({ length: nr }, (_, i) => nb + nl + i), ...Array.from({ length: nl }, (_, i) => nb + i)];
    if (nl === 0 || nr === 0 || perm.some((v, i) => v !== want[i])) return e;
    changed = true;
    removed.add(t);
    const swapped: DotGeneralParams = { lhsContracting: P.rhsContracting, rhsContracting: P.lhsContracting, lhsBatch: P.rhsBatch, rhsBatch: P.lhsBatch };
    return { ...e, params: swapped, inputs: [y, x], outputs: t.outputs };
  });
  // 3. Broadcasts read through unit-axis reshapes and dtype-preserving converts.
  eqns = eqns.map((e) => {
    if (e.prim.name !== "broadcast_in_dim" || !(e.inputs[0] instanceof Var)) return e;
    let src: Var = e.inputs[0];
    let bd = (e.params as { broadcastDimensions: readonly number[] }).broadcastDimensions;
    for (;;) {
      const t = producer.get(src);
      const x = t?.inputs[0];
      if (!t || !(x instanceof Var)) break;
      if (t.prim.name === "convert_element_type" && x.aval.dtype === src.aval.dtype) {
        src = x;
        continue;
      }
      if (t.prim.name !== "reshape") break;
      const xs = x.aval.shape;
      const rs = src.aval.shape;
      const pos = rs.map((d, i) => (d === 1 ? -1 : i)).filter((i) => i >= 0);
      if (xs.some((d) => d === 1) || pos.length !== xs.length || pos.some((i, j) => rs[i] !== xs[j])) break;
      const outer = bd;
      bd = pos.map((i) => outer[i]!);
      src = x;
    }
    if (src === e.inputs[0]) return e;
    changed = true;
    return { ...e, inputs: [src], params: { ...e.params, broadcastDimensions: bd } };
  });
  if (!changed) return p;
  return makeProgram(p.inputs, eqns.filter((e) => !removed.has(e)), p.outputs, p.aliases, p.name);
}
