export * from "./ir.js";
export * from "./plan.js";
export * from "./aliases.js";
export * from "./walk.js";
export * from "./lanes.js";
