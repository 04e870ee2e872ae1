/**
 * `Variable` and its kinds (`Param`, `BatchStat`, `RngKey`, `RngCount`): a
 * box for one array of a module's state, with metadata.
 *
 * With refs on (`useRefs(true)`, or `{hasRef: true}` / `{isHijax: true}`),
 * the value lives in a `Ref` made by the constructor, so a Variable behaves
 * like a ref — `get(idx)`, `set(v, idx)`, `addUpdate` — and can be passed
 * wherever a ref is expected (`increment(variable)`); transforms update it in
 * place. Without a ref, the value is a plain Array field, and assigning it
 * from inside a transformation of another level is refused (JAX's
 * "Cannot mutate Variable from a different trace level").
 *
 * Variables are pytree nodes with one child, `value` (their Ref or Array), so
 * paths print as `model.bn.bias.value`.
 */
import {
  Array,
  Ref,
  currentLevel,
  freeze,
  isRef,
  newRef,
  np,
  registerPytreeNode,
  type ArrayLike,
  type DType,
  type Index,
  type Shape,
} from "@refs/core";
import { usingRefs } from "./refs-mode.js";

export interface VariableOptions {
  /** Hold the value in a Ref (defaults to `usingRefs()`). */
  hasRef?: boolean;
  /** Flax's hijax Variables: a Variable that is itself a ref-like value. Implies `hasRef`. */
  isHijax?: boolean;
  /** Any other metadata (e.g. sharding names); kept and carried through transforms. */
  [meta: string]: unknown;
}

export class Variable {
  /** @internal The Ref or Array holding the value. */
  _raw: Ref | Array;
  /** @internal */ _isHijax: boolean;
  /** Metadata given at construction (other than hasRef/isHijax). */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** @internal The transformation level this Variable was created at. */
  _level: number;

  constructor(value: ArrayLike, opts: VariableOptions = {}) {
    if (isRef(value)) throw new TypeError("Cannot pass a Ref directly into Variable constructor.");
    const { hasRef, isHijax, ...metadata } = opts;
    const arr = value instanceof Array ? value : np.asarray(value);
    const withRef = isHijax === true || (hasRef ?? usingRefs());
    this._raw = withRef ? newRef(arr) : arr;
    this._isHijax = isHijax === true;
    this.metadata = metadata;
    this._level = currentLevel();
  }

  /** @internal Build a Variable around an existing Ref or Array (unflattening, graph ops). */
  static _wrap<V extends Variable>(this: new (...a: any[]) => V, raw: Ref | Array, isHijax: boolean, metadata: Readonly<Record<string, unknown>>): V {
    const v = Object.create(this.prototype) as V;
    v._raw = raw;
    v._isHijax = isHijax;
    (v as { metadata: unknown }).metadata = metadata;
    v._level = currentLevel();
    return v;
  }

  /** Whether the value lives in a Ref. */
  get hasRef(): boolean {
    return this._raw instanceof Ref;
  }
  get isHijax(): boolean {
    return this._isHijax;
  }
  /** The Ref holding the value (throws if this Variable has none). */
  get ref(): Ref {
    if (!(this._raw instanceof Ref)) throw new TypeError(`${this.constructor.name} has no Ref; create it under useRefs(true) or convert with toRefs`);
    return this._raw;
  }
  /** The raw Ref or Array. */
  get raw(): Ref | Array {
    return this._raw;
  }

  get value(): Array {
    return this._raw instanceof Ref ? this._raw.get() : this._raw;
  }
  set value(v: ArrayLike) {
    this.set(v);
  }
  get shape(): Shape {
    return this._raw.shape;
  }
  get dtype(): DType {
    return this._raw.dtype;
  }
  get size(): number {
    return this._raw.size;
  }
  get ndim(): number {
    return this._raw.ndim;
  }

  /** Read the value, or the part `idx` selects. */
  get(idx?: Index): Array {
    if (idx === undefined) return this.value;
    // New axes (null) index the value, since Refs take no new axes.
    const hasNewAxis = idx === null || (globalThis.Array.isArray(idx) && idx.includes(null));
    if (this._raw instanceof Ref && !hasNewAxis) return this._raw.get(idx);
    return this.value.get(idx);
  }

  /** Write `v` (into the part `idx` selects). */
  set(v: ArrayLike, idx?: Index): void {
    if (this._raw instanceof Ref) {
      this._raw.set(v, idx);
      return;
    }
    this.checkLevel();
    const cur = this._raw;
    this._raw = idx === undefined ? asValue(v, cur) : cur.at(idx).set(v);
  }

  /** Add `v` in place (`variable[idx] += v`). */
  addUpdate(v: ArrayLike, idx?: Index): void {
    if (this._raw instanceof Ref) {
      this._raw.addUpdate(v, idx);
      return;
    }
    this.checkLevel();
    this._raw = idx === undefined ? this._raw.add(v) : this._raw.at(idx).add(v);
  }

  /** Write `v` and return the previous value. */
  swap(v: ArrayLike, idx?: Index): Array {
    if (this._raw instanceof Ref) return this._raw.swap(v, idx);
    const old = this.get(idx);
    this.set(v, idx);
    return old;
  }

  private checkLevel(): void {
    if (currentLevel() !== this._level) throw new Error("Cannot mutate Variable from a different trace level");
  }

  /** A copy of this Variable (same kind and metadata) holding `raw`. */
  replace(raw: Ref | Array): this {
    return (this.constructor as typeof Variable)._wrap(raw, this._isHijax, this.metadata) as this;
  }

  /** The kind used in summaries (`Param`, `BatchStat`, `RngState`, ...). */
  static get typeName(): string {
    return this.name;
  }
}

function asValue(v: ArrayLike, like: Array): Array {
  if (v instanceof Array) return v;
  return np.asarray(v).astype(like.dtype);
}

/** A trainable parameter. */
export class Param extends Variable {}
/** Batch statistics (BatchNorm's running mean and variance). */
export class BatchStat extends Variable {}
/** Optimizer state. */
export class OptState extends Variable {}
/** Random state of an Rngs stream. Summaries group its kinds as `RngState`. */
export class RngState extends Variable {}
export class RngKey extends RngState {
  static override get typeName(): string {
    return "RngState";
  }
}
export class RngCount extends RngState {
  static override get typeName(): string {
    return "RngState";
  }
}

/** A Variable's value as an Array: the current value of its Ref, or its Array. */
export function valueOf(v: Variable): Array {
  return v._raw instanceof Ref ? freeze(v._raw) : v._raw;
}

registerPytreeNode(Variable, {
  flatten: (v) => [[["value", v._raw]], { cls: v.constructor, isHijax: v._isHijax, metadata: v.metadata, key: () => auxKey(v) }],
  unflatten: (aux, children) => {
    const a = aux as { cls: typeof Variable; isHijax: boolean; metadata: Record<string, unknown> };
    const raw = children[0];
    if (!(raw instanceof Ref) && !(raw instanceof Array))
      throw new TypeError(`${a.cls.name}: expected an Array or Ref as its value, got ${typeof raw}`);
    return a.cls._wrap(raw, a.isHijax, a.metadata);
  },
});

const classIds = new WeakMap<Function, number>();
let nextClassId = 0;
function auxKey(v: Variable): string {
  const cls = v.constructor;
  let id = classIds.get(cls);
  if (id === undefined) classIds.set(cls, (id = nextClassId++));
  return `${cls.name}#${id}|${v._isHijax}|${JSON.stringify(v.metadata)}`;
}
