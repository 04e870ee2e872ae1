/**
 * WGSL generation for fused kernels (the scalar expression IR of
 * @refs/core's fusion planner). Storage (./layout.ts): float32 → f32, int32 →
 * i32, uint32 → u32, bool → u32 holding 0/1, float16 → f16 (packed, needs
 * `enable f16;`, which `bindings` writes when a binding is f16); the "index"
 * pseudo-dtype is u32. Integer arithmetic wraps (WGSL runtime semantics);
 * non-index constants are bound with `let` so WGSL never const-evaluates (and
 * rejects) an overflowing or dividing-by-zero expression.
 *
 * float16 values are f32 inside a kernel (loaded with f32(), stored with
 * f16()), and every float16-typed op rounds its f32 result to float16 with
 * `r16` (F16_PRELUDE), as XLA does when it computes float16 ops in float32:
 * for + - * / sqrt that is the correctly rounded float16 result (float32 has
 * more than 2*11+1 bits, so the double rounding is innocuous). Reductions and
 * matmul accumulate in f32 and round once. Kernels without float16 are
 * generated exactly as before.
 */
import { fusion, roundToFloat16, isFloat, type DType } from "@refs/core";

type Exp = fusion.Exp;
type IDType = fusion.IDType;
type Kernel = fusion.Kernel;

export const WG = 256;

export function wgslType(d: IDType): string {
  switch (d) {
    case "float32":
      return "f32";
    case "int32":
      return "i32";
    case "float16":
      return "f16";
    default:
      return "u32";
  }
}

/** The WGSL type of a value of dtype `d` inside a kernel: float16 computes in f32. */
export function valueType(d: IDType): string {
  return d === "float16" ? "f32" : wgslType(d);
}

/** A stored element of dtype `d` (in its value type) as an f32 value, for kernels that compute in f32. */
export function loadAs(d: DType, x: string): string {
  return d === "float16" ? `f32(${x})` : x;
}

/** The text stored into a binding of dtype `d` from a value of its value type. */
export function storeAs(d: DType, x: string): string {
  return d === "float16" ? `f16(${x})` : x;
}

export function f32Lit(v: number): string {
  const x = Math.fround(v);
  if (Number.isInteger(x) && Math.abs(x) < 16777216 && !Object.is(x, -0)) return `${x}.0f`;
  const b = new Uint32Array(new Float32Array([x]).buffer)[0]!;
  return `fbits(0x${b.toString(16)}u)`;
}

export function lit(v: number, d: IDType): string {
  switch (d) {
    case "float32":
      return f32Lit(v);
    case "float16":
      return f32Lit(roundToFloat16(v));
    case "int32": {
      const x = Number.isFinite(v) ? Math.trunc(v) | 0 : 0;
      return x < 0 ? `bitcast<i32>(${x >>> 0}u)` : `${x}i`;
    }
    case "bool":
      return v !== 0 ? "1u" : "0u";
    case "index":
      return `${v >>> 0}u`;
    default:
      return `${Number.isFinite(v) ? Math.trunc(v) >>> 0 : 0}u`;
  }
}

/** Helper functions included in shaders that need them. */
export const PRELUDE = `
fn fbits(b: u32) -> f32 { return bitcast<f32>(b); }
fn isnan_f(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn nan_f() -> f32 { return fbits(0x7fc00000u); }
fn max_f(x: f32, y: f32) -> f32 { if (isnan_f(x) || isnan_f(y)) { return nan_f(); } return select(y, x, x > y); }
fn min_f(x: f32, y: f32) -> f32 { if (isnan_f(x) || isnan_f(y)) { return nan_f(); } return select(y, x, x < y); }
fn f2i(x: f32) -> i32 {
  if (isnan_f(x)) { return 0i; }
  if (x >= 2147483648.0f) { return 2147483647i; }
  if (x <= -2147483648.0f) { return bitcast<i32>(0x80000000u); }
  return i32(x);
}
fn f2u(x: f32) -> u32 {
  if (!(x > 0.0f)) { return 0u; }
  if (x >= 4294967296.0f) { return 0xffffffffu; }
  return u32(x);
}
fn expm1_f(x: f32) -> f32 {
  let u = exp(x);
  if (abs(x) > 0.5f) { return u - 1.0f; }
  if (u == 1.0f) { return x; }
  return (u - 1.0f) * x / log(u);
}
fn log1p_f(x: f32) -> f32 {
  let u = 1.0f + x;
  if (abs(x) > 0.5f) { return log(u); }
  if (u == 1.0f) { return x; }
  return log(u) * x / (u - 1.0f);
}
fn tanh_f(x0: f32) -> f32 {
  if (isnan_f(x0)) { return x0; }
  let x = clamp(x0, -7.90531110763549805f, 7.90531110763549805f);
  if (abs(x) < 0.0004f) { return x; }
  let x2 = x * x;
  var p = -2.76076847742355e-16f;
  p = p * x2 + 2.00018790482477e-13f; p = p * x2 - 8.60467152213735e-11f; p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f; p = p * x2 + 6.37261928875436e-04f; p = p * x2 + 4.89352455891786e-03f;
  var q = 1.19825839466702e-06f;
  q = q * x2 + 1.18534705686654e-04f; q = q * x2 + 2.26843463243900e-03f; q = q * x2 + 4.89352518554385e-03f;
  return x * p / q;
}
fn round_f(x: f32) -> f32 {
  let t = trunc(x);
  return select(t, t + sign(x), abs(x - t) >= 0.5f);
}
fn erf_f(x0: f32) -> f32 {
  if (isnan_f(x0)) { return x0; }
  let x = clamp(x0, -4.0f, 4.0f);
  let x2 = x * x;
  var p = -2.72614225801306e-10f;
  p = p * x2 + 2.77068142495902e-08f;
  p = p * x2 - 2.10102402082508e-06f;
  p = p * x2 - 5.69250639462346e-05f;
  p = p * x2 - 7.34990630326855e-04f;
  p = p * x2 - 2.95459980854025e-03f;
  p = p * x2 - 1.60960333262415e-02f;
  var q = -1.45660718464996e-05f;
  q = q * x2 - 2.13374055278905e-04f;
  q = q * x2 - 1.68282697438203e-03f;
  q = q * x2 - 7.37332916720468e-03f;
  q = q * x2 - 1.42647390514189e-02f;
  return x * p / q;
}
fn erfinv_f(x: f32) -> f32 {
  let w0 = -log((1.0f - x) * (1.0f + x));
  var p: f32;
  if (w0 < 5.0f) {
    let w = w0 - 2.5f;
    p = 2.81022636e-8f;
    p = 3.43273939e-7f + p * w; p = -3.5233877e-6f + p * w; p = -4.39150654e-6f + p * w;
    p = 0.00021858087f + p * w; p = -0.00125372503f + p * w; p = -0.00417768164f + p * w;
    p = 0.246640727f + p * w; p = 1.50140941f + p * w;
  } else {
    let w = sqrt(w0) - 3.0f;
    p = -0.000200214257f;
    p = 0.000100950558f + p * w; p = 0.00134934322f + p * w; p = -0.00367342844f + p * w;
    p = 0.00573950773f + p * w; p = -0.0076224613f + p * w; p = 0.00943887047f + p * w;
    p = 1.00167406f + p * w; p = 2.83297682f + p * w;
  }
  if (abs(x) == 1.0f) { return x * fbits(0x7f800000u); }
  return p * x;
}
fn pow_f(x: f32, y: f32) -> f32 {
  if (x == 1.0f || y == 0.0f) { return 1.0f; }
  if (isnan_f(x) || isnan_f(y)) { return nan_f(); }
  let ay = abs(y);
  if (x == -1.0f && ay == fbits(0x7f800000u)) { return 1.0f; }
  let yint = trunc(y) == y;
  let yodd = yint && ay < 16777216.0f && (trunc(y * 0.5f) != y * 0.5f);
  if (x < 0.0f && !yint) { return nan_f(); }
  if (x == 0.0f) {
    let z = select(0.0f, fbits(0x7f800000u), y < 0.0f);
    return select(z, select(z, -z, bitcast<u32>(x) == 0x80000000u), yodd);
  }
  let r = exp2(y * log2(abs(x)));
  return select(r, -r, x < 0.0f && yodd);
}
fn rem_f(x: f32, y: f32) -> f32 {
  if (isnan_f(x) || isnan_f(y) || y == 0.0f || abs(x) == fbits(0x7f800000u)) { return nan_f(); }
  if (abs(y) == fbits(0x7f800000u)) { return x; }
  var r = x - y * trunc(x / y);
  if (abs(r) >= abs(y)) { r = select(r - abs(y), r + abs(y), r < 0.0f); }
  if (r != 0.0f && sign(r) != sign(x)) { r = r + select(-abs(y), abs(y), x > 0.0f); }
  return select(r, x * 0.0f, r == 0.0f);
}
`;

/**
 * Round an f32 to the nearest float16 value, ties to even, kept as an f32
 * (values beyond 65504 round to infinity; NaN and infinities pass through).
 * Done on the bits rather than with f32(f16(x)): WGSL leaves the rounding of
 * f16() and its overflow to the implementation (Vulkan allows round toward
 * zero), and JAX's float16 rounds to nearest even.
 */
export const F16_PRELUDE = `
fn r16(x: f32) -> f32 {
  let b = bitcast<u32>(x);
  let a = b & 0x7fffffffu;
  let s = b & 0x80000000u;
  if (a >= 0x7f800000u) { return x; }
  if (a >= 0x477ff000u) { return bitcast<f32>(s | 0x7f800000u); }
  if (a >= 0x38800000u) { return bitcast<f32>(s | ((a + 0xfffu + ((a >> 13u) & 1u)) & 0xffffe000u)); }
  return bitcast<f32>(s | bitcast<u32>(round(bitcast<f32>(a) * 16777216.0f) * bitcast<f32>(0x33800000u)));
}
`;

/** Whether an expression DAG has a float16 value anywhere (its kernel then needs F16_PRELUDE). */
export function expsUseF16(roots: readonly Exp[]): boolean {
  const seen = new Set<Exp>();
  const walk = (e: Exp): boolean => {
    if (seen.has(e)) return false;
    seen.add(e);
    if (e.k === "var") return false;
    if (e.dtype === "float16") return true;
    if (e.k === "load") return walk(e.index);
    if (e.k === "op") return e.src === "float16" || e.args.some(walk);
    return false;
  };
  return roots.some(walk);
}

/** Float16-typed ops whose f32 result is already a float16 value (no rounding needed). */
const EXACT_F16 = new Set(["neg", "abs", "sign", "copy", "select", "max", "min", "floor", "ceil", "round", "convert_element_type", "bitcast_convert_type"]);

const dtypeOf = (e: Exp): IDType => (e.k === "var" ? "index" : e.dtype);
const b2u = (c: string): string => `select(0u, 1u, ${c})`;

function opText(name: string, dtype: IDType, a: readonly string[], argDtypes: readonly IDType[], src?: DType): string {
  const [x, y, z] = a as [string, string, string];
  const t = argDtypes[0];
  const F = t === "float32" || t === "float16";
  const I = t === "int32";
  const B = t === "bool";
  const T = wgslType(t ?? "float32");
  switch (name) {
    case "iadd":
      return `(${x} + ${y})`;
    case "imul":
      return `(${x} * ${y})`;
    case "idiv":
      return `(${x} / ${y})`;
    case "imod":
      return `(${x} % ${y})`;
    case "irev":
      return `(${y} - ${x})`;
    case "icast":
      return dtype === "float32" || dtype === "float16" ? `f32(${x})` : dtype === "int32" ? `i32(${x})` : dtype === "bool" ? b2u(`${x} != 0u`) : x;
    case "neg":
      return F ? `(-${x})` : I ? `(0i - ${x})` : `(0u - ${x})`;
    case "abs":
      return F || I ? `abs(${x})` : x;
    case "sign":
      return F ? `select(select(${x}, -1.0f, ${x} < 0.0f), 1.0f, ${x} > 0.0f)` : I ? `sign(${x})` : b2u(`${x} > 0u`);
    case "exp":
    case "log":
    case "sqrt":
    case "sin":
    case "cos":
    case "floor":
    case "ceil":
      return `${name}(${x})`;
    case "expm1":
      return `expm1_f(${x})`;
    case "log1p":
      return `log1p_f(${x})`;
    case "tanh":
      return `tanh_f(${x})`;
    case "rsqrt":
      return `(1.0f / sqrt(${x}))`;
    case "logistic":
      return `(1.0f / (1.0f + exp(-${x})))`;
    case "erf":
      return `erf_f(${x})`;
    case "erf_inv":
      return `erfinv_f(${x})`;
    case "round":
      return `round_f(${x})`;
    case "is_finite":
      return b2u(`(bitcast<u32>(${x}) & 0x7f800000u) != 0x7f800000u`);
    case "not":
      return B ? `(${x} ^ 1u)` : `(~${x})`;
    case "copy":
      return x;
    case "add":
      return B ? `(${x} | ${y})` : `(${x} + ${y})`;
    case "sub":
      return `(${x} - ${y})`;
    case "mul":
      return B ? `(${x} & ${y})` : `(${x} * ${y})`;
    case "div":
      if (F) return `(${x} / ${y})`;
      return I ? `select(${x} / ${y}, -1i, ${y} == 0i)` : `select(${x} / ${y}, 0xffffffffu, ${y} == 0u)`;
    case "rem":
      if (F) return `rem_f(${x}, ${y})`;
      return I ? `select(${x} % ${y}, ${x}, ${y} == 0i)` : `select(${x} % ${y}, ${x}, ${y} == 0u)`;
    case "pow":
      return `pow_f(${x}, ${y})`;
    case "atan2":
      return `atan2(${x}, ${y})`;
    case "max":
      return F ? `max_f(${x}, ${y})` : `max(${x}, ${y})`;
    case "min":
      return F ? `min_f(${x}, ${y})` : `min(${x}, ${y})`;
    case "and":
      return `(${x} & ${y})`;
    case "or":
      return `(${x} | ${y})`;
    case "xor":
      return `(${x} ^ ${y})`;
    case "shift_left": {
      const s = I ? `bitcast<u32>(${y})` : y;
      return `select(${x} << (${s} & 31u), ${T}(0), ${s} >= 32u)`;
    }
    case "shift_right_logical": {
      const s = I ? `bitcast<u32>(${y})` : y;
      return I ? `select(bitcast<i32>(bitcast<u32>(${x}) >> (${s} & 31u)), 0i, ${s} >= 32u)` : `select(${x} >> (${s} & 31u), 0u, ${s} >= 32u)`;
    }
    case "shift_right_arithmetic": {
      const s = I ? `bitcast<u32>(${y})` : y;
      return I ? `(${x} >> min(${s}, 31u))` : `bitcast<u32>(bitcast<i32>(${x}) >> min(${s}, 31u))`;
    }
    // Float comparisons test NaN by its bits: WGSL lets compilers assume
    // finite math, and Mesa's NIR folds `x != x` to false (isnan broke on
    // lavapipe). With a NaN operand only "ne" is true, as in IEEE 754.
    case "eq":
      return F ? b2u(`!isnan_f(${x}) && !isnan_f(${y}) && ${x} == ${y}`) : b2u(`${x} == ${y}`);
    case "ne":
      return F ? b2u(`isnan_f(${x}) || isnan_f(${y}) || ${x} != ${y}`) : b2u(`${x} != ${y}`);
    case "lt":
    case "le":
    case "gt":
    case "ge": {
      const c = `${x} ${{ lt: "<", le: "<=", gt: ">", ge: ">=" }[name]} ${y}`;
      return F ? b2u(`!isnan_f(${x}) && !isnan_f(${y}) && ${c}`) : b2u(c);
    }
    case "select":
      return `select(${z}, ${y}, ${x} != 0u)`;
    case "convert_element_type":
      return convertText(x, src!, dtype as DType);
    case "bitcast_convert_type":
      return src === dtype ? x : `bitcast<${wgslType(dtype)}>(${x})`;
  }
  throw new Error(`webgpu backend: no WGSL generator for elementwise primitive ${name}`);
}

/** Conversions; float16 values are f32 here, so float16 converts like float32 and rounds (r16) where it is the target. */
function convertText(x: string, from: DType, to: DType): string {
  if (from === to) return x;
  const f = from === "float16" ? "float32" : from;
  if (to === "float16") return f === "float32" ? `r16(${x})` : f === "bool" ? `f32(${x})` : `r16(f32(${x}))`;
  // Floats test their bits: a NaN is true (nonzero), and Mesa folds `NaN != 0.0` to false.
  // (float16 values are held in f32 inside a kernel.)
  if (to === "bool" && f === "float32") return b2u(`(bitcast<u32>(${x}) & 0x7fffffffu) != 0u`);
  if (to === "bool") return b2u(`${x} != ${wgslType(f)}(0)`);
  if (f === "bool") return to === "float32" ? `f32(${x})` : to === "int32" ? `i32(${x})` : x;
  if (to === "float32") return f === "float32" ? x : `f32(${x})`;
  if (f === "float32") return to === "int32" ? `f2i(${x})` : `f2u(${x})`;
  return `bitcast<${wgslType(to)}>(${x})`;
}

function threefry(y: string, k0: string, k1: string, x0: string, x1: string): string {
  const R = [
    [13, 15, 26, 6],
    [17, 29, 16, 24],
  ];
  const L: string[] = [];
  L.push(`let ${y}a = ${k0}; let ${y}b = ${k1}; let ${y}c = ${y}a ^ ${y}b ^ 0x1BD11BDAu;`);
  L.push(`var ${y}x = ${x0} + ${y}a; var ${y}z = ${x1} + ${y}b;`);
  const ks = [`${y}a`, `${y}b`, `${y}c`];
  for (let g = 0; g < 5; g++) {
    for (const r of R[g % 2]!) L.push(`${y}x = ${y}x + ${y}z; ${y}z = ((${y}z << ${r}u) | (${y}z >> ${32 - r}u)) ^ ${y}x;`);
    L.push(`${y}x = ${y}x + ${ks[(g + 1) % 3]}; ${y}z = ${y}z + ${ks[(g + 2) % 3]} + ${g + 1}u;`);
  }
  L.push(`let ${y}0 = ${y}x; let ${y}1 = ${y}z;`);
  return L.join("\n");
}

/** Emits `let` statements for an expression DAG with CSE. */
export class Emitter {
  readonly lines: string[] = [];
  private n = 0;
  private readonly walker: fusion.ExpWalker<string>;
  /** `known`: names of subexpressions already emitted outside (hoisted), by expKey. */
  constructor(prefix: string, loadText: (input: number, index: string) => string, known?: ReadonlyMap<string, string>) {
    const bind = (text: string, dtype: IDType): string => {
      const name = `${prefix}${this.n++}`;
      this.lines.push(`let ${name}: ${valueType(dtype)} = ${text};`);
      return name;
    };
    this.walker = new fusion.ExpWalker<string>({
      // Index constants are written inline; others are bound with `let` (see the top of this file).
      constant: (e) => (e.dtype === "index" ? lit(e.value, "index") : bind(lit(e.value, e.dtype), e.dtype)),
      variable: (e) => e.name,
      load: (e, walk) => bind(loadAs(e.dtype, loadText(e.input, walk(e.index))), e.dtype),
      op: (e, args) => {
        const text = opText(e.op, e.dtype, args, e.args.map(dtypeOf), e.src);
        return bind(e.dtype === "float16" && !EXACT_F16.has(e.op) ? `r16(${text})` : text, e.dtype);
      },
      multi: (e, a) => {
        if (e.op !== "threefry2x32") throw new Error(`webgpu backend: no WGSL generator for multi-output ${e.op}`);
        const base = `${prefix}f${this.n++}_`;
        this.lines.push(threefry(base, a[0]!, a[1]!, a[2]!, a[3]!));
        return [`${base}0`, `${base}1`];
      },
    });
    for (const [key, name] of known ?? []) this.walker.seed(key, name);
  }

  emit(e: Exp): string {
    return this.walker.walk(e);
  }
}

/** Storage bindings b0, b1, ... of the given element types; first in a shader, since `enable f16;` (written when a type is f16) must lead. */
export function bindings(types: readonly string[]): string {
  const decls = types.map((t, i) => `@group(0) @binding(${i}) var<storage, read_write> b${i}: array<${t}>;`).join("\n");
  return types.some((t) => /\bf16\b/.test(t)) ? `enable f16;\n${decls}` : decls;
}

/** b1[p.dst + i] = b0[p.src + i] for i < p.n, p = b2 (u32 words); elements of type `t`. The offset copies of the guard and of float16 slices. */
export function offsetCopyWgsl(t: "u32" | "f16"): string {
  return `${bindings([t, t, "u32"])}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = gid.x + gid.y * nw.x * 256u;
  if (i >= b2[2]) { return; }
  b1[b2[1] + i] = b0[b2[0] + i];
}`;
}

/** Dispatch shape for `n` invocations at workgroup size `wg`: [x, y] workgroups. */
export function grid(n: number, wg = WG): [number, number] {
  const groups = Math.max(1, Math.ceil(n / wg));
  if (groups <= 65535) return [groups, 1];
  return [65535, Math.ceil(groups / 65535)];
}

/** Header of a one-invocation-per-element shader: flat index `name`, returning when >= n. */
export function mainHeader(n: number, wg = WG, name = "i"): string {
  const [gx] = grid(n, wg);
  return `@compute @workgroup_size(${wg})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let ${name}: u32 = gid.x + gid.y * ${gx * wg}u;
  if (${name} >= ${n}u) { return; }`;
}

/**
 * A counted loop `for (var v = start; v < end; v += step)` with `start` a WGSL
 * expression and `end`/`step` constants. Mesa's llvmpipe stops a loop nest
 * after 65535 iterations, so long loops are unrolled (the body repeated with
 * `v` = base + k*step) to stay under 32768 trips. `continue` must not be
 * used in the body; `break` leaves the whole loop.
 */
export function countedLoop(v: string, start: string, end: number, step: number, body: readonly string[]): string[] {
  const trips = Math.ceil(end / step);
  if (trips <= 32768) return [`for (var ${v}: u32 = ${start}; ${v} < ${end}u; ${v} += ${step}u) {`, ...body, "}"];
  const U = Math.ceil(trips / 32768);
  const L = [`for (var ${v}_b: u32 = ${start}; ${v}_b < ${end}u; ${v}_b += ${step * U}u) {`];
  for (let k = 0; k < U; k++) L.push(`{ let ${v}: u32 = ${v}_b + ${k * step}u; if (${v} < ${end}u) {`, ...body, "} }");
  L.push("}");
  return L;
}

export interface KernelCode {
  wgsl: string;
  /** Binding order: kernel inputs, then outputs (reduction result last). */
  nBindings: number;
  grid: [number, number];
}

function accInit(op: string, d: DType): string {
  switch (op) {
    case "sum":
      return lit(0, d);
    case "prod":
      return lit(1, d);
    case "max":
      return isFloat(d) ? "fbits(0xff800000u)" : d === "int32" ? "bitcast<i32>(0x80000000u)" : "0u";
    default:
      return isFloat(d) ? "fbits(0x7f800000u)" : d === "int32" ? "2147483647i" : d === "uint32" ? "0xffffffffu" : "1u";
  }
}

function accStep(op: string, d: DType, acc: string, v: string): string {
  const F = isFloat(d);
  const B = d === "bool";
  switch (op) {
    case "sum":
      return B ? `${acc} | ${v}` : `${acc} + ${v}`;
    case "prod":
      return B ? `${acc} & ${v}` : `${acc} * ${v}`;
    case "max":
      return F ? `max_f(${acc}, ${v})` : `max(${acc}, ${v})`;
    default:
      return F ? `min_f(${acc}, ${v})` : `min(${acc}, ${v})`;
  }
}

/** Whether a fused kernel has a float16 value anywhere (an input, an output, a reduction or an intermediate). */
export function kernelUsesF16(k: Kernel): boolean {
  const exps = [...k.outputs.map((o) => o.exp), ...(k.reduce ? [k.reduce.exp] : [])];
  return k.inputs.some((v) => v.aval.dtype === "float16") || k.reduce?.dtype === "float16" || expsUseF16(exps);
}

export function kernelWgsl(k: Kernel): KernelCode {
  const nIn = k.inputs.length;
  const types = [...k.inputs.map((v) => wgslType(v.aval.dtype)), ...k.outputs.map((o) => wgslType(o.v.aval.dtype))];
  const loadText = (input: number, idx: string): string => `b${input}[${idx}]`;
  const prelude = kernelUsesF16(k) ? PRELUDE + F16_PRELUDE : PRELUDE;
  const L: string[] = [];
  if (!k.reduce) {
    L.push(bindings(types), prelude, mainHeader(k.size));
    const em = new Emitter("t", loadText);
    const roots = k.outputs.map((o) => em.emit(o.exp));
    L.push(...em.lines);
    roots.forEach((r, j) => L.push(`b${nIn + j}[i] = ${storeAs(k.outputs[j]!.v.aval.dtype, r)};`));
    L.push("}");
    return { wgsl: L.join("\n"), nBindings: types.length, grid: grid(k.size) };
  }
  const r = k.reduce;
  types.push(wgslType(r.dtype));
  const redB = types.length - 1;
  // The accumulator's type: float16 accumulates in f32 and rounds once, at the store.
  const T = valueType(r.dtype);
  const result = (acc: string): string => (r.dtype === "float16" ? `f16(r16(${acc}))` : acc);
  L.push(bindings(types), prelude);
  const eo = new Emitter("ob", loadText);
  const base = eo.emit(r.base);
  const er = new Emitter("q", loadText);
  const off = er.emit(r.off);
  const em = new Emitter("t", loadText);
  const v = em.emit(r.exp);
  const roots = k.outputs.map((o) => em.emit(o.exp));
  const body = (accName: string): string[] => [
    ...er.lines,
    `let j: u32 = ${base} + ${off};`,
    ...em.lines,
    `${accName} = ${accStep(r.op, r.dtype, accName, v)};`,
    ...roots.map((x, q) => `b${nIn + q}[j] = ${storeAs(k.outputs[q]!.v.aval.dtype, x)};`),
  ];
  if (r.redSize <= 256 || (r.outSize >= 4096 && r.redSize <= 4096)) {
    // One invocation per output. Up to 256 reduced elements this costs a GPU
    // little, and on llvmpipe it is far cheaper than a workgroup tree: there
    // every memory access, workgroup memory included, is a loop over lanes,
    // and a barrier switches between the workgroup's lane groups (BatchNorm's
    // and bias gradients' column sums of a 128x512 batch: ~3-4 ms -> ~0.5 ms).
    L.push(mainHeader(r.outSize, WG, "o"));
    L.push(...eo.lines);
    L.push(`var acc: ${T} = ${accInit(r.op, r.dtype)};`);
    L.push(...countedLoop("r", "0u", r.redSize, 1, body("acc")));
    L.push(`b${redB}[o] = ${result("acc")};`, "}");
    return { wgsl: L.join("\n"), nBindings: types.length, grid: grid(r.outSize) };
  }
  // One workgroup per output: strided partial results, then a tree in workgroup memory.
  const [gx, gy] = grid(r.outSize, 1);
  L.push(`var<workgroup> part: array<${T}, ${WG}>;`);
  L.push(`@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o: u32 = wid.x + wid.y * ${gx}u;`);
  L.push(...eo.lines);
  L.push(`var acc: ${T} = ${accInit(r.op, r.dtype)};`);
  L.push(`if (o < ${r.outSize}u) {`, ...countedLoop("r", "lid", r.redSize, WG, body("acc")), "}");
  L.push(`part[lid] = acc;`, "workgroupBarrier();");
  for (let s = WG / 2; s >= 1; s /= 2) {
    L.push(`if (lid < ${s}u) { part[lid] = ${accStep(r.op, r.dtype, "part[lid]", `part[lid + ${s}u]`)}; }`, "workgroupBarrier();");
  }
  L.push(`if (lid == 0u && o < ${r.outSize}u) { b${redB}[o] = ${result("part[0]")}; }`, "}");
  return { wgsl: L.join("\n"), nBindings: types.length, grid: [gx, gy] };
}
