import { describe, expect, it } from "vitest";
import { ShapedArray } from "../src/aval.js";
import { Literal } from "../src/program.js";
import * as P from "../src/primitives.js";
import { threefry2x32Scalar } from "../src/backend/cpu/index.js";
import { apply, bits, bool, f32, fr, i32, u32 } from "./cpu-util.js";

const I32_MIN = -2147483648;
const I32_MAX = 2147483647;
const U32_MAX = 4294967295;

describe("cpu elementwise: float32", () => {
  it("rounds every intermediate to float32", () => {
    const a = fr(0.1), b = fr(0.2);
    const [[s]] = apply(P.add, {}, [f32([a]), f32([b])]);
    expect(s).toBe(fr(a + b));
    expect(s).not.toBe(a + b);
    expect(apply(P.add, {}, [f32([16777216]), f32([1])])[0]).toEqual([16777216]);
    expect(apply(P.mul, {}, [f32([3]), f32([fr(1 / 3)])])[0]).toEqual([1]);
    expect(apply(P.div, {}, [f32([1, 1, -1, 0]), f32([3, 0, 0, 0])])[0]).toEqual([fr(1 / 3), Infinity, -Infinity, NaN]);
    expect(apply(P.sub, {}, [f32([1]), f32([fr(1e-8)])])[0]).toEqual([1]);
  });
  it("has no fused multiply-add", () => {
    // a*b = 1 - 2^-46 rounds to 1 in float32; with an FMA a*b-1 would be -2^-46.
    const a = 1 + 2 ** -23, b = 1 - 2 ** -23;
    const [[p]] = apply(P.mul, {}, [f32([a]), f32([b])]);
    expect(p).toBe(1);
  });
  it("unary math", () => {
    const x = [0.5, 2, -1.5];
    expect(apply(P.exp, {}, [f32(x)])[0]).toEqual(x.map((v) => fr(Math.exp(v))));
    expect(apply(P.log, {}, [f32([1, 0, -1, Math.E])])[0]).toEqual([0, -Infinity, NaN, fr(Math.log(fr(Math.E)))]);
    expect(apply(P.sqrt, {}, [f32([4, 2, -1])])[0]).toEqual([2, fr(Math.SQRT2), NaN]);
    expect(apply(P.rsqrt, {}, [f32([4, 0])])[0]).toEqual([0.5, Infinity]);
    expect(apply(P.tanh, {}, [f32([0, 100, -100])])[0]).toEqual([0, 1, -1]);
    expect(apply(P.sin, {}, [f32([0])])[0]).toEqual([0]);
    expect(apply(P.cos, {}, [f32([0])])[0]).toEqual([1]);
    expect(apply(P.expm1, {}, [f32([1e-10])])[0]![0]).toBe(fr(1e-10));
    expect(apply(P.log1p, {}, [f32([1e-10])])[0]![0]).toBe(fr(1e-10));
    expect(apply(P.logistic, {}, [f32([0, 100, -100])])[0]).toEqual([0.5, 1, fr(1 / (1 + Math.exp(100)))]);
    expect(apply(P.neg, {}, [f32([1, -0, 0])])[0]).toEqual([-1, 0, -0]);
    expect(apply(P.abs, {}, [f32([-2, 3, -0])])[0]).toEqual([2, 3, 0]);
    expect(apply(P.sign, {}, [f32([-2, 3, 0, -0, NaN])])[0]).toEqual([-1, 1, 0, -0, NaN]);
    expect(apply(P.floor, {}, [f32([1.5, -1.5])])[0]).toEqual([1, -2]);
    expect(apply(P.ceil, {}, [f32([1.5, -1.5])])[0]).toEqual([2, -1]);
    expect(apply(P.isFinite, {}, [f32([1, Infinity, -Infinity, NaN])])[0]).toEqual([1, 0, 0, 0]);
    expect(apply(P.copy, {}, [f32([1, 2])])[0]).toEqual([1, 2]);
  });
  it("round is half away from zero", () => {
    expect(apply(P.round, {}, [f32([0.5, 1.5, 2.5, -0.5, -2.5, 0.49999997, -0.3, 3.2])])[0]).toEqual([1, 2, 3, -1, -3, 0, -0, 3]);
  });
  it("erf is accurate to float32", () => {
    // Reference values of erf (high precision).
    const ref: [number, number][] = [
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [3, 0.9999779095030014],
      [-1.5, -0.9661051464753108],
      [5, 1],
    ];
    const out = apply(P.erf, {}, [f32(ref.map((r) => r[0]))])[0]!;
    ref.forEach(([x, y], i) => {
      const want = fr(y);
      // within 1 ulp of the correctly rounded value (x itself is rounded to float32 first)
      expect(Math.abs(out[i]! - want)).toBeLessThanOrEqual(Math.abs(want) * 2 ** -23 * (x === 0.1 ? 2 : 1) + 1e-12);
    });
    expect(apply(P.erf, {}, [f32([0, -0, NaN])])[0]).toEqual([0, -0, NaN]);
  });
  it("erf_inv follows XLA's float32 polynomial", () => {
    const xs = [0, 0.5, -0.5, 0.9, 0.999, 1, -1, 1.5];
    const out = apply(P.erfInv, {}, [f32(xs)])[0]!;
    expect(out[0]).toBe(0);
    expect(out[1]!).toBeCloseTo(0.4769362762044699, 6);
    expect(out[2]!).toBeCloseTo(-0.4769362762044699, 6);
    expect(out[3]!).toBeCloseTo(1.1630871536766743, 5);
    expect(out[4]!).toBeCloseTo(2.326753765513525, 4);
    expect(out.slice(5, 7)).toEqual([Infinity, -Infinity]);
    expect(out[7]).toBeNaN();
    // erf(erf_inv(y)) ~ y
    const ys = [0.1, 0.3, 0.7, 0.95];
    const back = apply(P.erf, {}, [f32(apply(P.erfInv, {}, [f32(ys)])[0]!)])[0]!;
    back.forEach((v, i) => expect(v).toBeCloseTo(ys[i]!, 6));
  });
  it("binary math", () => {
    expect(apply(P.pow, {}, [f32([2, 1, -1, 0, 2]), f32([10, NaN, Infinity, 0, 0.5])])[0]).toEqual([1024, 1, 1, 1, fr(Math.SQRT2)]);
    expect(apply(P.atan2, {}, [f32([1]), f32([1])])[0]).toEqual([fr(Math.PI / 4)]);
    expect(apply(P.rem, {}, [f32([5.5, -5.5, 1]), f32([2, 2, 0])])[0]).toEqual([1.5, -1.5, NaN]);
  });
  it("max/min propagate NaN", () => {
    expect(apply(P.max, {}, [f32([1, NaN, 3]), f32([2, 1, NaN])])[0]).toEqual([2, NaN, NaN]);
    expect(apply(P.min, {}, [f32([1, NaN, 3]), f32([2, 1, NaN])])[0]).toEqual([1, NaN, NaN]);
  });
  it("comparisons and select", () => {
    const a = f32([1, 2, NaN, -0]), b = f32([2, 2, NaN, 0]);
    expect(apply(P.eq, {}, [a, b])[0]).toEqual([0, 1, 0, 1]);
    expect(apply(P.ne, {}, [a, b])[0]).toEqual([1, 0, 1, 0]);
    expect(apply(P.lt, {}, [a, b])[0]).toEqual([1, 0, 0, 0]);
    expect(apply(P.le, {}, [a, b])[0]).toEqual([1, 1, 0, 1]);
    expect(apply(P.gt, {}, [a, b])[0]).toEqual([0, 0, 0, 0]);
    expect(apply(P.ge, {}, [a, b])[0]).toEqual([0, 1, 0, 1]);
    expect(apply(P.select, {}, [bool([1, 0, 1]), f32([1, 2, 3]), f32([4, 5, 6])])[0]).toEqual([1, 5, 3]);
    expect(apply(P.select, {}, [bool([1, 0]), i32([-1, -2]), i32([4, 5])])[0]).toEqual([-1, 5]);
  });
});

describe("cpu elementwise: int32", () => {
  it("wraps", () => {
    expect(apply(P.add, {}, [i32([I32_MAX, -5]), i32([1, 3])])[0]).toEqual([I32_MIN, -2]);
    expect(apply(P.sub, {}, [i32([I32_MIN]), i32([1])])[0]).toEqual([I32_MAX]);
    expect(apply(P.mul, {}, [i32([65536, 123456789, -7]), i32([65536, 1000, 6])])[0]).toEqual([0, -1097262584, -42]);
    expect(apply(P.neg, {}, [i32([I32_MIN, 5])])[0]).toEqual([I32_MIN, -5]);
    expect(apply(P.abs, {}, [i32([I32_MIN, -5])])[0]).toEqual([I32_MIN, 5]);
    expect(apply(P.sign, {}, [i32([-7, 0, 9])])[0]).toEqual([-1, 0, 1]);
  });
  it("div truncates; div by zero is -1; rem by zero is the dividend", () => {
    expect(apply(P.div, {}, [i32([7, -7, 7, -7, 5, I32_MIN]), i32([2, 2, -2, -2, 0, -1])])[0]).toEqual([3, -3, -3, 3, -1, I32_MIN]);
    expect(apply(P.rem, {}, [i32([7, -7, 7, -7, 5, I32_MIN]), i32([2, 2, -2, -2, 0, -1])])[0]).toEqual([1, -1, 1, -1, 5, 0]);
  });
  it("shifts", () => {
    expect(apply(P.shiftLeft, {}, [i32([1, 1, 1, 3]), i32([31, 32, -1, 1])])[0]).toEqual([I32_MIN, 0, 0, 6]);
    expect(apply(P.shiftRightArithmetic, {}, [i32([-8, -8, 8, -1]), i32([1, 32, 40, 100])])[0]).toEqual([-4, -1, 0, -1]);
    expect(apply(P.shiftRightLogical, {}, [i32([-8, -8, 8]), i32([1, 32, 2])])[0]).toEqual([2147483644, 0, 2]);
  });
  it("bitwise, not, max/min, comparisons", () => {
    expect(apply(P.and, {}, [i32([12]), i32([10])])[0]).toEqual([8]);
    expect(apply(P.or, {}, [i32([12]), i32([10])])[0]).toEqual([14]);
    expect(apply(P.xor, {}, [i32([12]), i32([10])])[0]).toEqual([6]);
    expect(apply(P.not, {}, [i32([0, -1, 5])])[0]).toEqual([-1, 0, -6]);
    expect(apply(P.max, {}, [i32([-3, 4]), i32([2, -9])])[0]).toEqual([2, 4]);
    expect(apply(P.min, {}, [i32([-3, 4]), i32([2, -9])])[0]).toEqual([-3, -9]);
    expect(apply(P.lt, {}, [i32([-3, 4]), i32([2, -9])])[0]).toEqual([1, 0]);
  });
});

describe("cpu elementwise: uint32", () => {
  it("wraps and divides", () => {
    expect(apply(P.add, {}, [u32([U32_MAX, 1]), u32([1, 2])])[0]).toEqual([0, 3]);
    expect(apply(P.sub, {}, [u32([0]), u32([1])])[0]).toEqual([U32_MAX]);
    expect(apply(P.mul, {}, [u32([65536, 0x80000000]), u32([65536, 2])])[0]).toEqual([0, 0]);
    expect(apply(P.mul, {}, [u32([0xffffffff]), u32([0xffffffff])])[0]).toEqual([1]);
    expect(apply(P.div, {}, [u32([7, U32_MAX, 5]), u32([2, 2, 0])])[0]).toEqual([3, 2147483647, U32_MAX]);
    expect(apply(P.rem, {}, [u32([7, U32_MAX, 5]), u32([2, 10, 0])])[0]).toEqual([1, 5, 5]);
    expect(apply(P.neg, {}, [u32([1])])[0]).toEqual([U32_MAX]);
    expect(apply(P.sign, {}, [u32([0, 5])])[0]).toEqual([0, 1]);
  });
  it("shifts and bitwise", () => {
    expect(apply(P.shiftLeft, {}, [u32([1, 1]), u32([31, 32])])[0]).toEqual([0x80000000, 0]);
    expect(apply(P.shiftRightLogical, {}, [u32([0x80000000, 0x80000000]), u32([31, 32])])[0]).toEqual([1, 0]);
    expect(apply(P.shiftRightArithmetic, {}, [u32([0x80000000, 0x80000000, 8]), u32([4, 33, 1])])[0]).toEqual([0xf8000000, U32_MAX, 4]);
    expect(apply(P.not, {}, [u32([0])])[0]).toEqual([U32_MAX]);
    expect(apply(P.xor, {}, [u32([0xffff0000]), u32([0x0000ffff])])[0]).toEqual([U32_MAX]);
    expect(apply(P.gt, {}, [u32([0x80000000]), u32([1])])[0]).toEqual([1]);
    expect(apply(P.max, {}, [u32([0x80000000]), u32([1])])[0]).toEqual([0x80000000]);
  });
});

describe("cpu elementwise: bool", () => {
  it("logic", () => {
    const a = bool([0, 0, 1, 1]), b = bool([0, 1, 0, 1]);
    expect(apply(P.and, {}, [a, b])[0]).toEqual([0, 0, 0, 1]);
    expect(apply(P.or, {}, [a, b])[0]).toEqual([0, 1, 1, 1]);
    expect(apply(P.xor, {}, [a, b])[0]).toEqual([0, 1, 1, 0]);
    expect(apply(P.not, {}, [a])[0]).toEqual([1, 1, 0, 0]);
    expect(apply(P.add, {}, [a, b])[0]).toEqual([0, 1, 1, 1]);
    expect(apply(P.mul, {}, [a, b])[0]).toEqual([0, 0, 0, 1]);
    expect(apply(P.max, {}, [a, b])[0]).toEqual([0, 1, 1, 1]);
    expect(apply(P.min, {}, [a, b])[0]).toEqual([0, 0, 0, 1]);
    expect(apply(P.lt, {}, [a, b])[0]).toEqual([0, 1, 0, 0]);
    expect(apply(P.eq, {}, [a, b])[0]).toEqual([1, 0, 0, 1]);
  });
});

describe("cpu conversions", () => {
  const cvt = (x: Parameters<typeof apply>[2][number], to: "float32" | "int32" | "uint32" | "bool") =>
    apply(P.convertElementType, { newDtype: to, weakType: false }, [x])[0];
  it("float → int truncates toward zero, NaN → 0, saturates", () => {
    expect(cvt(f32([1.9, -1.9, NaN, 3e9, -3e9, Infinity, -Infinity]), "int32")).toEqual([1, -1, 0, I32_MAX, I32_MIN, I32_MAX, I32_MIN]);
    expect(cvt(f32([1.9, -1.9, NaN, 5e9, 3e9, -Infinity]), "uint32")).toEqual([1, 0, 0, U32_MAX, 3e9, 0]);
  });
  it("int ↔ int, int → float, bool", () => {
    expect(cvt(i32([-1, 5]), "uint32")).toEqual([U32_MAX, 5]);
    expect(cvt(u32([U32_MAX, 5]), "int32")).toEqual([-1, 5]);
    expect(cvt(i32([16777217, -3]), "float32")).toEqual([16777216, -3]);
    expect(cvt(u32([U32_MAX]), "float32")).toEqual([4294967296]);
    expect(cvt(f32([0, -0, 0.5, NaN]), "bool")).toEqual([0, 0, 1, 1]);
    expect(cvt(i32([0, 7]), "bool")).toEqual([0, 1]);
    expect(cvt(bool([0, 1]), "float32")).toEqual([0, 1]);
    expect(cvt(bool([0, 1]), "int32")).toEqual([0, 1]);
  });
  it("bitcast reinterprets bits", () => {
    const bc = (x: Parameters<typeof apply>[2][number], to: "float32" | "int32" | "uint32") =>
      apply(P.bitcastConvertType, { newDtype: to }, [x])[0];
    expect(bc(f32([1, -2]), "uint32")).toEqual([0x3f800000, 0xc0000000]);
    expect(bc(f32([-2]), "int32")).toEqual([0xc0000000 | 0]);
    expect(bc(u32([0x3f800000, 0x7fc00000]), "float32")).toEqual([1, NaN]);
    expect(bc(i32([-1]), "uint32")).toEqual([U32_MAX]);
    expect(bits(bc(u32([0x80000000]), "float32")![0]!)).toBe(0x80000000);
  });
});

describe("threefry2x32", () => {
  const known: [number[], number[], number[]][] = [
    [[0, 0], [0, 0], [0x6b200159, 0x99ba4efe]],
    [[0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], [0x1cb996fc, 0xbb002be7]],
    [[0x13198a2e, 0x03707344], [0x243f6a88, 0x85a308d3], [0xc4923a9c, 0x483df7a0]],
  ];
  it("matches the known answers (kernel)", () => {
    const k0 = u32(known.map((k) => k[0][0]!));
    const k1 = u32(known.map((k) => k[0][1]!));
    const x0 = u32(known.map((k) => k[1][0]!));
    const x1 = u32(known.map((k) => k[1][1]!));
    const [y0, y1] = apply(P.threefry2x32, {}, [k0, k1, x0, x1]);
    expect(y0).toEqual(known.map((k) => k[2][0]));
    expect(y1).toEqual(known.map((k) => k[2][1]));
  });
  it("matches the known answers (scalar helper)", () => {
    for (const [k, x, y] of known) expect(threefry2x32Scalar(k[0]!, k[1]!, x[0]!, x[1]!)).toEqual(y);
  });
});

describe("literals", () => {
  it("accepts scalar literal operands", () => {
    // broadcast a literal, then add: the literal only appears as an eqn input here
    const two = new Literal(2, new ShapedArray([], "float32"));
    expect(apply(P.broadcastInDim, { shape: [3], broadcastDimensions: [] }, [two])[0]).toEqual([2, 2, 2]);
  });
});
