/**
 * Where a value was created, for error messages: the first stack frame
 * outside this library's own core files, as `file:line:col` plus the name of
 * the function that made it (`new Variable` reads as `Variable constructor`).
 *
 * Packages built on core (nn's Variable) are *not* skipped: JAX reports the
 * line inside Flax that created the ref, and so do we. A package can mark its
 * own files internal with `registerInternalFrames` if it wants them skipped.
 */

export interface CreationSite {
  /** `file:line:col` */
  readonly location: string;
  /** The function that created the value, e.g. `Variable constructor`, `increment`, or `<module>`. */
  readonly creator: string;
}

const internal: RegExp[] = [/[\\/]packages[\\/]core[\\/](src|dist)[\\/]/, /[\\/]@refs[\\/]core[\\/]/, /^node:/];

export function registerInternalFrames(pattern: RegExp): void {
  internal.push(pattern);
}

const FRAME = /^\s*at (?:(.*?) \()?(.*?):(\d+):(\d+)\)?$/;

export function captureSite(): CreationSite | undefined {
  const prevLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 30;
  const stack = new Error().stack ?? "";
  Error.stackTraceLimit = prevLimit;
  for (const line of stack.split("\n").slice(1)) {
    const m = FRAME.exec(line);
    if (!m) continue;
    const file = stripFileUrl(m[2]!);
    if (internal.some((r) => r.test(file))) continue;
    return { location: `${file}:${m[3]}:${m[4]}`, creator: creatorName(m[1]) };
  }
  return undefined;
}

function stripFileUrl(f: string): string {
  return f.startsWith("file://") ? decodeURIComponent(f.slice(7)) : f;
}

function creatorName(fn: string | undefined): string {
  if (!fn) return "<module>";
  const ctor = /^new (\S+)/.exec(fn);
  if (ctor) return `${ctor[1]} constructor`;
  // "Object.foo", "Block.call" → keep as is; strip "async ".
  return fn.replace(/^async /, "");
}

/** Where the function `fn` was defined, as `file:line`, when the runtime tells (V8 does via a probe). */
export function definitionSite(fn: Function): string | undefined {
  return (fn as { __refsSite?: string }).__refsSite;
}
