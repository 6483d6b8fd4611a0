// Optimizer updates over flat parameter buffers. Work units are elements.
// param, grad, and state buffers are [n] f32 at byte addresses in the shared memory.

// param, grad, momentumBuf (0 when momentum == 0): [n].  torch.optim.SGD:
// d = g + weightDecay * p; buf = first ? d : momentum * buf + (1 - dampening) * d;
// d = nesterov ? d + momentum * buf : buf (when momentum != 0); p -= lr * d
export function sgd_step(
  param: usize, grad: usize, momentumBuf: usize,
  lr: f32, momentum: f32, dampening: f32, weightDecay: f32, nesterov: i32, first: i32,
  start: i32, end: i32,
): void {
  const vlr = f32x4.splat(lr);
  const vwd = f32x4.splat(weightDecay);
  const vm = f32x4.splat(momentum);
  const vd = f32x4.splat(1 - dampening);
  const useMom = momentum != 0;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    const p = v128.load(param + o);
    let d = v128.load(grad + o);
    if (weightDecay != 0) d = f32x4.add(d, f32x4.mul(p, vwd));
    if (useMom) {
      let b: v128;
      if (first) b = d;
      else b = f32x4.add(f32x4.mul(v128.load(momentumBuf + o), vm), f32x4.mul(d, vd));
      v128.store(momentumBuf + o, b);
      d = nesterov ? f32x4.add(d, f32x4.mul(b, vm)) : b;
    }
    v128.store(param + o, f32x4.sub(p, f32x4.mul(d, vlr)));
  }
  const dd: f32 = 1 - dampening;
  for (; i < end; i++) {
    const o = <usize>i << 2;
    const p = load<f32>(param + o);
    let d = load<f32>(grad + o);
    if (weightDecay != 0) d = d + p * weightDecay;
    if (useMom) {
      const b: f32 = first ? d : load<f32>(momentumBuf + o) * momentum + d * dd;
      store<f32>(momentumBuf + o, b);
      d = nesterov ? d + b * momentum : b;
    }
    store<f32>(param + o, p - d * lr);
  }
}

// param, grad, squareAvg, momentumBuf: [n].  g = grad + weightDecay * p;
// squareAvg = decay * squareAvg + (1 - decay) * g^2. Then
//  torch (epsInsideSqrt == 0): avg = sqrt(squareAvg) + eps; momentum > 0: buf = momentum * buf + g / avg,
//    p -= lr * buf; else p -= lr * g / avg.
//  TF (epsInsideSqrt != 0): buf = momentum * buf + lr * g / sqrt(squareAvg + eps); p -= buf.
export function rmsprop_step(
  param: usize, grad: usize, squareAvg: usize, momentumBuf: usize,
  lr: f32, decay: f32, momentum: f32, eps: f32, weightDecay: f32, epsInsideSqrt: i32,
  start: i32, end: i32,
): void {
  const vlr = f32x4.splat(lr);
  const va = f32x4.splat(decay);
  const vb = f32x4.splat(1 - decay);
  const vm = f32x4.splat(momentum);
  const ve = f32x4.splat(eps);
  const vwd = f32x4.splat(weightDecay);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    const p = v128.load(param + o);
    let g = v128.load(grad + o);
    if (weightDecay != 0) g = f32x4.add(g, f32x4.mul(p, vwd));
    const sq = f32x4.add(f32x4.mul(v128.load(squareAvg + o), va), f32x4.mul(f32x4.mul(g, g), vb));
    v128.store(squareAvg + o, sq);
    if (epsInsideSqrt) {
      const step = f32x4.div(f32x4.mul(g, vlr), f32x4.sqrt(f32x4.add(sq, ve)));
      const b = f32x4.add(f32x4.mul(v128.load(momentumBuf + o), vm), step);
      v128.store(momentumBuf + o, b);
      v128.store(param + o, f32x4.sub(p, b));
    } else {
      const q = f32x4.div(g, f32x4.add(f32x4.sqrt(sq), ve));
      if (momentum > 0) {
        const b = f32x4.add(f32x4.mul(v128.load(momentumBuf + o), vm), q);
        v128.store(momentumBuf + o, b);
        v128.store(param + o, f32x4.sub(p, f32x4.mul(b, vlr)));
      } else {
        v128.store(param + o, f32x4.sub(p, f32x4.mul(q, vlr)));
      }
    }
  }
  const one_a: f32 = 1 - decay;
  for (; i < end; i++) {
    const o = <usize>i << 2;
    const p = load<f32>(param + o);
    let g = load<f32>(grad + o);
    if (weightDecay != 0) g = g + p * weightDecay;
    const sq = load<f32>(squareAvg + o) * decay + g * g * one_a;
    store<f32>(squareAvg + o, sq);
    if (epsInsideSqrt) {
      const b = load<f32>(momentumBuf + o) * momentum + (g * lr) / Mathf.sqrt(sq + eps);
      store<f32>(momentumBuf + o, b);
      store<f32>(param + o, p - b);
    } else {
      const q = g / (Mathf.sqrt(sq) + eps);
      if (momentum > 0) {
        const b = load<f32>(momentumBuf + o) * momentum + q;
        store<f32>(momentumBuf + o, b);
        store<f32>(param + o, p - b * lr);
      } else {
        store<f32>(param + o, p - q * lr);
      }
    }
  }
}
