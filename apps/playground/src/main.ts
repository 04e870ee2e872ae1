/**
 * The playground: the notebook's Block (cells 7–8) trained in the browser.
 * WebGPU first (adapter shown in #adapter), cpu when it is unavailable; the
 * jitted Adam train step runs N times in an async loop that reads each loss
 * with `await loss.data()` and yields to the browser between steps.
 */
import { np, random, setBackend, type Array } from "@refs/core";
import { jit, valueAndGrad } from "@refs/trace";
import * as nn from "@refs/nn";
import { adam } from "@refs/optim";
import { adapterInfo } from "@refs/gpu"; // importing registers the "webgpu" backend

declare global {
  interface Window {
    __losses: number[];
    __backend: string;
    __error?: string;
  }
}

const params = new URLSearchParams(location.search);
const STEPS = Math.max(1, Number(params.get("steps") ?? 150) | 0);
const BATCH = 128;
const LR = 5e-3;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const adapterEl = $<HTMLDivElement>("adapter");
const statusEl = $<HTMLDivElement>("status");
const canvas = $<HTMLCanvasElement>("plot");

const losses: number[] = [];
window.__losses = losses;

// ---- backend --------------------------------------------------------------------------
async function pickBackend(): Promise<string> {
  const hasGpu = typeof navigator !== "undefined" && "gpu" in navigator && !!(navigator as { gpu?: unknown }).gpu;
  if (hasGpu && params.get("backend") !== "cpu") {
    try {
      await setBackend("webgpu");
      const info = adapterInfo();
      adapterEl.textContent =
        `WebGPU ✓\nvendor: ${info?.vendor || "?"}\narchitecture: ${info?.architecture || "?"}\n` +
        `description: ${info?.description || "—"}\nfeature level: ${info?.featureLevel ?? "?"}`;
      adapterEl.dataset.backend = "webgpu";
      adapterEl.dataset.architecture = info?.architecture ?? "";
      return "webgpu";
    } catch (e) {
      adapterEl.textContent = `WebGPU unavailable (${(e as Error).message}) — falling back to cpu`;
    }
  } else {
    adapterEl.textContent = params.get("backend") === "cpu" ? "cpu (requested with ?backend=cpu)" : "WebGPU unavailable (no navigator.gpu) — falling back to cpu";
  }
  adapterEl.classList.add("unavailable");
  adapterEl.dataset.backend = "cpu";
  await setBackend("cpu");
  return "cpu";
}

// ---- model: notebook cell 7 -----------------------------------------------------------
class Linear extends nn.Module {
  kernel: nn.Param;
  bias: nn.Param;
  constructor(inFeatures: number, outFeatures: number, { rngs }: { rngs: nn.Rngs }) {
    super();
    this.kernel = new nn.Param(random.normal(rngs.next(), [inFeatures, outFeatures]).mul(1 / Math.sqrt(inFeatures)));
    this.bias = new nn.Param(np.zeros([outFeatures]));
  }
  call(x: Array): Array {
    return x.matmul(this.kernel.value).add(this.bias.get(null));
  }
}

class Block extends nn.Module {
  linear: Linear;
  bn: nn.BatchNorm;
  dropout: nn.Dropout;
  linearOut: Linear;
  constructor(din: number, dmid: number, dout: number, { rngs }: { rngs: nn.Rngs }) {
    super();
    this.linear = new Linear(din, dmid, { rngs });
    this.bn = new nn.BatchNorm(dmid, { rngs });
    this.dropout = new nn.Dropout(0.1, { rngs });
    this.linearOut = new Linear(dmid, dout, { rngs });
  }
  call(x: Array): Array {
    x = nn.gelu(this.dropout.call(this.bn.call(this.linear.call(x))));
    return this.linearOut.call(x);
  }
}

// ---- data: y = [sin(πx₀), cos(πx₁), x₀·x₁] + small noise, x ∈ [-1, 1]² ----------------
function makeData(n: number, seed: number): { x: number[][]; y: number[][] } {
  let s = seed >>> 0;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const x: number[][] = [];
  const y: number[][] = [];
  for (let i = 0; i < n; i++) {
    const a = rand() * 2 - 1;
    const b = rand() * 2 - 1;
    const noise = () => (rand() - 0.5) * 0.02;
    x.push([a, b]);
    y.push([Math.sin(Math.PI * a) + noise(), Math.cos(Math.PI * b) + noise(), a * b + noise()]);
  }
  return { x, y };
}

// ---- plot ---------------------------------------------------------------------------
function draw(): void {
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  const W = canvas.width;
  const H = canvas.height;
  const m = { l: 56, r: 16, t: 28, b: 36 };
  ctx.clearRect(0, 0, W, H);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, W, H);
  ctx.fillStyle = "#1d2330";
  ctx.font = "13px system-ui, sans-serif";
  ctx.fillText("training loss (MSE, log scale)", m.l, 18);
  if (losses.length === 0) return;
  const logs = losses.map((l) => Math.log10(Math.max(l, 1e-8)));
  let lo = Math.min(...logs);
  let hi = Math.max(...logs);
  if (hi - lo < 1e-6) {
    lo -= 0.5;
    hi += 0.5;
  }
  lo = Math.floor(lo * 2) / 2;
  hi = Math.ceil(hi * 2) / 2;
  const px = (i: number) => m.l + ((W - m.l - m.r) * i) / Math.max(1, STEPS - 1);
  const py = (v: number) => m.t + ((H - m.t - m.b) * (hi - v)) / (hi - lo);
  // grid + y labels
  ctx.strokeStyle = "#eceff3";
  ctx.fillStyle = "#666";
  ctx.font = "11px ui-monospace, monospace";
  ctx.lineWidth = 1;
  for (let v = lo; v <= hi + 1e-9; v += 0.5) {
    ctx.beginPath();
    ctx.moveTo(m.l, py(v));
    ctx.lineTo(W - m.r, py(v));
    ctx.stroke();
    ctx.fillText(Number((10 ** v).toPrecision(2)).toString(), 6, py(v) + 4);
  }
  // x axis
  ctx.strokeStyle = "#999";
  ctx.beginPath();
  ctx.moveTo(m.l, H - m.b);
  ctx.lineTo(W - m.r, H - m.b);
  ctx.stroke();
  for (let k = 0; k <= 4; k++) {
    const i = Math.round(((STEPS - 1) * k) / 4);
    ctx.fillText(String(i + 1), px(i) - 6, H - m.b + 16);
  }
  ctx.fillText("step", W - m.r - 30, H - 6);
  // curve
  ctx.strokeStyle = "#2f6fde";
  ctx.lineWidth = 2;
  ctx.beginPath();
  logs.forEach((v, i) => (i === 0 ? ctx.moveTo(px(i), py(v)) : ctx.lineTo(px(i), py(v))));
  ctx.stroke();
  const last = logs.length - 1;
  ctx.fillStyle = "#2f6fde";
  ctx.beginPath();
  ctx.arc(px(last), py(logs[last]!), 3.5, 0, 2 * Math.PI);
  ctx.fill();
}

const nextFrame = () => new Promise<void>((r) => (typeof requestAnimationFrame === "function" ? requestAnimationFrame(() => r()) : setTimeout(r, 0)));

// ---- training: notebook cell 8 --------------------------------------------------------
async function main(): Promise<void> {
  const backend = await pickBackend();
  window.__backend = backend;
  document.body.dataset.backend = backend;

  const [model, optimizer] = nn.useRefs(true, () => {
    const model = new Block(2, 64, 3, { rngs: new nn.Rngs(0) });
    return [model, new nn.Optimizer(model, adam(LR), { wrt: nn.Param })] as const;
  });

  const trainStep = jit(function trainStep(model: Block, optimizer: nn.Optimizer, x: Array, y: Array) {
    const [graphdef, params, nondiff] = nn.split(model, nn.Param, "...");
    const lossFn = (params: nn.State) => {
      const model = nn.merge<Block>(graphdef, params, nondiff);
      return model.call(x).sub(y).square().mean();
    };
    const [loss, grads] = valueAndGrad(lossFn)(nn.toArrays(params)); // freeze ArrayRefs for grad
    optimizer.update(model, grads);
    return loss;
  });

  const data = makeData(BATCH, 42);
  const x = np.array(data.x);
  const y = np.array(data.y);

  const t0 = performance.now();
  let firstStep = 0;
  for (let step = 1; step <= STEPS; step++) {
    const loss = trainStep(model, optimizer, x, y) as Array;
    const value = (await loss.data())[0]!;
    losses.push(value);
    const elapsed = (performance.now() - t0) / 1000;
    if (step === 1) firstStep = elapsed;
    statusEl.textContent = `step ${step}/${STEPS}\nloss ${value.toFixed(5)}\n${backend} · ${elapsed.toFixed(1)} s`;
    statusEl.dataset.step = String(step);
    draw();
    await nextFrame(); // let the browser paint between steps
  }
  const total = (performance.now() - t0) / 1000;
  const perStep = (1000 * (total - firstStep)) / Math.max(1, STEPS - 1);
  statusEl.textContent =
    `done: ${STEPS} steps\nloss ${losses[0]!.toFixed(5)} → ${losses.at(-1)!.toFixed(5)}\n` +
    `${backend} · ${total.toFixed(1)} s (first step ${firstStep.toFixed(2)} s, then ${perStep.toFixed(0)} ms/step)`;
  (window as unknown as { __timing: object }).__timing = { total, firstStep, perStepMs: perStep };
  document.body.dataset.done = "1";
}

main().catch((e: unknown) => {
  const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  window.__error = msg;
  statusEl.textContent = `error: ${msg}`;
  statusEl.style.color = "#a3200f";
  document.body.dataset.error = "1";
  console.error(e);
});
