/** The table (console and RESULTS.md), results.json and the SVG chart. */
import { cpus, totalmem } from "node:os";
import type { Ceiling } from "./ceiling.js";
import { fmtMs, fmtThroughput, targetLabel, type Row } from "./harness.js";

export interface Machine {
  cpu: string;
  cores: number;
  memGiB: number;
  node: string;
  platform: string;
}

export function machine(): Machine {
  const c = cpus();
  return {
    cpu: c[0]?.model.trim() ?? "unknown",
    cores: c.length,
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

export interface Report {
  date: string;
  mode: "quick" | "full";
  machine: Machine;
  versions: Record<string, string>;
  webgpu: { ok: boolean; adapter: string; featureLevel: string | null };
  ceiling: Ceiling | null;
  rows: Row[];
  /** Wall time of the whole run, s. */
  seconds: number;
}

const speedupText = (r: Row): string => {
  if (r.lib === "refs") return r.medianMs === null ? "" : "(baseline)";
  if (r.speedup === null) return r.medianMs === null ? "" : "n/a";
  return `${r.speedup >= 10 ? r.speedup.toFixed(1) : r.speedup.toFixed(2)}×`;
};

const ceilingText = (r: Row, c: Ceiling | null): string => {
  if (!c || r.unit !== "GFLOP/s" || r.throughput === null || r.backend === "webgpu") return "";
  return `${((100 * r.throughput) / c.allCores).toFixed(1)}% / ${((100 * r.throughput) / c.oneCore).toFixed(1)}%`;
};

const checkText = (r: Row): string => {
  if (r.status === "mismatch") return `MISMATCH ${r.checkError?.toExponential(1)}`;
  if (r.checkError !== null) return `ok ${r.checkError.toExponential(0)}`;
  if (r.status === "ok") return "reference";
  return "";
};

/** A pipe table with aligned columns: valid Markdown, readable in a terminal. */
export function table(rows: readonly Row[], ceiling: Ceiling | null): string {
  const header = ["workload", "size", "library / backend", "median ms", "throughput", "refs speed-up", "% of Wasm FMA ceiling (all / 1 core)", "check"];
  const body: string[][] = [];
  let lastCase = "";
  for (const r of rows) {
    const caseKey = `${r.workload} ${r.size}`;
    const first = caseKey !== lastCase;
    lastCase = caseKey;
    const timed = r.medianMs !== null;
    body.push([
      first ? r.workload : "",
      first ? r.size : "",
      targetLabel(r),
      timed ? fmtMs(r.medianMs!) : r.status === "skipped" ? "—" : r.status.toUpperCase(),
      timed && r.throughput !== null ? `${fmtThroughput(r.throughput, r.unit)} ${r.unit}` : (r.note ?? ""),
      speedupText(r),
      ceilingText(r, ceiling),
      checkText(r),
    ]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const right = new Set([3, 5]);
  const line = (cells: string[]) => `| ${cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(" | ")} |`;
  const sep = `|${widths.map((w, i) => (right.has(i) ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2))).join("|")}|`;
  return [line(header), sep, ...body.map(line)].join("\n");
}

export function ceilingLine(c: Ceiling | null): string {
  if (!c) return "Wasm FMA ceiling: not measured";
  return (
    `Wasm SIMD f32 ceiling (${c.relaxed ? "f32x4.relaxed_madd" : "f32x4.mul + f32x4.add"}, 2 FLOPs per lane): ` +
    `${c.oneCore.toFixed(1)} GFLOP/s on one core, ${c.allCores.toFixed(1)} GFLOP/s on ${c.cores} cores (worker_threads)`
  );
}

export function notes(rows: readonly Row[]): string[] {
  const out = new Map<string, string[]>();
  for (const r of rows) {
    if (r.status === "ok" || !r.note) continue;
    const key = `${targetLabel(r)}: ${r.status === "mismatch" ? "MISMATCH — " : r.status === "error" ? "ERROR — " : ""}${r.note}`;
    const list = out.get(key) ?? [];
    list.push(`${r.workload} ${r.size}`);
    out.set(key, list);
  }
  const total = new Set(rows.map((r) => `${r.workload} ${r.size}`)).size;
  return [...out].map(([k, cases]) => `${k} (${cases.length === total ? "all workloads" : cases.join("; ")})`);
}

export const SPEEDUP_EXPLAINED =
  "refs speed-up = peer median time ÷ refs median time on the same kind of device (cpu/wasm peers vs refs cpu, webgpu peers vs refs webgpu): above 1× refs is faster, below 1× the peer is.";

export function summary(rep: Report): string {
  const m = rep.machine;
  return [
    `machine: ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, ${m.platform}, Node ${m.node}`,
    `peers: @jax-js/jax ${rep.versions["@jax-js/jax"]}, @tensorflow/tfjs-* ${rep.versions["@tensorflow/tfjs-core"]}, webgpu (Dawn) ${rep.versions["webgpu"]}`,
    `WebGPU adapter: ${rep.webgpu.ok ? `${rep.webgpu.adapter} (${rep.webgpu.featureLevel} feature level)` : rep.webgpu.adapter}`,
    ceilingLine(rep.ceiling),
  ].join("\n");
}

export function resultsMarkdown(rep: Report, command: string): string {
  const ns = notes(rep.rows);
  return `# Benchmark results

Written by \`${command}\` (apps/bench) on ${rep.date}, ${rep.mode} mode, ${rep.seconds.toFixed(0)} s.
Do not edit by hand: run \`pnpm bench ${rep.mode === "quick" ? "--quick " : ""}--write-results\` again.

\`\`\`
${summary(rep)}
\`\`\`

${table(rep.rows, rep.ceiling)}

${SPEEDUP_EXPLAINED}

Rows not timed:
${ns.length ? ns.map((n) => `- ${n}`).join("\n") : "- none"}

## How it was measured

- All libraries run in one Node process. For each case every target is prepared (inputs uploaded,
  jitted where the library has a jit), checked numerically against the first target (refs cpu),
  warmed up, then timed **interleaved**: one sample of each target in turn, round after round.
  A sample repeats fast calls until it lasts a few ms; the table shows the median per call.
- Every call waits for its result on the host (\`await data()\` on the output, or on the loss of a
  train step), so GPU timings include completion and read-back, and so do CPU ones.
- matmul, gelu, sum and softmax: refs \`jit\`, jax-js \`jit\`, tfjs eager ops in \`tf.tidy\`.
- Block train step: refs runs the notebook's cell 8 program (\`@refs/nn\` Block with refs, \`nn.Optimizer\`
  with \`adam(1e-3)\`, \`valueAndGrad\`, one \`jit\`); jax-js the same forward + \`valueAndGrad\` + hand-written
  Adam in one \`jit\`; tfjs \`optimizer.minimize\` with \`tf.train.adam\`. BatchNorm updates its running
  statistics (momentum 0.99) in all three; Dropout 0.1 is on while timing.
- MLP train step: 784-512-512-10 (Linear → BatchNorm → relu → Dropout per hidden layer), batch 128,
  softmax cross-entropy, Adam; synthetic inputs (no dataset download).
- The numerical check of a train step runs ${"three"} steps with dropout off from identical parameters and
  compares the losses and the first kernel's first entries; the others compare the whole output.
- WebGPU rows on llvmpipe (software rasteriser, OpenGL backend of Dawn, compatibility level) measure
  nothing about GPU speed; compare them only with each other.
`;
}

// ---- the chart ------------------------------------------------------------------------

const COLORS: Record<string, string> = {
  "refs cpu": "#d62728",
  "jax-js wasm": "#1f77b4",
  "tfjs cpu": "#bcbd22",
  "tfjs wasm": "#ff7f0e",
  "refs webgpu": "#8c1c1c",
  "jax-js webgpu": "#17becf",
  "tfjs webgpu": "#9467bd",
};

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A grouped bar chart: one group per case, one bar per target, time per call on a log scale (lower is better). */
export function svgChart(rep: Report): string {
  const cases: { key: string; rows: Row[] }[] = [];
  for (const r of rep.rows) {
    const key = `${r.workload} ${r.size}`;
    let c = cases.find((x) => x.key === key);
    if (!c) cases.push((c = { key, rows: [] }));
    c.rows.push(r);
  }
  const labels = [...new Set(rep.rows.map((r) => targetLabel(r)))];
  const timed = rep.rows.filter((r) => r.medianMs !== null).map((r) => r.medianMs!);
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...timed, 1))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...timed, 10))));
  const bar = 14;
  const gap = 28;
  const groupW = labels.length * bar + gap;
  const left = 70;
  const top = 60;
  const plotH = 320;
  const width = left + cases.length * groupW + 20;
  const height = top + plotH + 150;
  const y = (ms: number) => top + plotH - (plotH * Math.log10(ms / lo)) / Math.log10(hi / lo);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(`<text x="${left}" y="20" font-size="14" font-weight="bold">refs vs jax-js vs TensorFlow.js — median time per call (ms, log scale, lower is better)</text>`);
  out.push(`<text x="${left}" y="38" fill="#555">${esc(`${rep.machine.cpu}, ${rep.machine.cores} cores, Node ${rep.machine.node}, ${rep.date}, ${rep.mode}`)}</text>`);
  for (let d = lo; d <= hi * 1.0001; d *= 10) {
    out.push(`<line x1="${left}" x2="${width - 20}" y1="${y(d).toFixed(1)}" y2="${y(d).toFixed(1)}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 6}" y="${(y(d) + 4).toFixed(1)}" text-anchor="end">${d >= 1 ? d.toFixed(0) : d}</text>`);
  }
  out.push(`<text transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">ms per call</text>`);
  cases.forEach((c, gi) => {
    const x0 = left + gi * groupW + gap / 2;
    labels.forEach((label, bi) => {
      const r = c.rows.find((rr) => targetLabel(rr) === label);
      const x = x0 + bi * bar;
      if (r && r.medianMs !== null) {
        const yy = y(r.medianMs);
        const fill = r.status === "mismatch" ? "#000" : (COLORS[label] ?? "#888");
        out.push(
          `<rect x="${x}" y="${yy.toFixed(1)}" width="${bar - 2}" height="${(top + plotH - yy).toFixed(1)}" fill="${fill}"><title>${esc(`${c.key} — ${label}: ${fmtMs(r.medianMs)} ms`)}</title></rect>`,
        );
      } else {
        out.push(`<text x="${x + (bar - 2) / 2}" y="${top + plotH - 4}" font-size="8" fill="#999" text-anchor="middle" transform="rotate(-90 ${x + (bar - 2) / 2} ${top + plotH - 4})">n/a</text>`);
      }
    });
    const cx = x0 + (labels.length * bar) / 2;
    out.push(`<text x="${cx}" y="${top + plotH + 14}" text-anchor="end" transform="rotate(-30 ${cx} ${top + plotH + 14})">${esc(c.key)}</text>`);
  });
  labels.forEach((label, i) => {
    const lx = left + (i % 4) * 150;
    const ly = height - 30 + Math.floor(i / 4) * 16 - (labels.length > 4 ? 16 : 0);
    out.push(`<rect x="${lx}" y="${ly - 9}" width="10" height="10" fill="${COLORS[label] ?? "#888"}"/><text x="${lx + 14}" y="${ly}">${esc(label)}</text>`);
  });
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
