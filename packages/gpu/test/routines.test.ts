import { describe, it } from "vitest";
import { Literal, ShapedArray, primitives as P, setBackend } from "@refs/core";
import { hasGpu } from "./setup.js";
import { checkPrim, f32, i32, rand, scalar, u32 } from "./util.js";

const iota = (n: number) => Array.from({ length: n }, (_, i) => i);

describe.skipIf(!hasGpu)("reductions and routines on webgpu vs cpu", () => {
  it("reductions over every axis set, small and large (workgroup path)", async () => {
    await setBackend("webgpu");
    const x = rand(4 * 5 * 6, 1, -2, 2);
    for (const axes of [[0], [1], [2], [0, 2], [0, 1, 2], [1, 2]])
      for (const p of [P.reduceSum, P.reduceMax, P.reduceMin, P.reduceProd]) await checkPrim(p, { axes }, [f32(x, [4, 5, 6])], { rtol: 1e-5, atol: 1e-5 });
    const big = rand(3 * 5000, 2, -1, 1);
    for (const axes of [[1], [0, 1]]) await checkPrim(P.reduceSum, { axes }, [f32(big, [3, 5000])], { rtol: 1e-4, atol: 1e-4 });
    await checkPrim(P.reduceMax, { axes: [1] }, [f32([...big.slice(0, 999), NaN, ...big.slice(1000)], [3, 5000])]);
    await checkPrim(P.reduceSum, { axes: [0] }, [i32(iota(300).map((v) => v * 7919 - 1000))]);
    await checkPrim(P.reduceMin, { axes: [1] }, [u32(iota(200), [2, 100])]);
    await checkPrim(P.reduceMax, { axes: [0] }, [i32([-5, -3, -9])]);
  });

  it("column sums over a batch (one invocation per output up to 256 reduced elements, a workgroup tree beyond)", async () => {
    await setBackend("webgpu");
    for (const rows of [65, 128, 256, 257, 600]) {
      const x = rand(rows * 40, rows, -1, 1);
      await checkPrim(P.reduceSum, { axes: [0] }, [f32(x, [rows, 40])], { rtol: 1e-5, atol: 1e-5 });
      await checkPrim(P.reduceMax, { axes: [0, 2] }, [f32(x, [rows, 20, 2])]);
    }
    await checkPrim(P.reduceSum, { axes: [0] }, [i32(iota(200 * 3).map((v) => v * 7 - 50), [200, 3])]);
  });

  it("dot_general: matmul at 1/17/65/130, batched, transposed contraction, int32", async () => {
    await setBackend("webgpu");
    const dn = { lhsContracting: [1], rhsContracting: [0], lhsBatch: [], rhsBatch: [] };
    for (const n of [1, 17, 65, 130]) {
      const a = rand(n * n, n, -1, 1), b = rand(n * n, n + 1, -1, 1);
      await checkPrim(P.dotGeneral, dn, [f32(a, [n, n]), f32(b, [n, n])], { rtol: 1e-4, atol: 1e-4 });
    }
    await checkPrim(P.dotGeneral, dn, [f32(rand(33 * 70, 9), [33, 70]), f32(rand(70 * 5, 8), [70, 5])], { rtol: 1e-4, atol: 1e-4 });
    await checkPrim(
      P.dotGeneral,
      { lhsContracting: [2], rhsContracting: [1], lhsBatch: [0], rhsBatch: [0] },
      [f32(rand(3 * 20 * 30, 3), [3, 20, 30]), f32(rand(3 * 30 * 40, 4), [3, 30, 40])],
      { rtol: 1e-4, atol: 1e-4 },
    );
    // contraction over the lhs's first axis and the rhs's last (x^T y^T), and two free axes
    await checkPrim(
      P.dotGeneral,
      { lhsContracting: [0], rhsContracting: [2], lhsBatch: [], rhsBatch: [] },
      [f32(rand(7 * 3 * 4, 5), [7, 3, 4]), f32(rand(5 * 7, 6), [5, 1, 7])],
      { rtol: 1e-4, atol: 1e-4 },
    );
    await checkPrim(P.dotGeneral, dn, [i32(iota(12).map((v) => v * 100003), [3, 4]), i32(iota(8).map((v) => v * 70001 - 3), [4, 2])]);
  });

  it("gather, scatter, scatter_add (duplicates, out of range)", async () => {
    await setBackend("webgpu");
    const x = rand(4 * 5, 3);
    await checkPrim(P.gather, { axis: 0 }, [f32(x, [4, 5]), i32([3, 0, -2, 9, 1])]);
    await checkPrim(P.gather, { axis: 1 }, [f32(x, [4, 5]), i32([4, 0, 2, 2], [2, 2])]);
    const idx = i32([1, 3, 1, 7, -1]);
    await checkPrim(P.scatterAdd, { axis: 0 }, [f32(x, [4, 5]), idx, f32(rand(25, 4), [5, 5])], { rtol: 1e-6 });
    await checkPrim(P.scatter, { axis: 0 }, [f32(x, [4, 5]), idx, f32(rand(25, 4), [5, 5])]);
    await checkPrim(P.scatterAdd, { axis: 1 }, [i32(iota(20), [4, 5]), i32([0, 0, 4]), i32(iota(12), [4, 3])]);
  });

  it("dynamic_slice / dynamic_update_slice with clamping, pad, concatenate", async () => {
    await setBackend("webgpu");
    const x = f32(rand(5 * 6, 5), [5, 6]);
    await checkPrim(P.dynamicSlice, { sliceSizes: [2, 3] }, [x, scalar("int32", 1), scalar("int32", 5)]);
    await checkPrim(P.dynamicSlice, { sliceSizes: [2, 3] }, [x, new Literal(-3, new ShapedArray([], "int32")), scalar("int32", 2)]);
    await checkPrim(P.dynamicUpdateSlice, {}, [x, f32([1, 2, 3, 4], [2, 2]), scalar("int32", 4), scalar("int32", 1)]);
    await checkPrim(P.pad, { lo: [1, 0], hi: [2, 3], interior: [1, 2] }, [f32(rand(6, 6), [2, 3]), scalar("float32", -9)]);
    await checkPrim(P.pad, { lo: [2], hi: [0], interior: [0] }, [i32([1, 2, 3]), new Literal(7, new ShapedArray([], "int32"))]);
    await checkPrim(P.concatenate, { dimension: 1 }, [f32(rand(6, 7), [2, 3]), f32(rand(2, 8), [2, 1]), f32(rand(8, 9), [2, 4])]);
    await checkPrim(P.concatenate, { dimension: 0 }, [i32([1, 2]), i32([3]), i32([4, 5, 6])]);
  });

  it("argmax/argmin (NaN first wins), cumsum (forward and reverse), sort (stable, NaN last, multi-key)", async () => {
    await setBackend("webgpu");
    const x = f32([3, 1, 3, -2, 5, 5, NaN, 0, -7, 2, 2, 9], [3, 4]);
    for (const p of [P.argmax, P.argmin]) for (const axis of [0, 1]) await checkPrim(p, { axis, indexDtype: "int32" }, [x]);
    const y = f32(rand(4 * 50, 11), [4, 50]);
    for (const axis of [0, 1]) for (const reverse of [false, true]) await checkPrim(P.cumsum, { axis, reverse }, [y], { rtol: 1e-5, atol: 1e-5 });
    await checkPrim(P.cumsum, { axis: 0, reverse: false }, [i32([2147483647, 1, 5])]);
    await checkPrim(P.sort, { dimension: 1, numKeys: 1 }, [f32([3, NaN, -1, 2, 2, 0, -0, 5, 1, -4, NaN, 8], [2, 6])]);
    await checkPrim(P.sort, { dimension: 0, numKeys: 1 }, [i32([5, 1, 4, 2, 3, 0], [3, 2])]);
    await checkPrim(P.sort, { dimension: 0, numKeys: 2 }, [i32([2, 1, 2, 1, 0, 2]), f32([5, 4, 3, 2, 1, 0]), i32([0, 1, 2, 3, 4, 5])]);
  });
});

describe.skipIf(!hasGpu)("sort at scale", () => {
  it("sorts long rows (bitonic, stable, NaN last) like the CPU", async () => {
    await setBackend("webgpu");
    const v = rand(3 * 1000, 21, -5, 5).map((x, i) => (i % 97 === 0 ? NaN : Math.round(x)));
    await checkPrim(P.sort, { dimension: 1, numKeys: 1 }, [f32(v, [3, 1000]), i32(iota(3000), [3, 1000])]);
    await checkPrim(P.sort, { dimension: 0, numKeys: 1 }, [i32(rand(700 * 2, 22, -50, 50).map(Math.round), [700, 2])]);
  });
});

describe.skipIf(!hasGpu)("long per-invocation loops (llvmpipe stops a loop after 65535 trips; ours are unrolled)", () => {
  it("cumsum, argmax, scatter_add and a reduction over 70000 elements", async () => {
    await setBackend("webgpu");
    const n = 70000;
    await checkPrim(P.cumsum, { axis: 0, reverse: false }, [i32(iota(n).map((v) => v % 7))]);
    await checkPrim(P.argmax, { axis: 0, indexDtype: "int32" }, [f32(iota(n))]);
    await checkPrim(P.scatterAdd, { axis: 0 }, [i32([0, 0, 0]), i32(iota(n).map((v) => v % 3)), i32(iota(n).map(() => 1))]);
    await checkPrim(P.reduceMax, { axes: [1] }, [i32(iota(4096 * 2 * 20).map((v) => (v * 7919) % 100003), [4096, 2, 20])]);
  });
});
