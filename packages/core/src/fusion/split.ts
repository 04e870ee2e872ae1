/**
 * Fitting fused kernels to a target's binding limit. A kernel binds one
 * buffer per input and per materialised output; WebGPU caps storage buffers
 * per shader stage (8 to 16 on many adapters), and a long fused chain whose
 * intermediates are kept for the backward pass (a forward Dropout + gelu
 * under `grad`) easily needs more. Such a kernel is cut, in program order,
 * into as few consecutive segments as fit: a segment's inputs are the values
 * it reads from outside it, its outputs the values something after it (or
 * outside the kernel) still reads. Each segment is planned again on its own,
 * so it fuses exactly as the planner would fuse it. Target independent.
 */
import { Var, makeProgram, type Eqn } from "../program.js";
import { planProgram, type Kernel, type Step } from "./plan.js";

/** Buffers a step binds: inputs + outputs (+ the reduction result). */
export function kernelBindings(k: Kernel): number {
  return k.inputs.length + k.outputs.length + (k.reduce ? 1 : 0);
}

/** Values read by `seg` that it does not produce. */
function segmentInputs(seg: readonly Eqn[]): Var[] {
  const made = new Set<Var>();
  const ins = new Set<Var>();
  for (const e of seg) {
    for (const a of e.inputs) if (a instanceof Var && !made.has(a)) ins.add(a);
    for (const v of e.outputs) made.add(v);
  }
  return [...ins];
}

/** Values produced by `seg` that are read after it (by `rest`) or outside the kernel (`outside`). */
function segmentOutputs(seg: readonly Eqn[], rest: readonly Eqn[], outside: ReadonlySet<Var>): Var[] {
  const later = new Set<Var>();
  for (const e of rest) for (const a of e.inputs) if (a instanceof Var) later.add(a);
  const outs: Var[] = [];
  for (const e of seg) for (const v of e.outputs) if (outside.has(v) || later.has(v)) outs.push(v);
  return outs;
}

/**
 * `step` itself when it binds at most `limit` buffers; otherwise the fewest
 * consecutive segments of its equations that fit (a single equation that
 * alone needs more stays as it is: nothing smaller exists).
 */
export function fitBindings(step: Step, limit: number): Step[] {
  if (step.kind !== "kernel" || kernelBindings(step) <= limit) return [step];
  const eqns = step.eqns;
  const outside = new Set<Var>(step.outputs.map((o) => o.v));
  if (step.reduce) outside.add(step.reduce.out);
  const cost = (seg: readonly Eqn[], end: number): number =>
    segmentInputs(seg).length + segmentOutputs(seg, eqns.slice(end), outside).length;

  const segments: Eqn[][] = [];
  let cur: Eqn[] = [];
  eqns.forEach((e, n) => {
    const cand = [...cur, e];
    if (cur.length > 0 && cost(cand, n + 1) > limit) {
      segments.push(cur);
      cur = [e];
    } else cur = cand;
  });
  segments.push(cur);

  // Our count and the planner's can differ (it may materialise a value we
  // did not): if no cut was found, fall back to one kernel per equation.
  if (segments.length === 1) segments.splice(0, 1, ...eqns.map((e) => [e]));
  let at = 0;
  return segments.flatMap((seg) => {
    at += seg.length;
    const p = makeProgram(segmentInputs(seg), seg, segmentOutputs(seg, eqns.slice(at), outside));
    return planProgram(p).steps.flatMap((s) => (s.kind === "kernel" && s.eqns.length < eqns.length ? fitBindings(s, limit) : [s]));
  });
}
