/**
 * float16 on webgpu (issue 5), on the Vulkan adapter (lavapipe, shader-f16):
 * packed storage, per-op rounding, f32 accumulation, routines, control flow,
 * PRNG and a train step. The CPU backend has no float16, so the references
 * are built on the host: exact float16 results where the result is exactly
 * defined (conversions, + - *, moves, integer-valued sums, PRNG bits), the
 * webgpu float32 result rounded to float16 on the host, within a float16 ulp,
 * where float32 math itself is approximate (transcendentals, / and sqrt).
 * The refusal on an adapter without shader-f16 is in errors.test.ts (the
 * default adapter); the WGSL of float32 programs not changing is checked here.
 */
import { vulkanIcd, vulkanRequired } from "./vulkan-env.js";
import { describe, expect, it } from "vitest";
import {
  Literal,
  ShapedArray,
  float16Bits,
  fromHost,
  halfBitsToNumber,
  np,
  primitives as P,
  random,
  roundToFloat16,
  setBackend,
  slice,
  type Array,
  type Params,
  type Primitive,
} from "@refs/core";
import { cond, jit, scan, valueAndGrad, whileLoop } from "@refs/trace";
import * as nn from "@refs/nn";
import { adam, sgd } from "@refs/optim";
import { adapterInfo, profile, type WebGpuBackend } from "../src/index.js";
import { hasGpu } from "./setup.js";
import { gpu, primProgram, rand, runOn, type Arg } from "./util.js";

// setup.ts brought up (and released) a device: its adapter is the one this file gets.
const hasF16 = hasGpu && vulkanIcd !== undefined && (adapterInfo()?.features.includes("shader-f16") ?? false);
if (vulkanRequired && !hasF16)
  throw new Error(
    `REFS_REQUIRE_WEBGPU=1 but the Vulkan adapter with shader-f16 is missing (adapter: ${JSON.stringify(adapterInfo() ?? null)}); run sh tools/lavapipe.sh and set REFS_VK_ICD`,
  );

// ---- float16 on the host --------------------------------------------------------------

/** Round to float16 (ties to even) from a double: the exact reference of one rounding. */
const q = roundToFloat16;
const bitsOfValue = (v: number): number => float16Bits(q(v));
/** A float16 array holding exactly these values (each rounded once from the double). */
const h16 = (vals: readonly number[], shape?: readonly number[]): Array => fromHost(Uint16Array.from(vals, bitsOfValue), shape ?? [vals.length], "float16");
const hbits = (bits: readonly number[], shape?: readonly number[]): Array => fromHost(Uint16Array.from(bits), shape ?? [bits.length], "float16");
const bitsOf = async (x: Array): Promise<number[]> => {
  expect(x.dtype).toBe("float16");
  return [...(await x.data())];
};
const valuesOf = async (x: Array): Promise<number[]> => (await bitsOf(x)).map(halfBitsToNumber);
const data = async (x: Array): Promise<number[]> => [...(await x.data())];
/** float16 bits in a total order of values (-0 and +0 adjacent). */
const ord = (b: number): number => (b & 0x8000 ? -(b & 0x7fff) - 1 : b);
const isNaN16 = (b: number): boolean => (b & 0x7c00) === 0x7c00 && (b & 0x3ff) !== 0;

/** Compare float16 bits: NaN matches NaN; at most `ulp` float16 steps apart (0: the same bits). */
function expectBits(got: readonly number[], want: readonly number[], ulp = 0, what = ""): void {
  expect(got.length, `${what} length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!, w = want[i]!;
    if (isNaN16(g) && isNaN16(w)) continue;
    const d = isNaN16(g) || isNaN16(w) ? Infinity : ulp === 0 ? (g === w ? 0 : Infinity) : Math.abs(ord(g) - ord(w)) - (ord(g) * ord(w) < 0 && (g & 0x7fff) === 0 && (w & 0x7fff) === 0 ? 1 : 0);
    if (d > ulp)
      throw new Error(
        `${what} mismatch at ${i}: webgpu ${halfBitsToNumber(g)} (0x${g.toString(16)}) vs reference ${halfBitsToNumber(w)} (0x${w.toString(16)}), ${ulp} ulp allowed`,
      );
  }
}

/** Random float16 values: k / 2^scale for random integers k, rounded to float16 (a no-op while k fits 11 bits). */
function grid16(n: number, seed: number, lo: number, hi: number, scale = 10): number[] {
  return rand(n, seed, lo, hi).map((v) => q(Math.round(v * 2 ** scale) / 2 ** scale));
}

/** Interesting float16 values: zeros, subnormals, the largest finite, infinities, NaN. */
const SPECIAL = [0, -0, 2 ** -24, -(2 ** -24), 3 * 2 ** -24, 2 ** -14, 65504, -65504, Infinity, -Infinity, NaN, 1, -1, 0.5, 2050, 1e-3].map(q);

const f16Backend = async (): Promise<WebGpuBackend> => (await setBackend("webgpu")) as WebGpuBackend;

/** Run one primitive on webgpu with float16 operands given as values (other operands as Args). */
async function onGpu(prim: Primitive<any>, params: Params, args: readonly (Arg | Literal)[]): Promise<number[][]> {
  const { p, data: d } = primProgram(prim, params, args);
  return runOn(gpu(), p, d);
}
const a16 = (vals: readonly number[], shape?: readonly number[]): Arg => ({ dtype: "float16", data: vals.map(bitsOfValue), shape: shape ?? [vals.length] });

describe.skipIf(!hasF16)("float16 on webgpu (Vulkan adapter with shader-f16)", () => {
  it("the backend says it supports float16, and float64 is still refused by name", async () => {
    const be = await f16Backend();
    expect(be.supportsDtype("float16")).toBe(true);
    expect(be.info.features).toContain("shader-f16");
    expect(() => np.ones([2]).astype("float64" as never)).toThrow(/^astype: unsupported dtype "float64".*use float32 or int32\)$/);
  });

  it("storage is packed: 2 bytes per element, odd lengths (1, 3, 5, 1023) round-trip bit for bit", async () => {
    const be = await f16Backend();
    for (const n of [1, 3, 5, 1023]) {
      const bits = globalThis.Array.from({ length: n }, (_, i) => (i * 40503 + 7) & 0xffff);
      bits[0] = 0x7e01; // a NaN with a payload
      // Host → device → host: the bytes as they are.
      const x = hbits(bits);
      const h = be.alloc(new ShapedArray([n], "float16"), Uint16Array.from(bits));
      expect([...(await be.read(h, new ShapedArray([n], "float16")))]).toEqual(bits);
      be.free(h);
      // Through routines that move elements (gather, concatenate, dynamic_update_slice): exact, NaN payloads too.
      const idx = np.arange(n).astype("int32");
      expect(await bitsOf(np.take(x, idx))).toEqual(bits);
      expect(await bitsOf(np.concatenate([x, x]))).toEqual([...bits, ...bits]);
      // Through a kernel (loaded as f32, stored back): equal values, NaN stays NaN.
      expectBits(await bitsOf(np.array(x)), bits, 0, `copy of ${n}`);
    }
    // A program whose output is a float16 literal; bitcast float16 -> float16 (the only legal one: no other dtype is 2 bytes).
    const lit = jit((x: Array) => [x, np.array(-2.5, { dtype: "float16" })]);
    const [, l] = lit(hbits([1])) as Array[];
    expect(await bitsOf(l!)).toEqual([bitsOfValue(-2.5)]);
    expect(await bitsOf(np.bitcastConvertType(hbits([0x7e01, 0x8000]), "float16"))).toEqual([0x7e01, 0x8000]);
    expect(() => np.bitcastConvertType(hbits([1]), "int32")).toThrow("bitcastConvertType: cannot bitcast float16[1] to int32: item sizes differ (2 and 4 bytes)");
    // Memory: 1023 float16 elements take 2048 bytes (float32: 4092).
    const before = be.memory().bytes;
    const h = be.alloc(new ShapedArray([1023], "float16"));
    expect(be.memory().bytes - before).toBe(2048);
    const g = be.alloc(new ShapedArray([3], "float16"));
    expect(be.memory().bytes - before).toBe(2048 + 8);
    be.free(h);
    be.free(g);
  });

  it("float16 → float32 is exact for all 65536 bit patterns; float32 → float16 rounds to nearest even at every tie", async () => {
    await f16Backend();
    const all = globalThis.Array.from({ length: 65536 }, (_, i) => i);
    const wide = await data(hbits(all).astype("float32"));
    wide.forEach((v, i) => {
      const want = halfBitsToNumber(i);
      if (!(Object.is(v, want) || (Number.isNaN(v) && Number.isNaN(want)))) throw new Error(`float16 0x${i.toString(16)} widened to ${v}, want ${want}`);
    });
    // Every finite positive float16 value, the midpoints between neighbours (exact ties) and the float32s either side of each tie.
    const pts: number[] = [];
    for (let b = 0; b < 0x7c00; b++) {
      const v = halfBitsToNumber(b);
      const mid = (v + halfBitsToNumber(b + 1)) / 2; // b + 1 = 0x7c00 is infinity: the tie at 65520
      const m = b === 0x7bff ? 65520 : mid;
      pts.push(v, m, nextF32(m, -1), nextF32(m, 1));
    }
    const xs = [...pts, ...pts.map((v) => -v), 1e10, -1e10, 3.4e38, 1e-30, -1e-30, 1e-45, Infinity, -Infinity, NaN];
    const got = await bitsOf(np.array(Float32Array.from(xs)).astype("float16"));
    expectBits(got, xs.map(bitsOfValue), 0, "float32 → float16");
    // Integers: ties at 2049, overflow beyond 65519, saturating extremes.
    const ints = [0, 1, -1, 2049, 2051, 4097, 4099, 65504, 65519, 65520, 70000, -70000, 2147483647, -2147483648, 12345];
    expectBits(await bitsOf(np.array(Int32Array.from(ints)).astype("float16")), ints.map(bitsOfValue), 0, "int32 → float16");
    const uints = [0, 1, 2049, 65519, 65520, 4294967295, 3000000000];
    expectBits(await bitsOf(np.array(Uint32Array.from(uints)).astype("float16")), uints.map(bitsOfValue), 0, "uint32 → float16");
    expectBits(await bitsOf(np.array([true, false, true]).astype("float16")), [0x3c00, 0, 0x3c00], 0, "bool → float16");
    // float16 → int32 / uint32 / bool: as from the float32 of the same value (truncation, saturation, NaN → 0).
    const f = [...SPECIAL, 2.5, -2.5, 1023.5, -0.75];
    const x = h16(f);
    expect(await data(x.astype("int32"))).toEqual(f.map((v) => (Number.isNaN(v) ? 0 : v >= 2147483648 ? 2147483647 : v <= -2147483648 ? -2147483648 : Math.trunc(v) | 0)));
    expect(await data(x.astype("uint32"))).toEqual(f.map((v) => (!(v > 0) ? 0 : v >= 4294967296 ? 4294967295 : Math.trunc(v))));
    expect(await data(x.astype("bool"))).toEqual(f.map((v) => (v !== 0 ? 1 : 0)));
  });

  it("+ - * are rounded once per op (exact); / and sqrt within an ulp; a fused chain rounds at every float16 op", async () => {
    await f16Backend();
    const n = 301;
    const xs = [...SPECIAL, ...rand(n - SPECIAL.length, 1, -300, 300).map(q)];
    const ys = [...rand(n, 2, -40, 40).map(q)].map((v, i) => (i % 17 === 0 ? SPECIAL[i % SPECIAL.length]! : v));
    const x = h16(xs), y = h16(ys);
    const ref = (f: (a: number, b: number) => number) => xs.map((a, i) => bitsOfValue(f(a, ys[i]!)));
    expectBits(await bitsOf(x.add(y)), ref((a, b) => a + b), 0, "add");
    expectBits(await bitsOf(x.sub(y)), ref((a, b) => a - b), 0, "sub");
    expectBits(await bitsOf(x.mul(y)), ref((a, b) => a * b), 0, "mul");
    expectBits(await bitsOf(x.div(y)), ref((a, b) => a / b), 1, "div");
    expectBits(await bitsOf(np.sqrt(np.abs(x))), xs.map((a) => bitsOfValue(Math.sqrt(Math.abs(a)))), 1, "sqrt");
    // x*y + x - y*y, fused into one kernel, rounds after each op (float32 all the way would not).
    const chain = (a: number, b: number) => q(q(q(a * b) + a) - q(b * b));
    const f = jit((a: Array, b: Array) => a.mul(b).add(a).sub(b.mul(b)));
    expectBits(await bitsOf(f(x, y) as Array), ref(chain), 0, "fused chain");
    const unrounded = xs.map((a, i) => bitsOfValue(a * ys[i]! + a - ys[i]! * ys[i]!));
    expect(unrounded.some((b, i) => b !== ref(chain)[i])).toBe(true); // the data tells the two apart
    // Weak scalars take float16: 0.1 is rounded to float16 first.
    expectBits(await bitsOf(x.mul(3).add(0.1)), xs.map((a) => bitsOfValue(q(a * 3) + q(0.1))), 0, "weak scalars");
    expect(x.mul(3).add(0.1).dtype).toBe("float16");
    // Exact ops: neg, abs, sign, max/min (NaN-propagating), floor/ceil/round, comparisons, where.
    const same = (f: (a: number) => number) => xs.map((a) => bitsOfValue(f(a)));
    expectBits(await bitsOf(np.negative(x)), same((a) => -a), 0, "neg");
    expectBits(await bitsOf(np.abs(x)), same(Math.abs), 0, "abs");
    expectBits(await bitsOf(np.sign(x)), same((a) => (Number.isNaN(a) ? NaN : a > 0 ? 1 : a < 0 ? -1 : a)), 0, "sign");
    expectBits(await bitsOf(np.floor(x)), same(Math.floor), 0, "floor");
    expectBits(await bitsOf(np.ceil(x)), same(Math.ceil), 0, "ceil");
    const rint = (a: number) => {
      if (!Number.isFinite(a)) return a;
      const f = Math.floor(a);
      const r = a - f > 0.5 || (a - f === 0.5 && f % 2 !== 0) ? f + 1 : f;
      return r === 0 ? a * 0 : r; // keeps the sign of zero
    };
    expectBits(await bitsOf(np.round(x)), same(rint), 0, "round (half to even)");
    const nanOr = (f: (a: number, b: number) => number) => (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : f(a, b));
    expectBits(await bitsOf(np.maximum(x, y)), ref(nanOr(Math.max)), 0, "max");
    expectBits(await bitsOf(np.minimum(x, y)), ref(nanOr(Math.min)), 0, "min");
    expect(await data(x.lt(y))).toEqual(xs.map((a, i) => (a < ys[i]! ? 1 : 0)));
    expect(await data(x.eq(y))).toEqual(xs.map((a, i) => (a === ys[i]! ? 1 : 0)));
    expect(await data(x.ne(x))).toEqual(xs.map((a) => (Number.isNaN(a) ? 1 : 0)));
    expectBits(await bitsOf(np.where(x.gt(y), x, y)), xs.map((a, i) => bitsOfValue(a > ys[i]! ? a : ys[i]!)), 0, "where");
  });

  it("transcendentals: the float32 result rounded to float16 (within an ulp of webgpu's float32 rounded on the host)", async () => {
    await f16Backend();
    const small = [...grid16(200, 3, -6, 6), 0, -0, 2 ** -24, 1e-3, -1e-3, Infinity, -Infinity, NaN].map(q);
    const pos = [...grid16(200, 4, 0.001, 60), 2 ** -24, 65504, 0, Infinity, NaN].map(q);
    const unit = [...grid16(100, 5, -0.999, 0.999, 11), 0, 1, -1].map(q);
    const cases: [string, (a: Array) => Array, number[]][] = [
      ["exp", np.exp, small],
      ["tanh", np.tanh, small],
      ["sigmoid", np.sigmoid, small],
      ["sin", np.sin, small],
      ["cos", np.cos, small],
      ["erf", np.erf, small],
      ["log", np.log, pos],
      ["rsqrt", np.rsqrt, pos],
      ["erfinv", np.erfinv, unit],
      ["pow", (a) => np.power(a, 1.5), pos],
    ];
    for (const [name, f, xs] of cases) {
      const want = (await data(f(np.array(Float32Array.from(xs))))).map(bitsOfValue); // webgpu float32, rounded on the host
      const got = await bitsOf(f(h16(xs)));
      expectBits(got, want, 1, name);
      // ...and near the exact value (a few float16 ulps: float32 math is itself approximate).
    }
    const expGot = await valuesOf(np.exp(h16(small)));
    expGot.forEach((v, i) => {
      const w = Math.exp(small[i]!);
      if (Number.isFinite(w) && w < 65504) expect(Math.abs(v - w)).toBeLessThanOrEqual(Math.abs(w) * 2 ** -10 + 2 ** -24);
    });
  });

  it("reductions accumulate in float32 and round once (per-output loops and workgroup trees)", async () => {
    await f16Backend();
    const sum = (v: readonly number[]) => v.reduce((a, b) => a + b, 0);
    for (const [rows, cols] of [
      [4, 300],
      [3, 5000],
      [300, 7],
    ] as const) {
      // Multiples of 2^-10 below 2^13 in magnitude: every float32 partial sum is exact, so the reference is the exact sum rounded once.
      const v = grid16(rows * cols, rows, -1, 1, 10);
      const x = h16(v, [rows, cols]);
      const row = (r: number) => v.slice(r * cols, (r + 1) * cols);
      const col = (c: number) => globalThis.Array.from({ length: rows }, (_, r) => v[r * cols + c]!);
      const byRow = globalThis.Array.from({ length: rows }, (_, r) => bitsOfValue(sum(row(r))));
      expectBits(await bitsOf(np.sum(x, 1)), byRow, 0, `sum over axis 1 of ${rows}x${cols}`);
      expectBits(await bitsOf(np.sum(x, 0)), globalThis.Array.from({ length: cols }, (_, c) => bitsOfValue(sum(col(c)))), 0, `sum over axis 0 of ${rows}x${cols}`);
      expectBits(await bitsOf(np.sum(x)), [bitsOfValue(sum(v))], 0, `sum of ${rows}x${cols}`);
      // A float16 accumulator would have rounded on the way (the data tells them apart).
      const f16Acc = (xs: readonly number[]) => xs.reduce((a, b) => q(a + b), 0);
      if (cols >= 300) expect(globalThis.Array.from({ length: rows }, (_, r) => bitsOfValue(f16Acc(row(r))))).not.toEqual(byRow);
      // max / min are exact, and propagate NaN.
      const withNaN = [...v];
      withNaN[cols + 1] = NaN;
      const mx = await bitsOf(np.max(h16(withNaN, [rows, cols]), 1));
      expectBits(mx, globalThis.Array.from({ length: rows }, (_, r) => bitsOfValue(r === 1 ? NaN : Math.max(...row(r)))), 0, "max");
      expectBits(await bitsOf(np.min(x, 0)), globalThis.Array.from({ length: cols }, (_, c) => bitsOfValue(Math.min(...col(c)))), 0, "min");
    }
    // sum(x * x) fuses: each square is rounded to float16 (a float16 op), the sum accumulates in f32 and rounds once.
    const v = grid16(1000, 7, -1, 1, 6);
    const sq = jit((a: Array) => np.sum(a.mul(a)));
    expectBits(await bitsOf(sq(h16(v)) as Array), [bitsOfValue(sum(v.map((a) => q(a * a))))], 0, "sum of squares");
    const p = grid16(40, 8, 0.9, 1.1, 10);
    expectBits(await bitsOf(np.prod(h16(p))), [bitsOfValue(p.reduce((a, b) => a * b, 1))], 1, "prod");
  });

  it("dot_general accumulates in float32 and rounds once: vec4 and scalar loads, transposed, batched, with epilogues", async () => {
    await f16Backend();
    // Multiples of 1/16 in [-1, 1]: products are multiples of 2^-8 and sums below 2^8, exact in float32.
    const mk = (n: number, seed: number) => grid16(n, seed, -1, 1, 4);
    const matmul = (a: readonly number[], b: readonly number[], M: number, K: number, N: number, at = (m: number, k: number) => a[m * K + k]!) =>
      globalThis.Array.from({ length: M * N }, (_, i) => {
        const m = Math.floor(i / N), n = i % N;
        let acc = 0;
        for (let k = 0; k < K; k++) acc += at(m, k) * b[k * N + n]!;
        return acc;
      });
    for (const [M, K, N] of [
      [1, 1, 1],
      [17, 17, 17],
      [65, 64, 65],
      [8, 130, 12],
      [33, 70, 5],
    ] as const) {
      const a = mk(M * K, M), b = mk(K * N, N + 1);
      const want = matmul(a, b, M, K, N);
      const got = await bitsOf(np.matmul(h16(a, [M, K]), h16(b, [K, N])));
      expectBits(got, want.map(bitsOfValue), 0, `matmul ${M}x${K}x${N}`);
      if (K >= 64) {
        // Accumulating in float16 would have rounded (the data tells them apart).
        const f16Acc = globalThis.Array.from({ length: M * N }, (_, i) => {
          let acc = 0;
          for (let k = 0; k < K; k++) acc = q(acc + q(a[Math.floor(i / N) * K + k]! * b[k * N + (i % N)]!));
          return bitsOfValue(acc);
        });
        expect(f16Acc).not.toEqual(want.map(bitsOfValue));
      }
    }
    // Transposed lhs (a strided read after movement folding) under jit.
    const [M, K, N] = [12, 20, 9];
    const at = mk(K * M, 3), b = mk(K * N, 4);
    const tmm = jit((x: Array, y: Array) => np.matmul(np.transpose(x), y));
    expectBits(await bitsOf(tmm(h16(at, [K, M]), h16(b, [K, N])) as Array), matmul(at, b, M, K, N, (m, k) => at[k * M + m]!).map(bitsOfValue), 0, "aT @ b");
    // Batched.
    const ba = mk(3 * 4 * 8, 5), bb = mk(3 * 8 * 6, 6);
    const bwant = [0, 1, 2].flatMap((i) => matmul(ba.slice(i * 32, i * 32 + 32), bb.slice(i * 48, i * 48 + 48), 4, 8, 6));
    expectBits(await bitsOf(np.matmul(h16(ba, [3, 4, 8]), h16(bb, [3, 8, 6]))), bwant.map(bitsOfValue), 0, "batched");
    // Epilogue: relu(a @ b + bias) in one step; the dot is rounded, then the add.
    const a = mk(16 * 24, 7), w = mk(24 * 10, 8), bias = grid16(10, 9, -1, 1, 10);
    const dense = jit((x: Array, k: Array, c: Array) => np.maximum(np.matmul(x, k).add(c), 0));
    const got = await bitsOf(dense(h16(a, [16, 24]), h16(w, [24, 10]), h16(bias)) as Array);
    expect(profile().kernels.some((l) => l.startsWith("dot_general+"))).toBe(true);
    const dot = matmul(a, w, 16, 24, 10);
    expectBits(got, dot.map((d, i) => bitsOfValue(Math.max(q(q(d) + bias[i % 10]!), 0))), 0, "dot + bias, relu");
    // A float32 epilogue of a float16 dot (mixed precision output).
    const up = jit((x: Array, k: Array) => np.matmul(x, k).astype("float32").mul(0.5));
    expect(await data(up(h16(a, [16, 24]), h16(w, [24, 10])) as Array)).toEqual(dot.map((d) => q(d) * 0.5));
  });

  it("routines move float16 exactly (sort, argmax, gather/scatter, dynamic slices, pad, movement) and sum in f32 (cumsum)", async () => {
    await f16Backend();
    // sort: stable, NaN last, -0 and 0 equal (kept in order); an int32 payload sorts along.
    const keys = [3, -0, NaN, 1, 0, -Infinity, 1, 65504, -2, Infinity, 0.5].map(q);
    const order = keys.map((_, i) => i).sort((i, j) => {
      const a = keys[i]!, b = keys[j]!;
      if (Number.isNaN(a) !== Number.isNaN(b)) return Number.isNaN(a) ? 1 : -1;
      return a < b ? -1 : a > b ? 1 : i - j;
    });
    const [sk, sv] = await onGpu(P.sort, { dimension: 0, numKeys: 1 }, [a16(keys), { dtype: "int32", data: keys.map((_, i) => i), shape: [keys.length] }]);
    expectBits(sk!, order.map((i) => bitsOfValue(keys[i]!)), 0, "sort keys");
    expect(sv).toEqual(order);
    // Rows of odd length along the last axis.
    const m = grid16(15, 11, -9, 9, 3);
    const [rowsSorted] = await onGpu(P.sort, { dimension: 1, numKeys: 1 }, [a16(m, [3, 5])]);
    expectBits(rowsSorted!, [0, 1, 2].flatMap((r) => m.slice(r * 5, r * 5 + 5).sort((a, b) => a - b)).map(bitsOfValue), 0, "sort rows");
    // argmax / argmin: the first extreme, NaN first.
    const am = [1, 5, 5, -2, 3, NaN, 7, 7, -9].map(q);
    expect(await data(np.argmax(h16(am, [3, 3]), 1))).toEqual([1, 2, 0]);
    expect(await data(np.argmin(h16(am, [3, 3]), 1))).toEqual([0, 2, 2]);
    // gather (clamped) and scatter (set, add with duplicates and out-of-range indices dropped).
    const g = grid16(20, 12, -100, 100, 4);
    const x = h16(g, [4, 5]);
    const [gt] = await onGpu(P.gather, { axis: 0 }, [a16(g, [4, 5]), { dtype: "int32", data: [3, 0, -2, 9, 1], shape: [5] }]);
    expectBits(gt!, [3, 0, 0, 3, 1].flatMap((r) => g.slice(r * 5, r * 5 + 5)).map(bitsOfValue), 0, "gather (clamped)");
    const base = h16([2048, 0, 1, 7, 8]);
    const at = np.array([0, 0, 2, 2, 9], { dtype: "int32" });
    const upd = h16([1, 1, 0.5, 0.25, 100]);
    expectBits(await bitsOf(base.at(at).set(upd)), [1, 0, 0.25, 7, 8].map(bitsOfValue), 0, "scatter (last write wins)");
    // scatter_add rounds after each update (XLA adds into the float16 operand): 2048 + 1 = 2049 rounds to 2048, twice.
    expectBits(await bitsOf(base.at(at).add(upd)), [2048, 0, 1.75, 7, 8].map(bitsOfValue), 0, "scatter_add");
    // dynamic_slice (starts clamped) and dynamic_update_slice.
    const i32 = (v: number): Arg => ({ dtype: "int32", data: [v], shape: [] });
    const [ds] = await onGpu(P.dynamicSlice, { sliceSizes: [2, 3] }, [a16(g, [4, 5]), i32(1), i32(9)]);
    expectBits(ds!, [g[7]!, g[8]!, g[9]!, g[12]!, g[13]!, g[14]!].map(bitsOfValue), 0, "dynamic_slice");
    const [dus] = await onGpu(P.dynamicUpdateSlice, {}, [a16(g, [4, 5]), a16([1, 2, 3], [1, 3]), i32(2), i32(1)]);
    const gw = [...g];
    gw.splice(11, 3, 1, 2, 3);
    expectBits(dus!, gw.map(bitsOfValue), 0, "dynamic_update_slice");
    // pad with a float16 value (edge and interior).
    const [pd] = await onGpu(P.pad, { lo: [1], hi: [2], interior: [1] }, [a16([1, 2, 3]), { dtype: "float16", data: [bitsOfValue(-0.5)], shape: [] }]);
    expectBits(pd!, [-0.5, 1, -0.5, 2, -0.5, 3, -0.5, -0.5].map(bitsOfValue), 0, "pad");
    // ...and with the pad value a Literal (a constant buffer holding its float16 bits).
    const [pl] = await onGpu(P.pad, { lo: [0], hi: [1], interior: [0] }, [a16([1, 2, 3]), new Literal(q(0.1), new ShapedArray([], "float16"))]);
    expectBits(pl!, [1, 2, 3, 0.1].map(bitsOfValue), 0, "pad with a literal");
    // Movement folded into kernels: transpose, flip, strided slices.
    expectBits(await bitsOf(np.transpose(x)), [0, 1, 2, 3, 4].flatMap((c) => [0, 1, 2, 3].map((r) => g[r * 5 + c]!)).map(bitsOfValue), 0, "transpose");
    expectBits(await bitsOf(np.flip(x, 1)), [0, 1, 2, 3].flatMap((r) => g.slice(r * 5, r * 5 + 5).reverse()).map(bitsOfValue), 0, "flip");
    expectBits(await bitsOf(x.get([slice(1, 4), slice(null, null, 2)])), [1, 2, 3].flatMap((r) => [0, 2, 4].map((c) => g[r * 5 + c]!)).map(bitsOfValue), 0, "slice");
    // cumsum: an f32 running sum rounded at each output (multiples of 2^-10: exact partial sums).
    const cs = grid16(3 * 333, 13, -1, 1, 10);
    const prefix = (xs: readonly number[]) => xs.map(((acc) => (v: number) => (acc += v))(0));
    const want = [0, 1, 2].flatMap((r) => prefix(cs.slice(r * 333, r * 333 + 333)));
    expectBits(await bitsOf(np.cumsum(h16(cs, [3, 333]), 1)), want.map(bitsOfValue), 0, "cumsum");
    const [rc] = await onGpu(P.cumsum, { axis: 0, reverse: true }, [a16(cs.slice(0, 5))]);
    expectBits(rc!, prefix(cs.slice(0, 5).reverse()).reverse().map(bitsOfValue), 0, "reverse cumsum");
  });

  it("random with dtype float16: uniform bit-exact (PRNG bits from the CPU), normal within an ulp", async () => {
    const shape = [1023];
    await setBackend("cpu");
    const bits = await data(random.bits(random.key(42), shape));
    await f16Backend();
    // JAX's float16 uniform: 10 mantissa bits from the low half of the 32 random bits.
    const unit = bits.map((b) => ((b & 0xffff) >>> 6) / 1024);
    expectBits(await bitsOf(random.uniform(random.key(42), shape, { dtype: "float16" })), unit.map(bitsOfValue), 0, "uniform");
    // minval/maxval: floats * (max - min) + min, then max(min, .), each a float16 op.
    const scaled = unit.map((f) => Math.max(-2, q(q(f * 5) + -2)));
    expectBits(await bitsOf(random.uniform(random.key(42), shape, { dtype: "float16", minval: -2, maxval: 3 })), scaled.map(bitsOfValue), 0, "uniform in [-2, 3)");
    // normal: sqrt(2) * erfinv(uniform(nextafter(-1, 0), 1)) in float16; erfinv from webgpu's float32, rounded on the host.
    const lo = -(1 - 2 ** -11);
    const u = unit.map((f) => Math.max(lo, q(q(f * q(1 - lo)) + lo)));
    const e = (await data(np.erfinv(np.array(Float32Array.from(u))))).map(q);
    const want = e.map((v) => bitsOfValue(1.4140625 * v));
    expectBits(await bitsOf(random.normal(random.key(42), shape, { dtype: "float16" })), want, 1, "normal");
  });

  it("control flow carries float16: scan over odd-length rows (forward, reverse), while, while around scan, scan around while, cond", async () => {
    await f16Backend();
    const i32 = (v: number) => np.array(v, { dtype: "int32" });
    for (const w of [1, 2, 3])
      for (const reverse of [false, true]) {
        const L = 7;
        const xs = grid16(L * w, w + 10 * +reverse, -40, 40, 10);
        const c0 = grid16(5, 20 + w, -4, 4, 10);
        const f = jit((c: Array, x: Array) =>
          scan((c: Array, x: Array) => [c.add(np.sum(x)), x.mul(2.5).add(c.get(slice(0, w)))] as [Array, Array], c, x, { reverse }),
        );
        const [cOut, ys] = f(h16(c0), h16(xs, [L, w])) as [Array, Array];
        let c = [...c0];
        const yWant = new globalThis.Array<number>(L * w);
        for (let t = 0; t < L; t++) {
          const i = reverse ? L - 1 - t : t;
          const x = xs.slice(i * w, i * w + w);
          const s = q(x.reduce((a, b) => a + b, 0));
          x.forEach((v, j) => (yWant[i * w + j] = q(q(v * 2.5) + c[j]!)));
          c = c.map((v) => q(v + s));
        }
        expectBits(await bitsOf(cOut), c.map(bitsOfValue), 0, `scan carry (rows of ${w}, reverse ${reverse})`);
        expectBits(await bitsOf(ys), yWant.map(bitsOfValue), 0, `scan ys (rows of ${w}, reverse ${reverse})`);
      }
    // while: a <- a * 1.5 + x, 13 trips (batched iterations under the device-side flag).
    const x = grid16(5, 30, -1, 1, 10);
    const loop = jit((x: Array, n: Array) =>
      whileLoop(([i]: [Array, Array]) => i.lt(n), ([i, a]: [Array, Array]) => [i.add(1), a.mul(1.5).add(x)] as [Array, Array], [i32(0), np.zerosLike(x)])[1],
    );
    let a = x.map(() => 0);
    for (let t = 0; t < 13; t++) a = a.map((v, j) => q(q(v * 1.5) + x[j]!));
    expectBits(await bitsOf(loop(h16(x), i32(13)) as Array), a.map(bitsOfValue), 0, "while");
    // while around a scan over rows of 3: the odd-offset row copies run as a guarded copy kernel.
    const rows = grid16(4 * 3, 31, -1, 1, 8);
    const sumRows = jit((xs: Array, n: Array) =>
      whileLoop(
        ([i]: [Array, Array]) => i.lt(n),
        ([i, acc]: [Array, Array]) => [i.add(1), scan((c: Array, r: Array) => [c.add(r), null] as [Array, null], acc, xs)[0]] as [Array, Array],
        [i32(0), np.zeros([3], { dtype: "float16" })],
      )[1],
    );
    let acc = [0, 0, 0];
    for (let t = 0; t < 5; t++) for (let r = 0; r < 4; r++) acc = acc.map((v, j) => q(v + rows[r * 3 + j]!));
    expectBits(await bitsOf(sumRows(h16(rows, [4, 3]), i32(5)) as Array), acc.map(bitsOfValue), 0, "while around scan");
    expect(profile().kernels).toContain("copy16");
    // scan around a while (the host-driven scan with awaits): rows of 3 in, rows of 3 out.
    const twice = jit((xs: Array) =>
      scan(
        (c: Array, r: Array) => {
          const v = whileLoop(([i]: [Array, Array]) => i.lt(2), ([i, v]: [Array, Array]) => [i.add(1), v.add(r)] as [Array, Array], [i32(0), c])[1];
          return [v, v.mul(0.5)] as [Array, Array];
        },
        np.zeros([3], { dtype: "float16" }),
        xs,
      ),
    );
    const [tc, tys] = twice(h16(rows, [4, 3])) as [Array, Array];
    let v = [0, 0, 0];
    const tyWant: number[] = [];
    for (let r = 0; r < 4; r++) {
      for (let k = 0; k < 2; k++) v = v.map((e, j) => q(e + rows[r * 3 + j]!));
      tyWant.push(...v.map((e) => q(e * 0.5)));
    }
    expectBits(await bitsOf(tc), v.map(bitsOfValue), 0, "scan around while: carry");
    expectBits(await bitsOf(tys), tyWant.map(bitsOfValue), 0, "scan around while: ys");
    // cond: both branches produce float16.
    const pick = jit((p: Array, y: Array) => cond(p, (y: Array) => y.mul(3), (y: Array) => y.sub(0.1), y));
    expectBits(await bitsOf(pick(np.array(true), h16(x)) as Array), x.map((e) => bitsOfValue(e * 3)), 0, "cond true");
    expectBits(await bitsOf(pick(np.array(false), h16(x)) as Array), x.map((e) => bitsOfValue(e - q(0.1))), 0, "cond false");
  });

  it("only kernels that touch float16 pay for it: float32 programs' WGSL has no f16 (and no enable f16)", async () => {
    await f16Backend();
    const prog = jit((a: Array, b: Array, c: Array) => np.cumsum(np.maximum(np.matmul(a, b).add(c), 0), 1).sum(0));
    const args = (d: "float32" | "float16") => [np.ones([4, 4], { dtype: d }), np.ones([4, 4], { dtype: d }), np.ones([4], { dtype: d })] as const;
    const text32 = prog.lower(...args("float32")).asText({ backend: "webgpu" });
    expect(text32).toContain("@compute");
    expect(text32).not.toMatch(/f16|r16/);
    const text16 = prog.lower(...args("float16")).asText({ backend: "webgpu" });
    expect(text16).toContain("enable f16;");
    expect(text16).toContain("array<f16>");
    expect(text16).toContain("fn r16(");
    // ones @ ones + 1 = 5, relu, cumsum along rows [5, 10, 15, 20], summed over 4 rows.
    expect(await bitsOf(prog(...args("float16")) as Array)).toEqual([20, 40, 60, 80].map(bitsOfValue));
    // A kernel that rounds through float16 without binding any float16 buffer needs no `enable f16`.
    const through = jit((a: Array) => a.astype("float16").astype("float32"));
    const t = through.lower(np.ones([3])).asText({ backend: "webgpu" });
    expect(t).toContain("r16(");
    expect(t).not.toContain("enable f16");
    expect(await data(through(np.array(Float32Array.of(0.1, 65519, 70000))) as Array)).toEqual([q(0.1), 65504, Infinity]);
  });

  it("an MLP trains under jit + grad: float16 params and activations (sgd), and float32 params with float16 compute (adam)", async () => {
    await f16Backend();
    class Mlp extends nn.Module {
      l1: nn.Linear;
      l2: nn.Linear;
      constructor(dtype: "float16" | "float32", paramDtype: "float16" | "float32", rngs: nn.Rngs) {
        super();
        // random.truncatedNormal has no float16 (core): draw lecun-normal in float32 and round.
        const kernelInit: nn.Initializer = (key, shape, d) => nn.initializers.lecunNormal()(key, shape, "float32").astype(d ?? "float32");
        this.l1 = new nn.Linear(8, 32, { rngs, dtype, paramDtype, kernelInit });
        this.l2 = new nn.Linear(32, 1, { rngs, dtype, paramDtype, kernelInit });
      }
      call(x: Array): Array {
        return this.l2.call(nn.relu(this.l1.call(x)));
      }
    }
    const x32 = random.normal(random.key(1), [64, 8]);
    const y32 = np.sin(np.sum(x32, 1, { keepdims: true }));
    const train = async (dtype: "float16" | "float32", paramDtype: "float16" | "float32", tx: "sgd" | "adam", steps: number) => {
      const [model, opt] = nn.useRefs(true, () => {
        const m = new Mlp(dtype, paramDtype, new nn.Rngs(0));
        return [m, new nn.Optimizer(m, tx === "sgd" ? sgd(0.05) : adam(1e-2), { wrt: nn.Param })] as const;
      });
      const step = jit((model: Mlp, opt: nn.Optimizer, x: Array, y: Array) => {
        const [graphdef, params, rest] = nn.split(model, nn.Param, "...");
        const loss = (p: nn.State) => nn.merge<Mlp>(graphdef, p, rest).call(x).astype("float32").sub(y).square().mean();
        const [l, g] = valueAndGrad(loss)(nn.toArrays(params));
        opt.update(model, g);
        return l as Array;
      });
      const x = x32.astype(dtype);
      const losses: number[] = [];
      for (let i = 0; i < steps; i++) losses.push((await data(step(model, opt, x, y32) as Array))[0]!);
      return { losses, kernel: model.l1.kernel.value as Array };
    };
    for (const [paramDtype, tx] of [
      ["float16", "sgd"],
      ["float32", "adam"],
    ] as const) {
      const half = await train("float16", paramDtype, tx, 30);
      const full = await train("float32", "float32", tx, 30);
      expect(half.kernel.dtype).toBe(paramDtype);
      expect(half.losses.every(Number.isFinite)).toBe(true);
      expect(half.losses[29]!).toBeLessThan(half.losses[0]! * 0.7);
      // The same run in float32 within float16 precision (a few ulps of loss, relative), step by step at the start.
      half.losses.slice(0, 5).forEach((l, i) => expect(Math.abs(l - full.losses[i]!)).toBeLessThan(2e-2 * full.losses[i]! + 1e-3));
      console.log(`[float16] ${paramDtype} params, ${tx}: loss ${half.losses[0]!.toFixed(4)} -> ${half.losses[29]!.toFixed(4)} (float32: ${full.losses[0]!.toFixed(4)} -> ${full.losses[29]!.toFixed(4)})`);
    }
  });
});

/** The float32 next to `v` (dir -1: below, +1: above). */
function nextF32(v: number, dir: -1 | 1): number {
  const f = new Float32Array([v]);
  const u = new Uint32Array(f.buffer);
  if (v === 0) return dir * 2 ** -149;
  u[0] = u[0]! + (v > 0 === dir > 0 ? 1 : -1);
  return f[0]!;
}
