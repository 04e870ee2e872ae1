/**
 * The CPU backend's path switches ("js" | "wasm" | "auto"), one per kernel
 * family: process-wide, initialised from an environment variable, settable
 * from code so tests can run both paths.
 */
export type CpuImpl = "auto" | "js" | "wasm";

export interface ImplSwitch {
  get(): CpuImpl;
  /** Set the path; returns the previous one. */
  set(impl: CpuImpl): CpuImpl;
}

export function implSwitch(envVar: string): ImplSwitch {
  const v = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[envVar];
  let cur: CpuImpl = v === "js" || v === "wasm" ? v : "auto";
  return {
    get: () => cur,
    set(impl) {
      const prev = cur;
      cur = impl;
      return prev;
    },
  };
}
