// Shared vitest settings: tests import workspace packages from source (the
// "source" export condition), so they run without a build step.
import type { UserConfig } from "vitest/config";

export const sourceConditions = ["source", "import", "module", "node", "default"];

export const shared: UserConfig = {
  resolve: { conditions: sourceConditions },
  ssr: { resolve: { conditions: sourceConditions, externalConditions: ["source"] } },
};
