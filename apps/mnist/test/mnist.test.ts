import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { IMAGE_SIZE, NUM_CLASSES, UsageError, loadAll, loadMnist, main, parseArgs, useBackend } from "../src/main.js";

/** A stream that keeps what is written to it (not a TTY). */
function collector(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return Object.assign(w, { text: () => chunks.join("") });
}

/** A fingerprint of an image: which one it is, independent of where it sits. */
const imageKey = (images: Float32Array, i: number) => Buffer.from(images.buffer, images.byteOffset + i * IMAGE_SIZE * 4, IMAGE_SIZE * 4).toString("base64");

describe("data loader", () => {
  it("loads every digit of the mnist package as [N, 784] floats in [0, 1] with labels 0-9", () => {
    const all = loadAll();
    expect(all.n).toBeGreaterThanOrEqual(9000);
    expect(all.images).toBeInstanceOf(Float32Array);
    expect(all.images.length).toBe(all.n * IMAGE_SIZE);
    expect(all.labels.length).toBe(all.n);
    let min = Infinity;
    let max = -Infinity;
    for (const v of all.images) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThanOrEqual(1);
    expect(max).toBeGreaterThan(0.5);
    const counts = new Array<number>(NUM_CLASSES).fill(0);
    for (const l of all.labels) {
      expect(Number.isInteger(l) && l >= 0 && l < NUM_CLASSES).toBe(true);
      counts[l]!++;
    }
    for (const c of counts) expect(c).toBeGreaterThan(500);
  }, 30_000);

  it("splits into 2,000 held-out digits and a disjoint training set, shuffled", () => {
    const all = loadAll();
    const { train, test } = loadMnist({ seed: 0 });
    expect(test.n).toBe(2000);
    expect(train.n).toBe(all.n - 2000);
    expect(test.images.length).toBe(2000 * IMAGE_SIZE);
    expect(train.images.length).toBe(train.n * IMAGE_SIZE);
    expect(train.labels.length).toBe(train.n);
    // Disjoint: the package has a few duplicate images, so compare multisets of images.
    const counts = new Map<string, number>();
    for (let i = 0; i < all.n; i++) {
      const k = imageKey(all.images, i);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    for (const split of [train, test])
      for (let i = 0; i < split.n; i++) {
        const k = imageKey(split.images, i);
        const c = counts.get(k) ?? 0;
        expect(c).toBeGreaterThan(0);
        counts.set(k, c - 1);
      }
    for (const c of counts.values()) expect(c).toBe(0);
    // Shuffled: every digit appears among the held-out examples.
    const seen = new Set(test.labels);
    expect(seen.size).toBe(NUM_CLASSES);
  }, 30_000);

  it("is deterministic in the seed", () => {
    const a = loadMnist({ seed: 3 });
    const b = loadMnist({ seed: 3 });
    const c = loadMnist({ seed: 4 });
    expect(a.test.labels).toEqual(b.test.labels);
    const bytes = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
    expect(bytes(a.train.images).equals(bytes(b.train.images))).toBe(true);
    expect(bytes(a.test.images).equals(bytes(b.test.images))).toBe(true);
    expect(a.test.labels).not.toEqual(c.test.labels);
  }, 30_000);
});

describe("command line", () => {
  it("parses flags with defaults", () => {
    expect(parseArgs([])).toMatchObject({ epochs: 6, batchSize: 128, lr: 1e-3, backend: "cpu", limit: null, seed: 0 });
    expect(parseArgs(["--epochs", "2", "--batch-size=64", "--lr", "3e-4", "--limit", "100", "--seed", "7"])).toMatchObject({
      epochs: 2,
      batchSize: 64,
      lr: 3e-4,
      limit: 100,
      seed: 7,
    });
    expect(parseArgs(["--help"])).toBeNull();
    expect(() => parseArgs(["--epochs", "zero"])).toThrow(UsageError);
    expect(() => parseArgs(["--backend", "tpu"])).toThrow(/--backend must be cpu or webgpu/);
    expect(() => parseArgs(["--nope", "1"])).toThrow(/unknown flag --nope/);
  });

  it("reports a missing @refs/gpu clearly", async () => {
    const missing = () => Promise.reject(Object.assign(new Error("Cannot find package '@refs/gpu'"), { code: "ERR_MODULE_NOT_FOUND" }));
    await expect(useBackend("webgpu", missing)).rejects.toThrow(new UsageError("--backend webgpu needs @refs/gpu, which is not installed"));
    await useBackend("cpu");
  });
});

describe("training", () => {
  it("a short run lowers the loss and classifies far above chance", async () => {
    const out = collector();
    const result = await main(["--limit", "1024", "--epochs", "1", "--batch-size", "64", "--seed", "0"], out);
    expect(result).not.toBeNull();
    const r = result!;
    expect(r.trainSize).toBe(1024);
    expect(r.testSize).toBe(2000);
    expect(r.steps).toBe(16);
    expect(r.losses).toHaveLength(16);
    for (const l of r.losses) expect(Number.isFinite(l)).toBe(true);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(r.losses[0]).toBeGreaterThan(1.5); // about ln 10 at the start
    expect(mean(r.losses.slice(-4))).toBeLessThan(0.6 * mean(r.losses.slice(0, 4)));
    expect(r.testAccuracy).toBeGreaterThan(0.5);
    const text = out.text();
    expect(text).toMatch(/epoch 1\/1 .* 16\/16 {2}loss \d+\.\d{4} {2}[\d,]+ ex\/s/);
    expect(text).toMatch(/test accuracy: \d+\.\d\d% \(2,000 held-out digits\)/);
    expect(text).not.toContain("\r"); // not a TTY: plain lines
  }, 60_000);
});
