/**
 * Flax-style printing of Variables, Pytrees/Modules and States:
 *
 *   Linear( # Param: 6 (24 B)
 *     bias=Param( # 3 (12 B)
 *       value=ArrayRef(shape=(3,), dtype=dtype('float32'))
 *     ),
 *     ...
 *
 * Headers count the elements and bytes of each Variable kind in the subtree
 * (shared Variables once), sized like Flax: `1,234 (4.9 KB)`.
 */
import { Array, Ref, formatRepr, formatShapeDtype, type Shape } from "@refs/core";
import { Pytree, entries } from "./module.js";
import { State } from "./graph.js";
import { Variable } from "./variable.js";

const INSPECT = Symbol.for("nodejs.util.inspect.custom");

function fmtInt(n: number): string {
  return n.toLocaleString("en-US");
}

/** Flax's `_bytes_repr`. */
export function bytesRepr(n: number): string {
  const one = (x: number) => x.toLocaleString("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  if (n > 1e9) return `${one(n / 1e9)} GB`;
  if (n > 1e6) return `${one(n / 1e6)} MB`;
  if (n > 1e3) return `${one(n / 1e3)} KB`;
  return `${fmtInt(n)} B`;
}

function itemBytes(dtype: string): number {
  return dtype === "bool" ? 1 : dtype === "float16" ? 2 : 4;
}

function sizeRepr(count: number, bytes: number): string {
  return `${fmtInt(count)} (${bytesRepr(bytes)})`;
}

function typeName(v: Variable): string {
  return (v.constructor as typeof Variable).typeName;
}

/** Per-kind element and byte counts of the Variables reachable from x, each once. */
function summarize(x: unknown): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  const seen = new Set<unknown>();
  const walk = (y: unknown) => {
    if (y === null || typeof y !== "object" || seen.has(y)) return;
    seen.add(y);
    if (y instanceof Variable) {
      const key: unknown = y.raw instanceof Ref ? y.raw : y;
      if (key !== y) {
        if (seen.has(key)) return;
        seen.add(key);
      }
      const t = typeName(y);
      const prev = out.get(t) ?? [0, 0];
      out.set(t, [prev[0] + y.size, prev[1] + y.size * itemBytes(y.dtype)]);
      return;
    }
    if (y instanceof Array || y instanceof Ref) return;
    for (const [, v] of entries(y as object)) walk(v);
  };
  walk(x);
  return out;
}

function header(x: unknown): string {
  const s = summarize(x);
  if (s.size === 0) return "";
  const parts = [...s.entries()].map(([t, [c, b]]) => `${t}: ${sizeRepr(c, b)}`);
  if (s.size > 1) {
    let c = 0,
      b = 0;
    for (const [cc, bb] of s.values()) (c += cc), (b += bb);
    parts.push(`Total: ${sizeRepr(c, b)}`);
  }
  return ` # ${parts.join(", ")}`;
}

function valueRepr(raw: Ref | Array, full: boolean): string {
  const prefix = raw instanceof Ref ? "ArrayRef" : "Array";
  if (full && raw.isConcrete) {
    const v = raw instanceof Ref ? raw.get() : raw;
    return formatRepr(prefix, v.dataSync(), v.shape, v.dtype, v.weakType);
  }
  return formatShapeDtype(prefix, raw.shape as Shape, raw.dtype);
}

function indentLines(s: string, pad: string): string {
  return s.split("\n").join("\n" + pad);
}

function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "string") return `'${v}'`;
  if (typeof v === "function") return `<function ${v.name || "<lambda>"}>`;
  if (globalThis.Array.isArray(v)) return `[${v.map(pyRepr).join(", ")}]`;
  if (typeof v === "object") return String(v);
  return String(v);
}

function variableRepr(v: Variable, standalone: boolean): string {
  const full = standalone ? v.size <= 10 : v.size <= 1;
  const size = `${sizeRepr(v.size, v.size * itemBytes(v.dtype))}`;
  return `${v.constructor.name}( # ${size}\n  value=${indentLines(valueRepr(v.raw, full), "  ")}\n)`;
}

function nodeRepr(x: unknown, standalone: boolean): string {
  if (x instanceof Variable) return variableRepr(x, standalone);
  if (x instanceof State) return stateRepr(x);
  if (x instanceof Pytree) {
    const attrs = entries(x).map(([k, v]) => `${k}=${indentLines(nodeRepr(v, false), "  ")}`);
    if (attrs.length === 0) return `${x.constructor.name}()`;
    return `${x.constructor.name}(${header(x)}\n  ${attrs.join(",\n  ")}\n)`;
  }
  if (x instanceof Array || x instanceof Ref) return valueRepr(x, standalone || x.size <= 1);
  if (globalThis.Array.isArray(x)) {
    if (x.length === 0) return "[]";
    return `[\n  ${x.map((v) => indentLines(nodeRepr(v, false), "  ")).join(",\n  ")}\n]`;
  }
  if (x !== null && typeof x === "object" && Object.getPrototypeOf(x) === Object.prototype) {
    const ks = Object.keys(x).sort();
    if (ks.length === 0) return "{}";
    return `{\n  ${ks.map((k) => `'${k}': ${indentLines(nodeRepr((x as Record<string, unknown>)[k], false), "  ")}`).join(",\n  ")}\n}`;
  }
  return pyRepr(x);
}

function stateRepr(s: State): string {
  const ks = Object.keys(s).sort();
  const body = ks.map((k) => `'${k}': ${indentLines(nodeRepr(s[k], false), "  ")}`).join(",\n  ");
  return ks.length ? `State({\n  ${body}\n})` : "State({})";
}

/** Flax's repr of a module, Variable, State or container. */
export function nnRepr(x: unknown): string {
  return nodeRepr(x, true);
}

for (const cls of [Variable, Pytree, State] as Function[]) {
  Object.defineProperty(cls.prototype, "toString", {
    value: function (this: unknown) {
      return nnRepr(this);
    },
    writable: true,
    configurable: true,
  });
  Object.defineProperty(cls.prototype, INSPECT, {
    value: function (this: unknown) {
      return nnRepr(this);
    },
    writable: true,
    configurable: true,
  });
}
