/**
 * Smoke test of the harness: tiny cases through loadLibs → makeCases →
 * runCases on refs cpu and the CPU peers, no timing assertions — just rows
 * with finite numbers and a numerical check that passes.
 */
import { describe, expect, it } from "vitest";
import { FULL, fmaModule, loadLibs, makeCases, relError, runCases, table, type Row } from "../src/main.js";
import { kernelsFor } from "../src/main.js";

const TINY = { ...FULL, reps: 2, minReps: 1, warmup: 1, sampleMs: 1, budgetMs: 50, maxCallMs: 10_000 };

describe("bench harness", () => {
  it("runs tiny cases on refs and the CPU peers, with finite numbers and matching results", async () => {
    const libs = await loadLibs({ noGpu: true, only: ["refs cpu", "jax-js wasm", "tfjs cpu"] });
    expect(libs.targets.map((t) => `${t.lib} ${t.backend}`)).toContain("refs cpu");
    const cases = makeCases(kernelsFor(libs), {
      matmulSizes: [32],
      geluSize: 4096,
      reduce: [64, 32],
      only: ["matmul", "gelu", "softmax", "block"],
    });
    const rows: Row[] = await runCases(cases, libs.targets, TINY, libs.unavailable);
    const timed = rows.filter((r) => r.status !== "skipped");
    expect(timed.length).toBe(cases.length * libs.targets.length);
    for (const r of timed) {
      expect(r.status, `${r.workload} ${r.lib} ${r.backend}: ${r.note ?? ""}`).toBe("ok");
      expect(Number.isFinite(r.medianMs)).toBe(true);
      expect(Number.isFinite(r.throughput)).toBe(true);
      expect(r.medianMs!).toBeGreaterThan(0);
      if (r.lib !== "refs") {
        expect(r.checkError!).toBeLessThanOrEqual(1e-3);
        expect(Number.isFinite(r.speedup)).toBe(true);
      }
    }
    expect(table(rows, null)).toContain("matmul f32");
  }, 60_000);

  it("compares numbers relative to the reference's scale", () => {
    expect(relError([1, 2, 3], [1, 2, 3])).toBe(0);
    expect(relError([1, 2, 3.003], [1, 2, 3])).toBeCloseTo(1e-3, 6);
    expect(relError([NaN], [1])).toBe(Infinity);
  });

  it("emits a valid Wasm FMA module", () => {
    const v = (globalThis as unknown as { WebAssembly: { validate(b: Uint8Array): boolean } }).WebAssembly;
    expect(v.validate(fmaModule(false))).toBe(true);
  });
});
