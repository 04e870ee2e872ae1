/**
 * jax-js: every workload under `jit`, with its reference-counted ownership
 * (each use of an array consumes it; `.ref` keeps one for later). The train
 * steps are forward + `valueAndGrad` + a hand-written Adam (there is no
 * @jax-js/optax on npm), all inside one jitted function.
 */
import type { Array as JArray, Device } from "@jax-js/jax";
import type { BackendName, Impl } from "../harness.js";
import { ADAM, BN, CHECK_PARAMS, CHECK_STEPS, DROPOUT, type NetInit } from "../data.js";
import type { Jax } from "../env.js";
import type { Kernels } from "./kernels.js";

type Params = { k: JArray[]; b: JArray[]; scale: JArray[]; shift: JArray[] };
type Stats = { mean: JArray[]; var: JArray[] };

export function jaxKernels(jax: Jax): Kernels {
  const { numpy: np, nn, lax, random, tree } = jax;
  const dev = (b: BackendName): Device => b as Device;

  /** A jitted function of `inputs` (kept: passed as `.ref`), the result read back (which frees it). */
  function unary(f: ((...xs: JArray[]) => JArray) & { dispose(): void }, inputs: JArray[]): Impl {
    return {
      async run() {
        await f(...inputs.map((x) => x.ref)).data();
      },
      async check() {
        return Float32Array.from((await f(...inputs.map((x) => x.ref)).data()) as ArrayLike<number>);
      },
      dispose() {
        for (const x of inputs) x.dispose();
        f.dispose();
      },
    };
  }

  function trainer(init: NetInit, backend: BackendName, deterministic: boolean) {
    const device = dev(backend);
    const arr = (data: Float32Array, shape: number[]) => np.array(data, { shape, device });
    const bnLayers = init.layers.filter((l) => l.bn);
    const x = arr(init.x, [init.batch, init.layers[0]!.din]);
    const dout = init.layers[init.layers.length - 1]!.dout;
    let y: JArray;
    if (init.labels) {
      const onehot = new Float32Array(init.batch * dout);
      init.labels.forEach((c, i) => (onehot[i * dout + c] = 1));
      y = arr(onehot, [init.batch, dout]);
    } else y = arr(init.y, [init.batch, dout]);

    const act = (h: JArray): JArray => (init.activation === "gelu" ? nn.gelu(h) : nn.relu(h));
    const drop = (h: JArray, key: JArray | undefined): JArray => {
      if (!key) return h;
      const mask = random.bernoulli(key, 1 - DROPOUT, h.shape);
      return np.where(mask, h.div(1 - DROPOUT), 0);
    };

    const lossFn = (p: Params, x: JArray, y: JArray, keys: JArray[], stats: Stats): [JArray, Stats] => {
      let h = x;
      const newStats: Stats = { mean: [], var: [] };
      let j = 0;
      init.layers.forEach((layer, i) => {
        h = np.matmul(h, p.k[i]!).add(p.b[i]!);
        if (!layer.bn) return;
        const mu = np.mean(h.ref, 0);
        const c = h.sub(mu.ref);
        const v = np.mean(np.square(c.ref), 0);
        h = c.div(np.sqrt(v.ref.add(BN.eps))).mul(p.scale[j]!).add(p.shift[j]!);
        newStats.mean.push(stats.mean[j]!.mul(BN.momentum).add(lax.stopGradient(mu).mul(1 - BN.momentum)));
        newStats.var.push(stats.var[j]!.mul(BN.momentum).add(lax.stopGradient(v).mul(1 - BN.momentum)));
        h = init.dropoutFirst ? act(drop(h, keys[j])) : drop(act(h), keys[j]);
        j++;
      });
      let loss: JArray;
      if (init.labels) loss = np.mean(np.sum(nn.logSoftmax(h, -1).mul(y), -1)).neg();
      else loss = np.mean(np.square(h.sub(y)));
      return [loss, newStats];
    };

    const stepFn = jax.jit(function trainStep(p: Params, m: Params, v: Params, c1: JArray, c2: JArray, x: JArray, y: JArray, keys: JArray[], stats: Stats) {
      const [[loss, newStats], g] = jax.valueAndGrad(lossFn, { hasAux: true })(tree.ref(p), x, y, keys, stats) as [[JArray, Stats], Params];
      const np_: Params = { k: [], b: [], scale: [], shift: [] };
      const nm: Params = { k: [], b: [], scale: [], shift: [] };
      const nv: Params = { k: [], b: [], scale: [], shift: [] };
      for (const name of ["k", "b", "scale", "shift"] as const) {
        p[name].forEach((pi, i) => {
          const gi = g[name][i]!;
          const mi = m[name][i]!.mul(ADAM.b1).add(gi.ref.mul(1 - ADAM.b1));
          const vi = v[name][i]!.mul(ADAM.b2).add(np.square(gi).mul(1 - ADAM.b2));
          const update = mi.ref.mul(c1.ref).div(np.sqrt(vi.ref.mul(c2.ref)).add(ADAM.eps)).mul(ADAM.lr);
          np_[name].push(pi.sub(update));
          nm[name].push(mi);
          nv[name].push(vi);
        });
      }
      c1.dispose();
      c2.dispose();
      return [loss, np_, nm, nv, newStats] as [JArray, Params, Params, Params, Stats];
    });

    const params = (): Params => ({
      k: init.layers.map((l) => arr(l.kernel, [l.din, l.dout])),
      b: init.layers.map((l) => arr(l.bias, [l.dout])),
      scale: bnLayers.map((l) => np.ones([l.dout], { device })),
      shift: bnLayers.map((l) => np.zeros([l.dout], { device })),
    });
    const zerosLike = (p: Params): Params => tree.map((a: JArray) => np.zeros(a.shape, { device }), p) as Params;
    const state = {
      p: params(),
      m: null as unknown as Params,
      v: null as unknown as Params,
      stats: { mean: bnLayers.map((l) => np.zeros([l.dout], { device })), var: bnLayers.map((l) => np.ones([l.dout], { device })) } as Stats,
      t: 0,
      seed: 1,
    };
    state.m = zerosLike(state.p);
    state.v = zerosLike(state.p);

    return {
      /** One step; returns the loss (owned by the caller). */
      step(): JArray {
        state.t++;
        const c1 = np.array([1 / (1 - ADAM.b1 ** state.t)], { device }).reshape([]);
        const c2 = np.array([1 / (1 - ADAM.b2 ** state.t)], { device }).reshape([]);
        const keys = deterministic ? [] : bnLayers.map(() => random.key(state.seed++));
        const [loss, p, m, v, stats] = stepFn(state.p, state.m, state.v, c1, c2, x.ref, y.ref, keys, state.stats);
        Object.assign(state, { p, m, v, stats });
        return loss;
      },
      firstKernel: async () => Float32Array.from((await state.p.k[0]!.ref.data()) as ArrayLike<number>),
      dispose() {
        tree.dispose([state.p, state.m, state.v, state.stats]);
        x.dispose();
        y.dispose();
        stepFn.dispose();
      },
    };
  }

  return {
    async matmul(a, b, n, backend) {
      const f = jax.jit((a: JArray, b: JArray) => np.matmul(a, b));
      return unary(f, [np.array(a, { shape: [n, n], device: dev(backend) }), np.array(b, { shape: [n, n], device: dev(backend) })]);
    },
    async gelu(x, backend) {
      const f = jax.jit((x: JArray) => nn.gelu(x, { approximate: true }));
      return unary(f, [np.array(x, { device: dev(backend) })]);
    },
    async rowSum(x, rows, cols, backend) {
      const f = jax.jit((x: JArray) => np.sum(x, 1));
      return unary(f, [np.array(x, { shape: [rows, cols], device: dev(backend) })]);
    },
    async softmax(x, rows, cols, backend) {
      const f = jax.jit((x: JArray) => nn.softmax(x, -1));
      return unary(f, [np.array(x, { shape: [rows, cols], device: dev(backend) })]);
    },
    async train(init, backend) {
      const t = trainer(init, backend, false);
      return {
        async run() {
          await t.step().data();
        },
        async check() {
          const c = trainer(init, backend, true);
          const out: number[] = [];
          for (let i = 0; i < CHECK_STEPS; i++) out.push((await c.step().data())[0] as number);
          out.push(...(await c.firstKernel()).subarray(0, CHECK_PARAMS));
          c.dispose();
          return Float32Array.from(out);
        },
        dispose: () => t.dispose(),
      };
    },
  };
}
