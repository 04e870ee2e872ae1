/**
 * Parameter initializers, as `jax.nn.initializers` (which Flax NNX
 * re-exports): an initializer is `(key, shape, dtype?) => Array`.
 *
 * The scalar factors are computed the way JAX computes them — as 0-d arrays
 * of the target dtype (`variance = array(scale / n, dtype)`, then
 * `sqrt(variance) / array(0.87962566103423978, dtype)`, ...) — so the float32
 * rounding, and hence the parameters a seed gives, match Flax.
 */
import { Array, np, random, type DType } from "@refs/core";

/** `(key, shape, dtype = "float32") => Array`. */
export type Initializer = (key: Array, shape: readonly number[], dtype?: DType) => Array;

type FloatDType = "float32" | "float16";

function floatDtype(op: string, dtype: DType | undefined): FloatDType {
  const d = dtype ?? "float32";
  if (d !== "float32" && d !== "float16") throw new TypeError(`${op}: dtype must be a float dtype (float32 or float16), got ${String(d)}`);
  return d;
}

function checkShape(op: string, shape: readonly number[]): number[] {
  if (!globalThis.Array.isArray(shape) || !shape.every((d) => typeof d === "number" && Number.isInteger(d) && d >= 0))
    throw new TypeError(`${op}: shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  return [...shape];
}

/** Zeros (the key is ignored). */
export const zeros: Initializer = (_key, shape, dtype = "float32") => np.zeros(checkShape("zeros", shape), { dtype });
/** Ones (the key is ignored). */
export const ones: Initializer = (_key, shape, dtype = "float32") => np.ones(checkShape("ones", shape), { dtype });

/** Flax's `zeros_init()`: the `zeros` initializer. */
export function zerosInit(): Initializer {
  return zeros;
}
/** Flax's `ones_init()`: the `ones` initializer. */
export function onesInit(): Initializer {
  return ones;
}

/** Arrays full of `value`. */
export function constant(value: number, defaultDtype: DType = "float32"): Initializer {
  return (_key, shape, dtype = defaultDtype) => np.full(checkShape("constant", shape), value, { dtype });
}

/** Uniform in [0, scale): `uniform(key, shape, dtype) * array(scale, dtype)`. */
export function uniform(scale = 1e-2, defaultDtype: DType = "float32"): Initializer {
  return (key, shape, dtype = defaultDtype) => {
    const d = floatDtype("uniform", dtype);
    return random.uniform(key, checkShape("uniform", shape), { dtype: d }).mul(np.array(scale, { dtype: d }));
  };
}

/** Normal with mean 0 and standard deviation `stddev`: `normal(key, shape, dtype) * array(stddev, dtype)`. */
export function normal(stddev = 1e-2, defaultDtype: DType = "float32"): Initializer {
  return (key, shape, dtype = defaultDtype) => {
    const d = floatDtype("normal", dtype);
    return random.normal(key, checkShape("normal", shape), { dtype: d }).mul(np.array(stddev, { dtype: d }));
  };
}

/** Truncated normal on (lower, upper), then scaled by `stddev` (no variance correction). */
export function truncatedNormal(stddev = 1e-2, defaultDtype: DType = "float32", lower = -2.0, upper = 2.0): Initializer {
  return (key, shape, dtype = defaultDtype) => {
    const d = floatDtype("truncatedNormal", dtype);
    return random.truncatedNormal(key, lower, upper, checkShape("truncatedNormal", shape), { dtype: d }).mul(np.array(stddev, { dtype: d }));
  };
}

export type FanMode = "fan_in" | "fan_out" | "fan_avg";
export type Distribution = "truncated_normal" | "normal" | "uniform";
export type Axes = number | readonly number[];

export interface VarianceScalingOptions {
  inAxis?: Axes;
  outAxis?: Axes;
  batchAxis?: Axes;
  dtype?: DType;
}

const at = (shape: readonly number[], i: number): number => {
  const j = i < 0 ? shape.length + i : i;
  if (j < 0 || j >= shape.length) throw new RangeError(`initializer: axis ${i} is out of bounds for a weights tensor of rank ${shape.length}`);
  return shape[j]!;
};
const prodAt = (shape: readonly number[], axes: Axes): number =>
  typeof axes === "number" ? at(shape, axes) : axes.reduce((p, i) => p * at(shape, i), 1);

/** JAX's `_compute_fans`: effective input and output sizes of a weights tensor. */
export function computeFans(shape: readonly number[], inAxis: Axes = -2, outAxis: Axes = -1, batchAxis: Axes = []): [number, number] {
  if (shape.length <= 1)
    throw new Error(`Can't compute input and output sizes of a ${shape.length}-dimensional weights tensor. Must be at least 2D.`);
  const inSize = prodAt(shape, inAxis);
  const outSize = prodAt(shape, outAxis);
  const batchSize = prodAt(shape, batchAxis);
  const total = shape.reduce((a, b) => a * b, 1);
  const receptiveFieldSize = total / inSize / outSize / batchSize;
  return [inSize * receptiveFieldSize, outSize * receptiveFieldSize];
}

/** Stddev of the standard normal truncated to (-2, 2). */
const TRUNC_STDDEV = 0.87962566103423978;

/**
 * JAX's `variance_scaling`: samples with standard deviation
 * `sqrt(scale / n)` (after truncation for "truncated_normal"), n the fan in,
 * fan out or their average.
 */
export function varianceScaling(scale: number, mode: FanMode, distribution: Distribution, opts: VarianceScalingOptions = {}): Initializer {
  const { inAxis = -2, outAxis = -1, batchAxis = [], dtype: defaultDtype = "float32" } = opts;
  if (mode !== "fan_in" && mode !== "fan_out" && mode !== "fan_avg")
    throw new Error(`invalid mode for variance scaling initializer: ${String(mode)}`);
  if (distribution !== "truncated_normal" && distribution !== "normal" && distribution !== "uniform")
    throw new Error(`invalid distribution for variance scaling initializer: ${String(distribution)}`);
  return (key, shape, dtype = defaultDtype) => {
    const d = floatDtype("varianceScaling", dtype);
    const s = checkShape("varianceScaling", shape);
    const [fanIn, fanOut] = computeFans(s, inAxis, outAxis, batchAxis);
    const denominator = mode === "fan_in" ? fanIn : mode === "fan_out" ? fanOut : (fanIn + fanOut) / 2;
    const variance = np.array(scale / denominator, { dtype: d });
    if (distribution === "truncated_normal") {
      const stddev = np.sqrt(variance).div(np.array(TRUNC_STDDEV, { dtype: d }));
      return random.truncatedNormal(key, -2, 2, s, { dtype: d }).mul(stddev);
    }
    if (distribution === "normal") return random.normal(key, s, { dtype: d }).mul(np.sqrt(variance));
    return random.uniform(key, s, { dtype: d, minval: -1 }).mul(np.sqrt(variance.mul(3)));
  };
}
/** Alias of `varianceScaling` (JAX's spelling). */
export const variance_scaling = varianceScaling;

type FanAxes = Omit<VarianceScalingOptions, never>;

/** Glorot (Xavier) uniform: `varianceScaling(1, "fan_avg", "uniform")`. */
export function glorotUniform(opts: FanAxes = {}): Initializer {
  return varianceScaling(1.0, "fan_avg", "uniform", opts);
}
/** Glorot (Xavier) normal: `varianceScaling(1, "fan_avg", "truncated_normal")`. */
export function glorotNormal(opts: FanAxes = {}): Initializer {
  return varianceScaling(1.0, "fan_avg", "truncated_normal", opts);
}
/** LeCun uniform: `varianceScaling(1, "fan_in", "uniform")`. */
export function lecunUniform(opts: FanAxes = {}): Initializer {
  return varianceScaling(1.0, "fan_in", "uniform", opts);
}
/** LeCun normal (Flax's default kernel init): `varianceScaling(1, "fan_in", "truncated_normal")`. */
export function lecunNormal(opts: FanAxes = {}): Initializer {
  return varianceScaling(1.0, "fan_in", "truncated_normal", opts);
}
/** He (Kaiming) uniform: `varianceScaling(2, "fan_in", "uniform")`. */
export function heUniform(opts: FanAxes = {}): Initializer {
  return varianceScaling(2.0, "fan_in", "uniform", opts);
}
/** He (Kaiming) normal: `varianceScaling(2, "fan_in", "truncated_normal")`. */
export function heNormal(opts: FanAxes = {}): Initializer {
  return varianceScaling(2.0, "fan_in", "truncated_normal", opts);
}
export const xavierUniform = glorotUniform;
export const xavierNormal = glorotNormal;
export const kaimingUniform = heUniform;
export const kaimingNormal = heNormal;
