/**
 * Schedules: jittable functions from the step count (an int32 scalar Array)
 * to a float32 scalar Array, with optax's formulas and operation order.
 */
import { Array, np } from "@refs/core";
import { checkNumber, type Schedule } from "./base.js";
import { scheduleValue } from "./numerics.js";

function checkCount(where: string, count: unknown): Array {
  if (!(count instanceof Array)) {
    throw new TypeError(`${where}: the step count must be an int32 scalar Array, got ${count === null ? "null" : typeof count}`);
  }
  return count;
}

/** Always `value`. */
export function constantSchedule(value: number): Schedule {
  checkNumber("constantSchedule", "value", value, "finite");
  return (count) => {
    checkCount("constantSchedule", count);
    return np.array(value, { dtype: "float32" });
  };
}

/**
 * `(init − end)·(1 − t/transitionSteps)^power + end`, with
 * `t = clip(count − transitionBegin, 0, transitionSteps)` (optax
 * `polynomial_schedule`). A non-positive `transitionSteps` gives the constant
 * `init`; a negative `transitionBegin` counts as 0 (both as optax).
 */
export function polynomialSchedule(
  init: number,
  end: number,
  power: number,
  transitionSteps: number,
  transitionBegin = 0,
): Schedule {
  const where = "polynomialSchedule";
  checkNumber(where, "init", init);
  checkNumber(where, "end", end);
  checkNumber(where, "power", power);
  checkNumber(where, "transitionSteps", transitionSteps, "int");
  checkNumber(where, "transitionBegin", transitionBegin, "int");
  if (transitionSteps <= 0) return constantSchedule(init);
  const begin = Math.max(0, transitionBegin);
  return (count) => {
    const c = np.clip(checkCount(where, count).sub(begin), 0, transitionSteps);
    const frac = np.subtract(1, np.divide(c, transitionSteps));
    return np.multiply(init - end, np.power(frac, power)).add(end);
  };
}

/** Linear interpolation from `init` to `end` over `transitionSteps` steps starting at `transitionBegin`. */
export function linearSchedule(init: number, end: number, transitionSteps: number, transitionBegin = 0): Schedule {
  return polynomialSchedule(init, end, 1, transitionSteps, transitionBegin);
}

/**
 * `init · ((1 − alpha)·(0.5·(1 + cos(π·min(count, decaySteps)/decaySteps)))^exponent + alpha)`
 * (optax `cosine_decay_schedule`).
 */
export function cosineDecaySchedule(init: number, decaySteps: number, alpha = 0, exponent = 1): Schedule {
  const where = "cosineDecaySchedule";
  checkNumber(where, "init", init);
  checkNumber(where, "decaySteps", decaySteps, "posint");
  checkNumber(where, "alpha", alpha);
  checkNumber(where, "exponent", exponent);
  return (count) => {
    const c = np.minimum(checkCount(where, count), decaySteps);
    const cosineDecay = np.multiply(0.5, np.add(1, np.cos(np.divide(np.multiply(Math.PI, c), decaySteps))));
    const decayed = np.multiply(1 - alpha, np.power(cosineDecay, exponent)).add(alpha);
    return np.multiply(init, decayed);
  };
}

/**
 * Use `schedules[0]` until `boundaries[0]`, then `schedules[1]` (counted from
 * that boundary), and so on (optax `join_schedules`).
 */
export function joinSchedules(schedules: readonly Schedule[], boundaries: readonly number[]): Schedule {
  const where = "joinSchedules";
  if (schedules.length === 0) throw new Error(`${where}: expected at least one schedule`);
  if (boundaries.length !== schedules.length - 1) {
    throw new Error(
      `${where}: expected ${schedules.length - 1} boundaries for ${schedules.length} schedules, got ${boundaries.length}`,
    );
  }
  boundaries.forEach((b, i) => checkNumber(where, `boundaries[${i}]`, b, "int"));
  return (step) => {
    checkCount(where, step);
    let out = scheduleValue(where, schedules[0]!(step));
    boundaries.forEach((b, i) => {
      const next = scheduleValue(where, schedules[i + 1]!(step.sub(b)));
      out = np.where(step.lt(b), out, next);
    });
    return out;
  };
}

/**
 * Linear warm-up from `init` to `peak` over `warmupSteps`, then cosine decay
 * from `peak` to `end` until step `decaySteps` (which includes the warm-up),
 * constant `end` afterwards (optax `warmup_cosine_decay_schedule`).
 */
export function warmupCosineDecaySchedule(
  init: number,
  peak: number,
  warmupSteps: number,
  decaySteps: number,
  end = 0,
  exponent = 1,
): Schedule {
  const where = "warmupCosineDecaySchedule";
  checkNumber(where, "init", init);
  checkNumber(where, "peak", peak);
  checkNumber(where, "warmupSteps", warmupSteps, "int");
  checkNumber(where, "decaySteps", decaySteps, "int");
  checkNumber(where, "end", end);
  if (warmupSteps < 0) throw new RangeError(`${where}: warmupSteps must be >= 0, got ${warmupSteps}`);
  if (!(decaySteps > warmupSteps)) {
    throw new RangeError(
      `${where}: decaySteps (${decaySteps}) must be greater than warmupSteps (${warmupSteps}); it counts the warm-up steps too`,
    );
  }
  const alpha = peak === 0 ? 0 : end / peak;
  return joinSchedules(
    [linearSchedule(init, peak, warmupSteps), cosineDecaySchedule(peak, decaySteps - warmupSteps, alpha, exponent)],
    [warmupSteps],
  );
}
