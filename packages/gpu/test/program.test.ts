import { describe, expect, it } from "vitest";
import { ShapedArray, Var, getBackend, makeProgram, memory, newRef, np, random, setBackend, type Array, type Ref } from "@refs/core";
import { cond, foriLoop, grad, jit, scan, whileLoop } from "@refs/trace";
import { adapterInfo, profile, simulateDeviceLoss } from "../src/index.js";
import { both, hasGpu } from "./setup.js";
import { expectClose } from "./util.js";

const data = async (x: Array): Promise<number[]> => [...(await x.data())];

describe.skipIf(!hasGpu)("programs on webgpu", () => {
  it("reports its adapter", async () => {
    await setBackend("webgpu");
    const info = adapterInfo()!;
    expect(info.runtime).toBe("node");
    expect(["core", "compatibility"]).toContain(info.featureLevel);
  });

  it("PRNG is bit-exact: uniform(key(0), [3])", async () => {
    await setBackend("webgpu");
    const u = random.uniform(random.key(0), [3]);
    expect(await data(u)).toEqual([0.947667, 0.9785799, 0.33229148].map(Math.fround));
    const { cpu, gpu } = await both(() => [random.uniform(random.key(7), [64]), random.bits(random.key(3), [16]), random.normal(random.key(42), [1000])] as Array[]);
    expect(gpu[0]).toEqual(cpu[0]);
    expect(gpu[1]).toEqual(cpu[1]);
    expectClose(gpu[2]!, cpu[2]!, 1e-5, 1e-6, "normal"); // erf_inv's log may differ by an ulp
  });

  it("np-level ops agree with the CPU (broadcasting, transpose, slicing, softmax, take, .at)", async () => {
    const { cpu, gpu } = await both(() => {
      const x = np.arange(24).reshape([2, 3, 4]).astype("float32").mul(0.25);
      const w = np.linspace(-1, 1, 4);
      const s = np.exp(x.sub(np.max(x, { axis: -1, keepdims: true })));
      const sm = s.div(np.sum(s, { axis: -1, keepdims: true }));
      return [
        np.transpose(x, [2, 0, 1]).add(1),
        np.tanh(x.mul(w)),
        sm,
        np.take(x, np.array([2, 0], { dtype: "int32" }), 1),
        np.zeros([5]).at(np.array([1, 3, 1], { dtype: "int32" })).add(2),
        np.cumsum(x, 2),
        np.argmax(x, 1),
        np.flip(x, 0),
        np.where(x.gt(2), x, np.negative(x)),
        np.mean(x, { axis: [0, 2] }),
      ];
    });
    gpu.forEach((g, k) => expectClose(g, cpu[k]!, 1e-5, 1e-6, `output ${k}`));
  });

  it("fusion: a 5-op elementwise chain is one dispatch; sum(x*x) is one dispatch; matmul+bias+relu is one dispatch", async () => {
    await setBackend("webgpu");
    const x = np.linspace(0, 1, 1000);
    const f = jit((x: Array) => np.sqrt(np.exp(x.mul(2).add(1).sub(0.5))));
    await f(x).data();
    expect(profile().dispatches).toBe(1);
    const g = jit((x: Array) => np.sum(x.mul(x)));
    const s = g(x);
    expect(profile().dispatches).toBe(1);
    const xs = await data(x);
    expectClose(await data(s), [xs.reduce((a, v) => a + v * v, 0)], 1e-5);
    const mlp = jit((x: Array, w: Array, b: Array) => np.maximum(np.matmul(x, w).add(b), 0));
    await mlp(np.ones([8, 16]), np.ones([16, 4]), np.zeros([4])).data();
    // The bias add and relu run as the matmul's epilogue: one dispatch.
    expect(profile().dispatches).toBe(1);
    expect(profile().kernels[0]).toMatch(/^dot_general\+.*add.*max$/);
  });

  it("fusion: a chain keeping more intermediates than the device can bind runs as a few kernels, not one per op", async () => {
    const limit = (getBackend("webgpu") as unknown as { device: GPUDevice }).device.limits.maxStorageBuffersPerShaderStage;
    const n = 2 * limit; // 2*limit kept intermediates + 1 input: at least 3 kernels, far fewer than 2*limit
    const f = (x: Array): Array[] => {
      const ts: Array[] = [];
      let t = x;
      for (let i = 0; i < n; i++) ts.push((t = i % 2 ? np.sin(t).mul(x) : t.add(x.mul(0.5))));
      return ts;
    };
    const { cpu, gpu } = await both(() => jit(f)(np.linspace(-1, 1, 300)));
    gpu.forEach((g, k) => expectClose(g, cpu[k]!, 1e-5, 1e-6, `intermediate ${k}`));
    const { dispatches } = profile();
    expect(dispatches).toBeGreaterThanOrEqual(3);
    expect(dispatches).toBeLessThanOrEqual(4);
  });

  it("a jitted ref update runs in place: same buffer, flat memory over 100 calls", async () => {
    await setBackend("webgpu");
    const be = getBackend("webgpu");
    const r = newRef(np.zeros([256]));
    const step = jit(function step(r: Ref, x: Array) {
      r.set(r.get().mul(0.5).add(x));
    });
    const x = np.ones([256]);
    step(r, x);
    await r.get().data(); // this Array shares the ref's buffer, so the next call writes a new one
    step(r, x);
    const before = be.memory();
    for (let i = 0; i < 100; i++) step(r, x);
    const after = be.memory();
    expect(after).toEqual(before);
    const v = await data(r.get());
    expectClose(v, v.map(() => 2), 1e-6);
    expect(profile().dispatches).toBe(1);
    expect(profile().bytesAllocated).toBe(0);
  });

  it("scan, foriLoop, cond and a while loop with a data-dependent trip count run", async () => {
    const { cpu, gpu } = await both(() => {
      const [c, ys] = scan((c: Array, x: Array) => {
        const n = np.tanh(c.mul(0.9).add(x));
        return [n, n.mul(2)] as const;
      }, np.zeros([3]), np.arange(12).reshape([4, 3]).astype("float32").mul(0.1)) as [Array, Array];
      const f = foriLoop(0, 5, (i: Array, a: Array) => a.add(np.astype(i, "float32")), np.ones([2]));
      const k = cond(np.array(true), () => np.ones([2]).mul(3), () => np.ones([2]).mul(-3)) as Array;
      const k2 = cond(np.array(false), () => np.ones([2]).mul(3), () => np.ones([2]).mul(-3)) as Array;
      const w = whileLoop((c: Array) => c.lt(10), (c: Array) => c.add(1), np.array(0)) as Array;
      return [c, ys, f, k, k2, w];
    });
    gpu.forEach((g, k) => expectClose(g, cpu[k]!, 1e-5, 1e-6, `output ${k}`));
    expect(gpu[5]).toEqual([10]);
  });

  it("lower(...).asText({backend: 'webgpu'}) shows WGSL", async () => {
    await setBackend("webgpu");
    const inc = jit(function increment(r: Ref) {
      r.set(r.get().add(1).mul(3));
    });
    const text = inc.lower(newRef(np.array([1, 2, 3]))).asText({ backend: "webgpu" });
    expect(text).toContain("@compute");
  });

  it("asText({backend: 'webgpu'}) shows every dispatch's WGSL: matmuls, routines, and the bodies of scan and while", async () => {
    await setBackend("webgpu");
    const f = jit((x: Array, w: Array, n: Array) => {
      const h = np.maximum(np.matmul(x, w), 0);
      const c = np.cumsum(h, 0);
      const [, s] = scan((acc: Array, row: Array) => [acc.add(np.tanh(row)), acc] as [Array, Array], np.zeros([4]), c);
      const [, t] = whileLoop(([i]: [Array, Array]) => i.lt(n), ([i, t]: [Array, Array]) => [i.add(1), np.sin(t)] as [Array, Array], [np.array(0, { dtype: "int32" }), s]);
      return t;
    });
    const text = f.lower(np.ones([3, 2]), np.ones([2, 4]), np.array(2, { dtype: "int32" })).asText({ backend: "webgpu" });
    for (const label of ["// dot_general + epilogue", "// cumsum", "// scan body", "tanh_f(", "// while", "sin("]) expect(text).toContain(label);
  });

  // Adapters with shader-f16 run float16 (float16.test.ts); this is the default adapter's refusal.
  it.skipIf(adapterInfo()?.features.includes("shader-f16") ?? false)("float16 is refused with a clear error (an adapter without shader-f16)", async () => {
    const be = await setBackend("webgpu");
    expect(be.supportsDtype("float16")).toBe(false);
    expect(() => be.alloc(new ShapedArray([2], "float16"))).toThrow(/webgpu backend: float16 is not supported/);
    const x = new Var(new ShapedArray([2], "float16"));
    expect(() => be.compile(makeProgram([x], [], [x]))).toThrow(/float16 is not supported/);
  });

  it("WGSL validation errors surface with the kernel source", async () => {
    const be = (await setBackend("webgpu")) as import("../src/index.js").WebGpuBackend;
    be.pipeline("fn main() { let x: u32 = 1.5; }", 0);
    await expect(np.ones([3]).mul(2).data()).rejects.toThrow(/while compiling this kernel:\nfn main\(\)/);
  });

  it("device loss: the next call throws; setBackend('webgpu') starts a fresh device", async () => {
    await setBackend("webgpu");
    const x = np.ones([4]).mul(2);
    await x.data();
    simulateDeviceLoss();
    expect(() => x.add(1)).toThrow(/webgpu device was lost \(simulated device loss\); call setBackend\("webgpu"\) again to start a fresh device/);
    await setBackend("webgpu");
    expect(await data(np.ones([4]).mul(3))).toEqual([3, 3, 3, 3]);
    expect(memory("webgpu").buffers).toBeGreaterThan(0);
  });
});

describe.skipIf(!hasGpu)("training step", () => {
  it("a jitted MLP gradient step matches the CPU", async () => {
    const loss = (w1: Array, w2: Array, x: Array, y: Array) => np.mean(np.square(np.matmul(np.tanh(np.matmul(x, w1)), w2).sub(y)));
    const { cpu, gpu } = await both(() => {
      // A fresh jit per backend: jit caches its constants on the first backend it ran on.
      const step = jit((w1: Array, w2: Array, x: Array, y: Array) => {
        const [g1, g2] = grad(loss, { argnums: [0, 1] })(w1, w2, x, y) as Array[];
        return [w1.sub(g1!.mul(0.1)), w2.sub(g2!.mul(0.1))];
      });
      const w1 = np.linspace(-1, 1, 16 * 32).reshape([16, 32]);
      const w2 = np.linspace(-0.5, 0.5, 32 * 4).reshape([32, 4]);
      const x = np.sin(np.arange(8 * 16).reshape([8, 16]).astype("float32"));
      return step(w1, w2, x, np.ones([8, 4])) as Array[];
    });
    gpu.forEach((g, k) => expectClose(g, cpu[k]!, 1e-4, 1e-5, `output ${k}`));
    expect(profile().dispatches).toBeLessThanOrEqual(12);
  });
});

describe.skipIf(!hasGpu)("binding limits", () => {
  it("a fused kernel with more inputs than storage bindings allows is split per equation", async () => {
    const { cpu, gpu } = await both(() => {
      const f = jit((...xs: Array[]) => xs.reduce((a, b, i) => a.mul(0.9).add(b.mul(i + 1))));
      return f(...globalThis.Array.from({ length: 24 }, (_: unknown, i: number) => np.arange(10).astype("float32").add(i)));
    });
    expectClose(gpu[0]!, cpu[0]!, 1e-5, 1e-5);
  });
});
