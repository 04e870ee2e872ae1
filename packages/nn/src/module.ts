/**
 * `Pytree` and `Module`: classes whose instances are pytrees.
 *
 * An attribute is *data* when its value is, or contains (inside plain arrays
 * and objects), an Array, Ref, Variable or Pytree; every other attribute is
 * *static* structure (numbers, strings, flags, functions). Data attributes
 * are the pytree children, in sorted key order; static attributes are aux
 * data, so changing one (e.g. `train()`/`eval()` flipping `deterministic`)
 * retraces `jit`. Since modules are pytrees, plain `jit`, `grad`, `vmap` and
 * `scan` take them.
 */
import { Array, Ref, registerPytreeNode } from "@refs/core";
import { Variable } from "./variable.js";

export class Pytree {}

/** A neural-network module: a Pytree with train/eval modes and submodule iteration. */
export class Module extends Pytree {
  /**
   * Set attributes named in `attrs` on this module and every submodule that
   * has them (Flax's `set_attributes`).
   */
  setAttributes(attrs: Record<string, unknown>): this {
    for (const [, m] of iterModules(this))
      for (const [k, v] of Object.entries(attrs)) if (Object.prototype.hasOwnProperty.call(m, k)) (m as any)[k] = v;
    return this;
  }
  /** Training mode: Dropout active, BatchNorm uses batch statistics. */
  train(): this {
    return this.setAttributes({ deterministic: false, useRunningAverage: false });
  }
  /** Evaluation mode: Dropout off, BatchNorm uses running statistics. */
  eval(): this {
    return this.setAttributes({ deterministic: true, useRunningAverage: true });
  }
  /** This module and its submodules, with their attribute paths (each shared module once). */
  *modules(): Generator<[readonly (string | number)[], Module]> {
    yield* iterModules(this);
  }
}

/** Depth-first over modules reachable through data attributes, each object once. */
export function* iterModules(root: Module): Generator<[readonly (string | number)[], Module]> {
  const seen = new Set<object>();
  function* walk(x: unknown, path: (string | number)[]): Generator<[readonly (string | number)[], Module]> {
    if (x === null || typeof x !== "object" || seen.has(x)) return;
    if (x instanceof Variable || x instanceof Array || x instanceof Ref) return;
    seen.add(x);
    if (x instanceof Module) yield [path, x];
    for (const [k, v] of entries(x)) yield* walk(v, [...path, k]);
  }
  yield* walk(root, []);
}

/** Attributes of a pytree object or container, keys sorted for objects. */
export function entries(x: object): [string | number, unknown][] {
  if (globalThis.Array.isArray(x)) return x.map((v, i) => [i, v]);
  return Object.keys(x)
    .sort()
    .map((k) => [k, (x as Record<string, unknown>)[k]]);
}

/** Whether a value holds array data (is data, not static structure). */
export function isData(v: unknown, seen = new Set<unknown>()): boolean {
  if (v instanceof Array || v instanceof Ref || v instanceof Variable || v instanceof Pytree) return true;
  if (v === null || typeof v !== "object" || seen.has(v)) return false;
  const proto = Object.getPrototypeOf(v);
  if (!globalThis.Array.isArray(v) && proto !== Object.prototype && proto !== null) return false;
  seen.add(v);
  return Object.values(v as object).some((x) => isData(x, seen));
}

interface PytreeAux {
  cls: Function;
  staticKeys: string[];
  staticVals: unknown[];
  dataKeys: string[];
  key(): string;
}

const classIds = new WeakMap<Function, number>();
let nextClassId = 0;
function classId(c: Function): number {
  let id = classIds.get(c);
  if (id === undefined) classIds.set(c, (id = nextClassId++));
  return id;
}

const objectIds = new WeakMap<object, number>();
let nextObjectId = 0;

/** Plain data (numbers, strings, arrays/objects of them) by value; anything else by identity. */
function staticKey(v: unknown): string {
  if (v === null || v === undefined || typeof v === "number" || typeof v === "string" || typeof v === "boolean") return JSON.stringify(v) ?? "undefined";
  if (typeof v === "function") return `fn#${classId(v)}`;
  if (typeof v === "object") {
    const proto = Object.getPrototypeOf(v);
    if (globalThis.Array.isArray(v)) return `[${v.map(staticKey).join(",")}]`;
    if (proto === Object.prototype || proto === null)
      return `{${Object.keys(v).sort().map((k) => `${k}:${staticKey((v as Record<string, unknown>)[k])}`).join(",")}}`;
    let id = objectIds.get(v);
    if (id === undefined) objectIds.set(v, (id = nextObjectId++));
    return `obj#${id}`;
  }
  return String(v);
}

registerPytreeNode(Pytree, {
  flatten(x) {
    const staticKeys: string[] = [];
    const staticVals: unknown[] = [];
    const children: [string, unknown][] = [];
    for (const k of Object.keys(x).sort()) {
      const v = (x as Record<string, unknown>)[k];
      if (isData(v)) children.push([k, v]);
      else {
        staticKeys.push(k);
        staticVals.push(v);
      }
    }
    const cls = x.constructor;
    const dataKeys = children.map(([k]) => k);
    const aux: PytreeAux = {
      cls,
      staticKeys,
      staticVals,
      dataKeys,
      key: () => `${cls.name}#${classId(cls)}{${staticKeys.map((k, i) => `${k}=${staticKey(staticVals[i])}`).join(",")}|${dataKeys.join(",")}}`,
    };
    return [children, aux];
  },
  unflatten(aux, children) {
    const a = aux as PytreeAux;
    const obj = Object.create(a.cls.prototype) as Record<string, unknown>;
    a.staticKeys.forEach((k, i) => (obj[k] = a.staticVals[i]));
    a.dataKeys.forEach((k, i) => (obj[k] = children[i]));
    return obj as unknown as Pytree;
  },
});
