import { describe, expect, test } from "vitest";
import { np, type Array } from "../src/index.js";
import { float16Bits, resultType } from "../src/ops/index.js";

const t = (x: Array) => [x.dtype, x.weakType];

describe("dtype promotion (JAX lattice, weak types)", () => {
  const i32 = np.array([1, 2, 3]);
  const u32 = np.array([1, 2, 3], { dtype: "uint32" });
  const f32 = np.array([1.5, 2.5]);
  const b = np.array([true, false]);

  test("inputs have the expected types", () => {
    expect(t(i32)).toEqual(["int32", false]);
    expect(t(u32)).toEqual(["uint32", false]);
    expect(t(f32)).toEqual(["float32", false]);
    expect(t(b)).toEqual(["bool", false]);
    expect(t(np.array(0))).toEqual(["int32", true]);
    expect(t(np.array(0.5))).toEqual(["float32", true]);
    expect(t(np.array(true))).toEqual(["bool", false]);
  });

  test("int32 + weak int stays int32 (strong)", () => {
    const r = i32.add(1);
    expect(t(r)).toEqual(["int32", false]);
    expect(r.toJs()).toEqual([2, 3, 4]);
  });

  test("int32 + weak float -> weak float32", () => {
    const r = i32.add(1.5);
    expect(t(r)).toEqual(["float32", true]);
    expect(r.toJs()).toEqual([2.5, 3.5, 4.5]);
  });

  test("int32 + uint32 -> int32", () => {
    const r = np.add(i32, u32);
    expect(t(r)).toEqual(["int32", false]);
    expect(r.toJs()).toEqual([2, 4, 6]);
  });

  test("bool + weak int -> weak int32", () => {
    const r = np.add(b, 1);
    expect(t(r)).toEqual(["int32", true]);
    expect(r.toJs()).toEqual([2, 1]);
  });

  test("float32 + weak int -> float32", () => {
    const r = f32.add(2);
    expect(t(r)).toEqual(["float32", false]);
    expect(r.toJs()).toEqual([3.5, 4.5]);
  });

  test("int32 + float32 -> float32; uint32 + weak int stays uint32", () => {
    expect(t(np.add(np.array([1, 2]), f32))).toEqual(["float32", false]);
    expect(t(u32.add(1))).toEqual(["uint32", false]);
  });

  test("weak + weak stays weak; scalar op scalar", () => {
    const r = np.add(1, 2);
    expect(t(r)).toEqual(["int32", true]);
    expect(r.item()).toBe(3);
    const s = np.multiply(2, 0.5);
    expect(t(s)).toEqual(["float32", true]);
    expect(s.item()).toBe(1);
  });

  test("bool + bool stays bool (logical or); bool * bool is and", () => {
    const x = np.array([true, true, false, false]);
    const y = np.array([true, false, true, false]);
    expect(np.add(x, y).toJs()).toEqual([true, true, true, false]);
    expect(np.multiply(x, y).toJs()).toEqual([true, false, false, false]);
  });

  test("true divide of ints gives float32", () => {
    const r = np.divide(np.array([1, 3]), 2);
    expect(t(r)).toEqual(["float32", false]);
    expect(r.toJs()).toEqual([0.5, 1.5]);
    expect(t(np.divide(1, 2))).toEqual(["float32", true]);
  });

  test("unary float ops promote ints to float32", () => {
    for (const f of [np.exp, np.log, np.sqrt, np.tanh, np.erf, np.sin, np.cos, np.log1p, np.expm1, np.rsqrt]) {
      expect(t(f(i32))).toEqual(["float32", false]);
    }
    expect(t(np.exp(1))).toEqual(["float32", true]);
    expect(t(np.exp(b))).toEqual(["float32", false]);
  });

  test("comparisons give bool", () => {
    expect(t(i32.lt(2.5))).toEqual(["bool", false]);
    expect(i32.lt(2.5).toJs()).toEqual([true, true, false]);
  });

  test("where promotes its branches", () => {
    const r = np.where(np.array([true, false, true]), i32, 0.5);
    expect(t(r)).toEqual(["float32", true]);
    expect(r.toJs()).toEqual([1, 0.5, 3]);
  });

  test("float16 meets weak float (types only: the CPU backend has no float16)", () => {
    const h = np.array(new Float32Array([1, 2]), { dtype: "float16" });
    expect(t(h)).toEqual(["float16", false]);
    expect(resultType("mul", [h, 0.5])).toEqual({ dtype: "float16", weakType: false });
    expect(resultType("mul", [h, f32])).toEqual({ dtype: "float32", weakType: false });
    // host conversion to half bits: 1 = 0x3c00, 2 = 0x4000, -0.5 = 0xb800, 65504 max, 1e6 -> inf
    expect([1, 2, -0.5, 65504, 1e6, 2 ** -24].map(float16Bits)).toEqual([0x3c00, 0x4000, 0xb800, 0x7bff, 0x7c00, 0x0001]);
  });

  test("astype gives a strong type", () => {
    expect(t(np.astype(np.array(1), "int32"))).toEqual(["int32", false]);
    expect(t(i32.astype("float32"))).toEqual(["float32", false]);
    expect(i32.astype("bool").toJs()).toEqual([true, true, true]);
    expect(np.array([1.7, -1.7]).astype("int32").toJs()).toEqual([1, -1]);
  });

  test("JS integer out of range for the array dtype", () => {
    expect(() => i32.add(2 ** 31)).toThrow(/add: the JS number 2147483648 is out of range for int32/);
    expect(() => u32.add(-1)).toThrow(/add: the JS number -1 is out of range for uint32/);
  });
});
