/**
 * The CPU backend: buffers are typed arrays in the host layout of their dtype
 * (float32 → Float32Array, int32 → Int32Array, uint32 → Uint32Array,
 * bool → Uint8Array of 0/1); big ones are views of the shared Wasm heap
 * (storage.ts). `compile` plans the program with the fusion planner
 * (src/fusion); each fused kernel runs as a generated JS function or a
 * generated Wasm SIMD module (kernels.ts); non-fusible equations run
 * hand-written routines; sub-programs (jit_call, scan, cond, while) are
 * compiled once, at compile time. A run owns the heap blocks it allocates and
 * frees intermediates after their last use.
 *
 * Numerics: float32 arithmetic is exact float32 (every intermediate rounded,
 * no FMA), integers wrap. Reductions (sum, prod) accumulate in float64 and
 * round once at the end, in one order on both kernel paths (row reductions:
 * 8 partials, fusion/lanes.ts). exp, log, tanh and the other transcendentals
 * are polynomial approximations within 1-2 ulp on the Wasm path (wasm/vmath.ts).
 * Cumsum and small float32 matmuls accumulate in float64; larger float32
 * matmuls (M*N*K >= 32^3) run a WebAssembly SIMD kernel that accumulates in
 * float32 (possibly fused multiply-add with relaxed SIMD); see matmul.ts and
 * `setCpuMatmulImpl`.
 */
import type { ShapedArray } from "../../aval.js";
import type { Backend, BufferHandle, Executable } from "../../backend.js";
import { castScalar, typedArrayFor, type DType, type TypedArray } from "../../dtype.js";
import { describePlan, planProgram, type Kernel, type Plan } from "../../fusion/plan.js";
import { planAliases, type AliasMode } from "../../fusion/aliases.js";
import { Literal, Var, type Atom, type Eqn, type Program } from "../../program.js";
import { CpuKernel } from "./kernels.js";
import { makeRoutine, type RoutineFn } from "./routines.js";
import { copyBuffer, freeBuffer, isBlock, isHeapView, newBuffer, overlaps } from "./storage.js";

export { threefry2x32Scalar, erf32, erfInv32 } from "./scalar.js";
export { sgemm, batchedMatmul, setCpuMatmulImpl, type CpuMatmulImpl } from "./matmul.js";
export { wasmSgemmAvailable, wasmSgemmRelaxed, setWasmSgemmThreads } from "./wasm/sgemm.js";
export { setCpuKernelImpl, type CpuKernelImpl } from "./kernels.js";
export { setCpuHeap } from "./storage.js";

class CpuBuffer implements BufferHandle {
  declare readonly __bufferHandle?: never;
  freed = false;
  constructor(public data: TypedArray) {}
}

type Env = (TypedArray | undefined)[];
type Pre = Map<number, TypedArray> | undefined;

/**
 * One run's heap blocks: the ones it allocated (or adopted from a routine
 * that returned fresh blocks) and has not freed, with the number of env slots
 * holding each, so an intermediate is freed after its last use.
 */
class Owned {
  readonly refs = new Map<TypedArray, number>();
  alloc(dtype: DType, n: number): TypedArray {
    const a = newBuffer(dtype, n, false);
    if (isBlock(a)) this.refs.set(a, 0);
    return a;
  }
  /** Takes ownership of a fresh block a routine returned. */
  adopt(a: TypedArray): void {
    if (!this.refs.has(a) && isBlock(a)) this.refs.set(a, 0);
  }
  hold(a: TypedArray): void {
    const c = this.refs.get(a);
    if (c !== undefined) this.refs.set(a, c + 1);
  }
  release(a: TypedArray | undefined): void {
    if (!a) return;
    const c = this.refs.get(a);
    if (c === undefined) return;
    if (c <= 1) {
      this.refs.delete(a);
      freeBuffer(a);
    } else this.refs.set(a, c - 1);
  }
  has(a: TypedArray): boolean {
    return this.refs.has(a);
  }
  /** Frees everything still owned except `keep`. */
  freeAllBut(keep: ReadonlySet<TypedArray>): void {
    for (const a of this.refs.keys()) if (!keep.has(a)) freeBuffer(a);
    this.refs.clear();
  }
}

interface CStep {
  run(env: Env, pre: Pre, owned: Owned): void;
  /** Slots read and written. */
  readonly reads: readonly number[];
  readonly writes: readonly number[];
  /** Slots whose last use is this step (cleared after it). */
  frees: number[];
}


interface AliasInfo {
  readonly input: number;
  readonly output: number;
  readonly mode: AliasMode;
  readonly slot: number;
}

const REF_PRIMS = new Set(["ref_new", "ref_get", "ref_swap", "ref_addupdate", "ref_freeze"]);
const CONTROL = new Set(["jit_call", "scan", "cond", "while"]);

function checkDtype(d: DType): void {
  if (d === "float16") throw new Error("cpu backend: float16 is not supported; use float32");
}

/** Copy outputs that share memory with an input or an earlier output (and views of heap blocks they do not own). */
function freshen(outs: TypedArray[], ins: readonly TypedArray[]): TypedArray[] {
  const seen: TypedArray[] = [...ins];
  return outs.map((o) => {
    if ((isHeapView(o) && !isBlock(o)) || seen.some((x) => overlaps(x, o))) o = copyLike(o);
    seen.push(o);
    return o;
  });
}

const DTYPE_OF = new Map<unknown, DType>([
  [Float32Array, "float32"],
  [Int32Array, "int32"],
  [Uint32Array, "uint32"],
  [Uint8Array, "bool"],
  [Uint16Array, "float16"],
]);
const copyLike = (a: TypedArray): TypedArray => copyBuffer(a, DTYPE_OF.get(a.constructor)!);

/** Frees `a` if it is a heap block none of `keep` is. */
function freeUnless(a: TypedArray, keep: readonly TypedArray[]): void {
  if (isBlock(a) && !keep.includes(a)) freeBuffer(a);
}

export class CpuExecutable implements Executable {
  readonly steps: CStep[] = [];
  readonly slots = new Map<Var, number>();
  readonly inputSlots: number[];
  readonly aliasInfo: AliasInfo[] = [];
  readonly kernels: { kernel: Kernel; source: string }[] = [];

  constructor(
    readonly program: Program,
    readonly plan: Plan,
    backend: CpuBackend,
  ) {
    const slot = (v: Var): number => {
      let s = this.slots.get(v);
      if (s === undefined) this.slots.set(v, (s = this.slots.size));
      return s;
    };
    this.inputSlots = program.inputs.map(slot);
    for (const st of plan.steps) {
      if (st.kind === "kernel") {
        const ck = new CpuKernel(st);
        this.kernels.push({ kernel: st, source: ck.source });
        const ins = st.inputs.map(slot);
        const outVars = st.outputs.map((o) => o.v);
        if (st.reduce) outVars.push(st.reduce.out);
        const outs = outVars.map(slot);
        const avals = outVars.map((v) => v.aval);
        this.steps.push({
          reads: ins,
          writes: outs,
          frees: [],
          run(env, pre, owned) {
            const a = new Array<TypedArray>(ins.length);
            for (let i = 0; i < ins.length; i++) a[i] = env[ins[i]!]!;
            const o = new Array<TypedArray>(outs.length);
            for (let i = 0; i < outs.length; i++) {
              const av = avals[i]!;
              o[i] = pre?.get(outs[i]!) ?? owned.alloc(av.dtype, av.size);
            }
            ck.run(a, o);
            for (let i = 0; i < outs.length; i++) {
              env[outs[i]!] = o[i];
              owned.hold(o[i]!);
            }
          },
        });
      } else {
        const e = st.eqn;
        const fn = makeStep(e, backend);
        const ins = e.inputs.map((a) => (a instanceof Var ? slot(a) : -1));
        const lits = e.inputs.map((a) => (a instanceof Literal ? literalArray(a) : undefined));
        const outs = e.outputs.map(slot);
        const avals = e.outputs.map((v) => v.aval);
        this.steps.push({
          reads: ins.filter((s) => s >= 0),
          writes: outs,
          frees: [],
          run(env, pre, owned) {
            const a = ins.map((s, i) => (s >= 0 ? env[s]! : lits[i]!));
            const alloc = (k: number): TypedArray => pre?.get(outs[k]!) ?? owned.alloc(avals[k]!.dtype, avals[k]!.size);
            const r = fn(a, alloc);
            outs.forEach((s, i) => {
              let x = r[i]!;
              if (!a.includes(x)) {
                if (isHeapView(x) && !isBlock(x)) x = copyLike(x); // never keep a view of a block nobody tracks
                owned.adopt(x); // fresh blocks from sub-programs become ours
              }
              const p = pre?.get(s);
              if (p && p !== x) {
                p.set(x);
                owned.release(x);
                x = p;
              }
              env[s] = x;
              owned.hold(x);
            });
          },
        });
      }
    }
    // Release intermediates after their last use.
    const outSlots = new Set<number>();
    for (const o of program.outputs) if (o instanceof Var) outSlots.add(slot(o));
    const last = new Map<number, number>();
    this.steps.forEach((s, i) => s.reads.forEach((r) => last.set(r, i)));
    last.forEach((i, s) => {
      if (!outSlots.has(s) && !this.inputSlots.includes(s)) this.steps[i]!.frees.push(s);
    });
    this.analyseAliases();
  }

  get kernelCount(): number {
    return this.kernels.length;
  }

  /** The plan, one line per step. */
  describe(): string {
    return describePlan(this.plan);
  }

  private analyseAliases(): void {
    for (const al of planAliases(this.program, this.plan.steps)) {
      const slot = al.out ? (this.slots.get(al.out) ?? -1) : -1;
      this.aliasInfo.push({ input: al.input, output: al.output, mode: al.mode, slot });
    }
  }

  /**
   * Run on typed arrays; `pre` gives preassigned output storage per slot.
   * Returns the env and the heap blocks the run still owns (the caller takes
   * the outputs among them and frees the rest with `freeAllBut`).
   */
  runArrays(inputs: readonly TypedArray[], pre?: Pre): { env: Env; owned: Owned } {
    const env: Env = new Array(this.slots.size);
    this.inputSlots.forEach((s, i) => (env[s] = inputs[i]));
    const owned = new Owned();
    try {
      for (const st of this.steps) {
        st.run(env, pre, owned);
        for (const f of st.frees) {
          owned.release(env[f]);
          env[f] = undefined;
        }
      }
    } catch (e) {
      owned.freeAllBut(new Set());
      throw e;
    }
    return { env, owned };
  }

  outputArrays(env: Env): TypedArray[] {
    return this.program.outputs.map((o) => (o instanceof Var ? env[this.slots.get(o)!]! : literalArray(o)));
  }

  /** Run as a sub-program: fresh outputs (the caller owns them), never sharing memory with the inputs. */
  call(inputs: readonly TypedArray[]): TypedArray[] {
    const { env, owned } = this.runArrays(inputs);
    const outs = this.outputArrays(env);
    // Outputs that are not ours (inputs passed through, duplicates) get copied; the rest are handed over.
    const keep = new Set<TypedArray>();
    const seen: TypedArray[] = [...inputs];
    const res = outs.map((o) => {
      if (owned.has(o) && !keep.has(o)) keep.add(o);
      else if ((isHeapView(o) && !isBlock(o)) || seen.some((x) => overlaps(x, o)) || isBlock(o)) o = copyLike(o);
      seen.push(o);
      return o;
    });
    owned.freeAllBut(keep);
    return res;
  }
}

function literalArray(l: Literal): TypedArray {
  const a = typedArrayFor(l.aval.dtype, 1);
  a[0] = castScalar(l.value, l.aval.dtype);
  return a;
}

function makeStep(e: Eqn, backend: CpuBackend): RoutineFn {
  const n = e.prim.name;
  if (REF_PRIMS.has(n))
    throw new Error(`cpu backend: ${n} is a ref effect; refs must be discharged (by trace or the eager interpreter) before a program reaches a backend`);
  if (!CONTROL.has(n)) return makeRoutine(e);
  const P = e.params as Record<string, unknown>;
  const sub = (p: unknown): CpuExecutable => backend.compileInner(p as Program);
  switch (n) {
    case "jit_call": {
      const x = sub(P.program);
      return (ins) => x.call(ins);
    }
    case "cond": {
      const branches = (P.branches as Program[]).map(sub);
      return (ins) => {
        const i = Math.min(Math.max(ins[0]![0]! | 0, 0), branches.length - 1);
        const ops = ins.slice(1);
        return freshen(branches[i]!.call(ops), ops);
      };
    }
    case "while": {
      const cond = sub(P.cond);
      const body = sub(P.body);
      const cN = P.condNumConsts as number;
      const bN = P.bodyNumConsts as number;
      return (ins) => {
        const cc = ins.slice(0, cN);
        const bc = ins.slice(cN, cN + bN);
        let carry = ins.slice(cN + bN);
        for (;;) {
          const c = cond.call([...cc, ...carry]);
          const go = c[0]![0];
          c.forEach((x) => freeUnless(x, ins));
          if (!go) break;
          const next = body.call([...bc, ...carry]);
          carry.forEach((x) => freeUnless(x, ins)); // the previous carry was ours (fresh from body.call)
          carry = next;
        }
        return freshen(carry, ins);
      };
    }
    case "scan": {
      const body = sub(P.body);
      const length = P.length as number;
      const reverse = P.reverse as boolean;
      const nC = P.numConsts as number;
      const nK = P.numCarry as number;
      const yAvals = e.outputs.slice(nK).map((v) => v.aval);
      const xRows = e.inputs.slice(nC + nK).map((a) => (length === 0 ? 0 : a.aval.size / length));
      const yRows = yAvals.map((a) => (length === 0 ? 0 : a.size / length));
      return (ins, alloc) => {
        const consts = ins.slice(0, nC);
        let carry = ins.slice(nC, nC + nK);
        const xs = ins.slice(nC + nK);
        const ys = yAvals.map((_, j) => alloc(nK + j));
        for (let t = 0; t < length; t++) {
          const i = reverse ? length - 1 - t : t;
          const xi = xs.map((x, j) => x.subarray(i * xRows[j]!, (i + 1) * xRows[j]!));
          const outs = body.call([...consts, ...carry, ...xi]);
          carry.forEach((x) => freeUnless(x, ins)); // the previous carry was ours (fresh from body.call)
          carry = outs.slice(0, nK);
          ys.forEach((y, j) => {
            y.set(outs[nK + j]!, i * yRows[j]!);
            freeUnless(outs[nK + j]!, ins);
          });
        }
        return [...freshen(carry, ins), ...ys];
      };
    }
  }
  throw new Error(`cpu backend: unsupported primitive ${n}`);
}

function checkProgramDtypes(p: Program): void {
  for (const v of p.inputs) checkDtype(v.aval.dtype);
  for (const e of p.eqns) {
    if (REF_PRIMS.has(e.prim.name))
      throw new Error(`cpu backend: ${e.prim.name} is a ref effect; refs must be discharged (by trace or the eager interpreter) before a program reaches a backend`);
    for (const a of e.inputs) if (a.aval.kind === "array") checkDtype(a.aval.dtype);
    for (const v of e.outputs) if (v.aval.kind === "array") checkDtype(v.aval.dtype);
  }
  for (const o of p.outputs) checkDtype(o.aval.dtype);
}

export class CpuBackend implements Backend {
  readonly name = "cpu";
  private liveBuffers = 0;
  private liveBytes = 0;
  private readonly inner = new WeakMap<Program, CpuExecutable>();

  supportsDtype(d: DType): boolean {
    return d !== "float16";
  }

  private wrap(data: TypedArray): CpuBuffer {
    this.liveBuffers++;
    this.liveBytes += data.byteLength;
    return new CpuBuffer(data);
  }

  private buf(h: BufferHandle): CpuBuffer {
    if (!(h instanceof CpuBuffer)) throw new TypeError("cpu backend: not a cpu buffer handle");
    if (h.freed) throw new Error("cpu backend: buffer used after it was freed");
    return h;
  }

  alloc(aval: ShapedArray, data?: TypedArray): BufferHandle {
    checkDtype(aval.dtype);
    const a = newBuffer(aval.dtype, aval.size, !data);
    if (data) {
      if (data.length !== aval.size)
        throw new RangeError(`cpu backend: alloc of ${aval.str()} got ${data.length} elements of data`);
      a.set(data);
    }
    return this.wrap(a);
  }

  read(h: BufferHandle, aval: ShapedArray): Promise<TypedArray> {
    try {
      return Promise.resolve(this.readSync(h, aval));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  readSync(h: BufferHandle, _aval: ShapedArray): TypedArray {
    return this.buf(h).data.slice();
  }

  free(h: BufferHandle): void {
    if (!(h instanceof CpuBuffer) || h.freed) return;
    h.freed = true;
    this.liveBuffers--;
    this.liveBytes -= h.data.byteLength;
    freeBuffer(h.data);
    h.data = new Uint8Array(0);
  }

  memory(): { buffers: number; bytes: number } {
    return { buffers: this.liveBuffers, bytes: this.liveBytes };
  }

  compile(p: Program): CpuExecutable {
    checkProgramDtypes(p);
    return new CpuExecutable(p, planProgram(p), this);
  }

  /** Compile a sub-program (cached by identity). */
  compileInner(p: Program): CpuExecutable {
    let x = this.inner.get(p);
    if (!x) this.inner.set(p, (x = this.compile(p)));
    return x;
  }

  execute(e: Executable, inputs: readonly BufferHandle[], donated: readonly boolean[]): BufferHandle[] {
    const x = e as CpuExecutable;
    if (!(x instanceof CpuExecutable)) throw new TypeError("cpu backend: executable was not compiled by the cpu backend");
    const p = x.program;
    if (inputs.length !== p.inputs.length)
      throw new TypeError(`cpu backend: ${p.name ?? "program"} expects ${p.inputs.length} inputs, got ${inputs.length}`);
    const bufs = inputs.map((h) => this.buf(h));
    const arrays = bufs.map((b) => b.data);
    const result: (BufferHandle | undefined)[] = new Array(p.outputs.length);
    let pre: Map<number, TypedArray> | undefined;
    const copies: { output: number; input: number }[] = [];
    for (const al of x.aliasInfo) {
      if (!donated[al.input]) continue;
      const h = bufs[al.input]!;
      if (bufs.indexOf(h) !== bufs.lastIndexOf(h)) continue; // same buffer passed twice: never in place
      result[al.output] = h;
      if (al.mode === "inplace") (pre ??= new Map()).set(al.slot, h.data);
      else if (al.mode === "copy") copies.push(al);
    }
    const { env, owned } = x.runArrays(arrays, pre);
    const outs = x.outputArrays(env);
    // Outputs never share memory with an input or with each other: the run's own
    // blocks are handed to the new buffers, anything else is copied.
    const taken = new Set<TypedArray>();
    const seen: TypedArray[] = [...arrays];
    try {
      for (let k = 0; k < outs.length; k++) {
        if (result[k]) continue;
        let o = outs[k]!;
        if (owned.has(o) && !taken.has(o)) taken.add(o);
        else if (isBlock(o) || isHeapView(o) || seen.some((a) => overlaps(a, o))) o = copyLike(o);
        seen.push(o);
        result[k] = this.wrap(o);
      }
      for (const c of copies) bufs[c.input]!.data.set(outs[c.output]!);
    } finally {
      owned.freeAllBut(taken);
    }
    return result as BufferHandle[];
  }
}

