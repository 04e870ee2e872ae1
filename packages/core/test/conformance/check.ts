/** The CPU-side check shared by the conformance runners of core, trace and nn. */
import { expect } from "vitest";
import { isFloat, type Array } from "../../src/index.js";
import type { ConformanceCase } from "./cases.js";

export async function checkCaseOnCpu(c: ConformanceCase): Promise<void> {
  const outs = [c.run()].flat() as Array[];
  expect(outs.length, c.name).toBeGreaterThan(0);
  for (let k = 0; k < outs.length; k++) {
    const x = outs[k]!;
    const v = [...(await x.data())] as number[];
    expect(v.length, `${c.name} output ${k} size`).toBe(x.size);
    const want = c.expected?.[k];
    if (want) {
      expect(v.length, `${c.name} output ${k}`).toBe(want.length);
      v.forEach((g, i) => {
        const w = want[i]!;
        if (Number.isNaN(w)) expect(g, `${c.name} output ${k}[${i}]`).toBeNaN();
        else if (!Number.isFinite(w) || !isFloat(x.dtype)) expect(g, `${c.name} output ${k}[${i}]`).toBe(w);
        else expect(Math.abs(g - w), `${c.name} output ${k}[${i}]: ${g} vs ${w}`).toBeLessThanOrEqual(1e-6 + 1e-5 * Math.abs(w));
      });
    } else if (isFloat(x.dtype) && !c.name.includes("by zero")) {
      v.forEach((g, i) => expect(Number.isFinite(g), `${c.name} output ${k}[${i}] = ${g} is not finite`).toBe(true));
    }
  }
}
