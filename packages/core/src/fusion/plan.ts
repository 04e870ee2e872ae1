/**
 * The fusion planner: splits a Program into steps, each either a fused kernel
 * (described in the scalar IR of ./ir.ts) or a routine (one equation a
 * backend implements by hand: dot_general, sort, gather, control flow...).
 *
 * What fuses:
 *  - elementwise primitives (`prim.elementwise`), with each other;
 *  - reshape and size-preserving broadcast_in_dim (they keep the flat index);
 *  - iota (a pure function of the index);
 *  - "movement" ops (expanding broadcast_in_dim, transpose, slice, rev) join
 *    their consumers' kernel and read their operand through index arithmetic;
 *    their operand is then an input of the kernel (never recomputed per
 *    element of a larger domain);
 *  - a reduction (reduce_sum/prod/max/min) absorbs the kernel producing its
 *    operand, so `sum(x*x)` reads x once and never materialises x*x.
 *
 * A value is materialised (a kernel output) when a program output or any
 * step outside its kernel uses it; everything else stays a local. Groups are
 * built greedily in program order: a group is "open" until something outside
 * it consumes one of its values, after which nothing joins it (this keeps the
 * step order topological). Target independent.
 */
import { shapeSize, stridesOf, type Shape } from "../aval.js";
import type { DType } from "../dtype.js";
import { Literal, Var, type Atom, type Eqn, type Program } from "../program.js";
import { cnst, coords, expKey, flat, iadd, imul, load, op, vr, type Exp } from "./ir.js";

export type ReduceOp = "sum" | "prod" | "max" | "min";

export interface ReduceSpec {
  readonly op: ReduceOp;
  readonly out: Var;
  readonly dtype: DType;
  /** The reduced operand, an expression at loop variable "j" = base + off. */
  readonly exp: Exp;
  readonly outSize: number;
  readonly redSize: number;
  /** Flat operand index of the first reduced element of output "o". */
  readonly base: Exp;
  /** Offset of reduced element "r". */
  readonly off: Exp;
}

export interface Kernel {
  readonly kind: "kernel";
  /** Elements of the loop domain (loop variable "i"; for reductions, the operand size). */
  readonly size: number;
  /** External values the kernel loads (load nodes index into this list). */
  readonly inputs: readonly Var[];
  /** Materialised values, expressions at "i" (or at "j" in a reduction kernel). */
  readonly outputs: readonly { readonly v: Var; readonly exp: Exp }[];
  readonly reduce?: ReduceSpec;
  /** The equations fused into this kernel, in program order. */
  readonly eqns: readonly Eqn[];
}

export interface Routine {
  readonly kind: "routine";
  readonly eqn: Eqn;
  /** An elementwise kernel fused after a dot_general (only from `fuseDotEpilogues`, on backends that opt in). */
  readonly epilogue?: DotEpilogue;
}

/**
 * The elementwise kernel consuming a dot_general's result, evaluated per
 * output element by the dot's step: its loop variable "i" is the flat index
 * of the dot output, and input `dotInput` (the dot result) is loaded only
 * there.
 */
export interface DotEpilogue {
  readonly kernel: Kernel;
  readonly dotInput: number;
  /** The raw dot result is also materialised (a program output, or used by another step). */
  readonly writeDot: boolean;
}

export type Step = Kernel | Routine;

export interface Plan {
  readonly steps: readonly Step[];
}

const REDUCE_OPS: Record<string, ReduceOp> = {
  reduce_sum: "sum",
  reduce_prod: "prod",
  reduce_max: "max",
  reduce_min: "min",
};

const MOVEMENT = new Set(["transpose", "slice", "rev"]);

type Kind = "ew" | "flat" | "move" | "source" | "reduce" | "routine";

function kindOf(e: Eqn): Kind {
  const n = e.prim.name;
  if (e.prim.elementwise) return "ew";
  if (n === "reshape") return "flat";
  if (n === "broadcast_in_dim") {
    const x = e.inputs[0]!;
    return x.aval.size === e.outputs[0]!.aval.size ? "flat" : "move";
  }
  if (MOVEMENT.has(n)) return "move";
  if (n === "iota") return "source";
  if (n in REDUCE_OPS) return "reduce";
  return "routine";
}

interface Group {
  id: number;
  members: number[]; // eqn indices
  size: number;
  open: boolean;
  reduce?: number; // eqn index of the absorbed reduction
  last: number;
  merged?: Group;
}

function find(g: Group): Group {
  while (g.merged) g = g.merged;
  return g;
}

export function planProgram(p: Program): Plan {
  const eqns = p.eqns;
  const groupOfVar = new Map<Var, Group>();
  const groups: Group[] = [];
  const routineAt: number[] = [];
  const producer = new Map<Var, number>();
  eqns.forEach((e, n) => e.outputs.forEach((v) => producer.set(v, n)));

  const closeInputs = (e: Eqn, except?: Group): void => {
    for (const a of e.inputs) {
      if (!(a instanceof Var)) continue;
      const g0 = groupOfVar.get(a);
      if (!g0) continue;
      const g = find(g0);
      if (g !== except) g.open = false;
    }
  };

  eqns.forEach((e, n) => {
    const kind = kindOf(e);
    if (kind === "routine") {
      closeInputs(e);
      routineAt.push(n);
      return;
    }
    if (kind === "reduce") {
      const x = e.inputs[0]!;
      const g0 = x instanceof Var ? groupOfVar.get(x) : undefined;
      const g = g0 ? find(g0) : undefined;
      if (g && g.open && g.reduce === undefined && g.size === x.aval.size) {
        g.reduce = n;
        g.open = false;
        g.last = n;
        groupOfVar.set(e.outputs[0]!, g);
        return;
      }
      closeInputs(e);
      const ng: Group = { id: groups.length, members: [], size: x.aval.size, open: false, reduce: n, last: n };
      groups.push(ng);
      groupOfVar.set(e.outputs[0]!, ng);
      return;
    }
    const size = e.outputs[0]!.aval.size;
    const mergeable: Group[] = [];
    for (const a of e.inputs) {
      if (!(a instanceof Var)) continue;
      const g0 = groupOfVar.get(a);
      if (!g0) continue;
      const g = find(g0);
      const canMerge = (kind === "ew" || kind === "flat") && g.open && g.reduce === undefined && g.size === size;
      if (canMerge) {
        if (!mergeable.includes(g)) mergeable.push(g);
      } else g.open = false;
    }
    let g: Group;
    if (mergeable.length === 0) {
      g = { id: groups.length, members: [], size, open: true, last: n };
      groups.push(g);
    } else {
      g = mergeable[0]!;
      for (const h of mergeable.slice(1)) {
        g.members.push(...h.members);
        h.members = [];
        h.merged = g;
      }
      g.members.sort((a, b) => a - b);
    }
    g.members.push(n);
    g.last = n;
    for (const v of e.outputs) groupOfVar.set(v, g);
  });

  // Who uses each var: eqn indices, and whether a program output does.
  const users = new Map<Var, number[]>();
  eqns.forEach((e, n) =>
    e.inputs.forEach((a) => {
      if (a instanceof Var) {
        let u = users.get(a);
        if (!u) users.set(a, (u = []));
        u.push(n);
      }
    }),
  );
  const isOutput = new Set<Var>();
  for (const o of p.outputs) if (o instanceof Var) isOutput.add(o);

  const steps: { at: number; step: Step }[] = [];
  for (const n of routineAt) {
    const e = eqns[n]!;
    // Dead routine elimination: no output used.
    if (e.outputs.every((v) => !isOutput.has(v) && !(users.get(v)?.length))) continue;
    steps.push({ at: n, step: { kind: "routine", eqn: e } });
  }
  for (const g of groups) {
    if (g.merged) continue;
    const k = buildKernel(g, eqns, users, isOutput);
    if (k) steps.push({ at: g.last, step: k });
  }
  steps.sort((a, b) => a.at - b.at);
  return { steps: steps.map((s) => s.step) };
}

function buildKernel(g: Group, eqns: readonly Eqn[], users: Map<Var, number[]>, isOutput: Set<Var>): Kernel | undefined {
  const inGroup = new Set<number>(g.members);
  if (g.reduce !== undefined) inGroup.add(g.reduce);
  const producedBy = new Map<Var, Eqn>();
  for (const n of g.members) for (const v of eqns[n]!.outputs) producedBy.set(v, eqns[n]!);

  const inputs: Var[] = [];
  const inputIndex = new Map<Var, number>();
  const memo = new Map<string, Exp>();

  const build = (a: Atom, idx: Exp): Exp => {
    if (a instanceof Literal) return cnst(a.value, a.aval.dtype);
    const mk = `${a.id}@${expKey(idx)}`;
    const hit = memo.get(mk);
    if (hit) return hit;
    const r = buildUncached(a, idx);
    memo.set(mk, r);
    return r;
  };

  const buildUncached = (v: Var, idx: Exp): Exp => {
    const e = producedBy.get(v);
    if (!e) {
      let k = inputIndex.get(v);
      if (k === undefined) {
        inputIndex.set(v, (k = inputs.length));
        inputs.push(v);
      }
      return load(k, idx, v.aval.dtype);
    }
    const name = e.prim.name;
    const out = v.aval;
    if (e.prim.elementwise) {
      const args = e.inputs.map((a) => build(a, idx));
      const extra: { src?: DType; out?: number } = {};
      if (name === "convert_element_type" || name === "bitcast_convert_type") extra.src = e.inputs[0]!.aval.dtype;
      if (e.outputs.length > 1) extra.out = e.outputs.indexOf(v);
      return op(name, out.dtype, args, extra);
    }
    const x = e.inputs[0]!;
    switch (name) {
      case "reshape":
        return build(x, idx);
      case "iota": {
        const { dimension } = e.params as { dimension: number };
        const c = coords(idx, out.shape)[dimension]!;
        return op("icast", out.dtype, [c]);
      }
      case "broadcast_in_dim": {
        if (x.aval.size === out.size) return build(x, idx);
        const { broadcastDimensions } = e.params as { broadcastDimensions: readonly number[] };
        const oc = coords(idx, out.shape);
        const ic = x.aval.shape.map((d, i) => (d === 1 ? cnst(0, "index") : oc[broadcastDimensions[i]!]!));
        return build(x, flat(ic, x.aval.shape));
      }
      case "transpose": {
        const { permutation } = e.params as { permutation: readonly number[] };
        const oc = coords(idx, out.shape);
        const ic = new Array<Exp>(permutation.length);
        permutation.forEach((pd, i) => (ic[pd] = oc[i]!));
        return build(x, flat(ic, x.aval.shape));
      }
      case "slice": {
        const { startIndices, strides } = e.params as { startIndices: readonly number[]; strides: readonly number[] };
        const oc = coords(idx, out.shape);
        const ic = oc.map((c, i) => iadd(cnst(startIndices[i]!, "index"), imul(c, strides[i]!)));
        return build(x, flat(ic, x.aval.shape));
      }
      case "rev": {
        const { dimensions } = e.params as { dimensions: readonly number[] };
        const oc = coords(idx, out.shape);
        const ic = oc.map((c, i) =>
          dimensions.includes(i) && out.shape[i]! > 1 ? op("irev", "index", [c, cnst(out.shape[i]! - 1, "index")]) : c,
        );
        return build(x, flat(ic, x.aval.shape));
      }
    }
    throw new Error(`fusion: cannot fuse ${name}`);
  };

  const needed = (v: Var): boolean => {
    if (isOutput.has(v)) return true;
    for (const u of users.get(v) ?? []) if (!inGroup.has(u)) return true;
    return false;
  };

  const idxVar = vr(g.reduce !== undefined ? "j" : "i");
  let reduce: ReduceSpec | undefined;
  if (g.reduce !== undefined) {
    const e = eqns[g.reduce]!;
    const x = e.inputs[0]!;
    const { axes } = e.params as { axes: readonly number[] };
    const inShape = x.aval.shape;
    const st = stridesOf(inShape);
    const kept = inShape.map((_, i) => i).filter((i) => !axes.includes(i));
    const red = inShape.map((_, i) => i).filter((i) => axes.includes(i));
    const keptShape: Shape = kept.map((i) => inShape[i]!);
    const redShape: Shape = red.map((i) => inShape[i]!);
    const oc = coords(vr("o"), keptShape);
    const rc = coords(vr("r"), redShape);
    let base: Exp = cnst(0, "index");
    kept.forEach((d, k) => (base = iadd(base, imul(oc[k]!, st[d]!))));
    let off: Exp = cnst(0, "index");
    red.forEach((d, k) => (off = iadd(off, imul(rc[k]!, st[d]!))));
    reduce = {
      op: REDUCE_OPS[e.prim.name]!,
      out: e.outputs[0]!,
      dtype: e.outputs[0]!.aval.dtype,
      exp: build(x, idxVar),
      outSize: shapeSize(keptShape),
      redSize: shapeSize(redShape),
      base,
      off,
    };
  }
  const outputs: { v: Var; exp: Exp }[] = [];
  for (const n of g.members) for (const v of eqns[n]!.outputs) if (needed(v)) outputs.push({ v, exp: build(v, idxVar) });
  if (!reduce && outputs.length === 0) return undefined;
  if (reduce && outputs.length === 0 && !needed(reduce.out)) return undefined;
  const members = [...g.members];
  if (g.reduce !== undefined) members.push(g.reduce);
  return { kind: "kernel", size: g.size, inputs, outputs, ...(reduce ? { reduce } : {}), eqns: members.map((n) => eqns[n]!) };
}

/** One-line-per-step text of a plan, for tests and debugging. */
export function describePlan(plan: Plan): string {
  return plan.steps
    .map((s) =>
      s.kind === "routine"
        ? `routine ${s.eqn.prim.name}${s.epilogue ? ` + epilogue (${s.epilogue.kernel.eqns.map((e) => e.prim.name).join(", ")}) out=${s.epilogue.kernel.outputs.length + (s.epilogue.writeDot ? 1 : 0)}` : ""}`
        : `kernel[${s.size}]${s.reduce ? ` reduce_${s.reduce.op}` : ""} (${s.eqns.map((e) => e.prim.name).join(", ")}) in=${s.inputs.length} out=${s.outputs.length + (s.reduce ? 1 : 0)}`,
    )
    .join("\n");
}
