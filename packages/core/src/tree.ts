/**
 * Pytrees: nested containers whose leaves are arrays (or anything else that
 * is not a container), with key paths and a public registry of node types.
 *
 * Containers are
 * - plain objects (prototype `Object.prototype` or `null`); children are
 *   visited in SORTED key order, like JAX dicts;
 * - JS arrays (sequences);
 * - `null` and `undefined`: nodes without children, kept as structure;
 * - instances of classes registered with {@link registerPytreeNode} (lookup
 *   walks the prototype chain, so subclasses use their base's entry unless
 *   they register their own). Their flatten may return static "aux" data that
 *   becomes part of the tree structure (and of {@link TreeDef.key}).
 *
 * Everything else (arrays, refs, numbers, strings, booleans, functions,
 * instances of unregistered classes) is a leaf.
 */

// ---- paths ------------------------------------------------------------------

/** One step of a key path. */
export type PathEntry =
  /** A plain-object key. */
  | { readonly kind: "key"; readonly key: string }
  /** A JS array index, or a numeric child key of a registered node. */
  | { readonly kind: "index"; readonly index: number }
  /** A string child key of a registered node (an attribute name). */
  | { readonly kind: "attr"; readonly name: string };

export type KeyPath = readonly PathEntry[];

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function quoteKey(k: string): string {
  return `'${k.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** How one entry prints: `.name` for identifiers, `['k']` for other keys, `[i]` for indices. */
export function entryStr(e: PathEntry): string {
  switch (e.kind) {
    case "index":
      return `[${e.index}]`;
    case "key":
      return IDENT.test(e.key) ? `.${e.key}` : `[${quoteKey(e.key)}]`;
    case "attr":
      return IDENT.test(e.name) ? `.${e.name}` : `[${quoteKey(e.name)}]`;
  }
}

/**
 * Print a key path: `keystr(p, "result")` → `result.bn.bias.value`,
 * `keystr(p, "args")` → `args[1]`; without a root, `.a[0]`.
 */
export function keystr(path: KeyPath, root?: string): string {
  return (root ?? "") + path.map(entryStr).join("");
}

/** The raw key of an entry: the string key / attribute name, or the index. */
export function entryKey(e: PathEntry): string | number {
  return e.kind === "index" ? e.index : e.kind === "key" ? e.key : e.name;
}

// ---- registry ---------------------------------------------------------------

/** How a registered class is taken apart and put back together. */
export interface PytreeNodeSpec<T> {
  /** Children (with their keys, in a fixed order) and static aux data. */
  flatten(x: T): [children: [key: string | number, value: unknown][], aux: unknown];
  /** Rebuild from the aux data and the children, in the order flatten gave them. */
  unflatten(aux: unknown, children: unknown[]): T;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyClass<T = unknown> = abstract new (...args: any[]) => T;

interface Entry {
  readonly cls: AnyClass;
  readonly spec: PytreeNodeSpec<unknown>;
  readonly id: number;
}

const registry = new Map<object, Entry>();
let nextEntryId = 1;

/**
 * Register a class as a pytree node type. Instances of `cls` and of its
 * subclasses (unless a subclass registers its own entry) are flattened with
 * `spec.flatten` and rebuilt with `spec.unflatten`.
 */
export function registerPytreeNode<T>(cls: AnyClass<T>, spec: PytreeNodeSpec<T>): void {
  if (typeof cls !== "function" || cls.prototype == null) {
    throw new TypeError("registerPytreeNode: expected a class");
  }
  const proto = cls.prototype as object;
  if (proto === Object.prototype || proto === Array.prototype) {
    throw new TypeError(`registerPytreeNode: ${cls.name} is a built-in container type`);
  }
  if (registry.has(proto)) {
    throw new Error(`registerPytreeNode: duplicate registration of pytree node type ${cls.name}`);
  }
  registry.set(proto, {
    cls,
    spec: spec as PytreeNodeSpec<unknown>,
    id: nextEntryId++,
  });
}

/** Whether `cls` itself (not a base class) has been registered. */
export function isRegisteredPytreeNode(cls: AnyClass): boolean {
  return registry.has(cls.prototype as object);
}

function lookup(x: object): Entry | undefined {
  let p = Object.getPrototypeOf(x) as object | null;
  while (p !== null && p !== Object.prototype) {
    const e = registry.get(p);
    if (e) return e;
    p = Object.getPrototypeOf(p) as object | null;
  }
  return undefined;
}

function isPlainObject(x: object): boolean {
  const p = Object.getPrototypeOf(x) as object | null;
  return p === Object.prototype || p === null;
}

/** Whether `x` is a leaf by default (not a container). */
export function isLeafValue(x: unknown): boolean {
  if (x === null || x === undefined) return false;
  if (typeof x !== "object") return true;
  if (isPlainObject(x)) return false;
  if (lookup(x)) return false;
  return !Array.isArray(x);
}

// ---- tree definitions ---------------------------------------------------------

/** The internal node representation of a {@link TreeDef} (read-only). */
export type TreeNode =
  | { readonly type: "leaf" }
  | { readonly type: "null" }
  | { readonly type: "undefined" }
  | {
      readonly type: "object";
      readonly keys: readonly string[];
      readonly nullProto: boolean;
      readonly children: readonly TreeNode[];
    }
  | { readonly type: "array"; readonly children: readonly TreeNode[] }
  | {
      readonly type: "custom";
      readonly entry: Entry;
      readonly aux: unknown;
      readonly keys: readonly (string | number)[];
      readonly children: readonly TreeNode[];
    };

type Node = TreeNode;

const LEAF: Node = { type: "leaf" };
const NULL: Node = { type: "null" };
const UNDEF: Node = { type: "undefined" };

function countLeaves(n: Node): number {
  switch (n.type) {
    case "leaf":
      return 1;
    case "null":
    case "undefined":
      return 0;
    default: {
      let c = 0;
      for (const ch of n.children) c += countLeaves(ch);
      return c;
    }
  }
}

function countNodes(n: Node): number {
  if (n.type === "leaf" || n.type === "null" || n.type === "undefined") return 1;
  let c = 1;
  for (const ch of n.children) c += countNodes(ch);
  return c;
}

/** Child path entries of a node, in child order. */
function childEntries(n: Node): PathEntry[] {
  switch (n.type) {
    case "object":
      return n.keys.map((key) => ({ kind: "key", key }));
    case "array":
      return n.children.map((_, index) => ({ kind: "index", index }));
    case "custom":
      return n.keys.map((k) => (typeof k === "number" ? { kind: "index", index: k } : { kind: "attr", name: k }));
    default:
      return [];
  }
}

// ---- aux data: stable keys and structural equality ---------------------------

const objectIds = new WeakMap<object, number>();
const symbolIds = new Map<symbol, number>();
let nextObjectId = 1;

function identityId(x: object | symbol): number {
  if (typeof x === "symbol") {
    let id = symbolIds.get(x);
    if (id === undefined) symbolIds.set(x, (id = nextObjectId++));
    return id;
  }
  let id = objectIds.get(x);
  if (id === undefined) objectIds.set(x, (id = nextObjectId++));
  return id;
}

function hasMethod(x: object, name: string): boolean {
  return typeof (x as Record<string, unknown>)[name] === "function";
}

function hasOwnToString(x: object): boolean {
  const ts = (x as { toString?: unknown }).toString;
  return typeof ts === "function" && ts !== Object.prototype.toString && ts !== Function.prototype.toString;
}

/**
 * A stable string for static aux data: primitives, arrays, plain objects
 * (sorted keys), Maps and Sets are serialised structurally; objects with a
 * `key()` method use it, others with their own `toString()` use that (both
 * tagged with the object's class identity); anything else by identity.
 */
export function auxKey(x: unknown, stack: object[] = []): string {
  switch (typeof x) {
    case "undefined":
      return "u";
    case "boolean":
      return x ? "T" : "F";
    case "number":
      return Object.is(x, -0) ? "n-0" : `n${x}`;
    case "bigint":
      return `b${x}`;
    case "string":
      return `s${JSON.stringify(x)}`;
    case "symbol":
      return `y${identityId(x)}`;
    case "function":
      return `f#${identityId(x)}`;
  }
  if (x === null) return "N";
  const obj = x as object;
  if (stack.includes(obj)) return `cyc#${identityId(obj)}`;
  stack.push(obj);
  try {
    if (Array.isArray(obj) && Object.getPrototypeOf(obj) === Array.prototype) {
      return `[${obj.map((v) => auxKey(v, stack)).join(",")}]`;
    }
    const ctor = (Object.getPrototypeOf(obj) as { constructor?: unknown } | null)?.constructor;
    const tag = typeof ctor === "function" ? identityId(ctor) : 0;
    if (obj instanceof TreeDef) return `D(${obj.key()})`;
    if (hasMethod(obj, "key")) {
      return `K${tag}(${String((obj as { key(): unknown }).key())})`;
    }
    if (isPlainObject(obj)) {
      const keys = Object.keys(obj).sort();
      const rec = obj as Record<string, unknown>;
      return `{${keys.map((k) => `${JSON.stringify(k)}:${auxKey(rec[k], stack)}`).join(",")}}`;
    }
    if (obj instanceof Map) {
      return `M${tag}(${[...obj].map(([k, v]) => `${auxKey(k, stack)}=>${auxKey(v, stack)}`).join(",")})`;
    }
    if (obj instanceof Set) {
      return `S${tag}(${[...obj].map((v) => auxKey(v, stack)).join(",")})`;
    }
    if (ArrayBuffer.isView(obj) && !(obj instanceof DataView)) {
      const arr = obj as unknown as ArrayLike<number | bigint>;
      return `A${tag}(${Array.from(arr, (v) => String(v)).join(",")})`;
    }
    if (hasOwnToString(obj)) return `O${tag}(${String(obj)})`;
    return `#${identityId(obj)}`;
  } finally {
    stack.pop();
  }
}

/** Structural equality of aux data, consistent with {@link auxKey}. */
export function auxEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) {
    // distinct primitives (NaN is Object.is-equal to NaN), functions, symbols
    return false;
  }
  const pa = Object.getPrototypeOf(a) as object | null;
  const pb = Object.getPrototypeOf(b) as object | null;
  if (pa !== pb && !(isPlainObject(a) && isPlainObject(b))) return false;
  if (a instanceof TreeDef) return b instanceof TreeDef && a.equals(b);
  if (hasMethod(a, "equals")) return Boolean((a as { equals(o: unknown): unknown }).equals(b));
  return auxKey(a) === auxKey(b);
}

// ---- TreeDef ----------------------------------------------------------------------

function nodeEquals(a: Node, b: Node): boolean {
  if (a === b) return true;
  if (a.type !== b.type) return false;
  switch (a.type) {
    case "leaf":
    case "null":
    case "undefined":
      return true;
    case "array": {
      const bc = (b as typeof a).children;
      return a.children.length === bc.length && a.children.every((c, i) => nodeEquals(c, bc[i]!));
    }
    case "object": {
      const bb = b as typeof a;
      return (
        a.nullProto === bb.nullProto &&
        a.keys.length === bb.keys.length &&
        a.keys.every((k, i) => k === bb.keys[i]) &&
        a.children.every((c, i) => nodeEquals(c, bb.children[i]!))
      );
    }
    case "custom": {
      const bb = b as typeof a;
      return (
        a.entry === bb.entry &&
        a.keys.length === bb.keys.length &&
        a.keys.every((k, i) => k === bb.keys[i]) &&
        auxEqual(a.aux, bb.aux) &&
        a.children.every((c, i) => nodeEquals(c, bb.children[i]!))
      );
    }
  }
}

function auxRepr(x: unknown, depth = 0): string {
  if (depth > 4) return "…";
  if (x === undefined) return "undefined";
  if (x === null) return "null";
  if (typeof x === "string") return quoteKey(x);
  if (typeof x === "number" || typeof x === "boolean" || typeof x === "bigint") return String(x);
  if (typeof x === "function") return x.name ? `<function ${x.name}>` : "<function>";
  if (typeof x === "symbol") return x.toString();
  const obj = x as object;
  if (Array.isArray(obj)) return `[${obj.map((v) => auxRepr(v, depth + 1)).join(", ")}]`;
  if (isPlainObject(obj)) {
    const rec = obj as Record<string, unknown>;
    return `{${Object.keys(rec)
      .sort()
      .map((k) => `${quoteKey(k)}: ${auxRepr(rec[k], depth + 1)}`)
      .join(", ")}}`;
  }
  if (hasOwnToString(obj)) return String(obj);
  const ctor = (Object.getPrototypeOf(obj) as { constructor?: { name?: string } } | null)?.constructor;
  return `<${ctor?.name ?? "object"}>`;
}

function nodeStr(n: Node): string {
  switch (n.type) {
    case "leaf":
      return "*";
    case "null":
      return "null";
    case "undefined":
      return "undefined";
    case "array":
      return `[${n.children.map(nodeStr).join(", ")}]`;
    case "object":
      return `{${n.keys.map((k, i) => `${quoteKey(k)}: ${nodeStr(n.children[i]!)}`).join(", ")}}`;
    case "custom": {
      const name = n.entry.cls.name || "<anonymous>";
      const kids = n.keys.map((k, i) => `${k}: ${nodeStr(n.children[i]!)}`);
      return `CustomNode(${name}[${auxRepr(n.aux)}], {${kids.join(", ")}})`;
    }
  }
}

function nodeKey(n: Node): string {
  switch (n.type) {
    case "leaf":
      return "*";
    case "null":
      return "N";
    case "undefined":
      return "U";
    case "array":
      return `[${n.children.map(nodeKey).join(",")}]`;
    case "object":
      return `{${n.nullProto ? "0" : ""}${n.keys.map((k, i) => `${JSON.stringify(k)}:${nodeKey(n.children[i]!)}`).join(",")}}`;
    case "custom":
      return `C${n.entry.id}(${auxKey(n.aux)})<${n.keys
        .map((k) => (typeof k === "number" ? String(k) : JSON.stringify(k)))
        .join(",")}>(${n.children.map(nodeKey).join(",")})`;
  }
}

/** The structure of a pytree: everything but its leaves. */
export class TreeDef {
  /** The root node (read-only; for framework code that walks structures). */
  readonly node: TreeNode;
  private _key: string | undefined;
  readonly numLeaves: number;

  /** @internal */
  constructor(node: Node) {
    this.node = node;
    this.numLeaves = countLeaves(node);
  }

  /** Number of nodes, leaves and empty nodes included. */
  get numNodes(): number {
    return countNodes(this.node);
  }

  /** Whether this is the structure of a single leaf. */
  get isLeaf(): boolean {
    return this.node.type === "leaf";
  }

  /** Structures of the immediate children. */
  children(): TreeDef[] {
    const n = this.node;
    return n.type === "array" || n.type === "object" || n.type === "custom"
      ? n.children.map((c) => new TreeDef(c))
      : [];
  }

  /** Structural equality, static aux data of registered nodes included. */
  equals(other: TreeDef): boolean {
    return other instanceof TreeDef && nodeEquals(this.node, other.node);
  }

  /** A string usable as a cache key; changes whenever the structure or static data changes. */
  key(): string {
    return (this._key ??= nodeKey(this.node));
  }

  toString(): string {
    return `PyTreeDef(${nodeStr(this.node)})`;
  }

  /** Rebuild a tree of this structure from its leaves. */
  unflatten<T = unknown>(leaves: readonly unknown[]): T {
    return unflatten(this, leaves) as T;
  }

  /**
   * Flatten `tree` up to this structure: the subtrees of `tree` at the leaf
   * positions of this structure, in order. Throws when `tree` does not match.
   */
  flattenUpTo(tree: unknown): unknown[] {
    const out: unknown[] = [];
    const err = flattenUpToInto(this.node, tree, [], out);
    if (err) {
      throw new Error(
        `tree structure mismatch at path ${keystr(err.path, "tree")}: expected ${err.expected}, got ${err.got}. ` +
          `Expected structure ${this.toString()}; got ${structure(tree).toString()}.`,
      );
    }
    return out;
  }
}

// ---- flatten / unflatten ------------------------------------------------------

export type IsLeaf = (x: unknown) => boolean;

function cycleError(path: PathEntry[], at: PathEntry[]): Error {
  return new Error(
    `tree.flatten: cycle detected: the value at path ${keystr(path, "tree")} is its own ancestor (first seen at ${
      keystr(at, "tree")
    })`,
  );
}

function build(
  x: unknown,
  isLeaf: IsLeaf | undefined,
  path: PathEntry[],
  leaves: unknown[],
  paths: PathEntry[][] | null,
  stack: Map<object, PathEntry[]>,
): Node {
  const leaf = (): Node => {
    leaves.push(x);
    if (paths) paths.push(path.slice());
    return LEAF;
  };
  if (isLeaf && isLeaf(x)) return leaf();
  if (x === null) return NULL;
  if (x === undefined) return UNDEF;
  if (typeof x !== "object") return leaf();
  const obj = x;
  const visit = (child: unknown, e: PathEntry): Node => {
    path.push(e);
    try {
      return build(child, isLeaf, path, leaves, paths, stack);
    } finally {
      path.pop();
    }
  };
  const enter = (): void => {
    const seen = stack.get(obj);
    if (seen) throw cycleError(path, seen);
    stack.set(obj, path.slice());
  };
  if (isPlainObject(obj)) {
    enter();
    try {
      const rec = obj as Record<string, unknown>;
      const keys = Object.keys(rec).sort();
      const children = keys.map((key) => visit(rec[key], { kind: "key", key }));
      return { type: "object", keys, nullProto: Object.getPrototypeOf(obj) === null, children };
    } finally {
      stack.delete(obj);
    }
  }
  const entry = lookup(obj);
  if (entry) {
    enter();
    try {
      const [kids, aux] = entry.spec.flatten(obj);
      const keys = kids.map(([k]) => k);
      const children = kids.map(([k, v]) =>
        visit(v, typeof k === "number" ? { kind: "index", index: k } : { kind: "attr", name: k }),
      );
      return { type: "custom", entry, aux, keys, children };
    } finally {
      stack.delete(obj);
    }
  }
  if (Array.isArray(obj)) {
    enter();
    try {
      const children: Node[] = [];
      for (let i = 0; i < obj.length; i++) children.push(visit(obj[i], { kind: "index", index: i }));
      return { type: "array", children };
    } finally {
      stack.delete(obj);
    }
  }
  return leaf();
}

/** Leaves of `x` in order, and its structure. */
export function flatten(x: unknown, isLeaf?: IsLeaf): [unknown[], TreeDef] {
  const leaves: unknown[] = [];
  const node = build(x, isLeaf, [], leaves, null, new Map());
  return [leaves, new TreeDef(node)];
}

/** Leaves of `x` with their key paths, and its structure. */
export function flattenWithPath(x: unknown, isLeaf?: IsLeaf): [[KeyPath, unknown][], TreeDef] {
  const leaves: unknown[] = [];
  const paths: PathEntry[][] = [];
  const node = build(x, isLeaf, [], leaves, paths, new Map());
  return [leaves.map((l, i) => [paths[i]!, l] as [KeyPath, unknown]), new TreeDef(node)];
}

/** The leaves of `x`, in order. */
export function leaves(x: unknown, isLeaf?: IsLeaf): unknown[] {
  return flatten(x, isLeaf)[0];
}

/** The structure of `x`. */
export function structure(x: unknown, isLeaf?: IsLeaf): TreeDef {
  return flatten(x, isLeaf)[1];
}

/** Rebuild a tree with structure `treedef` from `leaves`. */
export function unflatten(treedef: TreeDef, leaves: readonly unknown[]): unknown {
  if (leaves.length !== treedef.numLeaves) {
    throw new Error(
      `tree.unflatten: the structure ${treedef.toString()} has ${treedef.numLeaves} leaves, but ${leaves.length} leaves were given`,
    );
  }
  let i = 0;
  const rec = (n: Node): unknown => {
    switch (n.type) {
      case "leaf":
        return leaves[i++];
      case "null":
        return null;
      case "undefined":
        return undefined;
      case "array":
        return n.children.map(rec);
      case "object": {
        const out: Record<string, unknown> = n.nullProto ? (Object.create(null) as Record<string, unknown>) : {};
        n.keys.forEach((k, j) => {
          out[k] = rec(n.children[j]!);
        });
        return out;
      }
      case "custom":
        return n.entry.spec.unflatten(n.aux, n.children.map(rec));
    }
  };
  return rec(treedef.node);
}

// ---- flatten up to a structure (used by map over several trees) -----------------

interface Mismatch {
  path: PathEntry[];
  expected: string;
  got: string;
}

function describe(x: unknown): string {
  if (x === null) return "null";
  if (x === undefined) return "undefined";
  if (typeof x !== "object") return typeof x;
  if (Array.isArray(x) && Object.getPrototypeOf(x) === Array.prototype) return `an array of length ${x.length}`;
  if (isPlainObject(x)) return `an object with keys [${Object.keys(x).sort().map(quoteKey).join(", ")}]`;
  const ctor = (Object.getPrototypeOf(x) as { constructor?: { name?: string } } | null)?.constructor;
  return `an instance of ${ctor?.name || "an anonymous class"}`;
}

function flattenUpToInto(n: Node, x: unknown, path: PathEntry[], out: unknown[]): Mismatch | null {
  const mismatch = (expected: string, got: string = describe(x)): Mismatch => ({ path: path.slice(), expected, got });
  const kids = (children: readonly Node[], values: readonly unknown[], entries: PathEntry[]): Mismatch | null => {
    for (let j = 0; j < children.length; j++) {
      path.push(entries[j]!);
      const err = flattenUpToInto(children[j]!, values[j], path, out);
      path.pop();
      if (err) return err;
    }
    return null;
  };
  switch (n.type) {
    case "leaf":
      out.push(x);
      return null;
    case "null":
      return x === null ? null : mismatch("null");
    case "undefined":
      return x === undefined ? null : mismatch("undefined");
    case "array": {
      if (!(typeof x === "object" && x !== null && Array.isArray(x) && !lookup(x))) {
        return mismatch(`an array of length ${n.children.length}`);
      }
      if (x.length !== n.children.length) return mismatch(`an array of length ${n.children.length}`);
      return kids(n.children, x, childEntries(n));
    }
    case "object": {
      const expected = `an object with keys [${n.keys.map(quoteKey).join(", ")}]`;
      if (!(typeof x === "object" && x !== null && isPlainObject(x))) return mismatch(expected);
      const rec = x as Record<string, unknown>;
      const keys = Object.keys(rec).sort();
      if (keys.length !== n.keys.length || keys.some((k, j) => k !== n.keys[j])) return mismatch(expected);
      return kids(n.children, n.keys.map((k) => rec[k]), childEntries(n));
    }
    case "custom": {
      const name = n.entry.cls.name || "an anonymous class";
      if (!(typeof x === "object" && x !== null) || lookup(x) !== n.entry) {
        return mismatch(`an instance of ${name}`);
      }
      const [kv, aux] = n.entry.spec.flatten(x);
      if (!auxEqual(aux, n.aux)) {
        return mismatch(`${name} with static data ${auxRepr(n.aux)}`, `static data ${auxRepr(aux)}`);
      }
      if (kv.length !== n.keys.length || kv.some(([k], j) => k !== n.keys[j])) {
        return mismatch(
          `${name} with children [${n.keys.join(", ")}]`,
          `children [${kv.map(([k]) => k).join(", ")}]`,
        );
      }
      return kids(n.children, kv.map(([, v]) => v), childEntries(n));
    }
  }
}

// ---- map ------------------------------------------------------------------------

function restLeaves(fn: string, td: TreeDef, rest: readonly unknown[]): unknown[][] {
  return rest.map((r, i) => {
    const out: unknown[] = [];
    const err = flattenUpToInto(td.node, r, [], out);
    if (err) {
      throw new Error(
        `${fn}: tree ${i + 1} does not match the structure of tree 0 at path ${keystr(err.path, "tree")}: ` +
          `expected ${err.expected}, got ${err.got}.\n` +
          `  tree 0 structure: ${td.toString()}\n  tree ${i + 1} structure: ${structure(r).toString()}`,
      );
    }
    return out;
  });
}

/**
 * Apply `f` to the leaves of `tree` (and the corresponding subtrees of each of
 * `rest`, which must have the structure of `tree`, or be a tree with that
 * structure as a prefix) and rebuild a tree of the same structure.
 */
export function map<T extends unknown[], R>(f: (...leaves: T) => R, tree: unknown, ...rest: unknown[]): unknown {
  const [ls, td] = flatten(tree);
  const others = restLeaves("tree.map", td, rest);
  const g = f as (...leaves: unknown[]) => R;
  return unflatten(
    td,
    ls.map((l, i) => g(l, ...others.map((o) => o[i]))),
  );
}

/** Like {@link map}, with the key path of each leaf passed first. */
export function mapWithPath<T extends unknown[], R>(
  f: (path: KeyPath, ...leaves: T) => R,
  tree: unknown,
  ...rest: unknown[]
): unknown {
  const [pls, td] = flattenWithPath(tree);
  const others = restLeaves("tree.mapWithPath", td, rest);
  const g = f as (path: KeyPath, ...leaves: unknown[]) => R;
  return unflatten(
    td,
    pls.map(([p, l], i) => g(p, l, ...others.map((o) => o[i]))),
  );
}
