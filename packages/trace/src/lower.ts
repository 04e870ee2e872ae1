import type { Program } from "@refs/core";
export interface LowerOptions {
  name?: string;
}
export function lowerToStableHlo(p: Program, opts: LowerOptions = {}): string {
  throw new Error(`lowerToStableHlo: not written yet (${opts.name}, ${p.eqns.length} eqns)`);
}
