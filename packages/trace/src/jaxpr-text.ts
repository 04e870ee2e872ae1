/**
 * `makeJaxpr(fn)(...args)`: the staged program of `fn`, ref effects included
 * (before discharge), printed in JAX's jaxpr style:
 *
 * ```
 * { lambda ; a:Ref{int32[3]}. let
 *     b:i32[3] <- a[...]
 *     c:i32[3] = broadcast_in_dim[broadcast_dimensions=() shape=(3,)] 1:i32[]
 *     d:i32[3] = add b c
 *     a[...] <- d
 *   in () }
 * ```
 *
 * Reads print as `b <- a[idx]`, writes as `a[idx] <- v` (or `e, a[idx] <- a[idx], v`
 * when the old value is used), accumulation as `a[idx] += v`; sub-programs
 * of scan/cond/while/jit_call print indented inside their equation's params.
 * Variables are named a, b, c... across nested programs, as JAX does.
 */
import { Literal, RefType, isProgram, type Atom, type Aval, type DType, type Indexer, type Program, type Var } from "@refs/core";
import { fnInfo, transformSite } from "./errors.js";
import { flattenArgs, stageCall } from "./jit.js";
import type { Jaxpr } from "./staging.js";

export interface MakeJaxprOptions {
  /** Positions of static arguments (passed through to the function, not traced). */
  staticArgnums?: number | readonly number[];
  /** Allow the function to return refs. */
  allowRefOutputs?: boolean;
}

export interface ClosedJaxpr {
  /** The staged program: constants first (`consts.length` inputs), then the arguments. */
  readonly jaxpr: Jaxpr;
  /** Values of the constant inputs (closed-over arrays and refs). */
  readonly consts: readonly unknown[];
  toString(): string;
}

export function makeJaxpr<F extends (...args: any[]) => any>(
  fn: F,
  opts: MakeJaxprOptions = {},
): (...args: Parameters<F>) => ClosedJaxpr {
  const info = fnInfo(fn, transformSite());
  const statics = new Set(typeof opts.staticArgnums === "number" ? [opts.staticArgnums] : (opts.staticArgnums ?? []));
  return (...args: unknown[]): ClosedJaxpr => {
    const flat = flattenArgs(info, args, statics, "makeJaxpr");
    const { staged } = stageCall(fn, info, flat, { allowRefOutputs: opts.allowRefOutputs ?? false }, "makeJaxpr");
    const text = jaxprToString(staged.jaxpr, staged.consts.length);
    return { jaxpr: staged.jaxpr, consts: staged.consts, toString: () => text };
  };
}

const SHORT: Record<DType, string> = { float32: "f32", float16: "f16", int32: "i32", uint32: "u32", bool: "bool" };

function avalText(a: Aval): string {
  if (a instanceof RefType) return `Ref{${a.inner.str()}}`;
  return `${SHORT[a.dtype]}[${a.shape.join(",")}]`;
}

function varName(i: number): string {
  let s = "";
  do {
    s = String.fromCharCode(97 + (i % 26)) + s;
    i = Math.floor(i / 26) - 1;
  } while (i >= 0);
  return s;
}

class Printer {
  private readonly names = new Map<Var<Aval>, string>();

  name(a: Atom<Aval>): string {
    if (a instanceof Literal) {
      const v = a.aval.dtype === "bool" ? (a.value ? "True" : "False") : String(a.value);
      return `${v}:${avalText(a.aval)}`;
    }
    let n = this.names.get(a);
    if (n === undefined) this.names.set(a, (n = varName(this.names.size)));
    return n;
  }
  decl(v: Var<Aval>): string {
    return `${this.name(v)}:${avalText(v.aval)}`;
  }

  program(p: Program<Aval>, numConsts: number, indent: string): string {
    const consts = p.inputs.slice(0, numConsts).map((v) => this.decl(v));
    const args = p.inputs.slice(numConsts).map((v) => this.decl(v));
    const head = `{ lambda ${consts.join(" ")}; ${args.join(" ")}. let`;
    const used = usedVars(p);
    const lines = [head];
    for (const e of p.eqns) lines.push(...this.eqn(e, used, indent + "    ").map((l) => `${indent}    ${l}`));
    const outs = p.outputs.map((o) => this.name(o));
    lines.push(`${indent}  in (${outs.join(", ")}${outs.length === 1 ? "," : ""}) }`);
    return lines.join("\n");
  }

  private eqn(e: Program<Aval>["eqns"][number], used: ReadonlySet<Var<Aval>>, indent: string): string[] {
    const ins = e.inputs;
    const name = e.prim.name;
    if (name === "ref_get" || name === "ref_swap" || name === "ref_addupdate") {
      const nIdx = name === "ref_get" ? 1 : 2;
      const where = `${this.name(ins[0]!)}${this.indexer(e.params["indexer"] as unknown as Indexer, ins.slice(nIdx), ins[0]!.aval.shape)}`;
      if (name === "ref_get") return [`${this.decl(e.outputs[0]!)} <- ${where}`];
      if (name === "ref_addupdate") return [`${where} += ${this.name(ins[1]!)}`];
      if (!used.has(e.outputs[0]!)) return [`${where} <- ${this.name(ins[1]!)}`];
      return [`${this.decl(e.outputs[0]!)}, ${where} <- ${where}, ${this.name(ins[1]!)}`];
    }
    const outs = e.outputs.map((v) => this.decl(v)).join(" ");
    const args = ins.map((a) => this.name(a)).join(" ");
    const entries = Object.entries(e.params)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => snake(a).localeCompare(snake(b)));
    const nested = entries.some(([, v]) => isProgram(v) || (Array.isArray(v) && v.some(isProgram)));
    const lhs = outs ? `${outs} = ` : "";
    if (!entries.length) return [`${lhs}${name} ${args}`.trimEnd()];
    if (!nested) {
      const ps = entries.map(([k, v]) => `${snake(k)}=${this.param(v, indent)}`).join(" ");
      return [`${lhs}${name}[${ps}] ${args}`.trimEnd()];
    }
    // Sub-programs: one param a line, JAX style.
    const lines = [`${lhs}${name}[`];
    for (const [k, v] of entries) lines.push(`  ${snake(k)}=${this.param(v, indent + "  ")}`);
    lines.push(`] ${args}`.trimEnd());
    return lines;
  }

  private param(v: unknown, indent: string): string {
    if (isProgram(v)) return this.program(v, 0, indent);
    if (Array.isArray(v)) {
      if (v.some(isProgram)) return `(\n${v.map((x) => `${indent}    ${this.param(x, indent + "  ")}`).join("\n")}\n${indent}  )`;
      return `(${v.map((x) => this.param(x, indent)).join(", ")}${v.length === 1 ? "," : ""})`;
    }
    if (typeof v === "boolean") return v ? "True" : "False";
    if (v === null) return "None";
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  }

  /** `[...]` for the whole ref, else numpy-style items (`[1:3, 0]`, `[:, b]`). */
  private indexer(ix: Indexer | undefined, idx: readonly Atom<Aval>[], shape: readonly number[]): string {
    const items = ix?.items ?? [];
    const whole = items.every((it, k) => it.t === "slice" && it.start === 0 && it.step === 1 && it.stop === shape[k]);
    if (whole) return "[...]";
    let k = -1;
    const parts = items.map((it) => {
      if (it.t !== "new") k++;
      const dim = shape[k];
      switch (it.t) {
        case "int":
          return String(it.i);
        case "new":
          return "None";
        case "arr":
          return idx[it.k] ? this.name(idx[it.k]!) : "?";
        case "slice":
          return `${it.start === 0 ? "" : it.start}:${it.stop === dim ? "" : it.stop}${it.step === 1 ? "" : `:${it.step}`}`;
      }
    });
    return `[${parts.join(", ")}]`;
  }
}

function snake(k: string): string {
  return k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function usedVars(p: Program<Aval>): Set<Var<Aval>> {
  const s = new Set<Var<Aval>>();
  for (const e of p.eqns) for (const a of e.inputs) if (!(a instanceof Literal)) s.add(a);
  for (const a of p.outputs) if (!(a instanceof Literal)) s.add(a);
  return s;
}

/** Jaxpr text of a program; the first `numConsts` inputs print as constants (before the `;`). */
export function jaxprToString(p: Program<Aval>, numConsts = 0): string {
  return new Printer().program(p, numConsts, "");
}
