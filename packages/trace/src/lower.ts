/**
 * Lowering text: a pure program printed as a StableHLO module, in the style of
 * `jax.jit(f).lower(...).as_text()`.
 *
 * Every primitive of core's primitive set lowers to real StableHLO (and CHLO
 * for erf/erf_inv) ops. Simple ops use the pretty forms JAX prints
 * (`stablehlo.add %a, %b : tensor<3xi32>`); ops with regions or structured
 * attributes use MLIR's generic form (`"stablehlo.sort"(...) ({...}) {...} :
 * (...) -> ...`), which every MLIR parser accepts. Control flow lowers as JAX
 * does: scan becomes a `stablehlo.while` over an index, cond a
 * `stablehlo.case`, jit_call a `func.call` of a private function, and
 * threefry2x32 a private function of 20 unrolled rounds.
 *
 * Value names follow MLIR's printer: `%0, %1, ...` for results, `%arg0, ...`
 * for block arguments, `%c`/`%cst` (then `%c_0`, `%cst_1`, ...) for integer
 * and float constants, numbering restarting inside each region.
 */
import { Literal, ShapedArray, type Atom, type DType, type Program, type Var } from "@refs/core";

export interface LowerOptions {
  /** Module name (`jit_<fn>`); defaults to `jit_<program name>`. */
  name?: string;
  /**
   * `jax.result_info` of each output. Defaults to JAX's convention for a flat
   * result list: `"result"` for a single regular output, `"result[i]"` for
   * several, and `""` for the aliased (ref) outputs.
   */
  resultInfo?: readonly string[];
}

export function lowerToStableHlo(p: Program, opts: LowerOptions = {}): string {
  const mod = new ModuleEmitter();
  const aliased = new Map<number, number>();
  for (const a of p.aliases) aliased.set(a.input, a.output);
  const aliasOutputs = new Set(p.aliases.map((a) => a.output));
  const nRegular = p.outputs.filter((_, i) => !aliasOutputs.has(i)).length;
  let r = 0;
  const info =
    opts.resultInfo ??
    p.outputs.map((_, i) => (aliasOutputs.has(i) ? "" : nRegular === 1 ? (r++, "result") : `result[${r++}]`));
  const mainText = mod.func("main", p, {
    visibility: "public",
    argAttrs: p.inputs.map((_, i) => (aliased.has(i) ? `tf.aliasing_output = ${aliased.get(i)} : i32` : undefined)),
    resultAttrs: p.outputs.map((_, i) => `jax.result_info = ${JSON.stringify(info[i] ?? "")}`),
  });
  const name = opts.name ?? `jit_${p.name ?? "main"}`;
  const body = [mainText, ...mod.privateFuncs].join("\n");
  return `module @${symbol(name)} attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {\n${body}\n}\n`;
}

// ---- types and attributes ------------------------------------------------------------

export function elementType(d: DType): string {
  switch (d) {
    case "float32":
      return "f32";
    case "float16":
      return "f16";
    case "int32":
      return "i32";
    case "uint32":
      return "ui32";
    case "bool":
      return "i1";
  }
}

export function tensorType(a: ShapedArray): string {
  return `tensor<${a.shape.map((d) => `${d}x`).join("")}${elementType(a.dtype)}>`;
}

const isFloatD = (d: DType) => d === "float32" || d === "float16";

function compareType(d: DType): string {
  return isFloatD(d) ? "FLOAT" : d === "int32" ? "SIGNED" : "UNSIGNED";
}

const i64s = (xs: readonly number[]) => (xs.length ? `array<i64: ${xs.join(", ")}>` : "array<i64>");
const dims = (xs: readonly number[]) => `[${xs.join(", ")}]`;

/** A symbol name, quoted when it is not a bare identifier. */
function symbol(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_$.]/g, "_");
  return /^[A-Za-z_]/.test(s) ? s : `_${s}`;
}

/** A float as MLIR prints it: `1.000000e+00` when that round-trips, else the bit pattern. */
function floatText(v: number, d: DType): string {
  if (Number.isFinite(v)) {
    const [m, e] = v.toExponential(6).split("e") as [string, string];
    const exp = Number(e);
    const s = `${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
    if (d === "float16" ? f16Round(Number(s)) === f16Round(v) : Math.fround(Number(s)) === Math.fround(v)) return s;
  }
  if (d === "float16") return `0x${f16Bits(v).toString(16).toUpperCase().padStart(4, "0")}`;
  const b = new DataView(new ArrayBuffer(4));
  b.setFloat32(0, v);
  return `0x${b.getUint32(0).toString(16).toUpperCase().padStart(8, "0")}`;
}

function f16Bits(v: number): number {
  if (Number.isNaN(v)) return 0x7e00;
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a === Infinity || a >= 65520) return sign | 0x7c00;
  if (a < 2 ** -24 / 2) return sign;
  let e = Math.floor(Math.log2(a));
  if (e < -14) return sign | Math.round(a / 2 ** -24);
  let m = Math.round((a / 2 ** e - 1) * 1024);
  if (m === 1024) {
    m = 0;
    e++;
  }
  return sign | ((e + 15) << 10) | m;
}

function f16Round(v: number): number {
  const b = f16Bits(v);
  const e = (b >> 10) & 31, m = b & 1023, s = b & 0x8000 ? -1 : 1;
  if (e === 31) return m ? NaN : s * Infinity;
  return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
}

function scalarText(v: number, d: DType): string {
  if (d === "bool") return v ? "true" : "false";
  if (isFloatD(d)) return floatText(v, d);
  if (d === "uint32") return String(v >>> 0);
  return String(v | 0);
}

// ---- emitters ---------------------------------------------------------------------------

/** An SSA value being emitted: its name and type. */
interface V {
  readonly r: string;
  readonly t: ShapedArray;
}

class ModuleEmitter {
  readonly privateFuncs: string[] = [];
  private readonly symbols = new Set<string>(["main"]);
  private readonly called = new Map<Program, string>();
  private readonly threefry = new Map<string, string>();

  /** A fresh function symbol based on `base`, as JAX uniquifies (`f`, `f_0`, ...). */
  uniqueSymbol(base: string): string {
    const b = symbol(base);
    let s = b;
    for (let k = 0; this.symbols.has(s); k++) s = `${b}_${k}`;
    this.symbols.add(s);
    return s;
  }

  /** The private function for a called program (one per program object). */
  callee(p: Program, name: string): string {
    let s = this.called.get(p);
    if (s === undefined) {
      s = this.uniqueSymbol(name || p.name || "fn");
      this.called.set(p, s);
      this.privateFuncs.push(this.func(s, p, { visibility: "private" }));
    }
    return s;
  }

  /** The private threefry2x32 function for one operand type. */
  threefryFn(t: ShapedArray): string {
    const key = tensorType(t);
    let s = this.threefry.get(key);
    if (s === undefined) {
      s = this.uniqueSymbol("threefry2x32");
      this.threefry.set(key, s);
      this.privateFuncs.push(threefryFunc(this, s, t));
    }
    return s;
  }

  func(
    sym: string,
    p: Program,
    o: { visibility: "public" | "private"; argAttrs?: readonly (string | undefined)[]; resultAttrs?: readonly string[] },
  ): string {
    const f = new FnEmitter(this, 2);
    const args = p.inputs.map((v) => f.arg(v.aval));
    const outs = f.program(p, args);
    f.ret(outs, "return");
    return f.funcText(sym, o.visibility, args, p.outputs.map((a) => a.aval), o.argAttrs, o.resultAttrs);
  }
}

interface NameState {
  nextId: number;
  nextArg: number;
  conflict: number;
  used: Set<string>;
}

class FnEmitter {
  readonly lines: string[] = [];
  private depth: number;
  private st: NameState = { nextId: 0, nextArg: 0, conflict: 0, used: new Set() };
  private readonly env = new Map<Var, V>();

  constructor(
    readonly mod: ModuleEmitter,
    private readonly baseDepth: number,
  ) {
    this.depth = baseDepth;
  }

  // ---- names and lines ----
  arg(t: ShapedArray): V {
    return { r: `%arg${this.st.nextArg++}`, t };
  }
  private named(hint: string): string {
    let n = hint;
    if (this.st.used.has(n)) {
      do n = `${hint}_${this.st.conflict++}`;
      while (this.st.used.has(n));
    }
    this.st.used.add(n);
    return `%${n}`;
  }
  emit(line: string): void {
    this.lines.push(`${"  ".repeat(this.depth)}${line}`);
  }
  /** Emit `text` as an op with results of types `ts`; returns the results. */
  op(ts: readonly ShapedArray[], text: string, hint?: string): V[] {
    const { def, vals } = this.results(ts, hint);
    this.emit(def ? `${def} = ${text}` : text);
    return vals;
  }
  op1(t: ShapedArray, text: string, hint?: string): V {
    return this.op([t], text, hint)[0]!;
  }
  private results(ts: readonly ShapedArray[], hint?: string): { def: string; vals: V[] } {
    if (ts.length === 0) return { def: "", vals: [] };
    const base = hint !== undefined && ts.length === 1 ? this.named(hint) : `%${this.st.nextId++}`;
    if (ts.length === 1) return { def: base, vals: [{ r: base, t: ts[0]! }] };
    return { def: `${base}:${ts.length}`, vals: ts.map((t, i) => ({ r: `${base}#${i}`, t })) };
  }

  /**
   * An op in generic form with regions: `head ({ region }, { region }) tail`.
   * Each region gets block arguments of `argTypes` and returns what `body` gives.
   */
  regionOp(
    ts: readonly ShapedArray[],
    head: string,
    regions: readonly { argTypes: readonly ShapedArray[]; body: (args: V[]) => V[] }[],
    tail: string,
  ): V[] {
    const { def, vals } = this.results(ts);
    const prefix = def ? `${def} = ` : "";
    regions.forEach((reg, k) => {
      const saved = { ...this.st, used: new Set(this.st.used) };
      if (k === 0) this.emit(`${prefix}${head} ({`);
      else this.emit("}, {");
      const args = reg.argTypes.map((t) => this.arg(t));
      if (args.length) this.emit(`^bb0(${args.map((a) => `${a.r}: ${tensorType(a.t)}`).join(", ")}):`);
      this.depth++;
      const outs = reg.body(args);
      this.ret(outs, "stablehlo.return");
      this.depth--;
      this.st = saved;
    });
    this.emit(`})${tail}`);
    return vals;
  }

  ret(outs: readonly V[], op: string): void {
    if (outs.length === 0) this.emit(op === "return" ? "return" : `"${op}"() : () -> ()`);
    else this.emit(`${op} ${outs.map((o) => o.r).join(", ")} : ${outs.map((o) => tensorType(o.t)).join(", ")}`);
  }

  funcText(
    sym: string,
    visibility: string,
    args: readonly V[],
    outAvals: readonly ShapedArray[],
    argAttrs?: readonly (string | undefined)[],
    resultAttrs?: readonly string[],
  ): string {
    const a = args.map((x, i) => `${x.r}: ${tensorType(x.t)}${argAttrs?.[i] ? ` {${argAttrs[i]}}` : ""}`).join(", ");
    const rs = outAvals.map((t, i) => `${tensorType(t)}${resultAttrs?.[i] ? ` {${resultAttrs[i]}}` : ""}`);
    const res = rs.length === 0 ? "" : rs.length === 1 && !resultAttrs?.[0] ? ` -> ${rs[0]}` : ` -> (${rs.join(", ")})`;
    const pad = "  ".repeat(this.baseDepth - 1);
    return `${pad}func.func ${visibility} @${sym}(${a})${res} {\n${this.lines.join("\n")}\n${pad}}`;
  }

  // ---- values ----
  constant(v: number, t: ShapedArray): V {
    return this.op1(t, `stablehlo.constant dense<${scalarText(v, t.dtype)}> : ${tensorType(t)}`, isFloatD(t.dtype) ? "cst" : "c");
  }
  scalarConst(v: number, d: DType): V {
    return this.constant(v, new ShapedArray([], d));
  }
  /** A constant of `t`'s shape and dtype (splat). */
  full(v: number, t: ShapedArray): V {
    return this.constant(v, new ShapedArray(t.shape, t.dtype));
  }
  read(a: Atom): V {
    if (a instanceof Literal) return this.constant(a.value, new ShapedArray([], a.aval.dtype));
    const v = this.env.get(a);
    if (!v) throw new Error(`lowerToStableHlo: variable of type ${a.aval.str()} used before it is defined`);
    return v;
  }

  // ---- op helpers ----
  unary(name: string, x: V, out: ShapedArray = x.t): V {
    const ty = sameType(x.t, out) ? tensorType(out) : `(${tensorType(x.t)}) -> ${tensorType(out)}`;
    return this.op1(out, `stablehlo.${name} ${x.r} : ${ty}`);
  }
  binary(name: string, a: V, b: V): V {
    return this.op1(a.t, `stablehlo.${name} ${a.r}, ${b.r} : ${tensorType(a.t)}`);
  }
  compare(dir: string, a: V, b: V, type = compareType(a.t.dtype)): V {
    const out = new ShapedArray(a.t.shape, "bool");
    return this.op1(out, `stablehlo.compare  ${dir}, ${a.r}, ${b.r},  ${type} : (${tensorType(a.t)}, ${tensorType(b.t)}) -> ${tensorType(out)}`);
  }
  select(p: V, t: V, f: V): V {
    return this.op1(t.t, `stablehlo.select ${p.r}, ${t.r}, ${f.r} : ${tensorType(p.t)}, ${tensorType(t.t)}`);
  }
  convert(x: V, d: DType): V {
    return this.unary("convert", x, new ShapedArray(x.t.shape, d));
  }
  reshape(x: V, shape: readonly number[]): V {
    return this.unary("reshape", x, new ShapedArray(shape, x.t.dtype));
  }
  broadcast(x: V, shape: readonly number[], bdims: readonly number[]): V {
    const out = new ShapedArray(shape, x.t.dtype);
    return this.op1(out, `stablehlo.broadcast_in_dim ${x.r}, dims = ${dims(bdims)} : (${tensorType(x.t)}) -> ${tensorType(out)}`);
  }
  generic(ts: readonly ShapedArray[], name: string, ins: readonly V[], attrs: string): V[] {
    return this.op(ts, `"${name}"(${ins.map((x) => x.r).join(", ")})${attrs ? ` {${attrs}}` : ""} : ${fnType(ins.map((x) => x.t), ts)}`);
  }
  dynamicSlice(x: V, starts: readonly V[], sizes: readonly number[]): V {
    return this.generic([new ShapedArray(sizes, x.t.dtype)], "stablehlo.dynamic_slice", [x, ...starts], `slice_sizes = ${i64s(sizes)}`)[0]!;
  }
  dynamicUpdateSlice(x: V, u: V, starts: readonly V[]): V {
    return this.generic([x.t], "stablehlo.dynamic_update_slice", [x, u, ...starts], "")[0]!;
  }
  /** A reduction with a single-op body, in JAX's compact form. */
  reduce(x: V, init: V, op: string, axes: readonly number[], out: ShapedArray): V {
    return this.op1(
      out,
      `stablehlo.reduce(${x.r} init: ${init.r}) applies stablehlo.${op} across dimensions = ${dims(axes)} : (${tensorType(x.t)}, ${tensorType(init.t)}) -> ${tensorType(out)}`,
    );
  }

  // ---- programs ----
  /** Emit the equations of `p` with its inputs bound to `ins`; returns its outputs. */
  program(p: Program, ins: readonly V[]): V[] {
    p.inputs.forEach((v, i) => this.env.set(v, ins[i]!));
    for (const e of p.eqns) {
      const args = e.inputs.map((a) => this.read(a));
      const outs = lowerEqn(this, e.prim.name, args, e.params as Record<string, unknown>, e.outputs.map((o) => o.aval));
      if (outs.length !== e.outputs.length)
        throw new Error(`internal error: lowering ${e.prim.name} gave ${outs.length} results, expected ${e.outputs.length}`);
      e.outputs.forEach((o, i) => this.env.set(o, outs[i]!));
    }
    return p.outputs.map((a) => this.read(a));
  }
}

function sameType(a: ShapedArray, b: ShapedArray): boolean {
  return a.dtype === b.dtype && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
}

function fnType(ins: readonly ShapedArray[], outs: readonly ShapedArray[]): string {
  const o = outs.length === 1 ? tensorType(outs[0]!) : `(${outs.map(tensorType).join(", ")})`;
  return `(${ins.map(tensorType).join(", ")}) -> ${o}`;
}

// ---- primitives ---------------------------------------------------------------------------

const UNARY: Record<string, string> = {
  neg: "negate",
  abs: "abs",
  sign: "sign",
  exp: "exponential",
  expm1: "exponential_minus_one",
  log: "log",
  log1p: "log_plus_one",
  sqrt: "sqrt",
  rsqrt: "rsqrt",
  tanh: "tanh",
  logistic: "logistic",
  sin: "sine",
  cos: "cosine",
  floor: "floor",
  ceil: "ceil",
  round: "round_nearest_afz",
  not: "not",
};

const BINARY: Record<string, string> = {
  add: "add",
  sub: "subtract",
  mul: "multiply",
  div: "divide",
  rem: "remainder",
  pow: "power",
  max: "maximum",
  min: "minimum",
  atan2: "atan2",
  and: "and",
  or: "or",
  xor: "xor",
  shift_left: "shift_left",
  shift_right_logical: "shift_right_logical",
  shift_right_arithmetic: "shift_right_arithmetic",
};

const COMPARE: Record<string, string> = { eq: "EQ", ne: "NE", lt: "LT", le: "LE", gt: "GT", ge: "GE" };

type P = Record<string, unknown>;
const nums = (p: P, k: string) => (p[k] as readonly number[] | undefined) ?? [];

function lowerEqn(f: FnEmitter, name: string, x: V[], p: P, outAvals: readonly ShapedArray[]): V[] {
  const out0 = outAvals[0]!;
  const u = UNARY[name];
  if (u) return [f.unary(u, x[0]!)];
  const b = BINARY[name];
  if (b) {
    // Booleans: add/mul/max/min are or/and (StableHLO's i1 arithmetic wraps).
    const boolOp = x[0]!.t.dtype === "bool" ? { add: "or", mul: "and", max: "or", min: "and" }[name] : undefined;
    return [f.binary(boolOp ?? b, x[0]!, x[1]!)];
  }
  const c = COMPARE[name];
  if (c) return [f.compare(c, x[0]!, x[1]!)];
  switch (name) {
    case "copy":
      return [x[0]!];
    case "erf":
    case "erf_inv":
      return f.generic([out0], `chlo.${name}`, x, "");
    case "is_finite":
      return [f.unary("is_finite", x[0]!, out0)];
    case "select":
      return [f.select(x[0]!, x[1]!, x[2]!)];
    case "convert_element_type": {
      const d = p["newDtype"] as DType;
      if (d === x[0]!.t.dtype) return [x[0]!];
      // Nonzero → true, as numpy's astype(bool).
      if (d === "bool") return [f.compare("NE", x[0]!, f.full(0, x[0]!.t))];
      return [f.convert(x[0]!, d)];
    }
    case "bitcast_convert_type":
      return [f.unary("bitcast_convert", x[0]!, out0)];
    case "threefry2x32": {
      const t = x[0]!.t;
      const sym = f.mod.threefryFn(t);
      const ty = tensorType(t);
      return f.op([t, t], `func.call @${sym}(${x.map((v) => v.r).join(", ")}) : (${[ty, ty, ty, ty].join(", ")}) -> (${ty}, ${ty})`);
    }
    case "iota":
      return [f.op1(out0, `stablehlo.iota dim = ${p["dimension"] as number} : ${tensorType(out0)}`)];
    case "broadcast_in_dim":
      return [f.broadcast(x[0]!, out0.shape, nums(p, "broadcastDimensions"))];
    case "reshape":
      return [f.reshape(x[0]!, out0.shape)];
    case "transpose":
      return [f.op1(out0, `stablehlo.transpose ${x[0]!.r}, dims = ${dims(nums(p, "permutation"))} : (${tensorType(x[0]!.t)}) -> ${tensorType(out0)}`)];
    case "slice":
      return f.generic(
        [out0],
        "stablehlo.slice",
        x,
        `limit_indices = ${i64s(nums(p, "limitIndices"))}, start_indices = ${i64s(nums(p, "startIndices"))}, strides = ${i64s(nums(p, "strides"))}`,
      );
    case "pad":
      return f.generic(
        [out0],
        "stablehlo.pad",
        x,
        `edge_padding_high = ${i64s(nums(p, "hi"))}, edge_padding_low = ${i64s(nums(p, "lo"))}, interior_padding = ${i64s(nums(p, "interior"))}`,
      );
    case "concatenate":
      return [
        f.op1(
          out0,
          `stablehlo.concatenate ${x.map((v) => v.r).join(", ")}, dim = ${p["dimension"] as number} : (${x.map((v) => tensorType(v.t)).join(", ")}) -> ${tensorType(out0)}`,
        ),
      ];
    case "rev":
      return f.generic([out0], "stablehlo.reverse", x, `dimensions = ${i64s(nums(p, "dimensions"))}`);
    case "reduce_sum":
    case "reduce_prod":
    case "reduce_max":
    case "reduce_min": {
      const d = x[0]!.t.dtype;
      const kind = name.slice(7) as "sum" | "prod" | "max" | "min";
      const op = d === "bool" ? { sum: "or", prod: "and", max: "or", min: "and" }[kind] : { sum: "add", prod: "multiply", max: "maximum", min: "minimum" }[kind];
      const init = f.scalarConst(identity(kind, d), d);
      return [f.reduce(x[0]!, init, op, nums(p, "axes"), out0)];
    }
    case "argmax":
    case "argmin":
      return [lowerArgReduce(f, name === "argmax", x[0]!, p["axis"] as number, out0)];
    case "cumsum":
      return [lowerCumsum(f, x[0]!, p["axis"] as number, p["reverse"] === true)];
    case "dot_general":
      return [lowerDot(f, x[0]!, x[1]!, p, out0)];
    case "gather":
      return [lowerGather(f, x[0]!, x[1]!, p["axis"] as number, out0)];
    case "scatter":
    case "scatter_add":
      return [lowerScatter(f, name === "scatter_add", x[0]!, x[1]!, x[2]!, p["axis"] as number)];
    case "dynamic_slice":
      return [f.dynamicSlice(x[0]!, x.slice(1), nums(p, "sliceSizes"))];
    case "dynamic_update_slice":
      return [f.dynamicUpdateSlice(x[0]!, x[1]!, x.slice(2))];
    case "sort":
      return lowerSort(f, x, p["dimension"] as number, (p["numKeys"] as number | undefined) ?? 1);
    case "jit_call": {
      const prog = p["program"] as Program;
      const sym = f.mod.callee(prog, (p["name"] as string | undefined) ?? prog.name ?? "fn");
      const ts = prog.outputs.map((o) => o.aval);
      const res = ts.length === 1 ? tensorType(ts[0]!) : `(${ts.map(tensorType).join(", ")})`;
      return f.op(ts, `func.call @${sym}(${x.map((v) => v.r).join(", ")}) : (${x.map((v) => tensorType(v.t)).join(", ")}) -> ${res}`);
    }
    case "scan":
      return lowerScan(f, x, p, outAvals);
    case "while":
      return lowerWhile(f, x, p, outAvals);
    case "cond":
      return lowerCond(f, x, p, outAvals);
    case "ref_new":
    case "ref_get":
    case "ref_swap":
    case "ref_addupdate":
    case "ref_freeze":
      throw new Error(`lowerToStableHlo: ${name} is a ref effect; discharge the program first (dischargeJaxpr)`);
    default: {
      // A primitive this lowering does not know (defined by another package): an opaque call.
      const res = outAvals.length === 1 ? tensorType(out0) : `(${outAvals.map(tensorType).join(", ")})`;
      return f.op(
        outAvals,
        `"stablehlo.custom_call"(${x.map((v) => v.r).join(", ")}) {call_target_name = ${JSON.stringify(name)}} : (${x.map((v) => tensorType(v.t)).join(", ")}) -> ${res}`,
      );
    }
  }
}

/** The identity of a reduction for a dtype (max/min use ±inf or the integer extremes). */
function identity(kind: "sum" | "prod" | "max" | "min", d: DType): number {
  if (kind === "sum") return 0;
  if (kind === "prod") return 1;
  if (d === "bool") return kind === "max" ? 0 : 1;
  if (isFloatD(d)) return kind === "max" ? -Infinity : Infinity;
  if (d === "uint32") return kind === "max" ? 0 : 0xffffffff;
  return kind === "max" ? -0x80000000 : 0x7fffffff;
}

function scalarOf(t: ShapedArray): ShapedArray {
  return new ShapedArray([], t.dtype);
}

/** argmax/argmin as JAX lowers them: a variadic reduce over (value, index) pairs. */
function lowerArgReduce(f: FnEmitter, isMax: boolean, x: V, axis: number, out: ShapedArray): V {
  const idxT = new ShapedArray(x.t.shape, out.dtype);
  const idx = f.op1(idxT, `stablehlo.iota dim = ${axis} : ${tensorType(idxT)}`);
  const vInit = f.scalarConst(identity(isMax ? "max" : "min", x.t.dtype), x.t.dtype);
  const iInit = f.scalarConst(0, out.dtype);
  const vs = scalarOf(x.t), is = scalarOf(out);
  const valOut = new ShapedArray(out.shape, x.t.dtype);
  const res = f.regionOp(
    [valOut, out],
    `"stablehlo.reduce"(${x.r}, ${idx.r}, ${vInit.r}, ${iInit.r})`,
    [
      {
        argTypes: [vs, is, vs, is],
        body: ([a, ai, bb, bi]) => {
          let pick = f.compare(isMax ? "GT" : "LT", a!, bb!);
          if (isFloatD(x.t.dtype)) pick = f.binary("or", pick, f.compare("NE", a!, a!));
          const tie = f.binary("and", f.compare("EQ", a!, bb!), f.compare("LT", ai!, bi!));
          const pickIdx = f.binary("or", pick, tie);
          return [f.select(pick, a!, bb!), f.select(pickIdx, ai!, bi!)];
        },
      },
    ],
    ` {dimensions = ${i64s([axis])}} : ${fnType([x.t, idxT, vs, is], [valOut, out])}`,
  );
  return res[1]!;
}

/** cumsum as a reduce_window summing a window of the whole axis, padded on one side. */
function lowerCumsum(f: FnEmitter, x: V, axis: number, reverse: boolean): V {
  const n = x.t.shape[axis]!;
  const d = x.t.dtype;
  const init = f.scalarConst(0, d);
  const window = x.t.shape.map((_, i) => (i === axis ? n : 1));
  const padding = x.t.shape.map((_, i) => (i === axis ? (reverse ? [0, Math.max(0, n - 1)] : [Math.max(0, n - 1), 0]) : [0, 0]));
  const s = scalarOf(x.t);
  return f.regionOp(
    [x.t],
    `"stablehlo.reduce_window"(${x.r}, ${init.r})`,
    [{ argTypes: [s, s], body: ([a, b]) => [f.binary(d === "bool" ? "or" : "add", a!, b!)] }],
    ` {padding = dense<[${padding.map((q) => `[${q.join(", ")}]`).join(", ")}]> : tensor<${x.t.ndim}x2xi64>, window_dimensions = ${i64s(window)}} : ${fnType([x.t, init.t], [x.t])}`,
  )[0]!;
}

function lowerDot(f: FnEmitter, a: V, b: V, p: P, out: ShapedArray): V {
  const lc = nums(p, "lhsContracting"), rc = nums(p, "rhsContracting");
  const lb = nums(p, "lhsBatch"), rb = nums(p, "rhsBatch");
  const ty = `(${tensorType(a.t)}, ${tensorType(b.t)}) -> ${tensorType(out)}`;
  if (lc.length) {
    const batch = lb.length ? `batching_dims = ${dims(lb)} x ${dims(rb)}, ` : "";
    return f.op1(out, `stablehlo.dot_general ${a.r}, ${b.r}, ${batch}contracting_dims = ${dims(lc)} x ${dims(rc)} : ${ty}`);
  }
  const fields = [
    lb.length ? `lhs_batching_dimensions = ${dims(lb)}` : "",
    rb.length ? `rhs_batching_dimensions = ${dims(rb)}` : "",
  ].filter((s) => s);
  const attr = fields.length ? `#stablehlo.dot<${fields.join(", ")}>` : "#stablehlo.dot<>";
  return f.generic([out], "stablehlo.dot_general", [a, b], `dot_dimension_numbers = ${attr}`)[0]!;
}

const range = (a: number, b: number) => Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);

/** Take along one axis: indices of any shape, clamped (StableHLO gather clamps start indices). */
function lowerGather(f: FnEmitter, x: V, idx: V, axis: number, out: ShapedArray): V {
  const k = idx.t.ndim;
  const offset = [...range(0, axis), ...range(axis + k, out.ndim)];
  const fields = [
    offset.length ? `offset_dims = ${dims(offset)}` : "",
    `collapsed_slice_dims = [${axis}]`,
    `start_index_map = [${axis}]`,
    `index_vector_dim = ${k}`,
  ].filter((s) => s);
  const sizes = x.t.shape.map((d, i) => (i === axis ? 1 : d));
  return f.generic(
    [out],
    "stablehlo.gather",
    [x, idx],
    `dimension_numbers = #stablehlo.gather<${fields.join(", ")}>, indices_are_sorted = false, slice_sizes = ${i64s(sizes)}`,
  )[0]!;
}

/** Write/add along one axis; out-of-range indices are skipped by StableHLO scatter. */
function lowerScatter(f: FnEmitter, add: boolean, x: V, idx: V, upd: V, axis: number): V {
  const k = idx.t.ndim;
  const window = [...range(0, axis), ...range(axis + k, upd.t.ndim)];
  const fields = [
    window.length ? `update_window_dims = ${dims(window)}` : "",
    `inserted_window_dims = [${axis}]`,
    `scatter_dims_to_operand_dims = [${axis}]`,
    `index_vector_dim = ${k}`,
  ].filter((s) => s);
  const s = scalarOf(x.t);
  return f.regionOp(
    [x.t],
    `"stablehlo.scatter"(${x.r}, ${idx.r}, ${upd.r})`,
    [{ argTypes: [s, s], body: ([a, b]) => [add ? f.binary(x.t.dtype === "bool" ? "or" : "add", a!, b!) : b!] }],
    ` {indices_are_sorted = false, scatter_dimension_numbers = #stablehlo.scatter<${fields.join(", ")}>, unique_indices = false} : ${fnType([x.t, idx.t, upd.t], [x.t])}`,
  )[0]!;
}

/** A stable sort with a lexicographic comparator over the first numKeys operands. */
function lowerSort(f: FnEmitter, xs: V[], dimension: number, numKeys: number): V[] {
  const ts = xs.map((v) => v.t);
  const argTypes = ts.flatMap((t) => [scalarOf(t), scalarOf(t)]);
  return f.regionOp(
    ts,
    `"stablehlo.sort"(${xs.map((v) => v.r).join(", ")})`,
    [
      {
        argTypes,
        body: (args) => {
          // lt(k) = a_k < b_k  or (a_k == b_k and lt(k+1)), built from the last key.
          let acc: V | undefined;
          for (let k = numKeys - 1; k >= 0; k--) {
            const a = args[2 * k]!, b = args[2 * k + 1]!;
            const type = isFloatD(a.t.dtype) ? "TOTALORDER" : compareType(a.t.dtype);
            const lt = f.compare("LT", a, b, type);
            acc = acc === undefined ? lt : f.binary("or", lt, f.binary("and", f.compare("EQ", a, b, type), acc));
          }
          return [acc!];
        },
      },
    ],
    ` {dimension = ${dimension} : i64, is_stable = true} : ${fnType(ts, ts)}`,
  );
}

const I32 = new ShapedArray([], "int32");
const BOOL = new ShapedArray([], "bool");

/** scan as JAX lowers it: a while loop over (i, consts, carry, xs, ys) with dynamic slices. */
function lowerScan(f: FnEmitter, x: V[], p: P, outAvals: readonly ShapedArray[]): V[] {
  const body = p["body"] as Program;
  const length = p["length"] as number;
  const reverse = p["reverse"] === true;
  const nC = p["numConsts"] as number;
  const nCarry = p["numCarry"] as number;
  const consts = x.slice(0, nC), carry = x.slice(nC, nC + nCarry), xs = x.slice(nC + nCarry);
  const ysAvals = outAvals.slice(nCarry);
  const ys0 = ysAvals.map((t) => f.full(0, t));
  const i0 = f.scalarConst(0, "int32");
  const init = [i0, ...consts, ...carry, ...xs, ...ys0];
  const ts = init.map((v) => v.t);
  const res = f.regionOp(
    ts,
    `"stablehlo.while"(${init.map((v) => v.r).join(", ")})`,
    [
      { argTypes: ts, body: ([i]) => [f.compare("LT", i!, f.scalarConst(length, "int32"))] },
      {
        argTypes: ts,
        body: (st) => {
          const i = st[0]!;
          const cs = st.slice(1, 1 + nC);
          const cr = st.slice(1 + nC, 1 + nC + nCarry);
          const xv = st.slice(1 + nC + nCarry, 1 + nC + nCarry + xs.length);
          const ysAcc = st.slice(1 + nC + nCarry + xs.length);
          const t = reverse ? f.binary("subtract", f.scalarConst(length - 1, "int32"), i) : i;
          const zero = () => f.scalarConst(0, "int32");
          const xsi = xv.map((a) => {
            const row = a.t.shape.slice(1);
            const sl = f.dynamicSlice(a, [t, ...row.map(zero)], [1, ...row]);
            return f.reshape(sl, row);
          });
          const outs = f.program(body, [...cs, ...cr, ...xsi]);
          const newCarry = outs.slice(0, nCarry);
          const newYs = outs.slice(nCarry).map((y, k) => {
            const acc = ysAcc[k]!;
            const up = f.reshape(y, [1, ...y.t.shape]);
            return f.dynamicUpdateSlice(acc, up, [t, ...y.t.shape.map(zero)]);
          });
          const i1 = f.binary("add", i, f.scalarConst(1, "int32"));
          return [i1, ...cs, ...newCarry, ...xv, ...newYs];
        },
      },
    ],
    ` : ${fnType(ts, ts)}`,
  );
  return [...res.slice(1 + nC, 1 + nC + nCarry), ...res.slice(1 + nC + nCarry + xs.length)];
}

/** while(condConsts, bodyConsts, carry): the consts ride along in the loop state, as in JAX. */
function lowerWhile(f: FnEmitter, x: V[], p: P, outAvals: readonly ShapedArray[]): V[] {
  const cond = p["cond"] as Program;
  const body = p["body"] as Program;
  const nc = p["condNumConsts"] as number;
  const nb = p["bodyNumConsts"] as number;
  const ts = x.map((v) => v.t);
  void outAvals;
  const res = f.regionOp(
    ts,
    `"stablehlo.while"(${x.map((v) => v.r).join(", ")})`,
    [
      {
        argTypes: ts,
        body: (st) => {
          const [pred] = f.program(cond, [...st.slice(0, nc), ...st.slice(nc + nb)]);
          return [pred!.t.dtype === "bool" ? pred! : f.compare("NE", pred!, f.full(0, pred!.t))];
        },
      },
      {
        argTypes: ts,
        body: (st) => [...st.slice(0, nc + nb), ...f.program(body, [...st.slice(nc, nc + nb), ...st.slice(nc + nb)])],
      },
    ],
    ` : ${fnType(ts, ts)}`,
  );
  return res.slice(nc + nb);
}

/** cond(index, ...ops): stablehlo.case on the index clamped into range (branches capture the operands). */
function lowerCond(f: FnEmitter, x: V[], p: P, outAvals: readonly ShapedArray[]): V[] {
  const branches = p["branches"] as readonly Program[];
  let idx = x[0]!;
  if (idx.t.dtype !== "int32") idx = f.convert(idx, "int32");
  if (branches.length > 1) {
    const lo = f.scalarConst(0, "int32");
    const hi = f.scalarConst(branches.length - 1, "int32");
    idx = f.op1(I32, `stablehlo.clamp ${lo.r}, ${idx.r}, ${hi.r} : ${tensorType(I32)}`);
  }
  const ops = x.slice(1);
  return f.regionOp(
    outAvals,
    `"stablehlo.case"(${idx.r})`,
    branches.map((br) => ({ argTypes: [], body: () => f.program(br, ops) })),
    ` : ${fnType([I32], outAvals)}`,
  );
}

/** A private function computing Threefry-2x32 (20 rounds, unrolled as JAX does off-TPU). */
function threefryFunc(mod: ModuleEmitter, sym: string, t: ShapedArray): string {
  const f = new FnEmitter(mod, 2);
  const args = [0, 1, 2, 3].map(() => f.arg(t));
  const [k0, k1, x0in, x1in] = args as [V, V, V, V];
  const c = (v: number) => f.full(v, t);
  const add = (a: V, b: V) => f.binary("add", a, b);
  const rotl = (v: V, d: number) => f.binary("or", f.binary("shift_left", v, c(d)), f.binary("shift_right_logical", v, c(32 - d)));
  const ks = [k0, k1, f.binary("xor", f.binary("xor", k0, k1), c(0x1bd11bda))];
  const rot = [
    [13, 15, 26, 6],
    [17, 29, 16, 24],
  ];
  let x0 = add(x0in, ks[0]!);
  let x1 = add(x1in, ks[1]!);
  for (let g = 0; g < 5; g++) {
    for (const r of rot[g % 2]!) {
      x0 = add(x0, x1);
      x1 = rotl(x1, r);
      x1 = f.binary("xor", x0, x1);
    }
    x0 = add(x0, ks[(g + 1) % 3]!);
    x1 = add(add(x1, ks[(g + 2) % 3]!), c(g + 1));
  }
  f.ret([x0, x1], "return");
  return f.funcText(sym, "private", args, [t, t]);
}
