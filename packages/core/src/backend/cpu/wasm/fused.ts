/**
 * Fused kernels (../../../fusion) as WebAssembly SIMD modules: one module per
 * kernel, exporting `job(rec)`, which runs the kernel over one range of its
 * loop. The record at `rec` holds i32 words [lo, hi, consts, p0, p1, ...]: the
 * range (elements i of an elementwise kernel, outputs o of a reduction), the
 * address of the module's constant table, and the byte addresses of the
 * inputs, the outputs and the reduction result, in that order.
 *
 * Values are f32x4 (float32) or i32x4 (int32, uint32, and bool as 0/1 lanes).
 * The main loop runs whole groups of 4 lanes; loads are classified by
 * fusion/lanes.ts (contiguous: one v128.load; uniform: a splat; reversed: a
 * load and a shuffle; anything else: per-lane index arithmetic and lane
 * loads, since Wasm SIMD has no integer division). The tail (the last n % 4
 * elements, only in the last range) runs the same vector code on lanes whose
 * indices repeat the last real one, and stores only the real lanes. A range's
 * lo is a multiple of 4 (the caller splits that way), which the load
 * classification assumes.
 *
 * Reductions vectorise as fusion/lanes.ts `reduceLanes` says: "rows" (lanes
 * over reduced elements, 8 partial accumulators), or "cols" (lanes over 4
 * consecutive outputs, each accumulating in order). float32 sums and products
 * accumulate in float64 like the JS path, and in the same order, so results
 * agree bit for bit.
 *
 * Files: gen.ts holds the code buffer and constant table, accum.ts the
 * reduction accumulators, vmath.ts the transcendentals.
 *
 * Exactness: +, -, *, /, sqrt, comparisons, conversions, integer and bit ops,
 * threefry are exact and match the JS path bit for bit (NaN payloads aside);
 * rsqrt is computed in float64 as JS does. exp, expm1, log, log1p, tanh,
 * logistic, sin, cos and erf are polynomial approximations (vmath.ts). pow,
 * atan2, float rem and erf_inv are not generated: kernels using them stay on
 * the JS path (erf_inv, in particular, feeds random.normal, which must stay
 * bit-exact with JAX).
 */
import { castScalar, type DType } from "../../../dtype.js";
import { iadd, loadsOf, type Exp, type IDType } from "../../../fusion/ir.js";
import { LANES, LaneAnalysis, ROW_PARTIALS, reduceLanes, type LaneForm } from "../../../fusion/lanes.js";
import type { Kernel, ReduceSpec } from "../../../fusion/plan.js";
import { ExpWalker, type LoadExp, type OpExp } from "../../../fusion/walk.js";
import { F64, I32, S, V128, emitModule, op } from "./emit.js";
import { makeAcc } from "./accum.js";
import { Gen, REVERSE, HIGH_HALF, LOW_HALVES, get, kf, kf64, ki, type Code, type Ops } from "./gen.js";
import { VMATH } from "./vmath.js";

/** Thrown while generating when the kernel uses something this generator does not handle. */
export class Unsupported extends Error {}

const dtypeOf = (e: Exp): IDType => (e.k === "var" ? "index" : e.dtype);
const esize = (d: DType): number => (d === "bool" ? 1 : 4);

/** A lane context: how loop variables map to lanes in one loop body. */
interface Ctx {
  /** false: 4 whole lanes (loads by lane form); true: lanes >= rem repeat lane rem - 1. */
  readonly tail: boolean;
  readonly rem: number;
  /** Lane forms of index expressions (used when !tail). */
  readonly lanes: LaneAnalysis;
  /** Scalar value of loop variable `name` at lane l. */
  laneVar(name: string, l: number): Code;
}

/**
 * The lane context of one group of lanes over loop variable `name`: lane l is
 * at base + di + l (in a tail, lanes past rem - 1 repeat the last one); each
 * lane's index is computed once per group.
 */
function laneCtx(g: Gen, lanes: LaneAnalysis, tail: boolean, rem: number, name: string, base: () => Code, di = 0): Ctx {
  const lv = new Map<number, Code>();
  return {
    tail,
    rem,
    lanes,
    laneVar: (n, l) => {
      if (n !== name) throw new Unsupported(`variable ${n}`);
      const ll = di + (tail ? Math.min(l, rem - 1) : l);
      if (ll === 0) return base();
      let c = lv.get(ll);
      if (!c) lv.set(ll, (c = g.i(base(), op.i32Const(ll), op.i32Add)));
      return c;
    },
  };
}

class KernelGen {
  readonly g = new Gen();
  readonly ptr: Code[] = [];
  readonly lo: Code;
  readonly hi: Code;

  constructor(readonly k: Kernel) {
    const g = this.g;
    const rec = get(0);
    this.lo = g.i(rec, op.i32Load(0));
    this.hi = g.i(rec, op.i32Load(4));
    g.cbase = g.i(rec, op.i32Load(8));
    const n = k.inputs.length + k.outputs.length + (k.reduce ? 1 : 0);
    for (let p = 0; p < n; p++) this.ptr.push(g.i(rec, op.i32Load(12 + 4 * p)));
  }

  // ---- values ---------------------------------------------------------------

  /** Index walkers of a context, one per lane (created on demand). */
  private indexWalkers(ctx: Ctx): (l: number) => ExpWalker<Code> {
    const ws: ExpWalker<Code>[] = [];
    const g = this.g;
    return (l) =>
      (ws[l] ??= new ExpWalker<Code>({
        constant: (e) => op.i32Const(e.value | 0),
        variable: (e) => ctx.laneVar(e.name, l),
        load: () => {
          throw new Unsupported("load inside an index expression");
        },
        op: (e, a) => {
          switch (e.op) {
            case "iadd":
              return g.i(a[0]!, a[1]!, op.i32Add);
            case "imul":
              return g.i(a[0]!, a[1]!, op.i32Mul);
            case "idiv":
              return g.i(a[0]!, a[1]!, op.i32DivU);
            case "imod":
              return g.i(a[0]!, a[1]!, op.i32RemU);
            case "irev":
              return g.i(a[1]!, a[0]!, op.i32Sub);
          }
          throw new Unsupported(`index op ${e.op}`);
        },
      }));
  }

  /** A vector walker for one loop body in context `ctx`. */
  walker(ctx: Ctx): ExpWalker<Code> {
    const idx = this.indexWalkers(ctx);
    /** Scalar index of `e` at each lane (affine forms need lane 0 only). */
    const laneIndex = (e: Exp, l: number): Code => {
      if (!ctx.tail && l > 0) {
        const f = ctx.lanes.form(e);
        if (f) return this.g.i(idx(0).walk(e), op.i32Const(f.s * l), op.i32Add);
      }
      return idx(l).walk(e);
    };
    return new ExpWalker<Code>({
      constant: (e) => (e.dtype === "index" ? [] : e.dtype === "float32" ? kf(castScalar(e.value, "float32")) : ki(castScalar(e.value, e.dtype) | 0)),
      variable: () => [], // index values are computed by the index walkers where used
      load: (e) => this.load(e, ctx, idx, laneIndex),
      op: (e, a) => (e.dtype === "index" ? [] : this.vop(e, a, ctx, laneIndex)),
      multi: (e, a) => {
        if (e.op !== "threefry2x32") throw new Unsupported(e.op);
        return this.threefry(a);
      },
    });
  }

  private addr(p: Code, index: Code, d: DType, delta = 0): Ops {
    const o: Ops = [p, index];
    if (delta) o.push(op.i32Const(delta), op.i32Add);
    if (esize(d) === 4) o.push(op.i32Const(2), op.i32Shl);
    o.push(op.i32Add);
    return o;
  }

  private load(e: LoadExp, ctx: Ctx, idx: (l: number) => ExpWalker<Code>, laneIndex: (e: Exp, l: number) => Code): Code {
    const g = this.g;
    const p = this.ptr[e.input]!;
    const d = e.dtype;
    const f: LaneForm | null = ctx.tail ? null : ctx.lanes.form(e.index);
    if (f && (f.s === 1 || f.s === -1)) {
      const at = this.addr(p, idx(0).walk(e.index), d, f.s === -1 ? -3 : 0);
      let v = d === "bool" ? g.v(...at, S.load32Zero(), S.i16x8ExtendLowI8x16U, S.i32x4ExtendLowI16x8U) : g.v(...at, S.load());
      if (f.s === -1) v = g.v(v, v, S.shuffle(REVERSE));
      return v;
    }
    if (f && f.s === 0) {
      const at = this.addr(p, idx(0).walk(e.index), d);
      return d === "bool" ? g.v(...at, op.i32Load8U(), S.i32x4Splat) : g.v(...at, S.load32Splat());
    }
    // Gather, lane by lane.
    if (d === "bool") {
      let v = g.v(...this.addr(p, laneIndex(e.index, 0), d), op.i32Load8U(), S.i32x4Splat);
      for (let l = 1; l < LANES; l++) v = g.v(v, ...this.addr(p, laneIndex(e.index, l), d), op.i32Load8U(), S.i32x4ReplaceLane(l));
      return v;
    }
    let v = g.v(...this.addr(p, laneIndex(e.index, 0), d), S.load32Splat());
    for (let l = 1; l < LANES; l++) v = g.v(...this.addr(p, laneIndex(e.index, l), d), v, S.load32Lane(l));
    return v;
  }

  /** Per-lane scalar i32 computation of a vector result. */
  private perLane(a: readonly Code[], fn: (x: Code[]) => Ops): Code {
    const g = this.g;
    const lane = (l: number) => fn(a.map((x) => g.i(x, S.i32x4ExtractLane(l))));
    let v = g.v(...lane(0), S.i32x4Splat);
    for (let l = 1; l < LANES; l++) {
      const s = g.i(...lane(l));
      v = g.v(v, s, S.i32x4ReplaceLane(l));
    }
    return v;
  }

  /** Index expression `e` as an i32x4 of its lane values. */
  private indexVector(e: Exp, ctx: Ctx, laneIndex: (e: Exp, l: number) => Code): Code {
    const g = this.g;
    const f = ctx.tail ? null : ctx.lanes.form(e);
    if (f) return g.v(laneIndex(e, 0), S.i32x4Splat, S.i32x4Const([0, f.s, 2 * f.s, 3 * f.s]), S.i32x4Add);
    let v = g.v(laneIndex(e, 0), S.i32x4Splat);
    for (let l = 1; l < LANES; l++) v = g.v(v, laneIndex(e, l), S.i32x4ReplaceLane(l));
    return v;
  }

  private vop(e: OpExp, a: readonly Code[], ctx: Ctx, laneIndex: (e: Exp, l: number) => Code): Code {
    const g = this.g;
    const t = e.args.length > 0 ? dtypeOf(e.args[0]!) : e.dtype;
    const F = t === "float32";
    const B = t === "bool";
    const I = t === "int32";
    const U = t === "uint32";
    const [x, y, z] = a as [Code, Code, Code];
    const v = (...c: Ops) => g.v(...c);
    const m01 = (...mask: Ops) => v(...mask, S.i32x4Neg); // all-ones mask → 1
    const no = (): never => {
      throw new Unsupported(`${e.op} on ${t}`);
    };
    switch (e.op) {
      case "icast": {
        const iv = this.indexVector(e.args[0]!, ctx, laneIndex);
        if (e.dtype === "float32") return v(iv, S.f32x4ConvertI32x4U);
        if (e.dtype === "bool") return m01(iv, ki(0), S.i32x4Ne);
        return iv;
      }
      case "copy":
        return x;
      case "neg":
        return F ? v(x, S.f32x4Neg) : I || U ? v(x, S.i32x4Neg) : no();
      case "abs":
        return F ? v(x, S.f32x4Abs) : I ? v(x, S.i32x4Abs) : x;
      case "sign":
        if (F) {
          const r = v(kf(1), x, x, kf(0), S.f32x4Gt, S.bitselect);
          return v(kf(-1), r, x, kf(0), S.f32x4Lt, S.bitselect);
        }
        if (I) return v(x, ki(0), S.i32x4GtS, S.i32x4Neg, x, ki(0), S.i32x4LtS, S.or);
        if (U) return m01(x, ki(0), S.i32x4Ne);
        return x;
      case "floor":
        return F ? v(x, S.f32x4Floor) : x;
      case "ceil":
        return F ? v(x, S.f32x4Ceil) : x;
      case "round": {
        if (!F) return x;
        // Half away from zero: trunc, plus sign(x) where the dropped fraction is >= 1/2 (x - trunc(x) is exact).
        const tr = v(x, S.f32x4Trunc);
        const away = v(tr, x, kf(-0), S.and, kf(1), S.or, S.f32x4Add);
        return v(away, tr, x, tr, S.f32x4Sub, S.f32x4Abs, kf(0.5), S.f32x4Ge, S.bitselect);
      }
      case "is_finite":
        return F ? m01(x, S.f32x4Abs, kf(Infinity), S.f32x4Lt) : ki(1);
      case "not":
        return B ? v(x, ki(1), S.xor) : I || U ? v(x, S.not) : no();
      case "sqrt":
        return F ? v(x, S.f32x4Sqrt) : no();
      case "rsqrt":
        // float64, as the JS path computes 1 / Math.sqrt(x): bit-identical.
        return F ? this.viaF64(x, (d) => [kf64(1), d, S.f64x2Sqrt, S.f64x2Div]) : no();
      case "add":
        return F ? v(x, y, S.f32x4Add) : B ? v(x, y, S.or) : v(x, y, S.i32x4Add);
      case "sub":
        return F ? v(x, y, S.f32x4Sub) : B ? no() : v(x, y, S.i32x4Sub);
      case "mul":
        return F ? v(x, y, S.f32x4Mul) : B ? v(x, y, S.and) : v(x, y, S.i32x4Mul);
      case "div":
        if (F) return v(x, y, S.f32x4Div);
        if (I)
          // y == 0 → -1; INT_MIN / -1 → INT_MIN (JS: (x / y) | 0); else truncating division.
          return this.perLane([x, y], ([p, q]) => [q!, op.i32Eqz, op.ifI32, op.i32Const(-1), op.else, p!, op.i32Const(-0x80000000), op.i32Eq, q!, op.i32Const(-1), op.i32Eq, op.i32And, op.ifI32, op.i32Const(-0x80000000), op.else, p!, q!, op.i32DivS, op.end, op.end]);
        if (U) return this.perLane([x, y], ([p, q]) => [q!, op.i32Eqz, op.ifI32, op.i32Const(-1), op.else, p!, q!, op.i32DivU, op.end]);
        return no();
      case "rem":
        if (I || U) return this.perLane([x, y], ([p, q]) => [q!, op.i32Eqz, op.ifI32, p!, op.else, p!, q!, I ? op.i32RemS : op.i32RemU, op.end]);
        return no();
      case "max":
        return F ? v(x, y, S.f32x4Max) : I ? v(x, y, S.i32x4MaxS) : v(x, y, S.i32x4MaxU);
      case "min":
        return F ? v(x, y, S.f32x4Min) : I ? v(x, y, S.i32x4MinS) : v(x, y, S.i32x4MinU);
      case "and":
        return F ? no() : v(x, y, S.and);
      case "or":
        return F ? no() : v(x, y, S.or);
      case "xor":
        return F ? no() : v(x, y, S.xor);
      case "shift_left":
      case "shift_right_logical":
      case "shift_right_arithmetic": {
        if (!(I || U)) return no();
        const sh = e.args[1]!;
        const arith = e.op === "shift_right_arithmetic";
        const vecOp = e.op === "shift_left" ? S.i32x4Shl : arith ? S.i32x4ShrS : S.i32x4ShrU;
        if (sh.k === "const") {
          const c = castScalar(sh.value, t as DType) >>> 0;
          if (c >= 32) return arith ? v(x, op.i32Const(31), vecOp) : ki(0);
          return v(x, op.i32Const(c), vecOp);
        }
        const sc = e.op === "shift_left" ? op.i32Shl : arith ? op.i32ShrS : op.i32ShrU;
        if (arith) return this.perLane([x, y], ([p, q]) => [p!, op.i32Const(31), q!, q!, op.i32Const(32), op.i32GeU, op.select, sc]);
        return this.perLane([x, y], ([p, q]) => [p!, q!, sc, op.i32Const(0), q!, op.i32Const(32), op.i32LtU, op.select]);
      }
      case "eq":
        return m01(x, y, F ? S.f32x4Eq : S.i32x4Eq);
      case "ne":
        return m01(x, y, F ? S.f32x4Ne : S.i32x4Ne);
      case "lt":
        return m01(x, y, F ? S.f32x4Lt : I ? S.i32x4LtS : S.i32x4LtU);
      case "le":
        return m01(x, y, F ? S.f32x4Le : I ? S.i32x4LeS : S.i32x4LeU);
      case "gt":
        return m01(x, y, F ? S.f32x4Gt : I ? S.i32x4GtS : S.i32x4GtU);
      case "ge":
        return m01(x, y, F ? S.f32x4Ge : I ? S.i32x4GeS : S.i32x4GeU);
      case "select": {
        const mask = B ? v(x, S.i32x4Neg) : F ? v(x, kf(0), S.f32x4Ne) : v(x, ki(0), S.i32x4Ne);
        return v(y, z, mask, S.bitselect);
      }
      case "convert_element_type": {
        const from = e.src!;
        const to = e.dtype as DType;
        if (from === to) return x;
        if (to === "bool") return m01(x, from === "float32" ? kf(0) : ki(0), from === "float32" ? S.f32x4Ne : S.i32x4Ne);
        if (from === "bool") return to === "float32" ? v(x, S.f32x4ConvertI32x4U) : x;
        if (to === "float32") return v(x, from === "int32" ? S.f32x4ConvertI32x4S : S.f32x4ConvertI32x4U);
        if (from === "float32") return v(x, to === "int32" ? S.i32x4TruncSatF32x4S : S.i32x4TruncSatF32x4U);
        return x; // int32 <-> uint32: same bits
      }
      case "bitcast_convert_type":
        return esize(e.src!) === 4 && esize(e.dtype as DType) === 4 ? x : no();
    }
    const m = F ? VMATH[e.op] : undefined;
    if (m) {
      const r = m(g, x);
      return r;
    }
    return no();
  }

  /** f32x4 → two f64x2 halves → `fn` on each → f32x4 (rounded once). */
  private viaF64(x: Code, fn: (d: Code) => Ops): Code {
    const g = this.g;
    const lo = g.v(x, S.f64x2PromoteLowF32x4);
    const hi = g.v(x, x, S.shuffle(HIGH_HALF), S.f64x2PromoteLowF32x4);
    const rl = g.v(...fn(lo), S.f32x4DemoteF64x2Zero);
    const rh = g.v(...fn(hi), S.f32x4DemoteF64x2Zero);
    return g.v(rl, rh, S.shuffle(LOW_HALVES));
  }

  private threefry(a: readonly Code[]): Code[] {
    const g = this.g;
    const R = [
      [13, 15, 26, 6],
      [17, 29, 16, 24],
    ];
    const ka = a[0]!, kb = a[1]!;
    const kc = g.v(ka, kb, S.xor, ki(0x1bd11bda), S.xor);
    const ks = [ka, kb, kc];
    let x = g.v(a[2]!, ka, S.i32x4Add);
    let zz = g.v(a[3]!, kb, S.i32x4Add);
    for (let r = 0; r < 5; r++) {
      for (const s of R[r % 2]!) {
        x = g.v(x, zz, S.i32x4Add);
        zz = g.v(zz, op.i32Const(s), S.i32x4Shl, zz, op.i32Const(32 - s), S.i32x4ShrU, S.or, x, S.xor);
      }
      x = g.v(x, ks[(r + 1) % 3]!, S.i32x4Add);
      zz = g.v(zz, ks[(r + 2) % 3]!, S.i32x4Add, ki(r + 1), S.i32x4Add);
    }
    return [x, zz];
  }

  // ---- stores ---------------------------------------------------------------

  /** Stores vector `val` of dtype `d` at element `index` of pointer `p`: all lanes, or the first `rem` (lane indices per lane). */
  store(p: Code, d: DType, val: Code, contiguous: Code | null, laneAt: (l: number) => Code, rem: number): void {
    const g = this.g;
    if (contiguous) {
      if (d === "bool") {
        const w = g.v(val, val, S.i16x8NarrowI32x4U);
        g.emit(...this.addr(p, contiguous, d), w, w, S.i8x16NarrowI16x8U, S.store32Lane(0));
      }
      else g.emit(...this.addr(p, contiguous, d), val, S.store());
      return;
    }
    for (let l = 0; l < rem; l++) {
      if (d === "bool") g.emit(...this.addr(p, laneAt(l), d), val, S.store8Lane(4 * l));
      else g.emit(...this.addr(p, laneAt(l), d), val, S.store32Lane(l));
    }
  }
}


// ---- loops --------------------------------------------------------------------

/** `while (cond) { body }`: cond pushes an i32 (nonzero continues). */
function whileLoop(g: Gen, cond: Ops, body: () => void): void {
  g.emit(op.block, op.loop, ...cond, op.i32Eqz, op.brIf(1));
  body();
  g.emit(op.br(0), op.end, op.end);
}

/**
 * for i in [lo, hi): two groups of 4 lanes per iteration (two independent
 * dependency chains: a long polynomial otherwise leaves the CPU waiting),
 * then one more group, then the masked tail.
 */
function elementwise(kg: KernelGen): void {
  const { g, k } = kg;
  const i = g.local(I32);
  g.emit(kg.lo, op.localSet(i));
  const lanes = new LaneAnalysis({ i: { s: 1, a: LANES } }, LANES);
  /** One group of lanes starting at element i + di. */
  const body = (tail: boolean, rem: number, di: number) => {
    const ctx = laneCtx(g, lanes, tail, rem, "i", () => get(i), di);
    const w = kg.walker(ctx);
    const vals = k.outputs.map((o) => w.walk(o.exp));
    k.outputs.forEach((o, n) => kg.store(kg.ptr[k.inputs.length + n]!, o.v.aval.dtype, vals[n]!, tail ? null : ctx.laneVar("i", 0), (l) => ctx.laneVar("i", l), rem));
  };
  whileLoop(g, [get(i), op.i32Const(2 * LANES), op.i32Add, kg.hi, op.i32LeS], () => {
    body(false, LANES, 0);
    body(false, LANES, LANES);
    g.emit(get(i), op.i32Const(2 * LANES), op.i32Add, op.localSet(i));
  });
  g.emit(get(i), op.i32Const(LANES), op.i32Add, kg.hi, op.i32LeS, op.if);
  body(false, LANES, 0);
  g.emit(get(i), op.i32Const(LANES), op.i32Add, op.localSet(i), op.end);
  const rem = k.size % LANES;
  if (rem) {
    g.emit(get(i), kg.hi, op.i32LtS, op.if);
    body(true, rem, 0);
    g.emit(op.end);
  }
}

function reduction(kg: KernelGen): void {
  const { g, k } = kg;
  const r = k.reduce!;
  const red = kg.ptr[k.inputs.length + k.outputs.length]!;
  const outPtr = (n: number) => kg.ptr[k.inputs.length + n]!;
  const R = r.redSize;
  const mode = reduceLanes(r, LANES);
  const copies = mode === "rows" ? ROW_PARTIALS / LANES : 1;
  const acc = makeAcc(g, r, copies);
  const o = g.local(I32);
  g.emit(kg.lo, op.localSet(o));
  /** Scalar walker over one variable bound to a local (base at o, off at r). */
  const scalarOf = (e: Exp, name: string, at: Code): Code => {
    const w = new ExpWalker<Code>({
      constant: (c) => op.i32Const(c.value | 0),
      variable: (v) => {
        if (v.name !== name) throw new Unsupported(`variable ${v.name}`);
        return at;
      },
      load: () => {
        throw new Unsupported("load in an index");
      },
      op: (x, a) => {
        const code = { iadd: op.i32Add, imul: op.i32Mul, idiv: op.i32DivU, imod: op.i32RemU }[x.op as "iadd"];
        if (x.op === "irev") return g.i(a[1]!, a[0]!, op.i32Sub);
        if (!code) throw new Unsupported(`index op ${x.op}`);
        return g.i(a[0]!, a[1]!, code);
      },
    });
    return w.walk(e);
  };

  if (mode === "rows") {
    const jForm = new LaneAnalysis({ o: { s: 0, a: 1 }, r: { s: 1, a: LANES } }, LANES).form(iadd(r.base, r.off))!;
    const lanes = new LaneAnalysis({ j: jForm }, LANES);
    // Loads that are the same for the whole row (broadcasts along the reduced axis) are hoisted out of the r loop.
    const rowForm = new LaneAnalysis({ o: { s: 0, a: 1 }, r: { s: 1, a: 0 } }, R).form(iadd(r.base, r.off));
    const rowLanes = rowForm ? new LaneAnalysis({ j: rowForm }, R) : null;
    const invariant = rowLanes ? loadsOf([r.exp, ...k.outputs.map((x) => x.exp)]).filter((l) => rowLanes.form((l as LoadExp).index)?.s === 0) : [];
    const rr = g.local(I32);
    const s = g.local(acc.scalarType);
    let hoisted: { e: Exp; v: Code }[] = [];
    /** One group of 4 reduced elements at r = rr: returns the reduced vector, stores the extra outputs. */
    const group = (tail: boolean, rem: number, base: Code, dr = 0): Code => {
      const rAt = dr ? g.i(get(rr), op.i32Const(dr), op.i32Add) : get(rr);
      const j = g.i(base, scalarOf(r.off, "r", rAt), op.i32Add);
      const ctx = laneCtx(g, lanes, tail, rem, "j", () => j);
      const w = kg.walker(ctx);
      for (const h of hoisted) w.seed(h.e, h.v);
      const v = w.walk(r.exp);
      const vals = k.outputs.map((x) => w.walk(x.exp));
      k.outputs.forEach((x, n) => kg.store(outPtr(n), x.v.aval.dtype, vals[n]!, tail ? null : j, (l) => ctx.laneVar("j", l), rem));
      return v;
    };
    whileLoop(g, [get(o), kg.hi, op.i32LtS], () => {
      const base = scalarOf(r.base, "o", get(o));
      if (invariant.length > 0) {
        // Splat loads at the row's first element (any element gives the same value).
        g.emit(op.i32Const(0), op.localSet(rr));
        const j0 = g.i(base, scalarOf(r.off, "r", get(rr)), op.i32Add);
        const ctx0: Ctx = { tail: false, rem: LANES, lanes: new LaneAnalysis({ j: { s: 0, a: 1 } }, LANES), laneVar: () => j0 };
        const w0 = kg.walker(ctx0);
        hoisted = invariant.map((e) => ({ e, v: w0.walk(e) }));
      }
      acc.init();
      g.emit(op.i32Const(0), op.localSet(rr));
      const whole = R - (R % ROW_PARTIALS);
      whileLoop(g, [get(rr), op.i32Const(whole), op.i32LtS], () => {
        for (let c = 0; c < copies; c++) acc.step(group(false, LANES, base, c * LANES), c);
        g.emit(get(rr), op.i32Const(ROW_PARTIALS), op.i32Add, op.localSet(rr));
      });
      g.emit(acc.combine(), op.localSet(s));
      // The remaining elements, in order, 4 at a time (their groups start at multiples of 4).
      for (let r0 = whole; r0 < R; r0 += LANES) {
        const rem = Math.min(LANES, R - r0);
        g.emit(op.i32Const(r0), op.localSet(rr));
        const v = group(rem < LANES, rem, base);
        for (let l = 0; l < rem; l++) acc.stepScalar(s, v, l);
      }
      acc.storeScalar(red, get(o), get(s));
      g.emit(get(o), op.i32Const(1), op.i32Add, op.localSet(o));
    });
    return;
  }

  // "cols": lanes over 4 consecutive outputs.
  const ra = new LaneAnalysis({ o: { s: 1, a: LANES }, r: { s: 0, a: 1 } }, LANES);
  const jForm = ra.form(iadd(r.base, r.off));
  const lanes = new LaneAnalysis(jForm ? { j: jForm } : {}, LANES);
  const rr = g.local(I32);
  const block = (tail: boolean, rem: number) => {
    const oLane = (l: number): Code => {
      const ll = tail ? Math.min(l, rem - 1) : l;
      return ll === 0 ? get(o) : g.i(get(o), op.i32Const(ll), op.i32Add);
    };
    const bases = [0, 1, 2, 3].map((l) => scalarOf(r.base, "o", oLane(l)));
    acc.init();
    g.emit(op.i32Const(0), op.localSet(rr));
    whileLoop(g, [get(rr), op.i32Const(R), op.i32LtS], () => {
      const off = scalarOf(r.off, "r", get(rr));
      const js: Code[] = [];
      const ctx: Ctx = {
        tail,
        rem,
        lanes,
        laneVar: (name, l) => {
          if (name !== "j") throw new Unsupported(`variable ${name}`);
          return (js[l] ??= g.i(bases[l]!, off, op.i32Add));
        },
      };
      const w = kg.walker(ctx);
      const v = w.walk(r.exp);
      const vals = k.outputs.map((x) => w.walk(x.exp));
      const contiguous = !tail && jForm?.s === 1 ? ctx.laneVar("j", 0) : null;
      k.outputs.forEach((x, n) => kg.store(outPtr(n), x.v.aval.dtype, vals[n]!, contiguous, (l) => ctx.laneVar("j", l), rem));
      acc.step(v, 0);
      g.emit(get(rr), op.i32Const(1), op.i32Add, op.localSet(rr));
    });
    acc.storeVector(red, get(o), rem, !tail);
  };
  whileLoop(g, [get(o), op.i32Const(LANES), op.i32Add, kg.hi, op.i32LeS], () => {
    block(false, LANES);
    g.emit(get(o), op.i32Const(LANES), op.i32Add, op.localSet(o));
  });
  const rem = r.outSize % LANES;
  if (rem) {
    g.emit(get(o), kg.hi, op.i32LtS, op.if);
    block(true, rem);
    g.emit(op.end);
  }
}

/**
 * The module of a kernel, or null when it uses something this generator does
 * not handle: its bytes, and the constant table its job records point to
 * (word 2 of a record: the table's byte address, 16-byte aligned).
 */
export function fusedModule(k: Kernel, mem: { shared: boolean; minPages: number; maxPages: number }): { bytes: Uint8Array; consts: Uint8Array } | null {
  try {
    const kg = new KernelGen(k);
    if (k.reduce) reduction(kg);
    else elementwise(kg);
    kg.g.f.body.push(...kg.g.buf);
    const imports = kg.g.imports.map((name) => ({ name, params: [F64], results: [F64] }));
    return { bytes: emitModule([{ name: "job", fn: kg.g.f.spec() }], mem, imports), consts: new Uint8Array(kg.g.consts) };
  } catch (e) {
    if (e instanceof Unsupported) return null;
    throw e;
  }
}

/** How a kernel's range splits: elementwise and "cols" reductions in multiples of 4, "rows" reductions anywhere. */
export function rangeGranule(k: Kernel): number {
  return k.reduce && reduceLanes(k.reduce, LANES) === "rows" ? 1 : LANES;
}

