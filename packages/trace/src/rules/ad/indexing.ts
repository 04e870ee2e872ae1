/**
 * AD rules of gather/scatter and dynamic slicing. Indices never carry
 * derivatives. Out-of-range indices follow the primitives' own semantics:
 * gather clamps (so its transpose scatters into the clamped positions) and
 * scatters drop (so dropped updates get a zero cotangent).
 */
import { Array, bind1, isFloat, primitives as P, type Params } from "@refs/core";
import { defJvp, defVjp } from "../../ad.js";
import { add, and, bcastInDim, eq, full, ge, inst, iota, lt, range, reshape, select, size, zerosLike } from "./util.js";

const axisOf = (p: Params) => p["axis"] as number;

/** Indices clamped into [0, n - 1], as gather reads them. */
function clampIndices(idx: Array, n: number): Array {
  const lo = bind1(P.max, [idx, full(idx.shape, "int32", 0)]);
  return bind1(P.min, [lo, full(idx.shape, "int32", Math.max(0, n - 1))]);
}

/** Broadcast a per-index mask (idx's shape) to the shape of the updates. */
function updatesMask(mask: Array, axis: number, updShape: readonly number[]): Array {
  return bcastInDim(mask, updShape, range(axis, axis + mask.ndim));
}

// ---- gather ---------------------------------------------------------------------------

defJvp(P.gather, ([x, idx], [t], params) => {
  const out = bind1(P.gather, [x!, idx!], params);
  return [[out], [t && isFloat(x!.dtype) ? bind1(P.gather, [t, idx!], params) : null]];
});
defVjp(P.gather, ([ct], [x, idx], _outs, params) => {
  if (!ct || !isFloat(x!.dtype)) return [null, null];
  const axis = axisOf(params);
  const clamped = clampIndices(idx!, x!.shape[axis]!);
  return [bind1(P.scatterAdd, [zerosLike(x!), clamped, ct], params), null];
});

// ---- scatter_add ------------------------------------------------------------------------

defJvp(P.scatterAdd, ([x, idx, u], [tx, , tu], params) => {
  const out = bind1(P.scatterAdd, [x!, idx!, u!], params);
  if (!isFloat(x!.dtype) || (!tx && !tu)) return [[out], [null]];
  if (!tu) return [[out], [tx!]];
  return [[out], [bind1(P.scatterAdd, [inst(tx ?? null, x!), idx!, tu], params)]];
});
defVjp(P.scatterAdd, ([ct], [x, idx, u], _outs, params) => {
  if (!ct || !isFloat(x!.dtype)) return [null, null, null];
  const axis = axisOf(params);
  const n = x!.shape[axis]!;
  const inRange = and(ge(idx!, full(idx!.shape, "int32", 0)), lt(idx!, full(idx!.shape, "int32", n)));
  const g = bind1(P.gather, [ct, idx!], params);
  return [ct, null, select(updatesMask(inRange, axis, u!.shape), g, zerosLike(g))];
});

// ---- scatter (last write wins) ---------------------------------------------------------------

/**
 * Which updates land (are not overwritten by a later duplicate, nor dropped
 * out of range): scatter each update's id and read the ids back (JAX's trick
 * for scatter with non-unique indices).
 */
function winners(x: Array, idx: Array, u: Array, params: Params): Array {
  const ids = add(reshape(iota("int32", [size(u.shape)], 0), u.shape), full(u.shape, "int32", 1));
  const written = bind1(P.scatter, [full(x.shape, "int32", 0), idx, ids], params);
  return eq(bind1(P.gather, [written, idx], params), ids);
}

defJvp(P.scatter, ([x, idx, u], [tx, , tu], params) => {
  const out = bind1(P.scatter, [x!, idx!, u!], params);
  if (!isFloat(x!.dtype) || (!tx && !tu)) return [[out], [null]];
  return [[out], [bind1(P.scatter, [inst(tx ?? null, x!), idx!, inst(tu ?? null, u!)], params)]];
});
defVjp(P.scatter, ([ct], [x, idx, u], _outs, params) => {
  if (!ct || !isFloat(x!.dtype)) return [null, null, null];
  const cx = bind1(P.scatter, [ct, idx!, zerosLike(u!)], params);
  const g = bind1(P.gather, [ct, idx!], params);
  const cu = select(winners(x!, idx!, u!, params), g, zerosLike(g));
  return [cx, null, cu];
});

// ---- dynamic_slice / dynamic_update_slice ------------------------------------------------------

defJvp(P.dynamicSlice, ([x, ...starts], [t], params) => {
  const out = bind1(P.dynamicSlice, [x!, ...starts], params);
  return [[out], [t && isFloat(x!.dtype) ? bind1(P.dynamicSlice, [t, ...starts], params) : null]];
});
defVjp(P.dynamicSlice, ([ct], [x, ...starts]) => {
  if (!ct || !isFloat(x!.dtype)) return [null, ...starts.map(() => null)];
  return [bind1(P.dynamicUpdateSlice, [zerosLike(x!), ct, ...starts]), ...starts.map(() => null)];
});

defJvp(P.dynamicUpdateSlice, ([x, u, ...starts], [tx, tu]) => {
  const out = bind1(P.dynamicUpdateSlice, [x!, u!, ...starts]);
  if (!isFloat(x!.dtype) || (!tx && !tu)) return [[out], [null]];
  return [[out], [bind1(P.dynamicUpdateSlice, [inst(tx ?? null, x!), inst(tu ?? null, u!), ...starts])]];
});
defVjp(P.dynamicUpdateSlice, ([ct], [x, u, ...starts]) => {
  const none = starts.map(() => null);
  if (!ct || !isFloat(x!.dtype)) return [null, null, ...none];
  const cx = bind1(P.dynamicUpdateSlice, [ct, zerosLike(u!), ...starts]);
  const cu = bind1(P.dynamicSlice, [ct, ...starts], { sliceSizes: [...u!.shape] });
  return [cx, cu, ...none];
});
