/**
 * refs: jitted with `@refs/trace`, models with `@refs/nn` holding refs, Adam
 * from `@refs/optim`. The Block train step is the notebook's cell 8 program.
 */
import { Array, np } from "@refs/core";
import { jit, valueAndGrad } from "@refs/trace";
import * as nn from "@refs/nn";
import { adam } from "@refs/optim";
import type { Impl } from "../harness.js";
import { ADAM, CHECK_PARAMS, CHECK_STEPS, DROPOUT, type NetInit } from "../data.js";
import type { Kernels } from "./kernels.js";

const f32 = (a: Array): Promise<Float32Array> => a.data().then((d) => Float32Array.from(d as ArrayLike<number>));

/** Run `f` on inputs, wait for the result on the host, free it. */
function unary(f: (...xs: Array[]) => Array, inputs: Array[]): Impl {
  return {
    async run() {
      const y = f(...inputs);
      await y.data();
      y.dispose();
    },
    async check() {
      const y = f(...inputs);
      const d = await f32(y);
      y.dispose();
      return d;
    },
    dispose() {
      for (const x of inputs) x.dispose();
    },
  };
}

// ---- the notebook's cell 7 (Block), as written there ------------------------------------

class Linear extends nn.Module {
  kernel: nn.Param;
  bias: nn.Param;
  constructor(inFeatures: number, outFeatures: number, { rngs }: { rngs: nn.Rngs }) {
    super();
    this.kernel = new nn.Param(np.zeros([inFeatures, outFeatures])); // the notebook: random.normal(rngs.next(), …); set from the shared init below
    this.bias = new nn.Param(np.zeros([outFeatures]));
    void rngs.next();
  }
  call(x: Array): Array {
    return x.matmul(this.kernel.value).add(this.bias.get(null));
  }
}

class Block extends nn.Module {
  linear: Linear;
  bn: nn.BatchNorm;
  dropout: nn.Dropout;
  linearOut: Linear;
  constructor(din: number, dmid: number, dout: number, { rngs, deterministic = false }: { rngs: nn.Rngs; deterministic?: boolean }) {
    super();
    this.linear = new Linear(din, dmid, { rngs });
    this.bn = new nn.BatchNorm(dmid, { rngs });
    this.dropout = new nn.Dropout(DROPOUT, { rngs, deterministic });
    this.linearOut = new Linear(dmid, dout, { rngs });
  }
  call(x: Array): Array {
    x = nn.gelu(this.dropout.call(this.bn.call(this.linear.call(x))));
    return this.linearOut.call(x);
  }
}

// ---- apps/mnist's classifier (784-512-512-10, Linear → BatchNorm → relu → Dropout) ----------

class Mlp extends nn.Module {
  linear1: nn.Linear;
  bn1: nn.BatchNorm;
  dropout1: nn.Dropout;
  linear2: nn.Linear;
  bn2: nn.BatchNorm;
  dropout2: nn.Dropout;
  linearOut: nn.Linear;
  constructor(din: number, dhidden: number, dout: number, { rngs, deterministic = false }: { rngs: nn.Rngs; deterministic?: boolean }) {
    super();
    this.linear1 = new nn.Linear(din, dhidden, { rngs });
    this.bn1 = new nn.BatchNorm(dhidden, { rngs });
    this.dropout1 = new nn.Dropout(DROPOUT, { rngs, deterministic });
    this.linear2 = new nn.Linear(dhidden, dhidden, { rngs });
    this.bn2 = new nn.BatchNorm(dhidden, { rngs });
    this.dropout2 = new nn.Dropout(DROPOUT, { rngs, deterministic });
    this.linearOut = new nn.Linear(dhidden, dout, { rngs });
  }
  call(x: Array): Array {
    x = this.dropout1.call(nn.relu(this.bn1.call(this.linear1.call(x))));
    x = this.dropout2.call(nn.relu(this.bn2.call(this.linear2.call(x))));
    return this.linearOut.call(x);
  }
}

/** One prepared model + optimizer + jitted step; `step()` returns the loss array. */
function trainer(init: NetInit, deterministic: boolean): { step(): Array; firstKernel(): Promise<Float32Array>; dispose(): void } {
  const x = np.array(init.x).reshape([init.batch, init.layers[0]!.din]);
  if (init.name === "block") {
    const [model, optimizer] = nn.useRefs(true, () => {
      const model = new Block(2, 64, 3, { rngs: new nn.Rngs(0), deterministic });
      return [model, new nn.Optimizer(model, adam(ADAM.lr), { wrt: nn.Param })] as const;
    });
    const [l1, l2] = init.layers as [NetInit["layers"][0], NetInit["layers"][0]];
    model.linear.kernel.set(np.array(l1.kernel).reshape([l1.din, l1.dout]));
    model.linear.bias.set(np.array(l1.bias));
    model.linearOut.kernel.set(np.array(l2.kernel).reshape([l2.din, l2.dout]));
    model.linearOut.bias.set(np.array(l2.bias));
    const y = np.array(init.y).reshape([init.batch, l2.dout]);

    // The notebook's cell 8, verbatim.
    const trainStep = jit(function trainStep(model: Block, optimizer: nn.Optimizer, x: Array, y: Array) {
      const [graphdef, params, nondiff] = nn.split(model, nn.Param, "...");
      const lossFn = (params: nn.State) => {
        const model = nn.merge<Block>(graphdef, params, nondiff);
        return model.call(x).sub(y).square().mean();
      };
      const [loss, grads] = valueAndGrad(lossFn)(nn.toArrays(params)); // freeze ArrayRefs for grad
      optimizer.update(model, grads);
      return loss;
    });
    return {
      step: () => trainStep(model, optimizer, x, y) as Array,
      firstKernel: () => f32(model.linear.kernel.get()),
      dispose() {
        x.dispose();
        y.dispose();
      },
    };
  }

  const [l1, l2, l3] = init.layers as [NetInit["layers"][0], NetInit["layers"][0], NetInit["layers"][0]];
  const [model, optimizer] = nn.useRefs(true, () => {
    const model = new Mlp(l1.din, l1.dout, l3.dout, { rngs: new nn.Rngs(0), deterministic });
    return [model, new nn.Optimizer(model, adam(ADAM.lr), { wrt: nn.Param })] as const;
  });
  for (const [lin, l] of [
    [model.linear1, l1],
    [model.linear2, l2],
    [model.linearOut, l3],
  ] as const) {
    lin.kernel.set(np.array(l.kernel).reshape([l.din, l.dout]));
    (lin.bias as nn.Param).set(np.array(l.bias));
  }
  const labels = np.array(init.labels!);
  const numClasses = l3.dout;
  const lossFn = (model: Mlp, x: Array, y: Array): Array => {
    const logp = nn.logSoftmax(model.call(x));
    return logp.mul(nn.oneHot(y, numClasses)).sum(-1).mean().neg();
  };
  // apps/mnist's train step.
  const trainStep = jit(function trainStep(model: Mlp, optimizer: nn.Optimizer, x: Array, y: Array) {
    const [graphdef, params, nondiff] = nn.split(model, nn.Param, "...");
    const [loss, grads] = valueAndGrad((params: nn.State) => lossFn(nn.merge<Mlp>(graphdef, params, nondiff), x, y))(nn.toArrays(params));
    optimizer.update(model, grads);
    return loss;
  });
  return {
    step: () => trainStep(model, optimizer, x, labels) as Array,
    firstKernel: () => f32(model.linear1.kernel.get()),
    dispose() {
      x.dispose();
      labels.dispose();
    },
  };
}

export const refsKernels: Kernels = {
  async matmul(a, b, n) {
    const f = jit((a: Array, b: Array) => a.matmul(b));
    return unary(f as (...xs: Array[]) => Array, [np.array(a).reshape([n, n]), np.array(b).reshape([n, n])]);
  },
  async gelu(x) {
    const f = jit((x: Array) => nn.gelu(x));
    return unary(f as (...xs: Array[]) => Array, [np.array(x)]);
  },
  async rowSum(x, rows, cols) {
    const f = jit((x: Array) => x.sum(1));
    return unary(f as (...xs: Array[]) => Array, [np.array(x).reshape([rows, cols])]);
  },
  async softmax(x, rows, cols) {
    const f = jit((x: Array) => nn.softmax(x, -1));
    return unary(f as (...xs: Array[]) => Array, [np.array(x).reshape([rows, cols])]);
  },
  async train(init) {
    const t = trainer(init, false);
    return {
      async run() {
        const loss = t.step();
        await loss.data();
        loss.dispose();
      },
      async check() {
        const c = trainer(init, true);
        const out: number[] = [];
        for (let i = 0; i < CHECK_STEPS; i++) {
          const loss = c.step();
          out.push((await loss.data())[0] as number);
          loss.dispose();
        }
        out.push(...(await c.firstKernel()).subarray(0, CHECK_PARAMS));
        c.dispose();
        return Float32Array.from(out);
      },
      dispose: () => t.dispose(),
    };
  },
};
