/**
 * AD rules of dot_general (bilinear): the JVP is dot(tx, y) + dot(x, ty); the
 * VJP contracts the output cotangent with the other operand over its free
 * axes and transposes the result back into the operand's axis order (JAX's
 * `_dot_general_transpose_lhs/rhs`).
 */
import { Array, bind1, isFloat, primitives as P, type Params } from "@refs/core";
import { defJvp, defVjp } from "../../ad.js";
import { range, sumCts } from "./util.js";

interface Dims {
  lhsContracting: readonly number[];
  rhsContracting: readonly number[];
  lhsBatch: readonly number[];
  rhsBatch: readonly number[];
}

const dimsOf = (p: Params): Dims => ({
  lhsContracting: p["lhsContracting"] as readonly number[],
  rhsContracting: p["rhsContracting"] as readonly number[],
  lhsBatch: p["lhsBatch"] as readonly number[],
  rhsBatch: p["rhsBatch"] as readonly number[],
});

const dot = (a: Array, b: Array, d: Dims): Array => bind1(P.dotGeneral, [a, b], { ...d });

const remaining = (n: number, ...removed: (readonly number[])[]) => range(0, n).filter((i) => !removed.some((r) => r.includes(i)));

function argsort(xs: readonly number[]): number[] {
  return xs.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]).map(([, i]) => i);
}

/**
 * Cotangent of the lhs `x` of out = dot_general(x, y, d), from the output
 * cotangent g. With `swapAns`, the output's free axes are (y free, x free)
 * (used for the rhs, by swapping roles).
 */
function transposeLhs(g: Array, x: { ndim: number }, y: Array, d: Dims, swapAns: boolean): Array {
  const { lhsContracting: xc, rhsContracting: yc, lhsBatch: xb, rhsBatch: yb } = d;
  const xKept = remaining(x.ndim, xc, xb);
  const yKept = remaining(y.ndim, yc, yb);
  const nb = xb.length;
  const ansBatch = range(0, nb);
  const ansY = swapAns ? range(nb, nb + yKept.length) : range(nb + xKept.length, nb + xKept.length + yKept.length);
  const r = dot(g, y, { lhsContracting: ansY, rhsContracting: yKept, lhsBatch: ansBatch, rhsBatch: yb });
  // r's axes: batch, x kept (g's free axes), then y's contracting axes in y order.
  const order = argsort(yc);
  const xcSortedByY = order.map((i) => xc[i]!);
  const outAxes = argsort([...xb, ...xKept, ...xcSortedByY]);
  return outAxes.every((p, i) => p === i) ? r : bind1(P.transpose, [r], { permutation: outAxes });
}

defJvp(P.dotGeneral, ([x, y], [tx, ty], params) => {
  const d = dimsOf(params);
  const out = dot(x!, y!, d);
  if (!isFloat(out.dtype)) return [[out], [null]];
  return [[out], [sumCts([tx ? dot(tx, y!, d) : null, ty ? dot(x!, ty, d) : null])]];
});

defVjp(P.dotGeneral, ([g], [x, y], _outs, params) => {
  if (!g || !isFloat(x!.dtype)) return [null, null];
  const d = dimsOf(params);
  const swapped: Dims = { lhsContracting: d.rhsContracting, rhsContracting: d.lhsContracting, lhsBatch: d.rhsBatch, rhsBatch: d.lhsBatch };
  return [transposeLhs(g, x!, y!, d, false), transposeLhs(g, y!, x!, swapped, true)];
});
