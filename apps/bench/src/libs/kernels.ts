/** What each library implements: the same math, its idiomatic fastest way. */
import type { BackendName, Impl } from "../harness.js";
import type { NetInit } from "../data.js";

export interface Kernels {
  /** C = A·B, f32, n×n. */
  matmul(a: Float32Array, b: Float32Array, n: number, backend: BackendName): Promise<Impl>;
  /** gelu (tanh approximation), elementwise, fused under jit where the library has one. */
  gelu(x: Float32Array, backend: BackendName): Promise<Impl>;
  /** Sum over each row of a rows×cols matrix. */
  rowSum(x: Float32Array, rows: number, cols: number, backend: BackendName): Promise<Impl>;
  /** Softmax over each row. */
  softmax(x: Float32Array, rows: number, cols: number, backend: BackendName): Promise<Impl>;
  /** One train step (forward, backward, Adam, BatchNorm running stats), dropout on. */
  train(init: NetInit, backend: BackendName): Promise<Impl>;
}
