/**
 * The second software adapter: Dawn's Vulkan backend on Mesa 25's lavapipe
 * (./vulkan-env.ts), at core feature level with shader-f16. The whole
 * conformance suite runs here too, so both of the device paths of
 * src/device.ts (core level; OpenGL at compatibility level in the other files)
 * are tested for real.
 */
import { vulkanIcd } from "./vulkan-env.js";
import { describe, expect, it } from "vitest";
import { setBackend } from "@refs/core";
import { adapterInfo } from "../src/index.js";
import { hasGpu } from "./setup.js";
import { describeConformance } from "./conformance.js";

const enabled = hasGpu && vulkanIcd !== undefined;

describe.skipIf(!enabled)("the Vulkan adapter (lavapipe)", () => {
  it("is a core-feature-level adapter with shader-f16", async () => {
    await setBackend("webgpu");
    const info = adapterInfo()!;
    expect(info.featureLevel).toBe("core");
    expect(info.features).toContain("shader-f16");
    expect(`${info.vendor} ${info.architecture} ${info.description}`.toLowerCase()).toMatch(/mesa|llvmpipe|lavapipe/);
  });
});

describeConformance("conformance on Vulkan (core level): webgpu agrees with the CPU", enabled);
