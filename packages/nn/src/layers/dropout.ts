/**
 * `Dropout`, as Flax NNX's `nnx.Dropout` (`flax/nnx/nn/stochastic.py`): at
 * construction it forks its `rngCollection` stream (`dropout`, falling back to
 * `default`) and keeps the fork as `this.rngs`, so the first mask key is
 * `foldIn(foldIn(streamKey, c), 0)`. A call is the identity when `rate` is 0
 * or the layer is deterministic, zeros when `rate` is 1, else
 * `where(bernoulli(key, 1 − rate, shape), x / (1 − rate), 0)`.
 */
import { Array, np, random } from "@refs/core";
import { Module } from "../module.js";
import { Rngs, RngStream } from "../rngs.js";

export interface DropoutOptions {
  /** Where mask keys come from: forked at construction (Rngs: its `rngCollection` stream). */
  rngs?: Rngs | RngStream | null;
  /** Identity when true (default false); `eval()` sets it, `train()` clears it. */
  deterministic?: boolean;
  /** Axes that share one mask value (default none). */
  broadcastDims?: readonly number[];
  /** The stream to fork and draw from (default "dropout"). */
  rngCollection?: string;
}

export interface DropoutCallOptions {
  /** Overrides the module's `deterministic` for this call. */
  deterministic?: boolean;
  /** Overrides the module's stream: Rngs (its `rngCollection` stream), a stream, or a key. */
  rngs?: Rngs | RngStream | Array;
}

export class Dropout extends Module {
  rate: number;
  broadcastDims: readonly number[];
  deterministic: boolean;
  rngCollection: string;
  rngs: RngStream | null;

  constructor(rate: number, opts: DropoutOptions = {}) {
    super();
    const { rngs = null, deterministic = false, broadcastDims = [], rngCollection = "dropout" } = opts;
    this.rate = rate;
    this.broadcastDims = [...broadcastDims];
    this.deterministic = deterministic;
    this.rngCollection = rngCollection;
    if (rngs instanceof Rngs) this.rngs = rngs.get(rngCollection).fork();
    else if (rngs instanceof RngStream) this.rngs = rngs.fork();
    else if (rngs === null || rngs === undefined) this.rngs = null;
    else throw new TypeError(`Dropout: rngs must be an Rngs, an RngStream or null, got ${String((rngs as object).constructor?.name ?? rngs)}`);
  }

  call(x: Array, opts: DropoutCallOptions = {}): Array {
    const deterministic = opts.deterministic ?? this.deterministic;
    if (this.rate === 0.0 || deterministic) return x;
    // Prevent gradient NaNs in the 1.0 edge case.
    if (this.rate === 1.0) return np.zerosLike(x);
    const rngs = opts.rngs ?? this.rngs;
    if (rngs === null || rngs === undefined)
      throw new Error(
        "Dropout: `deterministic` is false, but no `rngs` argument was provided to Dropout as either a call option or a constructor option.",
      );
    let key: Array;
    if (rngs instanceof Rngs) key = rngs.stream(this.rngCollection);
    else if (rngs instanceof RngStream) key = rngs.call();
    else if (rngs instanceof Array) key = rngs;
    else throw new TypeError("Dropout: rngs must be an Rngs, an RngStream or a key Array");
    const keepProb = 1.0 - this.rate;
    const broadcastShape = [...x.shape];
    for (const d of this.broadcastDims) {
      const i = d < 0 ? d + x.ndim : d;
      if (i < 0 || i >= x.ndim) throw new RangeError(`Dropout: broadcast dim ${d} is out of bounds for an input of rank ${x.ndim}`);
      broadcastShape[i] = 1;
    }
    let mask = random.bernoulli(key, keepProb, broadcastShape);
    mask = np.broadcastTo(mask, x.shape);
    return np.where(mask, x.div(keepProb), np.zerosLike(x));
  }
}
