/**
 * Brings up the webgpu backend for the tests. Without an adapter the suite is
 * skipped with one line, unless REFS_REQUIRE_WEBGPU=1 (CI), where it fails.
 */
import { memory, np, setBackend, type Array } from "@refs/core";
import { afterAll } from "vitest";
import { createWebGpuBackend, type WebGpuBackend } from "../src/index.js";

let probe: WebGpuBackend | undefined;
let why = "";
try {
  probe = await createWebGpuBackend();
} catch (e) {
  why = (e as Error).message;
}
if (probe) probe.dispose();
if (!probe && process.env.REFS_REQUIRE_WEBGPU === "1") throw new Error(`REFS_REQUIRE_WEBGPU=1 but no WebGPU adapter: ${why}`);
if (!probe)
  console.warn(
    `[@refs/gpu] skipping: no WebGPU adapter (${why.split(".")[0]}). On Debian/Ubuntu: apt-get install -y --no-install-recommends mesa-vulkan-drivers libvulkan1 libegl1 libgles2`,
  );

export const hasGpu = probe !== undefined;

afterAll(async () => {
  const { resetBackend } = await import("@refs/core");
  resetBackend("webgpu");
});

/** Run `f` on the CPU and on webgpu; return both results as plain arrays. */
export async function both(f: () => Array | Array[]): Promise<{ cpu: number[][]; gpu: number[][] }> {
  await setBackend("cpu");
  const c = [f()].flat();
  const cpu = await Promise.all(c.map(async (x) => [...(await x.data())]));
  await setBackend("webgpu");
  const g = [f()].flat();
  const gpu = await Promise.all(g.map(async (x) => [...(await x.data())]));
  return { cpu, gpu };
}

export function close(a: readonly number[], b: readonly number[], rtol = 1e-5, atol = 1e-6): void {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!, y = b[i]!;
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (x === y) continue;
    if (!(Math.abs(x - y) <= atol + rtol * Math.abs(y)))
      throw new Error(`mismatch at ${i}: gpu ${x} vs cpu ${y}\n gpu: ${a.slice(0, 20).join(", ")}\n cpu: ${b.slice(0, 20).join(", ")}`);
  }
}

export { np };

const gc = (globalThis as { gc?: () => void }).gc;

/**
 * Live webgpu memory once unreachable arrays are collected and their
 * finalizers (which free buffers) have run: a memory comparison must not
 * depend on when the GC last ran. Needs --expose-gc (vitest.config.ts).
 */
export async function settledMemory(): Promise<{ buffers: number; bytes: number }> {
  if (!gc) throw new Error("settledMemory needs node --expose-gc");
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 0));
  }
  return memory("webgpu");
}
