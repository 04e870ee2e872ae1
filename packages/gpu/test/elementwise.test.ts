import { describe, expect, it } from "vitest";
import { np, primitives as P, setBackend } from "@refs/core";
import { hasGpu } from "./setup.js";
import { bool, checkPrim, f32, i32, rand, u32 } from "./util.js";

const fx = [0, -0, 1, -1, 0.5, -2.5, 2.5, 3.7, -3.7, 100, -100, 1e-7, 1e30, -1e30, Infinity, -Infinity, NaN, 0.1, 7, -7];
const ix = [0, 1, -1, 2, -2, 7, -7, 31, 32, 33, 2147483647, -2147483648, 100, -100, 5, 3];
const ux = [0, 1, 2, 7, 31, 32, 33, 100, 4294967295, 2147483648, 5, 3];
const rot = <T,>(a: T[], k: number): T[] => [...a.slice(k), ...a.slice(0, k)];

describe.skipIf(!hasGpu)("elementwise on webgpu vs cpu", () => {
  it("float32 unary", async () => {
    await setBackend("webgpu");
    const pos = fx.filter((v) => v > 0 || Number.isNaN(v));
    for (const p of [P.neg, P.abs, P.sign, P.floor, P.ceil, P.round, P.isFinite, P.copy]) await checkPrim(p, {}, [f32(fx)]);
    const small = [...rand(32, 1, -5, 5), 0, -0, 1e-6, -1e-6];
    for (const p of [P.exp, P.expm1, P.tanh, P.logistic, P.sin, P.cos, P.erf]) await checkPrim(p, {}, [f32(small)], { rtol: 2e-5, atol: 2e-6 });
    for (const p of [P.log, P.log1p, P.sqrt, P.rsqrt]) await checkPrim(p, {}, [f32([...pos.filter(Number.isFinite), ...rand(16, 2, 0.001, 50)])], { rtol: 2e-5, atol: 1e-6 });
    await checkPrim(P.erfInv, {}, [f32([...rand(32, 3, -0.999, 0.999), 0, 1, -1])], { rtol: 5e-5, atol: 1e-6 });
  });

  it("tanh (XLA's rational approximation) is within 8 ulp of the correctly rounded value, odd, saturating, exact near 0", async () => {
    await setBackend("webgpu");
    const xs: number[] = [];
    for (let i = -20000; i <= 20000; i++) xs.push(i / 2000); // [-10, 10]
    for (let e = -40; e <= 3; e++) xs.push(2 ** e, -(2 ** e), 1.5 * 2 ** e);
    xs.push(0, -0, Infinity, -Infinity, NaN, 1e30, -1e30);
    const x32 = Float32Array.from(xs);
    const got = await np.tanh(np.array(x32)).data();
    const ulp = (v: number): number => {
      const a = Math.abs(Math.fround(v));
      const u = new Uint32Array(Float32Array.of(a).buffer)[0]!;
      return new Float32Array(Uint32Array.of(u + 1).buffer)[0]! - a || 2 ** -149;
    };
    let worst = 0;
    x32.forEach((x, i) => {
      const want = Math.fround(Math.tanh(x));
      const g = got[i]!;
      if (Number.isNaN(x)) return expect(g).toBeNaN();
      if (Math.abs(x) < 4e-4) expect(g).toBe(x); // tanh(x) = x to float32 precision
      worst = Math.max(worst, Math.abs(g - want) / ulp(want));
    });
    expect(worst).toBeLessThanOrEqual(8);
    const neg = await np.tanh(np.array(x32).mul(-1)).data();
    x32.forEach((x, i) => Number.isNaN(x) || expect(neg[i]).toBe(-got[i]!));
  });

  it("float32 binary (incl. NaN-propagating max/min, pow, rem)", async () => {
    await setBackend("webgpu");
    const b = rot(fx, 3);
    for (const p of [P.add, P.sub, P.mul, P.div, P.max, P.min, P.eq, P.ne, P.lt, P.le, P.gt, P.ge]) await checkPrim(p, {}, [f32(fx), f32(b)]);
    const x = rand(40, 4, -4, 4), y = rand(40, 5, -3, 3);
    await checkPrim(P.atan2, {}, [f32(x), f32(y)], { rtol: 2e-5, atol: 1e-6 });
    await checkPrim(P.rem, {}, [f32([...x, 7, -7, 5.5, 1, 0, NaN]), f32([...y, 2, 2, -2, 0, 3, 1])], { rtol: 1e-5, atol: 1e-6 });
    await checkPrim(P.pow, {}, [f32([2, -2, -2, 0, 0, 1, -1, 3, 0.5, NaN, 10]), f32([3, 3, 0.5, 2, -1, NaN, Infinity, -2, 0.5, 0, 5])], { rtol: 2e-5 });
  });

  it("int32 and uint32 wraparound, XLA division by zero, shifts", async () => {
    await setBackend("webgpu");
    const b = rot(ix, 5);
    for (const p of [P.add, P.sub, P.mul, P.div, P.rem, P.max, P.min, P.and, P.or, P.xor, P.eq, P.lt, P.ge]) await checkPrim(p, {}, [i32(ix), i32(b)]);
    await checkPrim(P.div, {}, [i32([7, -7, 5, -2147483648, 0]), i32([0, 0, -1, -1, 0])]);
    await checkPrim(P.rem, {}, [i32([7, -7, 5, -2147483648]), i32([0, 3, -3, -1])]);
    for (const p of [P.neg, P.abs, P.sign, P.not]) await checkPrim(p, {}, [i32(ix)]);
    const ub = rot(ux, 4);
    for (const p of [P.add, P.sub, P.mul, P.div, P.rem, P.max, P.min, P.xor, P.gt]) await checkPrim(p, {}, [u32(ux), u32(ub)]);
    await checkPrim(P.div, {}, [u32([7, 0]), u32([0, 0])]);
    const sh = [0, 1, 5, 31, 32, 33, 100, 3];
    const sv = [1, -1, 2147483647, -2147483648, 12345, -12345, 8, -8];
    for (const p of [P.shiftLeft, P.shiftRightLogical, P.shiftRightArithmetic]) {
      await checkPrim(p, {}, [i32(sv), i32(sh)]);
      await checkPrim(p, {}, [u32(sv.map((v) => v >>> 0)), u32(sh)]);
    }
  });

  it("bool ops, select, conversions and bitcasts", async () => {
    await setBackend("webgpu");
    const a = [0, 1, 1, 0, 1], b = [0, 0, 1, 1, 1];
    for (const p of [P.and, P.or, P.xor, P.eq, P.ne, P.add, P.mul]) await checkPrim(p, {}, [bool(a), bool(b)]);
    await checkPrim(P.not, {}, [bool(a)]);
    await checkPrim(P.select, {}, [bool(a), f32([1, 2, 3, 4, 5]), f32([-1, -2, -3, -4, -5])]);
    const fv = [0, -0, 1.5, -1.5, 2.7, -2.7, 1e10, -1e10, 3e9, NaN, Infinity, -Infinity, 0.3];
    for (const d of ["int32", "uint32", "bool", "float32"] as const) await checkPrim(P.convertElementType, { newDtype: d, weakType: false }, [f32(fv)]);
    for (const d of ["float32", "uint32", "bool"] as const) await checkPrim(P.convertElementType, { newDtype: d, weakType: false }, [i32(ix)]);
    for (const d of ["float32", "int32", "bool"] as const) await checkPrim(P.convertElementType, { newDtype: d, weakType: false }, [u32(ux)]);
    for (const d of ["float32", "int32", "uint32"] as const) await checkPrim(P.convertElementType, { newDtype: d, weakType: false }, [bool(a)]);
    await checkPrim(P.bitcastConvertType, { newDtype: "int32" }, [f32([1, -2.5, 0, -0, Infinity])]);
    await checkPrim(P.bitcastConvertType, { newDtype: "float32" }, [u32([1065353216, 0, 3212836864])]);
  });

  it("threefry2x32 is bit-exact", async () => {
    await setBackend("webgpu");
    const n = 64;
    const r = (s: number) => rand(n, s, 0, 4294967295).map((v) => v >>> 0);
    await checkPrim(P.threefry2x32, {}, [u32(r(1)), u32(r(2)), u32(r(3)), u32(r(4))]);
  });
});
