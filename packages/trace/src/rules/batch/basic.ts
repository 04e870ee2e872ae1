/**
 * Batching rules for elementwise, shape, reduction, sort/cumsum and
 * dot_general primitives. Rules canonicalise the batch axis to 0 (moving it
 * with transpose, broadcasting unbatched partners of elementwise ops), then
 * shift the primitive's axis params by one.
 */
import { Array, allPrimitives, bind, bind1, primitives as P, type Primitive } from "@refs/core";
import { defBatch, type BatchRule, type BDim } from "../../batching.js";
import { broadcastLeading, full, moveBdim, toFront } from "./util.js";

const shift = (axes: readonly number[]) => axes.map((a) => a + 1);

// ---- elementwise -------------------------------------------------------------------------

/** Every operand with the same batch axis (broadcasting unbatched ones); outputs keep it. */
function elementwiseFor(p: Primitive): BatchRule {
  return (args, dims, params, size) => {
    const batched = dims.filter((d): d is number => d !== null);
    const same = dims.every((d) => d !== null && d === batched[0]);
    const d = same ? batched[0]! : 0;
    const ins = same ? args : args.map((x, i) => toFront(x, dims[i]!, size));
    const outs = bind(p, ins, params) as Array[];
    return [outs, outs.map(() => d)];
  };
}

for (const p of allPrimitives()) if (p.elementwise) defBatch(p, elementwiseFor(p));

// ---- creation and shape ---------------------------------------------------------------------

// iota has no operands, so it is never batched; the interpreter binds it as is.
defBatch(P.iota, (_args, _dims, params) => [[bind1(P.iota, [], params)], [null]]);

defBatch(P.broadcastInDim, ([x], [d], params, size) => {
  const { shape, broadcastDimensions } = params as { shape: readonly number[]; broadcastDimensions: readonly number[] };
  const xb = toFront(x!, d!, size);
  return [[bind1(P.broadcastInDim, [xb], { shape: [size, ...shape], broadcastDimensions: [0, ...shift(broadcastDimensions)] })], [0]];
});

defBatch(P.reshape, ([x], [d], params, size) => {
  const { newSizes } = params as { newSizes: readonly number[] };
  return [[bind1(P.reshape, [toFront(x!, d!, size)], { newSizes: [size, ...newSizes] })], [0]];
});

defBatch(P.transpose, ([x], [d], params, size) => {
  const { permutation } = params as { permutation: readonly number[] };
  return [[bind1(P.transpose, [toFront(x!, d!, size)], { permutation: [0, ...shift(permutation)] })], [0]];
});

defBatch(P.slice, ([x], [d], params, size) => {
  const { startIndices, limitIndices, strides } = params as { startIndices: readonly number[]; limitIndices: readonly number[]; strides: readonly number[] };
  const out = bind1(P.slice, [toFront(x!, d!, size)], {
    startIndices: [0, ...startIndices],
    limitIndices: [size, ...limitIndices],
    strides: [1, ...strides],
  });
  return [[out], [0]];
});

defBatch(P.pad, ([x, v], [dx, dv], params, size) => {
  const { lo, hi, interior } = params as { lo: readonly number[]; hi: readonly number[]; interior: readonly number[] };
  const bp = { lo: [0, ...lo], hi: [0, ...hi], interior: [0, ...interior] };
  const xb = toFront(x!, dx!, size);
  if (dv === null) return [[bind1(P.pad, [xb, v!], bp)], [0]];
  // A batched padding value: pad with anything, then select the value where the mask says "padding".
  const padded = bind1(P.pad, [xb, full(0, xb.dtype, [])], bp);
  const mask = bind1(P.pad, [full(true, "bool", xb.shape), full(false, "bool", [])], bp);
  const vb = broadcastLeading(moveBdim(v!, dv!, 0), padded.shape);
  return [[bind1(P.select, [mask, padded, vb])], [0]];
});

defBatch(P.concatenate, (args, dims, params, size) => {
  const { dimension } = params as { dimension: number };
  return [[bind1(P.concatenate, args.map((x, i) => toFront(x, dims[i]!, size)), { dimension: dimension + 1 })], [0]];
});

defBatch(P.rev, ([x], [d], params, size) => {
  const { dimensions } = params as { dimensions: readonly number[] };
  return [[bind1(P.rev, [toFront(x!, d!, size)], { dimensions: shift(dimensions) })], [0]];
});

// ---- reductions, arg reductions, cumsum, sort -------------------------------------------------------

for (const p of [P.reduceSum, P.reduceProd, P.reduceMax, P.reduceMin])
  defBatch(p, ([x], [d], params, size) => {
    const { axes } = params as { axes: readonly number[] };
    return [[bind1(p, [toFront(x!, d!, size)], { ...params, axes: shift(axes) })], [0]];
  });

for (const p of [P.argmax, P.argmin])
  defBatch(p, ([x], [d], params, size) => {
    const { axis } = params as { axis: number };
    return [[bind1(p, [toFront(x!, d!, size)], { ...params, axis: axis + 1 })], [0]];
  });

defBatch(P.cumsum, ([x], [d], params, size) => {
  const { axis } = params as { axis: number };
  return [[bind1(P.cumsum, [toFront(x!, d!, size)], { ...params, axis: axis + 1 })], [0]];
});

defBatch(P.sort, (args, dims, params, size) => {
  const { dimension } = params as { dimension: number };
  const outs = bind(P.sort, args.map((x, i) => toFront(x, dims[i]!, size)), { ...params, dimension: dimension + 1 }) as Array[];
  return [outs, outs.map(() => 0)];
});

// ---- dot_general ------------------------------------------------------------------------------------

defBatch(P.dotGeneral, ([x, y], [dx, dy], params) => {
  const { lhsContracting, rhsContracting, lhsBatch, rhsBatch } = params as unknown as P.DotGeneralParams;
  const lx = dx === null ? x! : moveBdim(x!, dx, 0);
  const ry = dy === null ? y! : moveBdim(y!, dy, 0);
  const sh = (axes: readonly number[], b: BDim) => (b === null ? [...axes] : shift(axes));
  let p: P.DotGeneralParams = {
    lhsContracting: sh(lhsContracting, dx!),
    rhsContracting: sh(rhsContracting, dy!),
    lhsBatch: sh(lhsBatch, dx!),
    rhsBatch: sh(rhsBatch, dy!),
  };
  let outDim: number;
  if (dx !== null && dy !== null) {
    // Both batched: the mapped axis becomes the first dot batch axis.
    p = { ...p, lhsBatch: [0, ...p.lhsBatch], rhsBatch: [0, ...p.rhsBatch] };
    outDim = 0;
  } else if (dx !== null) {
    // The mapped axis is lhs's first free axis: after the batch axes.
    outDim = lhsBatch.length;
  } else {
    // rhs's first free axis: after the batch axes and lhs's free axes.
    outDim = lhsBatch.length + (x!.ndim - lhsBatch.length - lhsContracting.length);
  }
  return [[bind1(P.dotGeneral, [lx, ry], p)], [outDim]];
});
