/**
 * Registers the batching rule ("batch") of every primitive in core's
 * primitives.ts (rule signature: see batching.ts). Ref primitives have none:
 * vmap discharges ref effects before batching.
 */
import "./basic.js";
import "./indexing.js";
import "./control.js";
