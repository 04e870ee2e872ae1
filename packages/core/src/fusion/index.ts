export * from "./ir.js";
export * from "./plan.js";
export * from "./aliases.js";
export * from "./split.js";
export * from "./epilogue.js";
export * from "./fold-movement.js";
export * from "./walk.js";
export * from "./lanes.js";
