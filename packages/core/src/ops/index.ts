/**
 * The ops layer: numpy-style functions over Arrays (and JS scalars), each
 * reducing to primitives through `bind`. `np` is the namespace object; the
 * same functions are named exports here (`var_` for `np.var`), with the
 * shared helpers (promotion, broadcasting, axis parsing) of `util.ts`.
 */
export * from "./util.js";
export * from "./elementwise.js";
export * from "./reduce.js";
export * from "./shape.js";
export * from "./creation.js";
export * from "./linalg.js";
export * from "./lax.js";
export { np, type NumpyNamespace } from "./np.js";
