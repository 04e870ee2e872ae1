/**
 * `vmap`: stage the function on per-example avals, discharge its ref effects,
 * then interpret the pure program with per-primitive batching rules
 * (`batchProgram`), binding ordinary primitives — so vmap nests with itself,
 * jit and grad by staging, like every other transform here.
 *
 * Batching rules are registered on the primitive objects under "batch"
 * (`prim.rules.set("batch", rule)`, see rules/batch/). A rule has the shape
 *
 *     (args, dims, params, axisSize) => [outs, outDims]
 *
 * where `dims[i]` is the batch axis of `args[i]` (null: not batched; at
 * least one is non-null when a rule is called) and `outDims[j]` the batch
 * axis of `outs[j]`. `axisSize` is the size of the mapped axis.
 *
 * Refs: a ref argument is, after discharge, a value input batched along its
 * in-axis plus a final-value output; that final value is written back into
 * the ref with the batch axis moved back to where it was (`ref.set` at the
 * caller's level). A ref that is not batched (closed over, or passed with
 * in-axis null) must not receive a batched value.
 */
import { Array, Literal, Ref, RefType, ShapedArray, bind, tree, type Atom, type Aval, type Params, type Primitive, type Program, type Value, type Var } from "@refs/core";
import { dischargeJaxpr } from "./discharge.js";
import { ValueError, describeFn, fnInfo, transformSite, type FnInfo } from "./errors.js";
import { literalArray } from "./eval.js";
import { flattenArgs, stageCall } from "./jit.js";
import { stageFlat, type Jaxpr } from "./staging.js";
import { broadcastBatch, moveBdim } from "./rules/batch/util.js";

/** A batch axis, or null for an unbatched value. */
export type BDim = number | null;

/** See the file comment. */
export type BatchRule = (args: Array[], dims: BDim[], params: Params, axisSize: number) => [Array[], BDim[]];

export function defBatch(p: Primitive<any>, rule: BatchRule): void {
  p.rules.set("batch", rule);
}

export type AxisSpec = number | null | readonly AxisSpec[] | { readonly [k: string]: AxisSpec };

export interface VmapOptions {
  /**
   * Batch axis per positional argument: a number (every argument), null (none),
   * or an array with one entry per argument, each a number, null, or a pytree
   * prefix of that argument with numbers/nulls at its leaves. Negative axes count
   * from the end. Default 0.
   */
  inAxes?: AxisSpec;
  /** Where the batch axis goes in each output (same forms, for the output tree). Default 0. */
  outAxes?: AxisSpec;
  /** The size of the mapped axis; required when no argument is batched. */
  axisSize?: number;
}

// ---- the interpreter ---------------------------------------------------------------

/**
 * Evaluate the pure program `p` on `args`, where `args[i]` is batched along
 * `inDims[i]` (null: unbatched). Binds primitives, so it runs eagerly at the
 * top level and stages inside another transformation.
 */
export function batchProgram(
  p: Program<Aval>,
  args: readonly Value[],
  inDims: readonly BDim[],
  axisSize?: number,
): { outs: Value[]; outDims: BDim[] } {
  if (args.length !== p.inputs.length || inDims.length !== p.inputs.length)
    throw new Error(`internal error: batchProgram of ${p.name ?? "program"} takes ${p.inputs.length} inputs, got ${args.length}`);
  let size = axisSize;
  if (size === undefined)
    inDims.forEach((d, i) => {
      if (d !== null && size === undefined) size = (args[i] as Array).shape[d]!;
    });
  const env = new Map<Var<Aval>, [Value, BDim]>();
  const read = (a: Atom<Aval>): [Value, BDim] => {
    if (a instanceof Literal) return [literalArray(a), null];
    const v = env.get(a);
    if (!v) throw new Error(`internal error: variable ${a.id} read before it was written in batchProgram`);
    return v;
  };
  p.inputs.forEach((v, i) => env.set(v, [args[i]!, inDims[i]!]));
  for (const e of p.eqns) {
    const ins = e.inputs.map(read);
    const vals = ins.map(([x]) => x);
    const dims = ins.map(([, d]) => d);
    if (dims.every((d) => d === null)) {
      const outs = bind(e.prim, vals, e.params);
      e.outputs.forEach((v, i) => env.set(v, [outs[i]!, null]));
      continue;
    }
    if (e.prim.spec.effectful) throw new Error(`internal error: vmap met the effect ${e.prim.name} after discharge`);
    const rule = e.prim.rules.get("batch") as BatchRule | undefined;
    if (!rule) throw new Error(`vmap: batching of ${e.prim.name} is not implemented`);
    const [outs, outDims] = rule(vals as Array[], dims, e.params, size!);
    e.outputs.forEach((v, i) => env.set(v, [outs[i]!, outDims[i] ?? null]));
  }
  const res = p.outputs.map(read);
  return { outs: res.map(([x]) => x), outDims: res.map(([, d]) => d) };
}

/** The aval of a value batched along `d` with the batch axis inserted at `d`. */
export function batchedAval(a: ShapedArray, d: BDim, size: number): ShapedArray {
  if (d === null) return a;
  const s = [...a.shape];
  s.splice(d, 0, size);
  return new ShapedArray(s, a.dtype, a.weakType);
}

export interface BatchedSub {
  /** The batched sub-program: inputs are `consts` (new constants), then the original inputs. */
  readonly program: Program;
  readonly consts: readonly Value[];
  readonly outDims: BDim[];
}

/**
 * Batch a pure sub-program (a body or branch) by staging `batchProgram` on it.
 * Inputs batched along `inDims` (canonical: 0) are given the avals of the
 * per-step inputs with the batch axis inserted. `fixOuts` may move or force
 * the batch axes of the outputs (e.g. to 0, or broadcast) and returns their dims.
 */
export function batchSubprogram(
  p: Program<Aval>,
  inDims: readonly BDim[],
  axisSize: number,
  fixOuts?: (outs: Array[], dims: BDim[]) => [Array[], BDim[]],
  name?: string,
): BatchedSub {
  let outDims: BDim[] = [];
  const inAvals = p.inputs.map((v, i) => batchedAval(v.aval as ShapedArray, inDims[i]!, axisSize));
  const staged = stageFlat(
    (...ins) => {
      const r = batchProgram(p, ins, inDims, axisSize);
      let outs = r.outs as Array[];
      let dims = r.outDims;
      if (fixOuts) [outs, dims] = fixOuts(outs, dims);
      outDims = dims;
      return outs;
    },
    inAvals,
    { name: name ?? p.name ?? "vmap_body" },
  );
  return { program: staged.jaxpr as Program, consts: staged.consts, outDims };
}

/** Output dims of batching `p` with `inDims`, found by a throwaway staging. */
export function probeOutDims(p: Program<Aval>, inDims: readonly BDim[], axisSize: number): BDim[] {
  return batchSubprogram(p, inDims, axisSize).outDims;
}

// ---- the user API ---------------------------------------------------------------

/** `vmap(fn, {inAxes, outAxes, axisSize})`: `fn` mapped over an axis of its arguments. */
export function vmap<F extends (...args: any[]) => any>(fn: F, opts: VmapOptions = {}): (...args: any[]) => any {
  const info = fnInfo(fn, transformSite());
  const inAxes = opts.inAxes === undefined ? 0 : opts.inAxes;
  const outAxes = opts.outAxes === undefined ? 0 : opts.outAxes;
  if (opts.axisSize !== undefined && !(Number.isInteger(opts.axisSize) && opts.axisSize >= 0))
    throw new TypeError(`vmap: axisSize must be a non-negative integer, got ${String(opts.axisSize)}`);
  const mapped = (...args: unknown[]): unknown => {
    const flat = flattenArgs(info, args, new Set(), "vmap");
    const axesPerLeaf = inDimsFor(info, inAxes, args);
    // Normalise negative axes, check ranks and sizes.
    let size: number | undefined = opts.axisSize;
    let sizeFrom: string | undefined = opts.axisSize !== undefined ? "axisSize" : undefined;
    let sizeAxis = 0;
    const dims: BDim[] = flat.leaves.map((leaf, k) => {
      const d0 = axesPerLeaf[k]!;
      if (d0 === null) return null;
      const shape = leaf.aval.shape;
      const nd = shape.length;
      if (!Number.isInteger(d0)) throw new TypeError(`vmap: in_axes entries must be integers or null, got ${String(d0)} for ${flat.paths[k]}`);
      if (d0 < -nd || d0 >= nd)
        throw new RangeError(
          `vmap was requested to map its argument along axis ${d0}, which implies that its rank should be at least ${d0 < 0 ? -d0 : d0 + 1}, ` +
            `but is only ${nd} (its shape is (${shape.join(", ")}${nd === 1 ? "," : ""})): argument ${flat.paths[k]} of ${describeFn(info)}`,
        );
      const d = d0 < 0 ? d0 + nd : d0;
      const n = shape[d]!;
      if (size === undefined) {
        size = n;
        sizeFrom = flat.paths[k]!;
        sizeAxis = d;
      } else if (n !== size) {
        const first = sizeFrom === "axisSize" ? `axisSize is ${size}` : `${sizeFrom} has size ${size} along axis ${sizeAxis}`;
        throw new ValueError(`vmap got inconsistent sizes for the mapped axis: ${first} but ${flat.paths[k]} has size ${n} along axis ${d}`);
      }
      return d;
    });
    if (size === undefined)
      throw new ValueError(
        `vmap must have at least one non-null value in inAxes (or be given axisSize): no argument of ${describeFn(info)} is mapped`,
      );
    const B = size;
    // Per-example avals: the batch axis removed.
    const inAvals: Aval[] = flat.leaves.map((leaf, k) => {
      const d = dims[k]!;
      if (d === null) return leaf.aval;
      const inner = leaf instanceof Ref ? leaf.aval.inner : (leaf.aval as ShapedArray);
      const a = new ShapedArray(inner.shape.filter((_, i) => i !== d), inner.dtype, inner.weakType);
      return leaf instanceof Ref ? new RefType(a) : a;
    });
    const { staged, outTree } = stageCall(fn, info, flat, { inAvals }, "vmap");
    const d = dischargeJaxpr(staged.jaxpr, info.name);
    const leafInputs: Value[] = [...staged.consts, ...flat.leaves];
    const leafDims: BDim[] = [...staged.consts.map(() => null), ...dims];
    const inputs: Value[] = [...d.consts];
    const programDims: BDim[] = d.consts.map(() => null);
    leafInputs.forEach((v, i) => {
      inputs.push(v instanceof Ref ? v.get() : v);
      programDims.push(leafDims[i]!);
    });
    const r = batchProgram(d.program, inputs, programDims, B);
    const nOut = staged.jaxpr.outputs.length;
    // Write ref results back (all checked before any is written).
    const writes: [Ref, Array][] = [];
    d.refInputs.forEach((inp, k) => {
      const ref = leafInputs[inp] as Ref;
      const out = nOut + k;
      // Never written: nothing to do.
      if (d.program.outputs[out] === d.program.inputs[d.consts.length + inp]) return;
      let value = r.outs[out] as Array;
      const od = r.outDims[out]!;
      const rd = leafDims[inp]!;
      if (rd === null) {
        if (od !== null)
          throw new Error(
            `performing a set/swap operation with vmapped value on an unbatched array reference of type ${ref.aval.str()}. ` +
              `Move the array reference to be an argument to the vmapped function?`,
          );
      } else value = od === null ? moveBdim(broadcastBatch(value, B), 0, rd) : moveBdim(value, od, rd);
      writes.push([ref, value]);
    });
    // Outputs: move batch axes to outAxes.
    const outLeaves = r.outs.slice(0, nOut) as Array[];
    const outD = r.outDims.slice(0, nOut);
    const example = tree.unflatten(outTree, outLeaves);
    const want = prefixLeaves(outAxes, example, "outAxes", "vmap out_axes", "the output");
    const final = outLeaves.map((x, i) => {
      const od = outD[i]!;
      const w = want[i]!;
      if (w === null) {
        if (od !== null)
          throw new ValueError(
            `vmap has mapped output but outAxes is null for output ${i} (${x.aval.str()}) of ${describeFn(info)}; give it an axis`,
          );
        return x;
      }
      const nd = x.ndim + (od === null ? 1 : 0);
      if (!Number.isInteger(w) || w < -nd || w >= nd)
        throw new RangeError(`vmap: outAxes entry ${w} is out of range for output ${i} of ${describeFn(info)} of rank ${nd} (with the mapped axis)`);
      const to = w < 0 ? w + nd : w;
      return od === null ? moveBdim(broadcastBatch(x, B), 0, to) : moveBdim(x, od, to);
    });
    for (const [ref, value] of writes) ref.set(value);
    return tree.unflatten(outTree, final);
  };
  Object.defineProperty(mapped, "name", { value: `vmap_${info.name}` });
  return mapped;
}


const isAxisLeaf = (x: unknown) => x === null || typeof x === "number";

/** Per-leaf in-axes for the flattened arguments (same order as flattenArgs). */
function inDimsFor(info: FnInfo, inAxes: AxisSpec, args: unknown[]): (number | null)[] {
  if (inAxes === null || typeof inAxes === "number") return tree.leaves(args).map(() => inAxes);
  if (!globalThis.Array.isArray(inAxes))
    throw new TypeError(
      `vmap in_axes must be an int, null, or an array of entries corresponding to the positional arguments passed to the function, got an object (for ${describeFn(info)})`,
    );
  if (inAxes.length !== args.length)
    throw new ValueError(
      `vmap in_axes must be an int, null, or an array of entries corresponding to the positional arguments passed to the function, ` +
        `but got inAxes.length=${inAxes.length}, args.length=${args.length} (calling ${describeFn(info)})`,
    );
  const out: (number | null)[] = [];
  args.forEach((a, i) => out.push(...prefixLeaves(inAxes[i] as AxisSpec, a, "inAxes", `vmap in_axes[${i}]`, `argument ${i}`)));
  return out;
}

/** Broadcast an axis spec (a prefix of `value`'s tree) to `value`'s leaves. */
function prefixLeaves(spec: AxisSpec, value: unknown, what: string, label: string, target: string): (number | null)[] {
  const n = (x: unknown) => tree.leaves(x).length;
  if (spec === null || typeof spec === "number") return new globalThis.Array<number | null>(n(value)).fill(spec);
  const [specLeaves, specDef] = tree.flatten(spec, isAxisLeaf);
  let subtrees: unknown[];
  try {
    subtrees = specDef.flattenUpTo(value);
  } catch (e) {
    throw new ValueError(`${label} specification must be a tree prefix of ${target}: ${(e as Error).message}`);
  }
  const out: (number | null)[] = [];
  subtrees.forEach((s, i) => {
    const ax = specLeaves[i];
    if (ax !== null && typeof ax !== "number") throw new TypeError(`vmap: ${what} leaves must be numbers or null, got ${typeof ax}`);
    for (let k = n(s); k > 0; k--) out.push(ax as number | null);
  });
  return out;
}

export type { Jaxpr };
