/**
 * Graph operations: a module is an object *graph* (submodules and Variables
 * may be shared), and these functions move between that graph and flat,
 * deduplicated state.
 *
 * - `split(node, ...filters)` → `[graphdef, ...states]`: the static structure
 *   (classes, static attributes, which paths share an object) and one `State`
 *   per filter holding the Variables (the same Variable objects, so refs stay
 *   shared). A shared object appears once, at its first path in sorted order.
 * - `merge(graphdef, ...states)` rebuilds the graph, restoring the sharing.
 * - `state`, `update`, `graphdef`; `toRefs`/`toArrays` convert Variables;
 *   `findDuplicates` lists the paths that reach the same object.
 *
 * Filters: a Variable class (instanceof), `"..."` (everything), a predicate
 * `(path, value) => boolean`, or an array of filters (any of them).
 */
import { Array, Ref, freeze, newRef, registerPytreeNode, tree } from "@refs/core";
import { Pytree, entries } from "./module.js";
import { Variable } from "./variable.js";

export type Path = readonly (string | number)[];
export type Filter = (abstract new (...a: any[]) => Variable) | "..." | ((path: Path, value: unknown) => boolean) | readonly Filter[];

/** Flat, deduplicated state: nested objects of Variables (and raw Arrays), printed like Flax's State. */
export class State {
  [key: string]: unknown;
  constructor(entries: Record<string, unknown> = {}) {
    for (const k of Object.keys(entries).sort()) this[k] = entries[k];
  }
}

registerPytreeNode(State, {
  flatten: (s) => {
    const keys = Object.keys(s).sort();
    return [keys.map((k) => [k, s[k]] as [string, unknown]), { keys, key: () => keys.join(",") }];
  },
  unflatten: (aux, children) => {
    const { keys } = aux as { keys: string[] };
    const out = new State();
    keys.forEach((k, i) => (out[k] = children[i]));
    return out;
  },
});

// ---- node definitions ------------------------------------------------------------

type ChildDef = NodeDef | VarDef | ArrayDef | BackDef | StaticDef;

interface NodeDef {
  readonly kind: "node";
  readonly index: number;
  /** A Pytree class, or "array"/"object"/"state" for containers. */
  readonly type: Function | "array" | "object" | "state";
  readonly statics: readonly (readonly [string, unknown])[];
  readonly children: readonly (readonly [string | number, ChildDef])[];
}
interface VarDef {
  readonly kind: "var";
  readonly index: number;
  readonly cls: typeof Variable;
}
interface ArrayDef {
  readonly kind: "array";
}
interface BackDef {
  readonly kind: "back";
  readonly index: number;
}
interface StaticDef {
  readonly kind: "static";
  readonly value: unknown;
}

/** The static structure of a graph: what `merge` needs besides the state. */
export class GraphDef {
  constructor(readonly root: ChildDef) {}
  /** Cache key for jit: structure, classes and static attributes. */
  key(): string {
    return defKey(this.root);
  }
  toString(): string {
    return `GraphDef(${this.key()})`;
  }
}

registerPytreeNode(GraphDef, {
  flatten: (g) => [[], g],
  unflatten: (aux) => aux as GraphDef,
});

const ids = new WeakMap<Function, number>();
let nextId = 0;
const fnId = (f: Function) => {
  let i = ids.get(f);
  if (i === undefined) ids.set(f, (i = nextId++));
  return `${f.name}#${i}`;
};

function defKey(d: ChildDef): string {
  switch (d.kind) {
    case "var":
      return `V${d.index}:${fnId(d.cls)}`;
    case "array":
      return "A";
    case "back":
      return `@${d.index}`;
    case "static":
      return `S${safeJson(d.value)}`;
    case "node":
      return `N${d.index}:${typeof d.type === "string" ? d.type : fnId(d.type)}{${d.statics.map(([k, v]) => `${k}=${safeJson(v)}`).join(",")}|${d.children.map(([k, c]) => `${k}:${defKey(c)}`).join(",")}}`;
  }
}

function safeJson(v: unknown): string {
  if (typeof v === "function") return fnId(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

// ---- traversal ------------------------------------------------------------------

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== "object") return false;
  const p = Object.getPrototypeOf(x);
  return p === Object.prototype || p === null;
}

function isGraphNode(x: unknown): boolean {
  return x instanceof Pytree || x instanceof State || globalThis.Array.isArray(x) || isPlainObject(x);
}

function holdsData(x: unknown, seen = new Set<unknown>()): boolean {
  if (x instanceof Variable || x instanceof Array || x instanceof Ref || x instanceof Pytree || x instanceof State) return true;
  if (!isGraphNode(x) || seen.has(x)) return false;
  seen.add(x);
  return entries(x as object).some(([, v]) => holdsData(v, seen));
}

interface Flat {
  def: ChildDef;
  /** First-occurrence leaves (Variables and raw Arrays) with their paths. */
  leaves: { path: Path; value: Variable | Array }[];
  /** Groups of paths that reach the same object (first path first). */
  duplicates: Path[][];
}

function flattenGraph(root: unknown): Flat {
  const index = new Map<object, number>();
  const firstPath = new Map<object, Path>();
  const dupGroups = new Map<object, Path[]>();
  const leaves: Flat["leaves"] = [];
  let next = 0;
  const seen = (obj: object, path: Path): BackDef | null => {
    const i = index.get(obj);
    if (i === undefined) return null;
    let g = dupGroups.get(obj);
    if (!g) dupGroups.set(obj, (g = [firstPath.get(obj)!]));
    g.push(path);
    return { kind: "back", index: i };
  };
  const visit = (x: unknown, path: Path): ChildDef => {
    if (x instanceof Variable) {
      // Two Variables sharing one Ref are the same state too.
      const key: object = x.raw instanceof Ref ? x.raw : x;
      const back = seen(x, path) ?? seen(key, path);
      if (back) return back;
      const i = next++;
      index.set(x, i);
      firstPath.set(x, path);
      if (key !== x) {
        index.set(key, i);
        firstPath.set(key, path);
      }
      leaves.push({ path, value: x });
      return { kind: "var", index: i, cls: x.constructor as typeof Variable };
    }
    if (x instanceof Array) {
      leaves.push({ path, value: x });
      return { kind: "array" };
    }
    if (x instanceof Ref) throw new TypeError(`graph: a bare Ref at ${pathStr(path)}; wrap it in a Variable`);
    if (isGraphNode(x) && (x instanceof Pytree || x instanceof State || holdsData(x))) {
      const obj = x as object;
      const back = seen(obj, path);
      if (back) return back;
      const i = next++;
      index.set(obj, i);
      firstPath.set(obj, path);
      const type: NodeDef["type"] = x instanceof State ? "state" : globalThis.Array.isArray(x) ? "array" : x instanceof Pytree ? x.constructor : "object";
      const statics: [string, unknown][] = [];
      const children: [string | number, ChildDef][] = [];
      for (const [k, v] of entries(obj)) {
        if (type === "array" || holdsData(v)) children.push([k, visit(v, [...path, k])]);
        else statics.push([k as string, v]);
      }
      return { kind: "node", index: i, type, statics, children };
    }
    return { kind: "static", value: x };
  };
  const def = visit(root, []);
  return { def, leaves, duplicates: [...dupGroups.values()] };
}

export function pathStr(path: Path): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("") || "<root>";
}

// ---- filters --------------------------------------------------------------------

function isVariableClass(f: unknown): f is typeof Variable {
  return typeof f === "function" && (f === Variable || f.prototype instanceof Variable);
}

export function filterPredicate(f: Filter): (path: Path, value: unknown) => boolean {
  if (f === "...") return () => true;
  if (globalThis.Array.isArray(f)) {
    const ps = (f as readonly Filter[]).map(filterPredicate);
    return (p, v) => ps.some((q) => q(p, v));
  }
  if (isVariableClass(f)) return (_p, v) => v instanceof f;
  if (typeof f === "function") return f as (path: Path, value: unknown) => boolean;
  throw new TypeError(`invalid filter ${String(f)}: use a Variable class, "...", a predicate (path, value) => boolean, or an array of filters`);
}

function filterName(f: Filter): string {
  if (f === "...") return "...";
  if (globalThis.Array.isArray(f)) return `[${(f as Filter[]).map(filterName).join(", ")}]`;
  return typeof f === "function" ? f.name || "<predicate>" : String(f);
}

// ---- State building ----------------------------------------------------------------

function setPath(root: Record<string, unknown>, path: Path, value: unknown): void {
  let cur = root;
  path.forEach((k, i) => {
    const key = String(k);
    if (i === path.length - 1) cur[key] = value;
    else {
      if (!(cur[key] instanceof State)) cur[key] = new State();
      cur = cur[key] as Record<string, unknown>;
    }
  });
}

function buildState(items: { path: Path; value: unknown }[]): State {
  const s = new State();
  for (const { path, value } of items) {
    if (path.length === 0) throw new TypeError("split: the root itself is a Variable; split its container instead");
    setPath(s, path, value);
  }
  return sortState(s);
}

function sortState(s: State): State {
  const out = new State();
  for (const k of Object.keys(s).sort()) out[k] = s[k] instanceof State ? sortState(s[k] as State) : s[k];
  return out;
}

/** Every leaf of a State with its path. */
export function stateItems(s: State, prefix: Path = []): { path: Path; value: Variable | Array }[] {
  const out: { path: Path; value: Variable | Array }[] = [];
  for (const k of Object.keys(s).sort()) {
    const v = s[k];
    const p = [...prefix, /^\d+$/.test(k) ? Number(k) : k];
    if (v instanceof State) out.push(...stateItems(v, p));
    else out.push({ path: p, value: v as Variable | Array });
  }
  return out;
}

// ---- the public graph ops -------------------------------------------------------------

/** `[graphdef, ...states]`: one State per filter (everything in one State when no filters are given). */
export function split(node: unknown, ...filters: Filter[]): [GraphDef, ...State[]] {
  const flat = flattenGraph(node);
  const gd = new GraphDef(flat.def);
  if (filters.length === 0) return [gd, buildState(flat.leaves)];
  filters.forEach((f, i) => {
    if (f === "..." && i !== filters.length - 1)
      throw new TypeError(`\`...\` can only be used as the last filter, got ${filters.map(filterName).join(", ")}: \`...\` at index ${i}`);
  });
  const preds = filters.map(filterPredicate);
  const buckets: { path: Path; value: unknown }[][] = filters.map(() => []);
  const rest: { path: Path; value: unknown }[] = [];
  for (const leaf of flat.leaves) {
    const k = preds.findIndex((p) => p(leaf.path, leaf.value));
    (k >= 0 ? buckets[k]! : rest).push(leaf);
  }
  if (rest.length) {
    throw new TypeError(`Non-exhaustive filters, got a non-empty remainder: ${rest.map((r) => `${pathStr(r.path)} (${(r.value as object).constructor.name})`).join(", ")}. Add a filter for them, or end the filters with "..."`);
  }
  return [gd, ...buckets.map(buildState)];
}

/** The graph's State, or the part a filter selects (one State per filter when several are given). */
export function state(node: unknown, ...filters: Filter[]): State;
export function state(node: unknown, ...filters: Filter[]): State | State[] {
  // Unlike split, state selects: whatever no filter matches is left out.
  const needsRest = filters.length > 0 && filters[filters.length - 1] !== "...";
  const [, ...states] = split(node, ...filters, ...(needsRest ? ["..." as const] : []));
  if (needsRest) states.pop();
  return states.length === 1 ? states[0]! : (states as never);
}

export function graphdef(node: unknown): GraphDef {
  return split(node)[0];
}

/** Rebuild a graph from its graphdef and states (the states' Variables are placed into it, sharing restored). */
export function merge<T = any>(gd: GraphDef, ...states: State[]): T {
  const byPath = new Map<string, Variable | Array>();
  for (const s of states) for (const { path, value } of stateItems(s)) byPath.set(pathKey(path), value);
  const built = new Map<number, unknown>();
  const used = new Set<string>();
  const build = (d: ChildDef, path: Path): unknown => {
    switch (d.kind) {
      case "static":
        return d.value;
      case "back":
        return built.get(d.index);
      case "array":
      case "var": {
        const k = pathKey(path);
        const v = byPath.get(k);
        if (v === undefined) throw new TypeError(`merge: no state for ${pathStr(path)}; pass every State that split produced`);
        used.add(k);
        if (d.kind === "var" && !(v instanceof Variable)) throw new TypeError(`merge: expected a Variable at ${pathStr(path)}, got ${describe(v)}`);
        if (d.kind === "var") built.set(d.index, v);
        return v;
      }
      case "node": {
        let obj: Record<string | number, unknown>;
        if (d.type === "array") obj = [] as unknown as Record<number, unknown>;
        else if (d.type === "object") obj = {};
        else if (d.type === "state") obj = new State();
        else obj = Object.create((d.type as Function).prototype);
        built.set(d.index, obj);
        for (const [k, v] of d.statics) obj[k] = v;
        for (const [k, c] of d.children) obj[k] = build(c, [...path, k]);
        return obj;
      }
    }
  };
  const out = build(gd.root, []);
  for (const k of byPath.keys()) if (!used.has(k)) throw new TypeError(`merge: the state has ${k.replace(/\u0000/g, ".")}, which the graphdef does not`);
  return out as T;
}

function describe(v: unknown): string {
  return v instanceof Array ? `an Array ${v.aval.str()}` : typeof v;
}

const pathKey = (p: Path) => p.map(String).join("\u0000");

/** Write the values of `states` into the graph `node` (through refs where its Variables have them). */
export function update(node: unknown, ...states: State[]): void {
  if (states.length === 0) throw new TypeError("update: pass at least one State (e.g. the new parameters)");
  const flat = flattenGraph(node);
  const targets = new Map<string, Variable | Array>(flat.leaves.map((l) => [pathKey(l.path), l.value]));
  for (const s of states) {
    for (const { path, value } of stateItems(s)) {
      const t = targets.get(pathKey(path));
      if (t === undefined) throw new TypeError(`update: the graph has nothing at ${pathStr(path)}`);
      const v = value instanceof Variable ? value.value : value;
      if (t instanceof Variable) t.set(v);
      else setAt(node, path, v);
    }
  }
}

function setAt(root: unknown, path: Path, v: unknown): void {
  let cur = root as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string | number, unknown>;
  cur[path[path.length - 1]!] = v;
}

/** Groups of paths that reach the same Variable or node, e.g. `[[["a"], ["c"]]]`. */
export function findDuplicates(node: unknown): Path[][] {
  return flattenGraph(node).duplicates;
}

function checkNoDuplicates(op: string, node: unknown): void {
  const d = findDuplicates(node);
  if (d.length === 0) return;
  const body = d.map((g) => `  ---\n${g.map((p) => `  ${pathStr(p)}`).join("\n")}`).join("\n");
  throw new Error(`Found duplicate at paths:\n${body}\n  ---` + `\n(${op} copies each Variable separately, which would break the sharing; split the graph first — split deduplicates)`);
}

function convert(op: string, node: unknown, only: Filter | undefined, f: (v: Variable) => Variable): unknown {
  checkNoDuplicates(op, node);
  const pred = filterPredicate(only ?? "...");
  const flat = flattenGraph(node);
  const st = buildState(flat.leaves.map(({ path, value }) => ({ path, value: value instanceof Variable && pred(path, value) ? f(value) : value })));
  return merge(new GraphDef(flat.def), st);
}

/** A copy of `node` whose selected Variables hold their values in new Refs. */
export function toRefs<T>(node: T, opts: { only?: Filter } = {}): T {
  return convert("toRefs", node, opts.only, (v) => (v.hasRef ? v : v.replace(newRef(v.raw as Array)))) as T;
}

/** A copy of `node` whose selected Variables hold plain Arrays (the refs' current values). */
export function toArrays<T>(node: T, opts: { only?: Filter } = {}): T {
  return convert("toArrays", node, opts.only, (v) => v.replace(v.raw instanceof Ref ? freeze(v.raw) : v.raw)) as T;
}

/** Map every Variable of a State (e.g. to new values), keeping paths. */
export function mapState(s: State, f: (v: Variable | Array, path: Path) => Variable | Array): State {
  return buildState(stateItems(s).map(({ path, value }) => ({ path, value: f(value, path) })));
}

void tree;
