/**
 * The code buffer of one generated Wasm function (a fused kernel's `job`):
 * typed locals, each value evaluated into a fresh local (TurboFan allocates
 * registers from SSA anyway), vector constants read from the module's
 * constant table, and the scalar functions the module imports.
 */
import { FnBuilder, F32, F64, I32, S, V128, op } from "./emit.js";
import type { Code, VAsm } from "./vmath.js";

export type { Code };
export type Ops = (number | Code)[];

export const kf = (x: number): Code => S.f32x4Const([x, x, x, x]);
export const ki = (x: number): Code => S.i32x4Const([x, x, x, x]);
export const kf64 = (x: number): Code => S.const(Array.from(new Uint8Array(new Float64Array([x, x]).buffer)));
export const get = op.localGet;
/** Reverses the four 32-bit lanes (i8x16.shuffle of a vector with itself). */
export const REVERSE = [12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3];
/** Lanes 2, 3 moved to 0, 1 (for promoting the high half). */
export const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
/** Low halves of two vectors: [a0, a1, b0, b1]. */
export const LOW_HALVES = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

/** Code buffer + locals of the one `job` function. */
export class Gen implements VAsm {
  readonly f = new FnBuilder([I32]);
  buf: number[] = [];
  /** Vector constants, 16 bytes each, read from the module's constant table (at local `cbase`). */
  readonly consts: number[] = [];
  private readonly constAt = new Map<string, number>();
  cbase: Code = [];
  emit(...ops: Ops): void {
    for (const o of ops) {
      if (typeof o === "number") this.buf.push(o);
      else if (o.length === 18 && o[0] === 0xfd && o[1] === 0x0c) for (const b of this.constant(o)) this.buf.push(b);
      else for (const b of o) this.buf.push(b);
    }
  }
  /**
   * Code loading v128 constant `c` from the constant table. TurboFan
   * rematerialises an immediate constant at every use inside a loop (three
   * instructions for a splat) and sinks anything computed from constants back
   * into the loop; a load from memory is one instruction.
   */
  private constant(c: Code): Code {
    const key = c.join(",");
    let at = this.constAt.get(key);
    if (at === undefined) {
      at = this.consts.length;
      this.consts.push(...c.slice(2));
      this.constAt.set(key, at);
    }
    return [...this.cbase, ...S.load(at)];
  }
  private tmp(t: number, code: Ops): Code {
    const l = this.f.local(t);
    this.emit(...code, op.localSet(l));
    return get(l);
  }
  /** Evaluates `code` (one value) into a fresh local; returns code pushing it. */
  v(...code: Ops): Code {
    return this.tmp(V128, code);
  }
  i(...code: Ops): Code {
    return this.tmp(I32, code);
  }
  d(...code: Ops): Code {
    return this.tmp(F64, code);
  }
  s(...code: Ops): Code {
    return this.tmp(F32, code);
  }
  local(t: number): number {
    return this.f.local(t);
  }
  vlocal(): number {
    return this.f.local(V128);
  }
  /** Imported scalar functions, in import order (function indices 0..k-1). */
  readonly imports: string[] = [];
  importFn(name: string): number {
    let i = this.imports.indexOf(name);
    if (i < 0) i = this.imports.push(name) - 1;
    return i;
  }
}

