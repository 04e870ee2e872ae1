import { describe, expect, test } from "vitest";
import {
  formatFloatScalar,
  formatRepr,
  formatShape,
  formatShapeDtype,
  formatValues,
  roundToFloat16,
} from "../src/format.js";

const range = (n: number, start = 0): number[] => Array.from({ length: n }, (_, i) => start + i);
const f32 = (xs: number[]) => new Float32Array(xs);

describe("formatValues (numpy str)", () => {
  test("the notebook's y matrix", () => {
    const y = f32([0.82840395, -0.25364894, 4.9552917, 4.93638, -7.6721525, -3.4668717]);
    expect(formatValues(y, [3, 2], "float32")).toBe(
      "[[ 0.82840395 -0.25364894]\n [ 4.9552917   4.93638   ]\n [-7.6721525  -3.4668717 ]]",
    );
  });

  test("integers", () => {
    expect(formatValues(new Int32Array([1, 2, 3]), [3], "int32")).toBe("[1 2 3]");
    expect(formatValues([-1, 10, 200], [3], "int32")).toBe("[ -1  10 200]");
    expect(formatValues(range(6), [2, 3], "int32")).toBe("[[0 1 2]\n [3 4 5]]");
    expect(formatValues(range(8), [2, 2, 2], "int32")).toBe("[[[0 1]\n  [2 3]]\n\n [[4 5]\n  [6 7]]]");
  });

  test("uint32 prints unsigned", () => {
    expect(formatValues(new Uint32Array([0, 4294967295]), [2], "uint32")).toBe("[         0 4294967295]");
    expect(formatValues(new Int32Array([-1]), [], "uint32")).toBe("4294967295");
  });

  test("0-d arrays print like numpy scalars", () => {
    expect(formatValues(f32([1.000178]), [], "float32")).toBe("1.000178");
    expect(formatValues(f32([1]), [], "float32")).toBe("1.0");
    expect(formatValues(f32([-0]), [], "float32")).toBe("-0.0");
    expect(formatValues([3], [], "int32")).toBe("3");
    expect(formatValues([1], [], "bool")).toBe("True");
    expect(formatValues([0], [], "bool")).toBe("False");
    expect(formatValues([NaN], [], "float32")).toBe("nan");
    expect(formatValues([-Infinity], [], "float32")).toBe("-inf");
  });

  test("bools", () => {
    expect(formatValues(new Uint8Array([1, 0]), [2], "bool")).toBe("[ True False]");
    expect(formatValues([1, 1], [2], "bool")).toBe("[ True  True]");
    expect(formatValues([1, 0, 0, 1], [2, 2], "bool")).toBe("[[ True False]\n [False  True]]");
  });

  test("float32 shortest round-trip", () => {
    expect(formatValues(f32([0.1, 0.2, 0.3]), [3], "float32")).toBe("[0.1 0.2 0.3]");
    expect(formatValues([Math.fround(0.1)], [1], "float32")).toBe("[0.1]");
    expect(formatValues([0.1], [], "float32")).toBe("0.1");
    expect(formatValues(f32([16777217]), [1], "float32")).toBe("[16777216.]");
    expect(formatValues(f32([16777217]), [], "float32")).toBe("16777216.0");
    expect(formatValues(f32([Math.PI]), [], "float32")).toBe("3.1415927");
    expect(formatValues(f32([1 / 3]), [1], "float32")).toBe("[0.33333334]");
    expect(formatValues(f32([2 / 3]), [], "float32")).toBe("0.6666667");
    expect(formatValues(f32([123.456]), [], "float32")).toBe("123.456");
  });

  test("property: scalar output round-trips in float32 and is shortest", () => {
    let seed = 12345;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const bits = new Uint32Array(1);
    const view = new Float32Array(bits.buffer);
    for (let t = 0; t < 1500; t++) {
      bits[0] = Math.floor(rnd() * 2 ** 32);
      const x = view[0]!;
      if (!Number.isFinite(x)) continue;
      const s = formatFloatScalar(x);
      expect(Math.fround(Number(s))).toBe(x);
      const sig = s.replace(/^-/, "").replace(/e.*$/, "").replace(".", "").replace(/^0+/, "").replace(/0+$/, "");
      const n = Math.max(sig.length, 1);
      if (n > 1) expect(Math.fround(Number(x.toPrecision(n - 1)))).not.toBe(x);
    }
  });

  test("common fractional digits, right padding and sign column", () => {
    expect(formatValues(f32([1, 1.1, 1.11]), [3], "float32")).toBe("[1.   1.1  1.11]");
    expect(formatValues(f32([0, 0.25, 0.5, 0.75, 1]), [5], "float32")).toBe("[0.   0.25 0.5  0.75 1.  ]");
    expect(formatValues(f32([0.5, -1]), [2], "float32")).toBe("[ 0.5 -1. ]");
    expect(formatValues(f32([0.0001, 0.001]), [2], "float32")).toBe("[0.0001 0.001 ]");
    expect(formatValues(f32([1, 2, 3]), [3], "float32")).toBe("[1. 2. 3.]");
    expect(formatValues(f32([0, 0]), [2], "float32")).toBe("[0. 0.]");
    expect(formatValues(f32([-0, 1]), [2], "float32")).toBe("[-0.  1.]");
  });

  test("at most 8 fractional digits (maxprec), round half to even", () => {
    // 0.00012345678 needs 11 fractional digits for a unique float32.
    expect(formatValues(f32([0.00012345678, 1]), [2], "float32")).toBe("[1.2345678e-04 1.0000000e+00]");
    expect(formatValues(f32([0.00012345678, 0.1]), [2], "float32")).toBe("[0.00012346 0.1       ]");
    // 1/512 = 0.001953125 exactly: the tie at the 8th digit rounds to even.
    expect(formatValues([1 / 512], [1], "float32")).toBe("[0.00195312]");
    expect(formatValues([3 / 512], [1], "float32")).toBe("[0.00585938]");
  });

  test("scientific notation", () => {
    expect(formatValues(f32([1e-5, 1]), [2], "float32")).toBe("[1.e-05 1.e+00]");
    expect(formatValues(f32([1.5, 1e-5]), [2], "float32")).toBe("[1.5e+00 1.0e-05]");
    expect(formatValues(f32([1e8]), [1], "float32")).toBe("[1.e+08]");
    expect(formatValues(f32([123456789]), [1], "float32")).toBe("[1.2345679e+08]");
    expect(formatValues(f32([-1e-5, 1e5]), [2], "float32")).toBe("[-1.e-05  1.e+05]");
    expect(formatValues(f32([1, 1001]), [2], "float32")).toBe("[1.000e+00 1.001e+03]");
    expect(formatValues(f32([1, 1000]), [2], "float32")).toBe("[   1. 1000.]");
    expect(formatValues(f32([3.4028235e38]), [1], "float32")).toBe("[3.4028235e+38]");
    expect(formatValues([2 ** -149], [1], "float32")).toBe("[1.e-45]");
    expect(formatValues(f32([1e-5, NaN]), [2], "float32")).toBe("[1.e-05    nan]");
  });

  test("scientific mode prints real digits up to the common precision (numpy min_digits)", () => {
    // float32(0.3) = 0.30000001192...: 9 significant digits are 3.00000012
    expect(formatValues(f32([0.3, 1.2345678e-5]), [2], "float32")).toBe("[3.0000001e-01 1.2345678e-05]");
    expect(formatValues(f32([0.5, 1.2345678e-5]), [2], "float32")).toBe("[5.0000000e-01 1.2345678e-05]");
    // positional mode prints integral digits exactly, the scalar str the shortest ones
    expect(formatValues(f32([50000008]), [1], "float32")).toBe("[50000008.]");
    expect(formatValues(f32([50000008]), [], "float32")).toBe("50000010.0");
  });

  test("scalar scientific like numpy's float32 str", () => {
    expect(formatValues(f32([1e-5]), [], "float32")).toBe("1e-05");
    expect(formatValues(f32([1.5e-5]), [], "float32")).toBe("1.5e-05");
    // float32(1e-4) is slightly below 1e-4, so numpy prints it in scientific notation
    expect(formatValues(f32([1e-4]), [], "float32")).toBe("1e-04");
    expect(formatValues(f32([1e16]), [], "float32")).toBe("1e+16");
    expect(formatValues(f32([1.5e20]), [], "float32")).toBe("1.5e+20");
    expect(formatValues(f32([1e15]), [], "float32")).toBe("1000000000000000.0");
    expect(formatFloatScalar(0.1)).toBe("0.1");
    expect(formatFloatScalar(0.1, "float16")).toBe("0.1");
  });

  test("nan and inf", () => {
    expect(formatValues(f32([NaN, 1]), [2], "float32")).toBe("[nan  1.]");
    expect(formatValues(f32([-Infinity, 0.5]), [2], "float32")).toBe("[-inf  0.5]");
    expect(formatValues(f32([Infinity, 0.5]), [2], "float32")).toBe("[inf 0.5]");
    expect(formatValues(f32([NaN, Infinity]), [2], "float32")).toBe("[nan inf]");
    expect(formatValues(f32([NaN, -Infinity]), [2], "float32")).toBe("[ nan -inf]");
    expect(formatValues(f32([1.25, NaN]), [2], "float32")).toBe("[1.25  nan]");
  });

  test("float16", () => {
    expect(formatValues([1 / 3], [1], "float16")).toBe("[0.3333]");
    expect(formatValues([0.1, 65504], [2], "float16")).toBe("[1.00e-01 6.55e+04]");
    // raw bits: 0x3c00 = 1, 0xc000 = -2, 0x7e00 = nan
    expect(formatValues(new Uint16Array([0x3c00, 0xc000, 0x7e00]), [3], "float16")).toBe("[ 1. -2. nan]");
    expect(roundToFloat16(65519)).toBe(65504);
    expect(roundToFloat16(65520)).toBe(Infinity);
    expect(roundToFloat16(1 + 2 ** -11)).toBe(1); // tie to even
  });

  test("line wrapping at 75 characters", () => {
    expect(formatValues(range(20), [20], "float32")).toBe(
      "[ 0.  1.  2.  3.  4.  5.  6.  7.  8.  9. 10. 11. 12. 13. 14. 15. 16. 17.\n 18. 19.]",
    );
    expect(formatValues(range(30), [30], "int32")).toBe(
      "[ 0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15 16 17 18 19 20 21 22 23\n 24 25 26 27 28 29]",
    );
    const lines = formatValues(range(64).map((i) => i / 7), [64], "float32").split("\n");
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(75);
    expect(lines[0]).toBe("[0.         0.14285715 0.2857143  0.42857143 0.5714286  0.71428573");
  });

  test("summarisation above 1000 elements", () => {
    expect(formatValues(range(1001), [1001], "int32")).toBe("[   0    1    2 ...  998  999 1000]");
    expect(formatValues(range(1000), [1000], "int32").includes("...")).toBe(false);
    expect(formatValues(range(2000), [1000, 2], "int32")).toBe(
      "[[   0    1]\n [   2    3]\n [   4    5]\n ...\n [1994 1995]\n [1996 1997]\n [1998 1999]]",
    );
    // the hidden elements do not influence the layout
    const xs = range(2000);
    xs[1000] = 1e9;
    expect(formatValues(xs, [2000], "float32")).toBe("[0.000e+00 1.000e+00 2.000e+00 ... 1.997e+03 1.998e+03 1.999e+03]");
    xs[1000] = 5;
    expect(formatValues(xs, [2000], "float32")).toBe("[0.000e+00 1.000e+00 2.000e+00 ... 1.997e+03 1.998e+03 1.999e+03]");
    expect(formatValues(range(2002).map((i) => i % 10), [2002], "float32")).toBe("[0. 1. 2. ... 9. 0. 1.]");
  });

  test("options", () => {
    expect(formatValues(range(10), [10], "int32", { threshold: 5, edgeitems: 2 })).toBe("[0 1 ... 8 9]");
    expect(formatValues(range(6), [6], "int32", { linewidth: 10 })).toBe("[0 1 2 3\n 4 5]");
    expect(formatValues(f32([Math.PI]), [1], "float32", { precision: 3 })).toBe("[3.142]");
  });

  test("empty arrays", () => {
    expect(formatValues([], [0], "float32")).toBe("[]");
    expect(formatValues([], [2, 0], "int32")).toBe("[]");
  });
});

describe("formatRepr (JAX repr)", () => {
  test("notebook outputs", () => {
    expect(formatRepr("Array", f32([1.000178]), [], "float32", false)).toBe("Array(1.000178, dtype=float32)");
    expect(formatRepr("ArrayRef", new Int32Array([1, 2, 3]), [3], "int32", false)).toBe(
      "ArrayRef([1, 2, 3], dtype=int32)",
    );
    expect(formatRepr("ArrayRef", new Int32Array([2, 3, 4]), [3], "int32", false)).toBe(
      "ArrayRef([2, 3, 4], dtype=int32)",
    );
    expect(formatRepr("ArrayRef", [0], [], "int32", true)).toBe("ArrayRef(0, dtype=int32, weak_type=True)");
    expect(formatRepr("ArrayRef", [10], [], "int32", false)).toBe("ArrayRef(10, dtype=int32)");
  });

  test("scalars and weak types", () => {
    expect(formatRepr("Array", [1], [], "int32", true)).toBe("Array(1, dtype=int32, weak_type=True)");
    expect(formatRepr("Array", [1], [], "float32", false)).toBe("Array(1., dtype=float32)");
    expect(formatRepr("Array", [1.5], [], "float32", true)).toBe("Array(1.5, dtype=float32, weak_type=True)");
    expect(formatRepr("Array", [1], [], "bool", false)).toBe("Array(True, dtype=bool)");
    expect(formatRepr("Array(", [7], [], "uint32", false)).toBe("Array(7, dtype=uint32)");
  });

  test("vectors and matrices", () => {
    expect(formatRepr("Array", f32([1, 2, 3]), [3], "float32", false)).toBe("Array([1., 2., 3.], dtype=float32)");
    expect(formatRepr("Array", f32([0, 0.25, 0.5, 0.75, 1]), [5], "float32", false)).toBe(
      "Array([0.  , 0.25, 0.5 , 0.75, 1.  ], dtype=float32)",
    );
    expect(formatRepr("Array", [1, 0], [2], "bool", false)).toBe("Array([ True, False], dtype=bool)");
    expect(formatRepr("Array", [1, 2, 3, 4], [2, 2], "int32", false)).toBe(
      "Array([[1, 2],\n       [3, 4]], dtype=int32)",
    );
    expect(formatRepr("Array", range(8), [2, 2, 2], "int32", false)).toBe(
      "Array([[[0, 1],\n        [2, 3]],\n\n       [[4, 5],\n        [6, 7]]], dtype=int32)",
    );
    expect(formatRepr("ArrayRef", [1, 2, 3, 4], [2, 2], "int32", false)).toBe(
      "ArrayRef([[1, 2],\n       [3, 4]], dtype=int32)",
    );
    expect(formatRepr("Thing", [1, 2, 3, 4], [2, 2], "int32", false)).toBe(
      "Thing([[1, 2],\n       [3, 4]], dtype=int32)",
    );
    expect(formatRepr("Ref", [1, 2, 3, 4], [2, 2], "int32", false)).toBe(
      "Ref([[1, 2],\n     [3, 4]], dtype=int32)",
    );
  });

  test("wrapping with the prefix and JAX's dtype placement", () => {
    expect(formatRepr("Array", range(20), [20], "float32", false)).toBe(
      "Array([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12.,\n" +
        "       13., 14., 15., 16., 17., 18., 19.], dtype=float32)",
    );
    expect(formatRepr("Array", range(30), [30], "int32", false)).toBe(
      "Array([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15, 16,\n" +
        "       17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29], dtype=int32)",
    );
    // JAX puts len(prefix) spaces (not a newline) before the dtype when the last line is long
    expect(formatRepr("Array", range(13), [13], "float32", false)).toBe(
      "Array([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12.],      dtype=float32)",
    );
    expect(formatRepr("Array", range(1001), [1001], "int32", false)).toBe(
      "Array([   0,    1,    2, ...,  998,  999, 1000], dtype=int32)",
    );
  });

  test("empty arrays", () => {
    expect(formatRepr("Array", [], [0], "float32", false)).toBe("Array([], shape=(0,), dtype=float32)");
    expect(formatRepr("Array", [], [2, 0], "int32", false)).toBe("Array([], shape=(2, 0), dtype=int32)");
  });
});

describe("formatShapeDtype", () => {
  test("Flax-style summaries", () => {
    expect(formatShapeDtype("ArrayRef", [3], "float32")).toBe("ArrayRef(shape=(3,), dtype=dtype('float32'))");
    expect(formatShapeDtype("ArrayRef", [1, 3], "float32")).toBe("ArrayRef(shape=(1, 3), dtype=dtype('float32'))");
    expect(formatShapeDtype("Array", [], "int32")).toBe("Array(shape=(), dtype=dtype('int32'))");
    expect(formatShape([2, 64])).toBe("(2, 64)");
  });
});
