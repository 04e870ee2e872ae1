/**
 * Scalar helpers for the CPU backend: float32 special functions, conversions
 * and Threefry-2x32. Values travel as JS numbers; float32 results are
 * rounded with Math.fround, int32 with |0, uint32 with >>>0, bool is 0/1.
 */
const fr = Math.fround;

/** erf of a float32, computed in float64 and rounded (accurate to float32). */
export function erf32(x: number): number {
  if (x !== x) return NaN;
  const ax = Math.abs(x);
  if (ax === 0) return x; // keeps -0
  if (ax >= 4) return x > 0 ? 1 : -1; // erfc(4) ~ 1.5e-8 < half an ulp of 1 in float32
  // erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n 2^n x^(2n+1) / (1*3*...*(2n+1)):
  // all terms positive, so no cancellation.
  const x2 = ax * ax;
  let term = ax;
  let sum = ax;
  for (let n = 0; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 3);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  const r = (2 / Math.sqrt(Math.PI)) * Math.exp(-x2) * sum;
  return fr(x < 0 ? -r : r);
}

const ERFINV_LT5 = [
  2.81022636e-8, 3.43273939e-7, -3.5233877e-6, -4.39150654e-6, 0.00021858087, -0.00125372503, -0.00417768164,
  0.246640727, 1.50140941,
].map(fr);
const ERFINV_GE5 = [
  -0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047,
  1.00167406, 2.83297682,
].map(fr);

/**
 * Inverse erf on float32: XLA's ErfInv32 (Giles, "Approximating the erfinv
 * function"), each step rounded to float32. erf_inv(+-1) = +-inf.
 */
export function erfInv32(x: number): number {
  const w0 = fr(-fr(Math.log1p(-fr(x * x))));
  const lt = w0 < 5;
  const c = lt ? ERFINV_LT5 : ERFINV_GE5;
  const w = lt ? fr(w0 - 2.5) : fr(fr(Math.sqrt(w0)) - 3);
  let p = c[0]!;
  for (let i = 1; i < 9; i++) p = fr(c[i]! + fr(p * w));
  if (Math.abs(x) === 1) return x * Infinity;
  return fr(p * x);
}

/** C powf semantics (pow(1, y) = 1, pow(-1, +-inf) = 1), rounded to float32. */
export function pow32(a: number, b: number): number {
  if (a === 1 || b === 0) return 1;
  if (a === -1 && (b === Infinity || b === -Infinity)) return 1;
  return fr(Math.pow(a, b));
}

/** Round half away from zero. */
export function round32(a: number): number {
  return Math.trunc(a + Math.sign(a) * 0.5);
}

/** float → int32: truncate toward zero, NaN → 0, saturate (as XLA). */
export function f2i(a: number): number {
  if (a !== a) return 0;
  if (a >= 2147483647) return 2147483647;
  if (a <= -2147483648) return -2147483648;
  return Math.trunc(a) | 0;
}

/** float → uint32: truncate toward zero, NaN → 0, saturate to [0, 2^32-1]. */
export function f2u(a: number): number {
  if (a !== a || a <= 0) return 0;
  if (a >= 4294967295) return 4294967295;
  return Math.trunc(a) >>> 0;
}

const bcF = new Float32Array(1);
const bcI = new Int32Array(bcF.buffer);
const bcU = new Uint32Array(bcF.buffer);
export const f32ToI32 = (a: number): number => ((bcF[0] = a), bcI[0]!);
export const f32ToU32 = (a: number): number => ((bcF[0] = a), bcU[0]!);
export const i32ToF32 = (a: number): number => ((bcI[0] = a), bcF[0]!);
export const u32ToF32 = (a: number): number => ((bcU[0] = a), bcF[0]!);

/**
 * JS statements computing Threefry-2x32 (20 rounds) of uint32 expressions
 * k0, k1, x0, x1 into `${y}0`, `${y}1` (uint32 numbers). Locals use prefix `y`.
 */
export function threefrySource(y: string, k0: string, k1: string, x0: string, x1: string): string {
  const R = [
    [13, 15, 26, 6],
    [17, 29, 16, 24],
  ];
  const L: string[] = [];
  L.push(`let ${y}a = ${k0} | 0, ${y}b = ${k1} | 0, ${y}c = (${y}a ^ ${y}b ^ 0x1BD11BDA) | 0;`);
  L.push(`let ${y}x = (${x0} + ${y}a) | 0, ${y}z = (${x1} + ${y}b) | 0;`);
  const ks = [`${y}a`, `${y}b`, `${y}c`];
  for (let g = 0; g < 5; g++) {
    const rot = R[g % 2]!;
    for (const r of rot) {
      L.push(`${y}x = (${y}x + ${y}z) | 0; ${y}z = ((${y}z << ${r}) | (${y}z >>> ${32 - r})) ^ ${y}x;`);
    }
    L.push(`${y}x = (${y}x + ${ks[(g + 1) % 3]}) | 0; ${y}z = (${y}z + ${ks[(g + 2) % 3]} + ${g + 1}) | 0;`);
  }
  L.push(`const ${y}0 = ${y}x >>> 0, ${y}1 = ${y}z >>> 0;`);
  return L.join("\n");
}

let threefryFn: ((k0: number, k1: number, x0: number, x1: number) => [number, number]) | undefined;
/** Threefry-2x32 of one block, for tests and host code. */
export function threefry2x32Scalar(k0: number, k1: number, x0: number, x1: number): [number, number] {
  threefryFn ??= new Function("k0", "k1", "x0", "x1", `${threefrySource("t", "k0", "k1", "x0", "x1")}\nreturn [t0, t1];`) as never;
  return threefryFn!(k0, k1, x0, x1);
}

export const HELPERS = { fr, erf32, erfInv32, pow32, round32, f2i, f2u, f32ToI32, f32ToU32, i32ToF32, u32ToF32 };
