/**
 * float16 against float32 on a WebGPU adapter with shader-f16: a matmul and a
 * small MLP train step, interleaved (f32, f16, f32, f16, …), median of the
 * timed calls. On this project's machines the adapter is Mesa's lavapipe
 * (Vulkan in software, tools/lavapipe.sh), where time says nothing about a
 * GPU: read the float16/float32 ratio, and the bytes.
 *
 *   node dist/float16.js [--reps N]
 *
 * REFS_VK_ICD (or the repository's .cache/lavapipe/lvp_icd.json) picks the
 * Vulkan driver; on a machine with a GPU that has shader-f16, unset both.
 */
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const icd = process.env.REFS_VK_ICD || resolve(repo, ".cache/lavapipe/lvp_icd.json");
if (existsSync(icd)) process.env.VK_ICD_FILENAMES = icd;
process.env.EGL_PLATFORM ??= "surfaceless";
process.env.XDG_RUNTIME_DIR ??= "/tmp";

const { np, random, setBackend } = await import("@refs/core");
type Array = import("@refs/core").Array;
const { jit, valueAndGrad } = await import("@refs/trace");
const nn = await import("@refs/nn");
const { sgd } = await import("@refs/optim");
const { adapterInfo } = await import("@refs/gpu");

const argReps = process.argv.indexOf("--reps");
const REPS = argReps > 0 ? Number(process.argv[argReps + 1]) : 9;

await setBackend("webgpu");
const info = adapterInfo()!;
console.log(`adapter: ${info.description || info.device} (${info.featureLevel} level); shader-f16: ${info.features.includes("shader-f16")}`);
if (!info.features.includes("shader-f16")) {
  console.log("this adapter has no shader-f16: float16 does not run here (run sh tools/lavapipe.sh, or use a GPU with it)");
  process.exit(1);
}

type Dt = "float32" | "float16";
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** Time `calls[d]()` (each awaits its result) interleaved across dtypes; median ms per call. */
async function race(calls: Record<Dt, () => Promise<unknown>>): Promise<Record<Dt, number>> {
  const t: Record<Dt, number[]> = { float32: [], float16: [] };
  for (const d of ["float32", "float16"] as const) for (let w = 0; w < 2; w++) await calls[d](); // compile and warm up
  for (let r = 0; r < REPS; r++)
    for (const d of ["float32", "float16"] as const) {
      const t0 = performance.now();
      await calls[d]();
      t[d].push(performance.now() - t0);
    }
  return { float32: median(t.float32), float16: median(t.float16) };
}

const rows: string[][] = [["workload", "float32 ms", "float16 ms", "f16 / f32", "bytes f32", "bytes f16"]];
const row = (name: string, ms: Record<Dt, number>, bytes: Record<Dt, number>) =>
  rows.push([name, ms.float32.toFixed(2), ms.float16.toFixed(2), (ms.float16 / ms.float32).toFixed(2), String(bytes.float32), String(bytes.float16)]);

for (const n of [256, 512]) {
  const mm = jit((a: Array, b: Array) => np.matmul(a, b));
  const args = (d: Dt) => [random.uniform(random.key(1), [n, n], { dtype: d }), random.uniform(random.key(2), [n, n], { dtype: d })] as const;
  const a32 = args("float32"), a16 = args("float16");
  await Promise.all([...a32, ...a16].map((x) => x.data()));
  const call = (a: readonly [Array, Array]) => async () => {
    const y = mm(a[0], a[1]) as Array;
    await y.data();
    y.dispose();
  };
  const ms = await race({ float32: call(a32), float16: call(a16) });
  row(`matmul ${n}x${n}x${n}`, ms, { float32: 3 * n * n * 4, float16: 3 * n * n * 2 });
}

class Mlp extends nn.Module {
  l1: InstanceType<typeof nn.Linear>;
  l2: InstanceType<typeof nn.Linear>;
  constructor(d: Dt, rngs: InstanceType<typeof nn.Rngs>) {
    super();
    const kernelInit = (key: Array, shape: readonly number[], dt?: import("@refs/core").DType) => nn.initializers.lecunNormal()(key, shape, "float32").astype(dt ?? "float32");
    this.l1 = new nn.Linear(256, 512, { rngs, dtype: d, paramDtype: d, kernelInit });
    this.l2 = new nn.Linear(512, 10, { rngs, dtype: d, paramDtype: d, kernelInit });
  }
  call(x: Array): Array {
    return this.l2.call(nn.relu(this.l1.call(x)));
  }
}
const x32 = random.normal(random.key(3), [128, 256]);
const y32 = random.normal(random.key(4), [128, 10]);
const steps = {} as Record<Dt, () => Promise<unknown>>;
const paramBytes = {} as Record<Dt, number>;
for (const d of ["float32", "float16"] as const) {
  const [model, opt] = nn.useRefs(true, () => {
    const m = new Mlp(d, new nn.Rngs(0));
    return [m, new nn.Optimizer(m, sgd(0.01), { wrt: nn.Param })] as const;
  });
  paramBytes[d] = (256 * 512 + 512 + 512 * 10 + 10) * (d === "float16" ? 2 : 4);
  const step = jit((model: Mlp, opt: InstanceType<typeof nn.Optimizer>, x: Array, y: Array) => {
    const [g, params, rest] = nn.split(model, nn.Param, "...");
    const loss = (p: InstanceType<typeof nn.State>) => nn.merge<Mlp>(g, p, rest).call(x).astype("float32").sub(y).square().mean();
    const [l, grads] = valueAndGrad(loss)(nn.toArrays(params));
    opt.update(model, grads);
    return l as Array;
  });
  const x = x32.astype(d);
  steps[d] = async () => {
    const l = step(model, opt, x, y32) as Array;
    await l.data();
    l.dispose();
  };
}
row("MLP 256-512-10 sgd step, batch 128", await race(steps), paramBytes);

const w = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const r of rows) console.log(r.map((s, c) => (c === 0 ? s.padEnd(w[c]!) : s.padStart(w[c]!))).join("  "));
console.log(`(median of ${REPS} interleaved calls after 2 warm-up calls each; bytes: matmul operands and result, MLP parameters)`);
process.exit(0);
