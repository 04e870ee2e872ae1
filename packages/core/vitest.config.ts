import { defineConfig, mergeConfig } from "vitest/config";
import { shared } from "../../vitest.shared.js";

export default mergeConfig(
  shared,
  defineConfig({
    test: {
      include: ["test/**/*.test.ts"],
      // The memory test calls global.gc(); forks let us pass --expose-gc.
      pool: "forks",
      execArgv: ["--expose-gc"],
    },
  }),
);
