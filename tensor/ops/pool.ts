/**
 * Pooling: max, average (count_include_pad either way, ceil_mode), adaptive average, global average.
 * @module
 */
import { kernels as K } from "../../runtime/mod.ts";
import { rangeError } from "../errors.ts";
import { traced } from "../trace.ts";
import { needsGrad, record } from "../autograd.ts";
import { empty, type Tensor } from "../tensor.ts";
import { fmt, type Pair, pair, poolOut } from "../shape.ts";
import { checkFloat, launch, node, out, save } from "./_util.ts";

/** Options shared by {@linkcode maxPool2d} and {@linkcode avgPool2d}. */
export interface Pool2dOptions {
  kernelSize: Pair;
  /** Default: kernelSize. */
  stride?: Pair;
  padding?: Pair;
  /** Max pooling only. */
  dilation?: Pair;
  ceilMode?: boolean;
}

function geometry(op: string, x: Tensor, o: Pool2dOptions): K.Pool2dGeometry {
  const action = `run ${op}`;
  checkFloat(op, "input", x, 4);
  const [kh, kw] = pair(o.kernelSize, "kernelSize", action);
  const [strideH, strideW] = pair(o.stride ?? o.kernelSize, "stride", action);
  const [padH, padW] = pair(o.padding ?? 0, "padding", action, 0);
  const [dilationH, dilationW] = pair(o.dilation ?? 1, "dilation", action);
  if (2 * padH > kh || 2 * padW > kw) {
    throw rangeError(action, `padding ${padH}x${padW} must be at most half the kernel ${kh}x${kw}`);
  }
  const [n, c, h, w] = x.shape;
  const ceil = o.ceilMode ?? false;
  const outH = poolOut(h, kh, strideH, padH, dilationH, ceil);
  const outW = poolOut(w, kw, strideW, padW, dilationW, ceil);
  if (outH < 1 || outW < 1) {
    throw rangeError(action, `input ${fmt(x.shape)} is too small for kernel ${kh}x${kw}`);
  }
  return {
    n,
    c,
    h,
    w,
    kh,
    kw,
    strideH,
    strideW,
    padTop: padH,
    padBottom: padH,
    padLeft: padW,
    padRight: padW,
    dilationH,
    dilationW,
    outH,
    outW,
  };
}

/**
 * Max pooling over windows of x [n, c, h, w] (padding never wins).
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const y = cnn.ops.maxPool2d(cnn.zeros([1, 1, 4, 4]), { kernelSize: 3, stride: 2, ceilMode: true });
 * console.log(y.shape); // [1, 1, 2, 2]
 * ```
 */
export function maxPool2d(x: Tensor, options: Pool2dOptions): Tensor {
  const g = geometry("maxPool2d", x, options);
  const rt = x.rt;
  const shape = [g.n, g.c, g.outH, g.outW];
  const y = out(rt, shape);
  const idx = empty(rt, shape, "int32");
  const [px, py, pi] = [x.ptr, y.ptr, idx.ptr];
  launch(rt, [x], [y, idx], () => K.maxPool2dForward(rt, g, { x: px, y: py, indices: pi }));
  if (needsGrad(x)) {
    const s = save(idx);
    record(
      y,
      node("maxPool2d", [x], (gy) => {
        const dx = out(rt, x.shape);
        const [pg, pdx] = [gy.ptr, dx.ptr];
        launch(rt, [gy], [dx], () => K.maxPool2dBackward(rt, g, { dy: pg, indices: s.ptrs[0], dx: pdx }));
        return [dx];
      }, s.release),
    );
  }
  idx.dispose();
  return traced("maxPool2d", [x, options], y);
}

/** Options of {@linkcode avgPool2d}. */
export interface AvgPool2dOptions extends Pool2dOptions {
  /** Count padded positions in the divisor (torch's default: true). */
  countIncludePad?: boolean;
  divisorOverride?: number;
}

/**
 * Average pooling (torch semantics for padding, ceil_mode and count_include_pad).
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * const y = cnn.ops.avgPool2d(cnn.full([1, 1, 3, 3], 1), { kernelSize: 3, stride: 1, padding: 1 });
 * console.log((await y.toArray())[0]); // 0.444... (4/9: padding counted)
 * ```
 */
export function avgPool2d(x: Tensor, options: AvgPool2dOptions): Tensor {
  if (
    options.dilation !== undefined && pair(options.dilation, "dilation", "run avgPool2d").join() !== "1,1"
  ) {
    throw rangeError("run avgPool2d", "dilation is not supported for average pooling");
  }
  const g = geometry("avgPool2d", x, { ...options, dilation: 1 });
  const d = options.divisorOverride;
  if (d !== undefined && (!Number.isInteger(d) || d < 1)) {
    throw rangeError("run avgPool2d", `divisorOverride must be an integer >= 1, got ${d}`);
  }
  const o = { countIncludePad: options.countIncludePad ?? true, divisorOverride: d };
  const rt = x.rt;
  const y = out(rt, [g.n, g.c, g.outH, g.outW]);
  const [px, py] = [x.ptr, y.ptr];
  launch(rt, [x], [y], () => K.avgPool2dForward(rt, g, { x: px, y: py }, o));
  if (needsGrad(x)) {
    record(
      y,
      node("avgPool2d", [x], (gy) => {
        const dx = out(rt, x.shape);
        const [pg, pdx] = [gy.ptr, dx.ptr];
        launch(rt, [gy], [dx], () => K.avgPool2dBackward(rt, g, { dy: pg, dx: pdx }, o));
        return [dx];
      }),
    );
  }
  return traced("avgPool2d", [x, options], y);
}

/**
 * Adaptive average pooling to [outH, outW] (torch's window rule); [1, 1] is global average pooling.
 *
 * @example
 * ```ts
 * import * as cnn from "../mod.ts";
 * await cnn.init({ threads: 1 });
 * console.log(cnn.ops.adaptiveAvgPool2d(cnn.zeros([2, 8, 7, 7]), 1).shape); // [2, 8, 1, 1]
 * ```
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: Pair): Tensor {
  checkFloat("adaptiveAvgPool2d", "input", x, 4);
  const [outH, outW] = pair(outputSize, "outputSize", "run adaptiveAvgPool2d");
  const [n, c, h, w] = x.shape;
  if (h < 1 || w < 1) throw rangeError("run adaptiveAvgPool2d", `input ${fmt(x.shape)} has no pixels`);
  const g = { n, c, h, w, outH, outW };
  const rt = x.rt;
  const y = out(rt, [n, c, outH, outW]);
  const [px, py] = [x.ptr, y.ptr];
  launch(rt, [x], [y], () => K.adaptiveAvgPool2dForward(rt, g, { x: px, y: py }));
  if (needsGrad(x)) {
    record(
      y,
      node("adaptiveAvgPool2d", [x], (gy) => {
        const dx = out(rt, x.shape);
        const [pg, pdx] = [gy.ptr, dx.ptr];
        launch(rt, [gy], [dx], () => K.adaptiveAvgPool2dBackward(rt, g, { dy: pg, dx: pdx }));
        return [dx];
      }),
    );
  }
  return traced("adaptiveAvgPool2d", [x, outputSize], y);
}
