/**
 * @refs/optim — optax-style gradient transformations for @refs/core.
 *
 * A `GradientTransformation` is a pair of pure functions, `init(params)` and
 * `update(updates, state, params?)`; states are pytrees, so every update can
 * run under `jit`. Results follow optax's formulas and operation order.
 */
export {
  type GradientTransformation,
  type PyTree,
  type Schedule,
  type ScalarOrSchedule,
  EmptyState,
  ScaleByAdamState,
  ScaleByScheduleState,
  TraceState,
  MaskedState,
} from "./base.js";
export {
  identity,
  scale,
  scaleBySchedule,
  scaleByLearningRate,
  addDecayedWeights,
  clipByGlobalNorm,
  globalNorm,
  scaleByAdam,
  trace,
  chain,
  masked,
  applyUpdates,
  type ScaleByAdamOptions,
  type TraceOptions,
  type MaskTree,
} from "./transforms.js";
export {
  adam,
  adamw,
  sgd,
  type AdamOptions,
  type AdamWOptions,
  type SgdOptions,
  type LearningRateState,
} from "./alias.js";
export {
  constantSchedule,
  polynomialSchedule,
  linearSchedule,
  cosineDecaySchedule,
  joinSchedules,
  warmupCosineDecaySchedule,
} from "./schedules.js";
export { INT32_MAX, safeIncrement } from "./numerics.js";
