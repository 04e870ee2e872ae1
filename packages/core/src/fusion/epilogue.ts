/**
 * Epilogue fusion: a plan pass that attaches to a dot_general routine the
 * elementwise kernel consuming its result (bias add through a broadcast,
 * relu/gelu, an optimizer update...), so a backend computes both in one step
 * and the dot result need not round-trip through memory.
 *
 * Legal when the kernel is the first step after the dot that reads its
 * result, is not a reduction, loops over exactly the dot's output elements,
 * and loads the dot result only at its own element ("i"). The fused step
 * takes the kernel's place in the plan (every other input of the kernel is
 * ready there; the dot's operands still are). When the raw result is still
 * used later, or is a program output, the fused step writes it too.
 *
 * Target independent and opt-in: a backend calls it on the plans it wants
 * fused (the CPU backend does not).
 */
import { Var, type Program } from "../program.js";
import type { Exp } from "./ir.js";
import type { Kernel, Plan, Step } from "./plan.js";

export interface EpilogueOptions {
  /** The most buffers one fused step may bind: two operands, the kernel's other inputs, its outputs and the dot result if kept. */
  readonly maxBuffers?: number;
}

/** Vars a step reads. */
export function stepInputs(s: Step): Var[] {
  if (s.kind === "kernel") return [...s.inputs];
  const ins = s.eqn.inputs.filter((a): a is Var => a instanceof Var);
  if (s.epilogue) ins.push(...s.epilogue.kernel.inputs.filter((_, j) => j !== s.epilogue!.dotInput));
  return ins;
}

/** Vars a step writes. */
export function stepOutputs(s: Step): Var[] {
  if (s.kind === "kernel") return [...s.outputs.map((o) => o.v), ...(s.reduce ? [s.reduce.out] : [])];
  if (!s.epilogue) return [...s.eqn.outputs];
  return [...(s.epilogue.writeDot ? s.eqn.outputs : []), ...s.epilogue.kernel.outputs.map((o) => o.v)];
}

/** Every load of kernel input `input` is at the loop variable itself. */
export function loadsOnlyAtElement(k: Kernel, input: number): boolean {
  const ok = (e: Exp): boolean => {
    if (e.k === "load") return (e.input !== input || (e.index.k === "var" && e.index.name === "i")) && ok(e.index);
    if (e.k === "op") return e.args.every(ok);
    return true;
  };
  return k.outputs.every((o) => ok(o.exp));
}

export function fuseDotEpilogues(p: Program, plan: Plan, opts: EpilogueOptions = {}): Plan {
  const max = opts.maxBuffers ?? Infinity;
  const steps: (Step | null)[] = [...plan.steps];
  const isOutput = new Set(p.outputs.filter((o): o is Var => o instanceof Var));
  for (let si = 0; si < steps.length; si++) {
    const st = steps[si];
    if (!st || st.kind !== "routine" || st.eqn.prim.name !== "dot_general" || st.epilogue) continue;
    const d = st.eqn.outputs[0]!;
    const ki = steps.findIndex((s, j) => j > si && s !== null && stepInputs(s).includes(d));
    const k = ki < 0 ? undefined : steps[ki];
    if (!k || k.kind !== "kernel" || k.reduce || k.size !== d.aval.size) continue;
    const dotInput = k.inputs.indexOf(d);
    if (!loadsOnlyAtElement(k, dotInput)) continue;
    const writeDot = isOutput.has(d) || steps.some((s, j) => j > ki && s !== null && stepInputs(s).includes(d));
    if (2 + (k.inputs.length - 1) + k.outputs.length + (writeDot ? 1 : 0) > max) continue;
    steps[ki] = { kind: "routine", eqn: st.eqn, epilogue: { kernel: k, dotInput, writeDot } };
    steps[si] = null;
  }
  return { steps: steps.filter((s): s is Step => s !== null) };
}
