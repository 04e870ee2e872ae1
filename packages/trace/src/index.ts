/**
 * @refs/trace — JAX-style transforms: jit with refs, grad/vjp/jvp, vmap,
 * scan/cond/whileLoop/foriLoop, and the lowered program text.
 */
import "./rules/ad/index.js";
export { jit, type JitOptions, type Jitted, type Lowered } from "./jit.js";
export { ValueError } from "./errors.js";
export { stageFlat, StagingTrace, type Jaxpr, type StagedProgram } from "./staging.js";
export { dischargeJaxpr, type Discharged } from "./discharge.js";
export { evalProgram } from "./eval.js";
export { lowerToStableHlo, type LowerOptions } from "./lower.js";
export { grad, valueAndGrad, vjp, jvp, type GradOptions } from "./grad.js";
export { stopGradient, defVjp, defJvp, defNonDiff, vjpProgram, jvpProgram, type Ct, type VjpRule, type JvpRule } from "./ad.js";
export { scan, cond, switchCase, whileLoop, foriLoop, type ScanOptions } from "./control.js";
import "./rules/batch/index.js";
export { vmap, type VmapOptions } from "./batching.js";
export { makeJaxpr, jaxprToString, type ClosedJaxpr, type MakeJaxprOptions } from "./jaxpr-text.js";
export { dce } from "./dce.js";
