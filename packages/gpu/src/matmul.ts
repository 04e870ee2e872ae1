/**
 * dot_general on WebGPU: one generated, register-blocked matmul kernel per
 * (shapes, layouts, epilogue), with the elementwise kernel the fusion planner
 * attached to it (core's fusion/epilogue.ts) evaluated on each output element
 * before it is stored.
 *
 * Every dot_general is read as a batched (B, M, K) x (B, K, N) product
 * through the operands' strides, so transposed operands are never copied:
 * each operand is bound as `array<vec4<T>>` when its contiguous axis (k, or
 * its free axis) allows 4-wide loads, else as `array<T>`. Each invocation
 * computes an RM x RN block of outputs in registers (scalar `var`s, no
 * dynamically indexed arrays), reading its RM rows and RN columns once per
 * k step; the k loop is unrolled KU times in the text, and out-of-range rows
 * and columns are clamped (their results are never stored) so the loop has
 * no branches.
 *
 * No workgroup memory: on Mesa's llvmpipe (the adapter CI has) every memory
 * access, workgroup memory included, is a scalar per-lane loop, so staging
 * tiles there only adds accesses (measured in docs/ARCHITECTURE.md); on real
 * GPUs the register blocking and vector loads carry most of the benefit for
 * the sizes this library runs, with caches serving the reuse a staged tile
 * would. The generated text depends only on its inputs (it is cached).
 *
 * float16 operands are read as f16 (vec4<f16> where strides allow) and
 * widened to f32; the accumulators are f32 and each result is rounded to
 * float16 once, before the epilogue (as XLA's float16 dot with float32
 * accumulation).
 */
import { Var, fusion, shapeSize, stridesOf, type DType, type Eqn } from "@refs/core";
import { Emitter, F16_PRELUDE, PRELUDE, bindings, grid, kernelUsesF16, lit, storeAs, valueType, wgslType } from "./kernels.js";

/** One axis of an operand as the kernel walks it: extent and element stride in the operand's buffer. */
interface Axis {
  readonly size: number;
  readonly stride: number;
}

/** The axes of one operand grouped as the product sees them (each group flattened row-major). */
interface OperandAxes {
  readonly batch: readonly Axis[];
  readonly free: readonly Axis[];
  readonly contract: readonly Axis[];
}

/** Register block and unrolling of one generated kernel. */
export interface MatmulConfig {
  /** Rows (of M) and columns (of N) of outputs per invocation. */
  readonly rm: number;
  readonly rn: number;
  /** Invocations per workgroup. */
  readonly wg: number;
  /** k steps per loop trip (multiple of 4 where an operand is vectorised along k). */
  readonly ku: number;
  /** Allow a vec4 binding for A / B (false where its buffer is also bound elsewhere in the dispatch). */
  readonly vecA: boolean;
  readonly vecB: boolean;
  /**
   * Run an epilogue in a loop over the block's outputs (read from a private
   * array) rather than once per output in the text: the same speed on
   * llvmpipe, and 2.5x less shader compile time for an Adam update.
   */
  readonly loopStores: boolean;
}

export interface MatmulShape {
  readonly dtype: DType;
  readonly B: number;
  readonly M: number;
  readonly N: number;
  readonly K: number;
  readonly a: OperandAxes;
  readonly b: OperandAxes;
}

/** The batched-matmul view of a dot_general equation (operands read with their row-major strides). */
export function matmulShape(e: Eqn): MatmulShape {
  const P = e.params as { lhsContracting: readonly number[]; rhsContracting: readonly number[]; lhsBatch: readonly number[]; rhsBatch: readonly number[] };
  const [x, y] = [e.inputs[0]!.aval, e.inputs[1]!.aval];
  const axes = (shape: readonly number[], batch: readonly number[], contract: readonly number[]): OperandAxes => {
    const st = stridesOf(shape);
    const ax = (d: number): Axis => ({ size: shape[d]!, stride: st[d]! });
    const free = shape.map((_, d) => d).filter((d) => !batch.includes(d) && !contract.includes(d));
    return { batch: batch.map(ax), free: free.map(ax), contract: contract.map(ax) };
  };
  const a = axes(x.shape, P.lhsBatch, P.lhsContracting);
  const b = axes(y.shape, P.rhsBatch, P.rhsContracting);
  const size = (g: readonly Axis[]) => shapeSize(g.map((d) => d.size));
  return { dtype: e.outputs[0]!.aval.dtype, B: size(a.batch), M: size(a.free), N: size(b.free), K: size(a.contract), a, b };
}

/** Drop unit axes and merge neighbours that are contiguous with each other, so most groups become one strided axis. */
function collapse(g: readonly Axis[]): Axis[] {
  const out: Axis[] = [];
  for (const d of g) {
    if (d.size === 1) continue;
    const last = out[out.length - 1];
    if (last && last.stride === d.stride * d.size) out[out.length - 1] = { size: last.size * d.size, stride: d.stride };
    else out.push(d);
  }
  return out;
}

/** WGSL for the element offset of flat group index `v` (u32 text) in a group of axes. */
function offsetText(v: string, g: readonly Axis[]): string {
  const c = collapse(g);
  if (c.length === 0) return "0u";
  if (c.length === 1) return c[0]!.stride === 1 ? v : `(${v}) * ${c[0]!.stride}u`;
  const sub = stridesOf(c.map((d) => d.size));
  return `(${c
    .map((d, i) => {
      let q = sub[i] === 1 ? `(${v})` : `((${v}) / ${sub[i]}u)`;
      if (i > 0) q = `(${q} % ${d.size}u)`;
      return d.stride === 1 ? q : `${q} * ${d.stride}u`;
    })
    .join(" + ")})`;
}

/** Which axis of an operand is read 4-wide: "k" (contracting), "f" (its free axis), or none. */
type VecAxis = "k" | "f" | null;

/** Whether every stride but the vectorised axis's is a multiple of 4, and that axis is one contiguous run of a multiple of 4. */
function vecAxis(op: OperandAxes, preferK: boolean, allowed: boolean): VecAxis {
  if (!allowed) return null;
  const ok = (along: readonly Axis[], others: readonly Axis[][]): boolean => {
    const c = collapse(along);
    if (c.length !== 1 || c[0]!.stride !== 1 || c[0]!.size % 4 !== 0) return false;
    return others.every((g) => collapse(g).every((d) => d.stride % 4 === 0));
  };
  const k = ok(op.contract, [op.batch as Axis[], op.free as Axis[]]);
  const f = ok(op.free, [op.batch as Axis[], op.contract as Axis[]]);
  if (k && (preferK || !f)) return "k";
  return f ? "f" : null;
}

/** What a fused epilogue needs from the matmul: the kernel, which input is the dot result, whether the dot itself is stored. */
export interface EpilogueSpec {
  readonly kernel: fusion.Kernel;
  readonly dotInput: number;
  readonly writeDot: boolean;
}

export interface MatmulCode {
  wgsl: string;
  grid: [number, number];
  /** Bindings in order: A, B, epilogue inputs (but the dot), [dot output], epilogue outputs. */
  nBindings: number;
}

const pow2AtMost = (n: number, cap: number): number => {
  let p = 1;
  while (p * 2 <= Math.min(n, cap)) p *= 2;
  return p;
};

/** The register block for a shape: 8x8 (4x4 when that leaves too few invocations), shrunk to thin M or N. */
export function chooseConfig(s: MatmulShape, over: Partial<MatmulConfig> = {}): MatmulConfig {
  const fit = (r: number, n: number) => Math.min(r, pow2AtMost(Math.max(1, n), 8));
  let rm = fit(8, s.M);
  let rn = fit(8, s.N);
  const invocations = (a: number, b: number) => s.B * Math.ceil(s.M / a) * Math.ceil(s.N / b);
  // Keep some parallelism: at least 256 invocations where the shape has them.
  while (rm * rn > 16 && invocations(rm, rn) < 256) {
    if (rm >= rn) rm /= 2;
    else rn /= 2;
  }
  const cfg: MatmulConfig = { rm, rn, wg: 64, ku: 4, vecA: true, vecB: true, loopStores: true, ...over };
  return cfg;
}

/**
 * Generate the kernel. Register names: `x{r}_{q}` / `y{q}_{c}` hold operand
 * values (vec4 or scalar), `c{r}_{c}` the accumulators; bindings are `b{j}`.
 */
export function matmulWgsl(s: MatmulShape, cfg: MatmulConfig, epi?: EpilogueSpec): MatmulCode {
  const { B, M, N, K, dtype } = s;
  /** Storage type of the operands and the dot result, and the type the products accumulate in (f32 for float16). */
  const T = wgslType(dtype);
  const V = valueType(dtype);
  const h = dtype === "float16";
  const { rm: RM, rn: RN, wg: WGS } = cfg;
  const va = vecAxis(s.a, true, cfg.vecA);
  const vb = vecAxis(s.b, false, cfg.vecB);
  // Vectorising a free axis needs a register block that is a multiple of 4 along it.
  const vA: VecAxis = va === "f" && RM % 4 !== 0 ? null : va;
  const vB: VecAxis = vb === "f" && RN % 4 !== 0 ? null : vb;
  const KU = vA === "k" || vB === "k" ? Math.max(4, cfg.ku - (cfg.ku % 4)) : cfg.ku;
  const Kmain = K - (K % KU);
  const tilesM = Math.ceil(M / RM);
  const tilesN = Math.ceil(N / RN);
  const invocations = B * tilesM * tilesN;
  const [gx, gy] = grid(invocations, WGS);

  const epiIns = epi ? epi.kernel.inputs.map((_, j) => j).filter((j) => j !== epi.dotInput) : [];
  const epiInType = (j: number) => wgslType(epi!.kernel.inputs[j]!.aval.dtype);
  const writeDot = !epi || epi.writeDot;
  const outTypes = [...(writeDot ? [T] : []), ...(epi ? epi.kernel.outputs.map((o) => wgslType(o.v.aval.dtype)) : [])];
  const tA = vA ? `vec4<${T}>` : T;
  const tB = vB ? `vec4<${T}>` : T;
  const types = [tA, tB, ...epiIns.map(epiInType), ...outTypes];
  const inBinding = new Map<number, number>(epiIns.map((j, q) => [j, 2 + q]));
  const outBase = 2 + epiIns.length;

  const L: string[] = [bindings(types)];
  if (epi) L.push(PRELUDE);
  if (h || (epi && kernelUsesF16(epi.kernel))) L.push(F16_PRELUDE);
  const head = L.length; // the store function goes here
  L.push(`@compute @workgroup_size(${WGS})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t: u32 = gid.x + gid.y * ${gx * WGS}u;
  if (t >= ${invocations}u) { return; }
  let bb: u32 = t / ${tilesM * tilesN}u;
  let m0: u32 = ((t / ${tilesN}u) % ${tilesM}u) * ${RM}u;
  let n0: u32 = (t % ${tilesN}u) * ${RN}u;`);

  // Base offsets (elements) of each row of A and column of B this invocation reads; clamped into range.
  const rowBase = (op: OperandAxes, base: string, extent: number, r: number): string => {
    const idx = r === 0 ? base : `${base} + ${r}u`;
    const clamped = extent % (op === s.a ? RM : RN) === 0 ? idx : `min(${idx}, ${extent - 1}u)`;
    return `${offsetText("bb", op.batch)} + ${offsetText(clamped, op.free)}`;
  };
  const kOff = (op: OperandAxes, k: string): string => offsetText(k, op.contract);
  const kAffine = (op: OperandAxes): Axis | null => {
    const c = collapse(op.contract);
    return c.length === 0 ? { size: 1, stride: 0 } : c.length === 1 ? c[0]! : null;
  };
  // A rows: one base per row (vec along k or scalar), or one per 4 rows (vec along m).
  const aRows = vA === "f" ? RM / 4 : RM;
  for (let r = 0; r < aRows; r++) L.push(`  let ar${r}: u32 = ${rowBase(s.a, "m0", M, vA === "f" ? 4 * r : r)};`);
  const bCols = vB === "f" ? RN / 4 : RN;
  for (let c = 0; c < bCols; c++) L.push(`  let bc${c}: u32 = ${rowBase(s.b, "n0", N, vB === "f" ? 4 * c : c)};`);
  const zero = lit(0, dtype);
  for (let r = 0; r < RM; r++) L.push(`  ${Array.from({ length: RN }, (_, c) => `var c${r}_${c}: ${V} = ${zero};`).join(" ")}`);
  // An operand load, widened to f32 for float16.
  const ld = (x: string, vec: boolean): string => (h ? (vec ? `vec4<f32>(${x})` : `f32(${x})`) : x);

  const comp = "xyzw";
  /** Loads and FMAs of `n` k steps starting at WGSL expression `k` (a multiple of 4 steps where an operand is vectorised along k). */
  const kSteps = (k: string, n: number): string[] => {
    const out: string[] = [];
    const aff = { a: kAffine(s.a), b: kAffine(s.b) };
    const kAt = (op: OperandAxes, q: number): string => {
      const ax = op === s.a ? aff.a : aff.b;
      if (ax) {
        const off = q === 0 ? `${k}` : `${k} + ${q}u`;
        return ax.stride === 1 ? off : `(${off}) * ${ax.stride}u`;
      }
      return kOff(op, q === 0 ? k : `${k} + ${q}u`);
    };
    // A values: aval(r, q) is the text of A[m0 + r, k + q].
    let aval: (r: number, q: number) => string;
    if (vA === "k") {
      for (let r = 0; r < RM; r++)
        for (let v = 0; v < n / 4; v++) out.push(`    let x${r}_${v} = ${ld(`b0[(ar${r} + ${kAt(s.a, 4 * v)}) >> 2u]`, true)};`);
      aval = (r, q) => `x${r}_${q >> 2}.${comp[q & 3]}`;
    } else if (vA === "f") {
      for (let q = 0; q < n; q++)
        for (let g = 0; g < RM / 4; g++) out.push(`    let x${g}_${q} = ${ld(`b0[(ar${g} + ${kAt(s.a, q)}) >> 2u]`, true)};`);
      aval = (r, q) => `x${r >> 2}_${q}.${comp[r & 3]}`;
    } else {
      for (let r = 0; r < RM; r++) for (let q = 0; q < n; q++) out.push(`    let x${r}_${q} = ${ld(`b0[ar${r} + ${kAt(s.a, q)}]`, false)};`);
      aval = (r, q) => `x${r}_${q}`;
    }
    let bval: (q: number, c: number) => string;
    if (vB === "k") {
      for (let c = 0; c < RN; c++)
        for (let v = 0; v < n / 4; v++) out.push(`    let y${v}_${c} = ${ld(`b1[(bc${c} + ${kAt(s.b, 4 * v)}) >> 2u]`, true)};`);
      bval = (q, c) => `y${q >> 2}_${c}.${comp[q & 3]}`;
    } else if (vB === "f") {
      for (let q = 0; q < n; q++)
        for (let g = 0; g < RN / 4; g++) out.push(`    let y${q}_${g} = ${ld(`b1[(bc${g} + ${kAt(s.b, q)}) >> 2u]`, true)};`);
      bval = (q, c) => `y${q}_${c >> 2}.${comp[c & 3]}`;
    } else {
      for (let q = 0; q < n; q++) for (let c = 0; c < RN; c++) out.push(`    let y${q}_${c} = ${ld(`b1[bc${c} + ${kAt(s.b, q)}]`, false)};`);
      bval = (q, c) => `y${q}_${c}`;
    }
    const fma = (acc: string, x: string, y: string): string =>
      dtype === "bool" ? `${acc} = ${acc} | (${x} & ${y});` : `${acc} = ${acc} + ${x} * ${y};`;
    for (let q = 0; q < n; q++)
      for (let r = 0; r < RM; r++) out.push(`    ${Array.from({ length: RN }, (_, c) => fma(`c${r}_${c}`, aval(r, q), bval(q, c))).join(" ")}`);
    return out;
  };
  if (Kmain > 0) {
    const trips = Kmain / KU;
    if (trips <= 32768) {
      L.push(`  for (var k: u32 = 0u; k < ${Kmain}u; k += ${KU}u) {`, ...kSteps("k", KU), "  }");
    } else {
      // llvmpipe stops a loop after 65535 trips: unroll further (see countedLoop in kernels.ts).
      const U = Math.ceil(trips / 32768);
      L.push(`  for (var kb: u32 = 0u; kb < ${Kmain}u; kb += ${KU * U}u) {`);
      for (let u = 0; u < U; u++) L.push(`  { let k: u32 = kb + ${u * KU}u; if (k < ${Kmain}u) {`, ...kSteps("k", KU), "  } }");
      L.push("  }");
    }
  }
  if (K > Kmain) L.push("  {", ...kSteps(`${Kmain}u`, K - Kmain), "  }");

  // Each output element goes through `store`: the dot result, then the
  // epilogue. The epilogue's parts that depend on neither the element nor the
  // dot result (scalar operands, their math) are computed once per
  // invocation and passed in.
  const hoisted = new Map<string, string>();
  const params: string[] = [];
  const loadText = (input: number, idx: string) => (input === epi?.dotInput ? "d" : `b${inBinding.get(input)!}[${idx}]`);
  if (epi) {
    const h = new Emitter("h", loadText);
    const invariant = new Map<string, boolean>();
    const isInvariant = (x: fusion.Exp): boolean => {
      const key = fusion.expKey(x);
      let v = invariant.get(key);
      if (v === undefined) {
        v = x.k === "const" || (x.k === "load" ? x.input !== epi.dotInput && isInvariant(x.index) : x.k === "op" && x.args.every(isInvariant));
        invariant.set(key, v);
      }
      return v;
    };
    const visit = (x: fusion.Exp): void => {
      if (x.k === "const" || x.k === "var") return;
      const key = fusion.expKey(x);
      if (isInvariant(x)) {
        if (!hoisted.has(key)) {
          const name = h.emit(x);
          hoisted.set(key, name);
          params.push(`${name}: ${valueType(x.dtype)}`);
        }
      } else if (x.k === "load") visit(x.index);
      else if (x.k === "op") x.args.forEach(visit);
    };
    epi.kernel.outputs.forEach((o) => visit(o.exp));
    L.push(...h.lines.map((l) => `  ${l}`));
  }
  const args = [...hoisted.values()].map((n) => `, ${n}`).join("");
  const mFull = M % RM === 0;
  const nFull = N % RN === 0;
  if (epi && cfg.loopStores) {
    L.push(`  var acc: array<${V}, ${RM * RN}>;`);
    for (let r = 0; r < RM; r++) L.push(`  ${Array.from({ length: RN }, (_, c) => `acc[${r * RN + c}] = c${r}_${c};`).join(" ")}`);
    const guard = [mFull ? "" : `m0 + r < ${M}u`, nFull ? "" : `n0 + c < ${N}u`].filter(Boolean).join(" && ");
    const call = `store((bb * ${M}u + m0 + r) * ${N}u + n0 + c, acc[e]${args});`;
    L.push(`  for (var e: u32 = 0u; e < ${RM * RN}u; e++) {`, `    let r = e / ${RN}u; let c = e % ${RN}u;`, `    ${guard ? `if (${guard}) { ${call} }` : call}`, "  }");
  } else
    for (let r = 0; r < RM; r++) {
      const rowGuard = mFull ? "" : `if (m0 + ${r}u < ${M}u) `;
      const calls = Array.from({ length: RN }, (_, c) => {
        const call = `store((bb * ${M}u + m0 + ${r}u) * ${N}u + n0 + ${c}u, c${r}_${c}${args});`;
        return nFull ? call : `if (n0 + ${c}u < ${N}u) { ${call} }`;
      });
      L.push(`  ${rowGuard}{ ${calls.join(" ")} }`);
    }
  L.push("}");
  // float16: the f32 accumulator is rounded to float16 once, here.
  const S: string[] = [`fn store(i: u32, ${h ? "acc32" : "d"}: ${V}${params.map((p) => `, ${p}`).join("")}) {`];
  if (h) S.push(`  let d = r16(acc32);`);
  if (writeDot) S.push(`  b${outBase}[i] = ${storeAs(dtype, "d")};`);
  if (epi) {
    const em = new Emitter("e", loadText, hoisted);
    const roots = epi.kernel.outputs.map((o) => em.emit(o.exp));
    S.push(...em.lines.map((l) => `  ${l}`));
    roots.forEach((x, q) => S.push(`  b${outBase + (writeDot ? 1 : 0) + q}[i] = ${storeAs(epi.kernel.outputs[q]!.v.aval.dtype, x)};`));
  }
  S.push("}");
  L.splice(head, 0, ...S);
  return { wgsl: L.join("\n"), grid: [gx, gy], nBindings: types.length };
}


/** What the step needs from the backend (structural, so this file does not import index.ts). */
export interface MatmulHost<C> {
  pipeline(wgsl: string, nBindings: number): C;
  constantBuffer(d: DType, v: number): GPUBuffer;
}

export interface MatmulStep<C> {
  readonly reads: readonly number[];
  readonly writes: readonly number[];
  readonly source: string;
  encode(
    enc: { dispatch(c: C, bufs: readonly GPUBuffer[], g: [number, number], label: string): void },
    get: (slot: number) => GPUBuffer,
    out: (k: number) => GPUBuffer,
  ): void;
}

/**
 * The executable step of a dot_general routine (with its epilogue, if the
 * planner fused one). Writes: the dot result (unless only the epilogue needs
 * it), then the epilogue's outputs.
 */
export function matmulStep<C>(st: fusion.Routine, host: MatmulHost<C>, slot: (v: Var) => number): MatmulStep<C> {
  const e = st.eqn;
  const epi = st.epilogue;
  const shape = matmulShape(e);
  const cfg = chooseConfig(shape);
  const spec: EpilogueSpec | undefined = epi && { kernel: epi.kernel, dotInput: epi.dotInput, writeDot: epi.writeDot };
  const code = matmulWgsl(shape, cfg, spec);
  // A buffer bound twice (x @ x, or x and an epilogue input) needs one element type for every binding of it.
  const variants = new Map<string, { c: C; code: MatmulCode }>([["11", { c: host.pipeline(code.wgsl, code.nBindings), code }]]);
  const variant = (vecA: boolean, vecB: boolean) => {
    const key = `${+vecA}${+vecB}`;
    let v = variants.get(key);
    if (!v) {
      const vc = matmulWgsl(shape, { ...cfg, vecA, vecB }, spec);
      variants.set(key, (v = { c: host.pipeline(vc.wgsl, vc.nBindings), code: vc }));
    }
    return v;
  };
  // Operand slots (-1 for a literal, read from a constant buffer).
  const operands = e.inputs.map((a) => (a instanceof Var ? slot(a) : -1));
  const lits = e.inputs.map((a) => (a instanceof Var ? undefined : host.constantBuffer(a.aval.dtype, a.value)));
  const epiIns = epi ? epi.kernel.inputs.filter((_, j) => j !== epi.dotInput).map((v) => slot(v)) : [];
  const outVars = [...(!epi || epi.writeDot ? e.outputs : []), ...(epi ? epi.kernel.outputs.map((o) => o.v) : [])];
  const writes = outVars.map((v) => slot(v));
  const label = epi ? `dot_general+${epi.kernel.eqns.map((q) => q.prim.name).join(",")}` : "dot_general";
  const empty = e.outputs[0]!.aval.size === 0;
  return {
    reads: [...operands.filter((o) => o >= 0), ...epiIns],
    writes,
    source: code.wgsl,
    encode(enc, get, out) {
      if (empty) return;
      const bufs = [...operands.map((o, j) => (o >= 0 ? get(o) : lits[j]!)), ...epiIns.map((s) => get(s)), ...writes.map((_, k) => out(k))];
      const alone = (j: number) => bufs.indexOf(bufs[j]!) === bufs.lastIndexOf(bufs[j]!);
      const v = variant(alone(0), alone(1));
      enc.dispatch(v.c, bufs, v.code.grid, label);
    },
  };
}
