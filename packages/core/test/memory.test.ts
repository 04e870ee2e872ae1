import { describe, expect, it } from "vitest";
import { memory, newRef, np, tidy, type Array } from "../src/index.js";

const gc = (globalThis as { gc?: () => void }).gc;

/** Collect garbage and let FinalizationRegistry callbacks run (they are asynchronous). */
async function collect(): Promise<void> {
  for (let i = 0; i < 6; i++) {
    gc!();
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("memory", () => {
  it("runs with --expose-gc", () => {
    expect(typeof gc).toBe("function");
  });

  it("a long loop of eager ops leaves memory() flat once garbage is collected", async () => {
    const r = newRef(np.zeros([256]));
    let x: Array = np.ones([256]);
    const step = () => {
      x = x.mul(0.999).tanh();
      r.addUpdate(x);
    };
    for (let i = 0; i < 200; i++) step();
    await collect();
    const before = memory();
    for (let i = 0; i < 10_000; i++) step();
    await collect();
    const after = memory();
    // The loop made tens of thousands of buffers; afterwards only the live ones remain.
    expect(after.buffers).toBeLessThanOrEqual(before.buffers + 4);
    expect(after.bytes).toBeLessThanOrEqual(before.bytes + 4 * 256 * 4);
    expect(Number.isFinite(r.get(0).item() as number)).toBe(true);
  }, 120_000);

  it("dispose frees at once and later use throws", () => {
    const x = np.ones([1000]).add(1);
    const live = memory();
    x.dispose();
    expect(memory().buffers).toBe(live.buffers - 1);
    expect(memory().bytes).toBe(live.bytes - 4000);
    expect(() => x.dataSync()).toThrow(/can no longer be used: it was disposed/);
    x.dispose(); // twice is harmless
  });

  it("tidy frees what its function made, except the result", () => {
    const base = memory().buffers;
    const kept = tidy(() => {
      const a = np.ones([100]).add(1);
      const b = a.mul(3);
      return { out: b.sub(1) };
    });
    expect(kept.out.toJs()).toEqual(new globalThis.Array(100).fill(5));
    expect(memory().buffers - base).toBeLessThanOrEqual(2);
  });
});
