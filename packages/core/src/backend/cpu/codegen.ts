/**
 * CPU code generation: a fused Kernel (../../fusion) becomes one JS function
 * with a single loop over the output elements (two nested loops for a
 * reduction) and a local per intermediate value; no temporary arrays. Float
 * row reductions accumulate in the Wasm kernels' order (fusion/lanes.ts), so
 * the two paths agree. Functions are cached by their source text, so
 * compiling the same kernel twice (the eager path) costs one string build and
 * a map lookup.
 */
import type { DType, TypedArray } from "../../dtype.js";
import { castScalar } from "../../dtype.js";
import type { Exp, IDType } from "../../fusion/ir.js";
import { LANES, ROW_PARTIALS, reduceLanes } from "../../fusion/lanes.js";
import type { Kernel } from "../../fusion/plan.js";
import { ExpWalker } from "../../fusion/walk.js";
import { HELPERS, threefrySource } from "./scalar.js";

export type KernelFn = (ins: readonly TypedArray[], outs: readonly TypedArray[]) => void;

const fnCache = new Map<string, KernelFn>();
/** Bound on cached kernel functions (oldest evicted first). */
const MAX_CACHED = 4096;

export function kernelCacheSize(): number {
  return fnCache.size;
}

function lit(v: number, dtype: IDType): string {
  const x = dtype === "index" ? v : castScalar(v, dtype);
  if (Object.is(x, -0)) return "(-0)";
  if (x !== x) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "(-Infinity)";
  return x < 0 ? `(${x})` : String(x);
}

/** Expression text of elementwise op `name` on argument texts `a`. */
function opText(name: string, dtype: IDType, a: readonly string[], argDtypes: readonly IDType[], src?: DType): string {
  const [x, y, z] = a as [string, string, string];
  const t = argDtypes[0];
  const F = t === "float32";
  const I = t === "int32";
  const U = t === "uint32";
  const B = t === "bool";
  const wrap = (s: string): string => (I ? `((${s}) | 0)` : U ? `((${s}) >>> 0)` : s);
  switch (name) {
    // index arithmetic
    case "iadd":
      return `(${x} + ${y})`;
    case "imul":
      return `(${x} * ${y})`;
    case "idiv":
      return `((${x} / ${y}) | 0)`;
    case "imod":
      return `(${x} % ${y})`;
    case "irev":
      return `(${y} - ${x})`;
    case "icast":
      return dtype === "float32" ? `fr(${x})` : dtype === "bool" ? `(${x} !== 0 ? 1 : 0)` : x;
    // unary
    case "neg":
      return F ? `(-${x})` : wrap(`-${x}`);
    case "abs":
      return F ? `Math.abs(${x})` : I ? `(Math.abs(${x}) | 0)` : x;
    case "sign":
      return U ? `(${x} > 0 ? 1 : 0)` : `(${x} > 0 ? 1 : ${x} < 0 ? -1 : ${x})`;
    case "exp":
    case "expm1":
    case "log":
    case "log1p":
    case "sqrt":
    case "tanh":
    case "sin":
    case "cos":
      return `fr(Math.${name}(${x}))`;
    case "rsqrt":
      return `fr(1 / Math.sqrt(${x}))`;
    case "logistic":
      return `fr(1 / (1 + Math.exp(-${x})))`;
    case "erf":
      return `erf32(${x})`;
    case "erf_inv":
      return `erfInv32(${x})`;
    case "floor":
      return `Math.floor(${x})`;
    case "ceil":
      return `Math.ceil(${x})`;
    case "round":
      return `round32(${x})`;
    case "is_finite":
      return `(Number.isFinite(${x}) ? 1 : 0)`;
    case "not":
      return B ? `(${x} ^ 1)` : wrap(`~${x}`);
    case "copy":
      return x;
    // binary
    case "add":
      return F ? `fr(${x} + ${y})` : B ? `(${x} | ${y})` : wrap(`${x} + ${y}`);
    case "sub":
      return F ? `fr(${x} - ${y})` : wrap(`${x} - ${y}`);
    case "mul":
      return F ? `fr(${x} * ${y})` : B ? `(${x} & ${y})` : wrap(`Math.imul(${x}, ${y})`);
    case "div":
      if (F) return `fr(${x} / ${y})`;
      return I ? `(${y} === 0 ? -1 : (${x} / ${y}) | 0)` : `(${y} === 0 ? 4294967295 : Math.trunc(${x} / ${y}))`;
    case "rem":
      if (F) return `fr(${x} % ${y})`;
      return I ? `(${y} === 0 ? ${x} : (${x} % ${y}) | 0)` : `(${y} === 0 ? ${x} : ${x} % ${y})`;
    case "pow":
      return `pow32(${x}, ${y})`;
    case "atan2":
      return `fr(Math.atan2(${x}, ${y}))`;
    case "max":
      return `Math.max(${x}, ${y})`;
    case "min":
      return `Math.min(${x}, ${y})`;
    case "and":
      return wrap(`${x} & ${y}`);
    case "or":
      return wrap(`${x} | ${y}`);
    case "xor":
      return wrap(`${x} ^ ${y}`);
    case "shift_left":
      return `((${y} >>> 0) >= 32 ? 0 : ${wrap(`${x} << ${y}`)})`;
    case "shift_right_logical":
      return `((${y} >>> 0) >= 32 ? 0 : ${I ? `((${x} >>> ${y}) | 0)` : `(${x} >>> ${y})`})`;
    case "shift_right_arithmetic":
      return I
        ? `(${x} >> ((${y} >>> 0) >= 32 ? 31 : ${y}))`
        : `(((${x} | 0) >> ((${y} >>> 0) >= 32 ? 31 : ${y})) >>> 0)`;
    case "eq":
      return `(${x} === ${y} ? 1 : 0)`;
    case "ne":
      return `(${x} !== ${y} ? 1 : 0)`;
    case "lt":
      return `(${x} < ${y} ? 1 : 0)`;
    case "le":
      return `(${x} <= ${y} ? 1 : 0)`;
    case "gt":
      return `(${x} > ${y} ? 1 : 0)`;
    case "ge":
      return `(${x} >= ${y} ? 1 : 0)`;
    case "select":
      return `(${x} !== 0 ? ${y} : ${z})`;
    case "convert_element_type":
      return convertText(x, src!, dtype as DType);
    case "bitcast_convert_type":
      return bitcastText(x, src!, dtype as DType);
  }
  throw new Error(`cpu backend: no code generator for elementwise primitive ${name}`);
}

function convertText(x: string, from: DType, to: DType): string {
  if (from === to) return x;
  if (to === "bool") return `(${x} !== 0 ? 1 : 0)`;
  if (from === "bool") return x;
  if (to === "float32") return `fr(${x})`;
  if (from === "float32") return to === "int32" ? `f2i(${x})` : `f2u(${x})`;
  return to === "int32" ? `(${x} | 0)` : `(${x} >>> 0)`;
}

function bitcastText(x: string, from: DType, to: DType): string {
  if (from === to) return x;
  if (from === "float32") return to === "int32" ? `f32ToI32(${x})` : `f32ToU32(${x})`;
  if (to === "float32") return from === "int32" ? `i32ToF32(${x})` : `u32ToF32(${x})`;
  return to === "int32" ? `(${x} | 0)` : `(${x} >>> 0)`;
}

const dtypeOfExp = (e: Exp): IDType => (e.k === "var" ? "index" : e.dtype);

/** Statements for an expression DAG with CSE (the shared walk); `walk` returns the text of a node. */
class Emitter {
  readonly lines: string[] = [];
  private n = 0;
  private readonly walker: ExpWalker<string>;
  constructor(private readonly prefix: string) {
    const bind = (text: string): string => {
      const name = `${this.prefix}${this.n++}`;
      this.lines.push(`const ${name} = ${text};`);
      return name;
    };
    this.walker = new ExpWalker<string>({
      constant: (e) => lit(e.value, e.dtype),
      variable: (e) => e.name,
      load: (e, walk) => bind(`in${e.input}[${walk(e.index)}]`),
      op: (e, args) => bind(opText(e.op, e.dtype, args, e.args.map(dtypeOfExp), e.src)),
      multi: (e, a) => {
        if (e.op !== "threefry2x32") throw new Error(`cpu backend: no code generator for multi-output ${e.op}`);
        const base = `${this.prefix}f${this.n++}_`;
        this.lines.push(threefrySource(base, a[0]!, a[1]!, a[2]!, a[3]!));
        return [`${base}0`, `${base}1`];
      },
    });
  }
  emit(e: Exp): string {
    return this.walker.walk(e);
  }
}

export function reduceInit(op: string, dtype: DType): string {
  switch (op) {
    case "sum":
      return "0";
    case "prod":
      return "1";
    case "max":
      return dtype === "float32" ? "-Infinity" : dtype === "int32" ? "-2147483648" : "0";
    default:
      return dtype === "float32" ? "Infinity" : dtype === "int32" ? "2147483647" : dtype === "uint32" ? "4294967295" : "1";
  }
}

/** Statement folding `v` into accumulator `acc`. */
function reduceStep(op: string, dtype: DType, v: string, acc = "acc"): string {
  const F = dtype === "float32";
  switch (op) {
    case "sum":
      return F ? `${acc} += ${v};` : dtype === "int32" ? `${acc} = (${acc} + ${v}) | 0;` : dtype === "uint32" ? `${acc} = (${acc} + ${v}) >>> 0;` : `${acc} = ${acc} | ${v};`;
    case "prod":
      return F ? `${acc} *= ${v};` : dtype === "int32" ? `${acc} = Math.imul(${acc}, ${v});` : dtype === "uint32" ? `${acc} = Math.imul(${acc}, ${v}) >>> 0;` : `${acc} = ${acc} & ${v};`;
    case "max":
      return F ? `if (${v} > ${acc} || ${v} !== ${v}) ${acc} = ${v};` : `if (${v} > ${acc}) ${acc} = ${v};`;
    default:
      return F ? `if (${v} < ${acc} || ${v} !== ${v}) ${acc} = ${v};` : `if (${v} < ${acc}) ${acc} = ${v};`;
  }
}

/** JS source of a kernel's function body (the cache key). */
export function kernelSource(k: Kernel): string {
  const L: string[] = [];
  L.push("return function kernel(ins, outs) {");
  k.inputs.forEach((_, i) => L.push(`const in${i} = ins[${i}];`));
  k.outputs.forEach((_, i) => L.push(`const out${i} = outs[${i}];`));
  if (!k.reduce) {
    const em = new Emitter("t");
    const roots = k.outputs.map((o) => em.emit(o.exp));
    L.push(`for (let i = 0; i < ${k.size}; i++) {`);
    L.push(...em.lines);
    roots.forEach((r, i) => L.push(`out${i}[i] = ${r};`));
    L.push("}");
  } else {
    const r = k.reduce;
    L.push(`const red = outs[${k.outputs.length}];`);
    const eo = new Emitter("b");
    const base = eo.emit(r.base);
    const er = new Emitter("q");
    const off = er.emit(r.off);
    const em = new Emitter("t");
    const v = em.emit(r.exp);
    const roots = k.outputs.map((o) => em.emit(o.exp));
    /** One reduced element at loop variable r: its value folded into `acc`. */
    const element = (acc: string): string[] => [
      ...er.lines,
      `const j = ${base} + ${off};`,
      ...em.lines,
      reduceStep(r.op, r.dtype, v, acc),
      ...roots.map((x, i) => `out${i}[j] = ${x};`),
    ];
    L.push(`for (let o = 0; o < ${r.outSize}; o++) {`);
    L.push(...eo.lines);
    const init = reduceInit(r.op, r.dtype);
    if (r.dtype === "float32" && reduceLanes(r, LANES) === "rows") {
      // The Wasm kernel's order (fusion/lanes.ts): ROW_PARTIALS partials over
      // whole groups, combined pairwise, then the remaining elements in order.
      const P = ROW_PARTIALS;
      const whole = r.redSize - (r.redSize % P);
      L.push(`let ${Array.from({ length: P }, (_, u) => `p${u} = ${init}`).join(", ")};`);
      L.push(`for (let r0 = 0; r0 < ${whole}; r0 += ${P}) {`);
      for (let u = 0; u < P; u++) L.push(`{`, `const r = r0 + ${u};`, ...element(`p${u}`), `}`);
      L.push(`}`);
      // pairwise: p0 = p0 op p1, p2 = p2 op p3, ...; then p0 op p2, p4 op p6; then p0 op p4
      for (let w = 1; w < P; w *= 2) for (let u = 0; u < P; u += 2 * w) L.push(reduceStep(r.op, r.dtype, `p${u + w}`, `p${u}`));
      L.push(`let acc = p0;`);
      L.push(`for (let r = ${whole}; r < ${r.redSize}; r++) {`, ...element("acc"), `}`);
    } else {
      L.push(`let acc = ${init};`);
      L.push(`for (let r = 0; r < ${r.redSize}; r++) {`, ...element("acc"), `}`);
    }
    L.push(`red[o] = acc;`);
    L.push("}");
  }
  L.push("};");
  return L.join("\n");
}

const PRELUDE = `const { ${Object.keys(HELPERS).join(", ")} } = H;\n`;

export function compileKernel(k: Kernel): { fn: KernelFn; source: string } {
  const source = kernelSource(k);
  let fn = fnCache.get(source);
  if (!fn) {
    if (fnCache.size >= MAX_CACHED) fnCache.delete(fnCache.keys().next().value!);
    fn = new Function("H", PRELUDE + source)(HELPERS) as KernelFn;
    fnCache.set(source, fn);
  }
  return { fn, source };
}
