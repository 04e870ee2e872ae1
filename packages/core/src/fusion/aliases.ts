/**
 * Which of a program's aliases (output j may reuse input i's buffer) a
 * backend can honour by writing the output *in place*, decided on the plan so
 * every backend agrees. Target independent.
 *
 * - "same": the output is the input itself (the ref was never written);
 * - "inplace": the step that produces the output may write into the input's
 *   buffer: no later step reads the input, and the producing step reads it
 *   only at the element it writes (an elementwise kernel), or is a
 *   dynamic_update_slice/scatter/scatter_add on it;
 * - "copy": compute into fresh storage, then copy into the donated buffer.
 */
import { Var, type Program } from "../program.js";
import type { Exp } from "./ir.js";
import type { Step } from "./plan.js";

export type AliasMode = "inplace" | "copy" | "same";

export interface AliasPlan {
  readonly input: number;
  readonly output: number;
  readonly mode: AliasMode;
  /** The output variable (null when the output is a literal). */
  readonly out: Var | null;
}

const stepReads = (s: Step): readonly unknown[] => (s.kind === "kernel" ? s.inputs : s.eqn.inputs);
const stepWrites = (s: Step): readonly Var[] =>
  s.kind === "kernel" ? [...s.outputs.map((o) => o.v), ...(s.reduce ? [s.reduce.out] : [])] : s.eqn.outputs;

/** Plan every alias of `p` against the steps a backend runs (in order). */
export function planAliases(p: Program, steps: readonly Step[]): AliasPlan[] {
  const out: AliasPlan[] = [];
  const used = new Set<number>();
  for (const al of p.aliases) {
    const xv = p.inputs[al.input];
    const y = p.outputs[al.output];
    if (!xv || !y || used.has(al.input)) continue;
    if (y.aval.dtype !== xv.aval.dtype || y.aval.size !== xv.aval.size) continue;
    used.add(al.input);
    let mode: AliasMode = "copy";
    if (y === xv) mode = "same";
    else if (y instanceof Var && !p.inputs.includes(y) && safeInPlace(p, steps, xv, y)) mode = "inplace";
    out.push({ input: al.input, output: al.output, mode, out: y instanceof Var ? y : null });
  }
  return out;
}

function safeInPlace(p: Program, steps: readonly Step[], xv: Var, y: Var): boolean {
  if (p.outputs.filter((o) => o === y).length !== 1) return false;
  if (p.outputs.includes(xv)) return false;
  if (p.inputs.filter((v) => v === xv).length !== 1) return false;
  const si = steps.findIndex((s) => stepWrites(s).includes(y));
  if (si < 0) return false;
  for (let i = si + 1; i < steps.length; i++) if (stepReads(steps[i]!).includes(xv)) return false;
  const ps = steps[si]!;
  if (!stepReads(ps).includes(xv)) return true;
  if (ps.kind === "kernel") {
    if (ps.reduce) return false;
    const k = ps.inputs.indexOf(xv);
    // Every read of x must be at the element being written.
    const ok = (e: Exp): boolean => {
      if (e.k === "load") return (e.input !== k || (e.index.k === "var" && e.index.name === "i")) && ok(e.index);
      if (e.k === "op") return e.args.every(ok);
      return true;
    };
    return ps.outputs.every((o) => ok(o.exp));
  }
  const e = ps.eqn;
  const n = e.prim.name;
  return (
    (n === "dynamic_update_slice" || n === "scatter" || n === "scatter_add") &&
    e.inputs[0] === xv &&
    e.outputs[0] === y &&
    e.inputs.filter((a) => a === xv).length === 1
  );
}
