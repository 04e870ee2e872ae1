/**
 * Primitives: the operations every value-level op reduces to.
 *
 * A primitive is defined once, here in core, with its shape/dtype rule. Other
 * packages attach their own rules to the same object (`@refs/trace`: jvp,
 * transpose, batching, lowering) through `rules`, so adding a primitive is one
 * definition plus one rule per interpreter, never a scattered edit. Backends
 * implement primitives by name.
 */
import type { Aval } from "./aval.js";
import { isProgram, programId } from "./program.js";

export type ParamValue =
  | number
  | string
  | boolean
  | null
  | undefined
  | readonly ParamValue[]
  | { readonly [k: string]: ParamValue }
  | import("./program.js").Program<import("./aval.js").Aval>;

export type Params = { readonly [k: string]: ParamValue };

export interface PrimitiveSpec<P extends Params> {
  /** Output avals from input avals; throws a message naming the primitive on bad input. */
  abstractEval(avals: readonly Aval[], params: P): Aval[];
  /** Elementwise primitives fuse with each other in every backend's planner. */
  elementwise?: boolean;
  /** Primitives with effects on refs (get/swap/addupdate): trace discharges them. */
  effectful?: boolean;
}

export class Primitive<P extends Params = Params> {
  /** Interpreter rules registered by other packages, keyed by rule kind ("jvp", "transpose", ...). */
  readonly rules = new Map<string, unknown>();
  constructor(
    readonly name: string,
    readonly spec: PrimitiveSpec<P>,
  ) {}
  get elementwise(): boolean {
    return this.spec.elementwise === true;
  }
  abstractEval(avals: readonly Aval[], params: P): Aval[] {
    return this.spec.abstractEval(avals, params);
  }
  toString(): string {
    return this.name;
  }
}

const registry = new Map<string, Primitive<any>>();

/** Define a primitive. Names are global; defining one twice is an error. */
export function definePrimitive<P extends Params = Params>(
  name: string,
  spec: PrimitiveSpec<P>,
): Primitive<P> {
  if (registry.has(name)) throw new Error(`primitive ${name} is already defined`);
  const p = new Primitive<P>(name, spec);
  registry.set(name, p);
  return p;
}

export function getPrimitive(name: string): Primitive | undefined {
  return registry.get(name);
}

export function allPrimitives(): Primitive[] {
  return [...registry.values()];
}

/** A string that identifies params for caching; nested programs by identity. */
export function paramsKey(params: Params): string {
  let s = "";
  // Fast path (eager ops): no nested programs, so JSON is a faithful key.
  let plain = true;
  for (const k in params) if (containsProgram(params[k])) plain = false;
  if (plain) return JSON.stringify(params);
  for (const k of Object.keys(params).sort()) s += `${k}=${paramValueKey(params[k])};`;
  return s;
}

function containsProgram(v: ParamValue): boolean {
  if (v === null || typeof v !== "object") return false;
  if (isProgram(v)) return true;
  if (globalThis.Array.isArray(v)) return v.some(containsProgram);
  for (const k in v) if (containsProgram((v as Params)[k])) return true;
  return false;
}

function paramValueKey(v: ParamValue): string {
  if (v === null || v === undefined || typeof v !== "object") return String(v);
  if (isProgram(v)) return `#program${programId(v)}`;
  if (Array.isArray(v)) return `[${v.map(paramValueKey).join(",")}]`;
  return `{${paramsKey(v as Params)}}`;
}
