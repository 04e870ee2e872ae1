/**
 * `nn.jit` and `nn.vmap`: the @refs/trace transforms, extended for modules.
 *
 * - `jit` also lets the function return refs it created (they come back as
 *   fresh refs; refs passed in come back as the same, updated objects), so a
 *   jitted constructor can build a module under `useRefs(true)`.
 * - `vmap` batches module construction: Variables created inside come back
 *   with a leading batch axis (`nn.vmap(rngs => new Block(..., {rngs}))(
 *   new Rngs(0).fork({split: 8}))`), holding refs if they were made with refs.
 */
import { tree, type Array } from "@refs/core";
import { jit as traceJit, vmap as traceVmap, type JitOptions } from "@refs/trace";
import { merge, split, stateItems, toArrays, toRefs, type Path } from "./graph.js";
import { usingRefs } from "./refs-mode.js";
import { Variable } from "./variable.js";

export function jit<F extends (...args: any[]) => any>(fn: F, opts: Omit<JitOptions, "allowRefOutputs"> = {}): (...args: Parameters<F>) => ReturnType<F> {
  // Whether Variables get refs is decided while tracing, so it is part of the cache key.
  const withRefs = traceJit(fn, { ...opts, allowRefOutputs: true });
  const withoutRefs = traceJit(fn, { ...opts, allowRefOutputs: true });
  const call = (...args: Parameters<F>) => (usingRefs() ? withRefs : withoutRefs)(...args);
  Object.defineProperty(call, "name", { value: fn.name });
  return call as (...args: Parameters<F>) => ReturnType<F>;
}

export interface VmapOptions {
  inAxes?: unknown;
  outAxes?: unknown;
  axisSize?: number;
}

/** Batch a function that may build and return modules. */
export function vmap<F extends (...args: any[]) => any>(fn: F, opts: VmapOptions = {}): (...args: Parameters<F>) => ReturnType<F> {
  return (...args: Parameters<F>) => {
    let gd: ReturnType<typeof split>[0] | undefined;
    let refPaths: string[] = [];
    const inner = (...a: unknown[]) => {
      const out = fn(...a);
      const [g, st] = split(out);
      gd = g;
      refPaths = stateItems(st)
        .filter(({ value }) => value instanceof Variable && value.hasRef)
        .map(({ path }) => key(path));
      return toArrays(st);
    };
    const batched = traceVmap(inner, opts as never)(...args);
    const out = merge(gd!, batched as never);
    if (refPaths.length === 0) return out as ReturnType<F>;
    return toRefs(out, { only: (path: Path) => refPaths.includes(key(path)) }) as ReturnType<F>;
  };
}

const key = (p: Path) => p.map(String).join("/");

void tree;
export type { Array };
