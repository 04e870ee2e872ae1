/**
 * whileLoop with a data-dependent trip count on webgpu: the queued path
 * (ordering behind a pending loop, frees and disposes meanwhile, errors and
 * device loss surfacing), in-place refs, flat batching, and while
 * inside a jit_call. The shared conformance cases (test/conformance.test.ts)
 * cover the loops themselves against the CPU.
 */
import { describe, expect, it } from "vitest";
import { Var, makeProgram, memory, newRef, np, primitives as P, resetBackend, setBackend, tidy, type Array, type Ref } from "@refs/core";
import { jit, whileLoop } from "@refs/trace";
import { profile, simulateDeviceLoss, type WebGpuBackend } from "../src/index.js";
import { both, hasGpu, settledMemory } from "./setup.js";
import { cpu, expectClose, runOn } from "./util.js";

const data = async (x: Array): Promise<number[]> => [...(await x.data())];
const i32 = (v: number) => np.array(v, { dtype: "int32" });
const gpuBackend = async () => (await setBackend("webgpu")) as WebGpuBackend;
/**
 * A fresh device for memory counts: garbage that earlier tests left on the old
 * one may be finalized at any await, which would move its counts. Every array
 * made on the fresh one is kept alive or disposed explicitly.
 */
const freshBackend = async () => {
  resetBackend("webgpu");
  return gpuBackend();
};

/** r += 1 per trip while the trip count is below n; returns the trips. */
const countUp = () =>
  jit(function countUp(r: Ref, n: Array) {
    return whileLoop(
      (i: Array) => i.lt(n),
      (i: Array) => {
        r.set(r.get().add(1));
        return i.add(1);
      },
      i32(0),
    );
  });

/** sum of x over n trips (x read every iteration). */
const sumN = () => jit((x: Array, n: Array) => whileLoop(([i]: [Array, Array]) => i.lt(n), ([i, s]: [Array, Array]) => [i.add(1), s.add(x)] as [Array, Array], [i32(0), np.zerosLike(x)])[1]);

describe.skipIf(!hasGpu)("whileLoop on webgpu: the queue behind a pending loop", () => {
  it("later executes, eager ops and ref updates run in call order after the loop", async () => {
    const { cpu: want, gpu: got } = await both(() => {
      const r = newRef(np.zeros([4]));
      const count = countUp();
      const bump = jit(function bump(r: Ref) {
        r.set(r.get().add(10));
      });
      const k = count(r, i32(300)) as Array;
      const a = r.get().mul(2); // after the loop: 600
      bump(r); // 310, in place
      const b = r.get();
      const k2 = count(r, i32(3)) as Array; // 313
      const c = np.sum(r.get());
      return [k, a, b, k2, c, r.get()];
    });
    expect(got).toEqual(want);
    expect(got[1]).toEqual([600, 600, 600, 600]);
    expect(got[5]).toEqual([313, 313, 313, 313]);
  });

  it("execute returns before the loop has run; the backend is back on the synchronous path afterwards", async () => {
    const be = await gpuBackend();
    const r = newRef(np.zeros([2]));
    const k = countUp()(r, i32(200)) as Array;
    expect(be.queued).toBeGreaterThan(0);
    const after = np.ones([2]).add(1); // queued behind the loop
    expect(await data(k)).toEqual([200]);
    await be.settled();
    expect(be.queued).toBe(0);
    expect(await data(after)).toEqual([2, 2]);
    expect(await data(r.get())).toEqual([200, 200]);
    expect(profile().loopIterations).toBe(0); // the last execute was the eager read of the ref's value or `after`, not the loop
  });

  it("profile() reports the loop once it has finished: iterations, submits, dispatches", async () => {
    const be = await gpuBackend();
    const f = sumN();
    const s = f(np.ones([3]), i32(500)) as Array;
    expect(await data(s)).toEqual([500, 500, 500]);
    const p = profile();
    expect(p.loopIterations).toBe(500);
    expect(p.submits).toBeGreaterThan(1);
    expect(p.submits).toBeLessThan(500 / 4); // batched: not one round trip per iteration
    expect(p.dispatches).toBeGreaterThanOrEqual(3 * 500);
    expect(be.queued).toBe(0);
  });

  it("whileBatch = 1 reads back after every iteration and gives the same results", async () => {
    const be = await gpuBackend();
    const f = sumN();
    const x = np.linspace(-1, 1, 7);
    const batched = await data(f(x, i32(137)) as Array);
    const b0 = profile();
    be.whileBatch = 1;
    try {
      const single = await data(f(x, i32(137)) as Array);
      const b1 = profile();
      expect(single).toEqual(batched);
      expect(b1.loopIterations).toBe(137);
      // one read per condition evaluated (137 true, 1 false), plus the program's last submit
      expect(b1.submits).toBe(137 + 1 + 1);
      expect(b0.submits).toBeLessThan(b1.submits / 4);
    } finally {
      be.whileBatch = 64;
    }
  });

  it("arrays freed or disposed while a loop is pending keep their buffers until the loop is done", async () => {
    const be = await freshBackend();
    // The loop reads x every iteration; after it, the program allocates a temporary of x's size
    // and reads x again: if x's buffer went back to the pool at dispose, that temporary would be it.
    const f = jit((x: Array, n: Array) => {
      const [, s] = whileLoop(([i]: [Array, Array]) => i.lt(n), ([i, s]: [Array, Array]) => [i.add(1), s.add(np.sum(x))] as [Array, Array], [i32(0), np.zeros([])]);
      return [s, np.cumsum(np.broadcastTo(s, x.shape), 0), x.mul(3)];
    });
    const n = i32(100);
    const ones = np.ones([256]);
    const warm = f(ones, n) as Array[]; // compiled, constants uploaded
    for (const a of warm) await a.data();
    warm.forEach((a) => a.dispose());
    const base = await settledMemory();
    const x = tidy(() => np.arange(256).astype("float32").mul(0.5));
    await x.data();
    const outs = f(x, n) as Array[];
    expect(be.queued).toBeGreaterThan(0);
    x.dispose();
    // New buffers of x's size, written meanwhile (tidy disposes the intermediates while the loop is
    // still pending): none may land in x's buffer before the loop is done either.
    const noise = tidy(() => globalThis.Array.from({ length: 8 }, (_, i) => np.full([256], 1000 + i).add(i)));
    noise.slice(0, 4).forEach((a) => a.dispose());
    const [s, c, x3] = await Promise.all(outs.map(data));
    const sumX = (255 * 256) / 4;
    expect(s).toEqual([100 * sumX]);
    expect(c![255]).toEqual(256 * 100 * sumX);
    expect(x3).toEqual(globalThis.Array.from({ length: 256 }, (_, i) => i * 1.5));
    expect(await data(noise[7]!)).toEqual(new globalThis.Array(256).fill(1014));
    noise.slice(4).forEach((a) => a.dispose());
    outs.forEach((a) => a.dispose());
    await be.settled();
    expect(await settledMemory()).toEqual(base);
    expect([n, ones].every((a) => a.isConcrete)).toBe(true); // kept alive until here
  });

  it("memory stays flat over 200 calls of a jitted loop that updates a ref in place", async () => {
    await freshBackend();
    const zeros = np.zeros([64]);
    const r = newRef(zeros);
    const count = countUp();
    const ns = [0, 1, 2, 3, 4, 5, 6].map(i32);
    let k: Array | undefined;
    let at10: { buffers: number; bytes: number } | undefined;
    for (let i = 1; i <= 200; i++) {
      k?.dispose();
      k = count(r, ns[i % 7]!) as Array;
      if (i === 10) {
        await k.data();
        at10 = await settledMemory();
      }
    }
    await k!.data();
    expect(await settledMemory()).toEqual(at10);
    let want = 0;
    for (let i = 1; i <= 200; i++) want += i % 7;
    const v = r.get();
    expect(await data(v)).toEqual(new globalThis.Array(64).fill(want));
    expect([zeros, ...ns].every((a) => a.isConcrete)).toBe(true); // kept alive until here
  });

  it("a donated ref updated inside the loop keeps its buffer (the output handle is the input's)", async () => {
    const be = await gpuBackend();
    const r = newRef(np.zeros([16]));
    const lowered = countUp().lower(r, i32(5));
    const exe = be.compile(lowered.program);
    const p = lowered.program;
    expect(p.aliases.length).toBe(1);
    const ins = p.inputs.map((v, i) => be.alloc(v.aval, i === p.aliases[0]!.input ? new Float32Array(16).fill(1) : Int32Array.of(5)));
    const outs = be.execute(exe, ins, p.inputs.map((_, i) => i === p.aliases[0]!.input));
    expect(outs[p.aliases[0]!.output]).toBe(ins[p.aliases[0]!.input]);
    expect([...(await be.read(outs[p.aliases[0]!.output]!, p.outputs[p.aliases[0]!.output]!.aval))]).toEqual(new globalThis.Array(16).fill(6));
    ins.forEach((h) => be.free(h));
    outs.forEach((h) => be.free(h));
  });
});

describe.skipIf(!hasGpu)("whileLoop on webgpu: errors", () => {
  it("a validation error while a loop is pending stops it: the awaited read rejects, the next call throws, then work goes on", async () => {
    const be = await gpuBackend();
    // cond is always true: only the error can end this loop.
    const forever = jit((x: Array) => whileLoop((c: Array) => c.ge(0), (c: Array) => c.add(1).mod(1000), x));
    const y = forever(i32(0)) as Array;
    be.pipeline("fn main() { let x: u32 = 1.5; }", 0); // fails validation asynchronously
    await expect(y.data()).rejects.toThrow(/failed while it ran \(its outputs were never computed\)[\s\S]*while compiling this kernel:\nfn main\(\)/);
    await be.settled();
    expect(() => np.ones([2]).mul(2)).toThrow(/while compiling this kernel/);
    expect(await data(np.ones([2]).mul(3))).toEqual([3, 3]);
    await expect(y.data()).rejects.toThrow(/its outputs were never computed/);
    expect(() => y.add(1)).toThrow(/its outputs were never computed/);
  });

  it("a device lost while a loop is pending: the read rejects with the lost-device message instead of hanging", async () => {
    await setBackend("webgpu");
    const forever = jit((x: Array) => whileLoop((c: Array) => c.ge(0), (c: Array) => c.add(1).mod(1000), x));
    const y = forever(i32(0)) as Array;
    const z = y.add(1); // queued behind the loop
    const read = y.data();
    const readZ = z.data();
    await new Promise((r) => setTimeout(r, 50));
    simulateDeviceLoss();
    await expect(read).rejects.toThrow(/webgpu device was lost \(simulated device loss\); call setBackend\("webgpu"\) again/);
    await expect(readZ).rejects.toThrow(/webgpu device was lost/);
    await setBackend("webgpu");
    expect(await data(np.ones([2]).mul(4))).toEqual([4, 4]);
  });

  it("disposing the backend while a loop is pending rejects its reads", async () => {
    await setBackend("webgpu");
    const forever = jit((x: Array) => whileLoop((c: Array) => c.ge(0), (c: Array) => c.add(1).mod(1000), x));
    const y = forever(i32(0)) as Array;
    const read = y.data();
    await new Promise((r) => setTimeout(r, 20));
    resetBackend("webgpu");
    await expect(read).rejects.toThrow(/disposed|lost/);
    await setBackend("webgpu");
    expect(await data(np.ones([2]).mul(5))).toEqual([5, 5]);
  });
});

describe.skipIf(!hasGpu)("whileLoop on webgpu: programs built by hand", () => {
  it("a while inside a jit_call agrees with the CPU backend", async () => {
    const be = await gpuBackend();
    const collatz = jit((n0: Array) =>
      whileLoop(
        ([n]: [Array, Array]) => n.gt(1),
        ([n, k]: [Array, Array]) => [np.where(n.mod(2).eq(0), n.floorDiv(2), n.mul(3).add(1)), k.add(1)] as [Array, Array],
        [n0, i32(0)] as [Array, Array],
      ),
    );
    const inner = collatz.lower(i32(27)).program;
    const v = new Var(inner.inputs[0]!.aval);
    const outs = inner.outputs.map((o) => new Var(o.aval));
    const outer = makeProgram([v], [{ prim: P.jitCall, params: { program: inner, name: "collatz" }, inputs: [v], outputs: outs }], outs, [], "outer");
    for (const n of [27, 1, 97]) {
      const input = [Int32Array.of(n)];
      const want = await runOn(cpu, outer, input);
      const got = await runOn(be, outer, input);
      expect(got).toEqual(want);
    }
    expect(await runOn(be, outer, [Int32Array.of(27)])).toEqual([[1], [111]]);
  });
});
