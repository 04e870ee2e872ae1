/**
 * `grad`, `valueAndGrad`, `vjp`, `jvp`: stage the function, discharge its ref
 * effects, then differentiate the pure program (ad.ts).
 *
 * Refs passed in or closed over are *plumbing*: they are read and written in
 * the forward pass, once per call, and their updates are written back at the
 * level of the caller. Writing a differentiated value into one is an error
 * (wrap it in `stopGradient`, as BatchNorm does for its running statistics).
 */
import { Array, Ref, isFloat, np, tree, type Value } from "@refs/core";
import { vjpProgram, jvpProgram, type Ct } from "./ad.js";
import { dischargeJaxpr } from "./discharge.js";
import { describeFn, fnInfo, transformSite, type FnInfo } from "./errors.js";
import { flattenArgs, stageCall } from "./jit.js";

export interface GradOptions {
  /** Which positional arguments to differentiate (default 0). */
  argnums?: number | readonly number[];
  /** The function returns `[value, aux]`; aux is returned alongside, not differentiated. */
  hasAux?: boolean;
  /** Allow integer leaves among the differentiated arguments (their gradients are zeros). */
  allowInt?: boolean;
}

const normArgnums = (a: number | readonly number[] | undefined) => (a === undefined ? [0] : typeof a === "number" ? [a] : [...a]);

interface Prepared {
  info: FnInfo;
  leaves: Value[];
  /** Leaf ranges of each argument. */
  argLeafRanges: [number, number][];
  program: import("@refs/core").Program;
  inputs: Value[];
  /** For each input of the program, whether it is differentiated. */
  diff: boolean[];
  /** Program input index → leaf index (or -1 for constants). */
  nConstInputs: number;
  refs: { ref: Ref; output: number }[];
  outTree: tree.TreeDef;
  nOut: number;
}

function prepare(fn: Function, info: FnInfo, args: unknown[], argnums: number[], transform: string, allowInt: boolean): Prepared {
  for (const i of argnums) {
    if (i < 0 || i >= args.length)
      throw new RangeError(`${transform}: argnums ${i} is out of range for ${describeFn(info)} called with ${args.length} arguments`);
    const [lv] = tree.flattenWithPath(args[i]);
    for (const [path, l] of lv)
      if (l instanceof Ref)
        throw new TypeError(
          `${transform} cannot differentiate with respect to a Ref-typed argument: ${tree.keystr(path, argLabel(info, i))} is ${l.aval.str()}. ` +
            `Pass its value instead (ref.get() or freeze(ref)), or move it out of argnums to use it as plumbing.`,
        );
  }
  const flat = flattenArgs(info, args, new Set(), transform);
  // Leaf ranges per argument, from flattening each argument on its own.
  const argLeafRanges: [number, number][] = [];
  let off = 0;
  for (const a of args) {
    const n = tree.leaves(a).length;
    argLeafRanges.push([off, off + n]);
    off += n;
  }
  const { staged, outTree } = stageCall(fn, info, flat, {}, transform);
  const d = dischargeJaxpr(staged.jaxpr, info.name);
  const leafInputs: Value[] = [...staged.consts, ...flat.leaves];
  const inputs: Value[] = [...d.consts];
  for (const v of leafInputs) inputs.push(v instanceof Ref ? v.get() : v);
  const nConstInputs = d.consts.length + staged.consts.length;
  const diff = inputs.map(() => false);
  for (const i of argnums) {
    const [a, b] = argLeafRanges[i]!;
    for (let k = a; k < b; k++) {
      const leaf = flat.leaves[k]!;
      if (!isFloat(leaf.dtype) && !allowInt)
        throw new TypeError(
          `${transform} requires real-valued inputs (a floating dtype), but ${flat.paths[k]} is ${leaf.aval.str()}; ` +
            `cast it with .astype("float32") or pass allowInt: true`,
        );
      diff[nConstInputs + k] = true;
    }
  }
  const nOut = staged.jaxpr.outputs.length;
  const refs = d.refInputs.map((inp, k) => ({ ref: leafInputs[inp] as Ref, output: nOut + k }));
  return { info, leaves: flat.leaves, argLeafRanges, program: d.program, inputs, diff, nConstInputs, refs, outTree, nOut };
}

function argLabel(info: FnInfo, i: number): string {
  return info.params[i] ?? `args[${i}]`;
}

/** Write plumbing refs' final values back, refusing differentiated values. */
function writeBack(p: Prepared, outs: Value[], isActive: (i: number) => boolean, transform: string): void {
  for (const { ref, output } of p.refs) {
    if (isActive(output))
      throw new Error(
        `performing a set/swap operation with a differentiated value on a non-differentiated array reference of type ${ref.aval.str()}. ` +
          `Move the array reference to be an argument of the differentiated function?` +
          ` (in ${describeFn(p.info)} under ${transform}; wrap the value in stopGradient if no derivative should flow into the ref)`,
      );
    ref.set(outs[output] as Array);
  }
}

function gradsFor(p: Prepared, cts: Ct[], args: unknown[], argnums: number[]): unknown[] {
  return argnums.map((i) => {
    const [a, b] = p.argLeafRanges[i]!;
    const leaves: Array[] = [];
    for (let k = a; k < b; k++) {
      const ct = cts[p.nConstInputs + k] ?? null;
      const leaf = p.leaves[k] as Array;
      leaves.push(ct ?? np.zerosLike(leaf));
    }
    return tree.unflatten(tree.structure(args[i]), leaves);
  });
}

/** `valueAndGrad(f)(...args)` → `[value, grads]` (`[[value, aux], grads]` with hasAux). */
export function valueAndGrad<F extends (...args: any[]) => any>(fn: F, opts: GradOptions = {}): (...args: Parameters<F>) => [any, any] {
  const info = fnInfo(fn, transformSite());
  const argnums = normArgnums(opts.argnums);
  const single = typeof opts.argnums === "number" || opts.argnums === undefined;
  return (...args: unknown[]) => {
    const p = prepare(fn, info, args, argnums, "grad", opts.allowInt === true);
    const r = vjpProgram(p.program, p.inputs, p.diff);
    const outTreeVal = tree.unflatten(p.outTree, r.outs.slice(0, p.nOut));
    const [value, aux] = opts.hasAux ? (outTreeVal as [unknown, unknown]) : [outTreeVal, undefined];
    if (!(value instanceof Array) || value.ndim !== 0 || !isFloat(value.dtype))
      throw new TypeError(
        `grad requires a real scalar output from ${describeFn(info)}, got ${value instanceof Array ? value.aval.str() : typeof value}` +
          (opts.hasAux ? "" : " (if it returns [value, aux], pass hasAux: true)"),
      );
    writeBack(p, r.outs, r.isActive, "grad");
    // The value is the first output leaf.
    const cts: Ct[] = r.outs.map(() => null);
    cts[0] = np.onesLike(value);
    const grads = gradsFor(p, r.backward(cts), args, argnums);
    const g = single ? grads[0] : grads;
    return [opts.hasAux ? [value, aux] : value, g];
  };
}

/** `grad(f)(...args)` → gradient of the scalar output w.r.t. `argnums` (`[grads, aux]` with hasAux). */
export function grad<F extends (...args: any[]) => any>(fn: F, opts: GradOptions = {}): (...args: Parameters<F>) => any {
  const vg = valueAndGrad(fn, opts);
  return (...args: Parameters<F>) => {
    const [v, g] = vg(...args);
    return opts.hasAux ? [g, (v as [unknown, unknown])[1]] : g;
  };
}

/**
 * `vjp(f, ...primals)` → `[out, vjpFn]`; `vjpFn(ct)` returns the cotangents
 * of every primal argument (as an array, one per argument).
 */
export function vjp<F extends (...args: any[]) => any>(fn: F, ...primals: Parameters<F>): [ReturnType<F>, (ct: unknown) => unknown[]] {
  const info = fnInfo(fn, transformSite());
  const argnums = primals.map((_, i) => i);
  const p = prepare(fn, info, primals, argnums, "vjp", false);
  const r = vjpProgram(p.program, p.inputs, p.diff);
  writeBack(p, r.outs, r.isActive, "vjp");
  const out = tree.unflatten(p.outTree, r.outs.slice(0, p.nOut)) as ReturnType<F>;
  const vjpFn = (ct: unknown): unknown[] => {
    const ctLeaves = tree.leaves(ct) as Ct[];
    if (ctLeaves.length !== p.nOut)
      throw new TypeError(`vjp: expected cotangents for ${p.nOut} outputs of ${describeFn(info)}, got ${ctLeaves.length}`);
    const cts: Ct[] = r.outs.map(() => null);
    ctLeaves.forEach((c, i) => (cts[i] = c instanceof Array ? c : c === null ? null : np.asarray(c as number)));
    return gradsFor(p, r.backward(cts), primals, argnums);
  };
  return [out, vjpFn];
}

/** `jvp(f, primals, tangents)` → `[out, tangentOut]`. */
export function jvp<F extends (...args: any[]) => any>(fn: F, primals: Parameters<F>, tangents: unknown[]): [ReturnType<F>, any] {
  const info = fnInfo(fn, transformSite());
  if (tangents.length !== primals.length)
    throw new TypeError(`jvp: got ${primals.length} primals but ${tangents.length} tangents for ${describeFn(info)}`);
  const argnums = primals.map((_, i) => i);
  const p = prepare(fn, info, primals, argnums, "jvp", true);
  const tIn: Ct[] = p.inputs.map(() => null);
  tangents.forEach((t, i) => {
    const [a, b] = p.argLeafRanges[i]!;
    const tl = tree.leaves(t);
    if (tl.length !== b - a) throw new TypeError(`jvp: the tangent for argument ${i} has ${tl.length} leaves, the primal ${b - a}`);
    tl.forEach((l, k) => {
      const primal = p.leaves[a + k] as Array;
      const ta = l instanceof Array ? l : np.asarray(l as number);
      if (ta.dtype !== primal.dtype && isFloat(primal.dtype) && !(ta.weakType && isFloat(ta.dtype)))
        throw new TypeError(`jvp: tangent dtype ${ta.dtype} does not match primal dtype ${primal.dtype} at argument ${i}`);
      tIn[p.nConstInputs + a + k] = ta;
    });
  });
  const r = jvpProgram(p.program, p.inputs, tIn);
  for (const { ref, output } of p.refs) ref.set(r.outs[output] as Array);
  const out = tree.unflatten(p.outTree, r.outs.slice(0, p.nOut)) as ReturnType<F>;
  const tOut = tree.unflatten(
    p.outTree,
    r.tangents.slice(0, p.nOut).map((t, i) => t ?? np.zerosLike(r.outs[i] as Array)),
  );
  return [out, tOut];
}
