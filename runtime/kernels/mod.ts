/**
 * Typed launchers for every kernel (pointers in, promise out). Tensor ops call these after validating.
 * @module
 */
export * from "./conv2d.ts";
export * from "./conv_direct.ts";
export * from "./dropout.ts";
export * from "./elementwise.ts";
export * from "./gemm.ts";
export * from "./optim.ts";
export * from "./softmax.ts";
export * from "./norm.ts";
export * from "./pool.ts";
export * from "./winograd.ts";
export * from "./winograd_fused.ts";
