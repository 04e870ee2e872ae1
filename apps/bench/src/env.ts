/**
 * Loading the libraries and their backends in one Node process: Dawn's
 * WebGPU (the `webgpu` package) exposed as `navigator.gpu` for jax-js and
 * tfjs-backend-webgpu (and @refs/gpu, when it exists), jax-js, tfjs with its
 * cpu, wasm and webgpu backends, and refs.
 *
 * Everything peer-side is a dynamic import: the peers are devDependencies of
 * this app only, and a missing one becomes a skipped row, not a crash.
 */
import { createRequire, register } from "node:module";
import { dirname, join } from "node:path";
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import type * as JaxModule from "@jax-js/jax";
import type * as TfModule from "@tensorflow/tfjs-core";
import * as refsCore from "@refs/core";
import type { BackendName, LibName, Target } from "./harness.js";

export type Jax = typeof JaxModule;
export type Tf = typeof TfModule;

const require = createRequire(import.meta.url);
const message = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split("\n")[0]!;

export interface WebGpuInfo {
  ok: boolean;
  /** adapter.info.description (or why there is none). */
  description: string;
  featureLevel: "core" | "compatibility" | null;
  /** The object from `create()`; held so the process can release it at the end. */
  gpu: unknown;
}

let webgpu: Promise<WebGpuInfo> | null = null;

/**
 * Dawn for Node, exposed as `navigator.gpu`. On a real GPU `create([])` and a
 * core adapter; on llvmpipe (no Vulkan Dawn accepts) the OpenGL backend at
 * compatibility level, with every later requestAdapter forced to that level
 * (jax-js and tfjs ask for core, which returns null there).
 */
export function setupWebGpu(): Promise<WebGpuInfo> {
  webgpu ??= (async (): Promise<WebGpuInfo> => {
    process.env.EGL_PLATFORM ??= "surfaceless";
    process.env.XDG_RUNTIME_DIR ??= "/tmp";
    ensureNavigator();
    let mod: { create(flags: string[]): GpuLike; globals: Record<string, unknown> };
    try {
      mod = (await import("webgpu")) as unknown as typeof mod;
    } catch (e) {
      return { ok: false, description: `the webgpu package did not load: ${message(e)}`, featureLevel: null, gpu: null };
    }
    Object.assign(globalThis as object, mod.globals);
    const attempts: { flags: string[]; level: "core" | "compatibility" }[] = [
      { flags: [], level: "core" },
      { flags: ["backend=opengl"], level: "compatibility" },
    ];
    for (const { flags, level } of attempts) {
      try {
        const gpu = mod.create(flags);
        const adapter = await gpu.requestAdapter({ featureLevel: level });
        if (!adapter) continue;
        if (level === "compatibility") {
          const original = gpu.requestAdapter.bind(gpu);
          gpu.requestAdapter = (o: Record<string, unknown> = {}) => original({ ...o, featureLevel: "compatibility" });
        }
        Object.defineProperty((globalThis as unknown as { navigator: object }).navigator, "gpu", { value: gpu, configurable: true, writable: true });
        const info = (adapter as { info?: { description?: string; vendor?: string; architecture?: string } }).info;
        const description = info?.description || [info?.vendor, info?.architecture].filter(Boolean).join(" ") || "unknown adapter";
        return { ok: true, description, featureLevel: level, gpu };
      } catch {
        /* try the next */
      }
    }
    return { ok: false, description: "no WebGPU adapter (Dawn found none at core or compatibility level)", featureLevel: null, gpu: null };
  })();
  return webgpu;
}

interface GpuLike {
  requestAdapter(o?: Record<string, unknown>): Promise<unknown>;
}

/** Node 20 has no `navigator`; jax-js reads `navigator.userAgent` when it loads its WebGPU backend. */
function ensureNavigator(): void {
  const g = globalThis as { navigator?: { userAgent?: string } };
  if (!g.navigator) Object.defineProperty(globalThis, "navigator", { value: { userAgent: `Node.js/${process.version}` }, configurable: true, writable: true });
  else if (typeof g.navigator.userAgent !== "string") {
    try {
      Object.defineProperty(g.navigator, "userAgent", { value: `Node.js/${process.version}`, configurable: true });
    } catch {
      /* read-only navigator */
    }
  }
}

// ---- the libraries ---------------------------------------------------------------------

export interface Libs {
  refs: typeof refsCore;
  jax: Jax | null;
  tf: Tf | null;
  /** Targets that can run, in table order. */
  targets: Target[];
  /** Targets that cannot, with the reason ("refs webgpu" → "n/a (@refs/gpu not available)"). */
  unavailable: Map<string, string>;
  webgpu: WebGpuInfo;
  /** Versions of the peers, for the report. */
  versions: Record<string, string>;
}

export const ALL_TARGETS: readonly { lib: LibName; backend: BackendName }[] = [
  { lib: "refs", backend: "cpu" },
  { lib: "jax-js", backend: "wasm" },
  { lib: "tfjs", backend: "cpu" },
  { lib: "tfjs", backend: "wasm" },
  { lib: "refs", backend: "webgpu" },
  { lib: "jax-js", backend: "webgpu" },
  { lib: "tfjs", backend: "webgpu" },
];

function version(pkg: string): string {
  try {
    const dir = packageDir(pkg);
    return (require(join(dir, "package.json")) as { version: string }).version;
  } catch {
    return "?";
  }
}

/** A package's folder, from its resolved entry (some packages do not export ./package.json). */
function packageDir(pkg: string): string {
  let dir = dirname(require.resolve(pkg));
  while (!existsSync(join(dir, "package.json")) || (require(join(dir, "package.json")) as { name?: string }).name !== pkg) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json for ${pkg}`);
    dir = up;
  }
  return dir;
}

/** Import @refs/gpu: by name when it is linked, else from the workspace's packages/gpu build. */
async function importRefsGpu(): Promise<void> {
  const name = "@refs/gpu"; // a variable: @refs/gpu is optional and may not exist at build time
  try {
    await import(name);
    return;
  } catch (e) {
    const here = dirname(fileURLToPath(import.meta.url));
    for (const candidate of [join(here, "../../../packages/gpu/dist/index.js"), join(here, "../../packages/gpu/dist/index.js")]) {
      if (existsSync(candidate)) {
        await import(pathToFileURL(candidate).href);
        return;
      }
    }
    throw e;
  }
}

/**
 * tfjs-core's gradient rules are not in its Node bundle: the `@tensorflow/tfjs`
 * union package registers them by importing
 * `@tensorflow/tfjs-core/dist/register_all_gradients`, an ES module tree whose
 * relative imports have no ".js". A resolve hook adds it, for that folder only;
 * the rules land in tfjs's global gradient registry, which the Node bundle shares.
 */
async function registerTfGradients(): Promise<void> {
  const hook = `
    export async function resolve(specifier, context, next) {
      try {
        return await next(specifier, context);
      } catch (e) {
        const parent = context.parentURL ?? "";
        if (/^\\.\\.?\\//.test(specifier) && !specifier.endsWith(".js") && parent.includes("/@tensorflow/tfjs-core/dist/")) return next(specifier + ".js", context);
        throw e;
      }
    }`;
  register(`data:text/javascript,${encodeURIComponent(hook)}`);
  await import(pathToFileURL(join(packageDir("@tensorflow/tfjs-core"), "dist", "register_all_gradients.js")).href);
}

export interface LoadOptions {
  /** Only these targets ("refs cpu", "jax-js wasm", …); all when absent. */
  only?: readonly string[];
  /** Skip every WebGPU target. */
  noGpu?: boolean;
}

/** Load refs, jax-js and tfjs and start the backends that work here. */
export async function loadLibs(opts: LoadOptions = {}): Promise<Libs> {
  const want = (lib: LibName, backend: BackendName) =>
    (!opts.only || opts.only.includes(`${lib} ${backend}`)) && !(opts.noGpu && backend === "webgpu");
  const unavailable = new Map<string, string>();
  const wantGpu = ALL_TARGETS.some((t) => t.backend === "webgpu" && want(t.lib, t.backend));
  const webgpu: WebGpuInfo = wantGpu ? await setupWebGpu() : { ok: false, description: "not requested", featureLevel: null, gpu: null };
  ensureNavigator();
  const ok = new Set<string>();

  // refs
  if (want("refs", "cpu")) {
    await refsCore.setBackend("cpu");
    ok.add("refs cpu");
  }
  if (want("refs", "webgpu")) {
    try {
      await importRefsGpu();
    } catch {
      unavailable.set("refs webgpu", "n/a (@refs/gpu not available)");
    }
    if (!unavailable.has("refs webgpu")) {
      if (!webgpu.ok) unavailable.set("refs webgpu", `n/a (${webgpu.description})`);
      else {
        try {
          await refsCore.setBackend("webgpu");
          ok.add("refs webgpu");
        } catch (e) {
          unavailable.set("refs webgpu", `n/a (@refs/gpu: setBackend("webgpu") failed: ${message(e)})`);
        }
        await refsCore.setBackend("cpu");
      }
    }
  }

  // jax-js
  let jax: Jax | null = null;
  if (want("jax-js", "wasm") || want("jax-js", "webgpu")) {
    try {
      jax = (await import("@jax-js/jax")) as Jax;
      const devices = await jax.init(...(["wasm", ...(webgpu.ok && want("jax-js", "webgpu") ? ["webgpu"] : [])] as JaxModule.Device[]));
      for (const d of ["wasm", "webgpu"] as const) {
        if (!want("jax-js", d)) continue;
        if (devices.includes(d)) ok.add(`jax-js ${d}`);
        else unavailable.set(`jax-js ${d}`, d === "webgpu" && !webgpu.ok ? `n/a (${webgpu.description})` : `n/a (jax-js did not start its ${d} backend)`);
      }
    } catch (e) {
      for (const d of ["wasm", "webgpu"] as const) if (want("jax-js", d)) unavailable.set(`jax-js ${d}`, `n/a (@jax-js/jax did not load: ${message(e)})`);
    }
  }

  // tfjs
  let tf: Tf | null = null;
  if (["cpu", "wasm", "webgpu"].some((b) => want("tfjs", b as BackendName))) {
    try {
      tf = (await import("@tensorflow/tfjs-core")) as Tf;
      await registerTfGradients();
      await import("@tensorflow/tfjs-backend-cpu");
      tf.env().set("IS_TEST", false);
      const tryBackend = async (b: BackendName, load: () => Promise<void>) => {
        if (!want("tfjs", b)) return;
        if (b === "webgpu" && !webgpu.ok) {
          unavailable.set("tfjs webgpu", `n/a (${webgpu.description})`);
          return;
        }
        try {
          await load();
          if (!(await tf!.setBackend(b))) throw new Error(`tf.setBackend("${b}") returned false`);
          await tf!.ready();
          ok.add(`tfjs ${b}`);
        } catch (e) {
          unavailable.set(`tfjs ${b}`, `n/a (${message(e)})`);
        }
      };
      // tfjs-backend-cpu warns (an advert for tfjs-node) on its first tensor in Node; take it here, quietly.
      const warn = console.warn;
      console.warn = () => {};
      try {
        await tryBackend("cpu", async () => {});
        if (ok.has("tfjs cpu")) tf.tensor1d([0]).dispose();
      } finally {
        console.warn = warn;
      }
      await tryBackend("wasm", async () => {
        const wasm = await import("@tensorflow/tfjs-backend-wasm");
        // In Node the .wasm files are read with fs: a file path to the package's dist folder.
        wasm.setWasmPaths(join(packageDir("@tensorflow/tfjs-backend-wasm"), "dist") + "/");
      });
      await tryBackend("webgpu", async () => {
        await import("@tensorflow/tfjs-backend-webgpu");
      });
    } catch (e) {
      for (const b of ["cpu", "wasm", "webgpu"] as const) if (want("tfjs", b)) unavailable.set(`tfjs ${b}`, `n/a (@tensorflow/tfjs-core did not load: ${message(e)})`);
    }
  }

  const targets: Target[] = [];
  for (const { lib, backend } of ALL_TARGETS) {
    if (!ok.has(`${lib} ${backend}`)) continue;
    const activate =
      lib === "refs"
        ? async () => {
            if (refsCore.getBackendName() !== backend) await refsCore.setBackend(backend);
          }
        : lib === "jax-js"
          ? () => {
              jax!.defaultDevice(backend as JaxModule.Device);
            }
          : async () => {
              if (tf!.getBackend() !== backend) await tf!.setBackend(backend);
            };
    targets.push({ lib, backend, activate });
  }

  const versions: Record<string, string> = {
    "@jax-js/jax": version("@jax-js/jax"),
    "@tensorflow/tfjs-core": version("@tensorflow/tfjs-core"),
    webgpu: version("webgpu"),
  };
  return { refs: refsCore, jax, tf, targets, unavailable, webgpu, versions };
}
