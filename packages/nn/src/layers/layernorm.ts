/**
 * `LayerNorm` and `RMSNorm`, as Flax NNX (`flax/nnx/nn/normalization.py`):
 * per-example statistics over `reductionAxes` (default the last), the same
 * `_compute_stats`/`_normalize` arithmetic as BatchNorm, no running state.
 * Both draw one `rngs.params()` key per parameter (scale, then bias).
 */
import { Array, type DType } from "@refs/core";
import { Module } from "../module.js";
import { Param } from "../variable.js";
import type { Rngs } from "../rngs.js";
import { ones, zeros, type Initializer } from "../initializers.js";
import { optionalParam } from "./params.js";
import { canonicalizeAxes, computeStats, normalize, sizeAt, type Axes } from "./batchnorm.js";

export interface LayerNormOptions {
  rngs: Rngs;
  /** Added to the variance (default 1e-6). */
  epsilon?: number;
  dtype?: DType | null;
  paramDtype?: DType;
  useBias?: boolean;
  useScale?: boolean;
  biasInit?: Initializer;
  scaleInit?: Initializer;
  /** Axes of the statistics (default -1). */
  reductionAxes?: Axes;
  /** Axes of the learned scale and bias (default -1). */
  featureAxes?: Axes;
}

export class LayerNorm extends Module {
  scale: Param | null;
  bias: Param | null;
  numFeatures: number;
  epsilon: number;
  dtype: DType | null;
  paramDtype: DType;
  useBias: boolean;
  useScale: boolean;
  biasInit: Initializer;
  scaleInit: Initializer;
  reductionAxes: Axes;
  featureAxes: Axes;

  constructor(numFeatures: number, opts: LayerNormOptions) {
    super();
    if (!opts || !opts.rngs) throw new TypeError("LayerNorm: the `rngs` option is required");
    const {
      rngs,
      epsilon = 1e-6,
      dtype = null,
      paramDtype = "float32",
      useBias = true,
      useScale = true,
      biasInit = zeros,
      scaleInit = ones,
      reductionAxes = -1,
      featureAxes = -1,
    } = opts;
    const featureShape = [numFeatures];
    this.scale = optionalParam(useScale, rngs, scaleInit, featureShape, paramDtype);
    this.bias = optionalParam(useBias, rngs, biasInit, featureShape, paramDtype);
    this.numFeatures = numFeatures;
    this.epsilon = epsilon;
    this.dtype = dtype;
    this.paramDtype = paramDtype;
    this.useBias = useBias;
    this.useScale = useScale;
    this.biasInit = biasInit;
    this.scaleInit = scaleInit;
    this.reductionAxes = reductionAxes;
    this.featureAxes = featureAxes;
  }

  call(x: Array): Array {
    const red = canonicalizeAxes("LayerNorm", x.ndim, this.reductionAxes);
    const feat = canonicalizeAxes("LayerNorm", x.ndim, this.featureAxes);
    if ((this.scale || this.bias) && sizeAt(x, feat) !== this.numFeatures)
      throw new TypeError(`LayerNorm: expected input with ${this.numFeatures} features (axis ${JSON.stringify(this.featureAxes)}), got ${x.aval.str()}`);
    const [mean, variance] = computeStats(x, red, this.dtype);
    return normalize(x, mean, variance, this.scale ? this.scale.value : null, this.bias ? this.bias.value : null, red, feat, this.dtype, this.epsilon);
  }
}

export interface RMSNormOptions {
  rngs: Rngs;
  epsilon?: number;
  dtype?: DType | null;
  paramDtype?: DType;
  useScale?: boolean;
  scaleInit?: Initializer;
  reductionAxes?: Axes;
  featureAxes?: Axes;
}

/** RMS normalization: `x * rsqrt(E[x²] + eps) * scale` (no centering, no bias). */
export class RMSNorm extends Module {
  scale: Param | null;
  numFeatures: number;
  epsilon: number;
  dtype: DType | null;
  paramDtype: DType;
  useScale: boolean;
  scaleInit: Initializer;
  reductionAxes: Axes;
  featureAxes: Axes;

  constructor(numFeatures: number, opts: RMSNormOptions) {
    super();
    if (!opts || !opts.rngs) throw new TypeError("RMSNorm: the `rngs` option is required");
    const { rngs, epsilon = 1e-6, dtype = null, paramDtype = "float32", useScale = true, scaleInit = ones, reductionAxes = -1, featureAxes = -1 } = opts;
    this.scale = optionalParam(useScale, rngs, scaleInit, [numFeatures], paramDtype);
    this.numFeatures = numFeatures;
    this.epsilon = epsilon;
    this.dtype = dtype;
    this.paramDtype = paramDtype;
    this.useScale = useScale;
    this.scaleInit = scaleInit;
    this.reductionAxes = reductionAxes;
    this.featureAxes = featureAxes;
  }

  call(x: Array): Array {
    const red = canonicalizeAxes("RMSNorm", x.ndim, this.reductionAxes);
    const feat = canonicalizeAxes("RMSNorm", x.ndim, this.featureAxes);
    if (this.scale && sizeAt(x, feat) !== this.numFeatures)
      throw new TypeError(`RMSNorm: expected input with ${this.numFeatures} features (axis ${JSON.stringify(this.featureAxes)}), got ${x.aval.str()}`);
    const [mean, variance] = computeStats(x, red, this.dtype, false);
    return normalize(x, mean, variance, this.scale ? this.scale.value : null, null, red, feat, this.dtype, this.epsilon);
  }
}
