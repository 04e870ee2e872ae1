// Sums the vitest JSON reports of every package into one line that CI records:
// `tests: N passed, M failed` (skipped/todo are reported separately, never as passed).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const roots = ["packages", "apps", "tools"];
let passed = 0, failed = 0, skipped = 0, files = 0;
for (const root of roots) {
  let dirs = [];
  try {
    dirs = readdirSync(root);
  } catch {
    continue;
  }
  for (const d of dirs) {
    const f = join(root, d, ".vitest-report.json");
    try {
      statSync(f);
    } catch {
      continue;
    }
    const r = JSON.parse(readFileSync(f, "utf8"));
    files++;
    passed += r.numPassedTests ?? 0;
    failed += (r.numFailedTests ?? 0) + (r.numRuntimeErrorTestSuites ?? 0) + (r.success === false && !r.numFailedTests ? 1 : 0);
    skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  }
}
if (files === 0) failed += 1; // no report at all is a failure, not a pass
console.log(`tests: ${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
