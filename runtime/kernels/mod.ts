/**
 * Typed launchers for every kernel (pointers in, promise out). Tensor ops call these after validating.
 * @module
 */
export * from "./elementwise.ts";
export * from "./_pending.ts";
