/**
 * The building blocks, each the optax transformation of the same (snake_case)
 * name, with optax's order of floating-point operations.
 */
import { Array, np, tree, type DType } from "@refs/core";
import {
  EmptyState,
  MaskedState,
  NO_PARAMS,
  ScaleByAdamState,
  ScaleByScheduleState,
  TraceState,
  checkArrayLeaves,
  checkNumber,
  checkSameStructure,
  checkScalarOrSchedule,
  checkState,
  type GradientTransformation,
  type PyTree,
  type ScalarOrSchedule,
  type Schedule,
} from "./base.js";
import { biasCorrection, mapArrays, safeIncrement, scheduleValue, treeZerosLike, zeroCount } from "./numerics.js";

/** Build a transformation from untyped functions (the generic `update` signature is enforced by the wrappers). */
function make<S>(
  init: (params: PyTree) => S,
  update: (updates: unknown, state: S, params?: PyTree) => [unknown, S],
): GradientTransformation<S> {
  return {
    init,
    update: update as <U>(updates: U, state: S, params?: PyTree) => [U, S],
  };
}

/** Check the updates (and params, when given) of an `update` call. */
function checkUpdateArgs(where: string, updates: unknown, params: unknown): void {
  checkArrayLeaves(where, "updates", updates);
  if (params !== undefined && params !== null) {
    checkSameStructure(where, "updates", updates, "params", params);
    checkArrayLeaves(where, "params", params);
  }
}

// ---- stateless ------------------------------------------------------------------------

/** Leaves updates unchanged. */
export function identity(): GradientTransformation<EmptyState> {
  return make(
    () => new EmptyState(),
    (updates, state) => [updates, state],
  );
}

/** Multiply updates by a fixed `stepSize` (optax `scale`). */
export function scale(stepSize: number): GradientTransformation<EmptyState> {
  const where = "scale";
  checkNumber(where, "stepSize", stepSize, "finite");
  return make(
    () => new EmptyState(),
    (updates, state) => {
      checkArrayLeaves(`${where}: update`, "updates", updates);
      return [mapArrays((g) => np.multiply(stepSize, g), updates), state];
    },
  );
}

/**
 * Multiply updates by `stepSizeFn(count)`, where `count` is the number of
 * updates so far (evaluated before the increment, as optax).
 */
export function scaleBySchedule(stepSizeFn: Schedule): GradientTransformation<ScaleByScheduleState> {
  const where = "scaleBySchedule";
  if (typeof stepSizeFn !== "function") throw new TypeError(`${where}: expected a schedule function, got ${typeof stepSizeFn}`);
  return make(
    () => new ScaleByScheduleState(zeroCount()),
    (updates, state) => {
      checkState(`${where}: update`, state, ScaleByScheduleState);
      checkArrayLeaves(`${where}: update`, "updates", updates);
      const stepSize = scheduleValue(where, stepSizeFn(state.count));
      const out = mapArrays((g) => np.multiply(stepSize.astype(g.dtype), g), updates);
      return [out, new ScaleByScheduleState(safeIncrement(state.count))];
    },
  );
}

/**
 * Scale updates by `-learningRate` (or `+learningRate` with `flipSign:
 * false`); a schedule is evaluated at the step count.
 */
export function scaleByLearningRate(learningRate: number, opts?: { flipSign?: boolean }): GradientTransformation<EmptyState>;
export function scaleByLearningRate(
  learningRate: Schedule,
  opts?: { flipSign?: boolean },
): GradientTransformation<ScaleByScheduleState>;
export function scaleByLearningRate(
  learningRate: ScalarOrSchedule,
  opts?: { flipSign?: boolean },
): GradientTransformation<EmptyState | ScaleByScheduleState>;
export function scaleByLearningRate(
  learningRate: ScalarOrSchedule,
  opts: { flipSign?: boolean } = {},
): GradientTransformation<EmptyState> | GradientTransformation<ScaleByScheduleState> {
  const lr = checkScalarOrSchedule("scaleByLearningRate", "learningRate", learningRate);
  const m = (opts.flipSign ?? true) ? -1 : 1;
  if (typeof lr === "function") {
    return scaleBySchedule((count) => np.multiply(m, scheduleValue("scaleByLearningRate", lr(count))));
  }
  return scale(m * lr);
}

/** Add `weightDecay · params` to the updates (optax `add_decayed_weights`); needs `params`. */
export function addDecayedWeights(
  weightDecay = 0,
  mask?: MaskTree | ((params: PyTree) => MaskTree),
): GradientTransformation<EmptyState | MaskedState<EmptyState>> {
  const where = "addDecayedWeights";
  checkNumber(where, "weightDecay", weightDecay, "finite");
  const inner = make(
    () => new EmptyState(),
    (updates, state, params) => {
      if (params === undefined || params === null) throw new Error(`${where}: ${NO_PARAMS}`);
      checkUpdateArgs(`${where}: update`, updates, params);
      return [mapArrays((g, p) => g.add(np.multiply(weightDecay, p)), updates, params), state];
    },
  );
  return mask === undefined ? inner : masked(inner, mask);
}

/** Rescale all updates so that their global L2 norm is at most `maxNorm`. */
export function clipByGlobalNorm(maxNorm: number): GradientTransformation<EmptyState> {
  const where = "clipByGlobalNorm";
  checkNumber(where, "maxNorm", maxNorm, "positive");
  return make(
    () => new EmptyState(),
    (updates, state) => {
      checkArrayLeaves(`${where}: update`, "updates", updates);
      const gNorm = globalNorm(updates);
      const trigger = gNorm.lt(maxNorm);
      const out = mapArrays(
        (t) => np.where(trigger, t, np.multiply(np.divide(t, gNorm.astype(t.dtype)), maxNorm)),
        updates,
      );
      return [out, state];
    },
  );
}

/** The L2 norm of all leaves of a tree taken together (optax `global_norm`), a float32 scalar. */
export function globalNorm(updates: PyTree): Array {
  const leaves = tree.leaves(updates) as Array[];
  let sq: Array = np.array(0, { dtype: "float32" });
  for (const [i, l] of leaves.entries()) {
    const s = np.sum(np.square(np.abs(l)));
    sq = i === 0 ? s : sq.add(s);
  }
  return np.sqrt(sq);
}

// ---- stateful ---------------------------------------------------------------------------

export interface ScaleByAdamOptions {
  /** Decay of the first moment (default 0.9). */
  b1?: number;
  /** Decay of the second moment (default 0.999). */
  b2?: number;
  /** Added to the denominator outside the square root (default 1e-8). */
  eps?: number;
  /** Added to the second moment inside the square root (default 0). */
  epsRoot?: number;
  /** Dtype of the first moment in the state (default: the params' dtype). */
  muDtype?: DType;
}

/** Rescale updates by Adam's bias-corrected moment estimates (optax `scale_by_adam`). */
export function scaleByAdam(opts: ScaleByAdamOptions = {}): GradientTransformation<ScaleByAdamState> {
  const where = "scaleByAdam";
  const b1 = checkNumber(where, "b1", opts.b1 ?? 0.9, "unit");
  const b2 = checkNumber(where, "b2", opts.b2 ?? 0.999, "unit");
  const eps = checkNumber(where, "eps", opts.eps ?? 1e-8, "nonnegative");
  const epsRoot = checkNumber(where, "epsRoot", opts.epsRoot ?? 0, "nonnegative");
  const muDtype = opts.muDtype;
  return make(
    (params) => {
      checkArrayLeaves(`${where}: init`, "params", params);
      return new ScaleByAdamState(zeroCount(), treeZerosLike(params, muDtype), treeZerosLike(params));
    },
    (updates, state, params) => {
      const w = `${where}: update`;
      checkState(w, state, ScaleByAdamState);
      checkUpdateArgs(w, updates, params);
      checkSameStructure(w, "params given to init", state.mu, "updates", updates);
      const mu = mapArrays((g, t) => np.multiply(1 - b1, g).add(np.multiply(b1, t)), updates, state.mu);
      const nu = mapArrays((g, t) => np.multiply(1 - b2, g.mul(g)).add(np.multiply(b2, t)), updates, state.nu);
      const countInc = safeIncrement(state.count);
      const bc1 = biasCorrection(b1, countInc);
      const bc2 = biasCorrection(b2, countInc);
      const muHat = mapArrays((t) => t.div(bc1.astype(t.dtype)), mu);
      const nuHat = mapArrays((t) => t.div(bc2.astype(t.dtype)), nu);
      const out = mapArrays((m, v) => m.div(np.sqrt(v.add(epsRoot)).add(eps)), muHat, nuHat);
      const muOut = muDtype === undefined ? mu : mapArrays((t) => t.astype(muDtype), mu);
      return [out, new ScaleByAdamState(countInc, muOut, nu)];
    },
  );
}

export interface TraceOptions {
  /** Decay of the trace (the momentum). */
  decay: number;
  /** Use Nesterov momentum (default false). */
  nesterov?: boolean;
  /** Dtype of the accumulated trace (default: the params' dtype). */
  accumulatorDtype?: DType;
}

/** Momentum: `t = g + decay·t`, updates `t` (or `g + decay·t` with Nesterov) (optax `trace`). */
export function trace(opts: TraceOptions): GradientTransformation<TraceState> {
  const where = "trace";
  const decay = checkNumber(where, "decay", opts.decay, "finite");
  const nesterov = opts.nesterov ?? false;
  const accDtype = opts.accumulatorDtype;
  return make(
    (params) => {
      checkArrayLeaves(`${where}: init`, "params", params);
      return new TraceState(treeZerosLike(params, accDtype));
    },
    (updates, state, params) => {
      const w = `${where}: update`;
      checkState(w, state, TraceState);
      checkUpdateArgs(w, updates, params);
      checkSameStructure(w, "params given to init", state.trace, "updates", updates);
      const f = (g: Array, t: Array): Array => g.add(np.multiply(decay, t));
      const newTrace = mapArrays(f, updates, state.trace);
      const out = nesterov ? mapArrays(f, updates, newTrace) : newTrace;
      const stored = accDtype === undefined ? newTrace : mapArrays((t) => t.astype(accDtype), newTrace);
      return [out, new TraceState(stored)];
    },
  );
}

// ---- combinators ------------------------------------------------------------------------

/**
 * Apply transformations in sequence; the state is the tuple of their states
 * (optax `chain`).
 */
export function chain<S extends unknown[]>(
  ...transforms: { [K in keyof S]: GradientTransformation<S[K]> }
): GradientTransformation<S> {
  const txs = transforms as readonly GradientTransformation<unknown>[];
  txs.forEach((t, i) => {
    if (t === null || typeof t !== "object" || typeof t.init !== "function" || typeof t.update !== "function") {
      throw new TypeError(`chain: argument ${i} is not a GradientTransformation (an object with init and update)`);
    }
  });
  return make(
    (params) => txs.map((t) => t.init(params)) as S,
    (updates, state, params) => {
      if (!globalThis.Array.isArray(state) || state.length !== txs.length) {
        throw new Error(
          `chain: update: expected the state to be an array of ${txs.length} states (one per transformation, as returned by init), got ${
            globalThis.Array.isArray(state) ? `an array of length ${(state as unknown[]).length}` : typeof state
          }`,
        );
      }
      let u = updates;
      const newState: unknown[] = [];
      txs.forEach((t, i) => {
        const [nu, ns] = t.update(u, state[i], params);
        u = nu;
        newState.push(ns);
      });
      return [u, newState as S];
    },
  );
}

/** A tree of booleans: the same structure as the params, or a prefix of it. */
export type MaskTree = unknown;

function maskPytree(where: string, t: unknown, maskTree: unknown): unknown {
  return tree.map(
    (m: unknown, p: unknown) => {
      if (typeof m !== "boolean") throw new TypeError(`${where}: mask leaves must be booleans, got ${typeof m}`);
      return m ? p : null;
    },
    maskTree,
    t,
  );
}

/**
 * Apply `inner` only to the leaves where `mask` is true; the other updates
 * pass through unchanged (optax `masked`). `mask` is a tree of booleans (a
 * prefix of the params' structure) or a function of the params (called on the
 * updates in `update`, as optax).
 */
export function masked<S>(
  inner: GradientTransformation<S>,
  mask: MaskTree | ((params: PyTree) => MaskTree),
): GradientTransformation<MaskedState<S>> {
  const where = "masked";
  const getMask = (x: unknown): unknown => (typeof mask === "function" ? (mask as (p: PyTree) => MaskTree)(x) : mask);
  return make(
    (params) => new MaskedState(inner.init(maskPytree(`${where}: init`, params, getMask(params)))),
    (updates, state, params) => {
      checkState(`${where}: update`, state, MaskedState);
      const maskTree = getMask(updates);
      const mUpdates = maskPytree(`${where}: update`, updates, maskTree);
      const mParams = params === undefined || params === null ? undefined : maskPytree(`${where}: update`, params, maskTree);
      const [newMasked, newInner] = inner.update(mUpdates, state.innerState as S, mParams);
      const out = tree.map((m: unknown, n: unknown, o: unknown) => (m ? n : o), maskTree, newMasked, updates);
      return [out, new MaskedState(newInner)];
    },
  );
}

/** `params + updates`, each leaf cast back to the param's dtype (optax `apply_updates`). */
export function applyUpdates<P>(params: P, updates: PyTree): P {
  const where = "applyUpdates";
  checkSameStructure(where, "params", params, "updates", updates);
  checkArrayLeaves(where, "params", params);
  checkArrayLeaves(where, "updates", updates);
  return mapArrays((p, u) => p.add(u).astype(p.dtype), params, updates) as P;
}
