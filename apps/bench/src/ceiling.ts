/**
 * The machine's ceiling for Wasm f32 math: a tiny hand-emitted Wasm module
 * whose loop is nothing but independent f32x4 multiply-adds (relaxed-SIMD
 * `f32x4.relaxed_madd` when this V8 validates it, else `f32x4.mul` +
 * `f32x4.add`), run on one core and on every core (worker_threads).
 * Each multiply-add counts as 2 FLOPs.
 */
import { Worker } from "node:worker_threads";
import { availableParallelism, cpus } from "node:os";

/** The little of the WebAssembly JS API used here (not in this project's lib settings). */
declare const WebAssembly: {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
};

/** Independent accumulator chains: enough to cover FMA latency × issue width. */
const CHAINS = 12;

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const f32x4Const = (v: number): number[] => {
  const bytes = new Uint8Array(new Float32Array([v, v, v, v]).buffer);
  return [0xfd, 0x0c, ...bytes];
};

/**
 * (func (export "run") (param $iters i32) (result f32)): every iteration does
 * `acc_i = acc_i * a + b` on CHAINS f32x4 accumulators (8 FLOPs each).
 */
export function fmaModule(relaxed: boolean): Uint8Array {
  const ITERS = 0;
  const acc = (i: number) => 1 + i;
  const A = 1 + CHAINS;
  const B = 2 + CHAINS;
  const code: number[] = [];
  for (let i = 0; i < CHAINS; i++) code.push(...f32x4Const(1 + i / 64), 0x21, acc(i)); // local.set
  code.push(...f32x4Const(0.9999), 0x21, A, ...f32x4Const(1e-4), 0x21, B);
  code.push(0x02, 0x40, 0x03, 0x40); // block, loop
  for (let i = 0; i < CHAINS; i++) {
    code.push(0x20, acc(i), 0x20, A); // local.get acc, a
    if (relaxed) code.push(0x20, B, 0xfd, ...uleb(0x105)); // f32x4.relaxed_madd
    else code.push(0xfd, ...uleb(230), 0x20, B, 0xfd, ...uleb(228)); // f32x4.mul; f32x4.add
    code.push(0x21, acc(i));
  }
  // iters -= 1; br_if loop (iters != 0)
  code.push(0x20, ITERS, 0x41, 0x01, 0x6b, 0x22, ITERS, 0x0d, 0x00, 0x0b, 0x0b);
  // sum the chains, return lane 0 (keeps the work observable)
  code.push(0x20, acc(0));
  for (let i = 1; i < CHAINS; i++) code.push(0x20, acc(i), 0xfd, ...uleb(228));
  code.push(0xfd, 0x1f, 0x00, 0x0b); // f32x4.extract_lane 0; end
  const body = [...vec([[...uleb(CHAINS + 2), 0x7b]]), ...code];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, 0x01, 0x7f, 0x01, 0x7d]])), // type: (i32) -> f32
    ...section(3, vec([[0x00]])), // one function of type 0
    ...section(7, vec([[...uleb(3), ..."run".split("").map((c) => c.charCodeAt(0)), 0x00, 0x00]])), // export "run" func 0
    ...section(10, vec([[...uleb(body.length), ...body]])),
  ]);
}

export const FLOPS_PER_ITER = CHAINS * 4 * 2;

export interface Ceiling {
  /** relaxed_madd (true) or mul + add (false). */
  relaxed: boolean;
  oneCore: number;
  allCores: number;
  cores: number;
}

/** Run the loop for about `ms`, returning GFLOP/s (best of 3). */
function measure(bytes: Uint8Array, ms: number): number {
  const run = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.run as (n: number) => number;
  let iters = 1 << 16;
  for (;;) {
    const t0 = performance.now();
    run(iters);
    const dt = performance.now() - t0;
    if (dt > ms / 6 || iters > 1 << 30) break;
    iters *= 2;
  }
  let best = 0;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    run(iters);
    const dt = performance.now() - t0;
    best = Math.max(best, (iters * FLOPS_PER_ITER) / (dt * 1e6));
  }
  return best;
}

const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const run = new WebAssembly.Instance(new WebAssembly.Module(workerData.bytes)).exports.run;
run(1 << 16);
parentPort.once("message", () => {
  const t0 = performance.now();
  run(workerData.iters);
  parentPort.postMessage(performance.now() - t0);
});
`;

/** One worker per core, started together; the aggregate is total FLOPs ÷ the slowest worker's time. */
async function measureAll(bytes: Uint8Array, oneCoreGflops: number, ms: number, cores: number): Promise<number> {
  const iters = Math.max(1 << 16, Math.round((oneCoreGflops * 1e6 * ms) / FLOPS_PER_ITER));
  let best = 0;
  for (let r = 0; r < 2; r++) {
    const workers = Array.from({ length: cores }, () => new Worker(WORKER, { eval: true, workerData: { bytes, iters } }));
    try {
      await Promise.all(workers.map((w) => new Promise((res, rej) => (w.once("online", res), w.once("error", rej)))));
      await new Promise((r) => setTimeout(r, 20)); // let each compile and warm up
      const times = await Promise.all(
        workers.map(
          (w) =>
            new Promise<number>((res, rej) => {
              w.once("message", res);
              w.once("error", rej);
              w.postMessage("go");
            }),
        ),
      );
      best = Math.max(best, (cores * iters * FLOPS_PER_ITER) / (Math.max(...times) * 1e6));
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
  }
  return best;
}

export async function measureCeiling(ms = 300): Promise<Ceiling> {
  const cores = typeof availableParallelism === "function" ? availableParallelism() : cpus().length;
  const relaxedBytes = fmaModule(true);
  const relaxed = WebAssembly.validate(relaxedBytes);
  const bytes = relaxed ? relaxedBytes : fmaModule(false);
  const oneCore = measure(bytes, ms);
  const allCores = cores > 1 ? await measureAll(bytes, oneCore, ms, cores) : oneCore;
  return { relaxed, oneCore, allCores, cores };
}
