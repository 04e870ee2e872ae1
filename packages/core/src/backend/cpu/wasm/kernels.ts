/**
 * The float32 GEMM Wasm module, generated with emit.ts. It exports one entry
 * point, `job(rec)`, which runs the job record at byte address `rec`
 * (REC_WORDS i32 words; word 0 is the kind, the rest are listed at JOB_*):
 *
 *   KIND_PACK_A: pack MR-row panels [q0, q1) of A [M, K] (element (m, k) at
 *     byte src + m*LD + k*LD2) into Ap: for each KC block k0 (kc = min(KC,
 *     K - k0)), panel p lies at float offset k0*Mpad + p*kc*MR, k-major (MR
 *     floats per k); rows >= M are zero.
 *   KIND_PACK_B: pack NR-column panels [q0, q1) of B [K, N] (element (k, n)
 *     at byte src + k*LD + n*LD2) into Bp: block k0, panel q at k0*Npad +
 *     q*kc*NR, k-major (NR floats per k); columns >= N are zero. LD2 == 4
 *     (rows contiguous) copies with v128 loads; otherwise column by column.
 *   KIND_GEMM: C tile = Ap panels [p0, p0 + mPanels) x Bp panels [q0, q0 + nPanels)
 *     summed over all KC blocks, written to C (byte address of the tile's
 *     top-left element, ldc bytes per row; C must be padded to whole tiles).
 *     The first K block overwrites C, later ones accumulate.
 *
 * The micro-kernel keeps MR x NRV f32x4 accumulators in locals; per k it
 * loads NRV vectors of B and broadcasts MR values of A (v128.load32_splat),
 * accumulating with f32x4.mul + f32x4.add, or f32x4.relaxed_madd when the
 * runtime has relaxed SIMD (`madd`).
 */
import { FnBuilder, I32, V128, emitModule, op } from "./emit.js";

export interface GemmConfig {
  /** Rows of the register tile. */
  mr: number;
  /** f32x4 vectors per tile row (NR = 4 * nrv columns). */
  nrv: number;
  /** K block. */
  kc: number;
  /** k-loop unroll factor. */
  unroll: number;
  /** Use f32x4.relaxed_madd. */
  madd: boolean;
}

export const KIND_GEMM = 0, KIND_PACK_A = 1, KIND_PACK_B = 2;
/** Job record words (after word 0, the kind). */
export const JOB = {
  // gemm
  AP: 1, MPAD: 2, P0: 3, MPANELS: 4, BP: 5, NPAD: 6, Q0: 7, NPANELS: 8, C: 9, LDC: 10, K: 11,
  // pack A / pack B: SRC, LD / LD2 (byte strides: A row / k, B k / column), DST, K,
  // EXT (M or N), PAD (Mpad or Npad), panel range [PQ0, PQ1)
  SRC: 1, LD: 2, DST: 3, PK: 4, EXT: 5, PAD: 6, PQ0: 7, PQ1: 8, LD2: 9,
} as const;
export const REC_WORDS = 12;

/** Loads job words into fresh locals. */
function loadFields(f: FnBuilder, rec: number, words: number[]): number[] {
  return words.map((w) => {
    const l = f.local(I32);
    f.get(rec).emit(op.i32Load(w * 4)).set(l);
    return l;
  });
}

/** kc = min(KC, K - k0) into local `kc`. */
function blockLen(f: FnBuilder, KC: number, K: number, k0: number, kc: number): void {
  f.emit(op.i32Const(KC)).get(K).get(k0).emit(op.i32Sub, op.localTee(kc), op.i32Const(KC)).get(kc).emit(op.i32LtS, op.select).set(kc);
}

function gemmFn(cfg: GemmConfig) {
  const { mr, nrv, kc: KC, unroll } = cfg;
  const NR = 4 * nrv;
  const f = new FnBuilder([I32]);
  const [ap, mpad, p0, mP, bp, npad, q0, nP, c, ldc, K] = loadFields(f, 0, [JOB.AP, JOB.MPAD, JOB.P0, JOB.MPANELS, JOB.BP, JOB.NPAD, JOB.Q0, JOB.NPANELS, JOB.C, JOB.LDC, JOB.K]) as [number, number, number, number, number, number, number, number, number, number, number];
  const L = () => f.local(I32);
  const k0 = L(), kc = L(), p = L(), jp = L(), apk = L(), bpj = L(), cj = L(), aP = L(), bP = L(), cP = L(), kk = L(), first = L();
  const acc: number[][] = [];
  for (let i = 0; i < mr; i++) acc.push(Array.from({ length: nrv }, () => f.local(V128)));
  const bv = Array.from({ length: nrv }, () => f.local(V128));
  const av = f.local(V128);

  const step = (ka: number, kb: number) => {
    for (let v = 0; v < nrv; v++) f.get(bP).emit(op.v128Load(kb + v * 16)).set(bv[v]!);
    for (let i = 0; i < mr; i++) {
      f.get(aP).emit(op.v128Load32Splat(ka + i * 4)).set(av);
      for (let v = 0; v < nrv; v++) {
        if (cfg.madd) f.get(av).get(bv[v]!).get(acc[i]![v]!).emit(op.f32x4RelaxedMadd);
        else f.get(acc[i]![v]!).get(av).get(bv[v]!).emit(op.f32x4Mul, op.f32x4Add);
        f.set(acc[i]![v]!);
      }
    }
  };
  const cRow = (i: number) => {
    f.get(cP);
    if (i > 0) f.get(ldc).emit(op.i32Const(i), op.i32Mul, op.i32Add);
  };

  f.forRange(k0, 0, K, KC, () => {
    blockLen(f, KC, K, k0, kc);
    f.get(k0).emit(op.i32Eqz).set(first);
    // apk = ap + (k0*mpad + p0*kc*MR)*4
    f.get(ap).get(k0).get(mpad).emit(op.i32Mul).get(p0).get(kc).emit(op.i32Mul, op.i32Const(mr), op.i32Mul, op.i32Add, op.i32Const(4), op.i32Mul, op.i32Add).set(apk);
    f.forRange(jp, 0, nP, 1, () => {
      // bpj = bp + (k0*npad + (q0 + jp)*kc*NR)*4 ; cj = c + jp*NR*4
      f.get(bp).get(k0).get(npad).emit(op.i32Mul).get(q0).get(jp).emit(op.i32Add).get(kc).emit(op.i32Mul, op.i32Const(NR), op.i32Mul, op.i32Add, op.i32Const(4), op.i32Mul, op.i32Add).set(bpj);
      f.get(c).get(jp).emit(op.i32Const(NR * 4), op.i32Mul, op.i32Add).set(cj);
      f.forRange(p, 0, mP, 1, () => {
        f.get(apk).get(p).get(kc).emit(op.i32Mul, op.i32Const(mr * 4), op.i32Mul, op.i32Add).set(aP);
        f.get(bpj).set(bP);
        f.get(cj).get(p).get(ldc).emit(op.i32Mul, op.i32Const(mr), op.i32Mul, op.i32Add).set(cP);
        f.get(first).emit(op.if);
        for (let i = 0; i < mr; i++) for (let v = 0; v < nrv; v++) f.emit(op.v128Const0).set(acc[i]![v]!);
        f.emit(op.else);
        for (let i = 0; i < mr; i++) for (let v = 0; v < nrv; v++) (cRow(i), f.emit(op.v128Load(v * 16)).set(acc[i]![v]!));
        f.emit(op.end);
        f.get(kc).set(kk);
        if (unroll > 1) {
          f.emit(op.block, op.loop);
          f.get(kk).emit(op.i32Const(unroll), op.i32LtS, op.brIf(1));
          for (let u = 0; u < unroll; u++) step(u * mr * 4, u * NR * 4);
          f.inc(aP, unroll * mr * 4).inc(bP, unroll * NR * 4).inc(kk, -unroll);
          f.emit(op.br(0), op.end, op.end);
        }
        f.emit(op.block, op.loop);
        f.get(kk).emit(op.i32Const(1), op.i32LtS, op.brIf(1));
        step(0, 0);
        f.inc(aP, mr * 4).inc(bP, NR * 4).inc(kk, -1);
        f.emit(op.br(0), op.end, op.end);
        for (let i = 0; i < mr; i++) for (let v = 0; v < nrv; v++) (cRow(i), f.get(acc[i]![v]!).emit(op.v128Store(v * 16)));
      });
    });
  });
  return f.spec();
}

const FIELDS_PACK = [JOB.SRC, JOB.LD, JOB.DST, JOB.PK, JOB.EXT, JOB.PAD, JOB.PQ0, JOB.PQ1, JOB.LD2];

function packAFn(cfg: GemmConfig) {
  const { mr, kc: KC } = cfg;
  const f = new FnBuilder([I32]);
  const [a, lda, ap, K, M, mpad, q0, q1, ldk] = loadFields(f, 0, FIELDS_PACK) as [number, number, number, number, number, number, number, number, number];
  const L = () => f.local(I32);
  const k0 = L(), kc = L(), p = L(), r = L(), row = L(), k = L(), src = L(), dst = L();
  f.forRange(k0, 0, K, KC, () => {
    blockLen(f, KC, K, k0, kc);
    f.forRange(p, () => f.get(q0), q1, 1, () => {
      f.forRange(r, 0, { c: mr }, 1, () => {
        f.get(p).emit(op.i32Const(mr), op.i32Mul).get(r).emit(op.i32Add).set(row);
        // dst = ap + (k0*mpad + p*kc*MR + r)*4
        f.get(ap).get(k0).get(mpad).emit(op.i32Mul).get(p).get(kc).emit(op.i32Mul, op.i32Const(mr), op.i32Mul, op.i32Add).get(r).emit(op.i32Add, op.i32Const(4), op.i32Mul, op.i32Add).set(dst);
        f.get(row).get(M).emit(op.i32LtS, op.if);
        f.get(a).get(row).get(lda).emit(op.i32Mul, op.i32Add).get(k0).get(ldk).emit(op.i32Mul, op.i32Add).set(src);
        f.forRange(k, 0, kc, 1, () => {
          f.get(dst).get(src).emit(op.f32Load(0), op.f32Store(0));
          f.inc(src, () => f.get(ldk)).inc(dst, mr * 4);
        });
        f.emit(op.else);
        f.forRange(k, 0, kc, 1, () => {
          f.get(dst).emit(op.f32Const0, op.f32Store(0));
          f.inc(dst, mr * 4);
        });
        f.emit(op.end);
      });
    });
  });
  return f.spec();
}

function packBFn(cfg: GemmConfig) {
  const { nrv, kc: KC } = cfg;
  const NR = 4 * nrv;
  const f = new FnBuilder([I32]);
  const [b, ldb, bp, K, N, npad, q0, q1, ldn] = loadFields(f, 0, FIELDS_PACK) as [number, number, number, number, number, number, number, number, number];
  const L = () => f.local(I32);
  const k0 = L(), kc = L(), q = L(), w = L(), k = L(), src = L(), dst = L(), cc = L(), d = L(), s2 = L();
  f.forRange(k0, 0, K, KC, () => {
    blockLen(f, KC, K, k0, kc);
    f.forRange(q, () => f.get(q0), q1, 1, () => {
      // w = N - q*NR; src = b + k0*ldb + q*NR*ldn; dst = bp + (k0*npad + q*kc*NR)*4
      f.get(N).get(q).emit(op.i32Const(NR), op.i32Mul, op.i32Sub).set(w);
      f.get(b).get(k0).get(ldb).emit(op.i32Mul, op.i32Add).get(q).emit(op.i32Const(NR), op.i32Mul).get(ldn).emit(op.i32Mul, op.i32Add).set(src);
      f.get(bp).get(k0).get(npad).emit(op.i32Mul).get(q).get(kc).emit(op.i32Mul, op.i32Const(NR), op.i32Mul, op.i32Add, op.i32Const(4), op.i32Mul, op.i32Add).set(dst);
      f.get(w).emit(op.i32Const(NR), op.i32GeS).get(ldn).emit(op.i32Const(4), op.i32Eq, op.i32And, op.if);
      {
        // full panel, contiguous rows: NRV v128 copies per k
        f.forRange(k, 0, kc, 1, () => {
          for (let v = 0; v < nrv; v++) f.get(dst).get(src).emit(op.v128Load(v * 16), op.v128Store(v * 16));
          f.inc(src, () => f.get(ldb)).inc(dst, NR * 4);
        });
      }
      f.emit(op.else);
      {
        // column by column (strided source or edge panel)
        f.forRange(cc, 0, { c: NR }, 1, () => {
          f.get(dst).get(cc).emit(op.i32Const(4), op.i32Mul, op.i32Add).set(d);
          f.get(cc).get(w).emit(op.i32LtS, op.if);
          f.get(src).get(cc).get(ldn).emit(op.i32Mul, op.i32Add).set(s2);
          f.forRange(k, 0, kc, 1, () => {
            f.get(d).get(s2).emit(op.f32Load(0), op.f32Store(0));
            f.inc(s2, () => f.get(ldb)).inc(d, NR * 4);
          });
          f.emit(op.else);
          f.forRange(k, 0, kc, 1, () => {
            f.get(d).emit(op.f32Const0, op.f32Store(0));
            f.inc(d, NR * 4);
          });
          f.emit(op.end);
        });
      }
      f.emit(op.end);
    });
  });
  return f.spec();
}

/** job(rec): dispatch on the record's kind (functions 1..3). */
function jobFn() {
  const f = new FnBuilder([I32]);
  const kind = f.local(I32);
  f.get(0).emit(op.i32Load(0)).set(kind);
  f.get(kind).emit(op.i32Const(KIND_GEMM), op.i32Eq, op.if).get(0).emit(op.call(1), op.else);
  f.get(kind).emit(op.i32Const(KIND_PACK_A), op.i32Eq, op.if).get(0).emit(op.call(2), op.else);
  f.get(0).emit(op.call(3), op.end, op.end);
  return f.spec();
}

/** The GEMM module bytes (memory imported as "e"."m"). */
export function gemmModuleBytes(cfg: GemmConfig, shared: boolean, maxPages: number): Uint8Array {
  return emitModule(
    [
      { name: "job", fn: jobFn() },
      { name: "gemm", fn: gemmFn(cfg) },
      { name: "packA", fn: packAFn(cfg) },
      { name: "packB", fn: packBFn(cfg) },
    ],
    { shared, minPages: 1, maxPages },
  );
}
