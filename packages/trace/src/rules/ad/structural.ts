/**
 * AD rules of the structural (linear) primitives: broadcast, reshape,
 * transpose, slice, pad, concatenate, rev, dtype conversion and copy. Their
 * JVPs apply the primitive to the tangent; their VJPs are the transposes.
 */
import { Array, bind1, isFloat, primitives as P, type Params, type Primitive } from "@refs/core";
import { defJvp, defVjp } from "../../ad.js";
import { convert, full, inst, reduceSum, reshape, sub } from "./util.js";

/** JVP of a primitive that is linear in its single operand: apply it to the tangent. */
function linearUnaryJvp(prim: Primitive<any>): void {
  defJvp(prim, (primals, [t], params) => {
    const out = bind1(prim, primals, params);
    return [[out], [t ? bind1(prim, [t], params) : null]];
  });
}

// ---- broadcast_in_dim ---------------------------------------------------------

linearUnaryJvp(P.broadcastInDim);
defVjp(P.broadcastInDim, ([ct], [x], _outs, params) => {
  if (!ct) return [null];
  const shape = params["shape"] as readonly number[];
  const dims = params["broadcastDimensions"] as readonly number[];
  const axes: number[] = [];
  for (let d = 0; d < shape.length; d++) {
    const i = dims.indexOf(d);
    if (i < 0 || (x!.shape[i] === 1 && shape[d] !== 1)) axes.push(d);
  }
  return [reshape(reduceSum(ct, axes), x!.shape)];
});

// ---- reshape / transpose ---------------------------------------------------------

linearUnaryJvp(P.reshape);
defVjp(P.reshape, ([ct], [x]) => [ct ? reshape(ct, x!.shape) : null]);

linearUnaryJvp(P.transpose);
defVjp(P.transpose, ([ct], _ins, _outs, params) => {
  if (!ct) return [null];
  const perm = params["permutation"] as readonly number[];
  const inv = new globalThis.Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return [bind1(P.transpose, [ct], { permutation: inv })];
});

// ---- slice / pad ---------------------------------------------------------------------

linearUnaryJvp(P.slice);
defVjp(P.slice, ([ct], [x], _outs, params) => {
  if (!ct) return [null];
  const start = params["startIndices"] as readonly number[];
  const strides = params["strides"] as readonly number[];
  const lo = start.slice();
  const interior = strides.map((s) => s - 1);
  const hi = x!.shape.map((d, i) => {
    const n = ct.shape[i]!;
    return d - lo[i]! - n - Math.max(0, n - 1) * interior[i]!;
  });
  return [bind1(P.pad, [ct, full([], ct.dtype, 0)], { lo, hi, interior })];
});

defJvp(P.pad, ([x, v], [tx, tv], params) => {
  const out = bind1(P.pad, [x!, v!], params);
  if (!tx && !tv) return [[out], [null]];
  return [[out], [bind1(P.pad, [inst(tx ?? null, x!), inst(tv ?? null, v!)], params)]];
});
defVjp(P.pad, ([ct], [x], _outs, params) => {
  if (!ct) return [null, null];
  const cx = unpad(ct, x!.shape, params);
  // The padding value appears at every position not taken by x.
  const total = reduceSum(ct, ct.shape.map((_, i) => i));
  const inX = reduceSum(cx, cx.shape.map((_, i) => i));
  return [cx, sub(total, inX)];
});

/** The elements of a padded array that came from the operand. */
function unpad(ct: Array, shape: readonly number[], params: Params): Array {
  const lo = params["lo"] as readonly number[];
  const interior = params["interior"] as readonly number[];
  const startIndices = lo.slice();
  const strides = interior.map((n) => n + 1);
  const limitIndices = shape.map((d, i) => (d === 0 ? lo[i]! : lo[i]! + (d - 1) * strides[i]! + 1));
  if (shape.every((d, i) => startIndices[i] === 0 && strides[i] === 1 && limitIndices[i] === ct.shape[i] && d === ct.shape[i])) return ct;
  return bind1(P.slice, [ct], { startIndices, limitIndices, strides });
}

// ---- concatenate / rev ----------------------------------------------------------------

defJvp(P.concatenate, (primals, tangents, params) => {
  const out = bind1(P.concatenate, primals, params);
  if (tangents.every((t) => !t)) return [[out], [null]];
  return [[out], [bind1(P.concatenate, primals.map((x, i) => inst(tangents[i] ?? null, x)), params)]];
});
defVjp(P.concatenate, ([ct], ins, _outs, params) => {
  if (!ct) return ins.map(() => null);
  const dim = params["dimension"] as number;
  let off = 0;
  return ins.map((x) => {
    const n = x.shape[dim]!;
    const startIndices = ct.shape.map((_, i) => (i === dim ? off : 0));
    const limitIndices = ct.shape.map((d, i) => (i === dim ? off + n : d));
    off += n;
    if (!isFloat(x.dtype)) return null;
    return bind1(P.slice, [ct], { startIndices, limitIndices, strides: ct.shape.map(() => 1) });
  });
});

linearUnaryJvp(P.rev);
defVjp(P.rev, ([ct], _ins, _outs, params) => [ct ? bind1(P.rev, [ct], params) : null]);

// ---- dtype conversion / copy --------------------------------------------------------------

defJvp(P.convertElementType, ([x], [t], params) => {
  const out = bind1(P.convertElementType, [x!], params);
  // Only float → float conversions carry a derivative; to or from integers it is zero.
  const tout = t && isFloat(x!.dtype) && isFloat(out.dtype) ? bind1(P.convertElementType, [t], params) : null;
  return [[out], [tout]];
});
defVjp(P.convertElementType, ([ct], [x]) => {
  if (!ct || !isFloat(x!.dtype) || !isFloat(ct.dtype)) return [null];
  return [convert(ct, x!.dtype, x!.weakType)];
});

defJvp(P.copy, ([x], [t], params) => [[bind1(P.copy, [x!], params)], [t ?? null]]);
defVjp(P.copy, ([ct]) => [ct ?? null]);
