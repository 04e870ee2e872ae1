/** Shared by the normalisation layers: their optional scale and bias Params. */
import type { Array, DType } from "@refs/core";
import type { Initializer } from "../initializers.js";
import { Param } from "../variable.js";

/**
 * A Param initialised from a fresh `params` key, or null when `use` is false
 * (no key is drawn then, so later keys match Flax's).
 */
export function optionalParam(use: boolean, rngs: { params(): Array }, init: Initializer, shape: readonly number[], dtype: DType): Param | null {
  return use ? new Param(init(rngs.params(), shape, dtype)) : null;
}
