/**
 * @refs/gpu — the WebGPU backend of refs. Importing this module registers
 * `"webgpu"` (priority -1: the CPU backend stays the default); opt in with
 * `await setBackend("webgpu")`.
 *
 * compile(): the core fusion planner splits a program into fused kernels
 * (lowered to WGSL in ./kernels.ts), dot_generals with their fused epilogues
 * (./matmul.ts) and routines (./routines.ts); sub-programs
 * (jit_call, scan bodies, cond branches) compile to nested executables that
 * are encoded inline. execute(): one command encoder, one submit. All dtypes
 * are 32-bit words on the device (bool as u32 0/1).
 */
import { registerBackend, resetBackend, fusion, Literal, Var, typedArrayFor } from "@refs/core";
import type { Backend, BufferHandle, DType, Eqn, Executable, Program, ShapedArray, TypedArray } from "@refs/core";
import { createDevice, type DeviceBundle } from "./device.js";
import { bindings, kernelWgsl, mainHeader, wgslType } from "./kernels.js";
import { routineDispatches, type Bind, type Dispatch } from "./routines.js";
import { matmulStep } from "./matmul.js";

export { adapterInfo, type AdapterInfo } from "./device.js";

export interface Profile {
  dispatches: number;
  bytesAllocated: number;
  kernels: string[];
}

let lastProfile: Profile = { dispatches: 0, bytesAllocated: 0, kernels: [] };
/** Statistics of the last `execute` on the webgpu backend. */
export function profile(): Profile {
  return { ...lastProfile, kernels: [...lastProfile.kernels] };
}

class GpuHandle implements BufferHandle {
  declare readonly __bufferHandle?: never;
  freed = false;
  constructor(
    public buffer: GPUBuffer,
    readonly bytes: number,
    readonly backend: WebGpuBackend,
  ) {}
}

const REF_PRIMS = new Set(["ref_new", "ref_get", "ref_swap", "ref_addupdate", "ref_freeze"]);
const bytesOf = (n: number): number => Math.max(4, n * 4);
/** Pool size classes: powers of two up to 1 MiB, then whole MiBs (so big buffers stay within binding limits). */
function bucket(bytes: number): number {
  const MiB = 1 << 20;
  if (bytes > MiB) return Math.ceil(bytes / MiB) * MiB;
  let b = 16;
  while (b < bytes) b *= 2;
  return b;
}

/** Encoding state of one execute. */
class Enc {
  pass: GPUComputePassEncoder | undefined;
  dispatches = 0;
  bytes = 0;
  labels: string[] = [];
  constructor(
    readonly be: WebGpuBackend,
    readonly encoder: GPUCommandEncoder,
  ) {}
  dispatch(c: Compiled, bufs: readonly GPUBuffer[], g: [number, number], label: string): void {
    const [pl, bg] = this.be.bindDeduped(c, bufs);
    this.pass ??= this.encoder.beginComputePass();
    this.pass.setPipeline(pl);
    this.pass.setBindGroup(0, bg);
    this.pass.dispatchWorkgroups(g[0], g[1]);
    this.dispatches++;
    this.labels.push(label);
  }
  copy(src: GPUBuffer, so: number, dst: GPUBuffer, dOff: number, n: number): void {
    if (n <= 0) return;
    this.endPass();
    this.encoder.copyBufferToBuffer(src, so, dst, dOff, n);
  }
  endPass(): void {
    this.pass?.end();
    this.pass = undefined;
  }
  temp(nElems: number): GPUBuffer {
    const b = this.be.acquire(bytesOf(nElems));
    this.bytes += b.size;
    return b;
  }
}

interface Step {
  encode(enc: Enc, get: (a: number) => GPUBuffer, out: (k: number) => GPUBuffer): void;
  /** Slots read (-1: literal) and written. */
  readonly reads: readonly number[];
  readonly writes: readonly number[];
  frees: number[];
  readonly source: string;
}

type AliasMode = fusion.AliasMode;

interface Compiled {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  wgsl: string;
  n: number;
}

class GpuExecutable implements Executable {
  readonly steps: Step[] = [];
  readonly slots = new Map<Var, number>();
  readonly inputSlots: number[];
  readonly aliasInfo: { input: number; output: number; mode: AliasMode; slot: number }[] = [];
  readonly sources: string[] = [];
  /** Aval of each slot. */
  readonly slotAvals: ShapedArray[] = [];
  /** The plan's steps as executed (kernels with too many bindings split into one kernel per equation). */
  readonly planSteps: fusion.Step[] = [];

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
        this.sources.push(`// ${label}\n${code.wgsl}`);
        const ins = st.inputs.map(slot);
        const outVars = st.outputs.map((o) => o.v);
        if (st.reduce) outVars.push(st.reduce.out);
        const outs = outVars.map(slot);
        const empty = st.size === 0 && !st.reduce;
        this.steps.push({
          reads: ins,
          writes: outs,
          frees: [],
          source: code.wgsl,
          encode(enc, get, out) {
            const bufs = [...ins.map((s) => get(s)), ...outs.map((_, k) => out(k))];
            if (empty || (st.reduce && st.reduce.outSize === 0)) return;
            enc.dispatch(c, bufs, code.grid, label);
          },
        });
      } else if (st.eqn.prim.name === "dot_general") {
        const m = matmulStep(st, be, slot);
        this.sources.push(`// ${st.epilogue ? "dot_general + epilogue" : "dot_general"}\n${m.source}`);
        this.steps.push({ ...m, frees: [] });
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
  }

  describe(): string {
    return this.sources.join("\n\n");
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
        return {
          ...base,
          source: `// jit_call ${(P.name as string) ?? ""}\n${sub.describe()}`,
          encode(enc, get, out) {
            const res = sub.run(enc, e.inputs.map((_, i) => getIn(get, i)));
            res.forEach((b, k) => enc.copy(b, 0, out(k), 0, bytesOf(e.outputs[k]!.aval.size)));
            res.forEach((b) => be.release(b));
          },
        };
      }
      case "while":
        throw new Error("whileLoop with a data-dependent trip count is not supported on the webgpu backend yet; use foriLoop/scan with static bounds");
      case "cond": {
        const branches = (P.branches as Program[]).map((p) => be.compileInner(p));
        const idxSel = branches.map((_, bi) =>
          e.outputs.map((v) => {
            const T = wgslType(v.aval.dtype);
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
        const length = P.length as number;
        const reverse = P.reverse as boolean;
        const nC = P.numConsts as number;
        const nK = P.numCarry as number;
        const xSizes = e.inputs.slice(nC + nK).map((a) => (length === 0 ? 0 : a.aval.size / length));
        const ySizes = e.outputs.slice(nK).map((v) => (length === 0 ? 0 : v.aval.size / length));
        return {
          ...base,
          source: `// scan body (host-driven, ${length} iterations)\n${body.describe()}`,
          encode(enc, get, out) {
            const all = e.inputs.map((_, i) => getIn(get, i));
            const consts = all.slice(0, nC);
            let carry = all.slice(nC, nC + nK);
            let ownCarry = false;
            const xs = all.slice(nC + nK);
            for (let t = 0; t < length; t++) {
              const i = reverse ? length - 1 - t : t;
              const xi = xs.map((x, j) => {
                const b = enc.temp(xSizes[j]!);
                enc.copy(x, i * xSizes[j]! * 4, b, 0, xSizes[j]! * 4);
                return b;
              });
              const res = body.run(enc, [...consts, ...carry, ...xi]);
              xi.forEach((b) => be.release(b));
              if (ownCarry) carry.forEach((b) => be.release(b));
              carry = res.slice(0, nK);
              ownCarry = true;
              res.slice(nK).forEach((y, j) => {
                enc.copy(y, 0, out(nK + j), i * ySizes[j]! * 4, ySizes[j]! * 4);
                be.release(y);
              });
            }
            carry.forEach((b, k) => {
              enc.copy(b, 0, out(k), 0, bytesOf(e.outputs[k]!.aval.size));
              if (ownCarry) be.release(b);
            });
          },
        };
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
            const t = enc.temp(b.temp);
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
    const env: (GPUBuffer | undefined)[] = new Array(this.slots.size);
    const owned = new Set<number>();
    this.inputSlots.forEach((s, i) => (env[s] = inputs[i]));
    const be = this.be;
    for (const st of this.steps) {
      const get = (s: number): GPUBuffer => env[s]!;
      st.writes.forEach((w) => {
        const p = pre?.get(w);
        if (p) env[w] = p;
        else {
          env[w] = enc.temp(this.slotAvals[w]!.size);
          owned.add(w);
        }
      });
      st.encode(enc, get, (k) => env[st.writes[k]!]!);
      for (const f of st.frees) {
        if (owned.has(f)) {
          be.release(env[f]!);
          owned.delete(f);
        }
        env[f] = undefined;
      }
    }
    return env;
  }

  /** Run as a sub-program: fresh output buffers (owned by the caller). */
  run(enc: Enc, inputs: readonly GPUBuffer[]): GPUBuffer[] {
    const env = this.encodeInto(enc, inputs);
    return this.collect(enc, env, new Set(inputs));
  }

  collect(enc: Enc, env: (GPUBuffer | undefined)[], avoid: Set<GPUBuffer>, skip?: Set<number>): GPUBuffer[] {
    const seen = new Set<GPUBuffer>(avoid);
    return this.program.outputs.map((o, k) => {
      if (skip?.has(k)) return undefined as unknown as GPUBuffer;
      const n = o.aval.size;
      if (o instanceof Literal) {
        const b = enc.temp(n);
        this.be.device.queue.writeBuffer(b, 0, hostToDevice(o.aval.dtype, castArray(o.value, o.aval.dtype)));
        return b;
      }
      let b = env[this.slots.get(o)!]!;
      if (seen.has(b)) {
        const c = enc.temp(n);
        enc.copy(b, 0, c, 0, bytesOf(n));
        b = c;
      }
      seen.add(b);
      return b;
    });
  }
}

function castArray(v: number, d: DType): TypedArray {
  const a = typedArrayFor(d, 1);
  a[0] = v;
  return a;
}


function gridOf(n: number): [number, number] {
  const groups = Math.max(1, Math.ceil(n / 256));
  return groups <= 65535 ? [groups, 1] : [65535, Math.ceil(groups / 65535)];
}

/** Host typed array → the bytes the device holds (bool widened to u32). */
function hostToDevice(d: DType, data: TypedArray): Uint8Array {
  if (d === "bool") {
    const w = new Uint32Array(data.length);
    for (let i = 0; i < data.length; i++) w[i] = data[i] ? 1 : 0;
    return new Uint8Array(w.buffer);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

let current: WebGpuBackend | undefined;

export class WebGpuBackend implements Backend {
  readonly name = "webgpu";
  readonly device: GPUDevice;
  private liveBuffers = 0;
  private liveBytes = 0;
  private readonly pool = new Map<number, GPUBuffer[]>();
  private pooledBytes = 0;
  private readonly pipelines = new Map<string, Compiled>();
  private readonly layouts = new Map<number, GPUBindGroupLayout>();
  private readonly inner = new WeakMap<Program, GpuExecutable>();
  private lostReason: string | undefined;
  private pendingError: Error | undefined;
  private readonly errorChecks = new Set<Promise<void>>();
  private disposed = false;

  constructor(private readonly bundle: DeviceBundle) {
    this.device = bundle.device;
    void this.device.lost.then((info) => {
      if (this.disposed && !this.lostReason) return;
      this.lostReason ??= info.message || info.reason || "unknown reason";
    });
  }

  get info(): DeviceBundle["info"] {
    return this.bundle.info;
  }

  private check(): void {
    if (this.lostReason !== undefined) {
      // Unregister the dead instance so the next setBackend("webgpu") starts a fresh device.
      if (current === this) {
        current = undefined;
        resetBackend("webgpu");
      }
      throw new Error(`webgpu device was lost (${this.lostReason}); call setBackend("webgpu") again to start a fresh device`);
    }
    if (this.pendingError) {
      const e = this.pendingError;
      this.pendingError = undefined;
      throw e;
    }
  }

  private watch(p: Promise<GPUError | null>, what: () => string): void {
    const c = p.then(
      (err) => {
        if (err && !this.pendingError) this.pendingError = new Error(`webgpu backend: ${err.message}\n${what()}`);
      },
      () => {},
    );
    this.errorChecks.add(c);
    void c.then(() => this.errorChecks.delete(c));
  }

  /** Simulate losing the device (tests): the next call throws. */
  loseDevice(): void {
    this.lostReason ??= "simulated device loss";
    try {
      this.device.destroy();
    } catch {
      /* already gone */
    }
  }

  supportsDtype(d: DType): boolean {
    return d !== "float16";
  }

  private checkDtype(d: DType): void {
    if (d === "float16")
      throw new Error(
        `webgpu backend: float16 is not supported on this device${this.bundle.hasF16 ? "" : " (the adapter has no shader-f16 feature)"}; use float32`,
      );
  }

  acquire(bytes: number): GPUBuffer {
    const size = bucket(bytes);
    const list = this.pool.get(size);
    const b = list?.pop();
    if (b) {
      this.pooledBytes -= size;
      return b;
    }
    return this.device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  }

  /**
   * Return a buffer to the pool. Never destroys: a buffer released while a
   * command encoder is being recorded may still be used by it. The pool is
   * trimmed between executes (trimPool).
   */
  release(b: GPUBuffer): void {
    let list = this.pool.get(b.size);
    if (!list) this.pool.set(b.size, (list = []));
    list.push(b);
    this.pooledBytes += b.size;
  }

  /** Destroy pooled buffers beyond the pool's budget (only between encodes). */
  private trimPool(): void {
    const budget = 256 * 1024 * 1024;
    if (this.pooledBytes <= budget) return;
    const sizes = [...this.pool.keys()].sort((a, b) => b - a);
    for (const size of sizes) {
      const list = this.pool.get(size)!;
      while (list.length && this.pooledBytes > budget) {
        list.pop()!.destroy();
        this.pooledBytes -= size;
      }
    }
  }

  pipeline(wgsl: string, nBindings: number): Compiled {
    let c = this.pipelines.get(wgsl);
    if (c) return c;
    let layout = this.layouts.get(nBindings);
    if (!layout) {
      layout = this.device.createBindGroupLayout({
        entries: Array.from({ length: nBindings }, (_, i) => ({ binding: i, visibility: GPUShaderStage.COMPUTE, buffer: { type: "storage" as const } })),
      });
      this.layouts.set(nBindings, layout);
    }
    this.device.pushErrorScope("validation");
    const module = this.device.createShaderModule({ code: wgsl });
    const pipeline = this.device.createComputePipeline({
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: "main" },
    });
    this.watch(this.device.popErrorScope(), () => `while compiling this kernel:\n${wgsl}`);
    c = { pipeline, layout, wgsl, n: nBindings };
    this.pipelines.set(wgsl, c);
    return c;
  }

  private readonly dummies: GPUBuffer[] = [];
  private readonly constants = new Map<string, GPUBuffer>();

  /** A device buffer holding one scalar (literal operands of routines), shared by value. */
  constantBuffer(d: DType, v: number): GPUBuffer {
    const data = hostToDevice(d, castArray(v, d));
    const key = `${d}:${[...data].join(",")}`;
    let b = this.constants.get(key);
    if (!b) {
      b = this.device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
      this.device.queue.writeBuffer(b, 0, data);
      this.constants.set(key, b);
    }
    return b;
  }

  /**
   * Pipeline and bind group for a dispatch. WebGPU forbids binding one buffer
   * to two writable bindings, so when a buffer repeats (an in-place update,
   * or one array passed as two arguments) a variant of the shader reads and
   * writes every repeat through the first binding, and the repeats get
   * distinct 16-byte placeholders.
   */
  bindDeduped(c: Compiled, bufs: readonly GPUBuffer[]): [GPUComputePipeline, GPUBindGroup] {
    const first = bufs.map((b) => bufs.indexOf(b));
    if (first.every((f, i) => f === i)) return [c.pipeline, this.bindGroup(c.layout, bufs)];
    let text = c.wgsl;
    first.forEach((f, j) => {
      if (f !== j) text = text.replace(new RegExp(`\\bb${j}\\[`, "g"), `b${f}[`);
    });
    const v = this.pipeline(`${text}\n// aliased bindings: ${first.join(",")}`, c.n);
    const bound = bufs.map((b, j) => {
      if (first[j] === j) return b;
      while (this.dummies.length <= j)
        this.dummies.push(this.device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST }));
      return this.dummies[j]!;
    });
    return [v.pipeline, this.bindGroup(v.layout, bound)];
  }

  bindGroup(layout: GPUBindGroupLayout, bufs: readonly GPUBuffer[]): GPUBindGroup {
    return this.device.createBindGroup({ layout, entries: bufs.map((buffer, i) => ({ binding: i, resource: { buffer } })) });
  }

  private handle(h: BufferHandle): GpuHandle {
    if (!(h instanceof GpuHandle) || h.backend !== this) throw new TypeError("webgpu backend: not a buffer of this webgpu device");
    if (h.freed) throw new Error("webgpu backend: buffer used after it was freed");
    return h;
  }

  private wrap(b: GPUBuffer, n: number): GpuHandle {
    this.liveBuffers++;
    this.liveBytes += bytesOf(n);
    return new GpuHandle(b, bytesOf(n), this);
  }

  alloc(aval: ShapedArray, data?: TypedArray): BufferHandle {
    this.check();
    this.checkDtype(aval.dtype);
    const bytes = bytesOf(aval.size);
    const b = this.acquire(bytes);
    if (data) {
      if (data.length !== aval.size) throw new RangeError(`webgpu backend: alloc of ${aval.str()} got ${data.length} elements of data`);
      if (aval.size > 0) this.device.queue.writeBuffer(b, 0, hostToDevice(aval.dtype, data));
    } else this.device.queue.writeBuffer(b, 0, new Uint8Array(bytes));
    return this.wrap(b, aval.size);
  }

  async read(h: BufferHandle, aval: ShapedArray): Promise<TypedArray> {
    this.check();
    const g = this.handle(h);
    const n = aval.size;
    const out = typedArrayFor(aval.dtype, n);
    if (n === 0) return out;
    const staging = this.device.createBuffer({ size: n * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(g.buffer, 0, staging, 0, n * 4);
    this.device.queue.submit([enc.finish()]);
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (e) {
      await Promise.all(this.errorChecks);
      this.check();
      throw new Error(`webgpu backend: reading a buffer failed: ${(e as Error).message}`);
    }
    const words = staging.getMappedRange().slice(0);
    staging.unmap();
    staging.destroy();
    await Promise.all(this.errorChecks);
    this.check();
    if (aval.dtype === "bool") {
      const w = new Uint32Array(words);
      for (let i = 0; i < n; i++) out[i] = w[i] ? 1 : 0;
    } else (out as Uint32Array).set(new ((out.constructor as unknown) as Uint32ArrayConstructor)(words));
    return out;
  }

  free(h: BufferHandle): void {
    if (!(h instanceof GpuHandle) || h.freed || h.backend !== this) return;
    h.freed = true;
    this.liveBuffers--;
    this.liveBytes -= h.bytes;
    if (!this.lostReason && !this.disposed) this.release(h.buffer);
  }

  memory(): { buffers: number; bytes: number } {
    return { buffers: this.liveBuffers, bytes: this.liveBytes };
  }

  compile(p: Program): GpuExecutable {
    this.check();
    for (const v of p.inputs) this.checkDtype(v.aval.dtype);
    for (const e of p.eqns) for (const v of e.outputs) if (v.aval.kind === "array") this.checkDtype(v.aval.dtype);
    // Transposes around dot_general become strided reads; elementwise consumers of a dot become its epilogue.
    const q = fusion.foldMovement(p);
    const plan = fusion.fuseDotEpilogues(q, fusion.planProgram(q), { maxBuffers: this.device.limits.maxStorageBuffersPerShaderStage });
    return new GpuExecutable(q, plan, this);
  }

  compileInner(p: Program): GpuExecutable {
    let x = this.inner.get(p);
    if (!x) this.inner.set(p, (x = this.compile(p)));
    return x;
  }

  execute(e: Executable, inputs: readonly BufferHandle[], donated: readonly boolean[]): BufferHandle[] {
    this.check();
    const x = e as GpuExecutable;
    if (!(x instanceof GpuExecutable)) throw new TypeError("webgpu backend: executable was not compiled by the webgpu backend");
    const p = x.program;
    if (inputs.length !== p.inputs.length)
      throw new TypeError(`webgpu backend: ${p.name ?? "program"} expects ${p.inputs.length} inputs, got ${inputs.length}`);
    const hs = inputs.map((h) => this.handle(h));
    const bufs = hs.map((h) => h.buffer);
    const result: (BufferHandle | undefined)[] = new Array(p.outputs.length);
    let pre: Map<number, GPUBuffer> | undefined;
    const copies: { output: number; input: number }[] = [];
    const skip = new Set<number>();
    for (const al of x.aliasInfo) {
      if (!donated[al.input]) continue;
      const h = hs[al.input]!;
      if (hs.indexOf(h) !== hs.lastIndexOf(h)) continue;
      result[al.output] = h;
      skip.add(al.output);
      if (al.mode === "inplace") (pre ??= new Map()).set(al.slot, h.buffer);
      else if (al.mode === "copy") copies.push(al);
    }
    this.trimPool();
    this.device.pushErrorScope("validation");
    const enc = new Enc(this, this.device.createCommandEncoder());
    const env = x.encodeInto(enc, bufs, pre);
    // Donated copy-mode outputs: compute, then copy into the input's buffer.
    const copySkip = new Set([...skip].filter((k) => !copies.some((c) => c.output === k)));
    const outs = x.collect(enc, env, new Set([...bufs, ...(pre ? pre.values() : [])]), copySkip);
    for (const c of copies) {
      const o = outs[c.output]!;
      enc.copy(o, 0, bufs[c.input]!, 0, bytesOf(p.outputs[c.output]!.aval.size));
      if (!bufs.includes(o)) this.release(o);
    }
    enc.endPass();
    this.device.queue.submit([enc.encoder.finish()]);
    this.watch(this.device.popErrorScope(), () => `while running ${p.name ?? "a program"}; its kernels:\n${x.describe()}`);
    for (let k = 0; k < outs.length; k++) {
      if (result[k]) continue;
      result[k] = this.wrap(outs[k]!, p.outputs[k]!.aval.size);
    }
    lastProfile = { dispatches: enc.dispatches, bytesAllocated: enc.bytes, kernels: enc.labels };
    return result as BufferHandle[];
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (current === this) current = undefined;
    for (const l of this.pool.values()) for (const b of l) b.destroy();
    this.pool.clear();
    try {
      this.device.destroy();
    } catch {
      /* lost */
    }
    this.bundle.gpu = undefined;
  }
}

/** Start a webgpu backend on a fresh device (what `setBackend("webgpu")` calls). */
export async function createWebGpuBackend(): Promise<WebGpuBackend> {
  const b = new WebGpuBackend(await createDevice());
  current = b;
  return b;
}

/** Lose the current webgpu device on purpose (for testing recovery). */
export function simulateDeviceLoss(): void {
  if (!current) throw new Error("simulateDeviceLoss: no webgpu device is running");
  current.loseDevice();
}

registerBackend("webgpu", createWebGpuBackend, { priority: -1 });
