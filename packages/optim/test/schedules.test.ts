import { describe, expect, it } from "vitest";
import { np, type Array } from "@refs/core";
import {
  adam,
  constantSchedule,
  cosineDecaySchedule,
  joinSchedules,
  linearSchedule,
  polynomialSchedule,
  scaleByLearningRate,
  ScaleByScheduleState,
  sgd,
  warmupCosineDecaySchedule,
  INT32_MAX,
  type Schedule,
} from "../src/index.js";
import { expectClose } from "./helpers.js";

const count = (c: number): Array => np.array(c, { dtype: "int32" });
const at = (s: Schedule, c: number): number => {
  const v = s(count(c));
  expect(v.shape).toEqual([]);
  expect(v.dtype).toBe("float32");
  return v.item() as number;
};
const steps = [0, 1, 2, 3, 5, 7, 10, 11, 15, 100];

// The formulas, in float64.
const linear = (init: number, end: number, n: number, begin = 0) => (c: number) =>
  (init - end) * (1 - Math.min(Math.max(c - begin, 0), n) / n) + end;
const cosine = (init: number, n: number, alpha = 0, exponent = 1) => (c: number) =>
  init * ((1 - alpha) * (0.5 * (1 + Math.cos((Math.PI * Math.min(c, n)) / n))) ** exponent + alpha);
const warmupCosine = (init: number, peak: number, warm: number, decay: number, end = 0) => (c: number) =>
  c < warm ? linear(init, peak, warm)(c) : cosine(peak, decay - warm, peak === 0 ? 0 : end / peak)(c - warm);

describe("schedules", () => {
  it("constantSchedule", () => {
    for (const c of steps) expectClose(at(constantSchedule(0.3), c), 0.3);
  });

  it("linearSchedule", () => {
    const s = linearSchedule(1.0, 0.1, 10);
    for (const c of steps) expectClose(at(s, c), linear(1, 0.1, 10)(c), 1e-6, 1e-7);
    expectClose(at(s, 0), 1);
    expectClose(at(s, 5), 0.55);
    expectClose(at(s, 10), 0.1);
    expectClose(at(s, 1000), 0.1);
  });

  it("linearSchedule with transitionBegin", () => {
    const s = linearSchedule(0.5, 2.0, 8, 3);
    for (const c of steps) expectClose(at(s, c), linear(0.5, 2, 8, 3)(c), 1e-6, 1e-7);
    expectClose(at(s, 3), 0.5);
    expectClose(at(s, 7), 1.25);
  });

  it("polynomialSchedule (optax docstring example: power 2, begin 5)", () => {
    const s = polynomialSchedule(1.0, 0.01, 2, 100, 5);
    const expected: [number, number][] = [[0, 1], [5, 1], [6, 0.9803], [104, 0.0101], [105, 0.01], [110, 0.01]];
    for (const [c, v] of expected) expect(at(s, c)).toBeCloseTo(v, 4);
  });

  it("a non-positive transitionSteps gives the constant init", () => {
    const s = linearSchedule(0.7, 0.1, 0);
    for (const c of [0, 5, 50]) expectClose(at(s, c), 0.7);
  });

  it("cosineDecaySchedule", () => {
    const s = cosineDecaySchedule(0.7, 10);
    for (const c of steps) expectClose(at(s, c), cosine(0.7, 10)(c), 1e-6, 1e-7);
    expectClose(at(s, 0), 0.7);
    expectClose(at(s, 5), 0.35, 1e-6);
    expect(at(s, 10)).toBeCloseTo(0, 7);
  });

  it("cosineDecaySchedule with alpha and exponent", () => {
    const s = cosineDecaySchedule(0.7, 10, 0.2, 2);
    for (const c of steps) expectClose(at(s, c), cosine(0.7, 10, 0.2, 2)(c), 1e-6, 1e-7);
    expectClose(at(s, 10), 0.7 * 0.2, 1e-6);
  });

  it("warmupCosineDecaySchedule", () => {
    const s = warmupCosineDecaySchedule(0, 1, 3, 11, 0.05);
    for (const c of steps) expectClose(at(s, c), warmupCosine(0, 1, 3, 11, 0.05)(c), 1e-6, 1e-7);
    expectClose(at(s, 0), 0);
    expectClose(at(s, 3), 1);
    expectClose(at(s, 11), 0.05, 1e-6);
    expectClose(at(s, 1000), 0.05, 1e-6);
  });

  it("joinSchedules switches at the boundaries, counting from each boundary", () => {
    const s = joinSchedules([constantSchedule(1), linearSchedule(2, 0, 4), constantSchedule(7)], [2, 6]);
    expect([0, 1, 2, 3, 4, 5, 6, 9].map((c) => at(s, c))).toEqual([1, 1, 2, 1.5, 1, 0.5, 7, 7]);
  });

  it("a learning-rate schedule is evaluated at the count before the increment", () => {
    const tx = scaleByLearningRate(linearSchedule(1, 0, 4));
    let s = tx.init(np.zeros([1]));
    expect(s).toBeInstanceOf(ScaleByScheduleState);
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      const [u, ns] = tx.update(np.ones([1]), s);
      s = ns;
      seen.push(u.item() as number);
    }
    expect(seen).toEqual([-1, -0.75, -0.5, -0.25, -0, -0]);
    expect((s as ScaleByScheduleState).count.item()).toBe(6);
  });

  it("the schedule's step count saturates at the int32 maximum", () => {
    const tx = scaleByLearningRate(constantSchedule(2));
    const [u, s] = tx.update(np.ones([1]), new ScaleByScheduleState(count(INT32_MAX)));
    expect(u.toJs()).toEqual([-2]);
    expect(s.count.item()).toBe(INT32_MAX);
    expect(s.count.dtype).toBe("int32");
  });

  it("sgd and adam accept a schedule", () => {
    const opt = sgd(cosineDecaySchedule(0.2, 2));
    let s = opt.init(np.zeros([1]));
    const us: number[] = [];
    for (let i = 0; i < 3; i++) {
      const [u, ns] = opt.update(np.ones([1]), s);
      s = ns;
      us.push(u.item() as number);
    }
    expectClose(us, [-0.2, -0.1, 0], 1e-6, 1e-8);
    const a = adam(constantSchedule(0.1));
    const [u] = a.update(np.ones([1]), a.init(np.zeros([1])));
    const [u2] = adam(0.1).update(np.ones([1]), adam(0.1).init(np.zeros([1])));
    expect(u.toJs()).toEqual(u2.toJs());
  });
});
