/**
 * The WebGPU matmul (src/matmul.ts) against the CPU backend: shapes around
 * the register block and vec4 widths, every operand layout, batches, dtypes,
 * loop-limit-sized K, and fused epilogues with their dispatch counts.
 */
import { describe, expect, it } from "vitest";
import { Literal, ShapedArray, getBackend, newRef, np, primitives as P, setBackend, type Array, type Ref } from "@refs/core";
import { jit } from "@refs/trace";
import * as nn from "@refs/nn";
import { profile } from "../src/index.js";
import { both, hasGpu, settledMemory } from "./setup.js";
import { checkPrim, expectClose, f32, i32, rand, u32, bool } from "./util.js";

const dims = (lc: number[], rc: number[], lb: number[] = [], rb: number[] = []) => ({ lhsContracting: lc, rhsContracting: rc, lhsBatch: lb, rhsBatch: rb });
const MM = dims([1], [0]);
const tol = { rtol: 1e-4, atol: 1e-4 };

/** A [M,K] or [K,M] and B [K,N] or [N,K], contracted accordingly. */
async function checkMatmul(M: number, K: number, N: number, ta = false, tb = false, seed = 1): Promise<void> {
  const a = f32(rand(M * K, seed), ta ? [K, M] : [M, K]);
  const b = f32(rand(K * N, seed + 1), tb ? [N, K] : [K, N]);
  await checkPrim(P.dotGeneral, dims([ta ? 0 : 1], [tb ? 1 : 0]), [a, b], tol);
}

describe.skipIf(!hasGpu)("matmul on webgpu vs cpu", () => {
  it("square, tiny, odd and prime sizes, sizes off the 8x8 block and the vec4 width", async () => {
    await setBackend("webgpu");
    for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 31, 64, 67, 100]) await checkMatmul(n, n, n, false, false, n);
    for (const [m, k, n] of [
      [1, 300, 1],
      [1, 64, 40],
      [40, 64, 1],
      [17, 4, 33],
      [8, 12, 4],
      [33, 70, 5],
      [129, 3, 130],
      [6, 250, 10],
    ] as const)
      await checkMatmul(m, k, n, false, false, m + k);
  });

  it("K = 1 and K = 0 (zeros)", async () => {
    await setBackend("webgpu");
    await checkMatmul(9, 1, 12);
    await checkMatmul(12, 1, 1);
    await checkPrim(P.dotGeneral, MM, [f32([], [3, 0]), f32([], [0, 4])]);
  });

  it("every combination of transposed operands, on vec4 and scalar layouts", async () => {
    await setBackend("webgpu");
    for (const ta of [false, true])
      for (const tb of [false, true]) {
        await checkMatmul(16, 24, 32, ta, tb, 3); // every axis a multiple of 4
        await checkMatmul(13, 7, 11, ta, tb, 4); // none is
        await checkMatmul(12, 9, 20, ta, tb, 5); // free axes are, k is not
        await checkMatmul(5, 16, 6, ta, tb, 6); // only k is
      }
  });

  it("batches (leading and not), several free and contracting axes", async () => {
    await setBackend("webgpu");
    await checkPrim(P.dotGeneral, dims([2], [1], [0], [0]), [f32(rand(3 * 20 * 32, 7), [3, 20, 32]), f32(rand(3 * 32 * 40, 8), [3, 32, 40])], tol);
    // batch axis in the middle of both operands, rhs contracting on its last axis
    await checkPrim(P.dotGeneral, dims([2], [2], [1], [0]), [f32(rand(5 * 2 * 8, 9), [5, 2, 8]), f32(rand(2 * 6 * 8, 10), [2, 6, 8])], tol);
    // two contracting axes (non-adjacent on the lhs), two free axes on the rhs
    await checkPrim(P.dotGeneral, dims([0, 2], [0, 1]), [f32(rand(4 * 3 * 5, 11), [4, 3, 5]), f32(rand(4 * 5 * 2 * 3, 12), [4, 5, 2, 3])], tol);
    // no contraction at all: an outer product, and a scalar product of literals
    await checkPrim(P.dotGeneral, dims([], []), [f32(rand(7, 13), [7]), f32(rand(9, 14), [9])], tol);
    const s = new ShapedArray([], "float32");
    await checkPrim(P.dotGeneral, dims([], []), [new Literal(1.5, s), new Literal(-2, s)]);
  });

  it("int32 (wrapping), uint32 and bool", async () => {
    await setBackend("webgpu");
    const iota = (n: number, f: (i: number) => number) => globalThis.Array.from({ length: n }, (_, i) => f(i));
    await checkPrim(P.dotGeneral, MM, [i32(iota(12, (v) => v * 100003), [3, 4]), i32(iota(8, (v) => v * 70001 - 3), [4, 2])]);
    await checkPrim(P.dotGeneral, MM, [i32(iota(16 * 24, (v) => (v % 7) - 3), [16, 24]), i32(iota(24 * 12, (v) => (v % 5) - 2), [24, 12])]);
    await checkPrim(P.dotGeneral, dims([0], [1]), [u32(iota(9 * 5, (v) => v * 3), [9, 5]), u32(iota(7 * 9, (v) => v + 1), [7, 9])]);
    await checkPrim(P.dotGeneral, MM, [bool(iota(6 * 4, (v) => +(v % 3 === 0)), [6, 4]), bool(iota(4 * 5, (v) => +(v % 4 === 1)), [4, 5])]);
  });

  it("a K long enough that the k loop is split under llvmpipe's trip limit", async () => {
    await setBackend("webgpu");
    const K = 140_000; // 35,000 trips of 4
    const a = globalThis.Array.from({ length: 2 * K }, (_, i) => ((i * 7) % 3) - 1);
    const b = globalThis.Array.from({ length: K * 3 }, (_, i) => ((i * 5) % 3) - 1);
    await checkPrim(P.dotGeneral, MM, [f32(a, [2, K]), f32(b, [K, 3])]); // small integers: exact
  });
});

describe.skipIf(!hasGpu)("fused epilogues on webgpu", () => {
  const data = async (x: Array): Promise<number[]> => [...(await x.data())];
  const mat = (m: number, n: number, seed: number) => np.array(rand(m * n, seed)).reshape([m, n]);

  /** Run a jitted function on both backends; return webgpu's dispatch count and labels. */
  async function compare(f: (...xs: Array[]) => Array | Array[], make: () => Array[], rtol = 1e-4, atol = 1e-5): Promise<{ dispatches: number; kernels: string[] }> {
    let prof = { dispatches: 0, kernels: [] as string[] };
    const { cpu, gpu } = await both(() => {
      const out = jit(f)(...make()); // a fresh jit per backend: jit's cache is per function, not per backend
      if (getBackend().name === "webgpu") prof = profile();
      return out;
    });
    gpu.forEach((g, k) => expectClose(g, cpu[k]!, rtol, atol, `output ${k}`));
    return prof;
  }

  it("matmul + bias + relu is one dispatch (row bias), on odd shapes too", async () => {
    for (const [m, k, n] of [
      [8, 16, 4],
      [13, 7, 11],
      [64, 96, 40],
    ] as const) {
      const p = await compare(
        (x, w, b) => nn.relu(x.matmul(w).add(b)),
        () => [mat(m, k, 1), mat(k, n, 2), np.array(rand(n, 3))],
      );
      expect(p.dispatches).toBe(1);
      expect(p.kernels[0]).toMatch(/^dot_general\+/);
    }
  });

  it("column bias, gelu, a comparison output of another dtype", async () => {
    const p = await compare(
      (x, w, c) => {
        const h = x.matmul(w).add(c.reshape([-1, 1]));
        return [nn.gelu(h), h.gt(0)];
      },
      () => [mat(12, 20, 4), mat(20, 9, 5), np.array(rand(12, 6))],
    );
    expect(p.dispatches).toBe(1);
  });

  it("several epilogue outputs (pre-activation kept); the raw dot result also used elsewhere", async () => {
    const p1 = await compare(
      (x, w, b) => {
        const h = x.matmul(w).add(b);
        return [h, nn.relu(h)];
      },
      () => [mat(10, 8, 7), mat(8, 12, 8), np.array(rand(12, 9))],
    );
    expect(p1.dispatches).toBe(1);
    // d is returned and reduced: the fused step writes it, the reduction reads it.
    const p2 = await compare(
      (x, w, b) => {
        const d = x.matmul(w);
        return [np.tanh(d.add(b)), d, np.sum(d, { axis: 0 })];
      },
      () => [mat(9, 16, 10), mat(16, 8, 11), np.array(rand(8, 12))],
    );
    expect(p2.dispatches).toBe(2);
    expect(p2.kernels[0]).toMatch(/^dot_general\+.*tanh/);
  });

  it("x @ x.T (one buffer bound as both operands) and transposed operands under jit", async () => {
    const p = await compare(
      (x) => nn.relu(x.matmul(x.T)),
      () => [mat(12, 16, 13)],
    );
    expect(p.dispatches).toBe(1); // the transpose is read by strides, not copied
    const q = await compare(
      (a, b) => a.T.matmul(b.T).mul(2),
      () => [mat(20, 12, 14), mat(8, 20, 15)],
    );
    expect(q.dispatches).toBe(1);
  });

  it("scalar operands of the epilogue (computed once per invocation)", async () => {
    const p = await compare(
      (x, w, s, t) => x.matmul(w).mul(s).add(t),
      () => [mat(9, 12, 16), mat(12, 20, 17), np.array(2.5), np.array(-0.75)],
    );
    expect(p.dispatches).toBe(1);
  });

  it("int32 matmul with an epilogue", async () => {
    const p = await compare(
      (x, w) => x.matmul(w).mul(3).add(1),
      () => [np.arange(20).reshape([4, 5]).astype("int32"), np.arange(15).reshape([5, 3]).astype("int32").sub(7)],
      0,
      0,
    );
    expect(p.dispatches).toBe(1);
  });

  it("an SGD step on a ref is one in-place dispatch: the weight gradient's epilogue updates the weights; memory stays flat", async () => {
    await setBackend("webgpu");
    const w = newRef(mat(16, 8, 20));
    const x = mat(32, 16, 21);
    const g = mat(32, 8, 22);
    const step = jit(function sgd(w: Ref, x: Array, g: Array) {
      w.set(w.get().sub(x.T.matmul(g).mul(0.01)));
    });
    const w0 = await data(w.get());
    step(w, x, g);
    await w.get().data(); // this Array shares the ref's buffer, so the next call writes a new one
    step(w, x, g);
    const before = await settledMemory();
    for (let i = 0; i < 19; i++) step(w, x, g);
    expect(await settledMemory()).toEqual(before);
    expect(profile().dispatches).toBe(1);
    expect(profile().bytesAllocated).toBe(0); // in place: no output buffer
    const got = await data(w.get());
    // 21 steps of the same gradient, against the CPU's.
    await setBackend("cpu");
    const dw = await data(np.array(await data(x)).reshape([32, 16]).T.matmul(np.array(await data(g)).reshape([32, 8])));
    expectClose(got, w0.map((v, i) => v - 21 * Math.fround(dw[i]! * 0.01)), 1e-4, 1e-5, "sgd");
  });
});
