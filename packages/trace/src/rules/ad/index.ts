/**
 * Registers the JVP and VJP rules of every primitive on import (ad.ts's
 * `vjpProgram`/`jvpProgram` look them up on the primitive objects).
 */
import "./elementwise.js";
import "./structural.js";
import "./reductions.js";
import "./linalg.js";
import "./indexing.js";
import "./control.js";

export { WHILE_REVERSE_MESSAGE } from "./control.js";
