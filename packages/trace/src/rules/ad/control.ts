/**
 * AD rules of the sub-program primitives: jit_call, scan, cond and while.
 *
 * Forward mode runs the primitive on a JVP'd sub-program (tangents as extra
 * consts/carry/xs/operands). Reverse mode stages a *joint* program (the body's
 * forward pass followed by its backward pass, via `vjpProgram`) and splits it
 * by dependence: equations that depend on the output cotangents form the
 * backward program, the rest the forward program, and the forward values the
 * backward program reads are the residuals. Loop-invariant values (from scan
 * consts) are recomputed in the backward program rather than stacked.
 *
 * A VJP rule only runs in the backward pass, after the primal primitive ran,
 * so the scan/cond VJP re-runs the forward sub-program to collect residuals
 * (a forward scan emitting them as extra ys) before the backward scan runs in
 * the opposite direction. Sub-programs are pure (refs were discharged), so
 * re-running them repeats no side effect.
 */
import {
  Array,
  ShapedArray,
  Var,
  bind,
  isFloat,
  makeProgram,
  primitives as P,
  type Atom,
  type Aval,
  type Eqn,
  type Program,
  type Value,
} from "@refs/core";
import { defActivity, defJvp, defVjp, jvpProgram, outputActivity, vjpProgram, type Ct } from "../../ad.js";
import { evalProgram } from "../../eval.js";
import { stageFlat, type StagedProgram } from "../../staging.js";
import { add, fit, full, inst, range } from "./util.js";

const sa = (a: Aval): ShapedArray => a as ShapedArray;
const floatAval = (a: Aval): boolean => a instanceof ShapedArray && isFloat(a.dtype);
const zerosOf = (a: ShapedArray): Array => fit(full(a.shape, a.dtype, 0), a);
const stacked = (a: ShapedArray, n: number): ShapedArray => new ShapedArray([n, ...a.shape], a.dtype, a.weakType);
const maskKey = (m: readonly boolean[]): string => m.map((b) => (b ? "1" : "0")).join("");
const allConcrete = (vs: readonly Value[]): boolean => vs.every((v) => v instanceof Array && v.isConcrete);

// ---- caches (per sub-program object; only entries whose constants are concrete) --------------

const caches = new WeakMap<object, Map<string, unknown>>();
function cached<T>(owner: object, key: string, make: () => T, consts: (t: T) => readonly Value[]): T {
  let m = caches.get(owner);
  if (!m) caches.set(owner, (m = new Map()));
  const hit = m.get(key);
  if (hit !== undefined) return hit as T;
  const v = make();
  if (allConcrete(consts(v))) m.set(key, v);
  return v;
}

// ---- activity: which outputs depend on the differentiated inputs ----------------------------

/** Output activity of a program from its inputs' activity (float values only). */
function programActivity(p: Program, activeIns: readonly boolean[]): boolean[] {
  const act = new Set<Var<Aval>>();
  p.inputs.forEach((v, i) => {
    if (activeIns[i] && floatAval(v.aval)) act.add(v);
  });
  for (const e of p.eqns) {
    const ai = e.inputs.map((a) => a instanceof Var && act.has(a));
    if (!ai.some((a) => a)) continue;
    const outA = outputActivity(e.prim, e.params, ai, e.outputs.length);
    e.outputs.forEach((o, i) => {
      if (outA[i] && floatAval(o.aval)) act.add(o);
    });
  }
  return p.outputs.map((a) => a instanceof Var && act.has(a));
}

/** Loop-carry activity: iterate the body until the set of active carries stops growing. */
function loopActivity(body: Program, before: readonly boolean[], carry: readonly boolean[], after: readonly boolean[]): { carry: boolean[]; outs: boolean[] } {
  const c = carry.slice();
  for (;;) {
    const outs = programActivity(body, [...before, ...c, ...after]);
    let grew = false;
    c.forEach((a, j) => {
      if (!a && outs[j]) {
        c[j] = true;
        grew = true;
      }
    });
    if (!grew) return { carry: c, outs };
  }
}

defActivity(P.jitCall, (ai, params) => programActivity(params["program"] as Program, ai));
defActivity(P.scan, (ai, params) => {
  const { body, numConsts: nC, numCarry: nK } = scanParams(params);
  const r = loopActivity(body, ai.slice(0, nC), ai.slice(nC, nC + nK), ai.slice(nC + nK));
  return [...r.carry, ...r.outs.slice(nK)];
});
defActivity(P.cond, (ai, params) => {
  const branches = params["branches"] as readonly Program[];
  const outs = branches.map((b) => programActivity(b, ai.slice(1)));
  return outs[0]!.map((_, j) => outs.some((o) => o[j]));
});
defActivity(P.whileLoop, (ai, params) => {
  const cN = params["condNumConsts"] as number;
  const bN = params["bodyNumConsts"] as number;
  return loopActivity(params["body"] as Program, ai.slice(cN, cN + bN), ai.slice(cN + bN), []).carry;
});

// ---- jit_call -----------------------------------------------------------------------------

defJvp(P.jitCall, (primals, tangents, params) => {
  const r = jvpProgram(params["program"] as Program, primals, tangents);
  return [r.outs as Array[], r.tangents];
});
defVjp(P.jitCall, (cts, ins, _outs, params) => {
  const r = vjpProgram(
    params["program"] as Program,
    ins,
    ins.map((x) => isFloat(x.dtype)),
  );
  return r.backward(cts);
});

// ---- the joint program and its split --------------------------------------------------------

interface Split {
  /** Values of the joint program's own constants (inputs of both halves). */
  readonly jcVals: readonly Value[];
  readonly jcVars: readonly Var<Aval>[];
  /** The joint program's variables for the sub-program's inputs, and for the output cotangents. */
  readonly inVars: readonly Var<Aval>[];
  readonly ctVars: readonly Var<Aval>[];
  /** Primal outputs of the joint program (the sub-program's outputs). */
  readonly primalOuts: readonly Atom<Aval>[];
  /** Forward values the backward half reads. */
  readonly residuals: readonly Var<Aval>[];
  /** Forward half restricted to what `outputs` need (inputs: jc, sub-program inputs). */
  fwd(outputs: readonly Atom<Aval>[]): Program;
  /**
   * Backward half: inputs jc, the invariant inputs, `residualOrder`, cts;
   * outputs the cotangents of the differentiated inputs (in input order).
   */
  bwd(residualOrder: readonly Var<Aval>[]): Program;
}

/**
 * Stage forward-then-backward of `body` and split it. `diffIn`: inputs whose
 * cotangents are wanted; `ctOut`/`ctAvals`: outputs that receive a cotangent
 * and its aval; `invariant`: inputs that are the same on every call (scan consts).
 */
function jointSplit(
  body: Program,
  diffIn: readonly boolean[],
  ctOut: readonly boolean[],
  ctAvals: readonly ShapedArray[],
  invariant: readonly boolean[],
): Split {
  const nIn = body.inputs.length;
  const nOut = body.outputs.length;
  const staged = stageFlat(
    (...args) => {
      const prims = args.slice(0, nIn);
      const ctVals = args.slice(nIn) as Array[];
      const r = vjpProgram(body, prims, diffIn);
      let k = 0;
      const cts: Ct[] = body.outputs.map((_, j) => (ctOut[j] ? ctVals[k++]! : null));
      const inCts = r.backward(cts);
      const res: Array[] = [];
      body.inputs.forEach((v, i) => {
        if (diffIn[i]) res.push(fit(inst(inCts[i] ?? null, sa(v.aval)), sa(v.aval)));
      });
      return [...r.outs, ...res];
    },
    [...body.inputs.map((v) => v.aval), ...ctAvals],
    { name: `${body.name ?? "body"}_vjp` },
  );
  const jp = staged.jaxpr;
  const nJC = staged.consts.length;
  const jcVars = jp.inputs.slice(0, nJC);
  const inVars = jp.inputs.slice(nJC, nJC + nIn);
  const ctVars = jp.inputs.slice(nJC + nIn);
  // 0: invariant (joint consts, invariant inputs and what only they feed), 1: forward, 2: backward.
  const cls = new Map<Var<Aval>, number>();
  jcVars.forEach((v) => cls.set(v, 0));
  inVars.forEach((v, i) => cls.set(v, invariant[i] ? 0 : 1));
  ctVars.forEach((v) => cls.set(v, 2));
  const clsOf = (a: Atom<Aval>) => (a instanceof Var ? (cls.get(a) ?? 0) : 0);
  const eqnCls = jp.eqns.map((e) => {
    let c = 0;
    for (const a of e.inputs) c = Math.max(c, clsOf(a));
    for (const o of e.outputs) cls.set(o, c);
    return c;
  });
  // The backward half: backward and invariant equations the input cotangents need.
  const ctOuts = jp.outputs.slice(nOut);
  const need = new Set<Var<Aval>>();
  const residuals: Var<Aval>[] = [];
  const resSet = new Set<Var<Aval>>();
  const mark = (a: Atom<Aval>) => {
    if (!(a instanceof Var)) return;
    if (cls.get(a) === 1) {
      if (!resSet.has(a)) {
        resSet.add(a);
        residuals.push(a);
      }
    } else need.add(a);
  };
  ctOuts.forEach(mark);
  const bwdEqns: Eqn<Aval>[] = [];
  for (let k = jp.eqns.length - 1; k >= 0; k--) {
    const e = jp.eqns[k]!;
    if (eqnCls[k] === 1 || !e.outputs.some((o) => need.has(o))) continue;
    bwdEqns.push(e);
    e.inputs.forEach(mark);
  }
  bwdEqns.reverse();
  const invVars = inVars.filter((_, i) => invariant[i]);
  return {
    jcVals: staged.consts,
    jcVars,
    inVars,
    ctVars,
    primalOuts: jp.outputs.slice(0, nOut),
    residuals,
    fwd(outputs) {
      const needF = new Set<Var<Aval>>();
      for (const a of outputs) if (a instanceof Var) needF.add(a);
      const eqns: Eqn<Aval>[] = [];
      for (let k = jp.eqns.length - 1; k >= 0; k--) {
        const e = jp.eqns[k]!;
        if (eqnCls[k] === 2 || !e.outputs.some((o) => needF.has(o))) continue;
        eqns.push(e);
        for (const a of e.inputs) if (a instanceof Var) needF.add(a);
      }
      eqns.reverse();
      return makeProgram([...jcVars, ...inVars], eqns, [...outputs]) as unknown as Program;
    },
    bwd(order) {
      return makeProgram([...jcVars, ...invVars, ...order, ...ctVars], bwdEqns, ctOuts) as unknown as Program;
    },
  };
}

// ---- scan ------------------------------------------------------------------------------------

interface ScanParams {
  body: Program;
  length: number;
  reverse: boolean;
  numConsts: number;
  numCarry: number;
}
const scanParams = (p: unknown) => p as ScanParams;

interface ScanVjpPlan {
  /** Forward scan emitting residuals: consts (fwdConsts, body consts), carry, xs → carry, residuals. */
  fwdBody: Program;
  fwdConsts: readonly Value[];
  /** Residuals that are xs inputs: read straight from the scan's xs (body input positions). */
  resXInputs: readonly number[];
  emitAvals: readonly ShapedArray[];
  bwd: StagedProgram;
  diffIn: readonly boolean[];
  ctY: readonly boolean[];
}

function planScanVjp(p: ScanParams, ctY: readonly boolean[]): ScanVjpPlan {
  const { body, numConsts: nC, numCarry: nK } = p;
  const nIn = body.inputs.length;
  const diffIn = body.inputs.map((v) => floatAval(v.aval));
  const ctOut = body.outputs.map((_, j) => (j < nK ? diffIn[nC + j]! : ctY[j - nK]!));
  const ctAvals: ShapedArray[] = [];
  body.outputs.forEach((o, j) => {
    if (ctOut[j]) ctAvals.push(j < nK ? sa(body.inputs[nC + j]!.aval) : sa(o.aval));
  });
  const invariant = body.inputs.map((_, i) => i < nC);
  const s = jointSplit(body, diffIn, ctOut, ctAvals, invariant);
  // Residuals that are xs rows need not be re-emitted.
  const resXInputs: number[] = [];
  const emit: Var<Aval>[] = [];
  const resX: Var<Aval>[] = [];
  for (const r of s.residuals) {
    const i = s.inVars.indexOf(r);
    if (i >= nC + nK) {
      resX.push(r);
      resXInputs.push(i);
    } else emit.push(r);
  }
  const fwdBody = s.fwd([...s.primalOuts.slice(0, nK), ...emit]);
  const bwdCore = s.bwd([...emit, ...resX]);
  // Backward body: consts (body consts), carry (ct of carry, accumulated ct of consts), xs (residuals, ct of ys).
  const constAvals = body.inputs.slice(0, nC).map((v) => sa(v.aval));
  const diffConsts = range(0, nC).filter((i) => diffIn[i]);
  const diffCarry = range(nC, nC + nK).filter((i) => diffIn[i]);
  const diffXs = range(nC + nK, nIn).filter((i) => diffIn[i]);
  const ctCarryAvals = diffCarry.map((i) => sa(body.inputs[i]!.aval));
  const accAvals = diffConsts.map((i) => sa(body.inputs[i]!.aval));
  const emitAvals = emit.map((v) => sa(v.aval));
  const resXAvals = resX.map((v) => sa(v.aval));
  const ctYAvals = ctAvals.slice(ctCarryAvals.length);
  const jcVals = s.jcVals;
  const bwd = stageFlat(
    (...a) => {
      let o = 0;
      const take = (n: number) => a.slice(o, (o += n));
      const consts = take(nC);
      const ctCarry = take(ctCarryAvals.length);
      const acc = take(accAvals.length) as Array[];
      const emitted = take(emitAvals.length);
      const xsRes = take(resXAvals.length);
      const ctYs = take(ctYAvals.length);
      const outs = evalProgram(bwdCore, [...jcVals, ...consts, ...emitted, ...xsRes, ...ctCarry, ...ctYs]) as Array[];
      // bwdCore's outputs: cotangents of the differentiated inputs, in input order.
      let q = 0;
      const ctConsts = diffConsts.map(() => outs[q++]!);
      const ctCarryIn = diffCarry.map(() => outs[q++]!);
      const ctXs = diffXs.map(() => outs[q++]!);
      return [...ctCarryIn, ...acc.map((x, i) => fit(add(x, ctConsts[i]!), accAvals[i]!)), ...ctXs];
    },
    [...constAvals, ...ctCarryAvals, ...accAvals, ...emitAvals, ...resXAvals, ...ctYAvals],
    { name: `${body.name ?? "body"}_bwd` },
  );
  return { fwdBody, fwdConsts: jcVals, resXInputs, emitAvals, bwd, diffIn, ctY };
}

defVjp(P.scan, (cts, ins, outs, params) => {
  const p = scanParams(params);
  const { body, length, reverse, numConsts: nC, numCarry: nK } = p;
  const nIn = body.inputs.length;
  const nY = body.outputs.length - nK;
  const ctY = range(0, nY).map((j) => floatAval(body.outputs[nK + j]!.aval) && (cts[nK + j] ?? null) !== null);
  const plan = cached(
    body,
    `vjp:${maskKey(ctY)}`,
    () => planScanVjp(p, ctY),
    (pl) => [...pl.fwdConsts, ...pl.bwd.consts],
  );
  const { diffIn } = plan;
  // 1. Forward again, emitting the residuals as extra ys.
  let emitted: Value[] = [];
  if (plan.emitAvals.length > 0) {
    const r = bind(P.scan, [...plan.fwdConsts, ...ins], {
      body: plan.fwdBody,
      length,
      reverse,
      numConsts: plan.fwdConsts.length + nC,
      numCarry: nK,
    });
    emitted = r.slice(nK);
  }
  // 2. Backward, in the opposite direction.
  const consts = ins.slice(0, nC);
  const diffConsts = range(0, nC).filter((i) => diffIn[i]);
  const diffCarry = range(nC, nC + nK).filter((i) => diffIn[i]);
  const diffXs = range(nC + nK, nIn).filter((i) => diffIn[i]);
  const ctCarry = diffCarry.map((i) => {
    const a = sa(body.inputs[i]!.aval);
    const c = cts[i - nC] ?? null;
    return c ? fit(c, a) : zerosOf(a);
  });
  const acc = diffConsts.map((i) => zerosOf(sa(body.inputs[i]!.aval)));
  const xsRes = plan.resXInputs.map((i) => ins[i]!);
  const ctYs = range(0, nY)
    .filter((j) => ctY[j])
    .map((j) => cts[nK + j]!);
  const r = bind(P.scan, [...plan.bwd.consts, ...consts, ...ctCarry, ...acc, ...emitted, ...xsRes, ...ctYs], {
    body: plan.bwd.jaxpr as unknown as Program,
    length,
    reverse: !reverse,
    numConsts: plan.bwd.consts.length + nC,
    numCarry: ctCarry.length + acc.length,
  }) as Array[];
  const res: Ct[] = ins.map(() => null);
  let q = 0;
  for (const i of diffCarry) res[i] = r[q++]!;
  for (const i of diffConsts) res[i] = r[q++]!;
  for (const i of diffXs) res[i] = r[q++]!;
  void outs;
  return res;
});

defJvp(P.scan, (primals, tangents, params) => {
  const p = scanParams(params);
  const { body, length, reverse, numConsts: nC, numCarry: nK } = p;
  const nIn = body.inputs.length;
  const nY = body.outputs.length - nK;
  const tIn = primals.map((x, i) => (isFloat(x.dtype) ? (tangents[i] ?? null) : null));
  const has = tIn.map((t) => t !== null);
  const carryT = has.slice(nC, nC + nK);
  for (;;) {
    const mask = [...has.slice(0, nC), ...carryT, ...has.slice(nC + nK)];
    const plan = cached(body, `jvp:${maskKey(mask)}`, () => stageScanJvp(body, nC, nK, mask), (pl) => pl.staged.consts);
    if (plan.grow.some((g) => g)) {
      plan.grow.forEach((g, j) => g && (carryT[j] = true));
      continue;
    }
    const tv = (i: number): Array => tIn[i] ?? zerosOf(sa(body.inputs[i]!.aval));
    const idx = (a: number, b: number) => range(a, b).filter((i) => mask[i]);
    const tConsts = idx(0, nC).map(tv);
    const tCarry = idx(nC, nC + nK).map(tv);
    const tXs = idx(nC + nK, nIn).map((i) => tIn[i]!);
    const consts = primals.slice(0, nC);
    const carry = primals.slice(nC, nC + nK);
    const xs = primals.slice(nC + nK);
    const r = bind(P.scan, [...plan.staged.consts, ...consts, ...tConsts, ...carry, ...tCarry, ...xs, ...tXs], {
      body: plan.staged.jaxpr as unknown as Program,
      length,
      reverse,
      numConsts: plan.staged.consts.length + nC + tConsts.length,
      numCarry: nK + tCarry.length,
    }) as Array[];
    let q = 0;
    const outC = r.slice(0, nK);
    q = nK;
    const tOutC: Ct[] = range(0, nK).map((j) => (carryT[j] ? r[q++]! : null));
    const outY = r.slice(q, q + nY);
    q += nY;
    const tOutY: Ct[] = range(0, nY).map((j) => (plan.yT[j] ? r[q++]! : null));
    return [
      [...outC, ...outY],
      [...tOutC, ...tOutY],
    ];
  }
});

interface ScanJvpPlan {
  staged: StagedProgram;
  yT: boolean[];
  /** Carries whose output tangent is nonzero though their input tangent was taken as zero. */
  grow: boolean[];
}

function stageScanJvp(body: Program, nC: number, nK: number, mask: readonly boolean[]): ScanJvpPlan {
  const nIn = body.inputs.length;
  const nY = body.outputs.length - nK;
  const avals = body.inputs.map((v) => sa(v.aval));
  const groups = [range(0, nC), range(nC, nC + nK), range(nC + nK, nIn)];
  const inAvals: ShapedArray[] = [];
  for (const g of groups) {
    for (const i of g) inAvals.push(avals[i]!);
    for (const i of g) if (mask[i]) inAvals.push(avals[i]!);
  }
  const yT: boolean[] = [];
  const grow: boolean[] = range(0, nK).map(() => false);
  const staged = stageFlat(
    (...a) => {
      const prim: Value[] = new globalThis.Array(nIn);
      const tans: Ct[] = new globalThis.Array(nIn).fill(null);
      let o = 0;
      for (const g of groups) {
        for (const i of g) prim[i] = a[o++]!;
        for (const i of g) if (mask[i]) tans[i] = a[o++] as Array;
      }
      const r = jvpProgram(body, prim, tans);
      const carryOut = r.outs.slice(0, nK);
      const tCarry: Array[] = [];
      for (let j = 0; j < nK; j++) {
        const t = r.tangents[j] ?? null;
        const av = avals[nC + j]!;
        if (mask[nC + j]) tCarry.push(fit(inst(t, av), av));
        else if (t !== null) grow[j] = true;
      }
      const tY: Array[] = [];
      for (let j = 0; j < nY; j++) {
        const t = r.tangents[nK + j] ?? null;
        yT.push(t !== null);
        if (t !== null) tY.push(t);
      }
      return [...carryOut, ...tCarry, ...r.outs.slice(nK), ...tY];
    },
    inAvals,
    { name: `${body.name ?? "body"}_jvp` },
  );
  return { staged, yT, grow };
}

// ---- cond ----------------------------------------------------------------------------------------

/** Branch programs with one shared operand list: every branch's constants, then the operands. */
function joinBranches(staged: readonly StagedProgram[]): { branches: Program[]; consts: Value[] } {
  const consts = staged.flatMap((s) => [...s.consts]);
  const branches = staged.map((s, b) => {
    const nc = s.consts.length;
    const inputs: Var<Aval>[] = [];
    staged.forEach((t, c) => {
      if (c === b) inputs.push(...s.jaxpr.inputs.slice(0, nc));
      else inputs.push(...t.jaxpr.inputs.slice(0, t.consts.length).map((v) => new Var<Aval>(v.aval)));
    });
    inputs.push(...s.jaxpr.inputs.slice(nc));
    return makeProgram(inputs, s.jaxpr.eqns, s.jaxpr.outputs, [], s.jaxpr.name) as unknown as Program;
  });
  return { branches, consts };
}

defJvp(P.cond, (primals, tangents, params) => {
  const branches = params["branches"] as readonly Program[];
  const [index, ...ops] = primals;
  const nOps = ops.length;
  const tOps = ops.map((x, i) => (isFloat(x.dtype) ? (tangents[i + 1] ?? null) : null));
  const opT = tOps.map((t) => t !== null);
  const opAvals = branches[0]!.inputs.map((v) => sa(v.aval));
  const outAvals = branches[0]!.outputs.map((o) => sa(o.aval));
  const inAvals = [...opAvals, ...opAvals.filter((_, i) => opT[i])];
  const stageBranch = (br: Program, outMask: boolean[] | null, seen: boolean[]) =>
    stageFlat(
      (...a) => {
        const prim = a.slice(0, nOps);
        let o = nOps;
        const tans: Ct[] = opT.map((m) => (m ? (a[o++] as Array) : null));
        const r = jvpProgram(br, prim, tans);
        r.tangents.forEach((t, j) => (seen[j] = seen[j]! || t !== null));
        if (outMask === null) return r.outs;
        const tOut = outAvals.flatMap((av, j) => (outMask[j] ? [fit(inst(r.tangents[j] ?? null, av), av)] : []));
        return [...r.outs, ...tOut];
      },
      inAvals,
    );
  const outT = outAvals.map(() => false);
  for (const br of branches) stageBranch(br, null, outT);
  if (!outT.some((t) => t)) return [bind(P.cond, primals, params) as Array[], outAvals.map(() => null)];
  const staged = branches.map((br) => stageBranch(br, outT, []));
  const joined = joinBranches(staged);
  const r = bind(P.cond, [index!, ...joined.consts, ...ops, ...tOps.filter((t): t is Array => t !== null)], {
    branches: joined.branches,
  }) as Array[];
  const nOut = outAvals.length;
  let q = nOut;
  return [r.slice(0, nOut), outT.map((t) => (t ? r[q++]! : null))];
});

defVjp(P.cond, (cts, ins, _outs, params) => {
  const branches = params["branches"] as readonly Program[];
  const [index, ...ops] = ins;
  const opAvals = branches[0]!.inputs.map((v) => sa(v.aval));
  const outAvals = branches[0]!.outputs.map((o) => sa(o.aval));
  const diffIn = opAvals.map((a) => isFloat(a.dtype));
  const ctOut = outAvals.map((a, j) => isFloat(a.dtype) && (cts[j] ?? null) !== null);
  const ctAvals = outAvals.filter((_, j) => ctOut[j]);
  const ctVals = cts.filter((_, j) => ctOut[j]).map((c, k) => fit(c!, ctAvals[k]!));
  const splits = branches.map((br) => jointSplit(br, diffIn, ctOut, ctAvals, opAvals.map(() => false)));
  // Residual slots: every branch's residuals side by side; a branch fills its own, zeros elsewhere.
  const slotAvals = splits.flatMap((s) => s.residuals.map((v) => sa(v.aval)));
  const offsets: number[] = [];
  let off = 0;
  for (const s of splits) {
    offsets.push(off);
    off += s.residuals.length;
  }
  let slots: Value[] = [];
  if (slotAvals.length > 0) {
    const fwdStaged = splits.map((s, b) =>
      stageFlat((...opsIn) => {
        const fwd = s.fwd(s.residuals);
        const res = evalProgram(fwd, [...s.jcVals, ...opsIn]) as Array[];
        return slotAvals.map((av, k) => (k >= offsets[b]! && k < offsets[b]! + res.length ? fit(res[k - offsets[b]!]!, av) : zerosOf(av)));
      }, opAvals),
    );
    const joined = joinBranches(fwdStaged);
    slots = bind(P.cond, [index!, ...joined.consts, ...ops], { branches: joined.branches });
  }
  const bwdStaged = splits.map((s, b) =>
    stageFlat(
      (...a) => {
        const own = a.slice(offsets[b]!, offsets[b]! + s.residuals.length);
        const c = a.slice(slotAvals.length);
        const outs = evalProgram(s.bwd(s.residuals), [...s.jcVals, ...own, ...c]) as Array[];
        return outs;
      },
      [...slotAvals, ...ctAvals],
    ),
  );
  const joined = joinBranches(bwdStaged);
  const r = bind(P.cond, [index!, ...joined.consts, ...slots, ...ctVals], { branches: joined.branches }) as Array[];
  let q = 0;
  return [null, ...diffIn.map((d) => (d ? r[q++]! : null))];
});

// ---- while -------------------------------------------------------------------------------------------

export const WHILE_REVERSE_MESSAGE =
  "Reverse-mode differentiation does not work for whileLoop (a loop with a dynamic trip count). " +
  "Use foriLoop with static bounds (which becomes a scan), or jvp for forward mode.";

defVjp(P.whileLoop, () => {
  throw new Error(WHILE_REVERSE_MESSAGE);
});

defJvp(P.whileLoop, (primals, tangents, params) => {
  const cond = params["cond"] as Program;
  const body = params["body"] as Program;
  const cN = params["condNumConsts"] as number;
  const bN = params["bodyNumConsts"] as number;
  const nK = primals.length - cN - bN;
  const cc = primals.slice(0, cN);
  const bc = primals.slice(cN, cN + bN);
  const carry = primals.slice(cN + bN);
  const tIn = primals.map((x, i) => (isFloat(x.dtype) ? (tangents[i] ?? null) : null));
  const bcT = range(0, bN).map((i) => tIn[cN + i] !== null);
  const carryT = range(0, nK).map((j) => tIn[cN + bN + j] !== null);
  const bodyAvals = body.inputs.map((v) => sa(v.aval));
  const carryAvals = bodyAvals.slice(bN);
  for (;;) {
    const grow = carryT.map(() => false);
    const inAvals = [...bodyAvals.slice(0, bN), ...bodyAvals.slice(0, bN).filter((_, i) => bcT[i]), ...carryAvals, ...carryAvals.filter((_, j) => carryT[j])];
    const bodyStaged = stageFlat(
      (...a) => {
        let o = 0;
        const consts = a.slice(o, (o += bN));
        const tConsts: Ct[] = bcT.map((m) => (m ? (a[o++] as Array) : null));
        const c = a.slice(o, (o += nK));
        const tC: Ct[] = carryT.map((m) => (m ? (a[o++] as Array) : null));
        const r = jvpProgram(body, [...consts, ...c], [...tConsts, ...tC]);
        const tOut: Array[] = [];
        for (let j = 0; j < nK; j++) {
          const t = r.tangents[j] ?? null;
          if (carryT[j]) tOut.push(fit(inst(t, carryAvals[j]!), carryAvals[j]!));
          else if (t !== null) grow[j] = true;
        }
        return [...r.outs, ...tOut];
      },
      inAvals,
      { name: `${body.name ?? "body"}_jvp` },
    );
    if (grow.some((g) => g)) {
      grow.forEach((g, j) => g && (carryT[j] = true));
      continue;
    }
    const condAvals = cond.inputs.map((v) => sa(v.aval));
    const condStaged = stageFlat(
      (...a) => evalProgram(cond, a.slice(0, cN + nK)),
      [...condAvals, ...carryAvals.filter((_, j) => carryT[j])],
      { name: cond.name ?? "cond" },
    );
    const tv = (i: number, av: ShapedArray): Array => tIn[i] ?? zerosOf(av);
    const tBc = range(0, bN).filter((i) => bcT[i]).map((i) => tIn[cN + i]!);
    const tCarry = range(0, nK).filter((j) => carryT[j]).map((j) => tv(cN + bN + j, carryAvals[j]!));
    const r = bind(
      P.whileLoop,
      [...condStaged.consts, ...cc, ...bodyStaged.consts, ...bc, ...tBc, ...carry, ...tCarry],
      {
        cond: condStaged.jaxpr as unknown as Program,
        body: bodyStaged.jaxpr as unknown as Program,
        condNumConsts: condStaged.consts.length + cN,
        bodyNumConsts: bodyStaged.consts.length + bN + tBc.length,
      },
    ) as Array[];
    let q = nK;
    return [r.slice(0, nK), carryT.map((t) => (t ? r[q++]! : null))];
  }
});
