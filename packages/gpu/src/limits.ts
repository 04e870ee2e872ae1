/**
 * Buffer size limits, checked before anything reaches the device: every
 * buffer we allocate is bound whole as a storage buffer, so an array larger
 * than maxStorageBufferBindingSize (or maxBufferSize) would otherwise fail as
 * a Dawn validation error far from its cause.
 */
import type { Program, ShapedArray, Var } from "@refs/core";
import { deviceBytes } from "./layout.js";

export function bindingLimit(device: GPUDevice): number {
  return Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
}

function size(bytes: number): string {
  const MiB = 1024 * 1024;
  if (bytes >= MiB) return `${Number.isInteger(bytes / MiB) ? bytes / MiB : (bytes / MiB).toFixed(1)} MiB`;
  return `${bytes} bytes`;
}

const ADVICE = "split the work into smaller arrays (for example a scan or foriLoop over chunks), or run it on the cpu backend";

export function checkBufferSize(aval: ShapedArray, limit: number, what: () => string): void {
  const bytes = deviceBytes(aval.size, aval.dtype);
  if (bytes <= limit) return;
  throw new RangeError(
    `webgpu backend: ${what()} needs a buffer of ${size(bytes)}, more than this device's maxStorageBufferBindingSize of ${size(limit)}; ${ADVICE}`,
  );
}

/**
 * Check the inputs of a compiled program and every value that gets a buffer
 * (`slots`: kernel and routine inputs and outputs; values fused inside one
 * kernel never exist in memory and are not limited).
 */
export function checkProgramBuffers(p: Program, slots: ReadonlyMap<Var, number>, limit: number): void {
  const name = p.name ?? "a program";
  p.inputs.forEach((v, i) => checkBufferSize(v.aval, limit, () => `input ${i} of ${name} (${v.aval.str()})`));
  for (const e of p.eqns)
    for (const v of e.outputs)
      if (v.aval.kind === "array" && slots.has(v))
        checkBufferSize(v.aval, limit, () => `${e.prim.name}${e.prim.name === name ? "" : ` in ${name}`} producing ${v.aval.str()}`);
}
