/**
 * The reference program: the Array Refs notebook
 * (shared/seed/array-refs-notebook.txt) cell by cell, printing what the
 * notebook prints. SPEC §8 is this program.
 */
import { Array, np, newRef, random, type Ref } from "@refs/core";
import { jit, scan, valueAndGrad } from "@refs/trace";
import * as nn from "@refs/nn";
import { adam } from "@refs/optim";

const print = (...xs: unknown[]) => console.log(xs.map((x) => (typeof x === "string" ? x : String(x))).join(" "));

/** Python's `f"{type(e).__name__}: {e}"`. */
function getError(f: (...a: any[]) => unknown, ...args: unknown[]): string {
  try {
    return String(f(...args));
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}

/** Paths as Python tuples: [[('a',), ('c',)]] */
function pyPaths(groups: readonly (readonly (readonly (string | number)[])[])[]): string {
  const tup = (p: readonly (string | number)[]) => `(${p.map((k) => (typeof k === "string" ? `'${k}'` : k)).join(", ")}${p.length === 1 ? "," : ""})`;
  return `[${groups.map((g) => `[${g.map(tup).join(", ")}]`).join(", ")}]`;
}

// ## Basics — Array Refs 101 --------------------------------------------------------

// In [2]:
const aRef = newRef(np.array([1, 2, 3], { dtype: "int32" }));

const increment = jit(function increment(aRef: Ref | nn.Variable) {
  // no return!
  const array = aRef.get(); // access
  aRef.set(array.add(1)); // update
});

print("[1] =", aRef);
increment(aRef);
print("[2] =", aRef);

// In [3]:
print(increment.lower(aRef).asText());

// ### Variables Refs — In [4]:
{
  const variable = new nn.Variable(np.array([1, 2, 3], { dtype: "int32" }), { isHijax: true });
  print(`variable.isHijax = ${variable.isHijax}\n`);
  print("[1] =", variable);
  increment(variable);
  print("[2] =", variable);
}

// In [5]:
{
  const variable = nn.useRefs(true, () => new nn.Variable(np.array([1, 2, 3], { dtype: "int32" })));
  print(`variable.isHijax = ${variable.isHijax}`);
  print(`variable.hasRef = ${variable.hasRef}`);
}

// ### Changing Status — In [6]:
class Linear extends nn.Module {
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

{
  const model = new Linear(1, 3, { rngs: new nn.Rngs(0) }); // without array refs
  const refsModel = nn.toRefs(model); // convert to array refs
  const arraysModel = nn.toArrays(refsModel); // convert to regular arrays
  print("nn.toRefs(model) =", refsModel);
  print("nn.toArrays(refsModel) =", arraysModel);
}

// ## Examples — In [7]:
class Block extends nn.Module {
  linear: Linear;
  bn: nn.BatchNorm;
  dropout: nn.Dropout;
  linearOut: Linear;
  constructor(din: number, dmid: number, dout: number, { rngs }: { rngs: nn.Rngs }) {
    super();
    this.linear = new Linear(din, dmid, { rngs });
    this.bn = new nn.BatchNorm(dmid, { rngs });
    this.dropout = new nn.Dropout(0.1, { rngs });
    this.linearOut = new Linear(dmid, dout, { rngs });
  }
  call(x: Array): Array {
    x = nn.gelu(this.dropout.call(this.bn.call(this.linear.call(x))));
    return this.linearOut.call(x);
  }
}

// ### Training Loop — In [8]:
{
  const [model, optimizer] = nn.useRefs(true, () => {
    const model = new Block(2, 64, 3, { rngs: new nn.Rngs(0) });
    return [model, new nn.Optimizer(model, adam(1e-3), { wrt: nn.Param })] as const;
  });

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

  print(trainStep(model, optimizer, np.ones([10, 2]), np.ones([10, 3])));
}

// ### Scan Over Layers — In [9]:
{
  const createStack = nn.vmap((rngs: nn.Rngs) => new Block(2, 64, 2, { rngs }));
  const blockStack = nn.useRefs(true, () => createStack(new nn.Rngs(0).fork({ split: 8 })));
  const x = random.uniform(random.key(0), [3, 2]);
  const [y] = scan((x: Array, block: Block) => [block.call(x), null] as const, x, blockStack);
  print("y = ", (y as Array).str());
}

// ## Limitations — MutableArray Outputs — In [10]:
const createModel = jit(function createModel(rngs: nn.Rngs) {
  return new Block(2, 64, 3, { rngs });
});
try {
  nn.useRefs(true, () => createModel(new nn.Rngs(0)));
} catch (e) {
  print("Error:", (e as Error).message);
}

// In [11]:
{
  let model = nn.useRefs(false, () => createModel(new nn.Rngs(0))); // <-- disable array refs
  model = nn.toRefs(model); // convert to mutable after creation
  print("model.linear =", model.linear);
}

// In [12]:
{
  const createModel = nn.jit(function createModel(rngs: nn.Rngs) {
    return new Block(2, 64, 3, { rngs });
  });
  const model = nn.useRefs(true, () => createModel(new nn.Rngs(0)));
  print("model.linear =", model.linear);
}

// ### Reference Sharing (aliasing) — In [13]:
{
  const x = newRef(np.array(0));
  const f = jit(function f(a: Ref, b: Ref) {
    void a, b;
  });
  print(getError(f, x, x));
}

// In [14]:
class SharedVariables extends nn.Pytree {
  a: nn.Variable;
  b: nn.Variable;
  c: nn.Variable;
  constructor() {
    super();
    this.a = new nn.Variable(np.array(0));
    this.b = new nn.Variable(np.array(1));
    this.c = this.a;
  }
}

class SharedModules extends nn.Pytree {
  d: Linear;
  e: Linear;
  f: Linear;
  constructor() {
    super();
    this.d = new Linear(1, 1, { rngs: new nn.Rngs(0) });
    this.e = new Linear(1, 1, { rngs: new nn.Rngs(0) });
    this.f = this.d;
  }
}

const g = jit(function g(pytree: unknown) {
  void pytree;
});

const [sharedVariables, sharedModules] = nn.useRefs(true, () => [new SharedVariables(), new SharedModules()] as const);

print("SharedVariables", getError(g, sharedVariables));
print("SharedModules", getError(g, sharedModules));

// In [15]:
{
  let duplicates = nn.findDuplicates(sharedVariables);
  if (duplicates.length) print("shared variables duplicates:", pyPaths(duplicates));
  duplicates = nn.findDuplicates(sharedModules);
  if (duplicates.length) print("shared modules duplicates:  ", pyPaths(duplicates));
}

// In [16]:
{
  const h = jit(function h(graphdef: nn.GraphDef, state: nn.State) {
    const obj = nn.merge<SharedVariables>(graphdef, state);
    obj.a.set(obj.a.get().add(10));
  });
  const [graphdef, state] = nn.split(sharedVariables);
  print(state); // split deduplicates the state
  h(graphdef, state);
  print("updated", sharedVariables);
}
