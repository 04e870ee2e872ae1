/**
 * Index expressions, shared by Arrays (`x.get(idx)`, `x.at(idx).set(v)`) and
 * Refs (`ref.get(idx)`, `ref.set(v, idx)`): numpy basic and advanced indexing
 * (https://numpy.org/doc/stable/user/basics.indexing.html) with JAX's rules
 * for out-of-range dynamic indices (reads clamp, updates drop).
 *
 * An index expression is normalised against a shape into a static `Indexer`
 * (JSON, usable as a primitive param) plus the integer index arrays it uses,
 * so ref primitives can carry it and trace's discharge pass can replay it.
 */
import { ShapedArray, RefType, shapeSize, shapeTuple, type Aval, type Shape } from "./aval.js";
import { isInt } from "./dtype.js";
import { Array, fromHost } from "./array.js";
import * as P from "./primitives.js";
import { bind1 } from "./interp.js";
import * as ops from "./ops/index.js";

/** `slice(start?, stop?, step?)`, as Python's `start:stop:step`. */
export class Slice {
  constructor(
    readonly start: number | null = null,
    readonly stop: number | null = null,
    readonly step: number | null = null,
  ) {}
  toString(): string {
    return `${this.start ?? ""}:${this.stop ?? ""}${this.step === null ? "" : `:${this.step}`}`;
  }
}

export function slice(start?: number | null, stop?: number | null, step?: number | null): Slice {
  return new Slice(start ?? null, stop ?? null, step ?? null);
}

export type IndexItem = number | "..." | null | Slice | Array;
export type Index = IndexItem | readonly IndexItem[] | undefined;

/** One normalised index item. Slices have concrete, in-range bounds. */
export type IndexerItem =
  | { readonly t: "int"; readonly i: number }
  | { readonly t: "slice"; readonly start: number; readonly stop: number; readonly step: number }
  | { readonly t: "arr"; readonly k: number }
  | { readonly t: "new" };

export interface Indexer {
  readonly items: readonly IndexerItem[];
}

/**
 * Normalise `idx` against `shape`. `forRef` applies JAX's stricter ref rules
 * (no new axes, no negative steps) and its messages.
 */
export function normalizeIndex(
  op: string,
  shape: Shape,
  idx: Index,
  forRef = false,
): { indexer: Indexer; arrays: Array[] } {
  const raw: IndexItem[] =
    idx === undefined ? [] : globalThis.Array.isArray(idx) ? [...(idx as readonly IndexItem[])] : [idx as IndexItem];
  const consumed = raw.filter((r) => r !== null && r !== "...").length;
  const ellipses = raw.filter((r) => r === "...").length;
  if (ellipses > 1) throw new IndexError(`${op}: an index can only have a single ellipsis ("...")`);
  if (consumed > shape.length)
    throw new IndexError(
      `${op}: too many indices: the ${forRef ? "Ref" : "array"} is ${shape.length}-dimensional, but ${consumed} were indexed`,
    );
  const items: IndexerItem[] = [];
  const arrays: Array[] = [];
  let axis = 0;
  const full = () => {
    const d = shape[axis++]!;
    items.push({ t: "slice", start: 0, stop: d, step: 1 });
  };
  for (const r of raw) {
    if (r === "...") {
      for (let n = shape.length - consumed; n > 0; n--) full();
    } else if (r === null) {
      if (forRef) throw new IndexError(`${op}: new axes (null) are not supported when indexing a Ref; index the value instead`);
      items.push({ t: "new" });
    } else if (typeof r === "number") {
      const d = shape[axis++]!;
      if (!Number.isInteger(r)) throw new IndexError(`${op}: index ${r} is not an integer`);
      if (r < -d || r >= d) {
        if (forRef) throw new IndexError(`Out of bound indexer: idx=${r}, dim=${d}.`);
        throw new IndexError(`${op}: index ${r} is out of bounds for axis ${axis - 1} with size ${d}`);
      }
      items.push({ t: "int", i: r < 0 ? r + d : r });
    } else if (r instanceof Slice) {
      const d = shape[axis++]!;
      items.push(normSlice(op, r, d, forRef));
    } else if (r instanceof Array) {
      if (!isInt(r.dtype))
        throw new IndexError(
          `${op}: index arrays must be integer, got ${r.aval.str()}` +
            (r.dtype === "bool" ? " (boolean masks need concrete shapes; use np.where instead)" : ""),
        );
      axis++;
      items.push({ t: "arr", k: arrays.length });
      arrays.push(r.dtype === "int32" ? r : ops.astype(r, "int32"));
    } else {
      throw new IndexError(
        `${op}: unsupported index ${describe(r)}; use numbers, "...", null, slice(start, stop, step), integer Arrays, or a JS array of these`,
      );
    }
  }
  while (axis < shape.length) full();
  return { indexer: { items }, arrays };
}

function normSlice(op: string, s: Slice, d: number, forRef: boolean): IndexerItem {
  const step = s.step ?? 1;
  if (!Number.isInteger(step)) throw new IndexError(`${op}: slice step must be an integer, got ${step}`);
  if (forRef && step < 1) throw new IndexError(`slice must have a step >= 1 (found: ${step})`);
  if (step === 0) throw new IndexError(`${op}: slice step cannot be zero`);
  // Python's slice.indices(d).
  const clampBound = (v: number, lo: number, hi: number) => (v < 0 ? Math.max(v + d, lo) : Math.min(v, hi));
  let start: number, stop: number;
  if (step > 0) {
    start = s.start === null ? 0 : clampBound(s.start, 0, d);
    stop = s.stop === null ? d : clampBound(s.stop, 0, d);
    if (stop < start) stop = start;
  } else {
    start = s.start === null ? d - 1 : clampBound(s.start, -1, d - 1);
    stop = s.stop === null ? -1 : clampBound(s.stop, -1, d - 1);
    if (stop > start) stop = start;
  }
  return { t: "slice", start, stop, step };
}

function describe(v: unknown): string {
  if (v === undefined) return "undefined";
  if (typeof v === "object") return (v as object).constructor?.name ?? "object";
  return JSON.stringify(v);
}

export class IndexError extends Error {
  override name = "IndexError";
}

function sliceLen(it: { start: number; stop: number; step: number }): number {
  return it.step > 0 ? Math.max(0, Math.ceil((it.stop - it.start) / it.step)) : Math.max(0, Math.ceil((it.start - it.stop) / -it.step));
}

/** Shape of `x[indexer]` given the shapes of its index arrays (numpy rules). */
export function indexedShape(indexer: Indexer, arrayShapes: readonly Shape[]): number[] {
  const items = indexer.items;
  const advPos = items.flatMap((it, i) => (it.t === "arr" || (it.t === "int" && arrayShapes.length > 0) ? [i] : []));
  if (arrayShapes.length === 0) {
    return items.flatMap((it) => (it.t === "int" ? [] : it.t === "new" ? [1] : it.t === "slice" ? [sliceLen(it)] : []));
  }
  const b = broadcastIndexShapes(arrayShapes);
  const contiguous = advPos.every((p, i) => i === 0 || p === advPos[i - 1]! + 1);
  const basic: number[] = [];
  let insertAt = 0;
  items.forEach((it, i) => {
    if (i === advPos[0]) insertAt = basic.length;
    if (it.t === "slice") basic.push(sliceLen(it));
    else if (it.t === "new") basic.push(1);
  });
  if (!contiguous) return [...b, ...basic];
  return [...basic.slice(0, insertAt), ...b, ...basic.slice(insertAt)];
}

function broadcastIndexShapes(shapes: readonly Shape[]): number[] {
  const nd = Math.max(0, ...shapes.map((s) => s.length));
  const out = new globalThis.Array<number>(nd).fill(1);
  for (const s of shapes)
    s.forEach((d, i) => {
      const j = nd - s.length + i;
      if (d !== 1 && out[j] !== 1 && out[j] !== d)
        throw new IndexError(`index arrays of shapes ${shapes.map(shapeTuple).join(", ")} cannot be broadcast together`);
      if (d !== 1) out[j] = d;
    });
  return out;
}

P.setIndexedAval((inner, indexer, idx) => {
  const shapes = (idx as readonly Aval[]).map((a) => {
    if (!(a instanceof ShapedArray) || !isInt(a.dtype)) throw new IndexError(`ref indexing: index operands must be integer arrays`);
    return a.shape;
  });
  return new ShapedArray(indexedShape(indexer as unknown as Indexer, shapes), inner.dtype, inner.weakType);
});

// ---- reads -------------------------------------------------------------------

const i32 = (v: number) => fromHost(Int32Array.of(v), [], "int32");

/** `x[idx]` for an already-normalised indexer. Dynamic indices are clamped into range. */
export function indexGet(x: Array, indexer: Indexer, arrays: readonly Array[]): Array {
  let items = [...indexer.items];
  // 1. Negative steps: reverse those axes, then the slice has a positive step.
  const revAxes: number[] = [];
  let ax = 0;
  items = items.map((it) => {
    if (it.t === "new") return it;
    const a = ax++;
    if (it.t === "slice" && it.step < 0) {
      revAxes.push(a);
      const d = x.shape[a]!;
      return { t: "slice", start: d - 1 - it.start, stop: d - 1 - it.stop, step: -it.step };
    }
    return it;
  });
  if (revAxes.length) x = bind1(P.rev, [x], { dimensions: revAxes });
  // 2. Static strided slice over consumed axes (ints become one-wide slices).
  const consumed = items.filter((it) => it.t !== "new");
  const hasArr = arrays.length > 0;
  const start: number[] = [], limit: number[] = [], strides: number[] = [];
  consumed.forEach((it, a) => {
    if (it.t === "slice") {
      start.push(it.start);
      limit.push(Math.max(it.start, Math.min(x.shape[a]!, it.start + (sliceLen(it) - 1) * it.step + 1)));
      strides.push(it.step);
    } else if (it.t === "int" && !hasArr) {
      start.push(it.i), limit.push(it.i + 1), strides.push(1);
    } else {
      start.push(0), limit.push(x.shape[a]!), strides.push(1);
    }
  });
  const identity = start.every((s, a) => s === 0 && limit[a] === x.shape[a] && strides[a] === 1);
  if (!identity) x = bind1(P.slice, [x], { startIndices: start, limitIndices: limit, strides });
  if (!hasArr) {
    const shape = indexedShape({ items }, []);
    return shapeEq(shape, x.shape) ? x : bind1(P.reshape, [x], { newSizes: shape });
  }
  // 3. Advanced indexing: new axes first become size-1 axes of x.
  if (items.some((it) => it.t === "new")) {
    const shape: number[] = [];
    let a = 0;
    for (const it of items) shape.push(it.t === "new" ? 1 : x.shape[a++]!);
    x = bind1(P.reshape, [x], { newSizes: shape });
    items = items.map((it) => (it.t === "new" ? { t: "slice", start: 0, stop: 1, step: 1 } : it));
  }
  const advAxes: number[] = [];
  const idxArrays: Array[] = [];
  items.forEach((it, a) => {
    if (it.t === "arr") {
      advAxes.push(a);
      idxArrays.push(arrays[it.k]!);
    } else if (it.t === "int") {
      advAxes.push(a);
      idxArrays.push(i32(it.i));
    }
  });
  const rest = x.shape.map((_, a) => a).filter((a) => !advAxes.includes(a));
  const perm = [...advAxes, ...rest];
  if (perm.some((p, i) => p !== i)) x = bind1(P.transpose, [x], { permutation: perm });
  const advDims = advAxes.map((a) => x.shape[perm.indexOf(a)]!);
  const flatShape = [shapeSize(advDims), ...rest.map((a) => x.shape[perm.indexOf(a)]!)];
  if (advAxes.length !== 1) x = bind1(P.reshape, [x], { newSizes: flatShape });
  // Linear index into the flattened advanced axes, each index normalised and clamped.
  let linear: Array | null = null;
  let stride = 1;
  for (let k = advAxes.length - 1; k >= 0; k--) {
    const d = advDims[k]!;
    let ix = idxArrays[k]!;
    ix = ops.clip(ops.where(ops.less(ix, 0), ops.add(ix, d), ix), 0, d - 1);
    const term = stride === 1 ? ix : ops.multiply(ix, stride);
    linear = linear === null ? term : ops.add(linear, term);
    stride *= d;
  }
  const lin = ops.astype(linear!, "int32");
  let out = bind1(P.gather, [x, lin], { axis: 0 });
  // numpy: contiguous advanced indices keep their place; otherwise they go first.
  const advPos = advAxes;
  const contiguous = advPos.every((p, i) => i === 0 || p === advPos[i - 1]! + 1);
  const insertAt = contiguous ? rest.filter((a) => a < advPos[0]!).length : 0;
  if (insertAt > 0) {
    const nb = lin.ndim;
    const axes = out.shape.map((_, i) => i);
    const b = axes.slice(0, nb);
    const r = axes.slice(nb);
    out = bind1(P.transpose, [out], { permutation: [...r.slice(0, insertAt), ...b, ...r.slice(insertAt)] });
  }
  return out;
}

function shapeEq(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** `x.get(idx)`. */
export function getIndex(x: Array, idx: Index): Array {
  const { indexer, arrays } = normalizeIndex("get", x.shape, idx);
  return indexGet(x, indexer, arrays);
}

// ---- updates --------------------------------------------------------------------

/**
 * `x.at[idx].set(v)` / `.add(v)` for a normalised indexer: a scatter into the
 * flattened array at the linear indices of the selected elements. Dynamic
 * indices out of range are dropped, as in JAX.
 */
export function indexUpdate(
  op: string,
  x: Array,
  indexer: Indexer,
  arrays: readonly Array[],
  v: Array | number | boolean,
  mode: "set" | "add",
): Array {
  const items = indexer.items;
  const selectsAll =
    arrays.length === 0 &&
    items.every((it, a) => it.t === "slice" && it.start === 0 && it.step === 1 && it.stop === x.shape[a]);
  const target = indexedShape(indexer, arrays.map((a) => a.shape));
  let val = ops.astype(toArray(v, x), x.dtype);
  if (!shapeEq(val.shape, target)) {
    try {
      val = ops.broadcastTo(val, target);
    } catch {
      throw new Error(`${op}: cannot update ${shapeTuple(target)} elements of ${x.aval.str()} with a value of shape ${shapeTuple(val.shape)}`);
    }
  }
  if (selectsAll) return mode === "set" ? val : ops.add(x, val);
  // Linear indices of x's elements, read through the same indexer. For dynamic
  // axes, pad one slot holding -1 and send out-of-range indices there: the
  // scatter drops negative indices.
  let lin = ops.reshape(ops.arange(x.size, undefined, undefined, { dtype: "int32" }), x.shape);
  let dynArrays = arrays as Array[];
  if (arrays.length > 0) {
    const lo = x.shape.map(() => 0);
    const hi = x.shape.map(() => 0);
    let a = 0;
    for (const it of items) {
      if (it.t === "new") continue;
      if (it.t === "arr") hi[a] = 1;
      a++;
    }
    lin = bind1(P.pad, [lin, i32(-1)], { lo, hi, interior: x.shape.map(() => 0) });
    a = 0;
    dynArrays = arrays.slice();
    for (const it of items) {
      if (it.t === "new") continue;
      if (it.t === "arr") {
        const d = x.shape[a]!;
        const ix = arrays[it.k]!;
        const inRange = ops.logicalAnd(ops.greaterEqual(ix, -d), ops.less(ix, d));
        dynArrays[it.k] = ops.where(inRange, ops.where(ops.less(ix, 0), ops.add(ix, d), ix), d);
      }
      a++;
    }
  }
  const sel = indexGet(lin, indexer, dynArrays);
  const flatX = ops.reshape(x, [x.size]);
  const flatIdx = ops.reshape(sel, [sel.size]);
  const flatVal = ops.reshape(val, [sel.size]);
  const out = bind1(mode === "set" ? P.scatter : P.scatterAdd, [flatX, flatIdx, flatVal], { axis: 0 });
  return ops.reshape(out, x.shape);
}

function toArray(v: Array | number | boolean, like: Array): Array {
  if (v instanceof Array) return v;
  return ops.astype(ops.asarray(v), like.dtype);
}

/** The object `x.at(idx)` returns. */
export class AtUpdater {
  constructor(
    private readonly x: Array,
    private readonly idx: Index,
  ) {}
  set(v: Array | number | boolean): Array {
    const { indexer, arrays } = normalizeIndex("at.set", this.x.shape, this.idx);
    return indexUpdate("at.set", this.x, indexer, arrays, v, "set");
  }
  add(v: Array | number | boolean): Array {
    const { indexer, arrays } = normalizeIndex("at.add", this.x.shape, this.idx);
    return indexUpdate("at.add", this.x, indexer, arrays, v, "add");
  }
  get(): Array {
    return getIndex(this.x, this.idx);
  }
}

export function isRefAval(a: Aval): a is RefType {
  return a instanceof RefType;
}
