/**
 * Runs the shared backend conformance cases (test/conformance/cases.ts) on the
 * CPU backend: each case runs, float outputs are finite or match the case's
 * hand-computed `expected` values. Other backends compare against the CPU.
 */
import { describe, expect, it } from "vitest";
import { setBackend } from "../src/index.js";
import { checkCaseOnCpu } from "./conformance/check.js";
import { coreCases } from "./conformance/cases.js";

describe("conformance cases on the CPU backend", () => {
  it("has cases", () => expect(coreCases.length).toBeGreaterThan(20));
  for (const c of coreCases)
    it(c.name, async () => {
      await setBackend("cpu");
      await checkCaseOnCpu(c);
    });
});
