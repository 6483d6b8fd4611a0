// The kernel ABI: every export cnnzoo calls. Each kernel takes byte pointers, sizes and scalars, then
// the work slice [start, end) (and, where it needs one, a per-thread scratch pointer last). Kernels
// allocate nothing and assume validated input: the TypeScript ops check shapes first.
// Buffer shapes are documented beside each kernel in its file.
export { relu_backward_input, relu_forward } from "./elementwise";
export { probe_peak } from "./probe";
