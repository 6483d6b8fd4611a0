/**
 * Launchers of the optimizer update kernels over flat parameter buffers.
 * @module
 */
import type { Runtime } from "../runtime.ts";

/**
 * One torch.optim.SGD step in place: d = g + weightDecay * p; with momentum, buf = d on the `first`
 * step, else momentum * buf + (1 - dampening) * d, and d = nesterov ? d + momentum * buf : buf;
 * p -= lr * d. `momentumBuf` may be 0 when momentum is 0.
 */
export function sgdStep(
  rt: Runtime,
  b: { param: number; grad: number; momentumBuf: number; len: number },
  o: {
    lr: number;
    momentum: number;
    dampening: number;
    weightDecay: number;
    nesterov: boolean;
    first: boolean;
  },
): Promise<void> {
  return rt.exec("sgd_step", [
    b.param,
    b.grad,
    b.momentumBuf,
    o.lr,
    o.momentum,
    o.dampening,
    o.weightDecay,
    o.nesterov ? 1 : 0,
    o.first ? 1 : 0,
  ], { units: b.len, cost: 6 * b.len });
}

/**
 * One RMSProp step in place: g = grad + weightDecay * p; squareAvg = decay * squareAvg + (1 - decay) * g^2.
 * torch style (epsInsideSqrt false, torch.optim.RMSprop): avg = sqrt(squareAvg) + eps; with momentum
 * buf = momentum * buf + g / avg and p -= lr * buf, else p -= lr * g / avg. TF style (epsInsideSqrt):
 * buf = momentum * buf + lr * g / sqrt(squareAvg + eps); p -= buf.
 */
export function rmspropStep(
  rt: Runtime,
  b: { param: number; grad: number; squareAvg: number; momentumBuf: number; len: number },
  o: {
    lr: number;
    decay: number;
    momentum: number;
    eps: number;
    weightDecay: number;
    epsInsideSqrt: boolean;
  },
): Promise<void> {
  return rt.exec("rmsprop_step", [
    b.param,
    b.grad,
    b.squareAvg,
    b.momentumBuf,
    o.lr,
    o.decay,
    o.momentum,
    o.eps,
    o.weightDecay,
    o.epsInsideSqrt ? 1 : 0,
  ], { units: b.len, cost: 10 * b.len });
}
