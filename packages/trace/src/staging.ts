/**
 * The staging trace: runs a function on abstract tracers and records the
 * primitives it binds into a program (a jaxpr). It is the only `Trace`
 * subclass trace needs: every transform stages first, then interprets the
 * staged program (see docs/ARCHITECTURE.md, "Transforms are program
 * interpreters").
 *
 * Values from outside the function (closed-over arrays and refs, tracers of
 * an enclosing staging) are *lifted*: scalars with known values become
 * literals, everything else a constant input of the program, so staged
 * programs are always closed (consts first, then arguments).
 */
import {
  Array,
  Literal,
  Ref,
  RefType,
  ShapedArray,
  Trace,
  Var,
  captureSite,
  currentDynamic,
  halfBitsToNumber,
  hostValues,
  newDynamic,
  newMain,
  primitives as P,
  type Atom,
  type Aval,
  type CreationSite,
  type Eqn,
  type Params,
  type Primitive,
  type Program,
  type Value,
} from "@refs/core";

/** A program that may still contain ref effects and Ref-typed variables. */
export type Jaxpr = Program<Aval>;

export class Builder {
  readonly eqns: Eqn<Aval>[] = [];
  readonly constVars: Var<Aval>[] = [];
  readonly constVals: Value[] = [];
  private readonly lifted = new Map<Value, Atom<Aval>>();
  /** Called when an outer Ref is lifted (jit checks it was not also passed as an argument). */
  onLiftRef?: (r: Ref) => void;

  liftAtom(x: Value): Atom<Aval> {
    let atom = this.lifted.get(x);
    if (atom) return atom;
    if (x instanceof Array && x.ndim === 0) {
      const h = hostValues(x);
      // A Literal holds the value (float16 host data holds its bits).
      if (h) atom = new Literal(x.dtype === "float16" ? halfBitsToNumber(h[0]!) : Number(h[0]), x.aval);
    }
    if (!atom) {
      if (x instanceof Ref) this.onLiftRef?.(x);
      const v = new Var<Aval>(x.aval);
      this.constVars.push(v);
      this.constVals.push(x);
      atom = v;
    }
    this.lifted.set(x, atom);
    return atom;
  }
}

interface Staged {
  readonly atom: Atom<Aval>;
}

export function atomOf(x: Value): Atom<Aval> {
  return (x._payload as Staged).atom;
}

export function makeTracer(trace: Trace, atom: Atom<Aval>, site?: CreationSite): Value {
  const payload: Staged = { atom };
  return atom.aval instanceof RefType ? new Ref(atom.aval, trace, payload, site) : new Array(atom.aval as ShapedArray, trace, payload);
}

export class StagingTrace extends Trace {
  get builder(): Builder {
    return this.main.globalData as Builder;
  }
  lift(x: Value): Value {
    const site = x instanceof Ref ? x.site : undefined;
    return makeTracer(this, this.builder.liftAtom(x), site);
  }
  processPrimitive(prim: Primitive, args: Value[], params: Params): Value[] {
    const outAvals = prim.abstractEval(
      args.map((a) => a.aval),
      params,
    );
    const outs = outAvals.map((a) => new Var<Aval>(a));
    this.builder.eqns.push({ prim, params, inputs: args.map(atomOf), outputs: outs });
    const site = prim === P.refNew ? captureSite() : undefined;
    return outs.map((v) => makeTracer(this, v, site));
  }
}

export interface StagedProgram {
  /** inputs: constants first (`consts.length` of them), then the arguments. */
  readonly jaxpr: Jaxpr;
  /** Values of the constant inputs: outer arrays, refs and tracers the function closed over. */
  readonly consts: readonly Value[];
}

/**
 * Stage `fn` on tracers of `inAvals`. `fn` returns a flat list of values (or
 * JS numbers, which become weakly typed constants).
 */
export function stageFlat(
  fn: (...args: Value[]) => readonly (Value | number | boolean)[],
  inAvals: readonly Aval[],
  opts: { name?: string; onLiftRef?: (r: Ref) => void; inputSites?: readonly (CreationSite | undefined)[] } = {},
): StagedProgram {
  const builder = new Builder();
  if (opts.onLiftRef) builder.onLiftRef = opts.onLiftRef;
  using main = newMain(StagingTrace, builder);
  using _dyn = newDynamic(main);
  const trace = new StagingTrace(main);
  const inVars = inAvals.map((a) => new Var<Aval>(a));
  const inTracers = inVars.map((v, i) => makeTracer(trace, v, opts.inputSites?.[i]));
  const outs = fn(...inTracers);
  const outAtoms = outs.map((o) => {
    const v = toValue(o);
    const t = (v as { _trace: Trace })._trace;
    if (t.main === main) return atomOf(v);
    if (t.main.level > main.level)
      throw new Error(`${opts.name ?? "function"}: returned a value of an inner transformation that escaped its scope`);
    return builder.liftAtom(v);
  });
  const jaxpr: Jaxpr = {
    inputs: [...builder.constVars, ...inVars],
    eqns: builder.eqns,
    outputs: outAtoms,
    aliases: [],
    ...(opts.name ? { name: opts.name } : {}),
  };
  return { jaxpr, consts: builder.constVals };
}

/** JS scalars in outputs become weakly typed constant arrays. */
function toValue(o: Value | number | boolean): Value {
  if (o instanceof Array || o instanceof Ref) return o;
  if (typeof o === "number" || typeof o === "boolean") return scalarArray(o);
  throw new TypeError(`expected an Array or Ref output, got ${typeof o}`);
}

import { np } from "@refs/core";
export function scalarArray(v: number | boolean): Array {
  return np.asarray(v);
}

/** True while some transformation is staging (omnistaging: ops on constants are recorded too). */
export function isStaging(): boolean {
  return currentDynamic().level > 0;
}

/** Ref-typed or not: the value aval of a program input. */
export function valueAval(a: Aval): ShapedArray {
  return a instanceof RefType ? a.inner : a;
}
