/**
 * A tiny WebAssembly binary emitter: LEB128, opcodes (`op`: the scalar ones and
 * the few SIMD ones the GEMM kernels use; `S`: the SIMD128 set the fused
 * kernels use), a function builder with typed locals, and a module writer (one
 * imported memory, any number of exported functions).
 *
 * Opcode numbers: https://webassembly.github.io/spec/core/binary/instructions.html
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
export const F64 = 0x7c;
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
  // more scalar i32
  i32Ne: [0x47],
  i32GtU: [0x4b],
  i32LeS: [0x4c],
  i32LeU: [0x4d],
  i32GeU: [0x4f],
  i32DivS: [0x6d],
  i32DivU: [0x6e],
  i32RemS: [0x6f],
  i32RemU: [0x70],
  i32Or: [0x72],
  i32Xor: [0x73],
  i32ShrS: [0x75],
  i32ShrU: [0x76],
  i32Load8U: (offset = 0) => mem([0x2d], 0, offset),
  i32Store: (offset = 0) => mem([0x36], 2, offset),
  i32Store8: (offset = 0) => mem([0x3a], 0, offset),
  // f32 / f64 scalars
  f32Const: (v: number) => [0x43, ...f32Bytes(v)],
  f64Const: (v: number) => [0x44, ...f64Bytes(v)],
  f32Store0: (offset = 0) => mem([0x38], 0, offset),
  f32Eq: [0x5b],
  f32Ne: [0x5c],
  f32Lt: [0x5d],
  f32Gt: [0x5e],
  f64Lt: [0x63],
  f64Gt: [0x64],
  f32Add: [0x92],
  f32Mul: [0x94],
  f64Add: [0xa0],
  f64Mul: [0xa2],
  f32DemoteF64: [0xb6],
  f64PromoteF32: [0xbb],
  i32ReinterpretF32: [0xbc],
  f32ReinterpretI32: [0xbe],
  ifI32: [0x04, I32],
  ifF32: [0x04, F32],
  return: [0x0f],
};

/** Little-endian bytes of a float32 / float64 constant. */
export function f32Bytes(v: number): number[] {
  return Array.from(new Uint8Array(new Float32Array([v]).buffer));
}
export function f64Bytes(v: number): number[] {
  return Array.from(new Uint8Array(new Float64Array([v]).buffer));
}

const lane = (i: number) => (l: number) => [...simd(i), l];
/** Memory + lane immediate (load/store one lane). */
const memLane = (i: number, align: number) => (l: number, offset = 0) => [...simd(i), align, ...uleb(offset), l];

/** SIMD128 opcodes (fused kernels). Loads/stores here carry no alignment promise. */
export const S = {
  load: (offset = 0) => mem(simd(0x00), 0, offset),
  store: (offset = 0) => mem(simd(0x0b), 0, offset),
  load32Splat: (offset = 0) => mem(simd(0x09), 0, offset),
  load32Zero: (offset = 0) => mem(simd(0x5c), 0, offset),
  load8Lane: memLane(0x54, 0),
  load32Lane: memLane(0x56, 0),
  store8Lane: memLane(0x58, 0),
  store32Lane: memLane(0x5a, 0),
  /** v128.const from 16 bytes. */
  const: (bytes: readonly number[]) => [...simd(0x0c), ...bytes],
  i32x4Const: (a: readonly number[]) => [...simd(0x0c), ...Array.from(new Uint8Array(new Int32Array(a).buffer))],
  f32x4Const: (a: readonly number[]) => [...simd(0x0c), ...Array.from(new Uint8Array(new Float32Array(a).buffer))],
  shuffle: (lanes: readonly number[]) => [...simd(0x0d), ...lanes],
  i32x4Splat: simd(0x11),
  f32x4Splat: simd(0x13),
  f64x2Splat: simd(0x14),
  i32x4ExtractLane: lane(0x1b),
  i32x4ReplaceLane: lane(0x1c),
  f32x4ExtractLane: lane(0x1f),
  f32x4ReplaceLane: lane(0x20),
  f64x2ExtractLane: lane(0x21),
  f64x2ReplaceLane: lane(0x22),
  i32x4Eq: simd(0x37),
  i32x4Ne: simd(0x38),
  i32x4LtS: simd(0x39),
  i32x4LtU: simd(0x3a),
  i32x4GtS: simd(0x3b),
  i32x4GtU: simd(0x3c),
  i32x4LeS: simd(0x3d),
  i32x4LeU: simd(0x3e),
  i32x4GeS: simd(0x3f),
  i32x4GeU: simd(0x40),
  f32x4Eq: simd(0x41),
  f32x4Ne: simd(0x42),
  f32x4Lt: simd(0x43),
  f32x4Gt: simd(0x44),
  f32x4Le: simd(0x45),
  f32x4Ge: simd(0x46),
  f64x2Lt: simd(0x49),
  f64x2Gt: simd(0x4a),
  not: simd(0x4d),
  and: simd(0x4e),
  andnot: simd(0x4f),
  or: simd(0x50),
  xor: simd(0x51),
  bitselect: simd(0x52),
  anyTrue: simd(0x53),
  f32x4DemoteF64x2Zero: simd(0x5e),
  f64x2PromoteLowF32x4: simd(0x5f),
  i8x16NarrowI16x8U: simd(0x66),
  f32x4Ceil: simd(0x67),
  f32x4Floor: simd(0x68),
  f32x4Trunc: simd(0x69),
  f32x4Nearest: simd(0x6a),
  i16x8NarrowI32x4U: simd(0x86),
  i16x8ExtendLowI8x16U: simd(0x89),
  i32x4Abs: simd(0xa0),
  i32x4Neg: simd(0xa1),
  i32x4Bitmask: simd(0xa4),
  i32x4ExtendLowI16x8U: simd(0xa9),
  i32x4Shl: simd(0xab),
  i32x4ShrS: simd(0xac),
  i32x4ShrU: simd(0xad),
  i32x4Add: simd(0xae),
  i32x4Sub: simd(0xb1),
  i32x4Mul: simd(0xb5),
  i32x4MinS: simd(0xb6),
  i32x4MinU: simd(0xb7),
  i32x4MaxS: simd(0xb8),
  i32x4MaxU: simd(0xb9),
  f32x4Abs: simd(0xe0),
  f32x4Neg: simd(0xe1),
  f32x4Sqrt: simd(0xe3),
  f32x4Add: simd(0xe4),
  f32x4Sub: simd(0xe5),
  f32x4Mul: simd(0xe6),
  f32x4Div: simd(0xe7),
  f32x4Min: simd(0xe8),
  f32x4Max: simd(0xe9),
  /** pmin(a, b) = b < a ? b : a (one minps; a NaN in a survives). */
  f32x4Pmin: simd(0xea),
  f32x4Pmax: simd(0xeb),
  f64x2Sqrt: simd(0xef),
  f64x2Add: simd(0xf0),
  f64x2Sub: simd(0xf1),
  f64x2Mul: simd(0xf2),
  f64x2Div: simd(0xf3),
  i32x4TruncSatF32x4S: simd(0xf8),
  i32x4TruncSatF32x4U: simd(0xf9),
  f32x4ConvertI32x4S: simd(0xfa),
  f32x4ConvertI32x4U: simd(0xfb),
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
 * the functions `imports` ("e".name, function indices 0..k-1), and exporting
 * `funcs` under the given names (function i is index k + i; calls use those).
 */
export function emitModule(
  funcs: { name: string; fn: FuncSpec }[],
  mem: { shared: boolean; minPages: number; maxPages: number },
  imports: readonly { name: string; params: number[]; results: number[] }[] = [],
): Uint8Array {
  const sig = (f: { params: number[]; results: number[] }) => [0x60, ...vec(f.params.map((t) => [t])), ...vec(f.results.map((t) => [t]))];
  const k = imports.length;
  const types = section(1, vec([...imports.map(sig), ...funcs.map(({ fn }) => sig(fn))]));
  const memImport = [...str("e"), ...str("m"), 0x02, mem.shared ? 0x03 : 0x01, ...uleb(mem.minPages), ...uleb(mem.maxPages)];
  const imps = section(2, vec([memImport, ...imports.map((f, i) => [...str("e"), ...str(f.name), 0x00, ...uleb(i)])]));
  const fsec = section(3, vec(funcs.map((_, i) => uleb(k + i))));
  const exps = section(7, vec(funcs.map(({ name }, i) => [...str(name), 0x00, ...uleb(k + i)])));
  const code = section(
    10,
    vec(
      funcs.map(({ fn }) => {
        const body = [...vec(fn.locals.map(([n, t]) => [...uleb(n), t])), ...fn.body, ...op.end];
        return [...uleb(body.length), ...body];
      }),
    ),
  );
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...types, ...imps, ...fsec, ...exps, ...code]);
}

/**
 * Scalar functions a kernel module may import ("e".name, f64 → f64): the JS
 * path's own Math functions, for lanes outside an approximation's range. Main
 * thread and workers build their imports from this same source.
 */
export const MATH_IMPORTS_SRC = "({ sin: Math.sin, cos: Math.cos })";
export const MATH_IMPORTS: Record<string, (x: number) => number> = { sin: Math.sin, cos: Math.cos };

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
