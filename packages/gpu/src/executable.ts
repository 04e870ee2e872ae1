/**
 * A compiled program on WebGPU: the plan's steps (fused kernels, matmuls with
 * their epilogues, routines, control flow) as encodable steps over slots, the
 * alias plan for donated inputs, and the encoding of one run (`EncodeRun`:
 * temporaries taken before each step, released after their last reader).
 */
import { fusion, float16Bits, Literal, Var, typedArrayFor } from "@refs/core";
import type { DType, Eqn, Executable, Program, ShapedArray, TypedArray } from "@refs/core";
import { Enc, type Step } from "./encoder.js";
import { bindings, kernelWgsl, mainHeader, wgslType } from "./kernels.js";
import { deviceBytes } from "./layout.js";
import { routineDispatches, type Bind } from "./routines.js";
import { matmulStep } from "./matmul.js";
import { asyncCond, asyncJitCall, whileStep } from "./while.js";
import { scanStep } from "./scan.js";
import type { WebGpuBackend } from "./backend.js";

const REF_PRIMS = new Set(["ref_new", "ref_get", "ref_swap", "ref_addupdate", "ref_freeze"]);
const bytesOf = (a: ShapedArray): number => deviceBytes(a.size, a.dtype);

type AliasMode = fusion.AliasMode;

export class GpuExecutable implements Executable {
  readonly steps: Step[] = [];
  readonly slots = new Map<Var, number>();
  readonly inputSlots: number[];
  readonly aliasInfo: { input: number; output: number; mode: AliasMode; slot: number }[] = [];
  /** Aval of each slot. */
  readonly slotAvals: ShapedArray[] = [];
  /** The plan's steps as executed (kernels with too many bindings split into one kernel per equation). */
  readonly planSteps: fusion.Step[] = [];
  /** Contains a data-dependent while loop (at any depth): runs as a queued task, encoded with awaits. */
  readonly async: boolean;

  constructor(
    readonly program: Program,
    readonly plan: fusion.Plan,
    private readonly be: WebGpuBackend,
  ) {
    const slot = (v: Var): number => {
      let s = this.slots.get(v);
      if (s === undefined) {
        this.slots.set(v, (s = this.slots.size));
        this.slotAvals.push(v.aval);
      }
      return s;
    };
    this.inputSlots = program.inputs.map(slot);
    const limit = be.device.limits.maxStorageBuffersPerShaderStage;
    for (const st of plan.steps.flatMap((st) => fusion.fitBindings(st, limit))) {
      this.planSteps.push(st);
      if (st.kind === "kernel") {
        const code = kernelWgsl(st);
        const label = `kernel(${st.eqns.map((e) => e.prim.name).join(",")})`;
        const c = be.pipeline(code.wgsl, code.nBindings);
        const ins = st.inputs.map(slot);
        const outVars = st.outputs.map((o) => o.v);
        if (st.reduce) outVars.push(st.reduce.out);
        const outs = outVars.map(slot);
        const empty = st.size === 0 && !st.reduce;
        this.steps.push({
          reads: ins,
          writes: outs,
          frees: [],
          source: `// ${label}\n${code.wgsl}`,
          encode(enc, get, out) {
            const bufs = [...ins.map((s) => get(s)), ...outs.map((_, k) => out(k))];
            if (empty || (st.reduce && st.reduce.outSize === 0)) return;
            enc.dispatch(c, bufs, code.grid, label);
          },
        });
      } else if (st.eqn.prim.name === "dot_general") {
        const m = matmulStep(st, be, slot);
        this.steps.push({ ...m, source: `// ${st.epilogue ? "dot_general + epilogue" : "dot_general"}\n${m.source}`, frees: [] });
      } else {
        this.steps.push(this.routineStep(st.eqn, slot));
      }
    }
    const outSlots = new Set<number>();
    for (const o of program.outputs) if (o instanceof Var) outSlots.add(slot(o));
    const last = new Map<number, number>();
    this.steps.forEach((s, i) => s.reads.forEach((r) => r >= 0 && last.set(r, i)));
    last.forEach((i, s) => {
      if (!outSlots.has(s) && !this.inputSlots.includes(s)) this.steps[i]!.frees.push(s);
    });
    // Outputs never read later still need freeing if unused: written-only temporaries.
    this.steps.forEach((s, i) =>
      s.writes.forEach((w) => {
        if (!last.has(w) && !outSlots.has(w)) s.frees.push(w);
      }),
    );
    this.analyseAliases();
    this.async = this.steps.some((s) => s.encodeAsync !== undefined);
  }

  /** Every step's generated WGSL in order: kernels, matmuls, routines, and the bodies of scan/cond/while/jit_call. */
  describe(): string {
    return this.steps.map((st) => st.source).join("\n\n");
  }

  private literalBuffer(l: Literal): GPUBuffer {
    return this.be.constantBuffer(l.aval.dtype, l.value);
  }

  private routineStep(e: Eqn, slot: (v: Var) => number): Step {
    const n = e.prim.name;
    if (REF_PRIMS.has(n))
      throw new Error(`webgpu backend: ${n} is a ref effect; refs must be discharged (by trace or the eager interpreter) before a program reaches a backend`);
    const lits = e.inputs.map((a) => (a instanceof Literal ? this.literalBuffer(a) : undefined));
    const ins = e.inputs.map((a) => (a instanceof Var ? slot(a) : -1));
    const outs = e.outputs.map(slot);
    const getIn = (get: (a: number) => GPUBuffer, i: number): GPUBuffer => (ins[i]! >= 0 ? get(ins[i]!) : lits[i]!);
    const base = { reads: ins.filter((s) => s >= 0), writes: outs, frees: [] as number[] };
    const P = e.params as Record<string, unknown>;
    const be = this.be;
    switch (n) {
      case "jit_call": {
        const sub = be.compileInner(P.program as Program);
        const source = `// jit_call ${(P.name as string) ?? ""}\n${sub.describe()}`;
        if (sub.async) return asyncJitCall(be, e, base, getIn, sub, source);
        return {
          ...base,
          source,
          encode(enc, get, out) {
            const res = sub.run(enc, e.inputs.map((_, i) => getIn(get, i)));
            res.forEach((b, k) => enc.copy(b, 0, out(k), 0, bytesOf(e.outputs[k]!.aval)));
            res.forEach((b) => be.release(b));
          },
        };
      }
      case "while":
        return whileStep(be, e, base, getIn);
      case "cond": {
        const branches = (P.branches as Program[]).map((p) => be.compileInner(p));
        if (branches.some((b) => b.async))
          return asyncCond(be, e, base, getIn, branches, `// cond (a branch has a while loop: the index is read back, one branch runs)\n${branches.map((b) => b.describe()).join("\n\n")}`);
        const idxSel = branches.map((_, bi) =>
          e.outputs.map((v) => {
            const T = wgslType(v.aval.dtype); // a select moves elements as they are stored (f16 too)
            const N = v.aval.size;
            const w = `${bindings(["i32", T, T])}
${mainHeader(N)}
  if (clamp(b0[0], 0i, ${branches.length - 1}i) == ${bi}i) { b2[i] = b1[i]; }
}`;
            return { c: be.pipeline(w, 3), g: gridOf(N), N };
          }),
        );
        return {
          ...base,
          source: `// cond: every branch runs, outputs selected\n${branches.map((b) => b.describe()).join("\n\n")}`,
          encode(enc, get, out) {
            const idx = getIn(get, 0);
            const ops = e.inputs.slice(1).map((_, i) => getIn(get, i + 1));
            branches.forEach((br, bi) => {
              const res = br.run(enc, ops);
              res.forEach((b, k) => {
                const s = idxSel[bi]![k]!;
                if (s.N > 0) enc.dispatch(s.c, [idx, b, out(k)], s.g, "cond_select");
                be.release(b);
              });
            });
          },
        };
      }
      case "scan": {
        const body = be.compileInner(P.body as Program);
        return scanStep(be, e, base, getIn, body, `// scan body (host-driven, ${P.length as number} iterations)\n${body.describe()}`);
      }
    }
    const ds = routineDispatches(e);
    const compiled = ds.map((d) => ({ d, c: be.pipeline(d.wgsl, d.binds.length) }));
    return {
      ...base,
      source: ds.map((d) => `// ${d.label}\n${d.wgsl}`).join("\n\n"),
      encode(enc, get, out) {
        for (const { d, c } of compiled) {
          const temps: GPUBuffer[] = [];
          const bufs = d.binds.map((b: Bind) => {
            if ("in" in b) return getIn(get, b.in);
            if ("out" in b) return out(b.out);
            const t = enc.temp(b.temp, "uint32");
            temps.push(t);
            return t;
          });
          if (d.copyInto && bufs[0] === bufs[1]) continue;
          enc.dispatch(c, bufs, d.grid, d.label);
          temps.forEach((t) => be.release(t));
        }
      },
    };
  }

  private analyseAliases(): void {
    for (const al of fusion.planAliases(this.program, this.planSteps)) {
      const slot = al.out ? (this.slots.get(al.out) ?? -1) : -1;
      this.aliasInfo.push({ input: al.input, output: al.output, mode: al.mode, slot });
    }
  }

  /**
   * Encode the program. Returns the buffer of every slot of an output var
   * (pre-assigned buffers where given); temporaries go back to the pool.
   */
  encodeInto(enc: Enc, inputs: readonly GPUBuffer[], pre?: Map<number, GPUBuffer>): (GPUBuffer | undefined)[] {
    const r = new EncodeRun(this, enc, inputs, pre);
    for (const st of this.steps) {
      r.begin(st);
      st.encode(enc, r.get, r.out);
      r.end(st);
    }
    return r.env;
  }

  /** encodeInto for programs with a while loop: steps that contain one are awaited. */
  async encodeIntoAsync(enc: Enc, inputs: readonly GPUBuffer[], pre?: Map<number, GPUBuffer>): Promise<(GPUBuffer | undefined)[]> {
    const r = new EncodeRun(this, enc, inputs, pre);
    for (const st of this.steps) {
      r.begin(st);
      if (st.encodeAsync) await st.encodeAsync(enc, r.get, r.out);
      else st.encode(enc, r.get, r.out);
      r.end(st);
    }
    return r.env;
  }

  /**
   * Run as a sub-program: fresh output buffers (owned by the caller), except
   * outputs listed in `into`, which are written into the given buffers (inputs
   * that inPlaceOutputs said may be overwritten) and returned as undefined.
   */
  run(enc: Enc, inputs: readonly GPUBuffer[], into?: ReadonlyMap<number, GPUBuffer>): GPUBuffer[] {
    const env = this.encodeInto(enc, inputs, into && this.preFor(into));
    return this.collect(enc, env, new Set(inputs), into && new Set(into.keys()));
  }

  async runAsync(enc: Enc, inputs: readonly GPUBuffer[], into?: ReadonlyMap<number, GPUBuffer>): Promise<GPUBuffer[]> {
    const env = await this.encodeIntoAsync(enc, inputs, into && this.preFor(into));
    return this.collect(enc, env, new Set(inputs), into && new Set(into.keys()));
  }

  /** Of the (input -> output) pairs, the outputs that may be written into their input's buffer (the planner's alias rules). */
  inPlaceOutputs(pairs: readonly { input: number; output: number }[]): number[] {
    const p: Program = { ...this.program, aliases: pairs };
    return fusion
      .planAliases(p, this.planSteps)
      .filter((a) => a.mode === "inplace" || a.mode === "same")
      .map((a) => a.output);
  }

  private preFor(into: ReadonlyMap<number, GPUBuffer>): Map<number, GPUBuffer> {
    const pre = new Map<number, GPUBuffer>();
    into.forEach((b, k) => {
      const o = this.program.outputs[k];
      const s = o instanceof Var ? this.slots.get(o) : undefined;
      if (s !== undefined && !this.inputSlots.includes(s)) pre.set(s, b);
    });
    return pre;
  }

  collect(enc: Enc, env: (GPUBuffer | undefined)[], avoid: Set<GPUBuffer>, skip?: Set<number>): GPUBuffer[] {
    const seen = new Set<GPUBuffer>(avoid);
    return this.program.outputs.map((o, k) => {
      if (skip?.has(k)) return undefined as unknown as GPUBuffer;
      const n = o.aval.size;
      if (o instanceof Literal) {
        // A copy in the command stream (a queue write would land before earlier commands that use this pooled buffer).
        const b = enc.temp(n, o.aval.dtype);
        enc.copy(this.literalBuffer(o), 0, b, 0, 4);
        return b;
      }
      let b = env[this.slots.get(o)!]!;
      if (seen.has(b)) {
        const c = enc.temp(n, o.aval.dtype);
        enc.copy(b, 0, c, 0, bytesOf(o.aval));
        b = c;
      }
      seen.add(b);
      return b;
    });
  }
}

/** The slot buffers of one encoding of a program: temporaries taken before each step, released after their last reader. */
class EncodeRun {
  readonly env: (GPUBuffer | undefined)[];
  private readonly owned = new Set<number>();
  private cur: Step | undefined;
  readonly get = (s: number): GPUBuffer => this.env[s]!;
  readonly out = (k: number): GPUBuffer => this.env[this.cur!.writes[k]!]!;

  constructor(
    private readonly x: GpuExecutable,
    private readonly enc: Enc,
    inputs: readonly GPUBuffer[],
    private readonly pre: Map<number, GPUBuffer> | undefined,
  ) {
    this.env = new Array(x.slots.size);
    x.inputSlots.forEach((s, i) => (this.env[s] = inputs[i]));
  }

  begin(st: Step): void {
    this.cur = st;
    for (const w of st.writes) {
      const p = this.pre?.get(w);
      if (p) this.env[w] = p;
      else {
        const a = this.x.slotAvals[w]!;
        this.env[w] = this.enc.temp(a.size, a.dtype);
        this.owned.add(w);
      }
    }
  }

  end(st: Step): void {
    for (const f of st.frees) {
      if (this.owned.has(f)) {
        this.enc.be.release(this.env[f]!);
        this.owned.delete(f);
      }
      this.env[f] = undefined;
    }
  }
}

/** A scalar as host data of dtype `d` (float16 as its bits). */
export function castArray(v: number, d: DType): TypedArray {
  const a = typedArrayFor(d, 1);
  a[0] = d === "float16" ? float16Bits(v) : v;
  return a;
}


function gridOf(n: number): [number, number] {
  const groups = Math.max(1, Math.ceil(n / 256));
  return groups <= 65535 ? [groups, 1] : [65535, Math.ceil(groups / 65535)];
}
