// The kernel ABI: every export cnnzoo calls. Each kernel takes byte pointers, sizes and scalars, then
// the work slice [start, end) (and, where it needs one, a per-thread scratch pointer last). Kernels
// allocate nothing and assume validated input: the TypeScript ops check shapes first.
// Buffer shapes are documented beside each kernel in its file.
export { dropout_backward, dropout_forward } from "./dropout";
export {
  add_scaled, axpy, bias_add, copy_strided, fill, mul, relu_backward_input, relu_forward, scale, sum_to_channels,
} from "./elementwise";
export { rmsprop_step, sgd_step } from "./optim";
export { probe_peak } from "./probe";
export {
  cross_entropy_backward, cross_entropy_forward, log_softmax_backward, log_softmax_forward, softmax_backward,
  softmax_forward,
} from "./softmax";
export { sgemm, sgemm_batched } from "./gemm";
export { winograd_fused, winograd_fused_wgrad, winograd_pack_u } from "./winograd_fused";
export { winograd_dweight, winograd_dy, winograd_input, winograd_output, winograd_weight } from "./winograd";
export { winograd43_input, winograd43_output, winograd43_weight } from "./winograd43";
export { direct3x3_forward, direct3x3_pad, direct3x3_weights, direct3x3_wgrad } from "./conv_direct";
export { bias_relu, col2im, conv2d_gemm, conv2d_gemm_wgrad, flip_weights, from_cnhw, im2col, to_cnhw } from "./conv2d";
export {
  adaptive_avg_pool2d_backward, adaptive_avg_pool2d_forward, avg_pool2d_backward, avg_pool2d_forward,
  max_pool2d_backward, max_pool2d_forward,
} from "./pool";
export {
  batchnorm_backward, batchnorm_eval_backward, batchnorm_eval_forward, batchnorm_train_forward, lrn_backward,
  lrn_forward,
} from "./norm";
