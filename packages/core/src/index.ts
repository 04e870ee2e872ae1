/**
 * @refs/core — JAX-style arrays, mutable array references, pytrees, a
 * JAX-exact PRNG, the primitive set, the Backend interface and the CPU backend.
 *
 * User API first; the extension API (primitives, interpreters, programs,
 * backends) follows, for packages such as @refs/trace and @refs/gpu.
 */
import { registerBackend } from "./backend.js";
import { CpuBackend } from "./backend/cpu/index.js";

// ---- arrays -------------------------------------------------------------------
export { Array, tidy, memory, toBackend, type ArrayLike } from "./array.js";
export { np } from "./ops/np.js";
export type { Axis, ReduceOptions } from "./ops/index.js";
export { type DType, type TypedArray, DTYPES, promoteTypes, isFloat, isInt, itemsize, typedArrayFor } from "./dtype.js";
/** float16 on the host is raw IEEE binary16 bits (a Uint16Array): encode, decode, and round a number to float16 (ties to even). */
export { float16Bits } from "./ops/util.js";
export { halfBitsToNumber, roundToFloat16 } from "./format.js";
export { ShapedArray, RefType, type Shape, type Aval, shapeTuple, shapeSize, stridesOf } from "./aval.js";
export { slice, Slice, IndexError, type Index, type IndexItem } from "./indexing.js";

// ---- refs ------------------------------------------------------------------------
export { Ref, newRef, freeze, isRef } from "./ref.js";
export type { CreationSite } from "./site.js";

// ---- pytrees ---------------------------------------------------------------------
export * as tree from "./tree.js";
export { registerPytreeNode } from "./tree.js";

// ---- random ----------------------------------------------------------------------
export { random } from "./random.js";

// ---- backends ------------------------------------------------------------------
export {
  type Backend,
  type BufferHandle,
  type Executable,
  registerBackend,
  setBackend,
  getBackend,
  getBackendName,
  ready,
  listBackends,
  resetBackend,
} from "./backend.js";
export { CpuBackend } from "./backend/cpu/index.js";

// ---- extension API: primitives, interpreters, programs ----------------------------
export * as primitives from "./primitives.js";
export { Primitive, definePrimitive, getPrimitive, allPrimitives, paramsKey, type Params, type ParamValue } from "./primitive.js";
export { Var, Literal, makeProgram, programToString, programId, isProgram, type Atom, type Eqn, type Program, type Alias } from "./program.js";
export {
  bind,
  bind1,
  Trace,
  MainTrace,
  newMain,
  newDynamic,
  currentDynamic,
  currentLevel,
  findTopTrace,
  evalTrace,
  evalRules,
  executeProgram,
  commonBackend,
  type Value,
} from "./interp.js";
export { fromHost, wrapBuffer, bufferOf, hostValues, takeBuffer, ArrayData } from "./array.js";
export { RefCell, refValue, setRefValue, checkRefValue } from "./ref.js";
export { indexGet, indexUpdate, normalizeIndex, indexedShape, type Indexer, type IndexerItem } from "./indexing.js";
export { captureSite, registerInternalFrames } from "./site.js";
export { formatRepr, formatValues, formatShapeDtype } from "./format.js";



// ---- extension API: the target-independent fusion planner (for backend packages) ----
export * as fusion from "./fusion/index.js";
registerBackend("cpu", () => new CpuBackend(), { priority: 0 });
