/**
 * Optimizers with torch's semantics: SGD (momentum, dampening, Nesterov, weight decay) and RMSProp
 * (TensorFlow's form, as Inception v3 used, or torch's). Parameter groups carry their own options, so
 * weight decay can be excluded from BN and bias parameters.
 * @module
 */
import { kernels as K, rangeError } from "../runtime/mod.ts";
import { type Tensor, zeros } from "../tensor/mod.ts";

/** A group of parameters sharing options (any option left out takes the optimizer's default). */
export interface ParamGroup<O> {
  params: Tensor[];
  options?: Partial<O>;
}

/** Base class: groups, per-parameter state, lr access for schedules. */
export abstract class Optimizer<O extends { lr: number }> {
  /** Parameter groups with resolved options. */
  readonly groups: { params: Tensor[]; options: O; initialLr: number }[];
  /** Per-parameter state (buffers and step counts). */
  protected readonly state: Map<Tensor, Record<string, Tensor | number>> = new Map();
  protected abstract readonly name: string;

  constructor(params: Tensor[] | ParamGroup<O>[], defaults: O) {
    const groups: ParamGroup<O>[] = params.length > 0 && !("params" in params[0])
      ? [{ params: params as Tensor[] }]
      : params as ParamGroup<O>[];
    this.groups = groups.map((g) => {
      const options = { ...defaults, ...g.options };
      // The lr a schedule scales (torch's initial_lr); setLr and loadStateDict change only options.lr.
      return { params: [...g.params], options, initialLr: options.lr };
    });
    const seen = new Set<Tensor>();
    for (const g of this.groups) {
      for (const p of g.params) {
        if (seen.has(p)) throw rangeError("create optimizer", "a parameter appears in more than one group");
        seen.add(p);
      }
    }
  }

  /** The learning rate of the first group (schedules set every group's lr through {@linkcode setLr}). */
  get lr(): number {
    return this.groups[0]?.options.lr ?? 0;
  }

  /** Sets every group's lr to its base lr times `factor` (used by schedules). */
  setLr(lr: number | ((group: number) => number)): void {
    this.groups.forEach((g, i) => {
      g.options.lr = typeof lr === "number" ? lr : lr(i);
    });
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const g of this.groups) {
      for (const p of g.params) {
        p.grad?.dispose();
        p.grad = null;
      }
    }
  }

  /** Applies one update to every parameter that has a gradient. Resolves when the kernels have run. */
  async step(): Promise<void> {
    let rt = undefined;
    for (const g of this.groups) {
      for (const p of g.params) {
        if (!p.grad) continue;
        rt = p.rt;
        let st = this.state.get(p);
        if (!st) this.state.set(p, st = {});
        this.update(p, p.grad, st, g.options);
      }
    }
    if (rt) await rt.sync();
  }

  /** Queues the update of one parameter. */
  protected abstract update(p: Tensor, grad: Tensor, state: Record<string, Tensor | number>, o: O): void;

  /** State for checkpoints: per parameter (by index over all groups) its buffers and counters. */
  async stateDict(): Promise<
    { lrs: number[]; state: Record<string, Record<string, number | Float32Array>> }
  > {
    const state: Record<string, Record<string, number | Float32Array>> = {};
    let i = 0;
    for (const g of this.groups) {
      for (const p of g.params) {
        const st = this.state.get(p);
        if (st) {
          const o: Record<string, number | Float32Array> = {};
          for (const [k, v] of Object.entries(st)) o[k] = typeof v === "number" ? v : await v.toArray();
          state[String(i)] = o;
        }
        i++;
      }
    }
    return { lrs: this.groups.map((g) => g.options.lr), state };
  }

  /** Restores a {@linkcode Optimizer.stateDict}. */
  loadStateDict(sd: { lrs: number[]; state: Record<string, Record<string, number | Float32Array>> }): void {
    const all = this.groups.flatMap((g) => g.params);
    if (sd.lrs.length !== this.groups.length) {
      throw rangeError(
        `load ${this.name} state`,
        `${sd.lrs.length} groups saved, ${this.groups.length} here`,
      );
    }
    this.groups.forEach((g, i) => g.options.lr = sd.lrs[i]);
    this.state.clear();
    for (const [key, o] of Object.entries(sd.state)) {
      const p = all[Number(key)];
      if (!p) throw rangeError(`load ${this.name} state`, `parameter index ${key} does not exist`);
      const st: Record<string, Tensor | number> = {};
      for (const [k, v] of Object.entries(o)) {
        if (typeof v === "number") st[k] = v;
        else {
          if (v.length !== p.size) {
            throw rangeError(
              `load ${this.name} state`,
              `${k} of parameter ${key} has ${v.length} values, expected ${p.size}`,
            );
          }
          const t = zeros(p.shape, { rt: p.rt }).keep();
          void t.write(v);
          st[k] = t;
        }
      }
      this.state.set(p, st);
    }
  }
}

/** Options of {@linkcode SGD}. */
export interface SGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

function checkNonNeg(action: string, o: Record<string, unknown>, keys: string[]): void {
  for (const k of keys) {
    const v = o[k];
    if (v !== undefined && !(typeof v === "number" && v >= 0 && Number.isFinite(v))) {
      throw rangeError(action, `${k} must be a finite number >= 0, got ${v}`);
    }
  }
}

/**
 * Stochastic gradient descent exactly as torch.optim.SGD: d = g + wd*p; buf = momentum*buf + (1-dampening)*d
 * (buf = d on the first step); d = nesterov ? d + momentum*buf : buf; p -= lr*d.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const net = new cnn.nn.Linear(4, 2);
 * const opt = new cnn.optim.SGD(net.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true });
 * await opt.step(); // no gradients yet: nothing changes
 * ```
 */
export class SGD extends Optimizer<SGDOptions> {
  protected readonly name = "SGD";
  constructor(params: Tensor[] | ParamGroup<SGDOptions>[], options: Partial<SGDOptions> & { lr: number }) {
    const defaults: SGDOptions = { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...options };
    checkNonNeg("create SGD", defaults as unknown as Record<string, unknown>, [
      "lr",
      "momentum",
      "dampening",
      "weightDecay",
    ]);
    super(params, defaults);
    for (const g of this.groups) {
      checkNonNeg("create SGD", g.options as unknown as Record<string, unknown>, [
        "lr",
        "momentum",
        "dampening",
        "weightDecay",
      ]);
      if (g.options.nesterov && (g.options.momentum <= 0 || g.options.dampening !== 0)) {
        throw rangeError("create SGD", "Nesterov momentum requires momentum > 0 and dampening 0");
      }
    }
  }

  protected update(p: Tensor, grad: Tensor, st: Record<string, Tensor | number>, o: SGDOptions): void {
    const rt = p.rt;
    let first = false;
    let buf = 0;
    if (o.momentum !== 0) {
      if (!st.momentum_buffer) {
        st.momentum_buffer = zeros(p.shape, { rt }).keep();
        first = true;
      }
      buf = (st.momentum_buffer as Tensor).ptr;
    }
    const [pp, pg, len] = [p.ptr, grad.ptr, p.size];
    void rt.enqueue(() =>
      K.sgdStep(rt, { param: pp, grad: pg, momentumBuf: buf, len }, {
        lr: o.lr,
        momentum: o.momentum,
        dampening: o.dampening,
        weightDecay: o.weightDecay,
        nesterov: o.nesterov,
        first,
      })
    );
  }
}

/** Options of {@linkcode RMSProp}. */
export interface RMSPropOptions {
  lr: number;
  /** Decay of the mean square (TF "decay", torch "alpha"): 0.9 in the Inception recipe. */
  decay: number;
  momentum: number;
  /** 1.0 in the Inception recipe. */
  eps: number;
  weightDecay: number;
  /** "tf" (eps inside the sqrt, mean square starts at 1) or "torch". Default "tf". */
  style: "tf" | "torch";
}

/**
 * RMSProp. TF style (Inception v3): ms = decay*ms + (1-decay)*g^2; mom = momentum*mom + lr*g/sqrt(ms+eps);
 * p -= mom. torch style: torch.optim.RMSprop.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const opt = new cnn.optim.RMSProp(new cnn.nn.Linear(4, 2).parameters(), { lr: 0.045, decay: 0.9, momentum: 0.9, eps: 1 });
 * console.log(opt.lr);
 * ```
 */
export class RMSProp extends Optimizer<RMSPropOptions> {
  protected readonly name = "RMSProp";
  constructor(
    params: Tensor[] | ParamGroup<RMSPropOptions>[],
    options: Partial<RMSPropOptions> & { lr: number },
  ) {
    const defaults: RMSPropOptions = {
      decay: 0.9,
      momentum: 0,
      eps: 1e-10,
      weightDecay: 0,
      style: "tf",
      ...options,
    };
    checkNonNeg("create RMSProp", defaults as unknown as Record<string, unknown>, [
      "lr",
      "decay",
      "momentum",
      "eps",
      "weightDecay",
    ]);
    if (defaults.style !== "tf" && defaults.style !== "torch") {
      throw rangeError(
        "create RMSProp",
        `style must be "tf" or "torch", got ${JSON.stringify(defaults.style)}`,
      );
    }
    super(params, defaults);
  }

  protected update(p: Tensor, grad: Tensor, st: Record<string, Tensor | number>, o: RMSPropOptions): void {
    const rt = p.rt;
    if (!st.square_avg) {
      const sq = zeros(p.shape, { rt }).keep();
      if (o.style === "tf") void sq.write(new Float32Array(p.size).fill(1));
      st.square_avg = sq;
      st.momentum_buffer = zeros(p.shape, { rt }).keep();
    }
    const [pp, pg, psq, pm, len] = [
      p.ptr,
      grad.ptr,
      (st.square_avg as Tensor).ptr,
      (st.momentum_buffer as Tensor).ptr,
      p.size,
    ];
    void rt.enqueue(() =>
      K.rmspropStep(rt, { param: pp, grad: pg, squareAvg: psq, momentumBuf: pm, len }, {
        lr: o.lr,
        decay: o.decay,
        momentum: o.momentum,
        eps: o.eps,
        weightDecay: o.weightDecay,
        epsInsideSqrt: o.style === "tf",
      })
    );
  }
}
