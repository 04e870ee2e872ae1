/**
 * Results of real optax (0.2.8, jax 0.10.2, float32 on CPU) for three update
 * steps of each optimizer; see fixtures/gen_optax_reference.py. (On the CPU
 * backend all but one value are bit-identical; the tolerance leaves room for
 * other backends and reduction orders.)
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { np, type Array } from "@refs/core";
import {
  adam,
  adamw,
  applyUpdates,
  chain,
  clipByGlobalNorm,
  constantSchedule,
  cosineDecaySchedule,
  linearSchedule,
  sgd,
  warmupCosineDecaySchedule,
  type GradientTransformation,
  type Schedule,
} from "../src/index.js";
import { expectClose } from "./helpers.js";

interface Run {
  updates: unknown[];
  params: unknown[];
}
const ref = JSON.parse(readFileSync(new URL("./fixtures/optax-reference.json", import.meta.url), "utf8")) as Record<
  string,
  Run
> & { schedules: { steps: number[]; values: Record<string, number[]> } };

const f32 = (v: number | number[]): Array => np.array(v, { dtype: "float32" });
type P = { w: Array; b: Array };
const params: P = { w: f32([1.0, -2.0, 3.0]), b: f32(0.5) };
const grads: P[] = [
  { w: f32([0.1, -0.2, 0.3]), b: f32(1.5) },
  { w: f32([-0.4, 0.5, 0.06]), b: f32(-0.25) },
  { w: f32([1e-3, 2.0, -7.0]), b: f32(0.0) },
];

// The reference is JSON with sorted keys ({b, w}), as our pytrees are.
function check(name: string, opt: GradientTransformation<unknown>): void {
  const r = ref[name]!;
  let p = params;
  let s = opt.init(p);
  grads.forEach((g, i) => {
    const [u, ns] = opt.update(g, s, p);
    s = ns;
    p = applyUpdates(p, u);
    expectClose(u, r.updates[i], 2e-6, 1e-8);
    expectClose(p, r.params[i], 2e-6, 1e-8);
  });
}

describe("matches optax in float32", () => {
  it("adam", () => check("adam", adam(0.1)));
  it("adam with b1, b2, eps, epsRoot", () => check("adam_opts", adam(0.01, { b1: 0.8, b2: 0.99, eps: 1e-6, epsRoot: 1e-7 })));
  it("adamw", () => check("adamw", adamw(0.1, { weightDecay: 0.05 })));
  it("adamw with a mask", () => check("adamw_mask", adamw(0.1, { weightDecay: 0.05, mask: { w: true, b: false } })));
  it("sgd", () => check("sgd", sgd(0.1)));
  it("sgd with momentum", () => check("sgd_mom", sgd(0.1, { momentum: 0.9 })));
  it("sgd with Nesterov momentum", () => check("sgd_nest", sgd(0.1, { momentum: 0.9, nesterov: true })));
  it("clipByGlobalNorm + adam with a warm-up cosine schedule", () =>
    check("clip_adam_sched", chain(clipByGlobalNorm(1.0), adam(warmupCosineDecaySchedule(0.0, 0.1, 1, 3, 0.01)))));

  it("schedules", () => {
    const { steps, values } = ref.schedules;
    const schedules: Record<string, Schedule> = {
      constant: constantSchedule(0.3),
      linear: linearSchedule(1.0, 0.1, 10),
      linear_begin: linearSchedule(0.5, 2.0, 8, 3),
      cosine: cosineDecaySchedule(0.7, 10),
      cosine_alpha: cosineDecaySchedule(0.7, 10, 0.2, 2.0),
      warmup_cosine: warmupCosineDecaySchedule(0.0, 1.0, 3, 11, 0.05),
    };
    expect(Object.keys(schedules).sort()).toEqual(Object.keys(values).sort());
    for (const [name, s] of Object.entries(schedules)) {
      const got = steps.map((c) => s(np.array(c, { dtype: "int32" })).item() as number);
      expectClose(got, values[name], 1e-6, 1e-8);
    }
  });
});
