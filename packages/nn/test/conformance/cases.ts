/**
 * Backend conformance cases for @refs/nn (layers forward, the notebook's Block
 * train step with nn.Optimizer + adam): run on the CPU by this package's
 * `test/conformance.test.ts` and on other backends (e.g. @refs/gpu) against
 * the CPU. `tol` is the relative float32 tolerance across backends.
 */
import { np, random, type Array } from "@refs/core";
import { jit, valueAndGrad } from "@refs/trace";
import { adam } from "@refs/optim";
import * as nn from "../../src/index.js";

export interface ConformanceCase {
  name: string;
  run: () => Array | Array[];
  tol?: number;
  expected?: number[][];
}

/** The notebook's Linear (apps/notebook/src/main.ts, In [6]). */
export class NotebookLinear extends nn.Module {
  kernel: nn.Param;
  bias: nn.Param;
  constructor(inFeatures: number, outFeatures: number, { rngs }: { rngs: nn.Rngs }) {
    super();
    this.kernel = new nn.Param(random.normal(rngs.next(), [inFeatures, outFeatures]));
    this.bias = new nn.Param(np.zeros([outFeatures]));
  }
  call(x: Array): Array {
    return x.matmul(this.kernel.value).add(this.bias.get(null));
  }
}

/** The notebook's Block (In [7]). */
export class Block extends nn.Module {
  linear: NotebookLinear;
  bn: nn.BatchNorm;
  dropout: nn.Dropout;
  linearOut: NotebookLinear;
  constructor(din: number, dmid: number, dout: number, { rngs }: { rngs: nn.Rngs }) {
    super();
    this.linear = new NotebookLinear(din, dmid, { rngs });
    this.bn = new nn.BatchNorm(dmid, { rngs });
    this.dropout = new nn.Dropout(0.1, { rngs });
    this.linearOut = new NotebookLinear(dmid, dout, { rngs });
  }
  call(x: Array): Array {
    x = nn.gelu(this.dropout.call(this.bn.call(this.linear.call(x))));
    return this.linearOut.call(x);
  }
}

/** The notebook's model, optimizer and jitted train step (In [8]). */
export function makeTrainStep(din = 2, dmid = 64, dout = 3) {
  const [model, optimizer] = nn.useRefs(true, () => {
    const model = new Block(din, dmid, dout, { rngs: new nn.Rngs(0) });
    return [model, new nn.Optimizer(model, adam(1e-3), { wrt: nn.Param })] as const;
  });
  const trainStep = jit(function trainStep(model: Block, optimizer: nn.Optimizer, x: Array, y: Array) {
    const [graphdef, params, nondiff] = nn.split(model, nn.Param, "...");
    const lossFn = (params: nn.State) => {
      const model = nn.merge<Block>(graphdef, params, nondiff);
      return model.call(x).sub(y).square().mean();
    };
    const [loss, grads] = valueAndGrad(lossFn)(nn.toArrays(params));
    optimizer.update(model, grads);
    return loss as Array;
  });
  return { model, optimizer, trainStep };
}

const ramp = (shape: number[], k = 1) => {
  const n = shape.reduce((a, b) => a * b, 1);
  return np.sin(np.arange(n).astype("float32").mul(0.37 * k).add(0.1 * k)).reshape(shape);
};

export const nnCases: ConformanceCase[] = [
  {
    name: "nn.Linear forward",
    run: () => {
      const l = new nn.Linear(5, 4, { rngs: new nn.Rngs(0) });
      return [l.call(ramp([3, 5])), l.kernel.value];
    },
  },
  {
    name: "nn.BatchNorm forward: train (batch stats, running stats updated) and eval",
    run: () => {
      const bn = nn.useRefs(true, () => new nn.BatchNorm(4, { rngs: new nn.Rngs(0) }));
      const x = ramp([8, 4]).mul(3).add(1);
      const y = bn.call(x);
      const mean = bn.mean.value, variance = bn.var.value;
      bn.eval();
      const z = bn.call(x);
      return [y, mean, variance, z];
    },
    tol: 1e-4,
  },
  {
    name: "nn.Dropout forward: train mask from rngs (bit-exact keep pattern) and deterministic",
    run: () => {
      const d = nn.useRefs(true, () => new nn.Dropout(0.5, { rngs: new nn.Rngs(3) }));
      const x = np.ones([4, 16]);
      const a = d.call(x);
      const b = d.call(x);
      d.eval();
      return [a, b, d.call(x)];
    },
  },
  {
    name: "nn.gelu and activations",
    run: () => {
      const x = np.linspace(-4, 4, 33);
      return [nn.gelu(x), nn.relu(x), nn.silu(x), nn.softmax(ramp([3, 5]))];
    },
  },
  {
    name: "the notebook's Block: jitted train step (nn.Optimizer + adam), 3 steps",
    run: () => {
      const { model, optimizer, trainStep } = makeTrainStep();
      const x = ramp([10, 2]), y = ramp([10, 3], 2);
      const losses = [trainStep(model, optimizer, x, y), trainStep(model, optimizer, x, y), trainStep(model, optimizer, x, y)];
      // Not compared: linear.bias and bn.mean. BatchNorm cancels linear.bias, so
      // its gradient is rounding noise (~1e-9) that adam's first steps turn into
      // +-lr moves whose sign depends on the backend's summation order.
      return [...losses, model.linear.kernel.value, model.linearOut.kernel.value, model.linearOut.bias.value, model.bn.var.value, model.bn.scale!.value];
    },
    tol: 1e-4,
  },
];
