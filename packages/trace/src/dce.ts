/**
 * Dead-code elimination of pure programs (what jit compiles and lowers).
 *
 * An equation is dropped when none of its outputs is used; every pure
 * primitive is removable. Sub-programs are pruned too: a scan loses unused
 * ys and carries that nothing live depends on (and then the consts and xs its
 * body no longer reads), a cond loses unused outputs in every branch and
 * operands no branch reads, a while loop loses carries that neither its
 * predicate nor a live carry depends on, and a jit_call's program loses unused
 * outputs and inputs. The top-level signature (inputs, outputs, aliases) is
 * never changed. Effectful equations (which a discharged program has none of)
 * are kept.
 */
import { Var, type Aval, type Eqn, type Params, type Program } from "@refs/core";

/** DCE a whole program, keeping its inputs, outputs and aliases. */
export function dce<A extends Aval>(program: Program<A>): Program<A> {
  const { program: out } = dceProgram(program, program.outputs.map(() => true));
  return { ...program, eqns: out.eqns };
}

interface DceResult<A extends Aval> {
  /** The program with only the live outputs (inputs unchanged). */
  program: Program<A>;
  /** Which inputs the pruned program still reads. */
  usedInputs: boolean[];
}

/**
 * DCE `p` keeping only the outputs flagged in `liveOutputs`. The returned
 * program has all of `p`'s inputs but only the live outputs.
 */
export function dceProgram<A extends Aval>(p: Program<A>, liveOutputs: readonly boolean[]): DceResult<A> {
  const live = new Set<Var<A>>();
  const outputs = p.outputs.filter((_, i) => liveOutputs[i]);
  for (const o of outputs) if (o instanceof Var) live.add(o);
  const kept: Eqn<A>[] = [];
  for (let k = p.eqns.length - 1; k >= 0; k--) {
    const e = p.eqns[k]!;
    const used = e.outputs.map((v) => live.has(v));
    if (!e.prim.spec.effectful && !used.some((u) => u)) continue;
    const ne = e.prim.spec.effectful ? e : pruneEqn(e, used);
    for (const a of ne.inputs) if (a instanceof Var) live.add(a);
    kept.push(ne);
  }
  kept.reverse();
  const program: Program<A> = { ...p, eqns: kept, outputs };
  return { program, usedInputs: p.inputs.map((v) => live.has(v)) };
}

/** Rebuild a live equation so that it computes only what `used` asks for (never fewer outputs used). */
function pruneEqn<A extends Aval>(e: Eqn<A>, used: boolean[]): Eqn<A> {
  switch (e.prim.name) {
    case "scan":
      return pruneScan(e, used);
    case "cond":
      return pruneCond(e, used);
    case "while":
      return pruneWhile(e, used);
    case "jit_call":
      return pruneCall(e, used);
    default:
      return e;
  }
}

const pick = <T>(xs: readonly T[], keep: readonly boolean[]): T[] => xs.filter((_, i) => keep[i]);
const or = (a: readonly boolean[], b: readonly boolean[]): boolean[] => a.map((x, i) => x || b[i] === true);

function withProgram<A extends Aval>(p: Program<A>, inputs: readonly Var<A>[], rest: Program<A>): Program<A> {
  return { ...rest, inputs, aliases: [], ...(p.name !== undefined ? { name: p.name } : {}) };
}

function pruneCall<A extends Aval>(e: Eqn<A>, used: boolean[]): Eqn<A> {
  const program = e.params["program"] as unknown as Program<A>;
  const r = dceProgram(program, used);
  const body = withProgram(program, pick(program.inputs, r.usedInputs), r.program);
  return {
    prim: e.prim,
    params: { ...e.params, program: body as unknown as Program } as Params,
    inputs: pick(e.inputs, r.usedInputs),
    outputs: pick(e.outputs, used),
  };
}

function pruneCond<A extends Aval>(e: Eqn<A>, used: boolean[]): Eqn<A> {
  const branches = e.params["branches"] as unknown as readonly Program<A>[];
  const rs = branches.map((b) => dceProgram(b, used));
  const nOps = e.inputs.length - 1;
  let usedOps = new globalThis.Array<boolean>(nOps).fill(false);
  for (const r of rs) usedOps = or(usedOps, r.usedInputs);
  const newBranches = rs.map((r, k) => withProgram(branches[k]!, pick(branches[k]!.inputs, usedOps), r.program));
  return {
    prim: e.prim,
    params: { ...e.params, branches: newBranches as unknown as Program[] } as Params,
    inputs: [e.inputs[0]!, ...pick(e.inputs.slice(1), usedOps)],
    outputs: pick(e.outputs, used),
  };
}

function pruneScan<A extends Aval>(e: Eqn<A>, used: boolean[]): Eqn<A> {
  const body = e.params["body"] as unknown as Program<A>;
  const numConsts = e.params["numConsts"] as number;
  const numCarry = e.params["numCarry"] as number;
  // Fixpoint: a carry is live if used outside or if a live output reads it.
  let liveCarry = used.slice(0, numCarry);
  const liveYs = used.slice(numCarry);
  let r: DceResult<A>;
  for (;;) {
    r = dceProgram(body, [...liveCarry, ...liveYs]);
    const carryIn = r.usedInputs.slice(numConsts, numConsts + numCarry);
    const next = or(liveCarry, carryIn);
    if (next.every((x, i) => x === liveCarry[i])) break;
    liveCarry = next;
  }
  // Keep: consts and xs the body reads, live carries (input and output).
  const keepIn = body.inputs.map((_, i) =>
    i >= numConsts && i < numConsts + numCarry ? liveCarry[i - numConsts]! : r.usedInputs[i]!,
  );
  const newBody = withProgram(body, pick(body.inputs, keepIn), r.program);
  return {
    prim: e.prim,
    params: {
      ...e.params,
      body: newBody as unknown as Program,
      numConsts: keepIn.slice(0, numConsts).filter((x) => x).length,
      numCarry: liveCarry.filter((x) => x).length,
    } as Params,
    inputs: pick(e.inputs, keepIn),
    outputs: pick(e.outputs, [...liveCarry, ...liveYs]),
  };
}

function pruneWhile<A extends Aval>(e: Eqn<A>, used: boolean[]): Eqn<A> {
  const cond = e.params["cond"] as unknown as Program<A>;
  const body = e.params["body"] as unknown as Program<A>;
  const nc = e.params["condNumConsts"] as number;
  const nb = e.params["bodyNumConsts"] as number;
  const rc = dceProgram(cond, [true]);
  // Carries the predicate reads are live, and so is everything a live carry's update reads.
  let liveCarry = or(used, rc.usedInputs.slice(nc));
  let rb: DceResult<A>;
  for (;;) {
    rb = dceProgram(body, liveCarry);
    const next = or(liveCarry, rb.usedInputs.slice(nb));
    if (next.every((x, i) => x === liveCarry[i])) break;
    liveCarry = next;
  }
  const keepCondConsts = rc.usedInputs.slice(0, nc);
  const keepBodyConsts = rb.usedInputs.slice(0, nb);
  const newCond = withProgram(cond, pick(cond.inputs, [...keepCondConsts, ...liveCarry]), rc.program);
  const newBody = withProgram(body, pick(body.inputs, [...keepBodyConsts, ...liveCarry]), rb.program);
  return {
    prim: e.prim,
    params: {
      ...e.params,
      cond: newCond as unknown as Program,
      body: newBody as unknown as Program,
      condNumConsts: keepCondConsts.filter((x) => x).length,
      bodyNumConsts: keepBodyConsts.filter((x) => x).length,
    } as Params,
    inputs: pick(e.inputs, [...keepCondConsts, ...keepBodyConsts, ...liveCarry]),
    outputs: pick(e.outputs, liveCarry),
  };
}
