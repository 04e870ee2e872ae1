import { describe, expect, it } from "vitest";
import { newRef, np, type Array } from "@refs/core";
import {
  adam,
  adamw,
  applyUpdates,
  chain,
  clipByGlobalNorm,
  cosineDecaySchedule,
  joinSchedules,
  constantSchedule,
  linearSchedule,
  scaleByAdam,
  sgd,
  warmupCosineDecaySchedule,
  type GradientTransformation,
} from "../src/index.js";

const f32 = (v: number | number[]): Array => np.array(v, { dtype: "float32" });

describe("error messages", () => {
  const params = { a: f32([1, 2]), b: [f32(1), f32(2)] };

  it("update with a leaf missing names its path", () => {
    const opt = adam(0.1);
    const s = opt.init(params);
    expect(() => opt.update({ a: f32([1, 2]), b: [f32(1)] }, s)).toThrow(
      /scaleByAdam: update: the updates do not have the tree structure of the params given to init: at updates\.b: expected an array of length 2, got an array of length 1 \(updates\.b\[1\] is missing\)/,
    );
  });

  it("update with a renamed key names both paths", () => {
    const opt = sgd(0.1, { momentum: 0.9 });
    const s = opt.init(params);
    expect(() => opt.update({ a: f32([1, 2]), c: [f32(1), f32(2)] }, s)).toThrow(/trace: update: .*updates\.b\[0\] is missing/);
  });

  it("update with a subtree where a leaf was names the path", () => {
    const opt = adam(0.1);
    const s = opt.init(params);
    expect(() => opt.update({ a: { x: f32([1, 2]) }, b: [f32(1), f32(2)] }, s)).toThrow(
      /at updates\.a: expected a leaf, got a subtree \(with a leaf at updates\.a\.x\)/,
    );
  });

  it("update with a different container type names the path", () => {
    const opt = adam(0.1);
    const s = opt.init({ a: [f32(1)] });
    expect(() => opt.update({ a: { 0: f32(1) } }, s)).toThrow(/at updates\.a: expected an array of length 1, got an object/);
  });

  it("the error prints both structures", () => {
    const opt = adam(0.1);
    const s = opt.init(params);
    let msg = "";
    try {
      opt.update({ a: f32([1, 2]) }, s);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain("params given to init: PyTreeDef(");
    expect(msg).toContain("updates: PyTreeDef(");
  });

  it("params passed to update must match the updates", () => {
    const opt = adamw(0.1);
    const s = opt.init(params);
    expect(() => opt.update(params, s, { a: f32([1, 2]), b: [f32(1)] })).toThrow(/the params do not have the tree structure of the updates: .*\(params\.b\[1\] is missing\)/);
  });

  it("applyUpdates with mismatched trees names the path", () => {
    expect(() => applyUpdates(params, { a: f32([1, 2]), b: [f32(1), f32(2), f32(3)] })).toThrow(
      /applyUpdates: the updates do not have the tree structure of the params: at updates\.b: expected an array of length 2, got an array of length 3 \(updates\.b\[2\] is extra\)/,
    );
  });

  it("leaves must be Arrays", () => {
    expect(() => adam(0.1).init({ w: 3 })).toThrow(/scaleByAdam: init: the leaf at params\.w is a number \(3\); expected an Array/);
    const r = newRef(f32([1]));
    expect(() => sgd(0.1, { momentum: 0.5 }).init({ w: r })).toThrow(/params\.w is a Ref .*ref\.get\(\) or freeze\(\)/);
    const opt = sgd(0.1);
    expect(() => opt.update({ w: "x" }, opt.init({ w: f32(1) }))).toThrow(/the leaf at updates\.w is a string/);
  });

  it("a state that did not come from init is rejected", () => {
    const opt = adam(0.1);
    expect(() => opt.update(f32(1), [{}, {}] as unknown as ReturnType<typeof opt.init>)).toThrow(
      /scaleByAdam: update: expected the state to be a ScaleByAdamState \(as returned by init\), got an instance of Object/,
    );
    expect(() => opt.update(f32(1), [] as unknown as ReturnType<typeof opt.init>)).toThrow(
      /chain: update: expected the state to be an array of 2 states/,
    );
  });

  it("chain rejects non-transformations", () => {
    expect(() => chain(adam(0.1), {} as GradientTransformation<unknown>)).toThrow(/chain: argument 1 is not a GradientTransformation/);
  });

  it("bad hyper-parameters", () => {
    expect(() => clipByGlobalNorm(0)).toThrow(/clipByGlobalNorm: maxNorm must be positive, got 0/);
    expect(() => clipByGlobalNorm(-1)).toThrow(RangeError);
    expect(() => clipByGlobalNorm(NaN)).toThrow(/maxNorm must be a number/);
    expect(() => adam(NaN)).toThrow(/learningRate must be a number/);
    expect(() => adam(Infinity)).toThrow(/learningRate must be finite/);
    expect(() => adam(0.1, { b1: 1 })).toThrow(/scaleByAdam: b1 must be in \[0, 1\), got 1/);
    expect(() => adam(0.1, { b2: -0.1 })).toThrow(/b2 must be in \[0, 1\)/);
    expect(() => adam(0.1, { eps: -1 })).toThrow(/eps must be a finite number >= 0/);
    expect(() => adamw(0.1, { weightDecay: Infinity })).toThrow(/weightDecay must be finite/);
    expect(() => scaleByAdam({ epsRoot: -1 })).toThrow(/epsRoot/);
    expect(() => cosineDecaySchedule(1, 0)).toThrow(/cosineDecaySchedule: decaySteps must be a positive integer, got 0/);
    expect(() => linearSchedule(1, 0, 2.5)).toThrow(/transitionSteps must be an integer/);
    expect(() => warmupCosineDecaySchedule(0, 1, 10, 10)).toThrow(/decaySteps \(10\) must be greater than warmupSteps \(10\)/);
    expect(() => joinSchedules([constantSchedule(1)], [3])).toThrow(/expected 0 boundaries for 1 schedules, got 1/);
  });

  it("addDecayedWeights without params says so", () => {
    const opt = adamw(0.1);
    expect(() => opt.update(f32([1]), opt.init(f32([1])))).toThrow(/requires the current value of parameters/);
  });
});
