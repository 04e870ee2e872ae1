import { describe, expect, it } from "vitest";
import { Ref, np, random, type Array } from "@refs/core";
import { grad, jit, scan, valueAndGrad } from "@refs/trace";
import { adam, sgd } from "@refs/optim";
import * as nn from "../src/index.js";

class Block extends nn.Module {
  linear: nn.Linear;
  bn: nn.BatchNorm;
  dropout: nn.Dropout;
  linearOut: nn.Linear;
  constructor(din: number, dmid: number, dout: number, { rngs }: { rngs: nn.Rngs }) {
    super();
    this.linear = new nn.Linear(din, dmid, { rngs });
    this.bn = new nn.BatchNorm(dmid, { rngs });
    this.dropout = new nn.Dropout(0.1, { rngs });
    this.linearOut = new nn.Linear(dmid, dout, { rngs });
  }
  call(x: Array): Array {
    return this.linearOut.call(nn.gelu(this.dropout.call(this.bn.call(this.linear.call(x)))));
  }
}

describe("nn.jit", () => {
  it("returns a module whose refs were created inside, as fresh refs", () => {
    const create = nn.jit(function create(rngs: nn.Rngs) {
      return new Block(2, 8, 3, { rngs });
    });
    const m = nn.useRefs(true, () => create(new nn.Rngs(0)));
    expect(m).toBeInstanceOf(Block);
    expect(m.linear.kernel.hasRef).toBe(true);
    expect(m.linear.kernel.raw).toBeInstanceOf(Ref);
    expect(m.linear.kernel.ref.isConcrete).toBe(true);
    // Same parameters as building eagerly.
    const eager = new Block(2, 8, 3, { rngs: new nn.Rngs(0) });
    expect(m.linear.kernel.value.toJs()).toEqual(eager.linear.kernel.value.toJs());
    // Plain jit refuses the same function.
    const plain = jit(function create(rngs: nn.Rngs) {
      return new Block(2, 8, 3, { rngs });
    });
    expect(() => nn.useRefs(true, () => plain(new nn.Rngs(0)))).toThrow(/cannot be returned/);
  });

  it("refs passed in come back as the same objects, updated", () => {
    const v = nn.useRefs(true, () => new nn.Variable(np.zeros([2])));
    const f = nn.jit((v: nn.Variable) => {
      v.addUpdate(1);
      return v;
    });
    const out = f(v);
    expect(out.raw).toBe(v.raw);
    expect(v.value.toJs()).toEqual([1, 1]);
  });
});

describe("nn.vmap", () => {
  it("batches module construction from forked Rngs: every leaf gets a leading axis", () => {
    const createStack = nn.vmap((rngs: nn.Rngs) => new Block(2, 16, 2, { rngs }));
    const stack = nn.useRefs(true, () => createStack(new nn.Rngs(0).fork({ split: 4 })));
    expect(stack.linear.kernel.shape).toEqual([4, 2, 16]);
    expect(stack.bn.mean.shape).toEqual([4, 16]);
    expect(stack.linear.kernel.hasRef).toBe(true);
    // Layers differ (different keys per example).
    const k = stack.linear.kernel.value;
    expect(k.get(0).toJs()).not.toEqual(k.get(1).toJs());
    // scan over the stack runs each layer.
    const x = random.uniform(random.key(0), [3, 2]);
    const [y] = scan((x: Array, b: Block) => [b.call(x), null] as const, x, stack);
    expect((y as Array).shape).toEqual([3, 2]);
  });
});

describe("Optimizer", () => {
  it("requires wrt, and update requires grads", () => {
    const m = new nn.Linear(2, 2, { rngs: new nn.Rngs(0) });
    expect(() => new nn.Optimizer(m, adam(1e-3))).toThrow(/^Optimizer requires the `wrt` argument/);
    const opt = new nn.Optimizer(m, sgd(0.1), { wrt: nn.Param });
    expect(() => opt.update(m, undefined)).toThrow(/Optimizer.update requires the gradients/);
  });

  it("counts steps and applies sgd exactly, eagerly and in a jitted step through refs", () => {
    const [m, opt] = nn.useRefs(true, () => {
      const m = new nn.Linear(2, 1, { rngs: new nn.Rngs(0) });
      return [m, new nn.Optimizer(m, sgd(0.5), { wrt: nn.Param })] as const;
    });
    expect(opt.step.value.item()).toBe(0);
    expect(opt.step.value.dtype).toBe("uint32");
    const k0 = m.kernel.value.toJs() as number[][];
    const x = np.array([[1, 2]]).astype("float32");
    const step = jit((m: nn.Linear, opt: nn.Optimizer, x: Array) => {
      const [gd, params, rest] = nn.split(m, nn.Param, "...");
      const [loss, g] = valueAndGrad((p: nn.State) => nn.merge<nn.Linear>(gd, p, rest).call(x).sum())(nn.toArrays(params));
      opt.update(m, g);
      return loss;
    });
    step(m, opt, x);
    step(m, opt, x);
    expect(opt.step.value.item()).toBe(2);
    // d(sum(x@k+b))/dk = x^T, /db = 1: two sgd steps subtract 2*0.5*grad.
    const k2 = m.kernel.value.toJs() as number[][];
    expect(k2[0]![0]).toBeCloseTo(k0[0]![0]! - 1, 5);
    expect(k2[1]![0]).toBeCloseTo(k0[1]![0]! - 2, 5);
    expect(m.bias!.value.toJs()).toEqual([-1]);
  });
});

describe("a whole Block", () => {
  it("its gradient matches finite differences (eval mode: deterministic)", () => {
    const model = new Block(3, 8, 2, { rngs: new nn.Rngs(1) }).eval();
    const [gd, params, rest] = nn.split(model, nn.Param, "...");
    const x = random.normal(random.key(3), [5, 3]);
    const lossOf = (p: nn.State) => nn.merge<Block>(gd, p, rest).call(x).square().mean();
    const g = grad(lossOf)(params) as nn.State;
    const flat = nn.stateItems(params);
    const gflat = nn.stateItems(g);
    const eps = 1e-2;
    for (let k = 0; k < flat.length; k++) {
      const v = flat[k]!.value as nn.Variable;
      const gv = (gflat[k]!.value as nn.Variable).value.dataSync();
      const base = v.value.dataSync();
      for (const idx of [0, base.length - 1]) {
        const plus = Float32Array.from(base);
        const minus = Float32Array.from(base);
        plus[idx]! += eps;
        minus[idx]! -= eps;
        const at = (d: Float32Array) =>
          (lossOf(nn.mapState(params, (w, path) => (nn.filterPredicate((p) => p.join(".") === flat[k]!.path.join("."))(path, w) ? (w as nn.Variable).replace(np.array(globalThis.Array.from(d)).astype("float32").reshape(v.shape)) : w))).item() as number);
        const fd = (at(plus) - at(minus)) / (2 * eps);
        expect(Math.abs(gv[idx]! - fd)).toBeLessThan(2e-2 * Math.max(1, Math.abs(fd)));
      }
    }
  });
});
