/**
 * Structured control flow: `scan`, `cond`/`switchCase`, `whileLoop`,
 * `foriLoop`. Bodies are staged into programs and bound as the sub-program
 * primitives of core; refs they close over (and refs passed as scan `xs`,
 * which the body sees as row views) are handled by discharge. Outside any
 * transformation they run as a small jitted program, so effects on refs work
 * eagerly too.
 */
import { Array, Ref, RefType, ShapedArray, bind, bind1, np, primitives as P, tree, type Aval, type Value } from "@refs/core";
import { describeFn, fnInfo, transformSite, type FnInfo } from "./errors.js";
import { evalProgram } from "./eval.js";
import { checkNoRefOutputs, jit } from "./jit.js";
import { isStaging, stageFlat, type Jaxpr, type StagedProgram } from "./staging.js";

/** Run `f` staged: directly under a transformation, else as a one-off jitted program. */
function staged<T>(f: () => T): T {
  return isStaging() ? f() : (jit(f as () => any)() as T);
}

function toArrayLeaf(transform: string, info: FnInfo, path: string, l: unknown): Array {
  if (l instanceof Array) return l;
  if (typeof l === "number" || typeof l === "boolean") return np.asarray(l);
  if (l instanceof Ref)
    throw new TypeError(`${transform}: ${path} of ${describeFn(info)} is a mutable array reference; a Ref cannot be part of a loop carry (close over it instead)`);
  throw new TypeError(`${transform}: ${path} of ${describeFn(info)} must be an array, got ${l === null ? "null" : typeof l}`);
}

function flattenArrays(transform: string, info: FnInfo, root: string, x: unknown): [Array[], tree.TreeDef, string[]] {
  const [wp, td] = tree.flattenWithPath(x);
  const paths = wp.map(([p]) => tree.keystr(p, root));
  return [wp.map(([, l], i) => toArrayLeaf(transform, info, paths[i]!, l)), td, paths];
}

/**
 * Make a body's carry output types equal to its input types: weak-type-only
 * differences are cast; anything else is an error naming the path and both types.
 */
function matchCarry(transform: string, info: FnInfo, paths: readonly string[], ins: readonly ShapedArray[], outs: Value[]): Value[] {
  return outs.map((o, i) => {
    const want = ins[i]!;
    const got = o.aval as ShapedArray;
    if (got.dtype === want.dtype && got.shape.length === want.shape.length && got.shape.every((d, k) => d === want.shape[k])) {
      return got.weakType === want.weakType ? o : bind1(P.convertElementType, [o], { newDtype: want.dtype, weakType: want.weakType });
    }
    throw new CarryTypeError(
      `${transform}: the body function ${describeFn(info)} must return a carry with the same types as its input carry, but ${paths[i]} ` +
        `is ${want.str()} on input and ${got.str()} on output`,
      i,
      got,
    );
  });
}

class CarryTypeError extends TypeError {
  constructor(
    msg: string,
    readonly index: number,
    readonly got: ShapedArray,
  ) {
    super(msg);
  }
}

/** Weakly typed initial carries adopt the body's output dtype (JAX promotes weak inputs the same way). */
function withPromotedCarry<T>(init: Array[], attempt: (carry: Array[]) => T): T {
  let carry = init;
  for (let tries = 0; ; tries++) {
    try {
      return attempt(carry);
    } catch (e) {
      if (!(e instanceof CarryTypeError) || tries > carry.length) throw e;
      const c = carry[e.index]!;
      if (!c.weakType || c.shape.length !== e.got.shape.length) throw e;
      carry = carry.map((x, i) => (i === e.index ? x.astype(e.got.dtype) : x));
    }
  }
}

export interface ScanOptions {
  length?: number;
  reverse?: boolean;
}

/**
 * `scan(f, init, xs)` → `[carry, ys]` where `f(carry, x) → [carry, y]`, like
 * `jax.lax.scan`. `xs` may hold Refs: the body sees a ref view of row i and
 * its writes land in the original.
 */
export function scan<C, X, Y>(f: (carry: C, x: X) => readonly [C, Y], init: C, xs: X, opts: ScanOptions = {}): [C, Y] {
  const info = fnInfo(f, transformSite());
  return staged(() => scanImpl(info, f, init, xs, opts));
}

function scanImpl<C, X, Y>(info: FnInfo, f: (carry: C, x: X) => readonly [C, Y], init: C, xs: X, opts: ScanOptions): [C, Y] {
  const [carry0, carryTree, carryPaths] = flattenArrays("scan", info, "init", init);
  const [xsWp, xsTree] = tree.flattenWithPath(xs);
  const xLeaves: Value[] = xsWp.map(([p, l]) => (l instanceof Ref ? l : toArrayLeaf("scan", info, tree.keystr(p, "xs"), l)));
  let length = opts.length;
  xLeaves.forEach((x, i) => {
    const path = tree.keystr(xsWp[i]![0], "xs");
    if (x.aval.shape.length === 0) throw new TypeError(`scan: ${path} is a scalar ${x.aval.str()}; every xs leaf needs a leading axis to scan over`);
    const n = x.aval.shape[0]!;
    if (length === undefined) length = n;
    else if (n !== length)
      throw new TypeError(`scan got inconsistent lengths: ${path} has leading size ${n} but the scan length is ${length}`);
  });
  if (length === undefined) throw new TypeError("scan: pass xs with a leading axis or the `length` option");
  const xAvals: Aval[] = xLeaves.map((x) => {
    const a = x.aval;
    const inner = a instanceof RefType ? a.inner : a;
    const row = new ShapedArray(inner.shape.slice(1), inner.dtype, inner.weakType);
    return a instanceof RefType ? new RefType(row) : row;
  });
  let yTree: tree.TreeDef | undefined;
  const nC = carry0.length;
  return withPromotedCarry(carry0, (carry) => {
    const prog: StagedProgram = stageFlat(
      (...ins) => {
        const c = tree.unflatten(carryTree, ins.slice(0, nC)) as C;
        const x = tree.unflatten(xsTree, ins.slice(nC)) as X;
        const res = f(c, x);
        if (!globalThis.Array.isArray(res) || res.length !== 2)
          throw new TypeError(`scan: the body function ${describeFn(info)} must return a pair [carry, y]`);
        const [cOutWp, cOutTree] = tree.flattenWithPath(res[0]);
        if (!cOutTree.equals(carryTree))
          throw new TypeError(
            `scan: the body function ${describeFn(info)} must return a carry with the same structure as init: got ${cOutTree} but init is ${carryTree}`,
          );
        const [yWp, yt] = tree.flattenWithPath(res[1]);
        yTree = yt;
        const yVals = yWp.map(([p, l]) => (l instanceof Ref ? l : toArrayLeaf("scan", info, tree.keystr(p, "result[1]"), l)));
        checkNoRefOutputs(info, "scan", yWp.map(([p]) => [{ kind: "index", index: 1 } as const, ...p]), yVals, ins, []);
        const cOut = matchCarry("scan", info, carryPaths, carry.map((a) => a.aval), cOutWp.map(([p, l]) => toArrayLeaf("scan", info, tree.keystr(p, "result[0]"), l)));
        return [...cOut, ...yVals];
      },
      [...carry.map((c) => c.aval), ...xAvals],
      { name: info.name },
    );
    const outs = bind(P.scan, [...prog.consts, ...carry, ...xLeaves], {
      body: prog.jaxpr,
      length: length!,
      reverse: opts.reverse === true,
      numConsts: prog.consts.length,
      numCarry: nC,
    });
    return [tree.unflatten(carryTree, outs.slice(0, nC)) as C, tree.unflatten(yTree!, outs.slice(nC)) as Y];
  });
}

/** Stage several branches on the same operands and give them one signature (all consts as leading inputs). */
function stageBranches(
  transform: string,
  infos: FnInfo[],
  fns: readonly Function[],
  ops: Value[],
  opsTree: tree.TreeDef,
  labels: readonly string[],
): { programs: Jaxpr[]; consts: Value[]; outTree: tree.TreeDef } {
  const opAvals = ops.map((o) => o.aval);
  const trees: tree.TreeDef[] = [];
  const stagedBranches = fns.map((fn, b) =>
    stageFlat(
      (...ins) => {
        const out = fn(...(tree.unflatten(opsTree, ins) as unknown[]));
        const [wp, td] = tree.flattenWithPath(out);
        trees.push(td);
        const vals = wp.map(([p, l]) => (l instanceof Ref ? l : toArrayLeaf(transform, infos[b]!, tree.keystr(p, "result"), l)));
        checkNoRefOutputs(infos[b]!, transform, wp.map(([p]) => p), vals, ins, []);
        return vals;
      },
      opAvals,
      { name: infos[b]!.name },
    ),
  );
  const outTree = trees[0]!;
  trees.forEach((t, b) => {
    if (!t.equals(outTree))
      throw new TypeError(`${transform}: branches must return the same structure, but ${labels[0]} returns ${outTree} and ${labels[b]} returns ${t}`);
  });
  // Output types must agree; weak-only differences become strong.
  const outAvals = stagedBranches[0]!.jaxpr.outputs.map((o) => o.aval as ShapedArray);
  stagedBranches.forEach((s, b) =>
    s.jaxpr.outputs.forEach((o, i) => {
      const a = o.aval as ShapedArray;
      const w = outAvals[i]!;
      if (a.dtype !== w.dtype || a.shape.length !== w.shape.length || a.shape.some((d, k) => d !== w.shape[k]))
        throw new TypeError(
          `${transform}: branches must return the same types, but output ${i} is ${w.str()} in ${labels[0]} and ${a.str()} in ${labels[b]}`,
        );
      if (a.weakType !== w.weakType) outAvals[i] = w.withWeak(false);
    }),
  );
  // One constant input per distinct closed-over value: two branches writing the
  // same ref must update one cell.
  const consts: Value[] = [];
  for (const s of stagedBranches) for (const c of s.consts) if (!consts.includes(c)) consts.push(c);
  const constAvals = consts.map((c) => c.aval);
  const programs = stagedBranches.map((s) => {
    const slots = s.consts.map((c) => consts.indexOf(c));
    return stageFlat(
      (...ins) => {
        const mine = slots.map((k) => ins[k]!);
        const outs = evalProgram(s.jaxpr, [...mine, ...ins.slice(consts.length)]);
        return outs.map((o, i) => {
          const want = outAvals[i]!;
          return o instanceof Array && o.weakType !== want.weakType ? bind1(P.convertElementType, [o], { newDtype: want.dtype, weakType: want.weakType }) : o;
        });
      },
      [...constAvals, ...opAvals],
      { name: s.jaxpr.name ?? transform },
    ).jaxpr;
  });
  return { programs, consts, outTree };
}

/**
 * `cond(pred, trueFn, falseFn, ...operands)`: `trueFn(...operands)` if pred
 * else `falseFn(...operands)`, like `jax.lax.cond`; both branches are traced.
 */
export function cond<T>(pred: Array | boolean | number, trueFn: (...ops: any[]) => T, falseFn: (...ops: any[]) => T, ...operands: unknown[]): T {
  const infos = [fnInfo(falseFn, transformSite()), fnInfo(trueFn)];
  const p = pred instanceof Array ? pred : np.asarray(pred);
  if (p.ndim !== 0) throw new TypeError(`cond: the predicate must be a scalar, got ${p.aval.str()}`);
  return staged(() => {
    const index = p.dtype === "bool" ? p.astype("int32") : np.notEqual(p, 0).astype("int32");
    return caseImpl("cond", infos, [falseFn, trueFn], index, operands, ["the false branch", "the true branch"]) as T;
  });
}

/** `switchCase(index, branches, ...operands)`: like `jax.lax.switch` (index clamped into range). */
export function switchCase<T>(index: Array | number, branches: readonly ((...ops: any[]) => T)[], ...operands: unknown[]): T {
  if (branches.length === 0) throw new TypeError("switchCase: needs at least one branch");
  const infos = branches.map((b) => fnInfo(b));
  const i = index instanceof Array ? index : np.asarray(index);
  if (i.ndim !== 0 || (i.dtype !== "int32" && i.dtype !== "uint32"))
    throw new TypeError(`switchCase: the index must be an integer scalar, got ${i.aval.str()}`);
  const labels = branches.map((_, b) => `branch ${b}`);
  return staged(() => caseImpl("switchCase", infos, branches, i.astype("int32"), operands, labels) as T);
}

function caseImpl(
  transform: string,
  infos: FnInfo[],
  fns: readonly Function[],
  index: Array,
  operands: unknown[],
  labels: readonly string[],
): unknown {
  const [wp, opsTree] = tree.flattenWithPath(operands);
  const ops: Value[] = wp.map(([path, l]) => (l instanceof Ref ? l : toArrayLeaf(transform, infos[0]!, tree.keystr(path, "operands"), l)));
  const { programs, consts, outTree } = stageBranches(transform, infos, fns, ops, opsTree, labels);
  const outs = bind(P.cond, [index, ...consts, ...ops], { branches: programs });
  return tree.unflatten(outTree, outs);
}

/** `whileLoop(condFn, bodyFn, init)`, like `jax.lax.while_loop`. Forward-mode differentiable only. */
export function whileLoop<C>(condFn: (carry: C) => Array | boolean, bodyFn: (carry: C) => C, init: C): C {
  const cinfo = fnInfo(condFn, transformSite());
  const binfo = fnInfo(bodyFn);
  return staged(() => {
    const [carry0, carryTree, carryPaths] = flattenArrays("whileLoop", binfo, "init", init);
    return withPromotedCarry(carry0, (carry) => {
      const avals = carry.map((c) => c.aval);
      const condProg = stageFlat(
        (...ins) => {
          const r = condFn(tree.unflatten(carryTree, ins) as C);
          const a = r instanceof Array ? r : np.asarray(r);
          if (a.ndim !== 0 || a.dtype !== "bool")
            throw new TypeError(`whileLoop: the condition function ${describeFn(cinfo)} must return a boolean scalar, got ${a.aval.str()}`);
          return [a];
        },
        avals,
        { name: cinfo.name },
      );
      const bodyProg = stageFlat(
        (...ins) => {
          const out = bodyFn(tree.unflatten(carryTree, ins) as C);
          const [wp, td] = tree.flattenWithPath(out);
          if (!td.equals(carryTree))
            throw new TypeError(`whileLoop: the body function ${describeFn(binfo)} must return a carry with the same structure as init: got ${td} but init is ${carryTree}`);
          return matchCarry("whileLoop", binfo, carryPaths, avals, wp.map(([p, l]) => toArrayLeaf("whileLoop", binfo, tree.keystr(p, "result"), l)));
        },
        avals,
        { name: binfo.name },
      );
      const outs = bind(P.whileLoop, [...condProg.consts, ...bodyProg.consts, ...carry], {
        cond: condProg.jaxpr,
        body: bodyProg.jaxpr,
        condNumConsts: condProg.consts.length,
        bodyNumConsts: bodyProg.consts.length,
      });
      return tree.unflatten(carryTree, outs) as C;
    });
  });
}

/**
 * `foriLoop(lo, hi, body, init)`: `body(i, carry)` for i in [lo, hi). With
 * static bounds it is a scan (so it is reverse-differentiable), else a while loop.
 */
export function foriLoop<C>(lo: number | Array, hi: number | Array, body: (i: Array, carry: C) => C, init: C): C {
  if (typeof lo === "number" && typeof hi === "number") {
    const n = Math.max(0, hi - lo);
    const [[, out]] = scan(
      ([i, c]: [Array, C], _x: null) => [[i.add(1), body(i, c)] as [Array, C], null] as const,
      [np.asarray(lo).astype("int32"), init] as [Array, C],
      null,
      { length: n },
    );
    return out;
  }
  const loA = (lo instanceof Array ? lo : np.asarray(lo)).astype("int32");
  const hiA = (hi instanceof Array ? hi : np.asarray(hi)).astype("int32");
  const [, , out] = whileLoop(
    ([i, h]: [Array, Array, C]) => i.lt(h),
    ([i, h, c]: [Array, Array, C]) => [i.add(1), h, body(i, c)] as [Array, Array, C],
    [loA, hiA, init] as [Array, Array, C],
  );
  return out;
}
