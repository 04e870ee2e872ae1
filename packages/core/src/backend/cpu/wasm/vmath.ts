/**
 * float32 transcendentals on f32x4 lanes for the fused Wasm kernels: range
 * reduction plus polynomial approximations, evaluated in float32 with plain
 * mul/add (never relaxed FMA, so results do not depend on the host CPU).
 * Special values follow the JS path (Math.* rounded to float32): NaN in, NaN
 * out; ±0 keeps its sign for odd functions; overflow gives ±Infinity and
 * results in the subnormal range are rounded once.
 *
 * Coefficients: exp, log and tanh are Cephes' single-precision ones
 * (expf.c, logf.c, tanhf.c, https://www.netlib.org/cephes/); the others are
 * fitted here (see each function). Measured errors against the JS path are in
 * test/cpu-fused.test.ts and docs/ARCHITECTURE.md.
 */
import { S, op } from "./emit.js";
import { HIGH_HALF, LOW_HALVES, kf, kf64, ki } from "./gen.js";

/** Code that pushes one value. */
export type Code = readonly number[];
type Ops = (number | Code)[];

/** What the math routines need from the code generator. */
export interface VAsm {
  /** Evaluates `code` (one v128) into a fresh local; returns code pushing it. */
  v(...code: Ops): Code;
  emit(...code: Ops): void;
  /** A fresh v128 local's index. */
  vlocal(): number;
  /** Function index of an imported scalar f64 → f64 function (emit.ts MATH_IMPORTS). */
  importFn(name: string): number;
}

const SIGN = ki(-0x80000000);
const LOG2E = 1.44269504088896341;
const LN2_HI = 0.693359375;
const LN2_LO = -2.12194440e-4;

/** ((c[0] x + c[1]) x + ...) + c[n-1] */
function horner(a: VAsm, x: Code, cs: readonly number[]): Code {
  let p = kf(cs[0]!);
  for (let i = 1; i < cs.length; i++) p = a.v(p, x, S.f32x4Mul, kf(cs[i]!), S.f32x4Add);
  return p;
}

/** 2^n for i32 lanes n in [-126, 127], as f32 bits. */
const pow2 = (a: VAsm, n: Code): Code => a.v(n, ki(127), S.i32x4Add, [0x41, 23], S.i32x4Shl);

/** 1.5 * 2^23: adding it rounds a float below 2^22 to an integer held in the low mantissa bits. */
const MAGIC = 12582912;
const MAGIC_BITS = 0x4b400000;

/** x = n ln2 + r with |r| <= ln2/2 (Cody-Waite); x must be clamped so n fits. */
function reduceLn2(a: VAsm, x: Code): { n: Code; r: Code } {
  const y = a.v(x, kf(LOG2E), S.f32x4Mul, kf(MAGIC), S.f32x4Add);
  const t = a.v(y, kf(MAGIC), S.f32x4Sub);
  const r = a.v(x, t, kf(LN2_HI), S.f32x4Mul, S.f32x4Sub, t, kf(LN2_LO), S.f32x4Mul, S.f32x4Sub);
  return { n: a.v(y, ki(MAGIC_BITS), S.i32x4Sub), r };
}

/** Clamps to [lo, hi] keeping NaN (pmax/pmin: one instruction each). */
const clamp = (a: VAsm, x: Code, lo: number, hi: number): Code => a.v(x, kf(lo), S.f32x4Pmax, kf(hi), S.f32x4Pmin);

/**
 * e^r - 1 - r for |r| <= ln2/2, as r^2 * P(r) with Cephes expf's polynomial,
 * evaluated by Estrin's scheme (pairs, then r^2): half the dependency chain of
 * Horner's, which is what bounds the loop's throughput.
 */
function expTail(a: VAsm, r: Code): Code {
  const [c5, c4, c3, c2, c1, c0] = [1.987569150e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];
  const r2 = a.v(r, r, S.f32x4Mul);
  const lo = a.v(kf(c1), r, S.f32x4Mul, kf(c0), S.f32x4Add);
  const mid = a.v(kf(c3), r, S.f32x4Mul, kf(c2), S.f32x4Add);
  const hi = a.v(kf(c5), r, S.f32x4Mul, kf(c4), S.f32x4Add);
  const p = a.v(hi, r2, S.f32x4Mul, mid, S.f32x4Add, r2, S.f32x4Mul, lo, S.f32x4Add);
  return a.v(p, r2, S.f32x4Mul);
}

/** e^x for x in [-87.5, 88.3] (n in [-126, 127], so 2^n is one normal float; results may be subnormal). */
function vexpFast(a: VAsm, x: Code): Code {
  const { n, r } = reduceLn2(a, x);
  const p = a.v(expTail(a, r), r, S.f32x4Add, kf(1), S.f32x4Add);
  return a.v(p, pow2(a, n), S.f32x4Mul);
}

/**
 * e^x anywhere (over/underflow, ±Infinity; NaN passes through). Branch-free:
 * 2^n is applied as two factors, which costs about what a range check would,
 * and a branch in the loop body makes TurboFan spill the accumulators of a
 * reduction around it.
 */
export function vexp(a: VAsm, x: Code): Code {
  const xc = clamp(a, x, -104, 88.8);
  const { n, r } = reduceLn2(a, xc);
  const p = a.v(expTail(a, r), r, S.f32x4Add, kf(1), S.f32x4Add);
  // 2^n in two factors (each a normal float for n in [-150, 129]); p * 2^n1 is exact, so the result rounds once.
  const n1 = a.v(n, [0x41, 1], S.i32x4ShrS);
  const n2 = a.v(n, n1, S.i32x4Sub);
  return a.v(p, pow2(a, n1), S.f32x4Mul, pow2(a, n2), S.f32x4Mul);
}

/**
 * e^x - 1: for |x| < 0.75 the Taylor series x + x^2 (1/2 + x/6 + ... + x^9/11!)
 * (truncation below 2^-30 relative); elsewhere 2^n (expm1(r) + 1) - 1 =
 * 2^n expm1(r) + (2^n - 1) with |r| <= ln2/2 (that form loses up to an ulp
 * to cancellation for ln2/2 < x < ln2, hence the series there; the series
 * itself cancels near x = -1).
 */
export function vexpm1(a: VAsm, x: Code): Code {
  const xc = clamp(a, x, -30, 40);
  const { n, r } = reduceLn2(a, xc);
  const q = a.v(expTail(a, r), r, S.f32x4Add);
  const s = pow2(a, n);
  const mid = a.v(s, q, S.f32x4Mul, s, kf(1), S.f32x4Sub, S.f32x4Add);
  let fact = 2;
  const coef: number[] = [];
  for (let k = 2; k <= 11; k++) coef.push(1 / (fact *= k === 2 ? 1 : k));
  const series = a.v(horner(a, x, coef.reverse()), x, S.f32x4Mul, x, S.f32x4Mul, x, S.f32x4Add);
  // large x: e^x (the -1 is below half an ulp); x < -30: -1; ±0 stays.
  const big = vexp(a, x);
  let y = a.v(series, mid, x, S.f32x4Abs, kf(0.75), S.f32x4Lt, S.bitselect);
  y = a.v(big, y, x, kf(40), S.f32x4Gt, S.bitselect);
  y = a.v(kf(-1), y, x, kf(-30), S.f32x4Lt, S.bitselect);
  return a.v(x, y, x, kf(0), S.f32x4Eq, S.bitselect);
}

/** x = (1 + f) 2^e with 1 + f in [sqrt(1/2), sqrt(2)), for positive normal x (frexp by bits). */
function logParts(a: VAsm, x: Code, eAdj: Code | null): { e: Code; f: Code } {
  let e = a.v(x, [0x41, 23], S.i32x4ShrU, ki(0xff), S.and, ki(126), S.i32x4Sub);
  if (eAdj) e = a.v(e, eAdj, S.i32x4Add);
  const m = a.v(x, ki(0x007fffff), S.and, ki(0x3f000000), S.or); // [0.5, 1)
  const low = a.v(m, kf(0.707106781186547524), S.f32x4Lt);
  e = a.v(e, low, S.i32x4Add); // the mask is -1 where m < sqrt(1/2)
  const f = a.v(m, m, S.f32x4Add, m, low, S.bitselect, kf(1), S.f32x4Sub);
  return { e, f };
}

/** log((1 + f) 2^e) + corr / (1 + f): Cephes logf's polynomial, with an optional correction of f below its last bit. */
function logPoly(a: VAsm, e: Code, f: Code, corr: Code | null): Code {
  const z = a.v(f, f, S.f32x4Mul);
  const p = horner(a, f, [7.0376836292e-2, -1.151461031e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1]);
  const ef = a.v(e, S.f32x4ConvertI32x4S);
  let y = a.v(p, f, S.f32x4Mul, z, S.f32x4Mul, ef, kf(LN2_LO), S.f32x4Mul, S.f32x4Add, z, kf(0.5), S.f32x4Mul, S.f32x4Sub);
  if (corr) y = a.v(y, corr, f, kf(1), S.f32x4Add, S.f32x4Div, S.f32x4Add);
  return a.v(f, y, S.f32x4Add, ef, kf(LN2_HI), S.f32x4Mul, S.f32x4Add);
}

/** log(x < 0) = NaN, log(NaN) = NaN, log(0) = -inf, log(inf) = inf. */
function logSpecials(a: VAsm, x: Code, y: Code): Code {
  y = a.v(kf(NaN), y, x, kf(0), S.f32x4Lt, x, x, S.f32x4Ne, S.or, S.bitselect);
  y = a.v(kf(-Infinity), y, x, kf(0), S.f32x4Eq, S.bitselect);
  return a.v(kf(Infinity), y, x, kf(Infinity), S.f32x4Eq, S.bitselect);
}

/** Natural log. */
export function vlog(a: VAsm, x: Code): Code {
  // Subnormals: scale by 2^23 first.
  const sub = a.v(x, kf(1.1754943508222875e-38), S.f32x4Lt);
  const xs = a.v(x, kf(8388608), S.f32x4Mul, x, sub, S.bitselect);
  const { e, f } = logParts(a, xs, a.v(sub, ki(-23), S.and));
  return logSpecials(a, x, logPoly(a, e, f, null));
}

/**
 * log(1 + x): the log of u = 1 + x (rounded), corrected by the rounding error
 * c = x - (u - 1) (exact): log(1 + x) = log(u) + c / u, with c scaled into
 * u's mantissa range. 0 and -0 stay themselves.
 */
export function vlog1p(a: VAsm, x: Code): Code {
  const u = a.v(x, kf(1), S.f32x4Add);
  const c = a.v(x, u, kf(1), S.f32x4Sub, S.f32x4Sub);
  const { e, f } = logParts(a, u, null);
  const scale = pow2(a, a.v(ki(0), e, S.i32x4Sub, ki(-126), S.i32x4MaxS));
  const y = logSpecials(a, u, logPoly(a, e, f, a.v(c, scale, S.f32x4Mul)));
  return a.v(x, y, x, kf(0), S.f32x4Eq, x, kf(Infinity), S.f32x4Eq, S.or, S.bitselect);
}

/** tanh: an odd polynomial below 0.625 (Cephes tanhf), else 1 - 2 / (e^2|x| + 1) with x's sign. */
export function vtanh(a: VAsm, x: Code): Code {
  const ax = a.v(x, S.f32x4Abs);
  const z = a.v(x, x, S.f32x4Mul);
  const p = horner(a, z, [-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1]);
  const small = a.v(p, z, S.f32x4Mul, x, S.f32x4Mul, x, S.f32x4Add);
  // tanh(9.5) rounds to 1, so e^(2 min(|x|, 9.5)) never needs the wide exp (NaN passes through).
  const m = a.v(ax, kf(9.5), S.f32x4Pmin);
  const e = vexpFast(a, a.v(m, m, S.f32x4Add));
  const big = a.v(kf(1), kf(2), e, kf(1), S.f32x4Add, S.f32x4Div, S.f32x4Sub, x, SIGN, S.and, S.or);
  // (small | sign of x): keeps -0.
  return a.v(small, x, SIGN, S.and, S.or, big, ax, kf(0.625), S.f32x4Lt, S.bitselect);
}

/** logistic(x) = 1 / (1 + e^-x), as e / (1 + e) with e = e^-|x| for x < 0 (no overflow, subnormal results kept). */
export function vlogistic(a: VAsm, x: Code): Code {
  const e = vexp(a, a.v(x, S.f32x4Abs, S.f32x4Neg));
  return a.v(kf(1), e, x, kf(0), S.f32x4Ge, S.bitselect, kf(1), e, S.f32x4Add, S.f32x4Div);
}

// ---- sin, cos ------------------------------------------------------------------

/** fdlibm's pi/2 in three parts (33, 33 and 53 bits): k * PIO2_1 and k * PIO2_2 are exact for |k| < 2^20. */
const PIO2_1 = 1.57079632673412561417e0, PIO2_2 = 6.0771005063039659766e-11, PIO2_2T = 2.02226624879595063154e-21;
/** Beyond this |x| the lane is computed by the JS path's Math.sin / Math.cos (an import), exactly. */
const TRIG_LIMIT = 262144;

/**
 * x = k pi/2 + r, |r| <~ pi/4: k rounded in float32, r computed in float64
 * and split into float32 r + rl (rl: the part of r below r's last bit).
 */
function reducePio2(a: VAsm, x: Code): { k: Code; r: Code; rl: Code } {
  const y = a.v(x, kf(0.63661977236758134), S.f32x4Mul, kf(MAGIC), S.f32x4Add);
  const t = a.v(y, kf(MAGIC), S.f32x4Sub);
  const half = (xv: Code, tv: Code): { r: Code; rl: Code } => {
    const xd = a.v(xv, S.f64x2PromoteLowF32x4);
    const td = a.v(tv, S.f64x2PromoteLowF32x4);
    const rd = a.v(xd, td, kf64(PIO2_1), S.f64x2Mul, S.f64x2Sub, td, kf64(PIO2_2), S.f64x2Mul, S.f64x2Sub, td, kf64(PIO2_2T), S.f64x2Mul, S.f64x2Sub);
    const r = a.v(rd, S.f32x4DemoteF64x2Zero);
    return { r, rl: a.v(rd, r, S.f64x2PromoteLowF32x4, S.f64x2Sub, S.f32x4DemoteF64x2Zero) };
  };
  const lo = half(x, t);
  const hi = half(a.v(x, x, S.shuffle(HIGH_HALF)), a.v(t, t, S.shuffle(HIGH_HALF)));
  return {
    k: a.v(y, ki(MAGIC_BITS), S.i32x4Sub),
    r: a.v(lo.r, hi.r, S.shuffle(LOW_HALVES)),
    rl: a.v(lo.rl, hi.rl, S.shuffle(LOW_HALVES)),
  };
}

/** sin and cos of r + rl, |r| <~ pi/4 (Cephes sinf / cosf polynomials; rl to first order). */
function sinCosPoly(a: VAsm, r: Code, rl: Code): { s: Code; c: Code } {
  const z = a.v(r, r, S.f32x4Mul);
  const ps = horner(a, z, [-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1]);
  const s = a.v(ps, z, S.f32x4Mul, r, S.f32x4Mul, rl, S.f32x4Add, r, S.f32x4Add);
  const pc = horner(a, z, [2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2]);
  const c = a.v(pc, z, S.f32x4Mul, z, S.f32x4Mul, z, kf(0.5), S.f32x4Mul, S.f32x4Sub, r, rl, S.f32x4Mul, S.f32x4Sub, kf(1), S.f32x4Add);
  return { s, c };
}

/** Lanes with |x| >= TRIG_LIMIT (or infinite) recomputed by the imported Math function. */
function bigLanes(a: VAsm, x: Code, y: Code, fn: string): Code {
  const res = a.vlocal();
  a.emit(y, op.localSet(res));
  const big = a.v(x, S.f32x4Abs, kf(TRIG_LIMIT), S.f32x4Ge);
  const f = a.importFn(fn);
  a.emit(big, S.anyTrue, op.if);
  for (let l = 0; l < 4; l++) {
    a.emit(big, S.i32x4ExtractLane(l), op.if);
    a.emit(op.localGet(res), x, S.f32x4ExtractLane(l), op.f64PromoteF32, op.call(f), op.f32DemoteF64, S.f32x4ReplaceLane(l), op.localSet(res));
    a.emit(op.end);
  }
  a.emit(op.end);
  return op.localGet(res);
}

/** sin(x): quadrant k picks ±sin r or ±cos r; ±0 stays. */
export function vsin(a: VAsm, x: Code): Code {
  const { k, r, rl } = reducePio2(a, x);
  const { s, c } = sinCosPoly(a, r, rl);
  const swap = a.v(k, ki(1), S.and, ki(1), S.i32x4Eq);
  const sign = a.v(k, ki(2), S.and, [0x41, 30], S.i32x4Shl);
  let y = a.v(c, s, swap, S.bitselect, sign, S.xor);
  y = a.v(x, y, x, kf(0), S.f32x4Eq, S.bitselect);
  return bigLanes(a, x, y, "sin");
}

/** cos(x) = quadrant k + 1 of sin. */
export function vcos(a: VAsm, x: Code): Code {
  const { k, r, rl } = reducePio2(a, x);
  const { s, c } = sinCosPoly(a, r, rl);
  const swap = a.v(k, ki(1), S.and, ki(1), S.i32x4Eq);
  const sign = a.v(k, ki(1), S.i32x4Add, ki(2), S.and, [0x41, 30], S.i32x4Shl);
  const y = a.v(s, c, swap, S.bitselect, sign, S.xor);
  return bigLanes(a, x, y, "cos");
}

// ---- erf ----------------------------------------------------------------------

/** erf(x) = x + x Q(x^2) for |x| < ERF_SPLIT (least-squares fit in relative error, 7e-10; the leading x kept exact). */
const ERF_SPLIT = 0.875;
const ERF_Q = [0.1283791669316783, -0.3761263671202617, 0.11283743751563918, -0.026862232675864996, 0.0052084998290733405, -0.0008232809701990282, 8.775671981387355e-5];
/** erfc(x) e^(x^2) = R(1 / (1 + x)) on [ERF_SPLIT, 4] (fit in relative error, 3e-9). */
const ERF_R = [2.0765501392751057e-5, 0.5634343016696016, 0.5761296302153515, 0.17438551247158623, 0.32592869215909753, -2.8959348872630657, 4.646085354606789, -3.3670935856385675, 0.9863219717523468];

/**
 * erf: x + x Q(x^2) near 0; else ±(1 - e^(-x^2) R(1 / (1 + |x|))), with x^2
 * split exactly into hi + lo (x's top 12 bits squared, plus the rest) so
 * e^(-x^2) does not inherit the rounding of x^2 (up to 1e-6 relative at
 * |x| = 4); ±1 from |x| = 4 on (erfc(4) is below half an ulp of 1).
 */
export function verf(a: VAsm, x: Code): Code {
  const ax = a.v(x, S.f32x4Abs);
  const z = a.v(x, x, S.f32x4Mul);
  const small = a.v(horner(a, z, [...ERF_Q].reverse()), x, S.f32x4Mul, x, S.f32x4Add);
  const xh = a.v(ax, ki(-4096), S.and);
  const hi = a.v(xh, xh, S.f32x4Mul);
  const lo = a.v(ax, xh, S.f32x4Sub, ax, xh, S.f32x4Add, S.f32x4Mul);
  // e^-(hi + lo): reduce -hi, then take lo off r (|hi| <= 16, so one 2^n factor is enough).
  const nh = a.v(hi, S.f32x4Neg);
  const { n, r: r0 } = reduceLn2(a, nh);
  const r = a.v(r0, lo, S.f32x4Sub);
  const e = a.v(expTail(a, r), r, S.f32x4Add, kf(1), S.f32x4Add, pow2(a, n), S.f32x4Mul);
  const t = a.v(kf(1), kf(1), ax, S.f32x4Add, S.f32x4Div);
  const big = a.v(kf(1), e, horner(a, t, [...ERF_R].reverse()), S.f32x4Mul, S.f32x4Sub);
  let y = a.v(small, big, ax, kf(ERF_SPLIT), S.f32x4Lt, S.bitselect);
  y = a.v(kf(1), y, ax, kf(4), S.f32x4Ge, S.bitselect);
  // the sign of x on the large branches (small already has it)
  return a.v(y, x, SIGN, S.and, S.or);
}

export const VMATH: Partial<Record<string, (a: VAsm, x: Code) => Code>> = {
  erf: verf,
  sin: vsin,
  cos: vcos,
  exp: vexp,
  expm1: vexpm1,
  log: vlog,
  log1p: vlog1p,
  tanh: vtanh,
  logistic: vlogistic,
};
