/**
 * Automatic differentiation as program interpreters.
 *
 * Reverse mode (`vjpProgram`) evaluates a pure program forward once, binding
 * each equation (so outer transformations see ordinary primitives) and
 * keeping the values each VJP rule needs; the backward pass then walks the
 * active equations in reverse, calling per-primitive VJP rules. Forward mode
 * (`jvpProgram`) walks the program once with per-primitive JVP rules.
 * Both produce ordinary primitive applications, so they nest (grad of grad,
 * vmap of grad, grad inside jit) and a program's plumbing effects (ref
 * updates that are not differentiated) happen once, in the forward pass.
 *
 * Rules are registered on the primitive objects: `prim.rules.get("vjp")`,
 * `"jvp"`; `"nondiff"` marks primitives whose outputs carry no derivative.
 * Values of non-float dtypes never carry tangents or cotangents.
 */
import { Array, Var, bind, isFloat, type Atom, type Params, type Primitive, type Program, type Value } from "@refs/core";
import { np } from "@refs/core";
import { Env } from "./eval.js";

/** A tangent or cotangent; `null` is a symbolic zero. */
export type Ct = Array | null;

/** Cotangents of the inputs from cotangents of the outputs and the primal values. */
export type VjpRule = (cts: readonly Ct[], ins: readonly Array[], outs: readonly Array[], params: Params) => Ct[];
/** Primal and tangent outputs from primal and tangent inputs. */
export type JvpRule = (primals: readonly Array[], tangents: readonly Ct[], params: Params) => [Array[], Ct[]];

export function defVjp(p: Primitive<any>, rule: VjpRule): void {
  p.rules.set("vjp", rule);
}
export function defJvp(p: Primitive<any>, rule: JvpRule): void {
  p.rules.set("jvp", rule);
}
/** Outputs of these primitives carry no derivative (comparisons, integer ops, PRNG...). */
export function defNonDiff(...ps: Primitive<any>[]): void {
  for (const p of ps) p.rules.set("nondiff", true);
}

/**
 * Which outputs depend differentiably on the active inputs. Without a rule,
 * every float output of an equation with an active input is active; the
 * sub-program primitives (scan, cond, while, jit_call) refine this, so a
 * plumbing ref threaded through a loop carry is not taken for a
 * differentiated value.
 */
export type ActivityRule = (activeIns: readonly boolean[], params: Params) => boolean[];
export function defActivity(p: Primitive<any>, rule: ActivityRule): void {
  p.rules.set("activity", rule);
}

/** Whether outputs of `p` (with `params`) never carry a derivative. */
export function isNonDiff(p: Primitive, params: Params): boolean {
  return nonDiff(p, params);
}

/** Output activity of one equation given its inputs' activity (see `ActivityRule`). */
export function outputActivity(p: Primitive, params: Params, activeIns: readonly boolean[], nOut: number): boolean[] {
  if (nonDiff(p, params) || !activeIns.some((a) => a)) return new globalThis.Array<boolean>(nOut).fill(false);
  const rule = p.rules.get("activity") as ActivityRule | undefined;
  return rule ? rule(activeIns, params) : new globalThis.Array<boolean>(nOut).fill(true);
}

function nonDiff(p: Primitive, params: Params): boolean {
  return p.rules.get("nondiff") === true || (p.name === "copy" && params["stopGradient"] === true);
}

const floatVar = (a: Atom): a is Var => a instanceof Var && isFloat(a.aval.dtype);

/** Add cotangents, treating null as zero. */
export function addCt(a: Ct, b: Ct): Ct {
  if (a === null) return b;
  if (b === null) return a;
  return np.add(a, b);
}

export interface VjpResult {
  readonly outs: Value[];
  /** Whether output i depends differentiably on the differentiated inputs. */
  isActive(output: number): boolean;
  /** Cotangents of the inputs (null for inputs not differentiated or with zero cotangent). */
  backward(cts: readonly Ct[]): Ct[];
}

/** Evaluate `p` on `args`, differentiating with respect to inputs where `diff[i]`. */
export function vjpProgram(p: Program, args: readonly Value[], diff: readonly boolean[]): VjpResult {
  const env = new Env();
  const active = new Set<Var>();
  p.inputs.forEach((v, i) => {
    env.write(v, args[i]!);
    if (diff[i] && isFloat(v.aval.dtype)) active.add(v);
  });
  const tape: { inputs: readonly Atom[]; outputs: readonly Var[]; prim: Primitive; params: Params; ins: Array[]; outs: Array[] }[] = [];
  for (const e of p.eqns) {
    const ins = e.inputs.map((a) => env.read(a)) as Array[];
    const outs = bind(e.prim, ins, e.params) as Array[];
    e.outputs.forEach((v, i) => env.write(v, outs[i]!));
    const activeIns = e.inputs.map((a) => a instanceof Var && active.has(a));
    const isActive = !nonDiff(e.prim, e.params) && activeIns.some((a) => a);
    if (isActive) {
      const outActive = outputActivity(e.prim, e.params, activeIns, e.outputs.length);
      let any = false;
      e.outputs.forEach((o, i) => {
        if (outActive[i] && isFloat(o.aval.dtype)) {
          active.add(o);
          any = true;
        }
      });
      if (any) tape.push({ inputs: e.inputs, outputs: e.outputs, prim: e.prim, params: e.params, ins, outs });
    }
  }
  const outs = p.outputs.map((a) => env.read(a));
  return {
    outs,
    isActive: (i) => {
      const a = p.outputs[i]!;
      return a instanceof Var && active.has(a);
    },
    backward(cts) {
      const ctEnv = new Map<Var, Ct>();
      const accum = (a: Atom, ct: Ct) => {
        if (ct === null || !(a instanceof Var) || !active.has(a)) return;
        ctEnv.set(a, addCt(ctEnv.get(a) ?? null, ct));
      };
      p.outputs.forEach((o, i) => accum(o, cts[i] ?? null));
      for (let t = tape.length - 1; t >= 0; t--) {
        const e = tape[t]!;
        const outCts = e.outputs.map((o) => ctEnv.get(o) ?? null);
        if (outCts.every((c) => c === null)) continue;
        const rule = e.prim.rules.get("vjp") as VjpRule | undefined;
        if (!rule) throw new Error(`grad: reverse-mode differentiation of ${e.prim.name} is not implemented`);
        const inCts = rule(outCts, e.ins, e.outs, e.params);
        e.inputs.forEach((a, i) => accum(a, inCts[i] ?? null));
        for (const o of e.outputs) ctEnv.delete(o);
      }
      return p.inputs.map((v, i) => (diff[i] ? (ctEnv.get(v) ?? null) : null));
    },
  };
}

/** Forward mode: outputs and output tangents of `p` at `primals` along `tangents`. */
export function jvpProgram(p: Program, primals: readonly Value[], tangents: readonly Ct[]): { outs: Value[]; tangents: Ct[] } {
  const env = new Env();
  const tenv = new Map<Var, Ct>();
  p.inputs.forEach((v, i) => {
    env.write(v, primals[i]!);
    if (floatVar(v) && tangents[i]) tenv.set(v, tangents[i]!);
  });
  for (const e of p.eqns) {
    const ins = e.inputs.map((a) => env.read(a)) as Array[];
    const tins = e.inputs.map((a) => (a instanceof Var ? (tenv.get(a) ?? null) : null));
    if (nonDiff(e.prim, e.params) || tins.every((t) => t === null)) {
      const outs = bind(e.prim, ins, e.params);
      e.outputs.forEach((v, i) => env.write(v, outs[i]!));
      continue;
    }
    const rule = e.prim.rules.get("jvp") as JvpRule | undefined;
    if (!rule) throw new Error(`jvp: forward-mode differentiation of ${e.prim.name} is not implemented`);
    const [outs, touts] = rule(ins, tins, e.params);
    e.outputs.forEach((v, i) => {
      env.write(v, outs[i]!);
      if (floatVar(v) && touts[i]) tenv.set(v, touts[i]!);
    });
  }
  return {
    outs: p.outputs.map((a) => env.read(a)),
    tangents: p.outputs.map((a) => (a instanceof Var ? (tenv.get(a) ?? null) : null)),
  };
}

/** `stopGradient(x)`: the value of x, with no derivative flowing through it. */
export function stopGradient<T>(x: T): T {
  return mapArrays(x, (a) => bind(getCopy(), [a], { stopGradient: true })[0] as Array) as T;
}

import { primitives as P, tree } from "@refs/core";
function getCopy(): Primitive {
  return P.copy as Primitive;
}
function mapArrays(x: unknown, f: (a: Array) => Array): unknown {
  return tree.map((l: unknown) => (l instanceof Array ? f(l) : l), x);
}
