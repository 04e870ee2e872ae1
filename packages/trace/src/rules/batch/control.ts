/**
 * Batching rules for calls and control flow: jit_call, scan, cond, while.
 * Sub-programs are batched by staging `batchProgram` on them
 * (`batchSubprogram`); batched operands are canonicalised to axis 0 (for
 * scan's xs: axis 1 of the stacked array, so axis 0 of each step).
 *
 * - scan/while: a carry that becomes batched in the body must be batched from
 *   the start; which carries are batched is found by iterating to a fixpoint.
 * - cond with a batched predicate runs every branch and selects per example;
 *   while with a batched predicate runs while any example's predicate holds and
 *   keeps the carry of the finished examples (select).
 */
import { Array, bind, bind1, primitives as P, type Aval, type Params, type Program, type Value } from "@refs/core";
import { batchProgram, batchSubprogram, defBatch, probeOutDims, type BDim, type BatchedSub } from "../../batching.js";
import { evalProgram } from "../../eval.js";
import { stageFlat } from "../../staging.js";
import { broadcastLeading, clampScalar, frontOrNull, full, moveBdim, toFront, toI32 } from "./util.js";

const canon = (dims: readonly BDim[]): BDim[] => dims.map((d) => (d === null ? null : 0));

// ---- jit_call --------------------------------------------------------------------------------

defBatch(P.jitCall, (args, dims, params, size) => {
  const { program, name } = params as { program: Program; name: string };
  const ins = args.map((x, i) => frontOrNull(x, dims[i]!));
  const sub = batchSubprogram(program, canon(dims), size, undefined, name);
  const outs = bind(P.jitCall, [...sub.consts, ...ins], { program: sub.program, name }) as Array[];
  return [outs, sub.outDims];
});

// ---- scan ---------------------------------------------------------------------------------------

defBatch(P.scan, (args, dims, params, size) => {
  const { body, numConsts: nc, numCarry: nk } = params as { body: Program; numConsts: number; numCarry: number };
  const consts = args.slice(0, nc).map((x, i) => frontOrNull(x, dims[i]!));
  const constD = canon(dims.slice(0, nc));
  const carry = args.slice(nc, nc + nk);
  const carryD0 = dims.slice(nc, nc + nk);
  const xs = args.slice(nc + nk);
  const xsD = dims.slice(nc + nk);
  const xsVals = xs.map((x, i) => (xsD[i] === null ? x : moveBdim(x, xsD[i]!, 1)));
  const xsBodyD = canon(xsD);
  let carryB = carryD0.map((d) => d !== null);
  const inDims = () => [...constD, ...carryB.map((b) => (b ? 0 : null)), ...xsBodyD];
  for (;;) {
    const od = probeOutDims(body, inDims(), size);
    const next = carryB.map((b, k) => b || od[k] !== null);
    if (next.every((b, k) => b === carryB[k])) break;
    carryB = next;
  }
  const sub = batchSubprogram(body, inDims(), size, (outs, od) => {
    const o = outs.map((x, j) => (j < nk ? (carryB[j] ? toFront(x, od[j]!, size) : x) : frontOrNull(x, od[j]!)));
    const d = od.map((x, j) => (j < nk ? (carryB[j] ? 0 : null) : x === null ? null : 0));
    return [o, d];
  });
  const carryVals = carry.map((x, k) => (carryB[k] ? toFront(x, carryD0[k]!, size) : x));
  const outs = bind(P.scan, [...sub.consts, ...consts, ...carryVals, ...xsVals], {
    ...params,
    body: sub.program,
    numConsts: nc + sub.consts.length,
  }) as Array[];
  const outDims = sub.outDims.map((d, j) => (j < nk ? d : d === null ? null : 1));
  return [outs, outDims];
});

// ---- cond -----------------------------------------------------------------------------------------

/** Give batched branches one signature: every branch takes all branches' new constants first. */
function unifyBranches(subs: readonly BatchedSub[], operandAvals: readonly Aval[]): { branches: Program[]; consts: Value[] } {
  if (subs.every((s) => s.consts.length === 0)) return { branches: subs.map((s) => s.program), consts: [] };
  const consts = subs.flatMap((s) => [...s.consts]);
  const constAvals = consts.map((c) => c.aval as Aval);
  let off = 0;
  const branches = subs.map((s) => {
    const start = off;
    off += s.consts.length;
    const staged = stageFlat(
      (...ins) => {
        const mine = ins.slice(start, start + s.consts.length);
        return evalProgram(s.program, [...mine, ...ins.slice(consts.length)]);
      },
      [...constAvals, ...operandAvals],
      { name: s.program.name ?? "branch" },
    );
    if (staged.consts.length) throw new Error("internal error: unifying cond branches produced constants");
    return staged.jaxpr as Program;
  });
  return { branches, consts };
}

defBatch(P.cond, ([index, ...ops], [di, ...dops], params, size) => {
  const { branches } = params as { branches: readonly Program[] };
  const opVals = ops.map((x, i) => frontOrNull(x, dops[i]!));
  const opD = canon(dops);
  if (di === null) {
    const probes = branches.map((b) => probeOutDims(b, opD, size));
    const outB = probes[0]!.map((_, j) => probes.some((p) => p[j] !== null));
    const subs = branches.map((b) =>
      batchSubprogram(b, opD, size, (outs, od) => [
        outs.map((x, j) => (outB[j] ? toFront(x, od[j]!, size) : x)),
        outB.map((b2) => (b2 ? 0 : null)),
      ]),
    );
    const { branches: nb, consts } = unifyBranches(subs, opVals.map((v) => v.aval));
    const outs = bind(P.cond, [index!, ...consts, ...opVals], { branches: nb }) as Array[];
    return [outs, outB.map((b) => (b ? 0 : null))];
  }
  // Batched predicate: run every branch, then select per example.
  const results = branches.map((b) => {
    const r = batchProgram(b, opVals, opD, size);
    return (r.outs as Array[]).map((x, j) => toFront(x, r.outDims[j]!, size));
  });
  const idx = clampScalar(toI32(moveBdim(index!, di, 0)), 0, branches.length - 1);
  let res = results[0]!;
  for (let k = 1; k < branches.length; k++) {
    const isK = bind1(P.eq, [idx, full(k, "int32", idx.shape)]);
    res = res.map((prev, j) => {
      const cand = results[k]![j]!;
      return bind1(P.select, [broadcastLeading(isK, cand.shape), cand, prev]);
    });
  }
  return [res, res.map(() => 0)];
});

// ---- while --------------------------------------------------------------------------------------------

/** any(pred) over the batch: pred bool [B] → bool []. */
function anyOf(pred: Array): Array {
  const asInt = bind1(P.convertElementType, [pred], { newDtype: "int32", weakType: false });
  const m = bind1(P.reduceMax, [asInt], { axes: [0] });
  return bind1(P.gt, [m, full(0, "int32", [])]);
}

defBatch(P.whileLoop, (args, dims, params, size) => {
  const { cond, body, condNumConsts: nc, bodyNumConsts: nb } = params as { cond: Program; body: Program; condNumConsts: number; bodyNumConsts: number };
  const cc = args.slice(0, nc).map((x, i) => frontOrNull(x, dims[i]!));
  const ccD = canon(dims.slice(0, nc));
  const bc = args.slice(nc, nc + nb).map((x, i) => frontOrNull(x, dims[nc + i]!));
  const bcD = canon(dims.slice(nc, nc + nb));
  const carry = args.slice(nc + nb);
  const carryD0 = dims.slice(nc + nb);
  let carryB = carryD0.map((d) => d !== null);
  const cd = () => carryB.map((b) => (b ? 0 : null));
  let predBatched = false;
  for (;;) {
    if (probeOutDims(cond, [...ccD, ...cd()], size)[0] !== null) {
      predBatched = true;
      carryB = carryB.map(() => true);
      break;
    }
    const od = probeOutDims(body, [...bcD, ...cd()], size);
    const next = carryB.map((b, k) => b || od[k] !== null);
    if (next.every((b, k) => b === carryB[k])) break;
    carryB = next;
  }
  const carryVals = carry.map((x, k) => (carryB[k] ? toFront(x, carryD0[k]!, size) : x));
  const outDims = carryB.map((b) => (b ? 0 : null));
  if (!predBatched) {
    const condSub = batchSubprogram(cond, [...ccD, ...cd()], size);
    const bodySub = batchSubprogram(body, [...bcD, ...cd()], size, (outs, od) => [
      outs.map((x, k) => (carryB[k] ? toFront(x, od[k]!, size) : x)),
      cd(),
    ]);
    const outs = bind(P.whileLoop, [...condSub.consts, ...cc, ...bodySub.consts, ...bc, ...carryVals], {
      cond: condSub.program,
      body: bodySub.program,
      condNumConsts: condSub.consts.length + nc,
      bodyNumConsts: bodySub.consts.length + nb,
    }) as Array[];
    return [outs, outDims];
  }
  // Batched predicate: loop while any example's predicate holds; finished examples keep their carry.
  const allD = carry.map(() => 0 as BDim);
  const condSub = batchSubprogram(cond, [...ccD, ...allD], size, (outs, od) => [[anyOf(toFront(outs[0]!, od[0]!, size))], [null]]);
  const bodyStaged = stageFlat(
    (...ins) => {
      const c = ins.slice(0, nc);
      const b = ins.slice(nc, nc + nb);
      const old = ins.slice(nc + nb) as Array[];
      const pr = batchProgram(cond, [...c, ...old], [...ccD, ...allD], size);
      const pred = toFront(pr.outs[0] as Array, pr.outDims[0]!, size);
      const nr = batchProgram(body, [...b, ...old], [...bcD, ...allD], size);
      return old.map((o, k) => {
        const n = toFront(nr.outs[k] as Array, nr.outDims[k]!, size);
        return bind1(P.select, [broadcastLeading(pred, o.shape), n, o]);
      });
    },
    [...cc, ...bc, ...carryVals].map((v) => v.aval),
    { name: body.name ?? "while_body" },
  );
  const outs = bind(P.whileLoop, [...condSub.consts, ...cc, ...bodyStaged.consts, ...cc, ...bc, ...carryVals], {
    cond: condSub.program,
    body: bodyStaged.jaxpr as Program,
    condNumConsts: condSub.consts.length + nc,
    bodyNumConsts: bodyStaged.consts.length + nc + nb,
  } as unknown as Params) as Array[];
  return [outs, outDims];
});
