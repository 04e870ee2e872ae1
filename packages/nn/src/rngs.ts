/**
 * `Rngs` and `RngStream`: Flax NNX's stateful random-key streams.
 *
 * A stream holds a key (`RngKey`, a uint32 key Array [2], or [..., 2] after a
 * split fork) and a count (`RngCount`, uint32 of the key's batch shape). Each
 * draw returns `random.foldIn(key, count)` and increments the count, so the
 * same seed and the same order of draws give the same keys as Flax
 * (`flax/nnx/rnglib.py`). The count is written through `count.value = ...`:
 * into the Variable's Ref when it has one (so draws inside `jit`/`vmap`
 * update it in place), else as a plain assignment (refused from a trace of
 * another level, like Flax's "Cannot mutate RngStream from a different trace
 * level").
 *
 * Forking draws one key `k` and starts a new stream at `k` with count 0;
 * `fork({split: n})` splits `k` into n keys first, so the new stream has keys
 * [n, 2] and counts [n] — what `nn.vmap` over module construction consumes.
 */
import { Array, np, random } from "@refs/core";
import { vmap } from "@refs/trace";
import { Module } from "./module.js";
import { RngCount, RngKey } from "./variable.js";

type DTypeOptions = Parameters<typeof random.normal>[2];
type UniformOptions = Parameters<typeof random.uniform>[2];
type RandintOptions = Parameters<typeof random.randint>[4];
type PermutationOptions = Parameters<typeof random.permutation>[2];
type CategoricalOptions = Parameters<typeof random.categorical>[2];

/** A seed (integer) or a raw uint32 key Array [..., 2]. */
export type RngValue = number | Array;

/** The shape of a split: a count, or a shape of counts. */
export type SplitShape = number | readonly number[];

function describe(x: unknown): string {
  if (x instanceof Array) return x.aval.str();
  if (x === null) return "null";
  return typeof x === "object" ? (x.constructor?.name ?? "object") : `${typeof x} ${String(x)}`;
}

function toKey(value: RngValue, tag: string): Array {
  if (typeof value === "number") return random.key(value);
  if (value instanceof Array && value.dtype === "uint32" && value.ndim >= 1 && value.shape[value.ndim - 1] === 2) return value;
  throw new TypeError(
    `Rngs: invalid rng value for stream '${tag}': expected an integer seed or a uint32 key Array of shape [2] (or [..., 2]), got ${describe(value)}`,
  );
}

/** foldIn of keys [..., 2] with counts [...] (elementwise over the batch axes). */
function foldInBatched(key: Array, count: Array): Array {
  if (count.ndim === 0) return random.foldIn(key, count);
  return vmap(foldInBatched)(key, count) as Array;
}

/** `random.split(k, shape)` for a single key: keys of shape [...shape, 2]. */
function splitKey(k: Array, split: SplitShape): Array {
  const shape = typeof split === "number" ? [split] : [...split];
  if (!shape.every((d) => Number.isInteger(d) && d >= 0))
    throw new TypeError(`RngStream.fork: split must be a non-negative integer or a list of them, got ${JSON.stringify(split)}`);
  const n = shape.reduce((a, b) => a * b, 1);
  const keys = random.split(k, n);
  return shape.length === 1 ? keys : keys.reshape([...shape, 2]);
}

export interface RngStreamOptions {
  /** The stream's name (Flax's `tag`), kept as metadata on its key and count. */
  tag: string;
}

/** One named stream of keys: a key and a counter. */
export class RngStream extends Module {
  key: RngKey;
  count: RngCount;
  tag: string;

  constructor(key: RngValue, opts: RngStreamOptions) {
    super();
    const k = toKey(key, opts.tag);
    this.tag = opts.tag;
    this.key = new RngKey(k, { tag: opts.tag });
    this.count = new RngCount(np.zeros(k.shape.slice(0, -1), { dtype: "uint32" }), { tag: opts.tag });
  }

  /** The next key: `foldIn(key, count)`, then `count += 1`. */
  call(): Array {
    const count = this.count.value;
    const key = foldInBatched(this.key.value, count);
    this.count.value = count.add(1);
    return key;
  }

  /** Alias of `call()`. */
  next(): Array {
    return this.call();
  }

  /**
   * A new stream at the next key of this one (count 0). With `split`, the key
   * is split first: the new stream's keys have shape [...split, 2] and its
   * counts shape [...split].
   */
  fork(opts: { split?: SplitShape | null } = {}): RngStream {
    let k = this.call();
    if (opts.split !== undefined && opts.split !== null) k = splitKey(k, opts.split);
    return new (this.constructor as typeof RngStream)(k, { tag: this.tag });
  }

  // ---- jax.random conveniences, each drawing one key --------------------------------
  normal(shape: readonly number[] = [], opts?: DTypeOptions): Array {
    return random.normal(this.call(), shape, opts);
  }
  uniform(shape: readonly number[] = [], opts?: UniformOptions): Array {
    return random.uniform(this.call(), shape, opts);
  }
  truncatedNormal(lower: number | Array, upper: number | Array, shape?: readonly number[], opts?: DTypeOptions): Array {
    return random.truncatedNormal(this.call(), lower, upper, shape, opts);
  }
  bernoulli(p: number | Array = 0.5, shape?: readonly number[]): Array {
    return random.bernoulli(this.call(), p, shape);
  }
  bits(shape: readonly number[] = []): Array {
    return random.bits(this.call(), shape);
  }
  randint(shape: readonly number[], minval: number | Array, maxval: number | Array, opts?: RandintOptions): Array {
    return random.randint(this.call(), shape, minval, maxval, opts);
  }
  permutation(x: number | Array, opts?: PermutationOptions): Array {
    return random.permutation(this.call(), x, opts);
  }
  categorical(logits: Array, opts?: CategoricalOptions): Array {
    return random.categorical(this.call(), logits, opts);
  }
  gumbel(shape: readonly number[] = [], opts?: DTypeOptions): Array {
    return random.gumbel(this.call(), shape, opts);
  }
}

/** What `new Rngs(...)` accepts per stream. */
export type RngsStreamInit = RngValue | RngStream;
/** `new Rngs(seed)`, `new Rngs({params: 0, dropout: 1})`, `new Rngs(0, {params: 1})`. */
export type RngsInit = RngsStreamInit | Readonly<Record<string, RngsStreamInit>>;

/**
 * How `Rngs.fork` splits: one shape for every stream, or per stream name
 * (`"..."` for the others; `null` leaves a stream unsplit).
 */
export type ForkSplit = SplitShape | Readonly<Record<string, SplitShape | null>>;

function isStreamInit(x: unknown): x is RngsStreamInit {
  return typeof x === "number" || x instanceof Array || x instanceof RngStream;
}

/**
 * Named random streams. `rngs.next()` draws from `default`; `rngs.params()`,
 * `rngs.dropout()` and `rngs.stream(name)` draw from that stream, falling
 * back to `default` when there is none.
 *
 * The streams live in `rngs.streams` (a record by name), so state paths read
 * `rngs.streams.params.key.value`.
 */
export class Rngs extends Module {
  streams: Record<string, RngStream>;

  constructor(init?: RngsInit | null, more: Readonly<Record<string, RngsStreamInit>> = {}) {
    super();
    let entries: Record<string, RngsStreamInit> = {};
    if (init !== undefined && init !== null) {
      if (isStreamInit(init)) entries["default"] = init;
      else if (typeof init === "object") entries = { ...init };
      else throw new TypeError(`Rngs: expected a seed, a key Array, an RngStream or a record of them, got ${describe(init)}`);
    }
    entries = { ...entries, ...more };
    this.streams = {};
    for (const [tag, v] of Object.entries(entries)) {
      if (!isStreamInit(v)) throw new TypeError(`Rngs: invalid rng value for stream '${tag}': ${describe(v)}`);
      this.streams[tag] = new RngStream(v instanceof RngStream ? v.key.value : v, { tag });
    }
  }

  /** Stream names, in creation order. */
  names(): string[] {
    return Object.keys(this.streams);
  }
  /** Whether a stream of this name exists (no fallback). */
  has(name: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.streams, name);
  }
  /** `[name, stream]` pairs. */
  items(): [string, RngStream][] {
    return Object.entries(this.streams);
  }

  /** The stream `name`, or `default` when there is none (Flax's `rngs[name]`). */
  get(name: string): RngStream {
    if (this.has(name)) return this.streams[name]!;
    if (this.has("default")) return this.streams["default"]!;
    const have = this.names();
    throw new Error(
      `No RngStream named '${name}' found in Rngs, and no 'default' stream to fall back to` +
        ` (streams: ${have.length ? have.map((n) => `'${n}'`).join(", ") : "none"}).`,
    );
  }

  /** The next key of stream `name` (or of `default`). */
  stream(name: string): Array {
    return this.get(name).call();
  }
  /** The next key of the `default` stream (Flax's `rngs()`). */
  next(): Array {
    return this.stream("default");
  }
  /** Alias of `next()`. */
  call(): Array {
    return this.next();
  }
  /** The next key of the `params` stream (or `default`). */
  params(): Array {
    return this.stream("params");
  }
  /** The next key of the `dropout` stream (or `default`). */
  dropout(): Array {
    return this.stream("dropout");
  }

  /**
   * New Rngs with a forked copy of every stream. `split: n` (or a shape)
   * splits every forked key; a record splits per stream name, `"..."`
   * standing for the streams it does not name.
   */
  fork(opts: { split?: ForkSplit | null } = {}): Rngs {
    const split = opts.split;
    const out = new Rngs();
    for (const [name, s] of this.items()) {
      let sp: SplitShape | null | undefined;
      if (split === undefined || split === null) sp = null;
      else if (typeof split === "number" || globalThis.Array.isArray(split)) sp = split as SplitShape;
      else {
        const rec = split as Readonly<Record<string, SplitShape | null>>;
        sp = Object.prototype.hasOwnProperty.call(rec, name) ? rec[name] : rec["..."];
      }
      out.streams[name] = s.fork({ split: sp ?? null });
    }
    return out;
  }

  // ---- jax.random conveniences on the default stream ---------------------------------
  normal(shape: readonly number[] = [], opts?: DTypeOptions): Array {
    return this.get("default").normal(shape, opts);
  }
  uniform(shape: readonly number[] = [], opts?: UniformOptions): Array {
    return this.get("default").uniform(shape, opts);
  }
  bernoulli(p: number | Array = 0.5, shape?: readonly number[]): Array {
    return this.get("default").bernoulli(p, shape);
  }
  bits(shape: readonly number[] = []): Array {
    return this.get("default").bits(shape);
  }
}
