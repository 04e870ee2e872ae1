/**
 * Bad input on webgpu (issue 5): arrays of two backends in one op, buffers over
 * the device's maxStorageBufferBindingSize, unsupported dtypes. Each error
 * names the op (or program), what was found and what to do. (Lost devices:
 * program.test.ts and while.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { ShapedArray, np, setBackend, toBackend, type Array } from "@refs/core";
import { jit } from "@refs/trace";
import { adapterInfo, type WebGpuBackend } from "../src/index.js";
import { hasGpu, settledMemory } from "./setup.js";

/** The adapter of this file (setup.ts brought one up): float16 is refused only without shader-f16 (float16.test.ts covers it with). */
const hasF16 = adapterInfo()?.features.includes("shader-f16") ?? false;

const data = async (x: Array): Promise<number[]> => [...(await x.data())];

describe.skipIf(!hasGpu)("errors on webgpu", () => {
  it("a cpu array and a webgpu array in one op: the message names the op, both backends and a move that works", async () => {
    await setBackend("cpu");
    const a = np.arange(3).astype("float32").add(1); // computed on the cpu
    await setBackend("webgpu");
    const b = np.ones([3]).mul(2); // computed on webgpu
    expect(() => a.add(b)).toThrow(
      'add: arrays live on different backends (argument 0 on "cpu", argument 1 on "webgpu"); move the cpu one with toBackend(x, "webgpu") before combining them',
    );
    expect(() => np.where(b.gt(0), b, a)).toThrow('select: arrays live on different backends (argument 0 on "webgpu", argument 2 on "cpu"); move the cpu one');
    // The advice works.
    expect(await data(toBackend(a, "webgpu").add(b))).toEqual([3, 4, 5]);
    // The other way round toBackend cannot work (webgpu has no synchronous read), and says so.
    expect(() => toBackend(b, "cpu")).toThrow("dataSync: the webgpu backend cannot read float32[3] synchronously; use `await x.data()`");
  });

  it("mixed backends in a jitted call name the backends and what to do", async () => {
    await setBackend("cpu");
    const a = np.arange(3).astype("float32").add(1);
    await setBackend("webgpu");
    const b = np.ones([3]).mul(2);
    const onGpu = jit((x: Array, y: Array) => x.mul(y));
    expect(() => onGpu(b, a)).toThrow('an array on the "cpu" backend was used by an op on "webgpu"; move it with toBackend(x, "webgpu")');
    await setBackend("cpu");
    const onCpu = jit((x: Array, y: Array) => x.mul(y));
    expect(() => onCpu(a, b)).toThrow(
      'an array on the "webgpu" backend was used by an op on "cpu"; read it with `await x.data()` and rebuild it on "cpu" with np.array (the webgpu backend cannot read synchronously)',
    );
  });

  it("a buffer over maxStorageBufferBindingSize fails before reaching the device: alloc, an eager op, a jitted intermediate", async () => {
    const be = (await setBackend("webgpu")) as WebGpuBackend;
    const limit = be.device.limits.maxStorageBufferBindingSize;
    const MiB = limit / 2 ** 20;
    const cols = Math.floor(limit / 4 / 8192) + 1; // 8192 x cols float32 is just over the limit
    const over = new RegExp(
      `needs a buffer of [0-9.]+ MiB, more than this device's maxStorageBufferBindingSize of ${MiB} MiB; split the work into smaller arrays \\(for example a scan or foriLoop over chunks\\), or run it on the cpu backend`,
    );
    const x = np.ones([1, cols]);
    await x.data();
    const before = await settledMemory();
    const n = limit / 4 + 1;
    expect(() => be.alloc(new ShapedArray([n], "float32"))).toThrow(new RegExp(`^webgpu backend: alloc of float32\\[${n}\\] ${over.source}`));
    expect(() => np.broadcastTo(x, [8192, cols])).toThrow(new RegExp(`^webgpu backend: broadcast_in_dim producing float32\\[8192,${cols}\\] ${over.source}`));
    const big = jit(function big(x: Array) {
      return np.cumsum(np.broadcastTo(x, [8192, cols]), 1).sum();
    });
    expect(() => big(x)).toThrow(new RegExp(`^webgpu backend: [a-z_]+ in big producing float32\\[8192,${cols}\\] ${over.source}`));
    expect(await settledMemory()).toEqual(before); // nothing was allocated
    // A value that large but fused inside one kernel never exists in memory: allowed.
    const fused = jit((x: Array) => np.mean(np.broadcastTo(x, [8192, cols])));
    expect((await data(fused(x) as Array))[0]).toBeCloseTo(1, 3);
    expect(await data(np.ones([3]).mul(2))).toEqual([2, 2, 2]);
  });

  it.skipIf(hasF16)("float16 without shader-f16 (this adapter) is refused with the op and what to use instead", async () => {
    const be = (await setBackend("webgpu")) as WebGpuBackend;
    expect(be.supportsDtype("float16")).toBe(false);
    const f16 = be.info.features.includes("shader-f16") ? "" : " \\(the adapter has no shader-f16 feature\\)";
    expect(() => np.ones([2]).astype("float16")).toThrow(
      new RegExp(`^webgpu backend: float16 is not supported on this device${f16}, found in convert_element_type; use float32 \\(x\\.astype\\("float32"\\)\\)`),
    );
    const h = np.array([1, 2], { dtype: "float16" }); // host data: nothing on the device yet
    expect(() => h.mul(h)).toThrow(/^webgpu backend: float16 is not supported on this device.*, found in mul; use float32/);
    expect(() => be.alloc(new ShapedArray([2], "float16"))).toThrow(/^webgpu backend: float16 is not supported on this device.*, found in alloc of float16\[2\]; use float32/);
    // Inside jit the message names the op and the program; it says what to do: float32, or an adapter with shader-f16.
    const half = jit(function half(x: Array) {
      return x.astype("float16").mul(2);
    });
    expect(() => half(np.ones([2]))).toThrow(
      /^webgpu backend: float16 is not supported on this device \(the adapter has no shader-f16 feature\), found in convert_element_type in half; use float32 \(x\.astype\("float32"\)\), or an adapter with shader-f16/,
    );
  });

  it("float64 is refused with what to use instead (on every adapter)", async () => {
    await setBackend("webgpu");
    expect(() => np.array([1, 2], { dtype: "float64" as never })).toThrow(
      'array: unsupported dtype "float64"; expected one of float32, int32, uint32, bool, float16 (64-bit dtypes are not supported: refs computes in 32 bits, like JAX with x64 disabled; use float32 or int32)',
    );
    expect(() => np.ones([2]).astype("float64" as never)).toThrow(/^astype: unsupported dtype "float64".*use float32 or int32\)$/);
  });
});
