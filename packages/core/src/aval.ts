/**
 * Abstract values: what a traced value is known to be (shape, dtype, weak type)
 * without its data. Arrays, tracers and the program IR all carry one.
 */
import type { DType } from "./dtype.js";

export type Shape = readonly number[];

export class ShapedArray {
  readonly kind = "array" as const;
  constructor(
    readonly shape: Shape,
    readonly dtype: DType,
    readonly weakType: boolean = false,
  ) {}
  get ndim(): number {
    return this.shape.length;
  }
  get size(): number {
    return shapeSize(this.shape);
  }
  /** `float32[3,4]`, the short form used in messages and the IR. */
  str(): string {
    return `${this.dtype}[${this.shape.join(",")}]`;
  }
  equals(o: ShapedArray): boolean {
    return this.dtype === o.dtype && this.weakType === o.weakType && shapeEqual(this.shape, o.shape);
  }
  strongEquals(o: ShapedArray): boolean {
    return this.dtype === o.dtype && shapeEqual(this.shape, o.shape);
  }
  withWeak(weakType: boolean): ShapedArray {
    return weakType === this.weakType ? this : new ShapedArray(this.shape, this.dtype, weakType);
  }
  private _key: string | undefined;
  /** A string identifying this aval, for cache keys. */
  key(): string {
    return (this._key ??= `${this.dtype}${this.weakType ? "~" : ""}[${this.shape.join(",")}]`);
  }
}

/** The type of a mutable array reference holding values of `inner`. */
export class RefType {
  readonly kind = "ref" as const;
  constructor(readonly inner: ShapedArray) {}
  get shape(): Shape {
    return this.inner.shape;
  }
  get dtype(): DType {
    return this.inner.dtype;
  }
  /** `Ref{int32[3]}`, as in JAX's messages. */
  str(): string {
    return `Ref{${this.inner.str()}}`;
  }
  key(): string {
    return `Ref{${this.inner.key()}}`;
  }
}

export type Aval = ShapedArray | RefType;

export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Python tuple style, as JAX prints shapes in messages: `(3,)`, `(2, 3)`, `()`. */
export function shapeTuple(shape: Shape): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
}

/** Row-major strides in elements. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** numpy broadcasting of several shapes; throws with `op` and the shapes when incompatible. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const nd = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(nd).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = nd - s.length + i;
      const d = s[i]!;
      if (d === out[j] || d === 1) continue;
      if (out[j] === 1) out[j] = d;
      else
        throw new Error(
          `${op}: shapes ${shapes.map(shapeTuple).join(", ")} cannot be broadcast together ` +
            `(axis ${j - nd} has sizes ${out[j]} and ${d}); make the sizes equal or 1`,
        );
    }
  }
  return out;
}

/** Normalise a possibly negative axis; throws naming the op when out of range. */
export function normAxis(op: string, axis: number, ndim: number): number {
  if (!Number.isInteger(axis) || axis < -ndim || axis >= ndim) {
    throw new RangeError(`${op}: axis ${axis} is out of bounds for an array of rank ${ndim}`);
  }
  return axis < 0 ? axis + ndim : axis;
}
