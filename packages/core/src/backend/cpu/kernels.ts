/**
 * Running a fused kernel on the CPU: its JS function (codegen.ts) or its Wasm
 * SIMD module (wasm/fused.ts), chosen per call. "auto" (the default) uses
 * Wasm from WASM_MIN_ELEMENTS loop elements up, where the call overhead
 * (writing a job record, staging operands that are not in the heap) is paid
 * back; below that, and for kernels the Wasm generator does not handle, the JS
 * function runs. Big kernels are split into ranges over the worker pool.
 *
 * `setCpuKernelImpl` or REFS_CPU_KERNELS ("js" | "wasm" | "auto") forces a
 * path, so tests can compare both.
 */
import { implSwitch, type CpuImpl } from "./impl.js";
import type { TypedArray } from "../../dtype.js";
import { expKey, type Exp } from "../../fusion/ir.js";
import type { Kernel } from "../../fusion/plan.js";
import { compileKernel, type KernelFn } from "./codegen.js";
import { fusedModule, rangeGranule } from "./wasm/fused.js";
import { compileModule, memoryDecl, options, runJobs, runtime, threadCount } from "./wasm/runtime.js";
import type { WasmHeap } from "./wasm/heap.js";
import type { PoolModule } from "./wasm/pool.js";

export type CpuKernelImpl = CpuImpl;

const kernelImpl = implSwitch("REFS_CPU_KERNELS");

/**
 * Choose the fused-kernel path: "js", "wasm" (every size, where the kernel is
 * supported and Wasm SIMD is available; else JS) or "auto". Returns the
 * previous setting.
 */
export function setCpuKernelImpl(impl: CpuKernelImpl): CpuKernelImpl {
  return kernelImpl.set(impl);
}

/**
 * Weighted work (loop elements x per-element cost, see costOf) from which
 * "auto" runs the Wasm kernel. Measured crossovers (jit, one kernel, this
 * machine): x*2+1 at ~1024 elements, gelu at ~200, a row sum at ~4096; the
 * fixed cost of a Wasm call is ~2 µs.
 */
export const WASM_MIN_WORK = 4096;
/** Weighted work (elements x cost) from which a kernel is split over threads. */
const THREAD_MIN_WORK = 1 << 17;
/** Target weighted work per job when threaded. */
const JOB_WORK = 1 << 16;
/** Ranges of elementwise kernels start at multiples of this (a cache line of float32). */
const EW_GRANULE = 16;

const TRANSCENDENTAL = new Set(["exp", "expm1", "log", "log1p", "tanh", "logistic", "sin", "cos", "erf", "rsqrt", "div"]);

/** Work per loop element: distinct ops (transcendentals count 8), plus loads. */
function costOf(k: Kernel): number {
  const seen = new Set<string>();
  let c = 0;
  const walk = (e: Exp): void => {
    const key = expKey(e);
    if (seen.has(key)) return;
    seen.add(key);
    if (e.k === "load") {
      c += 1;
      walk(e.index);
    } else if (e.k === "op") {
      c += TRANSCENDENTAL.has(e.op) ? 8 : e.op === "threefry2x32" ? 40 : 1;
      e.args.forEach(walk);
    }
  };
  k.outputs.forEach((o) => walk(o.exp));
  if (k.reduce) walk(k.reduce.exp);
  return Math.max(1, c);
}

/** Structural key of the Wasm module (dtypes included, unlike the JS source). */
function moduleKey(k: Kernel): string {
  const outs = k.outputs.map((o) => `${o.v.aval.dtype}=${expKey(o.exp)}`).join(";");
  const r = k.reduce;
  const red = r ? `|${r.op}<${r.dtype}>[${r.outSize}x${r.redSize}](${expKey(r.base)})(${expKey(r.off)})=${expKey(r.exp)}` : "";
  return `fused|${k.size}|${k.inputs.map((v) => v.aval.dtype).join(",")}|${outs}${red}`;
}

const STORAGE = { float32: Float32Array, int32: Int32Array, uint32: Uint32Array, bool: Uint8Array, float16: Uint16Array } as const;

/** A generated module and its constant table, written once into a heap block. */
interface Generated {
  readonly bytes: Uint8Array;
  readonly constOff: number;
}
/** Generated modules by key (null: not supported by the generator). */
const generated = new Map<string, Generated | null>();
const MAX_GENERATED = 2048;

export class CpuKernel {
  readonly fn: KernelFn;
  readonly source: string;
  private key: string | undefined;
  private readonly cost: number;
  /** Set once the Wasm generator refused this kernel. */
  private unsupported = false;

  constructor(readonly kernel: Kernel) {
    const { fn, source } = compileKernel(kernel);
    this.fn = fn;
    this.source = source;
    this.cost = costOf(kernel);
  }

  /** Whether this call goes to Wasm (before support is known). */
  private wantsWasm(): boolean {
    const impl = kernelImpl.get();
    if (impl === "js" || this.unsupported) return false;
    return impl === "wasm" || this.kernel.size * this.cost >= WASM_MIN_WORK;
  }

  run(ins: readonly TypedArray[], outs: readonly TypedArray[]): void {
    if (this.wantsWasm() && this.runWasm(ins, outs)) return;
    this.fn(ins, outs);
  }

  /** The Wasm module, generated once per structure; null if unsupported (or no heap space for its constants). */
  generated(): Generated | null {
    const rt = runtime();
    if (!rt) return null;
    const key = (this.key ??= moduleKey(this.kernel));
    let g = generated.get(key);
    if (g === undefined) {
      const m = fusedModule(this.kernel, memoryDecl(rt));
      if (!m) {
        g = null;
        this.unsupported = true;
      } else {
        const constOff = rt.heap.alloc(Math.max(16, m.consts.length));
        if (constOff < 0) return null;
        new Uint8Array(rt.heap.buffer, constOff, m.consts.length).set(m.consts);
        g = { bytes: m.bytes, constOff };
      }
      if (generated.size >= MAX_GENERATED) {
        const [k0, old] = generated.entries().next().value!;
        generated.delete(k0);
        if (old) rt.heap.free(old.constOff);
      }
      generated.set(key, g);
    }
    if (g === null) this.unsupported = true;
    return g;
  }

  /** The compiled module for the current runtime epoch (cached: this runs on every call). */
  private mod: { epoch: number; m: PoolModule; gen: Generated } | undefined;

  /** Runs on Wasm; false (having done nothing) where that is not possible. */
  runWasm(ins: readonly TypedArray[], outs: readonly TypedArray[]): boolean {
    const rt = runtime();
    if (!rt) return false;
    let mc = this.mod;
    if (!mc || mc.epoch !== rt.epoch || generated.get(this.key!) !== mc.gen) {
      const gen = this.generated();
      if (!gen) return false;
      mc = this.mod = { epoch: rt.epoch, gen, m: compileModule(rt, this.key!, () => gen.bytes) };
    }
    const k = this.kernel;
    // Wasm reads bits: an input whose storage is not its declared dtype's (a
    // caller passing an int32 buffer to a float32 program) takes the JS path,
    // which reads numbers.
    for (let i = 0; i < ins.length; i++) if (!(ins[i] instanceof STORAGE[k.inputs[i]!.aval.dtype])) return false;
    const total = k.reduce ? k.reduce.outSize : k.size;
    if (total === 0) return true;
    const heap = rt.heap;
    const nIn = ins.length;
    const n = nIn + outs.length;
    // Arrays outside the heap are staged in scratch blocks (once each, even if passed twice).
    let staged: Map<TypedArray, number> | undefined;
    const ptrs = new Array<number>(n);
    let ok = true;
    for (let i = 0; i < n && ok; i++) {
      const a = i < nIn ? ins[i]! : outs[i - nIn]!;
      if (rt.shared && heap.contains(a)) ptrs[i] = a.byteOffset;
      else {
        staged ??= new Map();
        let off = staged.get(a);
        if (off === undefined) {
          off = heap.alloc(a.byteLength);
          if (off < 0) ok = false;
          else staged.set(a, off);
        }
        ptrs[i] = off;
      }
    }
    const work = k.size * this.cost;
    const threaded = options.threads && (options.alwaysThread || work >= THREAD_MIN_WORK);
    const threads = threaded ? threadCount() : 1;
    const granule = k.reduce ? rangeGranule(k) : EW_GRANULE;
    const wantJobs = threads > 1 ? Math.min(threads * 4, Math.max(threads, Math.floor(work / JOB_WORK))) : 1;
    const chunk = Math.ceil(Math.ceil(total / wantJobs) / granule) * granule;
    const jobs = Math.ceil(total / chunk);
    const recWords = 3 + n;
    const recs = ok ? records(heap, jobs * recWords * 4) : -1;
    try {
      if (recs < 0) return false;
      // Views after the last allocation (a non-shared memory detaches them on grow).
      const buf = heap.buffer;
      if (staged)
        for (let i = 0; i < nIn; i++) {
          const a = ins[i]!;
          const off = staged.get(a);
          if (off !== undefined) new Uint8Array(buf, off, a.byteLength).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
        }
      const I = words(buf);
      for (let j = 0, r = recs >> 2; j < jobs; j++, r += recWords) {
        I[r] = j * chunk;
        I[r + 1] = Math.min(total, (j + 1) * chunk);
        I[r + 2] = mc.gen.constOff;
        for (let p = 0; p < n; p++) I[r + 3 + p] = ptrs[p]!;
      }
      runJobs(mc.m, jobs, recs, recWords * 4, threads > 1);
      if (staged)
        for (let i = nIn; i < n; i++) {
          const a = outs[i - nIn]!;
          const off = staged.get(a);
          if (off !== undefined) new Uint8Array(a.buffer, a.byteOffset, a.byteLength).set(new Uint8Array(heap.buffer, off, a.byteLength));
        }
      return true;
    } finally {
      if (staged) for (const off of staged.values()) heap.free(off);
    }
  }
}

/** The heap block job records are written to (calls are synchronous, so one serves all), grown on demand. */
let recBlock = { heap: null as unknown, off: -1, bytes: 0 };
function records(heap: WasmHeap, bytes: number): number {
  if (recBlock.heap !== heap || recBlock.bytes < bytes) {
    if (recBlock.heap === heap && recBlock.off >= 0) heap.free(recBlock.off);
    const size = Math.max(4096, bytes);
    const off = heap.alloc(size);
    recBlock = { heap, off, bytes: off < 0 ? 0 : size };
  }
  return recBlock.off;
}

/** An Int32Array over the whole heap buffer (remade when the buffer object changes). */
let wordsView: Int32Array | undefined;
function words(buf: ArrayBufferLike): Int32Array {
  if (!wordsView || wordsView.buffer !== buf) wordsView = new Int32Array(buf);
  return wordsView;
}
