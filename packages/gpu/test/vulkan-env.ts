/**
 * Imported first by vulkan.test.ts (before ./setup.ts brings up a device):
 * points the Vulkan loader at Mesa 25's lavapipe, which tools/lavapipe.sh
 * unpacks from Debian bookworm-backports, so Dawn's default (Vulkan) backend
 * finds a core-feature-level adapter with shader-f16 instead of falling back
 * to OpenGL at compatibility level. Vitest runs each test file in its own
 * process, so the other files keep the default adapter.
 */
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const icd = process.env.REFS_VK_ICD || resolve(repo, ".cache/lavapipe/lvp_icd.json");

export const vulkanIcd = existsSync(icd) ? icd : undefined;
export const vulkanRequired = process.env.REFS_REQUIRE_WEBGPU === "1";

if (vulkanIcd) {
  process.env.VK_ICD_FILENAMES = vulkanIcd;
  delete process.env.REFS_WEBGPU_FLAGS;
} else if (vulkanRequired) {
  throw new Error(`REFS_REQUIRE_WEBGPU=1 but the lavapipe Vulkan driver is missing (${icd}); run sh tools/lavapipe.sh (as .ci/run does) and set REFS_VK_ICD to the path it prints`);
} else {
  console.warn(`[@refs/gpu] vulkan.test.ts skipping: no lavapipe Vulkan driver at ${icd} (sh tools/lavapipe.sh unpacks one)`);
}
