/**
 * Inputs every library shares: seeded pseudo-random data, made once in JS
 * and uploaded by each library, so their results can be compared.
 */

/** mulberry32: a tiny seeded generator of uniforms in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform in [lo, hi). */
export function uniform(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

/** Normal(0, std²) by Box–Muller. */
export function normal(n: number, seed: number, std = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(r(), 1e-12);
    const v = r();
    const m = std * Math.sqrt(-2 * Math.log(u));
    out[i] = m * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = m * Math.sin(2 * Math.PI * v);
  }
  return out;
}

export const ones = (n: number): Float32Array => new Float32Array(n).fill(1);
export const zeros = (n: number): Float32Array => new Float32Array(n);

// ---- the train steps ------------------------------------------------------------------

/** Adam as optax: m̂ / (√v̂ + ε), b1 0.9, b2 0.999, ε 1e-8. */
export const ADAM = { lr: 1e-3, b1: 0.9, b2: 0.999, eps: 1e-8 } as const;
/** Flax BatchNorm defaults: running averages with momentum 0.99, ε 1e-5, biased batch variance. */
export const BN = { momentum: 0.99, eps: 1e-5 } as const;
export const DROPOUT = 0.1;
/** Train steps the numerical check runs (dropout off), comparing the losses and some parameters. */
export const CHECK_STEPS = 3;

/** One dense layer followed by BatchNorm (hidden) or not (output). */
export interface DenseInit {
  din: number;
  dout: number;
  kernel: Float32Array;
  bias: Float32Array;
  /** BatchNorm after it (scale ones, bias zeros, running mean zeros, var ones). */
  bn: boolean;
}

/** A stack of dense layers: Linear → BatchNorm → act → Dropout per hidden layer, then Linear. */
export interface NetInit {
  name: "block" | "mlp";
  layers: DenseInit[];
  batch: number;
  /** Inputs [batch, din]. */
  x: Float32Array;
  /** Targets: [batch, dout] floats (block: MSE) or [batch] class labels (mlp: cross-entropy). */
  y: Float32Array;
  labels: Int32Array | null;
  activation: "gelu" | "relu";
  /** Dropout before (block: BN → Dropout → gelu, as the notebook) or after the activation (mlp: BN → relu → Dropout). */
  dropoutFirst: boolean;
}

function dense(din: number, dout: number, seed: number, std: number, bn: boolean): DenseInit {
  return { din, dout, kernel: normal(din * dout, seed, std), bias: zeros(dout), bn };
}

/** The notebook's Block (2 → 64 → 3, kernels N(0, 1) as its own Linear), batch 10. */
export function blockInit(): NetInit {
  const batch = 10;
  return {
    name: "block",
    layers: [dense(2, 64, 11, 1, true), dense(64, 3, 12, 1, false)],
    batch,
    x: uniform(batch * 2, 13),
    y: uniform(batch * 3, 14),
    labels: null,
    activation: "gelu",
    dropoutFirst: true,
  };
}

/** The MNIST-sized MLP 784-512-512-10 (lecun-normal kernels, as nn.Linear), batch 128, synthetic digits. */
export function mlpInit(hidden = 512, batch = 128): NetInit {
  const din = 784;
  const dout = 10;
  const labels = new Int32Array(batch);
  const r = rng(24);
  for (let i = 0; i < batch; i++) labels[i] = Math.floor(r() * dout);
  return {
    name: "mlp",
    layers: [
      dense(din, hidden, 21, 1 / Math.sqrt(din), true),
      dense(hidden, hidden, 22, 1 / Math.sqrt(hidden), true),
      dense(hidden, dout, 23, 1 / Math.sqrt(hidden), false),
    ],
    batch,
    x: uniform(batch * din, 25, 0, 1),
    y: new Float32Array(0),
    labels,
    activation: "relu",
    dropoutFirst: false,
  };
}

/** What the check compares: the losses of CHECK_STEPS steps, then the first 16 entries of the first kernel. */
export const CHECK_PARAMS = 16;
