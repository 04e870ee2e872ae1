/**
 * @refs/nn — Flax-NNX-style modules on @refs: Variables that hold refs,
 * Pytree/Module, Rngs, layers, graph ops (split/merge/state/update),
 * toRefs/toArrays/findDuplicates, nn.jit/nn.vmap and Optimizer.
 */
export { useRefs, usingRefs } from "./refs-mode.js";
export { Variable, Param, BatchStat, OptState, RngState, RngKey, RngCount, valueOf, type VariableOptions } from "./variable.js";
export { Pytree, Module, iterModules } from "./module.js";
export {
  State,
  GraphDef,
  split,
  merge,
  state,
  update,
  graphdef,
  toRefs,
  toArrays,
  findDuplicates,
  mapState,
  stateItems,
  filterPredicate,
  type Filter,
  type Path,
} from "./graph.js";
export { nnRepr, bytesRepr } from "./print.js";
export { jit, vmap, type VmapOptions } from "./transforms.js";
export { Optimizer } from "./optimizer.js";
export { Rngs, RngStream, type RngValue, type RngsInit, type RngsStreamInit, type ForkSplit, type SplitShape, type RngStreamOptions } from "./rngs.js";
export * as initializers from "./initializers.js";
export type { Initializer } from "./initializers.js";
export {
  relu,
  relu6,
  sigmoid,
  silu,
  swish,
  tanh,
  gelu,
  elu,
  celu,
  selu,
  leakyRelu,
  softplus,
  logSigmoid,
  softSign,
  hardTanh,
  softmax,
  logSoftmax,
  standardize,
  oneHot,
  type OneHotOptions,
} from "./activations.js";
export { Linear, type LinearOptions } from "./layers/linear.js";
export { BatchNorm, type BatchNormOptions, type BatchNormCallOptions } from "./layers/batchnorm.js";
export { Dropout, type DropoutOptions, type DropoutCallOptions } from "./layers/dropout.js";
export { LayerNorm, RMSNorm, type LayerNormOptions, type RMSNormOptions } from "./layers/layernorm.js";
export { Embed, type EmbedOptions } from "./layers/embed.js";
