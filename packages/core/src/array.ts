/**
 * `Array`: an immutable n-dimensional array, concrete or traced.
 *
 * A concrete array's payload is `ArrayData`: host data (for arrays made from
 * JS values, uploaded lazily on first use) and/or a backend buffer. Buffers
 * are released when the Array becomes unreachable (FinalizationRegistry), or
 * at once by `dispose()` / `tidy()`; users never count references. A traced
 * array (inside jit/grad/vmap) has the same methods; its payload belongs to
 * the trace that made it.
 *
 * Methods are thin: each forwards to the `np` function of the same name.
 */
import { ShapedArray, shapeSize, type Shape } from "./aval.js";
import { getBackend, type Backend, type BufferHandle } from "./backend.js";
import { typedArrayFor, type DType, type TypedArray } from "./dtype.js";
import { formatRepr, formatValues } from "./format.js";
import { evalTrace, setConcreteHooks, type Trace } from "./interp.js";
import * as ops from "./ops/index.js";
import type { Axis, ReduceOptions } from "./ops/index.js";
import type { Index } from "./indexing.js";
import * as indexing from "./indexing.js";

/** What ops accept where an array is expected: Arrays and JS scalars (weakly typed). */
export type ArrayLike = Array | number | boolean;

/** Backend data of a concrete array. Held by the finalizer, so it must not point back to the Array. */
export class ArrayData {
  backend: Backend | null = null;
  handle: BufferHandle | null = null;
  /** Why this array can no longer be used, once it can't. */
  gone: string | null = null;
  constructor(public host: TypedArray | null) {}
}

const finalizer = new FinalizationRegistry<ArrayData>((d) => {
  if (d.handle && d.backend && d.gone === null) d.backend.free(d.handle);
  d.handle = null;
});

/** Host copies of small arrays are kept after upload (fast `item()`, constants in traces). */
const KEEP_HOST_BELOW = 64;

// ---- tidy scopes -------------------------------------------------------------

const scopes: Set<Array>[] = [];

/**
 * Run `fn` and dispose every concrete array created inside it, except those
 * reachable from its result (like tf.tidy). Nested scopes hand survivors to
 * the outer scope.
 */
export function tidy<T>(fn: () => T): T {
  const mine = new Set<Array>();
  scopes.push(mine);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  const keep = new Set<unknown>();
  collectArrays(result, keep, new Set());
  const outer = scopes[scopes.length - 1];
  for (const a of mine) {
    if (keep.has(a)) outer?.add(a);
    else a.dispose();
  }
  return result;
}

function collectArrays(x: unknown, out: Set<unknown>, seen: Set<unknown>): void {
  if (x === null || typeof x !== "object" || seen.has(x)) return;
  seen.add(x);
  if (x instanceof Array) {
    out.add(x);
    return;
  }
  for (const v of Object.values(x as object)) collectArrays(v, out, seen);
  const inner = (x as { _payload?: { value?: unknown } })._payload;
  if (inner && typeof inner === "object") collectArrays(inner, out, seen);
}

// ---- the Array class --------------------------------------------------------

export class Array {
  /** @internal */ _trace: Trace;
  /** @internal */ _payload: unknown;

  /** @internal Arrays are made by ops and `np.array`, not by `new`. */
  constructor(
    readonly aval: ShapedArray,
    trace: Trace,
    payload: unknown,
  ) {
    this._trace = trace;
    this._payload = payload;
  }

  get shape(): Shape {
    return this.aval.shape;
  }
  get dtype(): DType {
    return this.aval.dtype;
  }
  get weakType(): boolean {
    return this.aval.weakType;
  }
  get ndim(): number {
    return this.aval.shape.length;
  }
  get size(): number {
    return this.aval.size;
  }
  /** Whether this is a concrete value (not a tracer inside a transformation). */
  get isConcrete(): boolean {
    return this._trace === evalTrace;
  }

  // ---- data out ----
  /** Copy the values to the host. Works on every backend. */
  async data(): Promise<TypedArray> {
    const d = concreteData(this, "data");
    if (d.host) return d.host.slice();
    return d.backend!.read(d.handle!, this.aval);
  }
  /** Copy the values to the host synchronously (CPU; WebGPU throws — use `await x.data()`). */
  dataSync(): TypedArray {
    const d = concreteData(this, "dataSync");
    if (d.host) return d.host.slice();
    const b = d.backend!;
    if (!b.readSync)
      throw new Error(
        `dataSync: the ${b.name} backend cannot read ${this.aval.str()} synchronously; use \`await x.data()\``,
      );
    const out = b.readSync(d.handle!, this.aval);
    if (this.size <= KEEP_HOST_BELOW) d.host = out.slice();
    return out;
  }
  /** Nested JS arrays of numbers (booleans for bool). */
  toJs(): unknown {
    const data = this.dataSync();
    const conv = this.dtype === "bool" ? (v: number) => v !== 0 : (v: number) => v;
    const build = (dim: number, off: number): unknown => {
      if (dim === this.ndim) return conv(data[off]!);
      const stride = shapeSize(this.shape.slice(dim + 1));
      const out: unknown[] = [];
      for (let i = 0; i < this.shape[dim]!; i++) out.push(build(dim + 1, off + i * stride));
      return out;
    };
    return build(0, 0);
  }
  /** The single value of a one-element array. */
  item(): number | boolean {
    if (this.size !== 1)
      throw new TypeError(`item: can only convert an array of size 1 to a scalar, got ${this.aval.str()}`);
    const v = this.dataSync()[0]!;
    return this.dtype === "bool" ? v !== 0 : v;
  }

  /** Free the buffer now; later use of this array throws. */
  dispose(): void {
    const d = this._payload;
    if (!(d instanceof ArrayData) || d.gone !== null) return;
    if (d.handle && d.backend) d.backend.free(d.handle);
    finalizer.unregister(this);
    d.handle = null;
    d.host = null;
    d.gone = "it was disposed";
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  // ---- printing ----
  /** JAX's repr: `Array([1, 2, 3], dtype=int32)`. */
  toString(): string {
    if (!this.isConcrete) return `Traced<${this.aval.str()}>with<${this._trace.constructor.name}>`;
    const d = this._payload as ArrayData;
    if (d.gone !== null) return `Array(<deleted: ${d.gone}>, shape=${this.shape}, dtype=${this.dtype})`;
    if (!d.host && !d.backend?.readSync) return `Array(shape=(${this.shape.join(", ")}), dtype=${this.dtype})`;
    return formatRepr("Array", this.dataSync(), this.shape, this.dtype, this.weakType);
  }
  /** numpy's str(): `[1 2 3]`. */
  str(): string {
    return formatValues(this.dataSync(), this.shape, this.dtype);
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
  get [Symbol.toStringTag](): string {
    return "Array";
  }

  // ---- arithmetic ----
  add(y: ArrayLike): Array {
    return ops.add(this, y);
  }
  sub(y: ArrayLike): Array {
    return ops.subtract(this, y);
  }
  mul(y: ArrayLike): Array {
    return ops.multiply(this, y);
  }
  div(y: ArrayLike): Array {
    return ops.divide(this, y);
  }
  floorDiv(y: ArrayLike): Array {
    return ops.floorDivide(this, y);
  }
  mod(y: ArrayLike): Array {
    return ops.mod(this, y);
  }
  pow(y: ArrayLike): Array {
    return ops.power(this, y);
  }
  neg(): Array {
    return ops.negative(this);
  }
  maximum(y: ArrayLike): Array {
    return ops.maximum(this, y);
  }
  minimum(y: ArrayLike): Array {
    return ops.minimum(this, y);
  }
  clip(lo: ArrayLike | null, hi: ArrayLike | null): Array {
    return ops.clip(this, lo, hi);
  }
  // comparisons
  eq(y: ArrayLike): Array {
    return ops.equal(this, y);
  }
  ne(y: ArrayLike): Array {
    return ops.notEqual(this, y);
  }
  lt(y: ArrayLike): Array {
    return ops.less(this, y);
  }
  le(y: ArrayLike): Array {
    return ops.lessEqual(this, y);
  }
  gt(y: ArrayLike): Array {
    return ops.greater(this, y);
  }
  ge(y: ArrayLike): Array {
    return ops.greaterEqual(this, y);
  }
  and(y: ArrayLike): Array {
    return ops.logicalAnd(this, y);
  }
  or(y: ArrayLike): Array {
    return ops.logicalOr(this, y);
  }
  not(): Array {
    return ops.logicalNot(this);
  }
  // unary math
  exp(): Array {
    return ops.exp(this);
  }
  log(): Array {
    return ops.log(this);
  }
  log1p(): Array {
    return ops.log1p(this);
  }
  sqrt(): Array {
    return ops.sqrt(this);
  }
  rsqrt(): Array {
    return ops.rsqrt(this);
  }
  tanh(): Array {
    return ops.tanh(this);
  }
  erf(): Array {
    return ops.erf(this);
  }
  sin(): Array {
    return ops.sin(this);
  }
  cos(): Array {
    return ops.cos(this);
  }
  abs(): Array {
    return ops.abs(this);
  }
  sign(): Array {
    return ops.sign(this);
  }
  square(): Array {
    return ops.square(this);
  }
  // reductions
  sum(axis?: Axis | ReduceOptions, opts?: ReduceOptions): Array {
    return ops.sum(this, axis, opts);
  }
  mean(axis?: Axis | ReduceOptions, opts?: ReduceOptions): Array {
    return ops.mean(this, axis, opts);
  }
  max(axis?: Axis | ReduceOptions, opts?: ReduceOptions): Array {
    return ops.max(this, axis, opts);
  }
  min(axis?: Axis | ReduceOptions, opts?: ReduceOptions): Array {
    return ops.min(this, axis, opts);
  }
  prod(axis?: Axis | ReduceOptions, opts?: ReduceOptions): Array {
    return ops.prod(this, axis, opts);
  }
  var(axis?: Axis | ReduceOptions, opts?: ReduceOptions): Array {
    return ops.var_(this, axis, opts);
  }
  std(axis?: Axis | ReduceOptions, opts?: ReduceOptions): Array {
    return ops.std(this, axis, opts);
  }
  argmax(axis?: number | null, opts?: ReduceOptions): Array {
    return ops.argmax(this, axis, opts);
  }
  argmin(axis?: number | null, opts?: ReduceOptions): Array {
    return ops.argmin(this, axis, opts);
  }
  // shape
  reshape(shape: readonly number[]): Array {
    return ops.reshape(this, shape);
  }
  transpose(axes?: readonly number[]): Array {
    return ops.transpose(this, axes);
  }
  get T(): Array {
    return ops.transpose(this);
  }
  broadcastTo(shape: readonly number[]): Array {
    return ops.broadcastTo(this, shape);
  }
  squeeze(axis?: Axis): Array {
    return ops.squeeze(this, axis);
  }
  expandDims(axis: number | readonly number[]): Array {
    return ops.expandDims(this, axis);
  }
  flatten(): Array {
    return ops.ravel(this);
  }
  ravel(): Array {
    return ops.ravel(this);
  }
  astype(dtype: DType): Array {
    return ops.astype(this, dtype);
  }
  // linear algebra
  matmul(y: ArrayLike): Array {
    return ops.matmul(this, y);
  }
  dot(y: ArrayLike): Array {
    return ops.dot(this, y);
  }
  // indexing
  /** `x[idx]`: numbers, `"..."`, `null` (new axis), `slice(...)`, integer arrays, or a JS array of these. */
  get(idx?: Index): Array {
    return indexing.getIndex(this, idx);
  }
  /** Functional updates: `x.at(idx).set(v)`, `.add(v)`. */
  at(idx: Index): indexing.AtUpdater {
    return new indexing.AtUpdater(this, idx);
  }
}

// ---- concrete data helpers ------------------------------------------------------

function concreteData(x: Array, op: string): ArrayData {
  if (!x.isConcrete)
    throw new Error(
      `${op}: cannot read the value of a traced array ${x.aval.str()} while tracing (inside jit, grad, vmap, ...); ` +
        `return it from the transformed function instead, or mark the argument static`,
    );
  const d = x._payload as ArrayData;
  if (d.gone !== null) throw new Error(`${op}: this ${x.aval.str()} array can no longer be used: ${d.gone}`);
  return d;
}

/** Make a concrete array from host data (uploaded lazily). `data` is owned by the array. */
export function fromHost(data: TypedArray, shape: Shape, dtype: DType, weakType = false): Array {
  const a = new Array(new ShapedArray(shape, dtype, weakType), evalTrace, new ArrayData(data));
  scopes[scopes.length - 1]?.add(a);
  return a;
}

/** Wrap a backend buffer into a concrete array, owning the buffer. */
export function wrapBuffer(aval: ShapedArray, backend: Backend, h: BufferHandle): Array {
  const d = new ArrayData(null);
  d.backend = backend;
  d.handle = h;
  const a = new Array(aval, evalTrace, d);
  finalizer.register(a, d, a);
  scopes[scopes.length - 1]?.add(a);
  return a;
}

/** The buffer of a concrete array on `backend`, uploading host data first if needed. */
export function bufferOf(x: Array, backend: Backend): BufferHandle {
  const d = concreteData(x, "buffer");
  if (d.handle) {
    if (d.backend !== backend)
      throw new Error(
        `an array on the "${d.backend!.name}" backend was used by an op on "${backend.name}"; ` +
          (d.backend!.readSync
            ? `move it with toBackend(x, "${backend.name}")`
            : `read it with \`await x.data()\` and rebuild it on "${backend.name}" with np.array (the ${d.backend!.name} backend cannot read synchronously)`),
      );
    return d.handle;
  }
  d.backend = backend;
  d.handle = backend.alloc(x.aval, d.host!);
  if (x.size > KEEP_HOST_BELOW) d.host = null;
  finalizer.register(x, d, x);
  return d.handle;
}

/** Host values of a concrete array when they are at hand without a device read (small constants). */
export function hostValues(x: Array): TypedArray | null {
  if (!x.isConcrete) return null;
  const d = x._payload as ArrayData;
  return d.gone === null ? d.host : null;
}

/**
 * Detach the buffer from `x` (its new owner is a program output that reused it
 * in place). `x` can no longer be used afterwards.
 */
export function takeBuffer(x: Array, reason: string): void {
  const d = concreteData(x, "takeBuffer");
  finalizer.unregister(x);
  d.gone = reason;
  d.handle = null;
  d.host = null;
}

/** Copy an array to another backend. */
export function toBackend(x: Array, name: string): Array {
  const target = getBackend(name);
  const d = concreteData(x, "toBackend");
  if (d.backend === target) return x;
  const data = x.dataSync();
  const out = fromHost(data, x.shape, x.dtype, x.weakType);
  bufferOf(out, target);
  return out;
}

/** A zero-filled host array, for ops that build constants. */
export function hostZeros(dtype: DType, n: number): TypedArray {
  return typedArrayFor(dtype, n);
}

setConcreteHooks({
  buffer: bufferOf,
  backendOf: (x) => {
    const d = concreteData(x, "op");
    return d.backend;
  },
  wrap: wrapBuffer,
});

/** Live buffers and bytes of a backend (the current one by default). */
export function memory(backend?: string): { buffers: number; bytes: number } {
  return getBackend(backend).memory();
}
