/**
 * `BatchNorm` and the normalization helpers shared with `LayerNorm`, as
 * Flax NNX's `flax/nnx/nn/normalization.py`:
 *
 * - statistics (`_compute_stats`, fast variance): `mean = E[x]`,
 *   `var = max(0, E[x²] − E[x]²)`, in at least float32;
 * - normalization (`_normalize`): `y = x − mean; mul = rsqrt(var + eps);
 *   mul = mul · scale; y = y · mul; y = y + bias`;
 * - BatchNorm in training (`useRunningAverage` false) normalizes with the
 *   batch statistics and writes `r = m·r + (1−m)·stat` into its `mean`/`var`
 *   BatchStats through `stopGradient` (legal inside a differentiated
 *   function even when the BatchStats hold refs); in evaluation it uses the
 *   running statistics and leaves them unchanged.
 */
import { Array, np, promoteTypes, type DType } from "@refs/core";
import { stopGradient } from "@refs/trace";
import { Module } from "../module.js";
import { BatchStat, Param } from "../variable.js";
import type { Rngs } from "../rngs.js";
import { ones, zeros, type Initializer } from "../initializers.js";
import { optionalParam } from "./params.js";

export type Axes = number | readonly number[];

/** Deduplicated, non-negative axes (Flax's `_canonicalize_axes`), in the order given. */
export function canonicalizeAxes(op: string, rank: number, axes: Axes): number[] {
  const list = typeof axes === "number" ? [axes] : [...axes];
  const out: number[] = [];
  for (const a of list) {
    if (!Number.isInteger(a) || a < -rank || a >= rank) throw new RangeError(`${op}: axis ${a} is out of bounds for an input of rank ${rank}`);
    const p = a < 0 ? a + rank : a;
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

/**
 * Flax's `_compute_stats` (use_fast_variance): the mean and biased variance
 * of `x` over `axes` (reduced away), computed in at least float32.
 */
export function computeStats(x: Array, axes: readonly number[], dtype: DType | null = null, useMean = true): [Array, Array] {
  const base = dtype ?? x.dtype;
  const d = promoteTypes({ dtype: base, weakType: false }, { dtype: "float32", weakType: false }).dtype;
  const xs = x.dtype === d ? x : x.astype(d);
  const ax = [...axes];
  if (useMean) {
    const mu = xs.mean(ax);
    const mu2 = xs.square().mean(ax);
    // mean2 - |mean|^2 can be slightly negative from round-off
    const v = np.maximum(0.0, mu2.sub(mu.square()));
    return [mu, v];
  }
  const v = xs.square().mean(ax);
  return [np.zerosLike(v), v];
}

/** Flax's `_normalize`. */
export function normalize(
  x: Array,
  mean: Array,
  variance: Array,
  scale: Array | null,
  bias: Array | null,
  reductionAxes: readonly number[],
  featureAxes: readonly number[],
  dtype: DType | null,
  epsilon: number,
): Array {
  const statsShape = [...x.shape];
  for (const a of reductionAxes) statsShape[a] = 1;
  const m = mean.reshape(statsShape);
  const v = variance.reshape(statsShape);
  const featureShape = x.shape.map(() => 1);
  for (const a of featureAxes) featureShape[a] = x.shape[a]!;
  let y = x.sub(m);
  let mul = np.rsqrt(v.add(epsilon));
  const args: Array[] = [x];
  if (scale !== null) {
    const s = scale.reshape(featureShape);
    mul = mul.mul(s);
    args.push(s);
  }
  y = y.mul(mul);
  if (bias !== null) {
    const b = bias.reshape(featureShape);
    y = y.add(b);
    args.push(b);
  }
  // dtypes.canonicalize_dtype(*args, dtype=dtype): the given dtype, else the inputs' common inexact type
  let out = dtype ?? promoteTypes(...args.map((a) => ({ dtype: a.dtype, weakType: a.weakType }))).dtype;
  if (out !== "float32" && out !== "float16") out = "float32";
  return y.dtype === out ? y : y.astype(out);
}

/** The size of `x` over `axes` (for feature-size checks). */
export function sizeAt(x: Array, axes: readonly number[]): number {
  return axes.reduce((p, a) => p * x.shape[a]!, 1);
}

export interface BatchNormOptions {
  rngs: Rngs;
  /** Use the running statistics instead of the batch's (default false: training). */
  useRunningAverage?: boolean;
  /** The feature axis (default -1). */
  axis?: Axes;
  /** Decay of the running averages (default 0.99). */
  momentum?: number;
  /** Added to the variance (default 1e-5). */
  epsilon?: number;
  /** Result dtype (default: from the input and parameters). */
  dtype?: DType | null;
  /** Parameter dtype (default float32). */
  paramDtype?: DType;
  useBias?: boolean;
  useScale?: boolean;
  biasInit?: Initializer;
  scaleInit?: Initializer;
}

export interface BatchNormCallOptions {
  /** Overrides the module's `useRunningAverage` for this call. */
  useRunningAverage?: boolean;
}

export class BatchNorm extends Module {
  mean: BatchStat;
  var: BatchStat;
  scale: Param | null;
  bias: Param | null;
  numFeatures: number;
  useRunningAverage: boolean;
  axis: Axes;
  momentum: number;
  epsilon: number;
  dtype: DType | null;
  paramDtype: DType;
  useBias: boolean;
  useScale: boolean;
  biasInit: Initializer;
  scaleInit: Initializer;

  constructor(numFeatures: number, opts: BatchNormOptions) {
    super();
    if (!opts || !opts.rngs) throw new TypeError("BatchNorm: the `rngs` option is required");
    const {
      rngs,
      useRunningAverage = false,
      axis = -1,
      momentum = 0.99,
      epsilon = 1e-5,
      dtype = null,
      paramDtype = "float32",
      useBias = true,
      useScale = true,
      biasInit = zeros,
      scaleInit = ones,
    } = opts;
    const featureShape = [numFeatures];
    this.mean = new BatchStat(np.zeros(featureShape, { dtype: "float32" }));
    this.var = new BatchStat(np.ones(featureShape, { dtype: "float32" }));
    this.scale = optionalParam(useScale, rngs, scaleInit, featureShape, paramDtype);
    this.bias = optionalParam(useBias, rngs, biasInit, featureShape, paramDtype);
    this.numFeatures = numFeatures;
    this.useRunningAverage = useRunningAverage;
    this.axis = axis;
    this.momentum = momentum;
    this.epsilon = epsilon;
    this.dtype = dtype;
    this.paramDtype = paramDtype;
    this.useBias = useBias;
    this.useScale = useScale;
    this.biasInit = biasInit;
    this.scaleInit = scaleInit;
  }

  call(x: Array, opts: BatchNormCallOptions = {}): Array {
    const useRunningAverage = opts.useRunningAverage ?? this.useRunningAverage;
    const featureAxes = canonicalizeAxes("BatchNorm", x.ndim, this.axis);
    if (sizeAt(x, featureAxes) !== this.numFeatures)
      throw new TypeError(
        `BatchNorm: expected input with ${this.numFeatures} features (axis ${JSON.stringify(this.axis)}), got ${x.aval.str()}`,
      );
    const reductionAxes = x.shape.map((_, i) => i).filter((i) => !featureAxes.includes(i));
    let mean: Array;
    let variance: Array;
    if (useRunningAverage) {
      mean = this.mean.value;
      variance = this.var.value;
    } else {
      [mean, variance] = computeStats(x, reductionAxes, this.dtype);
      const m = this.momentum;
      this.mean.value = stopGradient(this.mean.value.mul(m).add(mean.mul(1 - m)));
      this.var.value = stopGradient(this.var.value.mul(m).add(variance.mul(1 - m)));
    }
    return normalize(
      x,
      mean,
      variance,
      this.scale ? this.scale.value : null,
      this.bias ? this.bias.value : null,
      reductionAxes,
      featureAxes,
      this.dtype,
      this.epsilon,
    );
  }
}
