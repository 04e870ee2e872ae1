import { describe, expect, it } from "vitest";
import { IMAGE_SIZE, UsageError, loadAll, loadMnist, parseArgs, train } from "../src/main.js";

describe("MNIST data", () => {
  it("loads every digit with labels in range", () => {
    const all = loadAll();
    expect(all.n).toBeGreaterThan(9000);
    expect(all.images.length).toBe(all.n * IMAGE_SIZE);
    const counts = new Array(10).fill(0);
    for (const l of all.labels) counts[l]++;
    expect(counts.every((c) => c > 500)).toBe(true);
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < 784 * 50; i++) (lo = Math.min(lo, all.images[i]!)), (hi = Math.max(hi, all.images[i]!));
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThanOrEqual(1);
    expect(hi).toBeGreaterThan(0.5);
  });

  it("splits deterministically into disjoint train and held-out sets", () => {
    const a = loadMnist({ seed: 0 });
    const b = loadMnist({ seed: 0 });
    const c = loadMnist({ seed: 1 });
    expect(a.test.n).toBe(2000);
    expect(a.train.n + a.test.n).toBe(loadAll().n);
    expect(a.test.labels).toEqual(b.test.labels);
    expect(a.test.images.subarray(0, 784 * 4)).toEqual(b.test.images.subarray(0, 784 * 4));
    expect(c.test.labels).not.toEqual(a.test.labels);
    // Disjoint: no held-out image appears in the training set (compare image fingerprints).
    const key = (img: Float32Array, i: number) => img.subarray(i * 784, (i + 1) * 784).join(",");
    const train = new Set<string>();
    for (let i = 0; i < a.train.n; i++) train.add(key(a.train.images, i));
    let shared = 0;
    for (let i = 0; i < 200; i++) if (train.has(key(a.test.images, i))) shared++;
    expect(shared).toBeLessThan(5); // the dataset has a handful of exact duplicate images
  });
});

describe("flags", () => {
  it("parses flags and rejects bad ones", () => {
    expect(parseArgs(["--epochs", "2", "--batch-size=64", "--lr", "0.01", "--limit", "100"])).toMatchObject({ epochs: 2, batchSize: 64, lr: 0.01, limit: 100 });
    expect(parseArgs(["--help"])).toBeNull();
    expect(() => parseArgs(["--epochs", "0"])).toThrow(UsageError);
    expect(() => parseArgs(["--backend", "tpu"])).toThrow(/--backend must be cpu or webgpu/);
    expect(() => parseArgs(["--nope", "1"])).toThrow(/unknown flag --nope/);
  });
});

describe("training", () => {
  it("a short jitted run lowers the loss and beats chance by far", async () => {
    const r = await train({ epochs: 2, limit: 1024, batchSize: 64, hidden: 128, quiet: true });
    expect(r.steps).toBe(32);
    const first = r.losses.slice(0, 4).reduce((a, b) => a + b) / 4;
    const last = r.losses.slice(-4).reduce((a, b) => a + b) / 4;
    expect(last).toBeLessThan(first * 0.6);
    expect(r.testAccuracy).toBeGreaterThan(0.5);
  }, 120_000);
});
