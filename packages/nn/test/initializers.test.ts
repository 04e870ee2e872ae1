import { describe, expect, it } from "vitest";
import { Array, random } from "@refs/core";
import { initializers as init } from "../src/index.js";

const vals = (a: Array): number[] => globalThis.Array.from(a.dataSync() as ArrayLike<number>, Number);
const f32 = Math.fround;
const stats = (a: Array) => {
  const v = vals(a);
  const mean = v.reduce((x, y) => x + y, 0) / v.length;
  const std = Math.sqrt(v.reduce((x, y) => x + (y - mean) ** 2, 0) / v.length);
  const maxAbs = v.reduce((x, y) => Math.max(x, Math.abs(y)), 0);
  return { mean, std, maxAbs };
};
const k = random.key(0);

describe("initializers", () => {
  it("zeros, ones, constant ignore the key", () => {
    expect(vals(init.zeros(k, [2, 3]))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(init.zeros(k, [2, 3]).dtype).toBe("float32");
    expect(vals(init.ones(k, [4]))).toEqual([1, 1, 1, 1]);
    expect(init.ones(k, [2], "int32").dtype).toBe("int32");
    expect(vals(init.constant(-7)(k, [2]))).toEqual([-7, -7]);
    expect(init.zerosInit()).toBe(init.zeros);
  });

  it("lecunNormal is truncated_normal(-2, 2) * sqrt(1/fanIn) / 0.8796..., in float32", () => {
    const shape = [64, 32];
    const got = init.lecunNormal()(k, shape);
    expect(got.shape).toEqual(shape);
    expect(got.dtype).toBe("float32");
    const stddev = f32(f32(Math.sqrt(f32(1 / 64))) / f32(0.87962566103423978));
    const want = vals(random.truncatedNormal(k, -2, 2, shape)).map((v) => f32(v * stddev));
    expect(vals(got)).toEqual(want);
    const big = stats(init.lecunNormal()(random.key(1), [400, 300]));
    expect(Math.abs(big.mean)).toBeLessThan(1e-3);
    expect(Math.abs(big.std / Math.sqrt(1 / 400) - 1)).toBeLessThan(0.01);
    expect(big.maxAbs).toBeLessThanOrEqual((2 * Math.sqrt(1 / 400)) / 0.87962566103423978 + 1e-6);
  });

  it("normal, uniform and truncatedNormal scale by array(stddev, dtype)", () => {
    const n = init.normal()(k, [10]);
    expect(vals(n)).toEqual(vals(random.normal(k, [10])).map((v) => f32(v * f32(0.01))));
    const s = stats(init.normal(2)(random.key(1), [20000]));
    expect(Math.abs(s.std - 2)).toBeLessThan(0.05);
    const u = init.uniform(3)(k, [10]);
    expect(vals(u)).toEqual(vals(random.uniform(k, [10])).map((v) => f32(v * 3)));
    const t = stats(init.truncatedNormal(1, "float32", -1, 1)(random.key(2), [5000]));
    expect(t.maxAbs).toBeLessThanOrEqual(1);
  });

  it("glorotUniform, heNormal, varianceScaling", () => {
    const shape = [50, 150];
    const g = init.glorotUniform()(k, shape);
    const lim = f32(Math.sqrt(f32(3 * f32(1 / 100))));
    expect(vals(g)).toEqual(vals(random.uniform(k, shape, { minval: -1 })).map((v) => f32(v * lim)));
    const gs = stats(init.glorotUniform()(random.key(3), [200, 300]));
    expect(gs.maxAbs).toBeLessThanOrEqual(Math.sqrt(6 / 500) + 1e-6);
    expect(Math.abs(gs.std / Math.sqrt(1 / 250) - 1)).toBeLessThan(0.02);
    const h = stats(init.heNormal()(random.key(4), [300, 200]));
    expect(Math.abs(h.std / Math.sqrt(2 / 300) - 1)).toBeLessThan(0.02);
    const vs = init.varianceScaling(2, "fan_out", "normal")(k, [10, 20]);
    expect(vals(vs)).toEqual(vals(random.normal(k, [10, 20])).map((v) => f32(v * f32(Math.sqrt(f32(2 / 20))))));
    // conv-style receptive field: fan_in = 3*3*4
    expect(init.computeFans([3, 3, 4, 8])).toEqual([36, 72]);
    // Embed's default: in_axis -2, out_axis 0 on [5, 3] -> fan_in 3
    expect(init.computeFans([5, 3], -2, 0)).toEqual([3, 3]);
    expect(() => init.lecunNormal()(k, [5])).toThrow(/Must be at least 2D/);
    expect(() => init.varianceScaling(1, "fan_x" as never, "normal")).toThrow(/invalid mode/);
  });
});
