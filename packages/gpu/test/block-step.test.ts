/**
 * Fusion and memory on the notebook's Block (apps/notebook In [7]-[8]): the
 * jitted train step (nn.split/merge, valueAndGrad, nn.Optimizer + adam) runs
 * on webgpu in at most a third as many dispatches as its compiled program has
 * primitives, and its memory stays flat over 1,000 steps.
 */
import { describe, expect, it } from "vitest";
import { isProgram, memory, np, setBackend, type Array, type Program } from "@refs/core";
import { profile } from "../src/index.js";
import { makeTrainStep } from "../../nn/test/conformance/cases.js";
import { hasGpu, settledMemory } from "./setup.js";

/** Primitives of a program, counting the bodies of call-like eqns (jit_call, scan, cond…) instead of the eqn itself. */
function countPrimitives(p: Program): number {
  let n = 0;
  for (const e of p.eqns) {
    const subs = Object.values(e.params).flatMap((v) => (globalThis.Array.isArray(v) ? v : [v])).filter(isProgram) as Program[];
    n += subs.length ? subs.reduce((a, s) => a + countPrimitives(s), 0) : 1;
  }
  return n;
}

describe.skipIf(!hasGpu)("the notebook's Block train step on webgpu", () => {
  /** A small batch (10 examples, as in the notebook), made on the current backend. */
  const batch = () => [np.sin(np.arange(20).astype("float32").mul(0.37)).reshape([10, 2]), np.ones([10, 3])] as const;

  it("fusion: dispatches per step <= primitives / 3", async () => {
    await setBackend("webgpu");
    const { model, optimizer, trainStep } = makeTrainStep();
    const [x, y] = batch();
    const lowered = trainStep.lower(model, optimizer, x, y);
    const top = lowered.program.eqns.length;
    const prims = countPrimitives(lowered.program);
    await (trainStep(model, optimizer, x, y) as Array).data();
    await (trainStep(model, optimizer, x, y) as Array).data();
    const { dispatches, kernels } = profile();
    console.log(`[block-step] eqns (top level) ${top}, primitives (recursive) ${prims}, dispatches per step ${dispatches}; ratio ${(prims / dispatches).toFixed(2)}`);
    console.log(`[block-step] kernels: ${kernels.join(" | ")}`);
    expect(dispatches).toBeGreaterThan(0);
    expect(dispatches).toBeLessThanOrEqual(prims / 3);
  });

  it("runs with --expose-gc (the memory check collects garbage before each measurement)", () => {
    expect(typeof (globalThis as { gc?: unknown }).gc).toBe("function");
  });

  it(
    "memory stays flat over 1,000 steps (same live buffers and bytes after step 10 and step 1000)",
    async () => {
      await setBackend("webgpu");
      const { model, optimizer, trainStep } = makeTrainStep();
      const [x, y] = batch();
      let loss: Array | undefined;
      let at10: { buffers: number; bytes: number } | undefined;
      const t0 = performance.now();
      for (let i = 1; i <= 1000; i++) {
        loss?.dispose();
        loss = trainStep(model, optimizer, x, y) as Array;
        if (i === 10) {
          await loss.data();
          at10 = await settledMemory();
        }
      }
      const last = await loss!.data();
      const at1000 = await settledMemory();
      const ms = performance.now() - t0;
      console.log(`[block-step] 1000 steps in ${(ms / 1000).toFixed(1)} s (${(ms / 1000).toFixed(2)} ms/step); memory after step 10 ${JSON.stringify(at10)}, after step 1000 ${JSON.stringify(at1000)}; loss ${last[0]}`);
      expect(Number.isFinite(last[0]!)).toBe(true);
      expect(at1000).toEqual(at10);
    },
    600_000,
  );
});
