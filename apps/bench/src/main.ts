/**
 * `pnpm bench`: refs against jax-js and TensorFlow.js, every workload on
 * every backend that starts here, in one process, interleaved; prints the
 * table and writes results.json and results.svg to apps/bench/out/ (with
 * --write-results: to apps/bench/ beside RESULTS.md, the committed record).
 *
 *   node dist/main.js [--quick] [--write-results] [--only matmul,gelu,sum,softmax,block,mlp]
 *                     [--targets "refs cpu,jax-js wasm,…"] [--no-gpu] [--no-ceiling]
 */
import { mkdirSync, realpathSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { FULL, QUICK, progressLine, runCases, targetLabel, type Row } from "./harness.js";
import { loadLibs, ALL_TARGETS, type Libs } from "./env.js";
import { FULL_CASES, QUICK_CASES, makeCases, type CaseOptions, type KernelSet } from "./workloads.js";
import { refsKernels } from "./libs/refs.js";
import { jaxKernels } from "./libs/jax.js";
import { tfjsKernels } from "./libs/tfjs.js";
import { measureCeiling } from "./ceiling.js";
import { SPEEDUP_EXPLAINED, machine, notes, resultsMarkdown, summary, svgChart, table, type Report } from "./report.js";

export * from "./harness.js";
export { loadLibs, setupWebGpu, ALL_TARGETS, type Libs } from "./env.js";
export { makeCases, FULL_CASES, QUICK_CASES, type CaseOptions, type KernelSet } from "./workloads.js";
export { measureCeiling, fmaModule, type Ceiling } from "./ceiling.js";
export { table, svgChart, resultsMarkdown, type Report } from "./report.js";

export class UsageError extends Error {
  override name = "UsageError";
}

export interface BenchOptions {
  quick: boolean;
  writeResults: boolean;
  only: string[] | null;
  targets: string[] | null;
  noGpu: boolean;
  ceiling: boolean;
}

const WORKLOADS = ["matmul", "gelu", "sum", "softmax", "block", "mlp"];
const USAGE = `usage: node dist/main.js [--quick] [--write-results] [--only ${WORKLOADS.join(",")}] [--targets "refs cpu,jax-js wasm,…"] [--no-gpu] [--no-ceiling]

  --quick           fewer sizes and repetitions (about a minute)
  --write-results   also write apps/bench/RESULTS.md
  --only LIST       run only these workloads
  --targets LIST    run only these library/backend pairs (${ALL_TARGETS.map(targetLabel).join(", ")})
  --no-gpu          skip the WebGPU rows
  --no-ceiling      skip the Wasm FMA ceiling measurement`;

export function parseArgs(argv: readonly string[]): BenchOptions | null {
  const o: BenchOptions = { quick: false, writeResults: false, only: null, targets: null, noGpu: false, ceiling: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [name, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) throw new UsageError(`${name} needs a value`);
      return argv[++i]!;
    };
    switch (name) {
      case "-h":
      case "--help":
        return null;
      case "--quick":
        o.quick = true;
        break;
      case "--write-results":
        o.writeResults = true;
        break;
      case "--no-gpu":
        o.noGpu = true;
        break;
      case "--no-ceiling":
        o.ceiling = false;
        break;
      case "--only": {
        o.only = value().split(",").map((s) => s.trim()).filter(Boolean);
        const bad = o.only.filter((w) => !WORKLOADS.includes(w));
        if (bad.length) throw new UsageError(`unknown workload ${bad.join(", ")}; choose from ${WORKLOADS.join(", ")}`);
        break;
      }
      case "--targets": {
        o.targets = value().split(",").map((s) => s.trim().replace(/\s+/g, " ")).filter(Boolean);
        const known = ALL_TARGETS.map(targetLabel);
        const bad = o.targets.filter((t) => !known.includes(t));
        if (bad.length) throw new UsageError(`unknown target ${bad.join(", ")}; choose from ${known.join(", ")}`);
        break;
      }
      default:
        throw new UsageError(`unexpected argument ${JSON.stringify(a)}\n${USAGE}`);
    }
  }
  return o;
}

export function kernelsFor(libs: Libs): KernelSet {
  const k: KernelSet = { refs: refsKernels };
  if (libs.jax) k["jax-js"] = jaxKernels(libs.jax);
  if (libs.tf) k.tfjs = tfjsKernels(libs.tf);
  return k;
}

const APP_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");

export async function bench(o: BenchOptions, out: NodeJS.WritableStream = process.stdout): Promise<Report> {
  const t0 = performance.now();
  const say = (s: string) => out.write(`${s}\n`);
  const progress = progressLine();
  say(`refs bench (${o.quick ? "quick" : "full"}): loading libraries and backends…`);
  const libs = await loadLibs({ ...(o.targets ? { only: o.targets } : {}), noGpu: o.noGpu });

  let ceiling = null;
  if (o.ceiling) {
    progress.update("measuring the Wasm FMA ceiling…");
    ceiling = await measureCeiling(o.quick ? 200 : 500);
    progress.clear();
  }

  const rep0: Report = {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    mode: o.quick ? "quick" : "full",
    machine: machine(),
    versions: libs.versions,
    webgpu: { ok: libs.webgpu.ok, adapter: libs.webgpu.description, featureLevel: libs.webgpu.featureLevel },
    ceiling,
    rows: [],
    seconds: 0,
  };
  say(summary(rep0));
  say(`targets: ${libs.targets.map(targetLabel).join(", ")}${libs.unavailable.size ? `; not available: ${[...libs.unavailable.keys()].join(", ")}` : ""}`);

  const caseOpts: CaseOptions = { ...(o.quick ? QUICK_CASES : FULL_CASES), ...(o.only ? { only: o.only } : {}) };
  const cases = makeCases(kernelsFor(libs), caseOpts);
  const runOpts = {
    ...(o.quick ? QUICK : FULL),
    progress: (line: string) => progress.update(line),
    onMismatch: (r: Row) => {
      progress.clear();
      process.stderr.write(`\n!!!!! NUMERICAL MISMATCH: ${r.workload} ${r.size} on ${targetLabel(r)}: ${r.note} !!!!!\n\n`);
    },
  };
  const rows: Row[] = await runCases(cases, libs.targets, runOpts, libs.unavailable);
  progress.clear();

  const rep: Report = { ...rep0, rows, seconds: (performance.now() - t0) / 1000 };
  say("");
  say(table(rows, ceiling));
  say("");
  say(SPEEDUP_EXPLAINED);
  for (const n of notes(rows)) say(`  · ${n}`);
  const mismatches = rows.filter((r) => r.status === "mismatch");
  if (mismatches.length) say(`\n!!!!! ${mismatches.length} NUMERICAL MISMATCH${mismatches.length > 1 ? "ES" : ""}: see the check column !!!!!`);

  // A plain run leaves the committed record alone: its files go to out/ (git-ignored).
  const dir = o.writeResults ? "" : "out";
  mkdirSync(join(APP_DIR, dir), { recursive: true });
  writeFileSync(join(APP_DIR, dir, "results.json"), JSON.stringify(rep, null, 2) + "\n");
  writeFileSync(join(APP_DIR, dir, "results.svg"), svgChart(rep));
  const shown = dir ? `apps/bench/${dir}` : "apps/bench";
  say(`\nwrote ${shown}/results.json and ${shown}/results.svg (${rep.seconds.toFixed(0)} s)`);
  if (o.writeResults) {
    writeFileSync(join(APP_DIR, "RESULTS.md"), resultsMarkdown(rep, `pnpm bench${o.quick ? " --quick" : ""} --write-results`));
    say("wrote apps/bench/RESULTS.md");
  }
  return rep;
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  const o = parseArgs(argv);
  if (o === null) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const rep = await bench(o);
  return rep.rows.some((r) => r.status === "mismatch") ? 1 : 0;
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
  main().then(
    // Exit explicitly: Dawn's instance (and tfjs/jax-js pools) would keep the process alive.
    (code) => process.exit(code),
    (e: unknown) => {
      if (e instanceof UsageError) console.error(`error: ${e.message}`);
      else console.error(e);
      process.exit(1);
    },
  );
}
