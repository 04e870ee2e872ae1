import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));

describe("apps/notebook", () => {
  it("prints what the notebook prints", async () => {
    const lines: string[] = [];
    const orig = console.log;
    console.log = (...xs: unknown[]) => void lines.push(xs.map(String).join(" "));
    try {
      await import(main);
    } finally {
      console.log = orig;
    }
    expect(lines[0]).toBe("[1] = ArrayRef([1, 2, 3], dtype=int32)");
    expect(lines[1]).toBe("[2] = ArrayRef([2, 3, 4], dtype=int32)");
    expect(lines[2]).toBe("r = ArrayRef([2., 6., 1.], dtype=float32)");
    expect(lines[3]).toMatch(/^x = Array\(\[\[/);
  });
});
