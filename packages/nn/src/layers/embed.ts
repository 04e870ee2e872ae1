/**
 * `Embed`, as Flax NNX's `nnx.Embed` (`flax/nnx/nn/linear.py`): an
 * `embedding` Param [numEmbeddings, features] initialized with
 * `varianceScaling(1, "fan_in", "normal", {outAxis: 0})` from one
 * `rngs.params()` key. `call(indices)` takes rows (negative indices count
 * from the end; out-of-range ones give NaN, as `jnp.take`'s fill mode);
 * `attend(q)` is `q @ embeddingᵀ`.
 */
import { Array, isFloat, isInt, np, type DType } from "@refs/core";
import { Module } from "../module.js";
import { Param } from "../variable.js";
import type { Rngs } from "../rngs.js";
import { varianceScaling, type Initializer } from "../initializers.js";
import { promoteDtype } from "./linear.js";

export interface EmbedOptions {
  rngs: Rngs;
  /** Dtype of the embedding vectors (default: the embedding's). */
  dtype?: DType | null;
  paramDtype?: DType;
  embeddingInit?: Initializer;
}

export class Embed extends Module {
  embedding: Param;
  numEmbeddings: number;
  features: number;
  dtype: DType;
  paramDtype: DType;
  embeddingInit: Initializer;

  constructor(numEmbeddings: number, features: number, opts: EmbedOptions) {
    super();
    if (!opts || !opts.rngs) throw new TypeError("Embed: the `rngs` option is required");
    const { rngs, dtype = null, paramDtype = "float32", embeddingInit = varianceScaling(1.0, "fan_in", "normal", { outAxis: 0 }) } = opts;
    this.embedding = new Param(embeddingInit(rngs.params(), [numEmbeddings, features], paramDtype));
    this.numEmbeddings = numEmbeddings;
    this.features = features;
    this.dtype = dtype ?? this.embedding.dtype;
    this.paramDtype = paramDtype;
    this.embeddingInit = embeddingInit;
  }

  call(indices: Array): Array {
    indices = np.asarray(indices);
    if (!isInt(indices.dtype)) throw new TypeError(`Embed: input type must be an integer or unsigned integer, got ${indices.aval.str()}`);
    const [embedding] = promoteDtype([this.embedding.value], this.dtype, false) as [Array];
    if (this.numEmbeddings === 1) return np.broadcastTo(embedding, [...indices.shape, this.features]);
    const taken = np.take(embedding, indices, 0);
    if (!isFloat(embedding.dtype)) return taken;
    // jnp.take's default "fill" mode: out-of-range rows are NaN.
    const n = this.numEmbeddings;
    const valid = indices.dtype === "uint32" ? indices.lt(n) : np.logicalAnd(indices.ge(-n), indices.lt(n));
    return np.where(np.expandDims(valid, -1), taken, NaN);
  }

  attend(query: Array): Array {
    const [q, embedding] = promoteDtype([query, this.embedding.value], this.dtype) as [Array, Array];
    if (q.ndim === 0 || q.shape[q.ndim - 1] !== this.features)
      throw new TypeError(`Embed.attend: expected a query with ${this.features} features (last axis), got ${query.aval.str()}`);
    return np.dot(q, embedding.T);
  }
}
