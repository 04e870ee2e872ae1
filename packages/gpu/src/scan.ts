/**
 * `scan` on WebGPU, driven from the host: per iteration, copy row i of each
 * `xs` into a temporary, run the body program on (consts, carry, rows), copy
 * its per-iteration outputs into row i of the stacked `ys`, and carry the
 * rest. The loop is written once (`iterations`, a generator that yields the
 * body's inputs and receives its outputs) and driven synchronously, or with
 * awaits when the body contains a while loop (./while.ts).
 */
import type { Eqn } from "@refs/core";
import type { Enc, EncBackend, Step, SubProgram } from "./encoder.js";
import { deviceBytes } from "./layout.js";

type Get = (s: number) => GPUBuffer;
type GetIn = (get: Get, i: number) => GPUBuffer;
type Base = Pick<Step, "reads" | "writes" | "frees">;

export function scanStep(be: EncBackend, e: Eqn, base: Base, getIn: GetIn, body: SubProgram, source: string): Step {
  const { length, reverse, numConsts: nC, numCarry: nK } = e.params as { length: number; reverse: boolean; numConsts: number; numCarry: number };
  const xSizes = e.inputs.slice(nC + nK).map((a) => (length === 0 ? 0 : a.aval.size / length));
  const ySizes = e.outputs.slice(nK).map((v) => (length === 0 ? 0 : v.aval.size / length));
  const xTypes = e.inputs.slice(nC + nK).map((a) => a.aval.dtype);
  const yTypes = e.outputs.slice(nK).map((v) => v.aval.dtype);

  function* iterations(enc: Enc, get: Get, out: (k: number) => GPUBuffer): Generator<GPUBuffer[], void, GPUBuffer[]> {
    const all = e.inputs.map((_, i) => getIn(get, i));
    const consts = all.slice(0, nC);
    const xs = all.slice(nC + nK);
    let carry = all.slice(nC, nC + nK);
    let own = false;
    for (let t = 0; t < length; t++) {
      const i = reverse ? length - 1 - t : t;
      const xi = xs.map((x, j) => {
        const b = enc.temp(xSizes[j]!, xTypes[j]!);
        enc.copyElems(x, i * xSizes[j]!, b, 0, xSizes[j]!, xTypes[j]!);
        return b;
      });
      const res = yield [...consts, ...carry, ...xi];
      xi.forEach((b) => be.release(b));
      if (own) carry.forEach((b) => be.release(b));
      carry = res.slice(0, nK);
      own = true;
      res.slice(nK).forEach((y, j) => {
        enc.copyElems(y, 0, out(nK + j), i * ySizes[j]!, ySizes[j]!, yTypes[j]!);
        be.release(y);
      });
    }
    carry.forEach((b, k) => {
      enc.copy(b, 0, out(k), 0, deviceBytes(e.outputs[k]!.aval.size, e.outputs[k]!.aval.dtype));
      if (own) be.release(b);
    });
  }

  if (!body.async)
    return {
      ...base,
      source,
      encode(enc, get, out) {
        const it = iterations(enc, get, out);
        for (let r = it.next(); !r.done; r = it.next(body.run(enc, r.value)));
      },
    };
  return {
    ...base,
    source,
    encode: () => {
      throw new Error("internal error: the webgpu scan step contains a while loop and must be encoded asynchronously");
    },
    async encodeAsync(enc, get, out) {
      const it = iterations(enc, get, out);
      for (let r = it.next(); !r.done; r = it.next(await body.runAsync(enc, r.value)));
    },
  };
}
