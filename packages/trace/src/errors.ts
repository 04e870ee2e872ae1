/**
 * What error messages need to know about a user's function: its name, where
 * it was defined (the call site of `jit(fn)`, which in TypeScript is the
 * definition line, as a decorator's is in Python) and its parameter names.
 * Also JAX's error classes, so `${e.name}: ${e.message}` reads like JAX.
 */
import { captureSite, registerInternalFrames, tree, type CreationSite } from "@refs/core";

registerInternalFrames(/[\\/]packages[\\/]trace[\\/](src|dist)[\\/]/);
registerInternalFrames(/[\\/]@refs[\\/]trace[\\/]/);

export class ValueError extends Error {
  override name = "ValueError";
}

export interface FnInfo {
  readonly name: string;
  /** `file:line` where the transform was applied (the function's definition, for `jit(function f() {...})`). */
  readonly site: string | undefined;
  /** Parameter names, or null where one cannot be recovered (destructuring). */
  readonly params: readonly (string | null)[];
  readonly restIndex: number;
}

export function fnInfo(fn: Function, site?: CreationSite): FnInfo {
  const { params, restIndex } = parseParams(fn);
  return { name: fn.name || "<lambda>", site: site ? dropColumn(site.location) : undefined, params, restIndex };
}

export function transformSite(): CreationSite | undefined {
  return captureSite();
}

function dropColumn(loc: string): string {
  return loc.replace(/:\d+$/, "");
}

/** `function f at FILE:LINE` or `function f`. */
export function describeFn(info: FnInfo): string {
  return info.site ? `${info.name} at ${info.site}` : info.name;
}

/** The name of argument i: its parameter name when recoverable, else `args[i]`. */
export function argName(info: FnInfo, i: number): string {
  if (info.restIndex >= 0 && i >= info.restIndex) return `args[${i}]`;
  return info.params[i] ?? `args[${i}]`;
}

/** A pytree path inside argument i, e.g. `pytree.a.value`. */
export function argPath(info: FnInfo, i: number, path: tree.KeyPath): string {
  return tree.keystr(path, argName(info, i));
}

const IDENT = /^[A-Za-z_$][\w$]*$/;

function parseParams(fn: Function): { params: (string | null)[]; restIndex: number } {
  let src: string;
  try {
    src = Function.prototype.toString.call(fn);
  } catch {
    return { params: [], restIndex: -1 };
  }
  let list: string | undefined;
  const single = /^(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(src);
  if (single) list = single[1];
  else {
    const open = src.indexOf("(");
    if (open < 0) return { params: [], restIndex: -1 };
    let depth = 0;
    for (let i = open; i < src.length; i++) {
      const ch = src[i];
      if (ch === "(" || ch === "[" || ch === "{") depth++;
      else if (ch === ")" || ch === "]" || ch === "}") {
        depth--;
        if (depth === 0) {
          list = src.slice(open + 1, i);
          break;
        }
      }
    }
  }
  if (list === undefined) return { params: [], restIndex: -1 };
  const parts: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of list) {
    if (ch === "(" || ch === "[" || ch === "{") depth++;
    if (ch === ")" || ch === "]" || ch === "}") depth--;
    if (ch === "," && depth === 0) {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  if (cur.trim()) parts.push(cur);
  let restIndex = -1;
  const params = parts.map((p, i) => {
    let s = p.trim().replace(/=[\s\S]*$/, "").trim();
    if (s.startsWith("...")) {
      restIndex = i;
      s = s.slice(3).trim();
    }
    return IDENT.test(s) ? s : null;
  });
  return { params, restIndex };
}
