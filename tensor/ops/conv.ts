/**
 * 2-D convolution (NCHW) with stride, symmetric or asymmetric padding, dilation and groups.
 * @module
 */
import { kernels as K } from "../../runtime/mod.ts";
import { rangeError } from "../errors.ts";
import { traced } from "../trace.ts";
import { needsGrad, record } from "../autograd.ts";
import type { Tensor } from "../tensor.ts";
import { convOut, fmt, type Padding, padding4, type Pair, pair } from "../shape.ts";
import { checkFloat, launch, node, out, runtimeOf, save } from "./_util.ts";

/** Options of {@linkcode conv2d}. */
export interface Conv2dOptions {
  /** Bias of shape [cOut], or null/undefined for none. */
  bias?: Tensor | null;
  stride?: Pair;
  /** One number, [h, w], or [top, bottom, left, right] (asymmetric). */
  padding?: Padding;
  dilation?: Pair;
  groups?: number;
  /** Apply max(., 0) to the output (fused; the gradient accounts for it). */
  relu?: boolean;
  /**
   * The weights transformed by {@linkcode winogradWeights} (inference only): [16, cOut, cIn] for Winograd
   * F(2x2, 3x3) or [36, cOut, cIn] for F(4x4, 3x3). Used, instead of transforming `weight` again, when the
   * convolution runs as that variant (see {@linkcode winogradVariant}); otherwise ignored.
   */
  winogradWeights?: Tensor | null;
}

/** Validates a convolution's arguments and returns its geometry (throws RangeError/TypeError naming the problem). */
function geometry(
  xShape: readonly number[],
  weight: Tensor,
  options: Conv2dOptions,
  action: string,
): K.Conv2dGeometry {
  checkFloat("conv2d", "weight", weight, 4);
  const bias = options.bias ?? null;
  if (bias) checkFloat("conv2d", "bias", bias, 1);
  const [strideH, strideW] = pair(options.stride ?? 1, "stride", action);
  const [dilationH, dilationW] = pair(options.dilation ?? 1, "dilation", action);
  const [padTop, padBottom, padLeft, padRight] = padding4(options.padding ?? 0, action);
  const groups = options.groups ?? 1;
  const [n, cIn, h, w] = xShape;
  const [cOut, cPerGroup, kh, kw] = weight.shape;
  if (!Number.isInteger(groups) || groups < 1) {
    throw rangeError(action, `groups must be an integer >= 1, got ${groups}`);
  }
  if (cIn % groups !== 0 || cOut % groups !== 0) {
    throw rangeError(action, `channels (in ${cIn}, out ${cOut}) are not divisible by groups ${groups}`);
  }
  if (cPerGroup * groups !== cIn) {
    throw rangeError(
      action,
      `input has ${cIn} channels but weight ${fmt(weight.shape)} expects ${
        cPerGroup * groups
      } (groups ${groups})`,
    );
  }
  if (bias && bias.size !== cOut) {
    throw rangeError(action, `bias has shape ${fmt(bias.shape)}, expected [${cOut}]`);
  }
  const outH = convOut(h, kh, strideH, padTop, padBottom, dilationH);
  const outW = convOut(w, kw, strideW, padLeft, padRight, dilationW);
  if (outH < 1 || outW < 1) {
    throw rangeError(
      action,
      `input ${
        fmt(xShape)
      } is too small for kernel ${kh}x${kw} (dilation ${dilationH}x${dilationW}, padding ${padTop},${padBottom},${padLeft},${padRight})`,
    );
  }
  return {
    n,
    cIn,
    h,
    w,
    cOut,
    kh,
    kw,
    strideH,
    strideW,
    padTop,
    padBottom,
    padLeft,
    padRight,
    dilationH,
    dilationW,
    groups,
    outH,
    outW,
  };
}

/**
 * Convolves x [n, cIn, h, w] with weight [cOut, cIn/groups, kh, kw].
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const x = cnn.zeros([1, 3, 8, 8]);
 * const w = cnn.zeros([4, 3, 3, 3]);
 * console.log(cnn.ops.conv2d(x, w, { padding: 1, stride: 2 }).shape); // [1, 4, 4, 4]
 * ```
 */
export function conv2d(x: Tensor, weight: Tensor, options: Conv2dOptions = {}): Tensor {
  const action = "run conv2d";
  checkFloat("conv2d", "input", x, 4);
  const g = geometry(x.shape, weight, options, action);
  const bias = options.bias ?? null;
  const { n, cIn, cOut, outH, outW, groups } = g;
  const rt = runtimeOf("conv2d", x, weight, bias);
  const relu = options.relu ?? false;
  const grad = needsGrad(x, weight, bias);
  const wu = options.winogradWeights ?? null;
  if (wu) {
    checkFloat("conv2d", "winogradWeights", wu, 3);
    if (![16, 36].includes(wu.shape[0]) || wu.shape.slice(1).join() !== [cOut, cIn].join() || groups !== 1) {
      throw rangeError(
        action,
        `winogradWeights has shape ${
          fmt(wu.shape)
        }, expected [16, ${cOut}, ${cIn}] or [36, ${cOut}, ${cIn}] for a one-group convolution`,
      );
    }
    if (grad) {
      throw rangeError(action, "winogradWeights are for inference (no gradient)");
    }
  }
  const y = out(rt, [n, cOut, outH, outW]);
  const [px, pw, pb, py, pu] = [x.ptr, weight.ptr, bias ? bias.ptr : 0, y.ptr, wu ? wu.ptr : 0];
  const uVariant: K.WinogradVariant = wu && wu.shape[0] === 36 ? "f43" : "f23";
  launch(
    rt,
    [x, weight, bias, wu],
    [y],
    () => K.conv2dForward(rt, g, { x: px, w: pw, bias: pb, y: py, relu, u: pu, uVariant, inference: !grad }),
  );
  if (grad) {
    const s = save(x, weight, relu ? y : null);
    const inputs = bias ? [x, weight, bias] : [x, weight];
    record(
      y,
      node("conv2d", inputs, (gy) => {
        let dy = gy;
        if (relu) {
          dy = out(rt, gy.shape);
          const [pg, pd, len] = [gy.ptr, dy.ptr, gy.size];
          launch(rt, [gy], [dy], () => K.reluBackward(rt, { y: s.ptrs[2], dy: pg, dx: pd, len }));
        }
        const pdy = dy.ptr;
        let dx: Tensor | null = null, dw: Tensor | null = null, db: Tensor | null = null;
        if (x.requiresGrad) {
          dx = out(rt, x.shape);
          const pdx = dx.ptr;
          launch(rt, [dy], [dx], () => K.conv2dBackwardInput(rt, g, { dy: pdy, w: s.ptrs[1], dx: pdx }));
        }
        if (weight.requiresGrad || (bias && bias.requiresGrad)) {
          dw = out(rt, weight.shape);
          db = bias ? out(rt, bias.shape) : null;
          const [pdw, pdb] = [dw.ptr, db ? db.ptr : 0];
          launch(
            rt,
            [dy],
            db ? [dw, db] : [dw],
            () => K.conv2dBackwardWeight(rt, g, { dy: pdy, x: s.ptrs[0], dw: pdw, dbias: pdb }),
          );
        }
        if (relu) dy.dispose();
        return bias ? [dx, dw, db] : [dx, dw];
      }, s.release),
    );
  }
  return traced("conv2d", [x, weight, options], y);
}

/**
 * The Winograd transform of 3x3 weights [cOut, cIn, 3, 3] for `variant` ("f23": F(2x2, 3x3), the default,
 * gives [16, cOut, cIn]; "f43": F(4x4, 3x3) gives [36, cOut, cIn]), for
 * {@linkcode Conv2dOptions.winogradWeights} (computed once for a frozen model instead of every call).
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * import { winogradWeights } from "./conv.ts";
 * await cnn.init({ threads: 1 });
 * const u = winogradWeights(cnn.zeros([8, 4, 3, 3]));
 * console.log(u.shape); // [16, 8, 4]
 * console.log(winogradWeights(cnn.zeros([8, 4, 3, 3]), "f43").shape); // [36, 8, 4]
 * ```
 */
export function winogradWeights(weight: Tensor, variant: K.WinogradVariant = "f23"): Tensor {
  checkFloat("winogradWeights", "weight", weight, 4);
  const [k, c, kh, kw] = weight.shape;
  if (kh !== 3 || kw !== 3) {
    throw rangeError("run winogradWeights", `weight must be [cOut, cIn, 3, 3], got ${fmt(weight.shape)}`);
  }
  if (variant !== "f23" && variant !== "f43") {
    throw rangeError("run winogradWeights", `variant must be "f23" or "f43", got ${JSON.stringify(variant)}`);
  }
  const rt = weight.rt;
  const u = out(rt, [K.winogradPlanes(variant), k, c]);
  const [pw, pu] = [weight.ptr, u.ptr];
  launch(rt, [weight], [u], () => K.winogradWeights(rt, { w: pw, u: pu, k, c, variant }));
  return u;
}

/**
 * The Winograd variant `conv2d(x, weight, options)` runs as without gradient (inference, e.g. a frozen
 * model) for x of shape `xShape` when given `options.winogradWeights` = `winogradWeights(weight, variant)`
 * (transformed once; some small layers run as Winograd only then), or null if it does not run as Winograd.
 */
export function winogradVariant(
  xShape: readonly number[],
  weight: Tensor,
  options: Conv2dOptions = {},
): K.WinogradVariant | null {
  if (xShape.length !== 4) return null;
  return K.forwardWinogradVariant(geometry(xShape, weight, options, "check conv2d"), true, true);
}

/**
 * True if `conv2d(x, weight, options)` runs as Winograd (either variant) without gradient for x of shape
 * `xShape` (so {@linkcode winogradWeights} pays off; {@linkcode winogradVariant} tells which).
 */
export function runsAsWinograd(
  xShape: readonly number[],
  weight: Tensor,
  options: Conv2dOptions = {},
): boolean {
  return winogradVariant(xShape, weight, options) !== null;
}
