/** The conformance suite (./conformance.ts) on the default adapter: Dawn's OpenGL backend on llvmpipe here, compatibility level. */
import { hasGpu } from "./setup.js";
import { describeConformance } from "./conformance.js";

describeConformance("conformance: webgpu agrees with the CPU", hasGpu);
