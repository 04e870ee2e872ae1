/**
 * The program IR that backends consume: closed, pure, typed.
 *
 * `@refs/trace` builds programs (from jit, grad, scan bodies...), the eager path
 * builds one-equation programs, and every backend's `compile` takes one. Ref
 * effects never appear here: trace discharges them into explicit inputs and
 * outputs, and `aliases` says which output may reuse which input's buffer.
 */
import type { ShapedArray } from "./aval.js";
import type { Primitive, Params } from "./primitive.js";

let nextVarId = 0;

export class Var {
  readonly id = nextVarId++;
  constructor(readonly aval: ShapedArray) {}
}

/** A scalar constant inlined in a program. */
export class Literal {
  constructor(
    readonly value: number,
    readonly aval: ShapedArray,
  ) {
    if (aval.shape.length !== 0) throw new Error("Literal must be a scalar");
  }
}

export type Atom = Var | Literal;

export interface Eqn {
  readonly prim: Primitive;
  readonly params: Params;
  readonly inputs: readonly Atom[];
  readonly outputs: readonly Var[];
}

/** Output `output` may be written into the buffer of input `input` (a ref's new value). */
export interface Alias {
  readonly input: number;
  readonly output: number;
}

export interface Program {
  readonly inputs: readonly Var[];
  readonly eqns: readonly Eqn[];
  readonly outputs: readonly Atom[];
  readonly aliases: readonly Alias[];
  /** For messages and lowering text. */
  readonly name?: string;
}

export function makeProgram(
  inputs: readonly Var[],
  eqns: readonly Eqn[],
  outputs: readonly Atom[],
  aliases: readonly Alias[] = [],
  name?: string,
): Program {
  return name === undefined ? { inputs, eqns, outputs, aliases } : { inputs, eqns, outputs, aliases, name };
}

const programIds = new WeakMap<Program, number>();
let nextProgramId = 0;
/** A stable identity for a program object, used in cache keys of programs that nest it. */
export function programId(p: Program): number {
  let id = programIds.get(p);
  if (id === undefined) programIds.set(p, (id = nextProgramId++));
  return id;
}

/** Readable text of a program, jaxpr style. Variables are renamed a, b, c... in order. */
export function programToString(p: Program, indent = ""): string {
  const names = new Map<Var, string>();
  const name = (a: Atom): string => {
    if (a instanceof Literal) return `${a.value}:${a.aval.dtype}`;
    let n = names.get(a);
    if (n === undefined) names.set(a, (n = varName(names.size)));
    return n;
  };
  const decl = (v: Var) => `${name(v)}:${v.aval.str()}`;
  const lines: string[] = [];
  lines.push(`${indent}{ lambda ; ${p.inputs.map(decl).join(" ")}. let`);
  for (const e of p.eqns) {
    const params = Object.entries(e.params)
      .map(([k, v]) => `${k}=${paramToString(v, indent + "    ")}`)
      .join(" ");
    lines.push(
      `${indent}    ${e.outputs.map(decl).join(" ")} = ${e.prim.name}${params ? `[${params}]` : ""} ${e.inputs.map(name).join(" ")}`,
    );
  }
  lines.push(`${indent}  in (${p.outputs.map(name).join(", ")}) }`);
  return lines.join("\n");
}

function varName(i: number): string {
  let s = "";
  do {
    s = String.fromCharCode(97 + (i % 26)) + s;
    i = Math.floor(i / 26) - 1;
  } while (i >= 0);
  return s;
}

function paramToString(v: unknown, indent: string): string {
  if (isProgram(v)) return "\n" + programToString(v, indent);
  if (Array.isArray(v)) return `(${v.map((x) => paramToString(x, indent)).join(", ")})`;
  return String(v);
}

export function isProgram(v: unknown): v is Program {
  return typeof v === "object" && v !== null && "eqns" in v && "inputs" in v && "outputs" in v;
}
