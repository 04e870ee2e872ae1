import { describe, expect, it } from "vitest";
import { np, newRef, type Ref } from "@refs/core";
import { jit } from "../src/index.js";

describe("lower(...).asText({ backend })", () => {
  it("shows the backend's generated code instead of StableHLO", () => {
    const inc = jit(function increment(r: Ref) {
      r.set(r.get().add(1).mul(3));
    });
    const text = inc.lower(newRef(np.array([1, 2, 3]))).asText({ backend: "cpu" });
    expect(text).not.toContain("stablehlo");
    expect(text.length).toBeGreaterThan(0);
  });
});
