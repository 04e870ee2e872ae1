/**
 * Interpreters and `bind`: the one road every operation takes.
 *
 * Autodidax shape (https://jax.readthedocs.io/en/latest/autodidax.html): a
 * stack of main traces; `bind` finds the highest-level trace among its
 * arguments (or the dynamic trace that jit installs), raises every argument
 * into it and lets it process the primitive. Level 0 is the eval trace: it
 * runs the primitive on the backend as a one-equation program, compiled once
 * per (primitive, params, avals) and cached. `@refs/trace` adds the JVP,
 * batching and IR-building traces by subclassing `Trace`.
 *
 * Arrays and Refs both carry `(_trace, _payload)`: a concrete value belongs to
 * the eval trace and its payload is backend data; a tracer belongs to another
 * trace and its payload is whatever that trace keeps.
 */
import type { Aval, ShapedArray } from "./aval.js";
import { getBackend, type Backend, type BufferHandle, type Executable } from "./backend.js";
import { makeProgram, Var, type Program } from "./program.js";
import { paramsKey, type Params, type Primitive } from "./primitive.js";
import type { Array } from "./array.js";
import type { Ref } from "./ref.js";

/** A value that flows through `bind`: an Array or a Ref, concrete or traced. */
export type Value = Array | Ref;

export interface Traced {
  readonly aval: Aval;
  _trace: Trace;
  _payload: unknown;
}

export class MainTrace {
  constructor(
    readonly level: number,
    readonly traceType: new (main: MainTrace) => Trace,
    /** Data an interpreter keeps for one transformation (e.g. the IR builder). */
    readonly globalData: unknown,
  ) {}
}

export abstract class Trace {
  constructor(readonly main: MainTrace) {}
  get level(): number {
    return this.main.level;
  }
  /** Bring a value of a lower level (a constant, or a tracer of an outer trace) into this trace. */
  abstract lift(x: Value): Value;
  abstract processPrimitive(prim: Primitive, args: Value[], params: Params): Value[];
}

// ---- the trace stack -----------------------------------------------------

const stack: MainTrace[] = [];
let dynamic: MainTrace;

/** Push a new main trace for a transformation; dispose it to pop (use with `using`). */
export function newMain(
  traceType: new (main: MainTrace) => Trace,
  globalData: unknown = null,
): MainTrace & Disposable {
  const main = new MainTrace(stack.length, traceType, globalData) as MainTrace & Disposable;
  stack.push(main);
  main[Symbol.dispose] = () => {
    const top = stack.pop();
    if (top !== main) throw new Error("trace stack corrupted: mains popped out of order");
  };
  return main;
}

/** Make `main` the dynamic trace (what `jit` does so constants are staged too) until disposed. */
export function newDynamic(main: MainTrace): Disposable {
  const prev = dynamic;
  dynamic = main;
  return {
    [Symbol.dispose]() {
      dynamic = prev;
    },
  };
}

export function currentDynamic(): MainTrace {
  return dynamic;
}

/** The level of the innermost active transformation (0: plain eager code). */
export function currentLevel(): number {
  return stack.length - 1;
}

function traceOf(x: Value): Trace {
  return (x as unknown as Traced)._trace;
}

export function findTopTrace(xs: readonly Value[]): Trace {
  let top = dynamic;
  for (const x of xs) {
    const m = traceOf(x).main;
    if (m.level > top.level) top = m;
  }
  if (top === stack[0]) return evalTrace;
  return new top.traceType(top);
}

function fullRaise(trace: Trace, x: Value): Value {
  const t = traceOf(x);
  if (t.main === trace.main) return x;
  if (t.main.level > trace.main.level)
    throw new Error(
      `a value of transformation level ${t.main.level} leaked into level ${trace.main.level}: ` +
        `a tracer escaped its transformation (e.g. stored in a global or closed over by a later call)`,
    );
  return trace.lift(x);
}

/** Apply a primitive to values. Every op ends here. */
export function bind(prim: Primitive<any>, args: readonly Value[], params: Params = {}): Value[] {
  const trace = findTopTrace(args);
  const raised = args.map((a) => fullRaise(trace, a));
  return trace.processPrimitive(prim, raised, params);
}

/** `bind` for single-output primitives on arrays. */
export function bind1(prim: Primitive<any>, args: readonly Value[], params: Params = {}): Array {
  return bind(prim, args, params)[0] as Array;
}

// ---- the eval trace ----------------------------------------------------------

/** Host-level implementations for primitives that never reach a backend (ref effects). */
export const evalRules = new Map<Primitive<any>, (args: Value[], params: Params) => Value[]>();

/** Hooks the Array module installs (kept here as slots to avoid an import cycle). */
export interface ConcreteHooks {
  /** The backend and buffer of a concrete array, uploading host data if needed. */
  buffer(x: Array, backend: Backend): BufferHandle;
  backendOf(x: Array): Backend | null;
  wrap(aval: ShapedArray, backend: Backend, h: BufferHandle): Array;
}
export let concrete: ConcreteHooks;
export function setConcreteHooks(h: ConcreteHooks): void {
  concrete = h;
}

class EvalTrace extends Trace {
  lift(x: Value): Value {
    return x;
  }
  processPrimitive(prim: Primitive, args: Value[], params: Params): Value[] {
    const rule = evalRules.get(prim);
    if (rule) return rule(args, params);
    const arrays = args as Array[];
    const backend = commonBackend(prim.name, arrays);
    const exe = compileEqn(backend, prim, params, arrays.map((a) => a.aval));
    const handles = arrays.map((a) => concrete.buffer(a, backend));
    const outs = backend.execute(exe, handles, NO_DONATION);
    return outs.map((h, i) => concrete.wrap(exe.program.outputs[i]!.aval, backend, h));
  }
}
const NO_DONATION: readonly boolean[] = [];

const baseMain = newMain(EvalTrace);
dynamic = baseMain;
export const evalTrace: Trace = new EvalTrace(baseMain);

/** The backend an op runs on: the one its array arguments live on, else the current one. */
export function commonBackend(op: string, xs: readonly Array[]): Backend {
  let found: Backend | null = null;
  let at = -1;
  for (let i = 0; i < xs.length; i++) {
    const b = concrete.backendOf(xs[i]!);
    if (b === null) continue;
    if (found === null) (found = b), (at = i);
    else if (found !== b) throw mixedBackends(op, found, at, b, i);
  }
  return found ?? getBackend();
}

/** The error for arrays of two backends in one op, with a move that works: toBackend reads synchronously, so out of a backend with readSync. */
function mixedBackends(op: string, a: Backend, i: number, b: Backend, j: number): Error {
  const [from, to] = a.readSync || !b.readSync ? [a, b] : [b, a];
  const how = from.readSync
    ? `move the ${from.name} one with toBackend(x, "${to.name}")`
    : `read one with \`await x.data()\` and rebuild it on the other backend with np.array`;
  return new Error(`${op}: arrays live on different backends (argument ${i} on "${a.name}", argument ${j} on "${b.name}"); ${how} before combining them`);
}

// One-equation programs, cached per (primitive, params, avals) and per backend.
const eqnCache = new WeakMap<Backend, Map<string, Executable>>();

function compileEqn(backend: Backend, prim: Primitive, params: Params, avals: ShapedArray[]): Executable {
  let cache = eqnCache.get(backend);
  if (!cache) eqnCache.set(backend, (cache = new Map()));
  let key = prim.name + "(" + paramsKey(params) + ")";
  for (const a of avals) key += a.key();
  let exe = cache.get(key);
  if (!exe) {
    const outAvals = prim.abstractEval(avals, params) as ShapedArray[];
    const inputs = avals.map((a) => new Var(a));
    const outputs = outAvals.map((a) => new Var(a));
    const program: Program = makeProgram(inputs, [{ prim, params, inputs, outputs }], outputs, [], prim.name);
    exe = backend.compile(program);
    cache.set(key, exe);
  }
  return exe;
}

/** Run a whole program eagerly on concrete arrays (what a jitted call does at the end). */
export function executeProgram(
  exe: Executable,
  backend: Backend,
  args: readonly Array[],
  donated: readonly boolean[] = NO_DONATION,
): Array[] {
  const handles = args.map((a) => concrete.buffer(a, backend));
  const outs = backend.execute(exe, handles, donated);
  return outs.map((h, i) => concrete.wrap(exe.program.outputs[i]!.aval, backend, h));
}
