/**
 * AD rules of reductions, cumsum and sort.
 */
import { Array, bind, bind1, isFloat, primitives as P, type Params } from "@refs/core";
import { defJvp, defNonDiff, defVjp, type Ct } from "../../ad.js";
import {
  and,
  convert,
  div,
  eq,
  fullLike,
  iota,
  mul,
  putAlong,
  reduceSum,
  select,
  takeAlong,
  unreduce,
  zerosLike,
} from "./util.js";

const axesOf = (params: Params) => params["axes"] as readonly number[];

// ---- reduce_sum ---------------------------------------------------------------

defJvp(P.reduceSum, ([x], [t], params) => [[bind1(P.reduceSum, [x!], params)], [t ? bind1(P.reduceSum, [t], params) : null]]);
defVjp(P.reduceSum, ([ct], [x], _outs, params) => [ct ? unreduce(ct, x!.shape, axesOf(params)) : null]);

// ---- reduce_max / reduce_min ----------------------------------------------------------

/**
 * The positions equal to the result, as 0/1 in x's dtype, and their count:
 * the derivative is shared evenly among ties (as JAX).
 */
function extremumWeights(x: Array, out: Array, axes: readonly number[]): Array {
  const loc = convert(eq(x, unreduce(out, x.shape, axes)), x.dtype);
  const count = reduceSum(loc, axes);
  return div(loc, unreduce(count, x.shape, axes));
}

for (const prim of [P.reduceMax, P.reduceMin]) {
  defJvp(prim, ([x], [t], params) => {
    const out = bind1(prim, [x!], params);
    if (!t || !isFloat(x!.dtype)) return [[out], [null]];
    const w = extremumWeights(x!, out, axesOf(params));
    return [[out], [reduceSum(mul(t, w), axesOf(params))]];
  });
  defVjp(prim, ([ct], [x], [out], params) => {
    if (!ct || !isFloat(x!.dtype)) return [null];
    const axes = axesOf(params);
    return [mul(unreduce(ct, x!.shape, axes), extremumWeights(x!, out!, axes))];
  });
}

// ---- reduce_prod -----------------------------------------------------------------------

/**
 * d prod / d x_j, safe at zeros: with no zero among the reduced elements it is
 * prod / x_j; with exactly one zero, the product of the others at the zero and
 * 0 elsewhere; with two or more zeros, 0.
 */
function prodPartials(x: Array, axes: readonly number[]): Array {
  const zero = zerosLike(x);
  const one = fullLike(x, 1);
  const isZero = eq(x, zero);
  const safe = select(isZero, one, x);
  const prodNonZero = unreduce(bind1(P.reduceProd, [safe], { axes: [...axes] }), x.shape, axes);
  const zeros = unreduce(reduceSum(convert(isZero, x.dtype), axes), x.shape, axes);
  const noZero = eq(zeros, zero);
  const oneZeroHere = and(eq(zeros, one), isZero);
  return select(noZero, div(prodNonZero, safe), select(oneZeroHere, prodNonZero, zero));
}

defJvp(P.reduceProd, ([x], [t], params) => {
  const out = bind1(P.reduceProd, [x!], params);
  if (!t || !isFloat(x!.dtype)) return [[out], [null]];
  return [[out], [reduceSum(mul(t, prodPartials(x!, axesOf(params))), axesOf(params))]];
});
defVjp(P.reduceProd, ([ct], [x], _outs, params) => {
  if (!ct || !isFloat(x!.dtype)) return [null];
  const axes = axesOf(params);
  return [mul(unreduce(ct, x!.shape, axes), prodPartials(x!, axes))];
});

// ---- cumsum ------------------------------------------------------------------------------

defJvp(P.cumsum, ([x], [t], params) => [[bind1(P.cumsum, [x!], params)], [t ? bind1(P.cumsum, [t], params) : null]]);
defVjp(P.cumsum, ([ct], _ins, _outs, params) => [
  ct ? bind1(P.cumsum, [ct], { axis: params["axis"] as number, reverse: !(params["reverse"] as boolean) }) : null,
]);

defNonDiff(P.argmax, P.argmin);

// ---- sort ------------------------------------------------------------------------------------

/** The permutation a sort applies along its dimension (stable, so it matches the sort itself). */
function sortPermutation(keys: readonly Array[], params: Params): Array {
  const dimension = params["dimension"] as number;
  const numKeys = params["numKeys"] as number;
  const outs = bind(P.sort, [...keys.slice(0, numKeys), iota("int32", keys[0]!.shape, dimension)], { dimension, numKeys });
  return outs[numKeys] as Array;
}

defJvp(P.sort, (primals, tangents, params) => {
  const dimension = params["dimension"] as number;
  const numKeys = params["numKeys"] as number;
  const res = bind(P.sort, [...primals, iota("int32", primals[0]!.shape, dimension)], { dimension, numKeys }) as Array[];
  const perm = res[primals.length]!;
  const outs = res.slice(0, primals.length);
  const touts: Ct[] = primals.map((x, i) => {
    const t = tangents[i] ?? null;
    return t && isFloat(x.dtype) ? takeAlong(t, perm, dimension) : null;
  });
  return [outs, touts];
});
defVjp(P.sort, (cts, ins, _outs, params) => {
  if (cts.every((c) => !c)) return ins.map(() => null);
  const perm = sortPermutation(ins, params);
  const dimension = params["dimension"] as number;
  return ins.map((x, i) => {
    const ct = cts[i] ?? null;
    return ct && isFloat(x.dtype) ? putAlong(ct, perm, dimension) : null;
  });
});
