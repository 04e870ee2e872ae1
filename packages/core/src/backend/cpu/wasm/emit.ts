/**
 * A tiny WebAssembly binary emitter: LEB128, the few opcodes the GEMM kernels
 * need (i32 arithmetic, structured control flow, scalar/SIMD loads and stores),
 * a function builder with typed locals, and a module writer (one imported
 * memory, any number of exported functions).
 */

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (32-bit range). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const str = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;

const mem = (opc: number[], align: number, offset: number): number[] => [...opc, align, ...uleb(offset)];
const simd = (i: number): number[] => [0xfd, ...uleb(i)];

/** Opcodes (plain and 0xFD-prefixed SIMD). Memory offsets are byte immediates. */
export const op = {
  localGet: (i: number) => [0x20, ...uleb(i)],
  localSet: (i: number) => [0x21, ...uleb(i)],
  localTee: (i: number) => [0x22, ...uleb(i)],
  i32Const: (v: number) => [0x41, ...sleb(v)],
  i32Eqz: [0x45],
  i32Eq: [0x46],
  i32LtU: [0x49],
  i32LtS: [0x48],
  i32GeS: [0x4e],
  i32GtS: [0x4a],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Mul: [0x6c],
  i32Shl: [0x74],
  i32And: [0x71],
  select: [0x1b],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  else: [0x05],
  br: (d: number) => [0x0c, ...uleb(d)],
  brIf: (d: number) => [0x0d, ...uleb(d)],
  end: [0x0b],
  call: (f: number) => [0x10, ...uleb(f)],
  drop: [0x1a],
  i32Load: (offset = 0) => mem([0x28], 2, offset),
  f32Load: (offset = 0) => mem([0x2a], 2, offset),
  f32Store: (offset = 0) => mem([0x38], 2, offset),
  f32Const0: [0x43, 0, 0, 0, 0],
  v128Load: (offset = 0) => mem(simd(0x00), 4, offset),
  v128Load32Splat: (offset = 0) => mem(simd(0x09), 2, offset),
  v128Store: (offset = 0) => mem(simd(0x0b), 4, offset),
  v128Const0: [...simd(0x0c), ...new Array<number>(16).fill(0)],
  f32x4Splat: simd(0x13),
  f32x4Add: simd(0xe4),
  f32x4Mul: simd(0xe6),
  /** relaxed_madd(a, b, c) = a * b + c (fused or not). */
  f32x4RelaxedMadd: simd(0x105),
};

export interface FuncSpec {
  params: number[];
  results: number[];
  /** Extra locals as [count, type] groups. */
  locals: [number, number][];
  body: number[];
}

/** Builds one function body: typed locals, raw opcodes and loop helpers. */
export class FnBuilder {
  readonly body: number[] = [];
  private readonly extra: number[] = [];
  constructor(
    readonly params: number[],
    readonly results: number[] = [],
  ) {}
  /** A new local of type `t`; returns its index. */
  local(t: number): number {
    this.extra.push(t);
    return this.params.length + this.extra.length - 1;
  }
  emit(...ops: (number | readonly number[])[]): this {
    for (const o of ops) {
      if (typeof o === "number") this.body.push(o);
      else for (const b of o) this.body.push(b);
    }
    return this;
  }
  get(i: number): this {
    return this.emit(op.localGet(i));
  }
  set(i: number): this {
    return this.emit(op.localSet(i));
  }
  /** local[i] = value pushed by `f`. */
  assign(i: number, f: () => void): this {
    f();
    return this.set(i);
  }
  /** local[i] += c (i32). */
  inc(i: number, c: number | (() => void)): this {
    this.get(i);
    if (typeof c === "number") this.emit(op.i32Const(c));
    else c();
    return this.emit(op.i32Add).set(i);
  }
  /** `for (i = from; i < to; i += step)` (signed compare); `to` is a local index, or `{ c }` for a constant. */
  forRange(i: number, from: number | (() => void), to: number | { c: number }, step: number, body: () => void): this {
    if (typeof from === "number") this.emit(op.i32Const(from));
    else from();
    this.set(i);
    this.emit(op.block, op.loop);
    this.get(i);
    if (typeof to === "number") this.get(to);
    else this.emit(op.i32Const(to.c));
    this.emit(op.i32GeS, op.brIf(1));
    body();
    this.inc(i, step);
    this.emit(op.br(0), op.end, op.end);
    return this;
  }
  spec(): FuncSpec {
    const groups: [number, number][] = [];
    for (const t of this.extra) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    return { params: this.params, results: this.results, locals: groups, body: this.body };
  }
}

/**
 * Module importing memory "e"."m" (shared when `shared`, with `maxPages`) and
 * exporting `funcs` under the given names (function i may call function j by index).
 */
export function emitModule(funcs: { name: string; fn: FuncSpec }[], mem: { shared: boolean; minPages: number; maxPages: number }): Uint8Array {
  const types = section(1, vec(funcs.map(({ fn }) => [0x60, ...vec(fn.params.map((t) => [t])), ...vec(fn.results.map((t) => [t]))])));
  const imports = section(2, vec([[...str("e"), ...str("m"), 0x02, mem.shared ? 0x03 : 0x01, ...uleb(mem.minPages), ...uleb(mem.maxPages)]]));
  const fsec = section(3, vec(funcs.map((_, i) => uleb(i))));
  const exps = section(7, vec(funcs.map(({ name }, i) => [...str(name), 0x00, ...uleb(i)])));
  const code = section(
    10,
    vec(
      funcs.map(({ fn }) => {
        const body = [...vec(fn.locals.map(([n, t]) => [...uleb(n), t])), ...fn.body, ...op.end];
        return [...uleb(body.length), ...body];
      }),
    ),
  );
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...types, ...imports, ...fsec, ...exps, ...code]);
}

/** A module using one f32x4.relaxed_madd: validates only where relaxed SIMD is supported. */
export function relaxedProbe(): Uint8Array {
  const body = [...op.localGet(0), ...op.localGet(0), ...op.localGet(0), ...op.f32x4RelaxedMadd, ...op.drop];
  return emitModule([{ name: "p", fn: { params: [V128], results: [], locals: [], body } }], { shared: false, minPages: 0, maxPages: 1 });
}

/** A module using one f32x4.add: validates only where SIMD128 is supported. */
export function simdProbe(): Uint8Array {
  const body = [...op.localGet(0), ...op.localGet(0), ...op.f32x4Add, ...op.drop];
  return emitModule([{ name: "p", fn: { params: [V128], results: [], locals: [], body } }], { shared: false, minPages: 0, maxPages: 1 });
}

/** A module importing a shared memory: validates only where Wasm threads are supported. */
export function sharedMemoryProbe(): Uint8Array {
  return emitModule([{ name: "p", fn: { params: [], results: [], locals: [], body: [] } }], { shared: true, minPages: 1, maxPages: 1 });
}
