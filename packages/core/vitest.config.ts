import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["source"] },
  test: {
    include: ["test/**/*.test.ts"],
    // The memory test calls global.gc(); forks let us pass --expose-gc.
    pool: "forks",
    execArgv: ["--expose-gc"],
  },
});
