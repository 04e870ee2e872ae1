/**
 * Ops must work on tracers: they may look only at avals, never at values.
 * A minimal abstract trace (shape/dtype only, like jit's staging) checks that
 * every op runs under tracing and infers the JAX result types.
 */
import { describe, expect, test } from "vitest";
import { Array, MainTrace, ShapedArray, Trace, newDynamic, newMain, np, type DType, type Params, type Primitive, type Value } from "../src/index.js";

class AbstractTrace extends Trace {
  lift(x: Value): Value {
    return new Array((x as Array).aval, this, null);
  }
  processPrimitive(prim: Primitive, args: Value[], params: Params): Value[] {
    const avals = args.map((a) => (a as Array).aval);
    return prim.abstractEval(avals, params).map((av) => new Array(av as ShapedArray, this, null));
  }
}

function traced<T>(fn: (mk: (shape: number[], dtype?: DType, weak?: boolean) => Array) => T): T {
  using main = newMain(AbstractTrace) as MainTrace & Disposable;
  // Like jit: make this the dynamic trace so constants built inside ops are staged too.
  using _dyn = newDynamic(main);
  const trace = new AbstractTrace(main);
  return fn((shape, dtype = "float32", weak = false) => new Array(new ShapedArray(shape, dtype, weak), trace, null));
}

const sig = (x: Array) => x.aval.key();

describe("ops on tracers (no value reads)", () => {
  test("elementwise and promotion", () => {
    traced((mk) => {
      const x = mk([2, 3]);
      const i = mk([3], "int32");
      expect(sig(np.add(x, i))).toBe("float32[2,3]");
      expect(sig(i.add(1.5))).toBe("float32~[3]");
      expect(sig(i.add(1))).toBe("int32[3]");
      expect(sig(np.divide(i, 2))).toBe("float32[3]");
      expect(sig(np.floorDivide(i, 2))).toBe("int32[3]");
      expect(sig(np.floorDivide(x, 2))).toBe("float32[2,3]");
      expect(sig(np.mod(x, i))).toBe("float32[2,3]");
      expect(sig(np.power(x, 3))).toBe("float32[2,3]");
      expect(sig(np.power(i, i))).toBe("int32[3]");
      expect(sig(np.power(x, x))).toBe("float32[2,3]");
      expect(sig(np.where(x.gt(0), x, 0))).toBe("float32[2,3]");
      expect(sig(np.round(x))).toBe("float32[2,3]");
      expect(sig(np.exp(i))).toBe("float32[3]");
      expect(sig(np.clip(x, 0, 1))).toBe("float32[2,3]");
      expect(sig(np.logicalAnd(x, i))).toBe("bool[2,3]");
      expect(sig(np.isnan(x))).toBe("bool[2,3]");
      expect(sig(np.rightShift(mk([2], "uint32"), 1))).toBe("uint32[2]");
      // float16 (types only; no backend runs here)
      const h = mk([2], "float16");
      expect(sig(h.mul(0.5))).toBe("float16[2]");
      expect(sig(np.exp(h))).toBe("float16[2]");
      expect(sig(np.add(h, mk([2])))).toBe("float32[2]");
      expect(sig(np.mean(h))).toBe("float16[]");
    });
  });
  test("reductions", () => {
    traced((mk) => {
      const x = mk([4, 5, 6]);
      expect(sig(np.sum(x))).toBe("float32[]");
      expect(sig(np.sum(x, [0, 2], { keepdims: true }))).toBe("float32[1,5,1]");
      expect(sig(np.mean(x, -1))).toBe("float32[4,5]");
      expect(sig(np.mean(mk([3], "int32")))).toBe("float32[]");
      expect(sig(np.var(x, 1))).toBe("float32[4,6]");
      expect(sig(np.std(x, { axis: 0, keepdims: true }))).toBe("float32[1,5,6]");
      expect(sig(np.argmax(x, 1))).toBe("int32[4,6]");
      expect(sig(np.argmin(x))).toBe("int32[]");
      expect(sig(np.logsumexp(x, 2))).toBe("float32[4,5]");
      expect(sig(np.cumsum(x, 1))).toBe("float32[4,5,6]");
      expect(sig(np.max(x, [0, 1]))).toBe("float32[6]");
    });
  });
  test("shapes, joins, products, creation from tracers", () => {
    traced((mk) => {
      const x = mk([2, 3]);
      expect(sig(np.reshape(x, [-1]))).toBe("float32[6]");
      expect(sig(x.T)).toBe("float32[3,2]");
      expect(sig(np.concatenate([x, x], 1))).toBe("float32[2,6]");
      expect(sig(np.stack([x, x], 0))).toBe("float32[2,2,3]");
      expect(sig(np.take(x, np.array([1, 0]), 1))).toBe("float32[2,2]");
      expect(sig(np.matmul(mk([7, 2, 3]), mk([3, 4])))).toBe("float32[7,2,4]");
      expect(sig(np.matmul(mk([1, 2, 3]), mk([5, 3, 4])))).toBe("float32[5,2,4]");
      expect(sig(np.matmul(mk([3]), mk([5, 3, 4])))).toBe("float32[5,4]");
      expect(sig(np.dot(mk([3]), mk([3])))).toBe("float32[]");
      expect(sig(np.outer(mk([2]), mk([3])))).toBe("float32[2,3]");
      expect(sig(np.zerosLike(x))).toBe("float32[2,3]");
      expect(sig(np.fullLike(mk([2], "int32", true), 3))).toBe("int32~[2]");
      expect(sig(np.array([x, x]))).toBe("float32[2,2,3]");
      expect(sig(np.array([mk([], "int32"), 1.5]))).toBe("float32[2]");
      expect(sig(np.split(x, 3, 1)[0]!)).toBe("float32[2,1]");
      expect(sig(np.flip(x, 0))).toBe("float32[2,3]");
      expect(sig(np.astype(x, "int32"))).toBe("int32[2,3]");
      expect(sig(np.bitcastConvertType(x, "uint32"))).toBe("uint32[2,3]");
    });
  });
});
