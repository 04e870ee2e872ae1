/**
 * `Linear`: `y = x @ kernel + bias` over the last axis, as Flax NNX's
 * `nnx.Linear` (`flax/nnx/nn/linear.py`): the kernel key is drawn from
 * `rngs.params()` first, then a second `rngs.params()` key for the bias (the
 * zeros initializer ignores it, but the stream's count advances).
 */
import { Array, np, promoteTypes, type DType } from "@refs/core";
import { Module } from "../module.js";
import { Param } from "../variable.js";
import type { Rngs } from "../rngs.js";
import { lecunNormal, zeros, type Initializer } from "../initializers.js";

export interface LinearOptions {
  rngs: Rngs;
  /** Add a bias (default true). */
  useBias?: boolean;
  /** Computation dtype (default: promoted from the input and the parameters). */
  dtype?: DType | null;
  /** Parameter dtype passed to the initializers (default float32). */
  paramDtype?: DType;
  /** Kernel initializer (default `lecunNormal()`). */
  kernelInit?: Initializer;
  /** Bias initializer (default zeros). */
  biasInit?: Initializer;
}

/** Flax's `dtypes.promote_dtype`: every array converted to `dtype`, or to their common (inexact) type. */
export function promoteDtype(arrays: readonly (Array | null)[], dtype: DType | null | undefined, inexact = true): (Array | null)[] {
  const present = arrays.filter((a): a is Array => a !== null);
  let d: DType;
  if (dtype) d = dtype;
  else {
    d = promoteTypes(...present.map((a) => ({ dtype: a.dtype, weakType: a.weakType }))).dtype;
    if (inexact && d !== "float32" && d !== "float16") d = promoteTypes({ dtype: d, weakType: false }, { dtype: "float32", weakType: false }).dtype;
  }
  return arrays.map((a) => (a === null || (a.dtype === d && !a.weakType) ? a : a.astype(d)));
}

export class Linear extends Module {
  kernel: Param;
  bias: Param | null;
  inFeatures: number;
  outFeatures: number;
  useBias: boolean;
  dtype: DType | null;
  paramDtype: DType;
  kernelInit: Initializer;
  biasInit: Initializer;

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions) {
    super();
    if (!opts || !opts.rngs) throw new TypeError("Linear: the `rngs` option is required");
    const { rngs, useBias = true, dtype = null, paramDtype = "float32", kernelInit = lecunNormal(), biasInit = zeros } = opts;
    const kernelKey = rngs.params();
    this.kernel = new Param(kernelInit(kernelKey, [inFeatures, outFeatures], paramDtype));
    if (useBias) {
      const biasKey = rngs.params();
      this.bias = new Param(biasInit(biasKey, [outFeatures], paramDtype));
    } else {
      this.bias = null;
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.useBias = useBias;
    this.dtype = dtype;
    this.paramDtype = paramDtype;
    this.kernelInit = kernelInit;
    this.biasInit = biasInit;
  }

  call(x: Array): Array {
    x = np.asarray(x);
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== this.inFeatures)
      throw new TypeError(`Linear: expected input with ${this.inFeatures} features (last axis), got ${x.aval.str()}`);
    const [inputs, kernel, bias] = promoteDtype([x, this.kernel.value, this.bias ? this.bias.value : null], this.dtype) as [Array, Array, Array | null];
    // lax.dot_general(inputs, kernel, (((inputs.ndim - 1,), (0,)), ((), ())))
    let y = np.dot(inputs, kernel);
    if (bias !== null) y = y.add(bias.reshape([...new globalThis.Array<number>(y.ndim - 1).fill(1), -1]));
    return y;
  }
}
