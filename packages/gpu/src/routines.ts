/**
 * WGSL for the equations the fusion planner leaves to the backend
 * (gather/scatter, dynamic slices, pad, concatenate,
 * argmax/argmin, cumsum, sort). Shapes are static, so every size and stride
 * is baked into the shader text. A routine is one or more dispatches; each
 * binds equation inputs and outputs by position.
 *
 * float16 elements are moved as f16 (copies, gathers, slices and sorts are
 * exact); where a routine computes (scatter_add, cumsum) or compares
 * (argmax, sort) it widens them to f32, and sums round back to float16 with
 * r16: scatter_add after each update (an f16 add, as XLA's scatter), cumsum
 * once per output from an f32 running sum (a reduction).
 */
import { isFloat, shapeSize, stridesOf, type Eqn } from "@refs/core";
import { F16_PRELUDE, PRELUDE, WG, bindings, countedLoop, grid, lit, loadAs, mainHeader, storeAs, valueType, wgslType } from "./kernels.js";

/** A dispatch binding: an equation input, an output, or a temporary of `temp` elements (u32). */
export type Bind = { in: number } | { out: number } | { temp: number };

export interface Dispatch {
  wgsl: string;
  grid: [number, number];
  binds: Bind[];
  /** A copy of input `in` into output 0, skipped when they share a buffer (in place). */
  copyInto?: boolean;
  label: string;
}


/** WGSL expression of the flat offset of the element whose coordinates (decomposed from `v` over `dims` of `shape`) ... */
function offsetOf(v: string, dims: readonly number[], shape: readonly number[]): string {
  const st = stridesOf(shape);
  const sizes = dims.map((d) => shape[d]!);
  const sub = stridesOf(sizes);
  const terms: string[] = [];
  dims.forEach((d, i) => {
    if (sizes[i] === 1) return;
    let c = sub[i] === 1 ? v : `(${v} / ${sub[i]}u)`;
    const leading = sizes.slice(0, i).every((x) => x === 1);
    if (!leading) c = `(${c} % ${sizes[i]}u)`;
    terms.push(st[d] === 1 ? c : `${c} * ${st[d]}u`);
  });
  return terms.length ? terms.join(" + ") : "0u";
}

export function copyWgsl(n: number, t: string): string {
  return `${bindings([t, t])}\n${mainHeader(n)}\n  b1[i] = b0[i];\n}`;
}

function copyDispatch(n: number, t: string): Dispatch {
  return { wgsl: copyWgsl(n, t), grid: grid(n), binds: [{ in: 0 }, { out: 0 }], copyInto: true, label: "copy" };
}

export function routineDispatches(e: Eqn): Dispatch[] {
  const name = e.prim.name;
  const inA = e.inputs.map((a) => a.aval);
  const out0 = e.outputs[0]!.aval;
  const P = e.params as Record<string, unknown>;
  const T = wgslType(out0.dtype);
  const one = (wgsl: string, n: number, binds: Bind[], g?: [number, number]): Dispatch => ({ wgsl, grid: g ?? grid(n), binds, label: name });
  switch (name) {
    case "pad": {
      const lo = P.lo as number[];
      const interior = P.interior as number[];
      const xs = inA[0]!.shape;
      const os = out0.shape;
      const ost = stridesOf(os);
      const xst = stridesOf(xs);
      const n = out0.size;
      const L = [bindings([T, T, T]), mainHeader(n), "  var src: u32 = 0u; var ok = true;"];
      os.forEach((d, k) => {
        L.push(`  { let c = i32((i / ${ost[k]}u) % ${d}u) - ${lo[k]}i; let s = ${interior[k]! + 1}i;`);
        L.push(`    if (c < 0i || c % s != 0i || c / s >= ${xs[k]}i) { ok = false; } else { src += u32(c / s) * ${xst[k]}u; } }`);
      });
      L.push(`  b2[i] = select(b1[0], b0[select(0u, src, ok)], ok);`, "}");
      return [one(L.join("\n"), n, [{ in: 0 }, { in: 1 }, { out: 0 }])];
    }
    case "concatenate": {
      const dim = P.dimension as number;
      const os = out0.shape;
      const n = out0.size;
      const inner = shapeSize(os.slice(dim + 1));
      const D = os[dim]!;
      const L = [bindings([...inA.map(() => T), T]), mainHeader(n)];
      L.push(`  let outer = i / ${D * inner}u; let c = (i / ${inner}u) % ${D}u; let q = i % ${inner}u;`);
      let at = 0;
      inA.forEach((a, k) => {
        const dk = a.shape[dim]!;
        if (dk === 0) return;
        L.push(`  if (c >= ${at}u && c < ${at + dk}u) { b${inA.length}[i] = b${k}[(outer * ${dk}u + (c - ${at}u)) * ${inner}u + q]; }`);
        at += dk;
      });
      L.push("}");
      return [one(L.join("\n"), n, [...inA.map((_, k) => ({ in: k })), { out: 0 }])];
    }
    case "argmax":
    case "argmin": {
      const axis = P.axis as number;
      const xs = inA[0]!.shape;
      const n = xs[axis]!;
      const inner = shapeSize(xs.slice(axis + 1));
      const m = out0.size;
      const xd = inA[0]!.dtype;
      const isF = isFloat(xd);
      const XT = wgslType(xd);
      const cmp = name === "argmax" ? ">" : "<";
      const L = [bindings([XT, T]), PRELUDE, mainHeader(m)];
      L.push(`  let base = (i / ${inner}u) * ${n * inner}u + i % ${inner}u;`);
      L.push(`  var best = ${loadAs(xd, "b0[base]")}; var bi: u32 = 0u;`);
      const body = [`    let v = ${loadAs(xd, `b0[base + k * ${inner}u]`)};`];
      if (isF) body.push(`    if (isnan_f(v)) { bi = k; found = true; break; }`);
      body.push(`    if (v ${cmp} best) { best = v; bi = k; }`);
      L.push(`  var found = ${isF ? "isnan_f(best)" : "false"};`);
      L.push(`  if (!found) {`, ...countedLoop("k", "1u", n, 1, body), "}");
      L.push(`  b1[i] = ${T}(bi);`, "}");
      return [one(L.join("\n"), m, [{ in: 0 }, { out: 0 }])];
    }
    case "gather": {
      const axis = P.axis as number;
      const xs = inA[0]!.shape;
      const A = xs[axis]!;
      const inner = shapeSize(xs.slice(axis + 1));
      const nI = inA[1]!.size;
      const n = out0.size;
      const L = [bindings([T, "i32", T]), mainHeader(n)];
      L.push(`  let q = i % ${inner}u; let t = (i / ${inner}u) % ${nI}u; let o = i / ${inner * nI}u;`);
      L.push(`  let k = u32(clamp(b1[t], 0i, ${A - 1}i));`);
      L.push(`  b2[i] = b0[(o * ${A}u + k) * ${inner}u + q];`, "}");
      return [one(L.join("\n"), n, [{ in: 0 }, { in: 1 }, { out: 0 }])];
    }
    case "scatter":
    case "scatter_add": {
      const axis = P.axis as number;
      const xs = inA[0]!.shape;
      const A = xs[axis]!;
      const outer = shapeSize(xs.slice(0, axis));
      const inner = shapeSize(xs.slice(axis + 1));
      const nI = inA[1]!.size;
      const m = outer * inner;
      const h = out0.dtype === "float16";
      const upd =
        name !== "scatter_add" ? "b2[s]" : out0.dtype === "bool" ? "b3[d] | b2[s]" : h ? "f16(r16(f32(b3[d]) + f32(b2[s])))" : "b3[d] + b2[s]";
      const L = [bindings([T, "i32", T, T]), ...(h && name === "scatter_add" ? [F16_PRELUDE] : []), mainHeader(m)];
      L.push(`  let o = i / ${inner}u; let q = i % ${inner}u;`);
      L.push(
        ...countedLoop("t", "0u", nI, 1, [
          `    let k = b1[t]; if (k >= 0i && k < ${A}i) {`,
          `    let d = (o * ${A}u + u32(k)) * ${inner}u + q; let s = (o * ${nI}u + t) * ${inner}u + q;`,
          `    b3[d] = ${upd}; }`,
        ]),
        "}",
      );
      const ds: Dispatch[] = [copyDispatch(out0.size, T)];
      if (m > 0 && nI > 0) ds.push(one(L.join("\n"), m, [{ in: 0 }, { in: 1 }, { in: 2 }, { out: 0 }]));
      return ds;
    }
    case "dynamic_slice": {
      const sizes = P.sliceSizes as number[];
      const xs = inA[0]!.shape;
      const n = out0.size;
      const xst = stridesOf(xs);
      const ost = stridesOf(sizes);
      const nd = xs.length;
      const L = [bindings([T, ...xs.map(() => "i32"), T]), mainHeader(n), "  var src: u32 = 0u;"];
      xs.forEach((d, k) => {
        L.push(`  { let s = u32(clamp(b${k + 1}[0], 0i, ${d - sizes[k]!}i)); src += (s + (i / ${ost[k]}u) % ${sizes[k]}u) * ${xst[k]}u; }`);
      });
      L.push(`  b${nd + 1}[i] = b0[src];`, "}");
      return [one(L.join("\n"), n, [{ in: 0 }, ...xs.map((_, k) => ({ in: k + 1 })), { out: 0 }])];
    }
    case "dynamic_update_slice": {
      const xs = inA[0]!.shape;
      const us = inA[1]!.shape;
      const n = inA[1]!.size;
      const xst = stridesOf(xs);
      const ust = stridesOf(us);
      const nd = xs.length;
      const L = [bindings([T, T, ...xs.map(() => "i32"), T]), mainHeader(n), "  var dst: u32 = 0u;"];
      xs.forEach((d, k) => {
        L.push(`  { let s = u32(clamp(b${k + 2}[0], 0i, ${d - us[k]!}i)); dst += (s + (i / ${ust[k]}u) % ${us[k]}u) * ${xst[k]}u; }`);
      });
      L.push(`  b${nd + 2}[dst] = b1[i];`, "}");
      const ds: Dispatch[] = [copyDispatch(out0.size, T)];
      if (n > 0) ds.push(one(L.join("\n"), n, [{ in: 0 }, { in: 1 }, ...xs.map((_, k) => ({ in: k + 2 })), { out: 0 }]));
      return ds;
    }
    case "cumsum": {
      const axis = P.axis as number;
      const reverse = P.reverse as boolean;
      const xs = inA[0]!.shape;
      const n = xs[axis]!;
      const inner = shapeSize(xs.slice(axis + 1));
      const m = out0.size / Math.max(1, n);
      if (out0.size === 0) return [];
      const d = out0.dtype;
      const h = d === "float16";
      const L = [bindings([T, T]), ...(h ? [F16_PRELUDE] : []), mainHeader(m)];
      L.push(`  let base = (i / ${inner}u) * ${n * inner}u + i % ${inner}u;`);
      L.push(`  var acc: ${valueType(d)} = ${lit(0, d)};`);
      L.push(
        ...countedLoop("t", "0u", n, 1, [
          `    let j = base + ${reverse ? `(${n - 1}u - t)` : "t"} * ${inner}u;`,
          `    acc = ${d === "bool" ? "acc | b0[j]" : `acc + ${loadAs(d, "b0[j]")}`}; b1[j] = ${h ? storeAs(d, "r16(acc)") : "acc"};`,
        ]),
        "}",
      );
      return [one(L.join("\n"), m, [{ in: 0 }, { out: 0 }])];
    }
    case "sort":
      return sortDispatches(e);
  }
  throw new Error(`webgpu backend: primitive ${name} is not supported`);
}

/**
 * sort: one workgroup per row runs a bitonic sort of a permutation (in a
 * temporary buffer) with the original position as the last key, which makes
 * it stable; then gathers every operand through the permutation.
 */
function sortDispatches(e: Eqn): Dispatch[] {
  const P = e.params as Record<string, unknown>;
  const dim = P.dimension as number;
  const numKeys = P.numKeys as number;
  const inA = e.inputs.map((a) => a.aval);
  const xs = inA[0]!.shape;
  const n = xs[dim] ?? 1;
  const inner = shapeSize(xs.slice(dim + 1));
  const rows = inA[0]!.size / Math.max(1, n);
  const k = inA.length;
  if (inA[0]!.size === 0) return [];
  if (n > 65536) throw new Error(`webgpu backend: sort along an axis of ${n} elements is not supported yet (at most 65536)`);
  let N = 1;
  while (N < n) N *= 2;
  const types = inA.map((a) => wgslType(a.dtype));
  const pb = 2 * k; // the permutation binding
  const [gx, gy] = grid(rows, 1);
  const L = [bindings([...types, ...types, "u32"]), PRELUDE];
  // gt(a, b): element a sorts after element b (positions within the row at `base`).
  L.push(`fn gt(base: u32, a: u32, b: u32) -> bool {`);
  L.push(`  if (a >= ${n}u || b >= ${n}u) { return a > b; }`);
  for (let q = 0; q < numKeys; q++) {
    const d = inA[q]!.dtype;
    L.push(`  { let x = ${loadAs(d, `b${q}[base + a * ${inner}u]`)}; let y = ${loadAs(d, `b${q}[base + b * ${inner}u]`)};`);
    if (isFloat(d)) {
      L.push(`    let xn = isnan_f(x); let yn = isnan_f(y);`);
      L.push(`    if (xn != yn) { return xn; }`);
      L.push(`    if (!xn) { if (x > y) { return true; } if (x < y) { return false; } } }`);
    } else L.push(`    if (x > y) { return true; } if (x < y) { return false; } }`);
  }
  L.push(`  return a > b;`, `}`);
  L.push(`@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * ${gx}u;
  let live = row < ${rows}u;
  let r = min(row, ${rows - 1}u);
  let base = (r / ${inner}u) * ${n * inner}u + r % ${inner}u;
  let pbase = r * ${N}u;
  if (live) { for (var t: u32 = lid; t < ${N}u; t += ${WG}u) { b${pb}[pbase + t] = t; } }
  storageBarrier(); workgroupBarrier();
  for (var kk: u32 = 2u; kk <= ${N}u; kk = kk << 1u) {
    for (var j: u32 = kk >> 1u; j > 0u; j = j >> 1u) {
      if (live) {
        for (var p: u32 = lid; p < ${N / 2}u; p += ${WG}u) {
          let i = 2u * j * (p / j) + p % j;
          let l = i + j;
          let a = b${pb}[pbase + i]; let b = b${pb}[pbase + l];
          let up = (i & kk) == 0u;
          if (gt(base, a, b) == up) { b${pb}[pbase + i] = b; b${pb}[pbase + l] = a; }
        }
      }
      storageBarrier(); workgroupBarrier();
    }
  }
  if (live) {
    for (var t: u32 = lid; t < ${n}u; t += ${WG}u) {
      let s = b${pb}[pbase + t];`);
  for (let q = 0; q < k; q++) L.push(`      b${k + q}[base + t * ${inner}u] = b${q}[base + s * ${inner}u];`);
  L.push("    }", "  }", "}");
  return [
    {
      wgsl: L.join("\n"),
      grid: [gx, gy],
      binds: [...inA.map((_, q) => ({ in: q })), ...inA.map((_, q) => ({ out: q })), { temp: rows * N }],
      label: "sort",
    },
  ];
}

export { WG };
