/**
 * Reference optimizer updates: the readable specification of `assembly/optim.ts` (elements in
 * [start, end) of flat buffers), in float32 steps like torch.
 * @module
 */
import type { Heap } from "../heap.ts";

const f = Math.fround;

/**
 * torch.optim.SGD for one element: d = g + wd * p; buf = first ? d : momentum * buf + (1 - dampening) * d;
 * d = nesterov ? d + momentum * buf : buf (if momentum != 0); p -= lr * d.
 */
export function sgd_step(
  h: Heap,
  param: number,
  grad: number,
  momentumBuf: number,
  lr: number,
  momentum: number,
  dampening: number,
  weightDecay: number,
  nesterov: number,
  first: number,
  start: number,
  end: number,
): void {
  const m = h.f32;
  [lr, momentum, dampening, weightDecay] = [f(lr), f(momentum), f(dampening), f(weightDecay)];
  for (let i = start; i < end; i++) {
    const p = m[(param >> 2) + i];
    let d = m[(grad >> 2) + i];
    if (weightDecay !== 0) d = f(d + f(p * weightDecay));
    if (momentum !== 0) {
      const b = first ? d : f(f(m[(momentumBuf >> 2) + i] * momentum) + f(d * f(1 - dampening)));
      m[(momentumBuf >> 2) + i] = b;
      d = nesterov ? f(d + f(b * momentum)) : b;
    }
    m[(param >> 2) + i] = p - f(d * lr);
  }
}

/**
 * RMSProp for one element: g = grad + wd * p; sq = decay * sq + (1 - decay) * g^2; then torch style
 * (avg = sqrt(sq) + eps; buf = momentum * buf + g / avg, p -= lr * buf, or p -= lr * g / avg without
 * momentum) or TF style when epsInsideSqrt (buf = momentum * buf + lr * g / sqrt(sq + eps); p -= buf).
 */
export function rmsprop_step(
  h: Heap,
  param: number,
  grad: number,
  squareAvg: number,
  momentumBuf: number,
  lr: number,
  decay: number,
  momentum: number,
  eps: number,
  weightDecay: number,
  epsInsideSqrt: number,
  start: number,
  end: number,
): void {
  const m = h.f32;
  [lr, decay, momentum, eps, weightDecay] = [f(lr), f(decay), f(momentum), f(eps), f(weightDecay)];
  for (let i = start; i < end; i++) {
    const p = m[(param >> 2) + i];
    let g = m[(grad >> 2) + i];
    if (weightDecay !== 0) g = f(g + f(p * weightDecay));
    const sq = f(f(m[(squareAvg >> 2) + i] * decay) + f(f(g * g) * f(1 - decay)));
    m[(squareAvg >> 2) + i] = sq;
    if (epsInsideSqrt) {
      const b = f(f(m[(momentumBuf >> 2) + i] * momentum) + f(f(g * lr) / f(Math.sqrt(f(sq + eps)))));
      m[(momentumBuf >> 2) + i] = b;
      m[(param >> 2) + i] = p - b;
    } else {
      const q = f(g / f(f(Math.sqrt(sq)) + eps));
      if (momentum > 0) {
        const b = f(f(m[(momentumBuf >> 2) + i] * momentum) + q);
        m[(momentumBuf >> 2) + i] = b;
        m[(param >> 2) + i] = p - f(b * lr);
      } else {
        m[(param >> 2) + i] = p - f(q * lr);
      }
    }
  }
}
