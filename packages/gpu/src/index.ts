/**
 * @refs/gpu — the WebGPU backend of refs. Importing this module registers
 * `"webgpu"` (priority -1: the CPU backend stays the default); opt in with
 * `await setBackend("webgpu")`.
 *
 * compile(): the core fusion planner splits a program into fused kernels
 * (lowered to WGSL in ./kernels.ts), dot_generals with their fused epilogues
 * (./matmul.ts) and routines (./routines.ts); sub-programs
 * (jit_call, scan bodies, cond branches) compile to nested executables that
 * are encoded inline. execute(): one command encoder, one submit. Device
 * layout (./layout.ts): 32-bit words (bool as u32 0/1), float16 packed two to
 * a word; float16 needs the adapter's shader-f16 feature.
 *
 * A program with a data-dependent while loop (./while.ts) needs device reads
 * between submits, so execute returns its output handles at once and runs it
 * as a task of the ordered queue (./queue.ts); until the queue drains, later
 * calls that touch buffers queue up behind it.
 */
import { registerBackend } from "@refs/core";
import { createWebGpuBackend } from "./backend.js";

export { adapterInfo, type AdapterInfo } from "./device.js";
export { WebGpuBackend, createWebGpuBackend, profile, simulateDeviceLoss, type Profile } from "./backend.js";

registerBackend("webgpu", createWebGpuBackend, { priority: -1 });
