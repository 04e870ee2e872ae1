/**
 * Which of a program's aliases (output j may reuse input i's buffer) a
 * backend can honour by writing the output *in place*, decided on the plan so
 * every backend agrees. Target independent.
 *
 * - "same": the output is the input itself (the ref was never written);
 * - "inplace": the step that produces the output may write into the input's
 *   buffer: no later step reads the input, and the producing step reads it
 *   only at the element it writes (an elementwise kernel, or the epilogue of
 *   a dot that does not read it otherwise), or is a
 *   dynamic_update_slice/scatter/scatter_add on it;
 * - "copy": compute into fresh storage, then copy into the donated buffer.
 */
import { Var, type Program } from "../program.js";
import type { Step } from "./plan.js";
import { loadsOnlyAtElement, stepInputs, stepOutputs } from "./epilogue.js";

export type AliasMode = "inplace" | "copy" | "same";

export interface AliasPlan {
  readonly input: number;
  readonly output: number;
  readonly mode: AliasMode;
  /** The output variable (null when the output is a literal). */
  readonly out: Var | null;
}

const stepReads = stepInputs;
const stepWrites = stepOutputs;

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
  // Every read of x must be at the element being written.
  if (ps.kind === "kernel") return !ps.reduce && loadsOnlyAtElement(ps, ps.inputs.indexOf(xv));
  const e = ps.eqn;
  // A dot with an epilogue: x read only by the epilogue, at its element, and y written by the epilogue.
  if (ps.epilogue)
    return !e.inputs.includes(xv) && e.outputs[0] !== y && loadsOnlyAtElement(ps.epilogue.kernel, ps.epilogue.kernel.inputs.indexOf(xv));
  const n = e.prim.name;
  return (
    (n === "dynamic_update_slice" || n === "scatter" || n === "scatter_add") &&
    e.inputs[0] === xv &&
    e.outputs[0] === y &&
    e.inputs.filter((a) => a === xv).length === 1
  );
}
