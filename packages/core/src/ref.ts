/**
 * `Ref`: a mutable array reference (JAX's `jax.new_ref` / ArrayRef).
 *
 * A Ref is not an Array: reading (`get`) and writing (`set`, `swap`,
 * `addUpdate`) are primitives (ref_get, ref_swap, ref_addupdate), so under
 * jit/grad/vmap they are traced and later discharged into pure programs. In
 * eager code the eval rules below run them on a cell holding the current
 * value; a value handed out by `get` is immutable, so writes never change it.
 */
import { RefType, ShapedArray, shapeEqual, shapeTuple, type Shape } from "./aval.js";
import type { DType } from "./dtype.js";
import { Array, type ArrayLike } from "./array.js";
import { formatRepr } from "./format.js";
import { bind, bind1, evalRules, evalTrace, type Trace, type Value } from "./interp.js";
import { indexGet, indexUpdate, normalizeIndex, indexedShape, type Index, type Indexer } from "./indexing.js";
import * as ops from "./ops/index.js";
import * as P from "./primitives.js";
import type { Params } from "./primitive.js";
import { captureSite, type CreationSite } from "./site.js";

/**
 * The eager payload of a Ref: its current value. `owned` says no one else
 * holds that Array (it was made by the ref's own copy or update), so it can be
 * freed at once when replaced: a loop of eager updates keeps memory flat.
 */
export class RefCell {
  constructor(
    public value: Array,
    public owned: boolean,
  ) {}
  private _type: RefType | undefined;
  refType(): RefType {
    if (this._type?.inner !== this.value.aval) this._type = new RefType(this.value.aval);
    return this._type;
  }
  replace(next: Array, owned: boolean): void {
    const prev = this.value;
    this.value = next;
    if (this.owned && prev !== next) prev.dispose();
    this.owned = owned;
  }
}

export class Ref {
  /** @internal */ _trace: Trace;
  /** @internal */ _payload: unknown;
  /** Where this ref was created (for error messages). */
  readonly site: CreationSite | undefined;

  private readonly _aval: RefType;

  /** @internal Refs are made by `newRef`. */
  constructor(aval: RefType, trace: Trace, payload: unknown, site?: CreationSite) {
    this._aval = aval;
    this._trace = trace;
    this._payload = payload;
    this.site = site;
  }

  /** `Ref{dtype[shape]}`; a concrete ref's type follows its current value (a jit write-back drops weak types, as JAX). */
  get aval(): RefType {
    const p = this._payload;
    if (p instanceof RefCell && p.value.aval !== this._aval.inner) return p.refType();
    return this._aval;
  }

  get shape(): Shape {
    return this.aval.shape;
  }
  get dtype(): DType {
    return this.aval.dtype;
  }
  get ndim(): number {
    return this.aval.shape.length;
  }
  get size(): number {
    return this.aval.inner.size;
  }
  /** `shape[0]`, like Python's `len(ref)`. */
  get length(): number {
    if (this.ndim === 0) throw new TypeError("len() of unsized object");
    return this.shape[0]!;
  }
  get isConcrete(): boolean {
    return this._trace === evalTrace;
  }

  /** Read the value, or the part `idx` selects (`ref[...]`, `ref[idx]`). */
  get(idx?: Index): Array {
    const { indexer, arrays } = normalizeIndex("get", this.shape, idx, true);
    return bind1(P.refGet, [this, ...arrays], { indexer: indexer as unknown as Params[string] });
  }
  /** Write `v` (into the part `idx` selects). */
  set(v: ArrayLike | Ref, idx?: Index): void {
    this.swap(v, idx);
  }
  /** Write `v` and return the value it replaced. */
  swap(v: ArrayLike | Ref, idx?: Index): Array {
    const { indexer, arrays } = normalizeIndex("swap", this.shape, idx, true);
    const val = checkRefValue("swap", this, indexer, arrays, v);
    return bind1(P.refSwap, [this, val, ...arrays], { indexer: indexer as unknown as Params[string] });
  }
  /** Add `v` in place (`ref[idx] += v`). */
  addUpdate(v: ArrayLike | Ref, idx?: Index): void {
    const { indexer, arrays } = normalizeIndex("addupdate", this.shape, idx, true);
    const val = checkRefValue("addupdate", this, indexer, arrays, v);
    bind(P.refAddUpdate, [this, val, ...arrays], { indexer: indexer as unknown as Params[string] });
  }

  /** `ArrayRef([1, 2, 3], dtype=int32)` */
  toString(): string {
    if (!this.isConcrete) return `Traced<${this.aval.str()}>with<${this._trace.constructor.name}>`;
    const v = (this._payload as RefCell).value;
    return formatRepr("ArrayRef", v.dataSync(), v.shape, v.dtype, v.weakType);
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
  get [Symbol.toStringTag](): string {
    return "Ref";
  }
}

export function isRef(x: unknown): x is Ref {
  return x instanceof Ref;
}

/**
 * A new Ref holding a copy of `x` (later writes never change `x`). The
 * creation site is recorded for error messages.
 */
export function newRef(x: ArrayLike): Ref {
  if (isRef(x)) throw new TypeError("newRef: got a Ref; pass its value (`ref.get()`) to make a new Ref from it");
  const arr = x instanceof Array ? x : ops.asarray(x);
  const r = bind(P.refNew, [arr])[0] as Ref;
  return r;
}

/** The current value of a Ref as an Array (JAX's `freeze`). */
export function freeze(ref: Ref): Array {
  if (!isRef(ref)) throw new TypeError(`freeze: expected a Ref, got ${describe(ref)}`);
  return bind1(P.refFreeze, [ref]);
}

function describe(v: unknown): string {
  return v instanceof Array ? `an Array ${v.aval.str()}` : typeof v;
}

/**
 * The value checks of JAX's `swap`/`addupdate`: no Refs, matching dtype (a
 * weakly typed value is cast to the ref's dtype) and the exact indexed shape
 * (a JS scalar broadcasts).
 */
export function checkRefValue(
  op: "swap" | "addupdate",
  ref: Ref,
  indexer: Indexer,
  arrays: readonly Array[],
  v: ArrayLike | Ref,
): Array {
  if (isRef(v)) throw new TypeError("Cannot store a Ref into another Ref. Did you forget to load from it using `get()`?");
  const expected = indexedShape(indexer, arrays.map((a) => a.shape));
  let val = v instanceof Array ? v : ops.asarray(v);
  if (val.dtype !== ref.dtype) {
    if (!val.weakType)
      throw new TypeError(`Invalid dtype for \`${op}\`. Ref dtype: ${ref.dtype}. Value dtype: ${val.dtype}.`);
    val = ops.astype(val, ref.dtype);
  }
  if (!shapeEqual(val.shape, expected)) {
    if (v instanceof Array)
      throw new TypeError(
        `Invalid shape for \`${op}\`. Ref shape: ${shapeTuple(ref.shape)}. Expected shape: ${shapeTuple(expected)}. Value shape: ${shapeTuple(val.shape)}.`,
      );
    val = ops.broadcastTo(val, expected);
  }
  return val;
}

// ---- eager rules ------------------------------------------------------------------

function cell(r: Value): RefCell {
  return (r as Ref)._payload as RefCell;
}

function unpackIndexer(params: Params): Indexer {
  return params["indexer"] as unknown as Indexer;
}

evalRules.set(P.refNew, ([x]) => {
  const v = x as Array;
  const copy = bind1(P.copy, [v]);
  return [new Ref(new RefType(v.aval), evalTrace, new RefCell(copy, true), captureSite())];
});

/** Hand out a value read from the cell; if it is the cell's own Array, the cell no longer owns it. */
function handOut(c: RefCell, v: Array): Array {
  if (v === c.value) c.owned = false;
  return v;
}

/** Keep the ref's declared weak type on values written into it. */
function asRefValue(r: Value, v: Array): Array {
  const weak = (r as Ref).aval.inner.weakType;
  return v.weakType === weak ? v : bind1(P.convertElementType, [v], { newDtype: v.dtype, weakType: weak });
}

evalRules.set(P.refGet, ([r, ...idx], params) => {
  const c = cell(r);
  return [handOut(c, indexGet(c.value, unpackIndexer(params), idx as Array[]))];
});

evalRules.set(P.refSwap, ([r, v, ...idx], params) => {
  const c = cell(r);
  const indexer = unpackIndexer(params);
  const old = handOut(c, indexGet(c.value, indexer, idx as Array[]));
  const next = asRefValue(r!, indexUpdate("swap", c.value, indexer, idx as Array[], v as Array, "set"));
  c.replace(next, next !== v);
  return [old];
});

evalRules.set(P.refAddUpdate, ([r, v, ...idx], params) => {
  const c = cell(r);
  const next = asRefValue(r!, indexUpdate("addupdate", c.value, unpackIndexer(params), idx as Array[], v as Array, "add"));
  c.replace(next, true);
  return [];
});

evalRules.set(P.refFreeze, ([r]) => {
  const c = cell(r);
  return [handOut(c, c.value)];
});

/** Replace the value of a concrete Ref (what a jitted call does with its aliased output). */
export function setRefValue(r: Ref, value: Array): void {
  if (!r.isConcrete) throw new Error("setRefValue: the Ref is being traced");
  if (!(value.aval instanceof ShapedArray) || !shapeEqual(value.shape, r.shape) || value.dtype !== r.dtype)
    throw new TypeError(`setRefValue: expected ${r.aval.inner.str()}, got ${value.aval.str()}`);
  (r._payload as RefCell).replace(value, true);
}

/** The current value of a concrete Ref without a primitive (for backends and jit). */
export function refValue(r: Ref): Array {
  if (!r.isConcrete) throw new Error("refValue: the Ref is being traced");
  const c = r._payload as RefCell;
  return handOut(c, c.value);
}
