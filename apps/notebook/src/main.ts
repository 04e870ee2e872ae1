/**
 * The reference program: the Array Refs notebook (shared/seed/array-refs-notebook.txt),
 * cell by cell, printing what the notebook prints.
 *
 * Cells that need transforms (`jit`, `grad`, `scan`) or modules arrive with
 * @refs/trace and @refs/nn; until then their refs-only core runs eagerly.
 */
import { np, newRef, random, type Ref } from "@refs/core";

const out: string[] = [];
const print = (...xs: unknown[]) => {
  const line = xs.map(String).join(" ");
  out.push(line);
  console.log(line);
};

// In [2]: Array Refs 101 (eager until @refs/trace provides jit)
{
  const aRef = newRef(np.array([1, 2, 3], { dtype: "int32" }));
  function increment(aRef: Ref): void {
    // no return!
    const array = aRef.get(); // access
    aRef.set(array.add(1)); // update
  }
  print("[1] =", aRef);
  increment(aRef);
  print("[2] =", aRef);
}

// The refs program from the issue: r += 1; r[0] += 1; r[1] += 5
{
  const r = newRef(np.zeros([3]));
  r.addUpdate(1);
  r.addUpdate(1, 0);
  r.addUpdate(5, 1);
  print("r =", r);
}

// Cell 9's input: JAX-exact PRNG
{
  const x = random.uniform(random.key(0), [3, 2]);
  print("x =", x);
}
