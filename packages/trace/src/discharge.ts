/**
 * Ref discharge: turn a program with ref effects into a pure one.
 *
 * Every Ref-typed input becomes a value input plus an extra output holding
 * its final value (an alias the backend may write in place); refs created
 * inside become plain values. Effects inside scan/cond/while bodies are
 * discharged recursively: a closed-over ref becomes part of the loop carry,
 * and a ref passed as scan `xs` is read and written row by row (its rows go
 * in as xs and come back as ys). After this pass no backend, and none of
 * grad/vmap/jvp, ever sees an effect.
 *
 * It works by interpretation: the effectful program is evaluated under a new
 * staging trace with a `Cell` holding each ref's current value, so reads and
 * writes become the same indexing code the eager interpreter uses.
 */
import {
  Array,
  RefType,
  bind,
  bind1,
  indexGet,
  indexUpdate,
  primitives as P,
  type Atom,
  type Aval,
  type Indexer,
  type Program,
  type Value,
  type Var,
} from "@refs/core";
import { Env, evalProgram } from "./eval.js";
import { stageFlat, valueAval, type Jaxpr } from "./staging.js";

/** A ref's current value while a program is being discharged. */
export class Cell {
  constructor(
    public value: Array,
    readonly aval: RefType,
  ) {}
}

export interface Discharged {
  /**
   * Pure program. Inputs: `consts` first, then the jaxpr's inputs with refs
   * replaced by their values. Outputs: the jaxpr's outputs (a returned ref
   * gives its final value), then the final value of each ref input.
   */
  readonly program: Program;
  readonly consts: readonly Value[];
  /** Positions in jaxpr.inputs that are refs, in the order of their final-value outputs. */
  readonly refInputs: readonly number[];
  /** Positions in jaxpr.outputs that are refs. */
  readonly refOutputs: readonly number[];
}

export function hasEffects(p: Program<Aval>): boolean {
  return p.inputs.some((v) => v.aval instanceof RefType) || p.eqns.some((e) => e.prim.spec.effectful || e.outputs.some((o) => o.aval instanceof RefType));
}

export function dischargeJaxpr(jaxpr: Jaxpr, name?: string): Discharged {
  const refInputs = jaxpr.inputs.flatMap((v, i) => (v.aval instanceof RefType ? [i] : []));
  const refOutputs = jaxpr.outputs.flatMap((a, i) => (a.aval instanceof RefType ? [i] : []));
  const inAvals = jaxpr.inputs.map((v) => valueAval(v.aval));
  const staged = stageFlat(
    (...vals) => {
      const args: (Value | Cell)[] = vals.map((v, i) =>
        jaxpr.inputs[i]!.aval instanceof RefType ? new Cell(v as Array, jaxpr.inputs[i]!.aval as RefType) : v,
      );
      const outs = dischargeEval(jaxpr, args);
      return [...outs.map((o) => (o instanceof Cell ? o.value : o)), ...refInputs.map((i) => (args[i] as Cell).value)];
    },
    inAvals,
    name === undefined ? {} : { name },
  );
  const program = staged.jaxpr as Program;
  const n = jaxpr.outputs.length;
  const aliases = refInputs.map((inp, k) => ({ input: staged.consts.length + inp, output: n + k }));
  return { program: { ...program, aliases }, consts: staged.consts, refInputs, refOutputs };
}

/** Evaluate an effectful program with cells for refs, under the current (staging) trace. */
export function dischargeEval(p: Program<Aval>, args: readonly (Value | Cell)[]): (Value | Cell)[] {
  const env = new Map<Var<Aval>, Value | Cell>();
  const vals = new Env();
  const read = (a: Atom<Aval>): Value | Cell => {
    if (a.aval instanceof RefType) {
      const c = env.get(a as Var<Aval>);
      if (!c) throw new Error("internal error: unknown ref variable in discharge");
      return c;
    }
    return env.has(a as Var<Aval>) ? env.get(a as Var<Aval>)! : vals.read(a);
  };
  p.inputs.forEach((v, i) => env.set(v, args[i]!));
  for (const e of p.eqns) {
    const ins = e.inputs.map(read);
    const outs = dischargeEqn(e.prim, ins, e.params);
    e.outputs.forEach((v, i) => env.set(v, outs[i]!));
  }
  return p.outputs.map(read);
}

function asCell(x: Value | Cell): Cell {
  if (!(x instanceof Cell)) throw new Error("internal error: expected a ref");
  return x;
}

/** Keep a ref's declared weak type on the values written into it. */
function keepWeak(c: Cell, v: Array): Array {
  const weak = c.aval.inner.weakType;
  return v.weakType === weak ? v : bind1(P.convertElementType, [v], { newDtype: v.dtype, weakType: weak });
}

type Rule = (ins: (Value | Cell)[], params: Record<string, unknown>) => (Value | Cell)[];

const rules = new Map<string, Rule>();

function dischargeEqn(prim: { name: string }, ins: (Value | Cell)[], params: Record<string, unknown>): (Value | Cell)[] {
  const rule = rules.get(prim.name);
  if (rule) return rule(ins, params);
  if (ins.some((x) => x instanceof Cell))
    throw new Error(`${prim.name} does not take mutable array references; read the value with \`get()\` first`);
  return bind(prim as never, ins as Value[], params as never);
}

const indexerOf = (params: Record<string, unknown>) => params["indexer"] as Indexer;

rules.set("ref_new", ([x]) => [new Cell(x as Array, new RefType((x as Array).aval))]);
rules.set("ref_get", ([r, ...idx], params) => [indexGet(asCell(r!).value, indexerOf(params), idx as Array[])]);
rules.set("ref_swap", ([r, v, ...idx], params) => {
  const c = asCell(r!);
  const old = indexGet(c.value, indexerOf(params), idx as Array[]);
  c.value = keepWeak(c, indexUpdate("swap", c.value, indexerOf(params), idx as Array[], v as Array, "set"));
  return [old];
});
rules.set("ref_addupdate", ([r, v, ...idx], params) => {
  const c = asCell(r!);
  c.value = keepWeak(c, indexUpdate("addupdate", c.value, indexerOf(params), idx as Array[], v as Array, "add"));
  return [];
});
rules.set("ref_freeze", ([r]) => [asCell(r!).value]);

// A call: discharge its body in place (inlining it into the caller).
rules.set("jit_call", (ins, params) => {
  const program = params["program"] as Program<Aval>;
  if (!ins.some((x) => x instanceof Cell) && !hasEffects(program)) return bind(P.jitCall, ins as Value[], params as never);
  return dischargeEval(program, ins);
});

// ---- control flow -----------------------------------------------------------------

/** Discharge a body whose inputs at `cellPositions` are refs; returns a pure program. */
function dischargeBody(body: Program<Aval>): Discharged {
  const d = dischargeJaxpr(body, body.name);
  if (d.consts.length) throw new Error("internal error: discharging a loop body produced constants");
  return d;
}

/**
 * Build a program from `inner` (a pure program) with its inputs and outputs
 * permuted: `inOrder[k]` is the inner input fed by new input k, `outOrder[k]`
 * the inner output given as new output k.
 */
function permuteProgram(inner: Program, inOrder: readonly number[], outOrder: readonly number[], name?: string): Program {
  const avals = inOrder.map((i) => inner.inputs[i]!.aval);
  const staged = stageFlat(
    (...ins) => {
      const args: Value[] = new globalThis.Array(inner.inputs.length);
      inOrder.forEach((i, k) => (args[i] = ins[k]!));
      const outs = evalPure(inner, args);
      return outOrder.map((o) => outs[o]!);
    },
    avals,
    name === undefined ? {} : { name },
  );
  if (staged.consts.length) throw new Error("internal error: permuting a body produced constants");
  return staged.jaxpr as Program;
}

const evalPure = (p: Program, args: readonly Value[]): Value[] => evalProgram(p, args);

const range = (a: number, b: number) => globalThis.Array.from({ length: b - a }, (_, i) => a + i);

rules.set("scan", (ins, params) => {
  const body = params["body"] as Program<Aval>;
  const numConsts = params["numConsts"] as number;
  const numCarry = params["numCarry"] as number;
  if (!ins.some((x) => x instanceof Cell) && !hasEffects(body)) return bind(P.scan, ins as Value[], params as never);
  const consts = ins.slice(0, numConsts);
  const carry = ins.slice(numConsts, numConsts + numCarry);
  const xs = ins.slice(numConsts + numCarry);
  if (carry.some((c) => c instanceof Cell)) throw new TypeError("scan: a mutable array reference cannot be part of the carry; close over it or pass it in xs");
  const d = dischargeBody(body);
  // body' inputs: consts, carry, xs (refs as values); outputs: carry, ys, ref finals (in refInputs order).
  const nOut = body.outputs.length;
  const nY = nOut - numCarry;
  const constRefs = d.refInputs.filter((i) => i < numConsts);
  const xsRefs = d.refInputs.filter((i) => i >= numConsts + numCarry);
  const plainConsts = range(0, numConsts).filter((i) => !constRefs.includes(i));
  const finalOf = (i: number) => nOut + d.refInputs.indexOf(i);
  // New body: (plainConsts, carry, constRefVals, xs) → (carry, constRefFinals, ys, xsRefFinals)
  const inOrder = [...plainConsts, ...range(numConsts, numConsts + numCarry), ...constRefs, ...range(numConsts + numCarry, body.inputs.length)];
  const outOrder = [...range(0, numCarry), ...constRefs.map(finalOf), ...range(numCarry, numCarry + nY), ...xsRefs.map(finalOf)];
  const newBody = permuteProgram(d.program, inOrder, outOrder, body.name);
  const val = (x: Value | Cell) => (x instanceof Cell ? x.value : x);
  const args = [
    ...plainConsts.map((i) => consts[i]!),
    ...carry,
    ...constRefs.map((i) => (consts[i] as Cell).value),
    ...xs.map(val),
  ] as Value[];
  const outs = bind(P.scan, args, { ...(params as object), body: newBody, numConsts: plainConsts.length, numCarry: numCarry + constRefs.length } as never);
  const carryOut = outs.slice(0, numCarry);
  const refFinals = outs.slice(numCarry, numCarry + constRefs.length);
  const ys = outs.slice(numCarry + constRefs.length, numCarry + constRefs.length + nY);
  const xsFinals = outs.slice(numCarry + constRefs.length + nY);
  constRefs.forEach((i, k) => {
    const c = consts[i] as Cell;
    c.value = refFinals[k] as Array;
  });
  xsRefs.forEach((i, k) => {
    const c = xs[i - numConsts - numCarry] as Cell;
    c.value = xsFinals[k] as Array;
  });
  return [...carryOut, ...ys];
});

rules.set("cond", (ins, params) => {
  const branches = params["branches"] as readonly Program<Aval>[];
  if (!ins.some((x) => x instanceof Cell) && !branches.some(hasEffects)) return bind(P.cond, ins as Value[], params as never);
  const [index, ...ops] = ins;
  const ds = branches.map(dischargeBody);
  const nOut = branches[0]!.outputs.length;
  const refPos = ds[0]!.refInputs;
  const outs = bind(
    P.cond,
    [index as Value, ...ops.map((x) => (x instanceof Cell ? x.value : x))],
    { branches: ds.map((d) => d.program) } as never,
  );
  refPos.forEach((i, k) => ((ops[i] as Cell).value = outs[nOut + k] as Array));
  return outs.slice(0, nOut);
});

rules.set("while", (ins, params) => {
  const cond = params["cond"] as Program<Aval>;
  const body = params["body"] as Program<Aval>;
  const nc = params["condNumConsts"] as number;
  const nb = params["bodyNumConsts"] as number;
  if (!ins.some((x) => x instanceof Cell) && !hasEffects(cond) && !hasEffects(body)) return bind(P.whileLoop, ins as Value[], params as never);
  const condConsts = ins.slice(0, nc);
  const bodyConsts = ins.slice(nc, nc + nb);
  const carry = ins.slice(nc + nb) as Value[];
  if (carry.some((c) => c instanceof Cell)) throw new TypeError("whileLoop: a mutable array reference cannot be part of the carry; close over it instead");
  // Every ref either function touches is carried through the loop.
  const cells = [...new Set([...condConsts, ...bodyConsts].filter((x): x is Cell => x instanceof Cell))];
  const dc = dischargeBody(cond);
  const db = dischargeBody(body);
  const nCarry = carry.length;
  const condPlain = range(0, nc).filter((i) => !(condConsts[i] instanceof Cell));
  const bodyPlain = range(0, nb).filter((i) => !(bodyConsts[i] instanceof Cell));
  const refAvals = cells.map((c) => c.value.aval);
  // cond': (condPlain, refVals, carry) → pred
  const condStaged = stageFlat(
    (...xs) => {
      const args: Value[] = new globalThis.Array(cond.inputs.length);
      condPlain.forEach((i, k) => (args[i] = xs[k]!));
      condConsts.forEach((c, i) => {
        if (c instanceof Cell) args[i] = xs[condPlain.length + cells.indexOf(c)]!;
      });
      for (let j = 0; j < nCarry; j++) args[nc + j] = xs[condPlain.length + cells.length + j]!;
      return [evalPure(dc.program, args)[0]!];
    },
    [...condPlain.map((i) => (condConsts[i] as Array).aval), ...refAvals, ...carry.map((c) => c.aval)],
  );
  // body': (bodyPlain, refVals, carry) → (refFinals, carry)
  const bodyStaged = stageFlat(
    (...xs) => {
      const args: Value[] = new globalThis.Array(body.inputs.length);
      bodyPlain.forEach((i, k) => (args[i] = xs[k]!));
      bodyConsts.forEach((c, i) => {
        if (c instanceof Cell) args[i] = xs[bodyPlain.length + cells.indexOf(c)]!;
      });
      for (let j = 0; j < nCarry; j++) args[nb + j] = xs[bodyPlain.length + cells.length + j]!;
      const outs = evalPure(db.program, args);
      const finals = cells.map((c, k) => {
        const i = bodyConsts.indexOf(c);
        return i >= 0 ? outs[nCarry + db.refInputs.indexOf(i)]! : xs[bodyPlain.length + k]!;
      });
      return [...finals, ...outs.slice(0, nCarry)];
    },
    [...bodyPlain.map((i) => (bodyConsts[i] as Array).aval), ...refAvals, ...carry.map((c) => c.aval)],
  );
  if (condStaged.consts.length || bodyStaged.consts.length) throw new Error("internal error: discharging a while loop produced constants");
  const outs = bind(
    P.whileLoop,
    [...condPlain.map((i) => condConsts[i] as Value), ...bodyPlain.map((i) => bodyConsts[i] as Value), ...cells.map((c) => c.value), ...carry],
    { cond: condStaged.jaxpr, body: bodyStaged.jaxpr, condNumConsts: condPlain.length, bodyNumConsts: bodyPlain.length } as never,
  );
  cells.forEach((c, k) => (c.value = outs[k] as Array));
  return outs.slice(cells.length);
});
