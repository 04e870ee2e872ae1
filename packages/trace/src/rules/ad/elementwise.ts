/**
 * JVP and VJP rules of the elementwise primitives. Unary and binary rules are
 * written once as partial derivatives (`d out / d in_i` as arrays of the
 * operand's shape), from which both the JVP (sum of t_i * d_i) and the VJP
 * (ct * d_i) follow; the derivative formulas use only differentiable
 * primitives, so rules nest (grad of grad).
 */
import { Array, bind1, isFloat, primitives as P, type Primitive } from "@refs/core";
import { defJvp, defNonDiff, defVjp, type Ct } from "../../ad.js";
import {
  add,
  div,
  eq,
  exp,
  fullLike,
  ge,
  gt,
  inst,
  log,
  lt,
  mul,
  neg,
  pow,
  select,
  sub,
  sumCts,
  zerosLike,
} from "./util.js";

type Partial = (ins: readonly Array[], out: Array) => Array;

/** Rules from one partial derivative per operand (null: the operand is not differentiable). */
function defPartials(prim: Primitive<any>, partials: readonly (Partial | null)[]): void {
  defJvp(prim, (primals, tangents, params) => {
    const out = bind1(prim, primals, params);
    const terms = partials.map((d, i) => {
      const t = tangents[i] ?? null;
      return d === null || t === null ? null : mul(t, d(primals, out));
    });
    return [[out], [isFloat(out.dtype) ? sumCts(terms) : null]];
  });
  defVjp(prim, ([ct], ins, [out]) =>
    partials.map((d, i) => (d === null || ct == null || !isFloat(ins[i]!.dtype) ? null : mul(ct, d(ins, out!)))),
  );
}

const one = (x: Array) => fullLike(x, 1);
const c = (x: Array, v: number) => fullLike(x, v);

// ---- unary ---------------------------------------------------------------------

defJvp(P.neg, (primals, [t]) => [[neg(primals[0]!)], [t ? neg(t) : null]]);
defVjp(P.neg, ([ct]) => [ct ? neg(ct) : null]);

// d|x|/dx = 1 for x >= 0 (as JAX: grad(abs)(0.) == 1), -1 otherwise.
defPartials(P.abs, [([x]) => select(ge(x!, c(x!, 0)), one(x!), c(x!, -1))]);
defPartials(P.exp, [(_, out) => out]);
defPartials(P.expm1, [(_, out) => add(out, one(out))]);
defPartials(P.log, [([x]) => div(one(x!), x!)]);
defPartials(P.log1p, [([x]) => div(one(x!), add(x!, one(x!)))]);
defPartials(P.sqrt, [(_, out) => div(c(out, 0.5), out)]);
// d/dx x^(-1/2) = -1/2 x^(-3/2) = -0.5 * out / x
defPartials(P.rsqrt, [([x], out) => div(mul(c(out, -0.5), out), x!)]);
defPartials(P.tanh, [(_, out) => sub(one(out), mul(out, out))]);
defPartials(P.logistic, [(_, out) => mul(out, sub(one(out), out))]);
defPartials(P.erf, [([x]) => mul(c(x!, 2 / Math.sqrt(Math.PI)), exp(neg(mul(x!, x!))))]);
defPartials(P.erfInv, [(_, out) => mul(c(out, Math.sqrt(Math.PI) / 2), exp(mul(out, out)))]);
defPartials(P.sin, [([x]) => bind1(P.cos, [x!])]);
defPartials(P.cos, [([x]) => neg(bind1(P.sin, [x!]))]);

// Piecewise-constant functions: zero derivative everywhere they have one.
defNonDiff(P.sign, P.floor, P.ceil, P.round);

// ---- binary --------------------------------------------------------------------

const lin = (prim: Primitive<any>, signs: [number, number]) => {
  defJvp(prim, (primals, tangents) => {
    const out = bind1(prim, primals);
    if (!isFloat(out.dtype)) return [[out], [null]];
    const [tx, ty] = tangents as [Ct, Ct];
    let t: Ct;
    if (tx && ty) t = bind1(prim, [tx, ty]);
    else if (tx) t = tx;
    else if (ty) t = signs[1] < 0 ? neg(ty) : ty;
    else t = null;
    return [[out], [t]];
  });
  defVjp(prim, ([ct], ins) => {
    if (!ct) return [null, null];
    return ins.map((x, i) => (!isFloat(x.dtype) ? null : signs[i]! < 0 ? neg(ct) : ct));
  });
};
lin(P.add, [1, 1]);
lin(P.sub, [1, -1]);

defJvp(P.mul, ([x, y], [tx, ty]) => {
  const out = mul(x!, y!);
  if (!isFloat(out.dtype)) return [[out], [null]];
  return [[out], [sumCts([tx ? mul(tx, y!) : null, ty ? mul(x!, ty) : null])]];
});
defVjp(P.mul, ([ct], [x, y]) => {
  if (!ct || !isFloat(x!.dtype)) return [null, null];
  return [mul(ct, y!), mul(x!, ct)];
});

// out = x / y: d/dx = 1/y, d/dy = -out/y
defJvp(P.div, ([x, y], [tx, ty]) => {
  const out = div(x!, y!);
  if (!isFloat(out.dtype)) return [[out], [null]];
  return [[out], [sumCts([tx ? div(tx, y!) : null, ty ? neg(div(mul(ty, out), y!)) : null])]];
});
defVjp(P.div, ([ct], [x, y], [out]) => {
  if (!ct || !isFloat(x!.dtype)) return [null, null];
  return [div(ct, y!), neg(div(mul(ct, out!), y!))];
});

// rem(x, y) = x - y * trunc(x / y): d/dx = 1, d/dy = -trunc(x / y) (as JAX).
defPartials(P.rem, [
  ([x]) => one(x!),
  ([x, y]) => {
    const q = div(x!, y!);
    return neg(mul(bind1(P.sign, [q]), bind1(P.floor, [bind1(P.abs, [q])])));
  },
]);

// pow: d/dx = y * x^(y-1) (0 where y == 0); d/dy = log(x) * x^y, with log(0) read as 0 (as JAX).
defPartials(P.pow, [
  ([x, y]) => {
    const y0 = eq(y!, c(y!, 0));
    const safeY = select(y0, one(y!), y!);
    return select(y0, zerosLike(y!), mul(safeY, pow(x!, sub(safeY, one(y!)))));
  },
  ([x], out) => {
    const safeX = select(eq(x!, c(x!, 0)), one(x!), x!);
    return mul(log(safeX), out);
  },
]);

// max/min: the derivative goes to the selected operand; ties split it half and half (as JAX).
function extremum(prim: Primitive<any>, wins: (a: Array, b: Array) => Array): void {
  defPartials(prim, [
    ([x, y]) => select(eq(x!, y!), c(x!, 0.5), select(wins(x!, y!), one(x!), zerosLike(x!))),
    ([x, y]) => select(eq(x!, y!), c(y!, 0.5), select(wins(y!, x!), one(y!), zerosLike(y!))),
  ]);
}
extremum(P.max, gt);
extremum(P.min, lt);

// atan2(x, y) = angle of (y, x): d/dx = y / (x² + y²), d/dy = -x / (x² + y²).
defPartials(P.atan2, [
  ([x, y]) => div(y!, add(mul(x!, x!), mul(y!, y!))),
  ([x, y]) => neg(div(x!, add(mul(x!, x!), mul(y!, y!)))),
]);

// ---- select ---------------------------------------------------------------------------

defJvp(P.select, ([p, t, f], [, tt, tf]) => {
  const out = select(p!, t!, f!);
  if (!isFloat(out.dtype) || (!tt && !tf)) return [[out], [null]];
  return [[out], [select(p!, inst(tt ?? null, t!), inst(tf ?? null, f!))]];
});
defVjp(P.select, ([ct], [p, t]) => {
  if (!ct || !isFloat(t!.dtype)) return [null, null, null];
  const z = zerosLike(ct);
  return [null, select(p!, ct, z), select(p!, z, ct)];
});

// ---- non-differentiable elementwise ops --------------------------------------------------

defNonDiff(
  P.eq,
  P.ne,
  P.lt,
  P.le,
  P.gt,
  P.ge,
  P.and,
  P.or,
  P.xor,
  P.not,
  P.shiftLeft,
  P.shiftRightLogical,
  P.shiftRightArithmetic,
  P.isFinite,
  P.threefry2x32,
  P.bitcastConvertType,
  P.iota,
);
