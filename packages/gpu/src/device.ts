/**
 * WebGPU device bring-up: `navigator.gpu` in browsers, the `webgpu` package
 * (Dawn) in Node. Core feature level first; in Node, falls back to Dawn's
 * OpenGL backend at compatibility level (software Mesa llvmpipe works there).
 * `REFS_WEBGPU_FLAGS` (comma separated Dawn flags, e.g. "backend=opengl")
 * overrides the Node attempts.
 */

export interface DeviceBundle {
  readonly device: GPUDevice;
  readonly adapter: GPUAdapter;
  readonly info: AdapterInfo;
  readonly hasF16: boolean;
  /** Keeps Dawn's GPU object alive (Node); released on dispose. */
  gpu: unknown;
}

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  description: string;
  device: string;
  featureLevel: "core" | "compatibility";
  features: string[];
  runtime: "browser" | "node";
}

let lastInfo: AdapterInfo | undefined;

/** Information on the adapter of the most recently started device (undefined before). */
export function adapterInfo(): AdapterInfo | undefined {
  return lastInfo;
}

type Gpu = { requestAdapter(o?: GPURequestAdapterOptions & { featureLevel?: string }): Promise<GPUAdapter | null> };

async function nodeGpus(): Promise<{ gpu: Gpu; level: "core" | "compatibility" }[]> {
  const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
  env.EGL_PLATFORM ??= "surfaceless";
  env.XDG_RUNTIME_DIR ??= "/tmp";
  let mod: { create(flags: string[]): Gpu; globals: object };
  try {
    mod = (await import(/* @vite-ignore */ "webgpu" as string)) as never;
  } catch (e) {
    throw new Error(`@refs/gpu needs the "webgpu" package in Node: npm install webgpu (${(e as Error).message})`);
  }
  for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  const override = env.REFS_WEBGPU_FLAGS;
  const attempts: { flags: string[]; level: "core" | "compatibility" }[] = override !== undefined
    ? [
        { flags: override.split(",").filter(Boolean), level: "core" },
        { flags: override.split(",").filter(Boolean), level: "compatibility" },
      ]
    : [
        { flags: [], level: "core" },
        { flags: ["backend=opengl"], level: "compatibility" },
      ];
  return attempts.map((a) => ({ gpu: lazyCreate(mod, a.flags), level: a.level }));
}

function lazyCreate(mod: { create(flags: string[]): Gpu }, flags: string[]): Gpu {
  let g: Gpu | undefined;
  return {
    requestAdapter: (o) => {
      g ??= mod.create(flags);
      return g.requestAdapter(o);
    },
  };
}

export async function createDevice(): Promise<DeviceBundle> {
  const nav = (globalThis as { navigator?: { gpu?: Gpu } }).navigator;
  const isNode = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === "string";
  const candidates: { gpu: Gpu; level: "core" | "compatibility" }[] = [];
  if (nav?.gpu && !isNode) {
    candidates.push({ gpu: nav.gpu, level: "core" }, { gpu: nav.gpu, level: "compatibility" });
  } else {
    candidates.push(...(await nodeGpus()));
  }
  let adapter: GPUAdapter | null = null;
  let chosen: (typeof candidates)[number] | undefined;
  const errors: string[] = [];
  for (const c of candidates) {
    try {
      adapter = await c.gpu.requestAdapter(c.level === "compatibility" ? ({ featureLevel: "compatibility" } as GPURequestAdapterOptions) : {});
    } catch (e) {
      errors.push((e as Error).message);
      adapter = null;
    }
    if (adapter) {
      chosen = c;
      break;
    }
  }
  if (!adapter || !chosen)
    throw new Error(
      `webgpu: no adapter found${errors.length ? ` (${errors.join("; ")})` : ""}. In Node on Linux without a GPU install Mesa: ` +
        `apt-get install -y --no-install-recommends mesa-vulkan-drivers libvulkan1 libegl1 libgles2`,
    );
  const hasF16 = adapter.features.has("shader-f16");
  const requiredLimits: Record<string, number> = {};
  const want = [
    "maxStorageBufferBindingSize",
    "maxBufferSize",
    "maxStorageBuffersPerShaderStage",
    "maxComputeWorkgroupStorageSize",
    "maxComputeInvocationsPerWorkgroup",
    "maxComputeWorkgroupSizeX",
    "maxComputeWorkgroupsPerDimension",
    "maxBindingsPerBindGroup",
  ];
  for (const k of want) {
    const v = (adapter.limits as unknown as Record<string, number>)[k];
    if (typeof v === "number") requiredLimits[k] = v;
  }
  const device = await adapter.requestDevice({
    requiredFeatures: hasF16 ? ["shader-f16"] : [],
    requiredLimits,
  });
  const ai = (adapter as { info?: GPUAdapterInfo }).info;
  lastInfo = {
    vendor: ai?.vendor ?? "",
    architecture: ai?.architecture ?? "",
    description: ai?.description ?? "",
    device: ai?.device ?? "",
    featureLevel: chosen.level,
    features: [...adapter.features],
    runtime: isNode ? "node" : "browser",
  };
  return { device, adapter, info: lastInfo, hasF16, gpu: chosen.gpu };
}
