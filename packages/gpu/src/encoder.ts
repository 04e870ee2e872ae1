/**
 * The encoding state of one execute: the command encoder, the open compute
 * pass, counters for `profile()`, and — for programs with a data-dependent
 * `while` — the device-side guard and the submit/read-back points.
 *
 * Guards (./guard.ts): inside a while loop several iterations are encoded per
 * submit; every dispatch then runs a variant of its shader that returns at
 * once when the loop's flag (a 16-byte buffer bound as a uniform) says the loop
 * has finished, and copies become guarded copy kernels. Outside a loop nothing
 * changes: plain dispatches and copyBufferToBuffer.
 */
import type { DType, Program } from "@refs/core";
import { guardedCopy, kitOf } from "./guard.js";
import { deviceBytes, elemBytes, wordAligned } from "./layout.js";
import { grid, offsetCopyWgsl } from "./kernels.js";

const COPY16_WGSL = offsetCopyWgsl("f16");

export interface Compiled {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  wgsl: string;
  n: number;
}

/** What encoding needs from the backend. */
export interface EncBackend {
  readonly device: GPUDevice;
  acquire(bytes: number): GPUBuffer;
  release(b: GPUBuffer): void;
  pipeline(wgsl: string, nBindings: number): Compiled;
  /** Pipeline and bind group for a dispatch; with `guard`, the variant that returns when the guard's flag is 0. */
  bindDeduped(c: Compiled, bufs: readonly GPUBuffer[], guard?: GPUBuffer): [GPUComputePipeline, GPUBindGroup];
  constantBuffer(d: "uint32", v: number): GPUBuffer;
  /** Turn a popped error scope into the backend's pending error. */
  watch(p: Promise<GPUError | null>, what: () => string): void;
  /** mapAsync(READ), rejected with a clear message when the device is lost or disposed meanwhile. */
  mapRead(b: GPUBuffer): Promise<void>;
  /** Wait for outstanding error checks; throw if the device was lost or a validation error is pending. */
  healthy(): Promise<void>;
  compileInner(p: Program): SubProgram;
  /** The most while-loop iterations encoded per submit. */
  readonly whileBatch: number;
}

/** A compiled sub-program (jit_call body, scan body, cond branch, while cond/body). */
export interface SubProgram {
  /** Contains a data-dependent while loop: must be encoded with runAsync. */
  readonly async: boolean;
  /** Outputs in `into` are written into the given input buffers and come back undefined. */
  run(enc: Enc, inputs: readonly GPUBuffer[], into?: ReadonlyMap<number, GPUBuffer>): GPUBuffer[];
  runAsync(enc: Enc, inputs: readonly GPUBuffer[], into?: ReadonlyMap<number, GPUBuffer>): Promise<GPUBuffer[]>;
  /** Of the (input -> output) pairs, the outputs that may be written into their input's buffer. */
  inPlaceOutputs(pairs: readonly { input: number; output: number }[]): number[];
  describe(): string;
}

export interface Step {
  encode(enc: Enc, get: (a: number) => GPUBuffer, out: (k: number) => GPUBuffer): void;
  /** Present on steps that contain a while loop: encode with device reads in between. */
  encodeAsync?(enc: Enc, get: (a: number) => GPUBuffer, out: (k: number) => GPUBuffer): Promise<void>;
  /** Slots read (-1: literal) and written. */
  readonly reads: readonly number[];
  readonly writes: readonly number[];
  frees: number[];
  readonly source: string;
}

/** Kernel labels kept for profile() (a long while loop would otherwise keep millions). */
const MAX_LABELS = 10_000;

export class Enc {
  pass: GPUComputePassEncoder | undefined;
  dispatches = 0;
  bytes = 0;
  labels: string[] = [];
  /** Command buffers submitted (1 plus one per device read inside while loops). */
  submits = 0;
  /** While-loop iterations that ran (known once each loop has finished). */
  trips = 0;
  /** The flag buffer of the innermost while loop being encoded (undefined: unguarded). */
  guard: GPUBuffer | undefined;
  private scoped = false;

  constructor(
    readonly be: EncBackend,
    public encoder: GPUCommandEncoder,
    private readonly what: () => string = () => "",
  ) {}

  dispatch(c: Compiled, bufs: readonly GPUBuffer[], g: [number, number], label: string): void {
    const [pl, bg] = this.be.bindDeduped(c, bufs, this.guard);
    this.pass ??= this.encoder.beginComputePass();
    this.pass.setPipeline(pl);
    this.pass.setBindGroup(0, bg);
    this.pass.dispatchWorkgroups(g[0], g[1]);
    this.dispatches++;
    if (this.labels.length < MAX_LABELS) this.labels.push(label);
  }

  /** A dispatch that ignores the guard (the guard kernels themselves). */
  dispatchAlways(c: Compiled, bufs: readonly GPUBuffer[], label: string): void {
    const g = this.guard;
    this.guard = undefined;
    try {
      this.dispatch(c, bufs, [1, 1], label);
    } finally {
      this.guard = g;
    }
  }

  /** Copy `n` bytes (offsets and size multiples of 4). */
  copy(src: GPUBuffer, so: number, dst: GPUBuffer, dOff: number, n: number): void {
    if (n <= 0) return;
    if (this.guard) return guardedCopy(this, src, so, dst, dOff, n);
    this.endPass();
    this.encoder.copyBufferToBuffer(src, so, dst, dOff, n);
  }

  /**
   * Copy `n` elements of dtype `d` from element `from` of `src` to element
   * `to` of `dst` (scan rows). copyBufferToBuffer where the bytes are whole
   * words, a copy kernel where a float16 slice starts or ends mid-word.
   */
  copyElems(src: GPUBuffer, from: number, dst: GPUBuffer, to: number, n: number, d: DType): void {
    if (n <= 0) return;
    const b = elemBytes(d);
    if (wordAligned(from, n, d) && wordAligned(to, n, d)) return this.copy(src, from * b, dst, to * b, n * b);
    const kit = kitOf(this.be);
    this.dispatch(this.be.pipeline(COPY16_WGSL, 3), [src, dst, kit.paramsBuffer(from, to, n)], grid(n), "copy16");
  }

  endPass(): void {
    this.pass?.end();
    this.pass = undefined;
  }

  /** A pooled buffer for `nElems` elements of `d`. */
  temp(nElems: number, d: DType): GPUBuffer {
    const b = this.be.acquire(deviceBytes(nElems, d));
    this.bytes += b.size;
    return b;
  }

  // ---- asynchronous encoding (programs with a while loop) ----

  /** Capture validation errors per submitted segment (see flush). */
  beginScope(): void {
    this.be.device.pushErrorScope("validation");
    this.scoped = true;
  }

  private endScope(): void {
    if (!this.scoped) return;
    this.scoped = false;
    this.be.watch(this.be.device.popErrorScope(), this.what);
  }

  /** Submit what is recorded and continue in a fresh encoder. */
  flush(): void {
    this.submit();
    this.beginScope();
    this.encoder = this.be.device.createCommandEncoder();
  }

  /** Submit what is recorded (the last segment). */
  submit(): void {
    this.endPass();
    this.be.device.queue.submit([this.encoder.finish()]);
    this.submits++;
    this.endScope();
  }

  /** After a failure: close the error scope so the device's scope stack stays balanced. */
  abort(): void {
    this.pass = undefined;
    if (this.scoped) {
      this.scoped = false;
      void this.be.device.popErrorScope().catch(() => {});
    }
  }

  /** Submit everything so far and read `bytes` (<= 16) from the start of `src`. */
  async read(src: GPUBuffer, bytes: number): Promise<Uint32Array> {
    const kit = kitOf(this.be);
    const staging = kit.staging();
    this.endPass();
    this.encoder.copyBufferToBuffer(src, 0, staging, 0, bytes);
    this.flush();
    await this.be.mapRead(staging);
    const v = new Uint32Array(staging.getMappedRange(0, 16).slice(0, bytes));
    staging.unmap();
    kit.returnStaging(staging);
    await this.be.healthy();
    return v;
  }
}
