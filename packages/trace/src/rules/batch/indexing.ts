/**
 * Batching rules for gather, scatter, scatter_add, dynamic_slice and
 * dynamic_update_slice.
 *
 * When only the operand is batched, the batch axis is just one more axis of
 * the operand. When the indices are batched, the batch is linearised into the
 * index: the operand is laid out as [B * A, rest...] (A the indexed axis) and
 * example b's index i becomes b * A + i (after clamping i into [0, A) for
 * reads, or sending it out of range for updates), so one single-axis
 * gather/scatter does all examples. Dynamic slices with batched starts are
 * expressed as such gathers/scatters.
 */
import { Array, bind1, primitives as P, type Primitive } from "@refs/core";
import { defBatch, type BatchRule, type BDim } from "../../batching.js";
import { bin, broadcastLeading, clampScalar, full, iotaI32, moveBdim, range, reshape, toFront, toI32, transpose } from "./util.js";

/** The batched gather: x (batch at dx), idx (batch at di), gathering along per-example `axis`. */
export function batchGather(x: Array, dx: BDim, idx: Array, di: BDim, axis: number, size: number): [Array, number] {
  if (di === null) {
    const xb = moveBdim(x, dx!, 0);
    return [bind1(P.gather, [xb, idx], { axis: axis + 1 }), 0];
  }
  if (dx === null) {
    // out = x.shape[:axis] + idx.shape + x.shape[axis+1:]: the batch axis lands at axis + di.
    return [bind1(P.gather, [x, idx], { axis }), axis + di];
  }
  // Both batched: linearise.
  const xb = moveBdim(x, dx, 0); // [B, ...xs]
  const ib = moveBdim(idx, di, 0); // [B, ...I]
  const nd = xb.ndim - 1;
  const A = xb.shape[axis + 1]!;
  const rest = range(0, nd).filter((a) => a !== axis); // per-example axes other than `axis`
  const xt = transpose(xb, [0, axis + 1, ...rest.map((a) => a + 1)]); // [B, A, rest...]
  const xf = reshape(xt, [size * A, ...rest.map((a) => xb.shape[a + 1]!)]);
  const clamped = clampScalar(ib, 0, A - 1);
  const offs = bin(P.mul, broadcastLeading(iotaI32([size], 0), ib.shape), full(A, "int32", ib.shape));
  const lin = bin(P.add, clamped, offs);
  const g = bind1(P.gather, [xf, lin], { axis: 0 }); // [B, ...I, rest...]
  const nI = ib.ndim - 1;
  // Reorder to [B, pre..., I..., post...].
  const pre = range(0, axis).map((k) => 1 + nI + k);
  const post = range(axis, nd - 1).map((k) => 1 + nI + k);
  const I = range(1, 1 + nI);
  return [transpose(g, [0, ...pre, ...I, ...post]), 0];
}

function gatherRule(): BatchRule {
  return ([x, idx], [dx, di], params, size) => {
    const { axis } = params as { axis: number };
    const [out, d] = batchGather(x!, dx!, idx!, di!, axis, size);
    return [[out], [d]];
  };
}
defBatch(P.gather, gatherRule());

/** The batched scatter/scatter_add; the result has its batch axis at 0. */
export function batchScatter(prim: Primitive<any>, x: Array, dx: BDim, idx: Array, di: BDim, u: Array, du: BDim, axis: number, size: number): Array {
  const xb = toFront(x, dx, size);
  const ub = toFront(u, du, size);
  if (di === null) return bind1(prim, [xb, idx, ub], { axis: axis + 1 });
  const ib = moveBdim(idx, di, 0); // [B, ...I]
  const nd = xb.ndim - 1;
  const A = xb.shape[axis + 1]!;
  const rest = range(0, nd).filter((a) => a !== axis);
  const restSizes = rest.map((a) => xb.shape[a + 1]!);
  const xf = reshape(transpose(xb, [0, axis + 1, ...rest.map((a) => a + 1)]), [size * A, ...restSizes]);
  // In-range indices are linearised; the others go to -1, which the scatter drops.
  const inRange = bin(P.and, bin(P.ge, ib, full(0, "int32", ib.shape)), bin(P.lt, ib, full(A, "int32", ib.shape)));
  const offs = bin(P.mul, broadcastLeading(iotaI32([size], 0), ib.shape), full(A, "int32", ib.shape));
  const lin = bind1(P.select, [inRange, bin(P.add, ib, offs), full(-1, "int32", ib.shape)]);
  // updates [B, pre..., I..., post...] → [B, I..., pre..., post...]
  const nI = ib.ndim - 1;
  const pre = range(1, 1 + axis);
  const I = range(1 + axis, 1 + axis + nI);
  const post = range(1 + axis + nI, ub.ndim);
  const ut = transpose(ub, [0, ...I, ...pre, ...post]);
  const uf = reshape(ut, [...ib.shape, ...restSizes]);
  const out = bind1(prim, [xf, lin, uf], { axis: 0 }); // [B*A, rest...]
  const o = reshape(out, [size, A, ...restSizes]); // [B, A, pre..., post...]
  // Back to [B, pre..., A, post...].
  const perm = [0, ...range(0, axis).map((k) => 2 + k), 1, ...range(axis, nd - 1).map((k) => 2 + k)];
  return transpose(o, perm);
}

for (const prim of [P.scatter, P.scatterAdd])
  defBatch(prim, ([x, idx, u], [dx, di, du], params, size) => {
    const { axis } = params as { axis: number };
    return [[batchScatter(prim, x!, dx!, idx!, di!, u!, du!, axis, size)], [0]];
  });

// ---- dynamic slices ------------------------------------------------------------------------

defBatch(P.dynamicSlice, ([x, ...starts], [dx, ...ds], params, size) => {
  const { sliceSizes } = params as { sliceSizes: readonly number[] };
  if (ds.every((d) => d === null)) {
    const xb = moveBdim(x!, dx!, 0);
    return [[bind1(P.dynamicSlice, [xb, full(0, starts[0]?.dtype ?? "int32", []), ...starts], { sliceSizes: [size, ...sliceSizes] })], [0]];
  }
  // Batched starts: one gather per axis of [clamped start + iota(sliceSize)].
  let cur = x!;
  let dcur: BDim = dx!;
  const shape = x!.shape.filter((_, i) => i !== dx);
  if (dcur !== null) {
    cur = moveBdim(cur, dcur, 0);
    dcur = 0;
  }
  for (let j = 0; j < shape.length; j++) {
    const A = shape[j]!;
    const s = sliceSizes[j]!;
    if (s === A && ds[j] === null) continue; // the whole axis
    const st = clampScalar(toI32(starts[j]!), 0, A - s);
    let idx: Array;
    let di: BDim;
    if (ds[j] === null) {
      idx = bin(P.add, iotaI32([s], 0), bind1(P.broadcastInDim, [st], { shape: [s], broadcastDimensions: [] }));
      di = null;
    } else {
      const stb = moveBdim(st, ds[j]!, 0); // [B]
      idx = bin(P.add, iotaI32([size, s], 1), broadcastLeading(stb, [size, s]));
      di = 0;
    }
    // Per-example axis j is axis j + 1 of a batched operand (its batch axis is at 0 from here on).
    if (dcur === null && di === null) cur = bind1(P.gather, [cur, idx], { axis: j });
    else {
      const [g, dg] = batchGather(cur, dcur, idx, di, j, size);
      cur = moveBdim(g, dg, 0);
      dcur = 0;
    }
  }
  return [[cur], [0]];
});

defBatch(P.dynamicUpdateSlice, ([x, u, ...starts], [dx, du, ...ds], _params, size) => {
  const xb = toFront(x!, dx!, size);
  const ub = toFront(u!, du!, size);
  if (ds.every((d) => d === null))
    return [[bind1(P.dynamicUpdateSlice, [xb, ub, full(0, starts[0]?.dtype ?? "int32", []), ...starts])], [0]];
  // Batched starts: scatter into the flattened example at the linear positions of the window.
  const xs = xb.shape.slice(1);
  const us = ub.shape.slice(1);
  const strides = xs.map((_, j) => xs.slice(j + 1).reduce((a, b) => a * b, 1));
  const win = [size, ...us];
  let lin: Array | null = null;
  xs.forEach((A, j) => {
    const st = clampScalar(toI32(starts[j]!), 0, A - us[j]!);
    const stb = ds[j] === null ? st : moveBdim(st, ds[j]!, 0);
    const pos = bin(P.add, iotaI32(win, j + 1), broadcastLeading(stb, win));
    const term = strides[j] === 1 ? pos : bin(P.mul, pos, full(strides[j]!, "int32", win));
    lin = lin === null ? term : bin(P.add, lin, term);
  });
  const n = xs.reduce((a, b) => a * b, 1);
  const m = us.reduce((a, b) => a * b, 1);
  const linF = lin === null ? full(0, "int32", [size, 1]) : reshape(lin, [size, m]);
  const out = batchScatter(P.scatter, reshape(xb, [size, n]), 0, linF, 0, reshape(ub, [size, m]), 0, 0, size);
  return [[reshape(out, xb.shape)], [0]];
});
