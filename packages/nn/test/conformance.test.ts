/**
 * Runs the shared nn conformance cases (test/conformance/cases.ts) on the CPU
 * backend: each case runs and float outputs are finite. Other backends (e.g.
 * @refs/gpu) compare against the CPU.
 */
import { describe, expect, it } from "vitest";
import { isFloat, setBackend, type Array } from "@refs/core";
import { nnCases } from "./conformance/cases.js";

describe("nn conformance cases on the CPU backend", () => {
  for (const c of nnCases)
    it(c.name, async () => {
      await setBackend("cpu");
      const outs = [c.run()].flat() as Array[];
      for (let k = 0; k < outs.length; k++) {
        const v = [...(await outs[k]!.data())] as number[];
        if (c.expected?.[k]) expect(v, `output ${k}`).toEqual(c.expected[k]);
        if (isFloat(outs[k]!.dtype)) for (const g of v) expect(Number.isFinite(g), `output ${k} has ${g}`).toBe(true);
      }
    });
});
