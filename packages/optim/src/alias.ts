/** The ready-made optimizers (optax `alias`): chains of the building blocks. */
import type {
  EmptyState,
  GradientTransformation,
  MaskedState,
  PyTree,
  ScalarOrSchedule,
  ScaleByAdamState,
  ScaleByScheduleState,
  TraceState,
} from "./base.js";
import {
  addDecayedWeights,
  chain,
  identity,
  scaleByAdam,
  scaleByLearningRate,
  trace,
  type MaskTree,
  type ScaleByAdamOptions,
} from "./transforms.js";

/** State of the learning-rate step: empty for a constant, the step count for a schedule. */
export type LearningRateState = EmptyState | ScaleByScheduleState;

export type AdamOptions = ScaleByAdamOptions;

/**
 * Adam: `chain(scaleByAdam(opts), scaleByLearningRate(learningRate))`.
 * The state is `[ScaleByAdamState, EmptyState | ScaleByScheduleState]`.
 */
export function adam(
  learningRate: ScalarOrSchedule,
  opts: AdamOptions = {},
): GradientTransformation<[ScaleByAdamState, LearningRateState]> {
  return chain<[ScaleByAdamState, LearningRateState]>(scaleByAdam(opts), scaleByLearningRate(learningRate));
}

export interface AdamWOptions extends ScaleByAdamOptions {
  /** Decoupled weight decay (default 1e-4). */
  weightDecay?: number;
  /** Which params are decayed: a tree of booleans (a prefix of the params) or a function of the params. */
  mask?: MaskTree | ((params: PyTree) => MaskTree);
}

/**
 * AdamW: Adam with decoupled weight decay,
 * `chain(scaleByAdam, addDecayedWeights(weightDecay, mask), scaleByLearningRate)`.
 * `update` needs `params`.
 */
export function adamw(
  learningRate: ScalarOrSchedule,
  opts: AdamWOptions = {},
): GradientTransformation<[ScaleByAdamState, EmptyState | MaskedState<EmptyState>, LearningRateState]> {
  const { weightDecay = 1e-4, mask, ...adamOpts } = opts;
  return chain<[ScaleByAdamState, EmptyState | MaskedState<EmptyState>, LearningRateState]>(
    scaleByAdam(adamOpts),
    addDecayedWeights(weightDecay, mask),
    scaleByLearningRate(learningRate),
  );
}

export interface SgdOptions {
  /** Momentum decay; no momentum (and no momentum state) when omitted. */
  momentum?: number;
  /** Nesterov momentum (default false). */
  nesterov?: boolean;
}

/**
 * Stochastic gradient descent, with optional (Nesterov) momentum:
 * `chain(momentum === undefined ? identity() : trace({decay: momentum, nesterov}), scaleByLearningRate(lr))`.
 */
export function sgd(
  learningRate: ScalarOrSchedule,
  opts: SgdOptions = {},
): GradientTransformation<[EmptyState | TraceState, LearningRateState]> {
  const first: GradientTransformation<EmptyState | TraceState> =
    opts.momentum === undefined || opts.momentum === null
      ? identity()
      : trace({ decay: opts.momentum, nesterov: opts.nesterov ?? false });
  return chain<[EmptyState | TraceState, LearningRateState]>(first, scaleByLearningRate(learningRate));
}
