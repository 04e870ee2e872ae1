/**
 * The program IR that backends consume: closed, pure, typed.
 *
 * `@refs/trace` builds programs (from jit, grad, scan bodies...), the eager path
 * builds one-equation programs, and every backend's `compile` takes one. Ref
 * effects never appear here: trace discharges them into explicit inputs and
 * outputs, and `aliases` says which output may reuse which input's buffer.
 */
import type { Aval, ShapedArray } from "./aval.js";
import type { Primitive, Params } from "./primitive.js";

let nextVarId = 0;

/**
 * A program variable. Backends only see `Var<ShapedArray>`; before discharge,
 * trace's programs may also have Ref-typed variables (`Var<Aval>`).
 */
export class Var<A extends Aval = ShapedArray> {
  readonly id = nextVarId++;
  constructor(readonly aval: A) {}
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

export type Atom<A extends Aval = ShapedArray> = Var<A> | Literal;

export interface Eqn<A extends Aval = ShapedArray> {
  readonly prim: Primitive;
  readonly params: Params;
  readonly inputs: readonly Atom<A>[];
  readonly outputs: readonly Var<A>[];
}

/** Output `output` may be written into the buffer of input `input` (a ref's new value). */
export interface Alias {
  readonly input: number;
  readonly output: number;
}

export interface Program<A extends Aval = ShapedArray> {
  readonly inputs: readonly Var<A>[];
  readonly eqns: readonly Eqn<A>[];
  readonly outputs: readonly Atom<A>[];
  readonly aliases: readonly Alias[];
  /** For messages and lowering text. */
  readonly name?: string;
}

export function makeProgram<A extends Aval = ShapedArray>(
  inputs: readonly Var<A>[],
  eqns: readonly Eqn<A>[],
  outputs: readonly Atom<A>[],
  aliases: readonly Alias[] = [],
  name?: string,
): Program<A> {
  return name === undefined ? { inputs, eqns, outputs, aliases } : { inputs, eqns, outputs, aliases, name };
}

const programIds = new WeakMap<object, number>();
let nextProgramId = 0;
/** A stable identity for a program object, used in cache keys of programs that nest it. */
export function programId(p: Program<Aval>): number {
  let id = programIds.get(p);
  if (id === undefined) programIds.set(p, (id = nextProgramId++));
  return id;
}

/** Readable text of a program, jaxpr style. Variables are renamed a, b, c... in order. */
export function programToString(p: Program<Aval>, indent = ""): string {
  const names = new Map<Var<Aval>, string>();
  const name = (a: Atom<Aval>): string => {
    if (a instanceof Literal) return `${a.value}:${a.aval.dtype}`;
    let n = names.get(a);
    if (n === undefined) names.set(a, (n = varName(names.size)));
    return n;
  };
  const decl = (v: Var<Aval>) => `${name(v)}:${v.aval.str()}`;
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

export function isProgram(v: unknown): v is Program<Aval> {
  return typeof v === "object" && v !== null && "eqns" in v && "inputs" in v && "outputs" in v;
}
