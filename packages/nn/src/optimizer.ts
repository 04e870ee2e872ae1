/**
 * `Optimizer(model, tx, {wrt})`: an optax-style GradientTransformation bound
 * to the `wrt` part of a model. Its state lives in `OptState` Variables (refs
 * under `useRefs(true)`), so `optimizer.update(model, grads)` inside a jitted
 * train step updates parameters and optimizer state in place.
 */
import { Array, np, tree, type DType } from "@refs/core";
import type { GradientTransformation } from "@refs/optim";
import { state, update, type Filter, State } from "./graph.js";
import { Pytree } from "./module.js";
import { OptState, Variable } from "./variable.js";

const isVariable = (x: unknown) => x instanceof Variable;

/** The Arrays of a pytree whose leaves may be Variables. */
function values<T>(x: T): T {
  const [leaves, td] = tree.flatten(x, isVariable);
  return tree.unflatten(
    td,
    leaves.map((l) => (l instanceof Variable ? l.value : l)),
  ) as T;
}

export class Optimizer extends Pytree {
  /** Number of updates applied (uint32). */
  step: OptState;
  /** The transformation's state, as OptState Variables. */
  optState: unknown;
  readonly tx: GradientTransformation<any>;
  readonly wrt: Filter;

  constructor(model: unknown, tx: GradientTransformation<any>, opts: { wrt?: Filter } = {}) {
    super();
    if (opts.wrt === undefined)
      throw new TypeError(
        "Optimizer requires the `wrt` argument (e.g. `new Optimizer(model, tx, { wrt: Param })`) to say which Variables it updates",
      );
    this.tx = tx;
    this.wrt = opts.wrt;
    this.step = new OptState(np.array(0, { dtype: "uint32" as DType }));
    const init = tx.init(values(state(model, opts.wrt)));
    const [leaves, td] = tree.flatten(init);
    this.optState = tree.unflatten(
      td,
      leaves.map((l) => (l instanceof Array ? new OptState(l) : l)),
    );
  }

  /** Apply `tx` to `grads` (a State like `state(model, wrt)`) and update the model and this optimizer in place. */
  update(model: unknown, grads: unknown): void {
    if (grads === undefined)
      throw new TypeError("Optimizer.update requires the gradients: `optimizer.update(model, grads)`");
    const params = values(state(model, this.wrt));
    const g = values(grads);
    const [pl, ptd] = tree.flatten(params);
    const [gl, gtd] = tree.flatten(g);
    if (!ptd.equals(gtd))
      throw new TypeError(`Optimizer.update: the gradients' structure ${gtd} does not match the parameters' ${ptd}`);
    const [updates, newState] = this.tx.update(g, values(this.optState), params);
    const [ul] = tree.flatten(updates);
    const newParams = tree.unflatten(
      ptd,
      pl.map((p, i) => (p as Array).add((ul[i] as Array).astype((p as Array).dtype))),
    );
    update(model, newParams as State);
    // Write the new optimizer state into the OptState Variables.
    const [vars] = tree.flatten(this.optState, isVariable);
    const [vals] = tree.flatten(newState);
    vars.forEach((v, i) => {
      if (v instanceof Variable) v.set(vals[i] as Array);
    });
    this.step.set(this.step.value.add(1));
    void gl;
  }
}
