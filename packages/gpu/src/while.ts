/**
 * `while` with a data-dependent trip count, and the asynchronous encoding of
 * the steps that contain one (jit_call, scan, cond).
 *
 * A while step keeps its carry in its output buffers. Its iterations are
 * encoded in batches under a device-side guard (./guard.ts): per iteration
 * the condition program, a step kernel that folds the condition into the
 * loop's flag, the body program (writing carry leaves in place where the
 * planner's alias rules allow) and guarded copies of the other leaves. After
 * each batch the encoder submits and reads the flag back; the batch doubles
 * (1, 2, 4, ... up to `whileBatch`, and at most MAX_DISPATCHES per submit)
 * while the loop keeps running, so a loop of n trips costs about
 * log2(n) + n / whileBatch host round trips and at most whileBatch - 1
 * iterations' worth of empty dispatches. A loop whose body contains another
 * while reads back after every iteration (its inner loops read back anyway).
 *
 * A cond whose branches contain a while reads its index back and encodes only
 * the chosen branch (running every branch and selecting, as cond does
 * elsewhere, would run loops on data they were never meant to see). scan and
 * jit_call around a while are their synchronous selves with awaits.
 */
import type { Eqn, Program, ShapedArray } from "@refs/core";
import type { Enc, EncBackend, Step, SubProgram } from "./encoder.js";
import { initFlag, kitOf, stepFlag } from "./guard.js";
import { deviceBytes } from "./layout.js";

/** Cap on dispatches encoded per submit inside a loop (host encoding time per batch). */
const MAX_DISPATCHES = 4096;

type Get = (s: number) => GPUBuffer;
/** Buffer of the eqn's input i (literal inputs come from constant buffers). */
type GetIn = (get: Get, i: number) => GPUBuffer;
type Base = Pick<Step, "reads" | "writes" | "frees">;

/** Bytes of the buffer holding a value of this aval. */
const bytes = (a: ShapedArray): number => deviceBytes(a.size, a.dtype);

function runSub(sub: SubProgram, enc: Enc, ins: readonly GPUBuffer[], into?: ReadonlyMap<number, GPUBuffer>): GPUBuffer[] | Promise<GPUBuffer[]> {
  return sub.async ? sub.runAsync(enc, ins, into) : sub.run(enc, ins, into);
}

function syncOnly(name: string): never {
  throw new Error(`internal error: the webgpu ${name} step contains a while loop and must be encoded asynchronously`);
}

export function whileStep(be: EncBackend, e: Eqn, base: Base, getIn: GetIn): Step {
  const P = e.params as { cond: Program; body: Program; condNumConsts: number; bodyNumConsts: number };
  const cond = be.compileInner(P.cond);
  const body = be.compileInner(P.body);
  const cN = P.condNumConsts;
  const bN = P.bodyNumConsts;
  const sizes = e.outputs.map((v) => bytes(v.aval));
  // Carry leaves the body may write in place (elementwise updates like c + 1) need no copy per iteration.
  const inPlace = new Set(body.inPlaceOutputs(e.outputs.map((_, k) => ({ input: bN + k, output: k }))));
  let flag: GPUBuffer | undefined;
  return {
    ...base,
    source: `// while (data-dependent trip count; iterations batched under a device-side flag)\n// cond\n${cond.describe()}\n\n// body\n${body.describe()}`,
    encode: () => syncOnly("while"),
    async encodeAsync(enc, get, out) {
      const ins = e.inputs.map((_, i) => getIn(get, i));
      const cc = ins.slice(0, cN);
      const bc = ins.slice(cN, cN + bN);
      const carry = e.outputs.map((_, k) => out(k));
      ins.slice(cN + bN).forEach((b, k) => b !== carry[k] && enc.copy(b, 0, carry[k]!, 0, sizes[k]!));
      const into = new Map([...inPlace].map((k) => [k, carry[k]!]));
      // One flag per step: a step is never inside its own body, so uses never overlap.
      flag ??= kitOf(be).flag();
      const f = flag;
      initFlag(enc, f);
      const outer = enc.guard;
      enc.guard = f;
      try {
        const nested = cond.async || body.async;
        let batch = 1;
        let cap = nested ? 1 : Math.max(1, be.whileBatch);
        for (;;) {
          const d0 = enc.dispatches;
          for (let t = 0; t < batch; t++) {
            const [c] = await runSub(cond, enc, [...cc, ...carry]);
            stepFlag(enc, f, c!);
            be.release(c!);
            const res = await runSub(body, enc, [...bc, ...carry], into);
            res.forEach((b, k) => {
              if (into.has(k)) return;
              enc.copy(b, 0, carry[k]!, 0, sizes[k]!);
              be.release(b);
            });
          }
          const [on, trips] = await enc.read(f, 8);
          if (!on) {
            enc.trips += trips!;
            return;
          }
          const perIteration = Math.max(1, (enc.dispatches - d0) / batch);
          cap = Math.min(cap, Math.max(1, Math.floor(MAX_DISPATCHES / perIteration)));
          batch = Math.min(batch * 2, cap);
        }
      } finally {
        enc.guard = outer;
      }
    },
  };
}

/** jit_call of a program with a while loop inside. */
export function asyncJitCall(be: EncBackend, e: Eqn, base: Base, getIn: GetIn, sub: SubProgram, source: string): Step {
  return {
    ...base,
    source,
    encode: () => syncOnly("jit_call"),
    async encodeAsync(enc, get, out) {
      const res = await sub.runAsync(
        enc,
        e.inputs.map((_, i) => getIn(get, i)),
      );
      res.forEach((b, k) => {
        enc.copy(b, 0, out(k), 0, bytes(e.outputs[k]!.aval));
        be.release(b);
      });
    },
  };
}

/** cond with a while loop in some branch: read the index back, encode only that branch. */
export function asyncCond(be: EncBackend, e: Eqn, base: Base, getIn: GetIn, branches: readonly SubProgram[], source: string): Step {
  return {
    ...base,
    source,
    encode: () => syncOnly("cond"),
    async encodeAsync(enc, get, out) {
      const [word] = await enc.read(getIn(get, 0), 4);
      const bi = Math.min(Math.max(word! | 0, 0), branches.length - 1);
      const res = await runSub(
        branches[bi]!,
        enc,
        e.inputs.slice(1).map((_, i) => getIn(get, i + 1)),
      );
      res.forEach((b, k) => {
        enc.copy(b, 0, out(k), 0, bytes(e.outputs[k]!.aval));
        be.release(b);
      });
    },
  };
}
