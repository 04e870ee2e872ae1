/**
 * The conformance suite (shared by conformance.test.ts and vulkan.test.ts):
 * the conformance suites of @refs/core, @refs/trace and @refs/nn (one source:
 * each package's test/conformance/cases.ts) run on the CPU and on webgpu, and
 * the outputs are compared: float32 within the case's tolerance (default 1e-5
 * relative + 1e-6 absolute; tol 0 = bit-exact, as for the PRNG), ints and
 * bools exactly, same shapes and dtypes. Every case runs on both backends
 * (whileLoop with a data-dependent trip count included).
 */
import { describe, expect, it } from "vitest";
import { isFloat, setBackend, type Array, type DType } from "@refs/core";
import { coreCases } from "../../core/test/conformance/cases.js";
import { traceCases } from "../../trace/test/conformance/cases.js";
import { nnCases } from "../../nn/test/conformance/cases.js";

/** The shape shared by the three case lists. `run` is typed loosely: core's cases import @refs/core's source, the others the package (the same module at run time). */
interface Case {
  name: string;
  run: () => unknown;
  tol?: number;
}
interface Out {
  shape: readonly number[];
  dtype: DType;
  data: number[];
}

async function runOn(backend: string, c: Case): Promise<Out[]> {
  await setBackend(backend);
  const outs = [c.run()].flat() as Array[];
  return Promise.all(outs.map(async (x) => ({ shape: [...x.shape], dtype: x.dtype, data: [...(await x.data())] as number[] })));
}

function compare(c: Case, gpu: Out[], cpu: Out[]): void {
  expect(gpu.length, `${c.name}: number of outputs`).toBe(cpu.length);
  const rtol = c.tol ?? 1e-5;
  const atol = c.tol === 0 ? 0 : c.tol === undefined ? 1e-6 : c.tol / 10;
  cpu.forEach((want, k) => {
    const got = gpu[k]!;
    const what = `${c.name}: output ${k}`;
    expect(got.dtype, `${what} dtype`).toBe(want.dtype);
    expect(got.shape, `${what} shape`).toEqual(want.shape);
    expect(got.data.length, `${what} size`).toBe(want.data.length);
    const exact = !isFloat(want.dtype) || c.tol === 0;
    for (let i = 0; i < want.data.length; i++) {
      const x = got.data[i]!, y = want.data[i]!;
      if (Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y))) continue;
      if (!exact && x === y) continue; // +0 vs -0 is fine for floats with a tolerance
      if (exact || !(Math.abs(x - y) <= atol + rtol * Math.abs(y)))
        throw new Error(
          `${what} (${want.dtype}${exact ? ", exact" : `, rtol ${rtol}`}) mismatch at ${i}: webgpu ${x} vs cpu ${y}\n webgpu: ${got.data.slice(0, 16).join(", ")}\n cpu:    ${want.data.slice(0, 16).join(", ")}`,
        );
    }
  });
}

const suites: [string, readonly Case[]][] = [
  ["core", coreCases],
  ["trace", traceCases],
  ["nn", nnCases],
];

/** The whole conformance suite as a vitest describe block, on whichever webgpu adapter the file brought up. */
export function describeConformance(title: string, enabled: boolean): void {
  describe.skipIf(!enabled)(title, () => {
    for (const [pkg, cases] of suites)
      describe(pkg, () => {
        it("has cases", () => expect(cases.length).toBeGreaterThan(0));
        for (const c of cases)
          it(c.name, async () => {
            const cpu = await runOn("cpu", c);
            const gpu = await runOn("webgpu", c);
            await setBackend("cpu");
            compare(c, gpu, cpu);
          });
      });
  });
}
