/**
 * Products: matmul (numpy semantics, batched with broadcast batch dims), dot,
 * tensordot, inner, outer, all through the dot_general primitive.
 */
import { broadcastShapes, normAxis } from "../aval.js";
import type { Array, ArrayLike } from "../array.js";
import { bind1 } from "../interp.js";
import * as P from "../primitives.js";
import { multiply } from "./elementwise.js";
import { ravel, reshape } from "./shape.js";
import { axisRange, broadcastRaw, isJsArray, promote, toArray } from "./util.js";

function dotGeneral(
  a: Array,
  b: Array,
  lhsContracting: readonly number[],
  rhsContracting: readonly number[],
  lhsBatch: readonly number[] = [],
  rhsBatch: readonly number[] = [],
): Array {
  return bind1(P.dotGeneral, [a, b], { lhsContracting, rhsContracting, lhsBatch, rhsBatch });
}

/**
 * Matrix product with numpy's rules: 1-D operands are vectors (the vector
 * axis is dropped from the result), N-D operands are stacks of matrices whose
 * leading (batch) dimensions broadcast.
 */
export function matmul(x: ArrayLike, y: ArrayLike): Array {
  const a0 = toArray("matmul", x);
  const b0 = toArray("matmul", y);
  if (a0.ndim === 0 || b0.ndim === 0)
    throw new TypeError(`matmul: operands must be at least 1-D (use multiply for scalars), got ${a0.aval.str()} @ ${b0.aval.str()}`);
  const ka = a0.shape[a0.ndim - 1];
  const kb = b0.ndim === 1 ? b0.shape[0] : b0.shape[b0.ndim - 2];
  if (ka !== kb) throw new TypeError(`matmul: contracting dimensions differ: ${a0.aval.str()} @ ${b0.aval.str()}`);
  const [a, b] = promote("matmul", [a0, b0]) as [Array, Array];
  const rc = b.ndim === 1 ? 0 : b.ndim - 2;
  // A vector on either side, or a single matrix on the right: no batch dims needed,
  // dot_general's (lhs free, rhs free) output order is already numpy's.
  if (a.ndim === 1 || b.ndim <= 2) return dotGeneral(a, b, [a.ndim - 1], [rc]);
  const batch = broadcastShapes("matmul", a.shape.slice(0, -2), b.shape.slice(0, -2));
  const nb = batch.length;
  const aa = broadcastRaw(a, [...batch, ...a.shape.slice(-2)]);
  const bb = broadcastRaw(b, [...batch, ...b.shape.slice(-2)]);
  const bd = axisRange(nb);
  return dotGeneral(aa, bb, [nb + 1], [nb], bd, bd);
}

/**
 * numpy.dot: scalars multiply; otherwise a sum product over the last axis of
 * x and the second-to-last of y (the only axis of a 1-D y).
 */
export function dot(x: ArrayLike, y: ArrayLike): Array {
  const a0 = toArray("dot", x);
  const b0 = toArray("dot", y);
  if (a0.ndim === 0 || b0.ndim === 0) return multiply(a0, b0);
  const rc = b0.ndim === 1 ? 0 : b0.ndim - 2;
  if (a0.shape[a0.ndim - 1] !== b0.shape[rc])
    throw new TypeError(`dot: contracting dimensions differ: ${a0.aval.str()} and ${b0.aval.str()}`);
  const [a, b] = promote("dot", [a0, b0]) as [Array, Array];
  return dotGeneral(a, b, [a.ndim - 1], [rc]);
}

/** Inner product over the last axes of both operands. */
export function inner(x: ArrayLike, y: ArrayLike): Array {
  const a0 = toArray("inner", x);
  const b0 = toArray("inner", y);
  if (a0.ndim === 0 || b0.ndim === 0) return multiply(a0, b0);
  if (a0.shape[a0.ndim - 1] !== b0.shape[b0.ndim - 1])
    throw new TypeError(`inner: contracting dimensions differ: ${a0.aval.str()} and ${b0.aval.str()}`);
  const [a, b] = promote("inner", [a0, b0]) as [Array, Array];
  return dotGeneral(a, b, [a.ndim - 1], [b.ndim - 1]);
}

/** Outer product of the flattened operands: out[i, j] = x[i] * y[j]. */
export function outer(x: ArrayLike, y: ArrayLike): Array {
  const a = ravel(toArray("outer", x));
  const b = ravel(toArray("outer", y));
  return multiply(reshape(a, [a.size, 1]), reshape(b, [1, b.size]));
}

/**
 * Sum products over axes: `axes = n` contracts the last n axes of x with the
 * first n of y; `axes = [xAxes, yAxes]` names them.
 */
export function tensordot(x: ArrayLike, y: ArrayLike, axes: number | readonly [number | readonly number[], number | readonly number[]] = 2): Array {
  const a0 = toArray("tensordot", x);
  const b0 = toArray("tensordot", y);
  let ac: number[];
  let bc: number[];
  if (typeof axes === "number") {
    if (!Number.isInteger(axes) || axes < 0 || axes > a0.ndim || axes > b0.ndim)
      throw new RangeError(`tensordot: cannot contract ${axes} axes of ${a0.aval.str()} and ${b0.aval.str()}`);
    ac = axisRange(axes, a0.ndim - axes);
    bc = axisRange(axes);
  } else {
    const [xa, ya] = axes;
    const xl = typeof xa === "number" ? [xa] : [...xa];
    const yl = typeof ya === "number" ? [ya] : [...ya];
    if (!isJsArray(xl) || xl.length !== yl.length)
      throw new TypeError(`tensordot: axes lists must have equal lengths, got [${xl}] and [${yl}]`);
    ac = xl.map((d) => normAxis("tensordot", d, a0.ndim));
    bc = yl.map((d) => normAxis("tensordot", d, b0.ndim));
  }
  if (ac.some((d, i) => a0.shape[d] !== b0.shape[bc[i]!]))
    throw new TypeError(`tensordot: contracting dimensions differ: ${a0.aval.str()} axes [${ac}] and ${b0.aval.str()} axes [${bc}]`);
  const [a, b] = promote("tensordot", [a0, b0]) as [Array, Array];
  return dotGeneral(a, b, ac, bc);
}
