/**
 * Reference convolution helpers: the readable specification of `assembly/conv2d.ts` (same names and
 * arguments, heap first).
 * @module
 */
import type { Heap } from "../heap.ts";

/**
 * Implicit-GEMM convolution of one group: c[i, j] = sum_p a[i * k + p] * B[p, j] for the tiles of
 * 96 rows x nt columns numbered u in [start, end) (row tile fastest), where k = cig * kh * kw,
 * n = nimg * outH * outW (also c's leading dimension) and B is the im2col matrix of the images at x:
 * row p = (c, ki, kj), column j = (img, oh, ow) holds x[img, c, oh*sh - pt + ki*dh, ow*sw - pl + kj*dw]
 * (images imgStride floats apart; 0 outside the image). The trailing scratch pointer is unused.
 */
export function conv2d_gemm(
  h: Heap,
  a: number,
  x: number,
  c: number,
  m: number,
  cig: number,
  imgStride: number,
  nimg: number,
  H: number,
  W: number,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
  pt: number,
  pl: number,
  dh: number,
  dw: number,
  outH: number,
  outW: number,
  nt: number,
  start: number,
  end: number,
): void {
  const f = h.f32;
  const k = cig * kh * kw, hw = outH * outW, n = nimg * hw;
  const B = (p: number, j: number) => {
    const kj = p % kw, ki = Math.floor(p / kw) % kh, ch = Math.floor(p / (kw * kh));
    const img = Math.floor(j / hw), oh = Math.floor((j % hw) / outW), ow = j % outW;
    const ih = oh * sh - pt + ki * dh, iw = ow * sw - pl + kj * dw;
    if (ih < 0 || ih >= H || iw < 0 || iw >= W) return 0;
    return f[(x >> 2) + img * imgStride + (ch * H + ih) * W + iw];
  };
  const tilesM = Math.ceil(m / 96);
  for (let u = start; u < end; u++) {
    const i0 = (u % tilesM) * 96, j0 = Math.floor(u / tilesM) * nt;
    for (let i = i0; i < Math.min(m, i0 + 96); i++) {
      for (let j = j0; j < Math.min(n, j0 + nt); j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += f[(a >> 2) + i * k + p] * B(p, j);
        f[(c >> 2) + i * n + j] = s;
      }
    }
  }
}

/**
 * Implicit-GEMM weight gradient of one group: c[i, j] (+)= sum_p a[i * k + p] * B[j, p] for the tiles
 * of 96 rows x nt columns (row tile fastest), where k = nimg * outH * outW, n = cig * kh * kw (also c's
 * leading dimension) and B is the im2col matrix of conv2d_gemm (row j = (c, ki, kj), column
 * p = (img, oh, ow)). Split k: units u in [start, end) are (part, tile), part slowest, over kparts equal
 * ranges of p; part 0 sums into c (flags: 1 = accumulate), part q > 0 writes its partial sums to
 * cp + (q - 1) m n floats. The scratch pointer is unused.
 */
export function conv2d_gemm_wgrad(
  h: Heap,
  a: number,
  x: number,
  c: number,
  m: number,
  cig: number,
  imgStride: number,
  nimg: number,
  H: number,
  W: number,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
  pt: number,
  pl: number,
  dh: number,
  dw: number,
  outH: number,
  outW: number,
  flags: number,
  nt: number,
  kparts: number,
  cp: number,
  start: number,
  end: number,
): void {
  const f = h.f32;
  const hw = outH * outW, k = nimg * hw, n = cig * kh * kw;
  const B = (j: number, p: number) => {
    const kj = j % kw, ki = Math.floor(j / kw) % kh, ch = Math.floor(j / (kw * kh));
    const img = Math.floor(p / hw), oh = Math.floor((p % hw) / outW), ow = p % outW;
    const ih = oh * sh - pt + ki * dh, iw = ow * sw - pl + kj * dw;
    if (ih < 0 || ih >= H || iw < 0 || iw >= W) return 0;
    return f[(x >> 2) + img * imgStride + (ch * H + ih) * W + iw];
  };
  const tilesM = Math.ceil(m / 96), tiles = tilesM * Math.ceil(n / nt);
  for (let u = start; u < end; u++) {
    const part = Math.floor(u / tiles), t = u % tiles;
    const i0 = (t % tilesM) * 96, j0 = Math.floor(t / tilesM) * nt;
    const k0 = Math.floor(part * k / kparts), k1 = Math.floor((part + 1) * k / kparts);
    const dst = part === 0 ? c >> 2 : (cp >> 2) + (part - 1) * m * n;
    for (let i = i0; i < Math.min(m, i0 + 96); i++) {
      for (let j = j0; j < Math.min(n, j0 + nt); j++) {
        let s = 0;
        for (let p = k0; p < k1; p++) s += f[(a >> 2) + i * k + p] * B(j, p);
        const o = dst + i * n + j;
        f[o] = part === 0 && flags & 1 ? f[o] + s : s;
      }
    }
  }
}

/**
 * col[(c, ki, kj), i * outH * outW + (oh, ow)] = image i of x at [c, oh*sh - pt + ki*dh, ow*sw - pl + kj*dw]
 * (0 outside); units u = image * rows + row for u in [start, end).
 */
export function im2col(
  h: Heap,
  x: number,
  col: number,
  C: number,
  imgStride: number,
  ldcol: number,
  H: number,
  W: number,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
  pt: number,
  pl: number,
  dh: number,
  dw: number,
  outH: number,
  outW: number,
  start: number,
  end: number,
): void {
  const f = h.f32;
  const rows = C * kh * kw, hw = outH * outW;
  for (let u = start; u < end; u++) {
    const img = Math.floor(u / rows), r = u % rows;
    const kj = r % kw, ki = Math.floor(r / kw) % kh, c = Math.floor(r / (kw * kh));
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        const ih = oh * sh - pt + ki * dh, iw = ow * sw - pl + kj * dw;
        const inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
        f[(col >> 2) + r * ldcol + img * hw + oh * outW + ow] = inside
          ? f[(x >> 2) + img * imgStride + (c * H + ih) * W + iw]
          : 0;
      }
    }
  }
}

/** dx[image, c] += the im2col rows of channel c (image's columns) scattered back; units image * C + c. */
export function col2im(
  h: Heap,
  col: number,
  dx: number,
  C: number,
  imgStride: number,
  ldcol: number,
  H: number,
  W: number,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
  pt: number,
  pl: number,
  dh: number,
  dw: number,
  outH: number,
  outW: number,
  start: number,
  end: number,
): void {
  const f = h.f32;
  const hw = outH * outW;
  for (let u = start; u < end; u++) {
    const img = Math.floor(u / C), c = u % C;
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++) {
        const r = (c * kh + ki) * kw + kj;
        for (let oh = 0; oh < outH; oh++) {
          for (let ow = 0; ow < outW; ow++) {
            const ih = oh * sh - pt + ki * dh, iw = ow * sw - pl + kj * dw;
            if (ih >= 0 && ih < H && iw >= 0 && iw < W) {
              f[(dx >> 2) + img * imgStride + (c * H + ih) * W + iw] +=
                f[(col >> 2) + r * ldcol + img * hw + oh * outW + ow];
            }
          }
        }
      }
    }
  }
}

/** dst[c, i * hw + j] = src[i, c, j] for rows u = i * C + c in [start, end). */
export function to_cnhw(
  h: Heap,
  src: number,
  dst: number,
  C: number,
  hw: number,
  n: number,
  start: number,
  end: number,
): void {
  const f = h.f32;
  for (let u = start; u < end; u++) {
    const i = Math.floor(u / C), c = u % C;
    for (let j = 0; j < hw; j++) f[(dst >> 2) + c * n * hw + i * hw + j] = f[(src >> 2) + u * hw + j];
  }
}

/** dst[i, c, j] = relu?(src[c, i * hw + j] + bias[c]) for rows u = i * C + c in [start, end). */
export function from_cnhw(
  h: Heap,
  src: number,
  dst: number,
  bias: number,
  relu: number,
  C: number,
  hw: number,
  n: number,
  start: number,
  end: number,
): void {
  const f = h.f32;
  for (let u = start; u < end; u++) {
    const i = Math.floor(u / C), c = u % C;
    const bv = bias !== 0 ? f[(bias >> 2) + c] : 0;
    for (let j = 0; j < hw; j++) {
      const v = Math.fround(f[(src >> 2) + c * n * hw + i * hw + j] + bv);
      f[(dst >> 2) + u * hw + j] = relu && v <= 0 ? 0 : v;
    }
  }
}

/** y[plane] = relu?(y[plane] + bias[plane % channels]) for planes [start, end) of `inner` values. */
export function bias_relu(
  h: Heap,
  y: number,
  bias: number,
  channels: number,
  inner: number,
  relu: number,
  start: number,
  end: number,
): void {
  const f = h.f32;
  for (let pl = start; pl < end; pl++) {
    const bv = bias !== 0 ? f[(bias >> 2) + (pl % channels)] : 0;
    for (let i = 0; i < inner; i++) {
      const o = (y >> 2) + pl * inner + i;
      const v = Math.fround(f[o] + bv);
      f[o] = relu && v <= 0 ? 0 : v;
    }
  }
}

/** wt[g*cig + ci, co, kh-1-i, kw-1-j] = w[g*cog + co, ci, i, j] for the kernels u = o * cig + ci in [start, end) of w. */
export function flip_weights(
  h: Heap,
  w: number,
  wt: number,
  cog: number,
  cig: number,
  kh: number,
  kw: number,
  start: number,
  end: number,
): void {
  const f = h.f32;
  for (let u = start; u < end; u++) {
    const ci = u % cig, o = Math.floor(u / cig), g = Math.floor(o / cog), co = o % cog;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const to = (((g * cig + ci) * cog + co) * kh + (kh - 1 - i)) * kw + (kw - 1 - j);
        f[(wt >> 2) + to] = f[(w >> 2) + (u * kh + i) * kw + j];
      }
    }
  }
}
