/**
 * Reduction accumulators of the fused Wasm kernels: per reduce op and dtype,
 * the vector state (float32 sums and products in float64 lanes, as the JS
 * path accumulates), folding a vector in, the partials' pairwise combination
 * in the order fusion/lanes.ts fixes, and the stores of results. max/min
 * follow the JS path's `if (v > acc || v !== v) acc = v` exactly.
 */
import type { ReduceSpec } from "../../../fusion/plan.js";
import { F32, F64, I32, S, V128, op } from "./emit.js";
import { HIGH_HALF, LOW_HALVES, get, kf, kf64, ki, type Code, type Gen, type Ops } from "./gen.js";

/**
 * Accumulator plumbing of one reduction: `copies` vector accumulators (one per
 * group of 4 lanes: rows mode keeps ROW_PARTIALS = 8 partials), folding a
 * vector into one of them, partials → scalar in the shared order.
 */
export interface Acc {
  init(): void;
  step(v: Code, copy: number): void;
  /** All partials folded in the shared order ((p0 p1)(p2 p3))((p4 p5)(p6 p7)) into a scalar. */
  combine(): Code;
  /** Folds lane l of `v` into scalar `s` (a local). */
  stepScalar(s: number, v: Code, l: number): void;
  scalarType: number;
  /** Stores copy 0's lanes to red at element o (contiguous), or the first rem lanes one by one. */
  storeVector(red: Code, o: Code, rem: number, whole: boolean): void;
  storeScalar(red: Code, o: Code, s: Code): void;
}

/** Pairwise fold of partials p in order: (p0 p1)(p2 p3)... then the pairs, and so on. */
function tree(ps: Code[], fold: (a: Code, b: Code) => Code): Code {
  while (ps.length > 1) {
    const next: Code[] = [];
    for (let i = 0; i < ps.length; i += 2) next.push(fold(ps[i]!, ps[i + 1]!));
    ps = next;
  }
  return ps[0]!;
}

export function makeAcc(g: Gen, r: ReduceSpec, copies: number): Acc {
  const d = r.dtype;
  const F = d === "float32";
  const wide = F && (r.op === "sum" || r.op === "prod");
  const redAddr = (red: Code, o: Code): Ops => [red, o, ...(d === "bool" ? [] : [op.i32Const(2), op.i32Shl]), op.i32Add];
  const C = Array.from({ length: copies }, (_, c) => c);
  if (wide) {
    // float64 lanes: lo = lanes 0, 1; hi = lanes 2, 3 of each copy.
    const lo = C.map(() => g.local(V128)), hi = C.map(() => g.local(V128));
    const vop = r.op === "sum" ? S.f64x2Add : S.f64x2Mul;
    const sop = r.op === "sum" ? op.f64Add : op.f64Mul;
    const one = r.op === "sum" ? 0 : 1;
    return {
      scalarType: F64,
      init() {
        for (const c of C) g.emit(kf64(one), op.localSet(lo[c]!), kf64(one), op.localSet(hi[c]!));
      },
      step(v, c) {
        g.emit(get(lo[c]!), v, S.f64x2PromoteLowF32x4, vop, op.localSet(lo[c]!));
        g.emit(get(hi[c]!), v, v, S.shuffle(HIGH_HALF), S.f64x2PromoteLowF32x4, vop, op.localSet(hi[c]!));
      },
      combine() {
        const ps = C.flatMap((c) => [g.d(get(lo[c]!), S.f64x2ExtractLane(0)), g.d(get(lo[c]!), S.f64x2ExtractLane(1)), g.d(get(hi[c]!), S.f64x2ExtractLane(0)), g.d(get(hi[c]!), S.f64x2ExtractLane(1))]);
        return tree(ps, (x, y) => g.d(x, y, sop));
      },
      stepScalar(s, v, l) {
        g.emit(get(s), v, S.f32x4ExtractLane(l), op.f64PromoteF32, sop, op.localSet(s));
      },
      storeVector(red, o, rem, whole) {
        const f = g.v(get(lo[0]!), S.f32x4DemoteF64x2Zero, get(hi[0]!), S.f32x4DemoteF64x2Zero, S.shuffle(LOW_HALVES));
        if (whole) g.emit(...redAddr(red, o), f, S.store());
        else for (let l = 0; l < rem; l++) g.emit(...redAddr(red, o), f, S.store32Lane(l, 4 * l));
      },
      storeScalar(red, o, s) {
        g.emit(...redAddr(red, o), s, op.f32DemoteF64, op.f32Store0());
      },
    };
  }
  const acc = C.map(() => g.local(V128));
  const init = (() => {
    const I = d === "int32";
    switch (r.op) {
      case "sum":
        return F ? kf(0) : ki(0);
      case "prod":
        return F ? kf(1) : ki(1);
      case "max":
        return F ? kf(-Infinity) : I ? ki(-0x80000000) : ki(0);
      default:
        return F ? kf(Infinity) : I ? ki(0x7fffffff) : d === "uint32" ? ki(-1) : ki(1);
    }
  })();
  const I = d === "int32";
  // JS: `if (v > acc || v !== v) acc = v` (max), keeping the first of equal values.
  const vstep = (a: Code, v: Code): Ops => {
    switch (r.op) {
      case "sum":
        return d === "bool" ? [a, v, S.or] : [a, v, S.i32x4Add];
      case "prod":
        return d === "bool" ? [a, v, S.and] : [a, v, S.i32x4Mul];
      case "max":
        return F ? [v, a, v, a, S.f32x4Gt, v, v, S.f32x4Ne, S.or, S.bitselect] : [a, v, I ? S.i32x4MaxS : S.i32x4MaxU];
      default:
        return F ? [v, a, v, a, S.f32x4Lt, v, v, S.f32x4Ne, S.or, S.bitselect] : [a, v, I ? S.i32x4MinS : S.i32x4MinU];
    }
  };
  const sstep = (a: Code, v: Code): Ops => {
    switch (r.op) {
      case "sum":
        return d === "bool" ? [a, v, op.i32Or] : [a, v, op.i32Add];
      case "prod":
        return d === "bool" ? [a, v, op.i32And] : [a, v, op.i32Mul];
      case "max":
        return F ? [v, a, v, a, op.f32Gt, v, v, op.f32Ne, op.i32Or, op.select] : [v, a, v, a, I ? op.i32GtS : op.i32GtU, op.select];
      default:
        return F ? [v, a, v, a, op.f32Lt, v, v, op.f32Ne, op.i32Or, op.select] : [v, a, v, a, I ? op.i32LtS : op.i32LtU, op.select];
    }
  };
  const lane = (v: Code, l: number): Code => (F ? g.s(v, S.f32x4ExtractLane(l)) : g.i(v, S.i32x4ExtractLane(l)));
  return {
    scalarType: F ? F32 : I32,
    init() {
      for (const c of C) g.emit(init, op.localSet(acc[c]!));
    },
    step(v, c) {
      g.emit(...vstep(get(acc[c]!), v), op.localSet(acc[c]!));
    },
    combine() {
      const ps = C.flatMap((c) => [0, 1, 2, 3].map((l) => lane(get(acc[c]!), l)));
      return tree(ps, (x, y) => (F ? g.s(...sstep(x, y)) : g.i(...sstep(x, y))));
    },
    stepScalar(s, v, l) {
      const x = lane(v, l);
      g.emit(...sstep(get(s), x), op.localSet(s));
    },
    storeVector(red, o, rem, whole) {
      const a = get(acc[0]!);
      if (whole) {
        if (d === "bool") {
          const w = g.v(a, a, S.i16x8NarrowI32x4U);
          g.emit(...redAddr(red, o), w, w, S.i8x16NarrowI16x8U, S.store32Lane(0));
        } else g.emit(...redAddr(red, o), a, S.store());
      } else
        for (let l = 0; l < rem; l++)
          if (d === "bool") g.emit(...redAddr(red, o), a, S.store8Lane(4 * l, l));
          else g.emit(...redAddr(red, o), a, S.store32Lane(l, 4 * l));
    },
    storeScalar(red, o, s) {
      if (d === "bool") g.emit(...redAddr(red, o), s, op.i32Store8());
      else if (F) g.emit(...redAddr(red, o), s, op.f32Store0());
      else g.emit(...redAddr(red, o), s, op.i32Store());
    },
  };
}

