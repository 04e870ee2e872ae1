/**
 * Activation functions, as `jax.nn` (which Flax NNX re-exports), written op
 * for op like JAX's definitions so float32 results round the same way.
 */
import { Array, isFloat, np, type ArrayLike, type Axis, type DType } from "@refs/core";
import { stopGradient } from "@refs/trace";

/** An Array, converted to float32 when it is not a float already (JAX's promote_args_inexact). */
function inexact(x: ArrayLike): Array {
  const a = np.asarray(x);
  return isFloat(a.dtype) ? a : a.astype("float32");
}

/** `max(x, 0)`; the derivative at 0 is 0 (as JAX's custom JVP). */
export function relu(x: ArrayLike): Array {
  const a = np.asarray(x);
  return np.where(a.gt(0), a, np.zerosLike(a));
}

/** `min(max(x, 0), 6)`. */
export function relu6(x: ArrayLike): Array {
  const a = np.asarray(x);
  return np.minimum(np.maximum(a, 0), 6.0);
}

/** The logistic sigmoid `1 / (1 + exp(-x))`. */
export function sigmoid(x: ArrayLike): Array {
  return np.sigmoid(x);
}

/** SiLU (swish): `x * sigmoid(x)`. */
export function silu(x: ArrayLike): Array {
  const a = inexact(x);
  return a.mul(np.sigmoid(a));
}
export const swish = silu;

/** Hyperbolic tangent. */
export function tanh(x: ArrayLike): Array {
  return np.tanh(x);
}

/**
 * GELU. With `approximate` (the default, as JAX and Flax):
 * `x * (0.5 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x**3))))`;
 * else the exact form `0.5 * x * erfc(-x * sqrt(1/2))`.
 */
export function gelu(x: ArrayLike, approximate = true): Array {
  const a = inexact(x);
  if (approximate) {
    const sqrt2OverPi = np.array(Math.sqrt(2 / Math.PI), { dtype: a.dtype });
    const cdf = np.tanh(sqrt2OverPi.mul(a.add(a.pow(3).mul(0.044715)))).add(1.0).mul(0.5);
    return a.mul(cdf);
  }
  const sqrtHalf = np.array(Math.sqrt(0.5), { dtype: a.dtype });
  // erfc(z) = 1 - erf(z)
  const erfc = np.subtract(1, np.erf(a.neg().mul(sqrtHalf)));
  return a.mul(0.5).mul(erfc);
}

/** ELU: `x` for x > 0, else `alpha * (exp(x) - 1)`. */
export function elu(x: ArrayLike, alpha: ArrayLike = 1.0): Array {
  const a = inexact(x);
  const pos = a.gt(0);
  return np.where(pos, a, np.multiply(alpha, np.expm1(np.where(pos, 0.0, a))));
}

/** CELU: `max(x, 0) + alpha * expm1(min(x, 0) / alpha)`. */
export function celu(x: ArrayLike, alpha: ArrayLike = 1.0): Array {
  const a = inexact(x);
  return np.maximum(a, 0.0).add(np.multiply(alpha, np.expm1(np.divide(np.minimum(a, 0.0), alpha))));
}

/** SELU: `scale * elu(x, alpha)` with the self-normalizing constants. */
export function selu(x: ArrayLike): Array {
  const alpha = 1.6732632423543772848170429916717;
  const scale = 1.0507009873554804934193349852946;
  return elu(x, alpha).mul(scale);
}

/** Leaky ReLU: `x` for x >= 0, else `negativeSlope * x`. */
export function leakyRelu(x: ArrayLike, negativeSlope: ArrayLike = 1e-2): Array {
  const a = np.asarray(x);
  return np.where(a.ge(0), a, np.multiply(negativeSlope, a));
}

/** `logaddexp(x1, x2)` as jnp: `max + log1p(exp(-|x1 - x2|))`, NaN-safe. */
function logaddexp(x1: Array, x2: ArrayLike): Array {
  const amax = np.maximum(x1, x2);
  const delta = np.subtract(x1, x2);
  return np.where(np.isnan(delta), np.add(x1, x2), amax.add(np.log1p(np.exp(np.abs(delta).neg()))));
}

/** Softplus `log(1 + exp(x))`, computed as `logaddexp(x, 0)`. */
export function softplus(x: ArrayLike): Array {
  return logaddexp(inexact(x), 0);
}

/** Log-sigmoid: `-softplus(-x)`. */
export function logSigmoid(x: ArrayLike): Array {
  return softplus(inexact(x).neg()).neg();
}

/** Soft sign: `x / (|x| + 1)`. */
export function softSign(x: ArrayLike): Array {
  const a = inexact(x);
  return a.div(a.abs().add(1));
}

/** Hard tanh: clip to [-1, 1]. */
export function hardTanh(x: ArrayLike): Array {
  const a = np.asarray(x);
  return np.where(a.gt(1), 1, np.where(a.lt(-1), -1, a));
}

/**
 * Softmax along `axis` (default the last): `exp(x - max) / sum(exp(x - max))`.
 * The max is a constant for differentiation (softmax is shift-invariant).
 */
export function softmax(x: ArrayLike, axis: Axis = -1): Array {
  const a = inexact(x);
  const xMax = stopGradient(a.max({ axis, keepdims: true }));
  const unnormalized = np.exp(a.sub(xMax));
  return unnormalized.div(unnormalized.sum({ axis, keepdims: true }));
}

/** Log-softmax along `axis`: `shifted - log(sum(exp(shifted)))`, `shifted = x - max`. */
export function logSoftmax(x: ArrayLike, axis: Axis = -1): Array {
  const a = inexact(x);
  const xMax = a.max({ axis, keepdims: true });
  const shifted = a.sub(stopGradient(xMax));
  const shiftedLogsumexp = np.log(np.exp(shifted).sum({ axis, keepdims: true }));
  return shifted.sub(shiftedLogsumexp);
}

/** Standardize along `axis`: `(x - mean) * rsqrt(var + epsilon)`, var as `E[x²] - E[x]²`. */
export function standardize(x: ArrayLike, axis: Axis = -1, epsilon = 1e-5): Array {
  const a = inexact(x);
  const mean = a.mean({ axis, keepdims: true });
  const variance = a.square().mean({ axis, keepdims: true }).sub(mean.square());
  return a.sub(mean).mul(np.rsqrt(variance.add(epsilon)));
}

export interface OneHotOptions {
  /** Result dtype (default float32). */
  dtype?: DType;
  /** Where the class axis goes in the result (default last). */
  axis?: number;
}

/** One-hot encoding: `labels[..., None] == arange(numClasses)`, as `dtype`. */
export function oneHot(labels: ArrayLike, numClasses: number, opts: OneHotOptions = {}): Array {
  if (!Number.isInteger(numClasses) || numClasses < 0)
    throw new TypeError(`oneHot: numClasses must be a non-negative integer, got ${String(numClasses)}`);
  const x = np.asarray(labels);
  const dtype = opts.dtype ?? "float32";
  const outNdim = x.ndim + 1;
  let axis = opts.axis ?? -1;
  if (axis < -outNdim || axis >= outNdim) throw new RangeError(`oneHot: axis ${axis} is out of bounds for a result of rank ${outNdim}`);
  if (axis < 0) axis += outNdim;
  const lhs = np.expandDims(x, axis);
  const rhsShape = new globalThis.Array<number>(outNdim).fill(1);
  rhsShape[axis] = numClasses;
  const rhs = np.arange(numClasses, { dtype: x.dtype }).reshape(rhsShape);
  return np.equal(lhs, rhs).astype(dtype);
}
