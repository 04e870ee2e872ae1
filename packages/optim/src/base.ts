/**
 * The `GradientTransformation` interface, the state classes (registered
 * pytree nodes, so `jit` and `tree` functions traverse them), and the checks
 * shared by every transformation.
 */
import { Array, isRef, registerPytreeNode, tree } from "@refs/core";

/**
 * A pytree of Arrays: plain objects, JS arrays, `null`/`undefined` (empty
 * nodes) and instances of registered pytree classes, with Arrays as leaves.
 */
export type PyTree = unknown;

/**
 * An optax-style gradient transformation: `init` builds the state from the
 * parameters; `update` maps updates (usually gradients) to new updates and a
 * new state. Both are pure and jittable.
 */
export interface GradientTransformation<S = unknown> {
  init(params: PyTree): S;
  update<U>(updates: U, state: S, params?: PyTree): [U, S];
}

/** Learning-rate (or other hyper-parameter) schedule: step count (int32 scalar) → value (float32 scalar). */
export type Schedule = (count: Array) => Array;

/** A number or a schedule evaluated at the step count. */
export type ScalarOrSchedule = number | Schedule;

// ---- state classes ---------------------------------------------------------------

/** The state of stateless transformations. */
export class EmptyState {
  toString(): string {
    return "EmptyState()";
  }
}

/** State of {@link scaleByAdam}: step count and the two moment estimates. */
export class ScaleByAdamState<T = PyTree> {
  constructor(
    /** int32 scalar: number of updates so far (saturating at 2^31 − 1). */
    readonly count: Array,
    /** First moment (same structure as the parameters). */
    readonly mu: T,
    /** Second moment (same structure as the parameters). */
    readonly nu: T,
  ) {}
  toString(): string {
    return `ScaleByAdamState(count=${String(this.count)}, mu=…, nu=…)`;
  }
}

/** State of {@link scaleBySchedule}: the step count. */
export class ScaleByScheduleState {
  constructor(/** int32 scalar. */ readonly count: Array) {}
  toString(): string {
    return `ScaleByScheduleState(count=${String(this.count)})`;
  }
}

/** State of {@link trace} (momentum): the accumulated trace. */
export class TraceState<T = PyTree> {
  constructor(readonly trace: T) {}
  toString(): string {
    return "TraceState(trace=…)";
  }
}

/** State of {@link masked}: the inner transformation's state. */
export class MaskedState<S = unknown> {
  constructor(readonly innerState: S) {}
  toString(): string {
    return "MaskedState(innerState=…)";
  }
}

registerPytreeNode(EmptyState, {
  flatten: () => [[], null],
  unflatten: () => new EmptyState(),
});
registerPytreeNode(ScaleByAdamState, {
  flatten: (s) => [
    [
      ["count", s.count],
      ["mu", s.mu],
      ["nu", s.nu],
    ],
    null,
  ],
  unflatten: (_aux, [count, mu, nu]) => new ScaleByAdamState(count as Array, mu, nu),
});
registerPytreeNode(ScaleByScheduleState, {
  flatten: (s) => [[["count", s.count]], null],
  unflatten: (_aux, [count]) => new ScaleByScheduleState(count as Array),
});
registerPytreeNode(TraceState, {
  flatten: (s) => [[["trace", s.trace]], null],
  unflatten: (_aux, [t]) => new TraceState(t),
});
registerPytreeNode(MaskedState, {
  flatten: (s) => [[["innerState", s.innerState]], null],
  unflatten: (_aux, [inner]) => new MaskedState(inner),
});

// ---- checks ------------------------------------------------------------------------

function describeValue(x: unknown): string {
  if (x === null) return "null";
  if (x === undefined) return "undefined";
  if (isRef(x)) return `a Ref (${String((x as { dtype: string }).dtype)}); read it with ref.get() or freeze() first`;
  if (typeof x !== "object") return `a ${typeof x} (${String(x)})`;
  const ctor = (Object.getPrototypeOf(x) as { constructor?: { name?: string } } | null)?.constructor;
  return `an instance of ${ctor?.name || "an anonymous class"}`;
}

/** Throw unless every leaf of `x` is an Array; the message names the first bad leaf's path. */
export function checkArrayLeaves(where: string, name: string, x: unknown): void {
  const [leaves] = tree.flattenWithPath(x);
  for (const [path, leaf] of leaves) {
    if (!(leaf instanceof Array)) {
      throw new TypeError(`${where}: the leaf at ${tree.keystr(path, name)} is ${describeValue(leaf)}; expected an Array`);
    }
  }
}

function isPrefixPath(prefix: string, p: string): boolean {
  return p.length > prefix.length && p.startsWith(prefix) && (p[prefix.length] === "." || p[prefix.length] === "[");
}

/** The first leaf path where two trees' leaf paths differ, described; null if they agree. */
function leafPathDiff(ep: readonly string[], gp: readonly string[]): string | null {
  const gset = new Set(gp);
  const eset = new Set(ep);
  const n = Math.max(ep.length, gp.length);
  for (let i = 0; i < n; i++) {
    const e = ep[i];
    const g = gp[i];
    if (e === g) continue;
    if (e !== undefined && g !== undefined && isPrefixPath(e, g)) {
      return `at ${e}: expected a leaf, got a subtree (with a leaf at ${g})`;
    }
    if (e !== undefined && g !== undefined && isPrefixPath(g, e)) {
      return `at ${g}: expected a subtree (with a leaf at ${e}), got a leaf`;
    }
    if (e !== undefined && !gset.has(e)) return `${e} is missing`;
    if (g !== undefined && !eset.has(g)) return `${g} is extra`;
    return `the leaves are in a different order at ${e ?? g}`;
  }
  return null;
}

/**
 * Describe where two trees differ (paths rooted at `root`), or null when
 * their structures are equal: the first node where they differ (from core's
 * matcher) and the first leaf path present in one but not the other.
 */
export function structureDiff(expected: unknown, got: unknown, root: string): string | null {
  const [el, etd] = tree.flattenWithPath(expected);
  const [gl, gtd] = tree.flattenWithPath(got);
  if (etd.equals(gtd)) return null;
  const leafDiff = leafPathDiff(
    el.map(([p]) => tree.keystr(p, root)),
    gl.map(([p]) => tree.keystr(p, root)),
  );
  let nodeDiff: string | null = null;
  try {
    etd.flattenUpTo(got);
  } catch (err) {
    const msg = (err as Error).message;
    const m = /^tree structure mismatch at path tree(\S*): (.*?)\. Expected structure/s.exec(msg);
    nodeDiff = m ? `at ${root}${m[1]}: ${m[2]}` : msg;
  }
  if (nodeDiff && leafDiff && !leafDiff.startsWith("at ")) return `${nodeDiff} (${leafDiff})`;
  return leafDiff ?? nodeDiff ?? "the structures differ";
}

/**
 * Throw when `got` does not have the tree structure of `expected`. The
 * message names the first path where they differ and prints both structures.
 */
export function checkSameStructure(
  where: string,
  expectedName: string,
  expected: unknown,
  gotName: string,
  got: unknown,
): void {
  const diff = structureDiff(expected, got, gotName);
  if (diff === null) return;
  throw new Error(
    `${where}: the ${gotName} do not have the tree structure of the ${expectedName}: ${diff}.\n` +
      `  ${expectedName}: ${tree.structure(expected).toString()}\n` +
      `  ${gotName}: ${tree.structure(got).toString()}`,
  );
}

/** Throw a TypeError unless `state` is an instance of `cls`. */
export function checkState<T>(where: string, state: unknown, cls: abstract new (...args: never[]) => T): asserts state is T {
  if (!(state instanceof cls)) {
    throw new TypeError(
      `${where}: expected the state to be a ${cls.name} (as returned by init), got ${describeValue(state)}`,
    );
  }
}

export function checkNumber(
  where: string,
  name: string,
  v: unknown,
  cond: "finite" | "nonnegative" | "positive" | "unit" | "int" | "posint" = "finite",
): number {
  if (typeof v !== "number" || Number.isNaN(v)) {
    throw new TypeError(`${where}: ${name} must be a number, got ${describeValue(v)}`);
  }
  const fail = (what: string): never => {
    throw new RangeError(`${where}: ${name} must be ${what}, got ${v}`);
  };
  switch (cond) {
    case "finite":
      if (!Number.isFinite(v)) fail("finite");
      break;
    case "nonnegative":
      if (!(Number.isFinite(v) && v >= 0)) fail("a finite number >= 0");
      break;
    case "positive":
      if (!(v > 0)) fail("positive");
      break;
    case "unit":
      if (!(v >= 0 && v < 1)) fail("in [0, 1)");
      break;
    case "int":
      if (!Number.isInteger(v)) fail("an integer");
      break;
    case "posint":
      if (!(Number.isInteger(v) && v > 0)) fail("a positive integer");
      break;
  }
  return v;
}

export function checkScalarOrSchedule(where: string, name: string, v: unknown): ScalarOrSchedule {
  if (typeof v === "function") return v as Schedule;
  return checkNumber(where, name, v, "finite");
}

export const NO_PARAMS =
  "you are using a transformation that requires the current value of parameters, but you are not passing `params` when calling `update`";
