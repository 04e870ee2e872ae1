/**
 * `jit`: stage a function once per argument signature, discharge its ref
 * effects, compile the pure program on the backend and run it as a whole.
 *
 * Ref arguments and refs the function closes over are hidden inputs whose
 * final values are aliased outputs: the backend may write them in place
 * (their buffers are donated when the ref holds the only reference to its
 * value), and the Ref objects point at the new values afterwards.
 */
import {
  Array,
  Ref,
  RefCell,
  RefType,
  bufferOf,
  getBackend,
  getBackendName,
  np,
  takeBuffer,
  tree,
  wrapBuffer,
  type Aval,
  type Backend,
  type Executable,
  type Program,
  type Value,
} from "@refs/core";
import { dischargeJaxpr, type Discharged } from "./discharge.js";
import { ValueError, argPath, describeFn, fnInfo, transformSite, type FnInfo } from "./errors.js";
import { atomOf, isStaging, stageFlat, type Jaxpr } from "./staging.js";
import { lowerToStableHlo, type LowerOptions } from "./lower.js";
import { dce } from "./dce.js";

export interface JitOptions {
  /** Positions of arguments that are static (hashed into the cache key, not traced). */
  staticArgnums?: number | readonly number[];
  /** Name used in messages and lowering text (defaults to the function's name). */
  name?: string;
  /**
   * Allow returning refs created inside (they come back as fresh refs; refs
   * passed in come back as the same objects). `@refs/nn`'s `jit` sets this.
   */
  allowRefOutputs?: boolean;
}

export interface Lowered {
  /** The staged program, ref effects included (what `makeJaxpr` prints). */
  readonly jaxpr: Jaxpr;
  /** The pure program the backend compiles, with ref aliases. */
  readonly program: Program;
  /**
   * StableHLO-style text of the compiled program; with `{ backend: "webgpu" }`
   * (or "cpu"), the code that backend generates for it instead.
   */
  asText(opts?: LowerOptions & { backend?: string }): string;
}

export type Jitted<F extends (...args: any[]) => any> = ((...args: Parameters<F>) => ReturnType<F>) & {
  lower(...args: Parameters<F>): Lowered;
  /** Number of compiled signatures in the cache. */
  readonly cacheSize: number;
};

/** Everything one call needs to know about its arguments. */
interface Flat {
  leaves: Value[];
  treedef: tree.TreeDef;
  paths: string[];
  staticArgs: Map<number, unknown>;
  /** For each Ref among the leaves, its leaf index. */
  refIndex: Map<Ref, number>;
  /** Number of arguments the call had. */
  nArgs: number;
}

interface Compiled {
  staged: { jaxpr: Jaxpr; consts: readonly Value[] };
  discharged: Discharged;
  outTree: tree.TreeDef;
  backend: Backend;
  exe: Executable;
}

export function jit<F extends (...args: any[]) => any>(fn: F, opts: JitOptions = {}): Jitted<F> {
  const site = transformSite();
  const base = fnInfo(fn, site);
  const info: FnInfo = opts.name ? { ...base, name: opts.name } : base;
  const statics = new Set(typeof opts.staticArgnums === "number" ? [opts.staticArgnums] : (opts.staticArgnums ?? []));
  const cache = new Map<string, Compiled>();

  const flatten = (args: unknown[]): Flat => flattenArgs(info, args, statics);

  const compile = (flat: Flat): Compiled => {
    const { staged, outTree } = stageCall(fn, info, flat, opts, "jit");
    const discharged = dischargeJaxpr(staged.jaxpr, info.name);
    const backend = getBackend();
    return { staged, discharged, outTree, backend, exe: backend.compile(dce(discharged.program)) };
  };

  const call = (...args: unknown[]): unknown => {
    const flat = flatten(args);
    if (isStaging() || flat.leaves.some((l) => !l.isConcrete)) return inlineCall(fn, info, flat, args, opts);
    // Compiled per backend: a program compiled for one backend (or for a
    // device since lost and replaced) never runs on another.
    const backend = getBackend();
    const key = `${getBackendName()}|${cacheKey(flat)}`;
    let c = cache.get(key);
    if (!c || c.backend !== backend) cache.set(key, (c = compile(flat)));
    return run(c, flat, opts);
  };

  const jitted = call as unknown as Jitted<F>;
  Object.defineProperty(jitted, "name", { value: info.name });
  Object.defineProperty(jitted, "cacheSize", { get: () => cache.size });
  jitted.lower = (...args: unknown[]): Lowered => {
    const flat = flatten(args);
    const { staged } = stageCall(fn, info, flat, opts, "jit");
    const d = dischargeJaxpr(staged.jaxpr, info.name);
    const program = dce(d.program);
    return {
      jaxpr: staged.jaxpr,
      program,
      asText: (o?: LowerOptions & { backend?: string }) => {
        if (o?.backend === undefined) return lowerToStableHlo(program, { name: `jit_${info.name}`, ...o });
        // The backend's own generated code (WGSL kernels on webgpu, JS on cpu).
        const exe = getBackend(o.backend).compile(program);
        if (!exe.describe) throw new Error(`lower(...).asText: the ${o.backend} backend cannot show its generated code`);
        return exe.describe();
      },
    };
  };
  return jitted;
}

/** Flatten call arguments into leaves (JS scalars become weakly typed arrays), checking ref aliasing. */
export function flattenArgs(info: FnInfo, args: unknown[], statics: ReadonlySet<number>, transform = "jit"): Flat {
  const staticArgs = new Map<number, unknown>();
  const dyn: unknown[] = [];
  const argIndex: number[] = [];
  args.forEach((a, i) => {
    if (statics.has(i)) staticArgs.set(i, a);
    else {
      dyn.push(a);
      argIndex.push(i);
    }
  });
  const [withPath, treedef] = tree.flattenWithPath(dyn);
  const leaves: Value[] = [];
  const paths: string[] = [];
  const refIndex = new Map<Ref, number>();
  withPath.forEach(([path, leaf]) => {
    const first = path[0] as { index: number };
    const name = argPath(info, argIndex[first.index]!, path.slice(1));
    let v: Value;
    if (leaf instanceof Array || leaf instanceof Ref) v = leaf;
    else if (typeof leaf === "number" || typeof leaf === "boolean") v = np.asarray(leaf);
    else
      throw new TypeError(
        `${transform}: argument ${name} of ${describeFn(info)} is a ${leaf === null ? "null" : typeof leaf}, not an array; ` +
          `pass arrays or numbers, or mark the argument static (staticArgnums)`,
      );
    if (v instanceof Ref) {
      const prev = refIndex.get(v);
      if (prev !== undefined)
        throw new ValueError(
          `only one reference to a mutable array may be passed as an argument to a function, but when tracing ` +
            `${describeFn(info)} for ${transform} the mutable array reference of type ${v.aval.str()} appeared at both ` +
            `${paths[prev]} and ${name}.`,
        );
      refIndex.set(v, leaves.length);
    }
    leaves.push(v);
    paths.push(name);
  });
  return { leaves, treedef, paths, staticArgs, refIndex, nArgs: args.length };
}

function cacheKey(flat: Flat): string {
  let k = flat.treedef.key() + "|";
  for (const l of flat.leaves) k += l.aval.key() + ";";
  for (const [i, v] of flat.staticArgs) k += `|s${i}=${tree.auxKey(v)}`;
  return k;
}

/** Rebuild the argument list with tracers (or values) in place of the leaves. */
function rebuildArgs(flat: Flat, leaves: readonly Value[], n: number): unknown[] {
  const dyn = tree.unflatten(flat.treedef, [...leaves]) as unknown[];
  const args: unknown[] = [];
  let d = 0;
  for (let i = 0; i < n; i++) args.push(flat.staticArgs.has(i) ? flat.staticArgs.get(i) : dyn[d++]);
  return args;
}

/** Stage `fn` on the flat arguments, with jit's ref checks. */
export function stageCall(
  fn: Function,
  info: FnInfo,
  flat: Flat,
  opts: { allowRefOutputs?: boolean; inAvals?: readonly Aval[] },
  transform: string,
): { staged: { jaxpr: Jaxpr; consts: readonly Value[] }; outTree: tree.TreeDef; outLeaves: Value[] } {
  let outTree: tree.TreeDef | undefined;
  let outLeaves: Value[] = [];
  const staged = stageFlat(
    (...ins) => {
      const args = rebuildArgs(flat, ins, flat.nArgs);
      const out = fn(...args);
      const [leaves, td] = tree.flattenWithPath(out);
      outTree = td;
      outLeaves = leaves.map(([path, l]) => {
        if (l instanceof Array || l instanceof Ref) return l;
        if (typeof l === "number" || typeof l === "boolean") return np.asarray(l);
        throw new TypeError(
          `${describeFn(info)} traced for ${transform} returned a ${typeof l} at output tree path ${tree.keystr(path, "result")}; outputs must be arrays`,
        );
      });
      if (!opts.allowRefOutputs) checkNoRefOutputs(info, transform, leaves.map(([p]) => p), outLeaves, ins, flat.paths);
      return outLeaves;
    },
    opts.inAvals ?? flat.leaves.map((l) => l.aval as Aval),
    {
      name: info.name,
      inputSites: flat.leaves.map((l) => (l instanceof Ref ? l.site : undefined)),
      onLiftRef: (r) => {
        const k = flat.refIndex.get(r);
        if (k !== undefined)
          throw new ValueError(
            `when tracing ${info.name} for ${transform}, a mutable array reference of type ${r.aval.str()} was both closed over and passed as the argument ${flat.paths[k]}`,
          );
      },
    },
  );
  return { staged, outTree: outTree!, outLeaves };
}

export function checkNoRefOutputs(
  info: FnInfo,
  transform: string,
  paths: tree.KeyPath[],
  outs: Value[],
  ins: readonly Value[],
  inPaths: readonly string[],
): void {
  outs.forEach((o, i) => {
    if (!(o instanceof Ref)) return;
    const where = tree.keystr(paths[i]!, "result");
    let origin: string;
    const argPos = ins.indexOf(o);
    if (argPos >= 0) origin = `\n\nThe returned mutable array was passed in as the argument ${inPaths[argPos]}.`;
    else if (o.site) origin = `\n\nThe returned mutable array was created on line ${o.site.location} (${o.site.creator}).`;
    else origin = "\n\nThe returned mutable array was closed over by the function.";
    throw new ValueError(
      `function ${describeFn(info)} traced for ${transform} returned a mutable array reference of type ${o.aval.str()} ` +
        `at output tree path ${where}, but mutable array references cannot be returned.${origin}`,
    );
  });
}

/** Under another transformation: trace straight through (the outer program includes ours). */
function inlineCall(fn: Function, info: FnInfo, flat: Flat, args: unknown[], opts: JitOptions): unknown {
  void args;
  const out = fn(...rebuildArgs(flat, flat.leaves, flat.nArgs));
  if (!opts.allowRefOutputs) {
    const [leaves] = tree.flattenWithPath(out);
    checkNoRefOutputs(
      info,
      "jit",
      leaves.map(([p]) => p),
      leaves.map(([, l]) => l as Value),
      flat.leaves,
      flat.paths,
    );
  }
  return out;
}

/** Execute a compiled call on concrete arguments and write ref results back. */
function run(c: Compiled, flat: Flat, opts: JitOptions): unknown {
  const { discharged: d, staged, backend } = c;
  const leafInputs: Value[] = [...staged.consts, ...flat.leaves];
  const values: Array[] = [...(d.consts as Array[])];
  const refsByInput: (Ref | null)[] = d.consts.map(() => null);
  for (const v of leafInputs) {
    if (v instanceof Ref) {
      values.push(cellOf(v).value);
      refsByInput.push(v);
    } else {
      values.push(v as Array);
      refsByInput.push(null);
    }
  }
  const donated = refsByInput.map((r) => r !== null && cellOf(r).owned);
  const handles = values.map((a) => bufferOf(a, backend));
  const outH = backend.execute(c.exe, handles, donated);
  const program = d.program;
  const nOut = staged.jaxpr.outputs.length;
  // Ref inputs: point each at its final value (same buffer when written in place).
  d.refInputs.forEach((inp, k) => {
    const pos = d.consts.length + inp;
    const ref = refsByInput[pos]!;
    const h = outH[nOut + k]!;
    const cell = cellOf(ref);
    const old = cell.value;
    if (h === handles[pos]) takeBuffer(old, "its buffer was updated in place by a jitted call");
    const aval = program.outputs[nOut + k]!.aval.withWeak(false);
    cell.replace(wrapBuffer(aval, backend, h), true);
  });
  const outs: Value[] = [];
  for (let i = 0; i < nOut; i++) {
    const aval = program.outputs[i]!.aval;
    const arr = wrapBuffer(aval, backend, outH[i]!);
    if (staged.jaxpr.outputs[i]!.aval instanceof RefType) outs.push(returnedRef(staged.jaxpr, i, leafInputs, arr));
    else outs.push(arr);
  }
  void opts;
  return tree.unflatten(c.outTree, outs);
}

function cellOf(r: Ref): RefCell {
  return r._payload as RefCell;
}

/** A ref returned from nn.jit: the same object if it was an input (already updated), else a fresh ref. */
function returnedRef(jaxpr: Jaxpr, i: number, inputs: readonly Value[], value: Array): Ref {
  const atom = jaxpr.outputs[i]!;
  const k = jaxpr.inputs.indexOf(atom as never);
  if (k >= 0 && inputs[k] instanceof Ref) {
    value.dispose();
    return inputs[k] as Ref;
  }
  return freshRef(value);
}

import { newRef } from "@refs/core";
function freshRef(value: Array): Ref {
  const r = newRef(value);
  value.dispose();
  return r;
}

export { atomOf };
