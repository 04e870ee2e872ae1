/**
 * @refs/trace — JAX-style transforms: jit with refs, grad/vjp/jvp, vmap,
 * scan/cond/whileLoop/foriLoop, and the lowered program text.
 */
export { jit, type JitOptions, type Jitted, type Lowered } from "./jit.js";
export { ValueError } from "./errors.js";
export { stageFlat, StagingTrace, type Jaxpr, type StagedProgram } from "./staging.js";
export { dischargeJaxpr, type Discharged } from "./discharge.js";
export { evalProgram } from "./eval.js";
export { lowerToStableHlo, type LowerOptions } from "./lower.js";
export { grad, valueAndGrad, vjp, jvp, type GradOptions } from "./grad.js";
export { stopGradient, defVjp, defJvp, defNonDiff, vjpProgram, jvpProgram, type Ct, type VjpRule, type JvpRule } from "./ad.js";
export { scan, cond, switchCase, whileLoop, foriLoop, type ScanOptions } from "./control.js";
