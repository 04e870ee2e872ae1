/**
 * Device-side guards: how several iterations of a data-dependent while loop
 * are encoded in one submit without running past the end of the loop.
 *
 * Each loop owns a 16-byte flag buffer `[on, trips, 0, 0]`. An init kernel
 * copies the enclosing loop's flag into it (1 at top level); after the
 * condition program of each iteration, a step kernel sets
 * `on = on && cond` and counts the trip. Every dispatch encoded while the loop
 * is the innermost one uses a variant of its shader with the flag bound as a
 * uniform, which returns at once when `on` is 0 — so iterations encoded past
 * the end, and whole inner loops of an outer loop that has finished, cost one
 * empty dispatch each and change nothing. The flag is a uniform so the early
 * return is uniform control flow, legal before workgroup barriers (reductions,
 * the tiled matmul). Copies inside a loop become a guarded copy kernel,
 * since copyBufferToBuffer cannot be predicated.
 *
 * The host reads the flag back once per batch of iterations (./while.ts).
 */
import type { Compiled, Enc, EncBackend } from "./encoder.js";
import { grid, offsetCopyWgsl } from "./kernels.js";

const FLAG = "refs_guard";

/**
 * `wgsl` with a uniform flag at binding `n` that makes `main` return when its
 * first word is 0. Expects one `fn main(`; directives stay in front.
 */
export function guardedWgsl(wgsl: string, n: number): string {
  const at = wgsl.indexOf("fn main(");
  if (at < 0 || wgsl.indexOf("fn main(", at + 1) >= 0) throw new Error("internal error: a guarded shader needs exactly one `fn main(`");
  const brace = wgsl.indexOf("{", at);
  const head = /^(?:\s*(?:enable|requires|diagnostic)\b[^;]*;)*/.exec(wgsl)![0].length;
  return (
    `${wgsl.slice(0, head)}\n@group(0) @binding(${n}) var<uniform> ${FLAG}: vec4<u32>;\n` +
    `${wgsl.slice(head, brace + 1)}\n  if (${FLAG}.x == 0u) { return; }${wgsl.slice(brace + 1)}`
  );
}

const STORAGE = (i: number) => `@group(0) @binding(${i}) var<storage, read_write> b${i}: array<u32>;`;

/** flag = [parent on, 0 trips]. b1 is the enclosing loop's flag, or a constant 1. */
const INIT_WGSL = `${STORAGE(0)}
${STORAGE(1)}
@compute @workgroup_size(1)
fn main() {
  b0[0] = select(0u, 1u, b1[0] != 0u);
  b0[1] = 0u;
}`;

/** flag.on &&= cond (b1: the condition program's bool output, u32 0/1); count the trip. */
const STEP_WGSL = `${STORAGE(0)}
${STORAGE(1)}
@compute @workgroup_size(1)
fn main() {
  let on = b0[0] != 0u && b1[0] != 0u;
  b0[0] = select(0u, 1u, on);
  b0[1] = b0[1] + select(0u, 1u, on);
}`;

/** One pipeline for every guarded copy (words). */
const COPY_WGSL = offsetCopyWgsl("u32");

/** Per-backend pipelines and small buffers of the guard machinery. */
class GuardKit {
  readonly init: Compiled;
  readonly step: Compiled;
  readonly copy: Compiled;
  private readonly variants = new WeakMap<Compiled, Compiled>();
  private readonly layouts = new Map<number, GPUBindGroupLayout>();
  private readonly params = new Map<string, GPUBuffer>();
  private readonly stagingFree: GPUBuffer[] = [];

  constructor(private readonly be: EncBackend) {
    this.init = be.pipeline(INIT_WGSL, 2);
    this.step = be.pipeline(STEP_WGSL, 2);
    this.copy = be.pipeline(COPY_WGSL, 3);
  }

  private layout(n: number): GPUBindGroupLayout {
    let l = this.layouts.get(n);
    if (!l) {
      const entries: GPUBindGroupLayoutEntry[] = Array.from({ length: n }, (_, i) => ({
        binding: i,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: "storage" as const },
      }));
      entries.push({ binding: n, visibility: GPUShaderStage.COMPUTE, buffer: { type: "uniform" as const } });
      this.layouts.set(n, (l = this.be.device.createBindGroupLayout({ entries })));
    }
    return l;
  }

  /** The guarded variant of a pipeline (cached per pipeline). */
  guarded(c: Compiled): Compiled {
    let v = this.variants.get(c);
    if (v) return v;
    const d = this.be.device;
    const wgsl = guardedWgsl(c.wgsl, c.n);
    const layout = this.layout(c.n);
    d.pushErrorScope("validation");
    const pipeline = d.createComputePipeline({
      layout: d.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module: d.createShaderModule({ code: wgsl }), entryPoint: "main" },
    });
    this.be.watch(d.popErrorScope(), () => `while compiling the while-loop variant of this kernel:\n${wgsl}`);
    this.variants.set(c, (v = { pipeline, layout, wgsl, n: c.n + 1 }));
    return v;
  }

  bind(c: Compiled, bufs: readonly GPUBuffer[], flag: GPUBuffer): [GPUComputePipeline, GPUBindGroup] {
    const v = this.guarded(c);
    const entries: GPUBindGroupEntry[] = bufs.map((buffer, i) => ({ binding: i, resource: { buffer } }));
    entries.push({ binding: c.n, resource: { buffer: flag, offset: 0, size: 16 } });
    return [v.pipeline, this.be.device.createBindGroup({ layout: v.layout, entries })];
  }

  /** A loop's flag buffer. */
  flag(): GPUBuffer {
    return this.be.device.createBuffer({
      size: 16,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
  }

  /** [src, dst, n] for a copy kernel (in its elements: words, or f16 for copy16 in encoder.ts), shared by value. */
  paramsBuffer(src: number, dst: number, n: number): GPUBuffer {
    const key = `${src},${dst},${n}`;
    let b = this.params.get(key);
    if (!b) {
      b = this.be.device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
      this.be.device.queue.writeBuffer(b, 0, new Uint32Array([src, dst, n, 0]));
      this.params.set(key, b);
    }
    return b;
  }

  /** A 16-byte buffer to read a flag or an index back. */
  staging(): GPUBuffer {
    return this.stagingFree.pop() ?? this.be.device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  }

  returnStaging(b: GPUBuffer): void {
    this.stagingFree.push(b);
  }
}

const kits = new WeakMap<EncBackend, GuardKit>();

export function kitOf(be: EncBackend): GuardKit {
  let k = kits.get(be);
  if (!k) kits.set(be, (k = new GuardKit(be)));
  return k;
}

/** Pipeline and bind group of a dispatch guarded by `flag` (bufs already free of repeats). */
export function guardedBind(be: EncBackend, c: Compiled, bufs: readonly GPUBuffer[], flag: GPUBuffer): [GPUComputePipeline, GPUBindGroup] {
  return kitOf(be).bind(c, bufs, flag);
}

/** copyBufferToBuffer inside a loop: the copy kernel, guarded like every other dispatch. Sizes and offsets in bytes (multiples of 4). */
export function guardedCopy(enc: Enc, src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
  const kit = kitOf(enc.be);
  const n = bytes / 4;
  enc.dispatch(kit.copy, [src, dst, kit.paramsBuffer(srcOffset / 4, dstOffset / 4, n)], grid(n), "copy");
}

/** Start a loop's flag from the enclosing loop's (or 1 at top level). Runs unguarded. */
export function initFlag(enc: Enc, flag: GPUBuffer): void {
  const kit = kitOf(enc.be);
  enc.dispatchAlways(kit.init, [flag, enc.guard ?? enc.be.constantBuffer("uint32", 1)], "while_init");
}

/** After an iteration's condition: on &&= cond, count the trip. Runs unguarded. */
export function stepFlag(enc: Enc, flag: GPUBuffer, cond: GPUBuffer): void {
  enc.dispatchAlways(kitOf(enc.be).step, [flag, cond], "while_step");
}
