/**
 * TensorFlow.js: eager ops inside `tf.tidy` (it has no jit), gradients
 * through `optimizer.minimize` (its autodiff) with `tf.train.adam`, gelu by
 * hand (tfjs-core has none), BatchNorm as `tf.moments` + `tf.batchNorm`.
 */
import type { Scalar, Tensor, Variable } from "@tensorflow/tfjs-core";
import type { Impl } from "../harness.js";
import { ADAM, BN, CHECK_PARAMS, CHECK_STEPS, DROPOUT, type NetInit } from "../data.js";
import type { Tf } from "../env.js";
import type { Kernels } from "./kernels.js";

export function tfjsKernels(tf: Tf): Kernels {
  const geluOf = (x: Tensor): Tensor =>
    tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI))), 1));

  /** `f` of `inputs` inside tf.tidy, the result read back and freed. */
  function unary(f: (...xs: Tensor[]) => Tensor, inputs: Tensor[]): Impl {
    return {
      async run() {
        const y = tf.tidy(() => f(...inputs));
        await y.data();
        y.dispose();
      },
      async check() {
        const y = tf.tidy(() => f(...inputs));
        const d = Float32Array.from((await y.data()) as ArrayLike<number>);
        y.dispose();
        return d;
      },
      dispose() {
        for (const x of inputs) x.dispose();
      },
    };
  }

  function trainer(init: NetInit, deterministic: boolean) {
    const bnLayers = init.layers.filter((l) => l.bn);
    const dout = init.layers[init.layers.length - 1]!.dout;
    const x = tf.tensor2d(init.x, [init.batch, init.layers[0]!.din]);
    let y: Tensor;
    if (init.labels) y = tf.cast(tf.oneHot(tf.tensor1d(init.labels, "int32"), dout), "float32");
    else y = tf.tensor2d(init.y, [init.batch, dout]);
    const k = init.layers.map((l) => tf.variable(tf.tensor2d(l.kernel, [l.din, l.dout])));
    const b = init.layers.map((l) => tf.variable(tf.tensor1d(l.bias)));
    const scale = bnLayers.map((l) => tf.variable(tf.ones([l.dout])));
    const shift = bnLayers.map((l) => tf.variable(tf.zeros([l.dout])));
    const runMean = bnLayers.map((l) => tf.variable(tf.zeros([l.dout]), false));
    const runVar = bnLayers.map((l) => tf.variable(tf.ones([l.dout]), false));
    const trainable: Variable[] = [...k, ...b, ...scale, ...shift];
    const optimizer = tf.train.adam(ADAM.lr, ADAM.b1, ADAM.b2, ADAM.eps);
    const act = (h: Tensor) => (init.activation === "gelu" ? geluOf(h) : tf.relu(h));
    const drop = (h: Tensor) => (deterministic ? h : tf.dropout(h, DROPOUT));

    return {
      step(): Scalar {
        return tf.tidy(() => {
          const batchStats: Tensor[] = [];
          const loss = optimizer.minimize(
            () => {
              let h: Tensor = x;
              let j = 0;
              init.layers.forEach((layer, i) => {
                h = tf.add(tf.matMul(h, k[i]!), b[i]!);
                if (!layer.bn) return;
                const { mean, variance } = tf.moments(h, 0);
                h = tf.batchNorm(h, mean, variance, shift[j]!, scale[j]!, BN.eps);
                batchStats.push(tf.keep(mean), tf.keep(variance));
                h = init.dropoutFirst ? act(drop(h)) : drop(act(h));
                j++;
              });
              if (init.labels) return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(h), y), -1))) as Scalar;
              return tf.mean(tf.square(tf.sub(h, y))) as Scalar;
            },
            true,
            trainable,
          )!;
          bnLayers.forEach((_, j) => {
            const [mean, variance] = [batchStats[2 * j]!, batchStats[2 * j + 1]!];
            runMean[j]!.assign(tf.add(tf.mul(runMean[j]!, BN.momentum), tf.mul(mean, 1 - BN.momentum)));
            runVar[j]!.assign(tf.add(tf.mul(runVar[j]!, BN.momentum), tf.mul(variance, 1 - BN.momentum)));
          });
          tf.dispose(batchStats);
          return loss;
        });
      },
      firstKernel: async () => Float32Array.from((await k[0]!.data()) as ArrayLike<number>),
      dispose() {
        tf.dispose([x, y, ...trainable, ...runMean, ...runVar]);
        optimizer.dispose();
      },
    };
  }

  return {
    async matmul(a, b, n) {
      return unary((a, b) => tf.matMul(a!, b!), [tf.tensor2d(a, [n, n]), tf.tensor2d(b, [n, n])]);
    },
    async gelu(x) {
      return unary((x) => geluOf(x!), [tf.tensor1d(x)]);
    },
    async rowSum(x, rows, cols) {
      return unary((x) => tf.sum(x!, 1), [tf.tensor2d(x, [rows, cols])]);
    },
    async softmax(x, rows, cols) {
      return unary((x) => tf.softmax(x!, -1), [tf.tensor2d(x, [rows, cols])]);
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
            out.push((await loss.data())[0]!);
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
}
