/**
 * The WebGPU backend: the device, the buffer pool, handles and memory
 * accounting, pipelines and bind groups, reads, and `execute` (one command
 * encoder, one submit; programs with a data-dependent while loop run as tasks
 * of the ordered queue, ./queue.ts).
 */
import { resetBackend, fusion, typedArrayFor } from "@refs/core";
import type { Backend, BufferHandle, DType, Executable, Program, ShapedArray, TypedArray } from "@refs/core";
import { createDevice, type DeviceBundle } from "./device.js";
import { Enc, type Compiled } from "./encoder.js";
import { guardedBind } from "./guard.js";
import { bindings } from "./kernels.js";
import { deviceBytes, deviceToHost, hostToDevice } from "./layout.js";
import { bindingLimit, checkBufferSize, checkProgramBuffers } from "./limits.js";
import { WorkQueue } from "./queue.js";
import { GpuExecutable, castArray } from "./executable.js";

const bytesOf = (a: ShapedArray): number => deviceBytes(a.size, a.dtype);

export interface Profile {
  /** Dispatches encoded (inside while loops: per iteration encoded, including the guarded ones past the end). */
  dispatches: number;
  /** Bytes of temporaries and outputs taken from the pool or newly created. */
  bytesAllocated: number;
  /** Labels of the dispatches (the first 10,000). */
  kernels: string[];
  /** Command buffers submitted: 1, plus one per device read inside while loops. */
  submits: number;
  /** Iterations that while loops ran. */
  loopIterations: number;
}

let lastProfile: Profile = { dispatches: 0, bytesAllocated: 0, kernels: [], submits: 0, loopIterations: 0 };
/**
 * Statistics of the last `execute` on the webgpu backend. A program with a
 * while loop reports when it has finished (e.g. after `await y.data()`).
 */
export function profile(): Profile {
  return { ...lastProfile, kernels: [...lastProfile.kernels] };
}

class GpuHandle implements BufferHandle {
  declare readonly __bufferHandle?: never;
  freed = false;
  /** Why the value was never computed (a queued program failed, the device was lost). */
  error: Error | undefined;
  constructor(
    /** Undefined until the queued work that produces it has run. */
    public buffer: GPUBuffer | undefined,
    readonly bytes: number,
    readonly backend: WebGpuBackend,
  ) {}
}

function bucket(bytes: number): number {
  const MiB = 1 << 20;
  if (bytes > MiB) return Math.ceil(bytes / MiB) * MiB;
  let b = 16;
  while (b < bytes) b *= 2;
  return b;
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
  /** Work deferred behind a program with a while loop (see queue.ts); empty on the synchronous path. */
  private readonly queue = new WorkQueue((e) => (this.pendingError ??= asError(e)));
  /** Waits in flight on the device (reads, error checks): rejected when it is lost or the backend disposed, so they never hang. */
  private readonly readers = new Set<(e: Error) => void>();
  /** The largest buffer a binding may cover: min(maxStorageBufferBindingSize, maxBufferSize). */
  readonly maxBinding: number;
  /**
   * The most iterations of a data-dependent while loop encoded per submit
   * (the batch doubles from 1 up to this). 1 reads the loop's flag back after
   * every iteration.
   */
  whileBatch = 64;

  constructor(private readonly bundle: DeviceBundle) {
    this.device = bundle.device;
    this.maxBinding = bindingLimit(this.device);
    void this.device.lost.then((info) => {
      if (!(this.disposed && !this.lostReason)) this.lostReason ??= info.message || info.reason || "unknown reason";
      const e = this.unusable() ?? new Error("webgpu device was lost");
      for (const r of this.readers) r(e);
    });
  }

  get info(): DeviceBundle["info"] {
    return this.bundle.info;
  }

  /** Why nothing can run any more (lost device, disposed backend), if so. */
  private unusable(): Error | undefined {
    if (this.lostReason !== undefined) return this.lostError();
    if (this.disposed) return new Error("webgpu backend: the backend was disposed; call setBackend(\"webgpu\") again to start a fresh device");
    return undefined;
  }

  private lostError(): Error {
    // Unregister the dead instance so the next setBackend("webgpu") starts a fresh device.
    if (current === this) {
      current = undefined;
      resetBackend("webgpu");
    }
    return new Error(`webgpu device was lost (${this.lostReason}); call setBackend("webgpu") again to start a fresh device`);
  }

  private check(): void {
    if (this.lostReason !== undefined) throw this.lostError();
    if (this.pendingError) {
      const e = this.pendingError;
      this.pendingError = undefined;
      throw e;
    }
  }

  /** @internal Turn a popped error scope into the pending error that the next call throws. */
  watch(p: Promise<GPUError | null>, what: () => string): void {
    const c = p.then(
      (err) => {
        if (err && !this.pendingError) this.pendingError = new Error(`webgpu backend: ${err.message}\n${what()}`);
      },
      () => {},
    );
    this.errorChecks.add(c);
    void c.then(() => this.errorChecks.delete(c));
  }

  /** @internal mapAsync(READ) that rejects with a clear message if the device goes away meanwhile. */
  async mapRead(b: GPUBuffer): Promise<void> {
    try {
      await this.unlessGone(b.mapAsync(GPUMapMode.READ));
    } catch (e) {
      throw this.unusable() ?? new Error(`webgpu backend: reading a buffer failed: ${(e as Error).message}`);
    }
  }

  /** @internal Wait for outstanding validation checks; throw (without clearing it) what the next call would throw. */
  async healthy(): Promise<void> {
    await this.unlessGone(Promise.all(this.errorChecks));
    const why = this.unusable() ?? this.pendingError;
    if (why) throw why;
  }

  /** `p`, or a rejection as soon as the device is lost or the backend disposed (so no wait outlives the device). */
  private async unlessGone<T>(p: Promise<T>): Promise<T> {
    const why = this.unusable();
    if (why) throw why;
    let stop!: (e: Error) => void;
    const gone = new Promise<never>((_, reject) => (stop = reject));
    this.readers.add(stop);
    try {
      return await Promise.race([p, gone]);
    } finally {
      this.readers.delete(stop);
    }
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

  /** float16 needs the adapter's shader-f16 feature (requested in device.ts whenever the adapter has it). */
  supportsDtype(d: DType): boolean {
    return d !== "float16" || this.bundle.hasF16;
  }

  private checkDtype(d: DType, where: string): void {
    if (!this.supportsDtype(d))
      throw new Error(
        `webgpu backend: float16 is not supported on this device (the adapter has no shader-f16 feature), found in ${where}; use float32 (x.astype("float32")), ` +
          `or an adapter with shader-f16 (most GPUs with Vulkan, Metal or D3D12 have it; adapterInfo().features lists this one's)`,
      );
  }

  acquire(bytes: number): GPUBuffer {
    let size = bucket(bytes);
    // The pool's rounding must not push a buffer that fits over the binding limit.
    if (size > this.maxBinding && bytes <= this.maxBinding) size = Math.ceil(bytes / 16) * 16;
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
  bindDeduped(c: Compiled, bufs: readonly GPUBuffer[], guard?: GPUBuffer): [GPUComputePipeline, GPUBindGroup] {
    const first = bufs.map((b) => bufs.indexOf(b));
    if (first.every((f, i) => f === i)) return guard ? guardedBind(this, c, bufs, guard) : [c.pipeline, this.bindGroup(c.layout, bufs)];
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
    return guard ? guardedBind(this, v, bound, guard) : [v.pipeline, this.bindGroup(v.layout, bound)];
  }

  bindGroup(layout: GPUBindGroupLayout, bufs: readonly GPUBuffer[]): GPUBindGroup {
    return this.device.createBindGroup({ layout, entries: bufs.map((buffer, i) => ({ binding: i, resource: { buffer } })) });
  }

  private handle(h: BufferHandle): GpuHandle {
    if (!(h instanceof GpuHandle) || h.backend !== this) throw new TypeError("webgpu backend: not a buffer of this webgpu device");
    if (h.freed) throw new Error("webgpu backend: buffer used after it was freed");
    return h;
  }

  private wrap(b: GPUBuffer | undefined, a: ShapedArray): GpuHandle {
    this.liveBuffers++;
    this.liveBytes += bytesOf(a);
    return new GpuHandle(b, bytesOf(a), this);
  }

  alloc(aval: ShapedArray, data?: TypedArray): BufferHandle {
    this.check();
    this.checkDtype(aval.dtype, `alloc of ${aval.str()}`);
    checkBufferSize(aval, this.maxBinding, () => `alloc of ${aval.str()}`);
    if (data && data.length !== aval.size) throw new RangeError(`webgpu backend: alloc of ${aval.str()} got ${data.length} elements of data`);
    const bytes = bytesOf(aval);
    if (!this.queue.idle) {
      // Behind queued work: the pool's buffers may still be used by it, so take one (and write it) in turn.
      const h = this.wrap(undefined, aval);
      const words = data ? (aval.size > 0 ? hostToDevice(aval.dtype, data).slice() : undefined) : new Uint8Array(bytes);
      this.queue.push(() => {
        const why = this.unusable();
        if (why) return void (h.error = why);
        h.buffer = this.acquire(bytes);
        if (words) this.device.queue.writeBuffer(h.buffer, 0, words);
      });
      return h;
    }
    const b = this.acquire(bytes);
    if (data) {
      if (aval.size > 0) this.device.queue.writeBuffer(b, 0, hostToDevice(aval.dtype, data));
    } else this.device.queue.writeBuffer(b, 0, new Uint8Array(bytes));
    return this.wrap(b, aval);
  }

  async read(h: BufferHandle, aval: ShapedArray): Promise<TypedArray> {
    this.check();
    const g = this.handle(h);
    const n = aval.size;
    const out = typedArrayFor(aval.dtype, n);
    if (n === 0) return out;
    // Behind queued work the copy is queued too: it sees that work's results and precedes later writes.
    const bytes = bytesOf(aval);
    const staging = this.queue.idle
      ? this.stageRead(g, bytes)
      : await new Promise<GPUBuffer>((resolve, reject) =>
          this.queue.push(() => {
            try {
              resolve(this.stageRead(g, bytes));
            } catch (e) {
              reject(e);
            }
          }),
        );
    const settle = () => this.unlessGone(Promise.all(this.errorChecks)).catch(() => {});
    try {
      await this.mapRead(staging);
    } catch (e) {
      await settle();
      this.check();
      throw e;
    }
    const words = staging.getMappedRange().slice(0);
    staging.unmap();
    staging.destroy();
    await settle();
    this.check();
    deviceToHost(aval.dtype, words, out);
    return out;
  }

  /** Copy the first `bytes` of a buffer into a fresh mappable one and submit. */
  private stageRead(g: GpuHandle, bytes: number): GPUBuffer {
    const why = g.error ?? this.unusable();
    if (why) throw why;
    const staging = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(g.buffer!, 0, staging, 0, bytes);
    this.device.queue.submit([enc.finish()]);
    return staging;
  }

  free(h: BufferHandle): void {
    if (!(h instanceof GpuHandle) || h.freed || h.backend !== this) return;
    h.freed = true;
    this.liveBuffers--;
    this.liveBytes -= h.bytes;
    if (this.queue.idle) this.releaseHandle(h);
    else this.queue.push(() => this.releaseHandle(h));
  }

  private releaseHandle(h: GpuHandle): void {
    if (h.buffer && !this.lostReason && !this.disposed) this.release(h.buffer);
  }

  memory(): { buffers: number; bytes: number } {
    return { buffers: this.liveBuffers, bytes: this.liveBytes };
  }

  compile(p: Program): GpuExecutable {
    this.check();
    const name = p.name ?? "a program";
    for (const v of p.inputs) this.checkDtype(v.aval.dtype, name);
    for (const e of p.eqns)
      for (const v of e.outputs) if (v.aval.kind === "array") this.checkDtype(v.aval.dtype, e.prim.name === name ? name : `${e.prim.name} in ${name}`);
    // Transposes around dot_general become strided reads; elementwise consumers of a dot become its epilogue.
    const q = fusion.foldMovement(p);
    const plan = fusion.fuseDotEpilogues(q, fusion.planProgram(q), { maxBuffers: this.device.limits.maxStorageBuffersPerShaderStage });
    const x = new GpuExecutable(q, plan, this);
    checkProgramBuffers(q, x.slots, this.maxBinding);
    return x;
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
    const bad = hs.find((h) => h.error);
    if (bad) throw bad.error;
    const d = donation(x, hs, donated);
    if (!x.async && this.queue.idle) return this.runNow(x, hs, d);
    // A while loop, or work queued behind one: the outputs' buffers are assigned when the task runs.
    const result = d.result.map((h, k) => h ?? this.wrap(undefined, p.outputs[k]!.aval));
    this.queue.push(() => this.runQueued(x, hs, d, result));
    return result;
  }

  /** The synchronous path: encode, submit once, return the outputs. */
  private runNow(x: GpuExecutable, hs: readonly GpuHandle[], d: Donation): BufferHandle[] {
    const p = x.program;
    const bufs = hs.map((h) => h.buffer!);
    const pre = preBuffers(d, bufs);
    this.trimPool();
    this.device.pushErrorScope("validation");
    const enc = new Enc(this, this.device.createCommandEncoder());
    const env = x.encodeInto(enc, bufs, pre);
    const outs = this.collectOutputs(enc, x, env, bufs, pre, d);
    enc.endPass();
    this.device.queue.submit([enc.encoder.finish()]);
    this.watch(this.device.popErrorScope(), () => `while running ${p.name ?? "a program"}; its kernels:\n${x.describe()}`);
    const result: (BufferHandle | undefined)[] = [...d.result];
    for (let k = 0; k < outs.length; k++) {
      if (result[k]) continue;
      result[k] = this.wrap(outs[k]!, p.outputs[k]!.aval);
    }
    lastProfile = { dispatches: enc.dispatches, bytesAllocated: enc.bytes, kernels: enc.labels, submits: 1, loopIterations: 0 };
    return result as BufferHandle[];
  }

  /** A queued task: encode (awaiting device reads inside while loops), submit, hand the buffers to the handles. */
  private async runQueued(x: GpuExecutable, hs: readonly GpuHandle[], d: Donation, result: GpuHandle[]): Promise<void> {
    const p = x.program;
    const why = this.unusable() ?? hs.find((h) => h.error)?.error;
    if (why) return poison(result, why);
    const bufs = hs.map((h) => h.buffer!);
    const pre = preBuffers(d, bufs);
    this.trimPool();
    const enc = new Enc(this, this.device.createCommandEncoder(), () => `while running ${p.name ?? "a program"}; its kernels:\n${x.describe()}`);
    enc.beginScope();
    try {
      const env = x.async ? await x.encodeIntoAsync(enc, bufs, pre) : x.encodeInto(enc, bufs, pre);
      const outs = this.collectOutputs(enc, x, env, bufs, pre, d);
      enc.submit();
      outs.forEach((b, k) => {
        if (!d.result[k]) result[k]!.buffer = b;
      });
      lastProfile = { dispatches: enc.dispatches, bytesAllocated: enc.bytes, kernels: enc.labels, submits: enc.submits, loopIterations: enc.trips };
    } catch (err) {
      enc.abort();
      const e =
        this.unusable() ??
        new Error(`webgpu backend: ${p.name ?? "a program"} failed while it ran (its outputs were never computed): ${asError(err).message}`, { cause: err });
      poison(result, e);
      this.pendingError ??= e;
    }
  }

  /** The program's outputs; copy-mode donated outputs are computed, then copied into the input's buffer. */
  private collectOutputs(enc: Enc, x: GpuExecutable, env: (GPUBuffer | undefined)[], bufs: GPUBuffer[], pre: Map<number, GPUBuffer> | undefined, d: Donation): GPUBuffer[] {
    const copySkip = new Set([...d.skip].filter((k) => !d.copies.some((c) => c.output === k)));
    const outs = x.collect(enc, env, new Set([...bufs, ...(pre ? pre.values() : [])]), copySkip);
    for (const c of d.copies) {
      const o = outs[c.output]!;
      enc.copy(o, 0, bufs[c.input]!, 0, bytesOf(x.program.outputs[c.output]!.aval));
      if (!bufs.includes(o)) this.release(o);
    }
    return outs;
  }

  /** Wait until queued work (programs with while loops and what came after them) has run. */
  async settled(): Promise<void> {
    await this.queue.whenIdle();
  }

  /** Tasks queued or running behind a while loop (0: the synchronous path). */
  get queued(): number {
    return this.queue.length;
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

/** Which outputs reuse a donated input's handle, and how (see fusion.planAliases). */
interface Donation {
  /** The donated input's handle for outputs that reuse it, else undefined. */
  result: (GpuHandle | undefined)[];
  /** In-place outputs: slot -> input index. */
  inplace: Map<number, number>;
  copies: { output: number; input: number }[];
  skip: Set<number>;
}

function donation(x: GpuExecutable, hs: readonly GpuHandle[], donated: readonly boolean[]): Donation {
  const d: Donation = { result: new Array(x.program.outputs.length).fill(undefined), inplace: new Map(), copies: [], skip: new Set() };
  for (const al of x.aliasInfo) {
    if (!donated[al.input]) continue;
    const h = hs[al.input]!;
    if (hs.indexOf(h) !== hs.lastIndexOf(h)) continue;
    d.result[al.output] = h;
    d.skip.add(al.output);
    if (al.mode === "inplace") d.inplace.set(al.slot, al.input);
    else if (al.mode === "copy") d.copies.push(al);
  }
  return d;
}

function preBuffers(d: Donation, bufs: readonly GPUBuffer[]): Map<number, GPUBuffer> | undefined {
  if (d.inplace.size === 0) return undefined;
  return new Map([...d.inplace].map(([slot, i]) => [slot, bufs[i]!]));
}

function poison(hs: readonly GpuHandle[], e: Error): void {
  for (const h of hs) h.error ??= e;
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
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
