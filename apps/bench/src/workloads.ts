/** The cases: each workload at each size, dispatched to the library of a target. */
import type { Case, LibName, Target } from "./harness.js";
import { blockInit, mlpInit, uniform, normal } from "./data.js";
import type { Kernels } from "./libs/kernels.js";

export type KernelSet = Partial<Record<LibName, Kernels>>;

export interface CaseOptions {
  matmulSizes: readonly number[];
  /** Elements of the gelu input. */
  geluSize: number;
  /** Rows × cols of the reductions. */
  reduce: readonly [number, number];
  /** Which workloads (all when absent): matmul, gelu, sum, softmax, block, mlp. */
  only?: readonly string[];
  /** MLP hidden width and batch (the smoke test shrinks them). */
  mlp?: { hidden: number; batch: number };
}

export const FULL_CASES: CaseOptions = { matmulSizes: [256, 512, 1024, 2048], geluSize: 1 << 20, reduce: [4096, 1024] };
export const QUICK_CASES: CaseOptions = { matmulSizes: [256, 512], geluSize: 1 << 20, reduce: [4096, 1024] };

export function makeCases(kernels: KernelSet, opts: CaseOptions): Case[] {
  const want = (w: string) => !opts.only || opts.only.includes(w);
  const on = (t: Target): Kernels | string => kernels[t.lib] ?? `${t.lib} is not loaded`;
  const cases: Case[] = [];

  if (want("matmul"))
    for (const n of opts.matmulSizes) {
      const a = normal(n * n, 1);
      const b = normal(n * n, 2);
      cases.push({
        workload: "matmul f32",
        size: `${n}×${n}`,
        work: 2 * n ** 3,
        cost: 2 * n ** 3,
        unit: "GFLOP/s",
        tolerance: 1e-3,
        make: async (t) => {
          const k = on(t);
          return typeof k === "string" ? k : k.matmul(a, b, n, t.backend);
        },
      });
    }

  if (want("gelu")) {
    const n = opts.geluSize;
    const x = uniform(n, 3, -4, 4);
    cases.push({
      workload: "gelu (tanh) chain",
      size: n === 1 << 20 ? "1M" : String(n),
      work: n,
      cost: n,
      unit: "items/s",
      tolerance: 1e-4,
      make: async (t) => {
        const k = on(t);
        return typeof k === "string" ? k : k.gelu(x, t.backend);
      },
    });
  }

  const [rows, cols] = opts.reduce;
  const rx = uniform(rows * cols, 4, -3, 3);
  if (want("sum"))
    cases.push({
      workload: "sum over rows",
      size: `${rows}×${cols}`,
      work: rows * cols,
      cost: rows * cols,
      unit: "items/s",
      tolerance: 1e-4,
      make: async (t) => {
        const k = on(t);
        return typeof k === "string" ? k : k.rowSum(rx, rows, cols, t.backend);
      },
    });
  if (want("softmax"))
    cases.push({
      workload: "softmax over rows",
      size: `${rows}×${cols}`,
      work: rows * cols,
      cost: rows * cols,
      unit: "items/s",
      tolerance: 1e-4,
      make: async (t) => {
        const k = on(t);
        return typeof k === "string" ? k : k.softmax(rx, rows, cols, t.backend);
      },
    });

  if (want("block")) {
    const init = blockInit();
    cases.push({
      workload: "Block train step",
      size: `batch ${init.batch}`,
      work: init.batch,
      cost: 0,
      unit: "items/s",
      tolerance: 1e-3,
      make: async (t) => {
        const k = on(t);
        return typeof k === "string" ? k : k.train(init, t.backend);
      },
    });
  }

  if (want("mlp")) {
    const hidden = opts.mlp?.hidden ?? 512;
    const init = mlpInit(hidden, opts.mlp?.batch ?? 128);
    cases.push({
      workload: "MLP train step",
      size: `784-${hidden}-${hidden}-10, batch ${init.batch}`,
      work: init.batch,
      cost: 0,
      unit: "items/s",
      tolerance: 1e-3,
      make: async (t) => {
        const k = on(t);
        return typeof k === "string" ? k : k.train(init, t.backend);
      },
    });
  }
  return cases;
}
