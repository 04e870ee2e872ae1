/**
 * The CPU backend where shared memory is unavailable (a browser main thread
 * without cross-origin isolation): REFS_CPU_SHARED=0 makes the Wasm heap an
 * ordinary memory, so buffers stay plain typed arrays, every Wasm kernel
 * stages its operands, there is no worker pool, and memory growth detaches
 * the heap's views. Results must still match the JS path bit for bit.
 * (vitest runs each test file in its own process, so the flag is read before
 * the heap exists.)
 */
import { describe, expect, it } from "vitest";
import type { Atom, Eqn, Program } from "../src/program.js";
import type { Primitive } from "../src/primitive.js";

process.env.REFS_CPU_SHARED = "0";
const { ShapedArray } = await import("../src/aval.js");
const { Var, makeProgram } = await import("../src/program.js");
const P = await import("../src/primitives.js");
const { CpuBackend, setCpuKernelImpl } = await import("../src/backend/cpu/index.js");
const { runtime, pool } = await import("../src/backend/cpu/wasm/runtime.js");
const { wasmSgemmBatched } = await import("../src/backend/cpu/wasm/sgemm.js");

const be = new CpuBackend();

function run(p: Program, args: Float32Array[], impl: "js" | "wasm"): Float32Array[] {
  const prev = setCpuKernelImpl(impl);
  try {
    const hs = args.map((a, i) => be.alloc(p.inputs[i]!.aval, a));
    const outs = be.execute(be.compile(p), hs, args.map(() => false));
    const res = outs.map((h, i) => be.readSync(h, p.outputs[i]!.aval) as Float32Array);
    for (const h of new Set([...hs, ...outs])) be.free(h);
    return res;
  } finally {
    setCpuKernelImpl(prev);
  }
}

describe("cpu backend without shared memory", () => {
  it("has an unshared heap and no pool; buffers are plain typed arrays", () => {
    const rt = runtime()!;
    expect(rt).not.toBeNull();
    expect(rt.shared).toBe(false);
    expect(pool()).toBeNull();
    const h = be.alloc(new ShapedArray([100000], "float32"));
    expect(be.readSync(h, new ShapedArray([100000], "float32")).buffer).toBeInstanceOf(ArrayBuffer);
    be.free(h);
  });
  it("elementwise and reduction kernels stage their operands, across memory growth, bit for bit with JS", { timeout: 60_000 }, () => {
    const rt = runtime()!;
    const grows0 = rt.heap.grows;
    // sizes that outgrow the initial 16 MiB heap: staging must re-make its views after growing
    for (const n of [1031, 1 << 20, 3 << 20]) {
      const x = new Var(new ShapedArray([n], "float32"));
      const eqns: Eqn[] = [];
      const b = (prim: Primitive, ...inputs: Atom[]) => {
        const outs = prim.abstractEval(inputs.map((a) => a.aval), {}) as InstanceType<typeof ShapedArray>[];
        const v = new Var(outs[0]!);
        eqns.push({ prim, params: {}, inputs, outputs: [v] });
        return v;
      };
      const y = b(P.mul, x, x);
      const z = b(P.sub, y, x);
      const s = new Var(new ShapedArray([], "float32"));
      eqns.push({ prim: P.reduceMax, params: { axes: [0] }, inputs: [z], outputs: [s] });
      const p = makeProgram([x], eqns, [z, s]);
      const xs = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 100);
      const js = run(p, [xs], "js");
      const w = run(p, [xs], "wasm");
      for (const k of [0, 1]) {
        expect(w[k]!.length).toBe(js[k]!.length);
        let diff = -1;
        for (let i = 0; i < js[k]!.length && diff < 0; i++) if (!Object.is(w[k]![i], js[k]![i])) diff = i;
        expect(diff, `output ${k} (n = ${n}) first differs at`).toBe(-1);
      }
    }
    expect(rt.heap.grows).toBeGreaterThan(grows0);
  });
  it("the Wasm matmul copies operands in and results out", () => {
    const n = 67;
    const a = Float32Array.from({ length: n * n }, (_, i) => Math.cos(i));
    const c = new Float32Array(n * n);
    expect(wasmSgemmBatched(a, a, c, 1, n, n, n)).toBe(true);
    let worst = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += a[i * n + k]! * a[k * n + j]!;
        worst = Math.max(worst, Math.abs(s - c[i * n + j]!));
      }
    expect(worst).toBeLessThan(1e-4);
  });
});
