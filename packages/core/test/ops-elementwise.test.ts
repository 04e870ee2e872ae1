import { describe, expect, test } from "vitest";
import { np, type Array } from "../src/index.js";

const close = (x: Array, want: number[], digits = 5) => {
  const got = globalThis.Array.from(x.dataSync());
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => {
    if (Number.isNaN(want[i]!)) expect(g).toBeNaN();
    else expect(g).toBeCloseTo(want[i]!, digits);
  });
};

describe("arithmetic", () => {
  const x = np.array([7, -7, 7, -7]);
  const y = np.array([2, 2, -2, -2]);

  test("add / subtract / multiply / negative", () => {
    expect(np.add(x, y).toJs()).toEqual([9, -5, 5, -9]);
    expect(np.subtract(x, y).toJs()).toEqual([5, -9, 9, -5]);
    expect(np.multiply(x, y).toJs()).toEqual([14, -14, -14, 14]);
    expect(np.negative(x).toJs()).toEqual([-7, 7, -7, 7]);
    expect(x.sub(1).neg().toJs()).toEqual([-6, 8, -6, 8]);
  });

  test("divide is true division", () => {
    expect(np.divide(x, y).toJs()).toEqual([3.5, -3.5, -3.5, 3.5]);
  });

  test("floorDivide follows Python (toward -inf) for ints", () => {
    expect(np.floorDivide(x, y).toJs()).toEqual([3, -4, -4, 3]);
    expect(np.floorDivide(np.array([6, -6, 0]), 3).toJs()).toEqual([2, -2, 0]);
    expect(x.floorDiv(2).dtype).toBe("int32");
  });

  test("floorDivide for floats", () => {
    const r = np.floorDivide(np.array([7.5, -7.5, 7.5, -7.5]), np.array([2, 2, -2, -2]));
    expect(r.dtype).toBe("float32");
    expect(r.toJs()).toEqual([3, -4, -4, 3]);
  });

  test("floorDivide for uint32", () => {
    expect(np.floorDivide(np.array([7, 8], { dtype: "uint32" }), 3).toJs()).toEqual([2, 2]);
  });

  test("mod has the sign of the divisor (Python remainder)", () => {
    expect(np.mod(x, y).toJs()).toEqual([1, 1, -1, -1]);
    expect(np.mod(np.array([6, -6]), 3).toJs()).toEqual([0, 0]);
    expect(np.mod(np.array([7.5, -7.5, 7.5, -7.5]), np.array([2, 2, -2, -2])).toJs()).toEqual([1.5, 0.5, -0.5, -1.5]);
    expect(np.mod(np.array([7], { dtype: "uint32" }), 3).toJs()).toEqual([1]);
  });

  test("power", () => {
    expect(np.power(np.array([2, 3, -2]), 3).toJs()).toEqual([8, 27, -8]);
    expect(np.power(np.array([2, 3, -2]), 3).dtype).toBe("int32");
    expect(np.power(np.array([2, 5]), 0).toJs()).toEqual([1, 1]);
    expect(() => np.power(np.array([2, 4]), -1)).toThrow("power: integers to negative integer powers are not allowed (int32[2] ** -1)");
    expect(np.power(np.array([2, 4.0]).astype("float32"), -1).toJs()).toEqual([0.5, 0.25]);
    expect(np.power(np.array([2, 3, 0, 5]), np.array([10, 2, 3, 0])).toJs()).toEqual([1024, 9, 0, 1]);
    close(np.power(np.array([4, 9]).astype("float32"), 0.5), [2, 3]);
    close(np.power(2, np.array([0.5, 2.5])), [Math.SQRT2, 2 ** 2.5]);
    expect(np.array([1.5]).pow(2).toJs()).toEqual([2.25]);
  });

  test("maximum / minimum / clip", () => {
    expect(np.maximum(x, 0).toJs()).toEqual([7, 0, 7, 0]);
    expect(np.minimum(x, y).toJs()).toEqual([2, -7, -2, -7]);
    expect(np.clip(np.array([-3, 0, 3, 9]), -1, 5).toJs()).toEqual([-1, 0, 3, 5]);
    expect(np.clip(np.array([-3, 0, 3, 9]), null, 2).toJs()).toEqual([-3, 0, 2, 2]);
    expect(np.clip(np.array([-3, 0, 3, 9]), 1, null).toJs()).toEqual([1, 1, 3, 9]);
    expect(np.array([0.5, 2.5]).clip(1, 2).toJs()).toEqual([1, 2]);
  });

  test("abs / sign / square / reciprocal", () => {
    expect(np.abs(np.array([-2, 0, 3])).toJs()).toEqual([2, 0, 3]);
    expect(np.sign(np.array([-2.5, 0, 3])).toJs()).toEqual([-1, 0, 1]);
    expect(np.square(np.array([-3, 4])).toJs()).toEqual([9, 16]);
    expect(np.reciprocal(np.array([2, 4])).toJs()).toEqual([0.5, 0.25]);
    expect(np.abs(np.array([3], { dtype: "uint32" })).toJs()).toEqual([3]);
  });
});

describe("broadcasting", () => {
  test("row + column", () => {
    const r = np.add(np.array([[1], [2]]), np.array([10, 20, 30]));
    expect(r.shape).toEqual([2, 3]);
    expect(r.toJs()).toEqual([
      [11, 21, 31],
      [12, 22, 32],
    ]);
  });
  test("scalar array and size-1 dims", () => {
    const r = np.multiply(np.array([[[2]]]), np.array([[1, 2], [3, 4]]));
    expect(r.shape).toEqual([1, 2, 2]);
    expect(r.toJs()).toEqual([[[2, 4], [6, 8]]]);
  });
  test("where broadcasts all three", () => {
    const r = np.where(np.array([[true], [false]]), np.array([1, 2, 3]), -1);
    expect(r.toJs()).toEqual([
      [1, 2, 3],
      [-1, -1, -1],
    ]);
    expect(np.where(np.array([0, 2]), 1, 0).toJs()).toEqual([0, 1]);
  });
  test("incompatible shapes name the op", () => {
    expect(() => np.add(np.zeros([3]), np.zeros([4]))).toThrow(
      "add: shapes (3,), (4,) cannot be broadcast together (axis -1 has sizes 3 and 4); make the sizes equal or 1",
    );
    expect(() => np.where(np.array([true, false]), np.zeros([3]), 0)).toThrow(/^where: shapes \(2,\), \(3,\), \(\) cannot be broadcast/);
  });
});

describe("comparison and logic", () => {
  const a = np.array([1, 2, 3]);
  test("comparisons", () => {
    expect(np.equal(a, 2).toJs()).toEqual([false, true, false]);
    expect(np.notEqual(a, 2).toJs()).toEqual([true, false, true]);
    expect(np.less(a, 2).toJs()).toEqual([true, false, false]);
    expect(np.lessEqual(a, 2).toJs()).toEqual([true, true, false]);
    expect(np.greater(a, 2).toJs()).toEqual([false, false, true]);
    expect(np.greaterEqual(a, 2).toJs()).toEqual([false, true, true]);
    expect(a.eq(np.array([1, 0, 3])).toJs()).toEqual([true, false, true]);
  });
  test("logical ops treat nonzero as true", () => {
    const p = np.array([true, true, false, false]);
    const q = np.array([1, 0, 5, 0]);
    expect(np.logicalAnd(p, q).toJs()).toEqual([true, false, false, false]);
    expect(np.logicalOr(p, q).toJs()).toEqual([true, true, true, false]);
    expect(np.logicalXor(p, q).toJs()).toEqual([false, true, true, false]);
    expect(np.logicalNot(q).toJs()).toEqual([false, true, false, true]);
    expect(p.not().toJs()).toEqual([false, false, true, true]);
  });
  test("isfinite / isnan / isinf", () => {
    const v = np.array([1, NaN, Infinity, -Infinity]);
    expect(np.isfinite(v).toJs()).toEqual([true, false, false, false]);
    expect(np.isnan(v).toJs()).toEqual([false, true, false, false]);
    expect(np.isinf(v).toJs()).toEqual([false, false, true, true]);
    expect(np.isfinite(np.array([1, 2])).toJs()).toEqual([true, true]);
    expect(np.isnan(np.array([1, 2])).toJs()).toEqual([false, false]);
  });
});

describe("bit operations", () => {
  test("and / or / xor / not", () => {
    const a = np.array([0b1100, 0b1010]);
    expect(np.bitwiseAnd(a, 0b1010).toJs()).toEqual([0b1000, 0b1010]);
    expect(np.bitwiseOr(a, 0b0001).toJs()).toEqual([0b1101, 0b1011]);
    expect(np.bitwiseXor(a, 0b1111).toJs()).toEqual([0b0011, 0b0101]);
    expect(np.bitwiseNot(np.array([0, -1])).toJs()).toEqual([-1, 0]);
    expect(np.bitwiseNot(np.array([0], { dtype: "uint32" })).toJs()).toEqual([4294967295]);
    expect(np.bitwiseAnd(np.array([true, false]), true).toJs()).toEqual([true, false]);
  });
  test("shifts: arithmetic for int32, logical for uint32", () => {
    expect(np.leftShift(np.array([1, 3]), 4).toJs()).toEqual([16, 48]);
    expect(np.rightShift(np.array([-16, 16]), 2).toJs()).toEqual([-4, 4]);
    expect(np.rightShift(np.array([0x80000000], { dtype: "uint32" }), 4).toJs()).toEqual([0x08000000]);
  });
  test("bitcastConvertType / convertElementType / iota", () => {
    expect(np.bitcastConvertType(np.array(new Float32Array([1])), "uint32").toJs()).toEqual([0x3f800000]);
    expect(np.bitcastConvertType(np.array([0x40000000], { dtype: "int32" }), "float32").toJs()).toEqual([2]);
    expect(np.convertElementType(np.array([-1]), "uint32").toJs()).toEqual([4294967295]);
    expect(np.iota("int32", [2, 3], 1).toJs()).toEqual([
      [0, 1, 2],
      [0, 1, 2],
    ]);
    expect(np.iota("float32", [2, 2], 0).toJs()).toEqual([
      [0, 0],
      [1, 1],
    ]);
  });
});

describe("unary math (hand-computed)", () => {
  test("exp / log / log1p / expm1 / sqrt / rsqrt", () => {
    close(np.exp(np.array([0, 1, -1])), [1, Math.E, 1 / Math.E]);
    close(np.log(np.array([1, Math.E, 0])), [0, 1, -Infinity]);
    close(np.log1p(np.array([0, 1e-7])), [0, 1e-7], 10);
    close(np.expm1(np.array([0, 1e-7])), [0, 1e-7], 10);
    close(np.sqrt(np.array([4, 9, 2])), [2, 3, Math.SQRT2]);
    close(np.rsqrt(np.array([4, 0.25])), [0.5, 2]);
  });
  test("tanh / erf / erfinv / sin / cos / sigmoid / arctan2", () => {
    close(np.tanh(np.array([0, 1])), [0, 0.7615941559557649]);
    close(np.erf(np.array([0, 1, -0.5])), [0, 0.8427007929497149, -0.5204998778130465]);
    close(np.erfinv(np.array([0, 0.5])), [0, 0.4769362762044699]);
    close(np.sin(np.array([0, Math.PI / 2])), [0, 1]);
    close(np.cos(np.array([0, Math.PI])), [1, -1]);
    close(np.sigmoid(np.array([0, 2])), [0.5, 1 / (1 + Math.exp(-2))]);
    close(np.arctan2(np.array([1, -1]), np.array([1, 0])), [Math.PI / 4, -Math.PI / 2]);
  });
  test("floor / ceil / round (half to even)", () => {
    expect(np.floor(np.array([1.5, -1.5])).toJs()).toEqual([1, -2]);
    expect(np.ceil(np.array([1.5, -1.5])).toJs()).toEqual([2, -1]);
    expect(np.round(np.array([0.5, 1.5, 2.5, -0.5, -2.5, 2.4, 2.6])).toJs()).toEqual([0, 2, 2, -0, -2, 2, 3]);
    close(np.round(np.array([1.234, 5.678]), 1), [1.2, 5.7]);
    expect(np.floor(np.array([3])).toJs()).toEqual([3]);
    expect(np.floor(np.array([3])).dtype).toBe("int32");
  });
  test("method forms", () => {
    const v = np.array([1, 4]);
    close(v.sqrt(), [1, 2]);
    close(v.exp().log(), [1, 4]);
    expect(v.square().toJs()).toEqual([1, 16]);
    expect(v.neg().abs().toJs()).toEqual([1, 4]);
    expect(v.maximum(2).toJs()).toEqual([2, 4]);
    expect(v.minimum(2).toJs()).toEqual([1, 2]);
    expect(v.mod(3).toJs()).toEqual([1, 1]);
  });
});
