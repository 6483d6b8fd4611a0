/**
 * The reference kernels, keyed by the same names as the Wasm exports. Each takes the heap first,
 * then exactly the Wasm kernel's arguments.
 * @module
 */
import type { Heap } from "../heap.ts";
import * as conv2d from "./conv2d.ts";
import * as convDirect from "./conv_direct.ts";
import * as dropout from "./dropout.ts";
import * as elementwise from "./elementwise.ts";
import * as gemm from "./gemm.ts";
import * as norm from "./norm.ts";
import * as optim from "./optim.ts";
import * as pool from "./pool.ts";
import * as probe from "./probe.ts";
import * as softmax from "./softmax.ts";
import * as winograd from "./winograd.ts";
import * as winogradFused from "./winograd_fused.ts";
import * as winograd43 from "./winograd43.ts";

/** A reference kernel: the heap, then the Wasm kernel's arguments. */
// deno-lint-ignore no-explicit-any
export type RefKernel = (h: Heap, ...args: any[]) => void;

/** Every reference kernel by export name. */
export const REF_KERNELS: Readonly<Record<string, RefKernel>> = {
  ...conv2d,
  ...convDirect,
  ...dropout,
  ...elementwise,
  ...gemm,
  ...norm,
  ...optim,
  ...pool,
  ...probe,
  ...softmax,
  ...winograd,
  ...winogradFused,
  ...winograd43,
};
