import { hsum, madd } from "./_simd";
// Direct 3x3 stride-1 convolution (dilation 1, one group): no im2col and no transforms. The input is
// first copied into zero-padded planes whose rows are wide enough for 8-column loads, the weights into
// blocks of DR output channels; then a DR x 8 register-blocked SIMD kernel accumulates, for 8 adjacent
// outputs of DR channels, the 9 taps of every input channel (2 loads + DR splats per 2 * DR multiply-adds,
// the GEMM micro-kernel's ratio) and writes them with bias and ReLU.

@inline export const DR: i32 = 6; // output channels per block

// Padded input: xp [planes, hp, wp] from x [planes, h, w], the plane's pixel (iy, ix) at row iy + pt,
// column ix + pl; zeros elsewhere. Units: planes (image x channel).
export function direct3x3_pad(x: usize, xp: usize, h: i32, w: i32, hp: i32, wp: i32, pt: i32, pl: i32, start: i32, end: i32): void {
  for (let u = start; u < end; u++) {
    const src = x + (<usize>(u * h * w) << 2);
    const dst = xp + (<usize>(u * hp * wp) << 2);
    for (let r = 0; r < hp; r++) {
      const row = dst + (<usize>(r * wp) << 2);
      const iy = r - pt;
      if (iy < 0 || iy >= h) {
        memory.fill(row, 0, <usize>wp << 2);
        continue;
      }
      const c0 = min(pl, wp), c1 = min(pl + w, wp);
      if (c0 > 0) memory.fill(row, 0, <usize>c0 << 2);
      if (c1 > c0) memory.copy(row + (<usize>c0 << 2), src + (<usize>(iy * w + c0 - pl) << 2), <usize>(c1 - c0) << 2);
      if (wp > c1) memory.fill(row + (<usize>c1 << 2), 0, <usize>(wp - c1) << 2);
    }
  }
}

// Packed weights: wp [ceil(cOut / DR), cIn, 9, DR] from w [cOut, cIn, 3, 3], zero for channels >= cOut.
// Units: blocks of DR output channels.
export function direct3x3_weights(w: usize, wp: usize, cOut: i32, cIn: i32, start: i32, end: i32): void {
  for (let b = start; b < end; b++) {
    for (let c = 0; c < cIn; c++) {
      for (let t = 0; t < 9; t++) {
        const dst = wp + (<usize>(((b * cIn + c) * 9 + t) * DR) << 2);
        for (let o = 0; o < DR; o++) {
          const k = b * DR + o;
          store<f32>(dst + (<usize>o << 2), k < cOut ? load<f32>(w + (<usize>((k * cIn + c) * 9 + t) << 2)) : 0);
        }
      }
    }
  }
}

// y [n, cOut, outH, outW] = conv3x3(xp) (+ bias [cOut] when bias != 0) (ReLU when relu != 0), where xp
// [n, cIn, hp, wp] is the padded input (hp >= outH + 2, wp >= ceil(outW / 8) * 8 + 2) and wq the packed
// weights. Units: (image, channel block, output row), the row fastest. Scratch: 56 floats (partial
// blocks).
export function direct3x3_forward(
  xp: usize, wq: usize, bias: usize, y: usize, cIn: i32, cOut: i32, outH: i32, outW: i32, hp: i32, wp: i32,
  relu: i32, start: i32, end: i32, tmp: usize,
): void {
  const blocks = (cOut + DR - 1) / DR;
  const ld = <usize>wp << 2;
  const plane = <usize>(hp * wp) << 2;
  const zero = f32x4.splat(0);
  for (let u = start; u < end; u++) {
    const oy = u % outH;
    const b = (u / outH) % blocks;
    const img = u / (outH * blocks);
    const xrow = xp + <usize>(img * cIn) * plane + <usize>oy * ld;
    const wb = wq + (<usize>(b * cIn * 9 * DR) << 2);
    const k0 = b * DR, kn = min(DR, cOut - k0);
    const ybase = y + (<usize>(((img * cOut + k0) * outH + oy) * outW) << 2);
    const ystride = <usize>(outH * outW) << 2;
    for (let ox = 0; ox < outW; ox += 8) {
      let c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero;
      let c30 = zero, c31 = zero, c40 = zero, c41 = zero, c50 = zero, c51 = zero;
      let src = xrow + (<usize>ox << 2);
      let pw = wb;
      for (let c = 0; c < cIn; c++) {
        for (let ky = 0; ky < 3; ky++) {
          const r = src + <usize>ky * ld;
          for (let kx = 0; kx < 3; kx++) {
            const x0 = v128.load(r + (<usize>kx << 2));
            const x1 = v128.load(r + (<usize>kx << 2) + 16);
            let a = v128.load32_splat(pw);
            c00 = madd(a, x0, c00);
            c01 = madd(a, x1, c01);
            a = v128.load32_splat(pw + 4);
            c10 = madd(a, x0, c10);
            c11 = madd(a, x1, c11);
            a = v128.load32_splat(pw + 8);
            c20 = madd(a, x0, c20);
            c21 = madd(a, x1, c21);
            a = v128.load32_splat(pw + 12);
            c30 = madd(a, x0, c30);
            c31 = madd(a, x1, c31);
            a = v128.load32_splat(pw + 16);
            c40 = madd(a, x0, c40);
            c41 = madd(a, x1, c41);
            a = v128.load32_splat(pw + 20);
            c50 = madd(a, x0, c50);
            c51 = madd(a, x1, c51);
            pw += 24;
          }
        }
        src += plane;
      }
      // Epilogue: bias, ReLU, store the valid kn x min(8, outW - ox) corner.
      v128.store(tmp, c00); v128.store(tmp + 16, c01);
      v128.store(tmp + 32, c10); v128.store(tmp + 48, c11);
      v128.store(tmp + 64, c20); v128.store(tmp + 80, c21);
      v128.store(tmp + 96, c30); v128.store(tmp + 112, c31);
      v128.store(tmp + 128, c40); v128.store(tmp + 144, c41);
      v128.store(tmp + 160, c50); v128.store(tmp + 176, c51);
      const cols = min(8, outW - ox);
      for (let o = 0; o < kn; o++) {
        let v0 = v128.load(tmp + (<usize>(o * 8) << 2));
        let v1 = v128.load(tmp + (<usize>(o * 8) << 2) + 16);
        if (bias) {
          const bb = v128.load32_splat(bias + (<usize>(k0 + o) << 2));
          v0 = f32x4.add(v0, bb);
          v1 = f32x4.add(v1, bb);
        }
        if (relu) {
          v0 = f32x4.max(v0, zero);
          v1 = f32x4.max(v1, zero);
        }
        const dst = ybase + <usize>o * ystride + (<usize>ox << 2);
        if (cols == 8) {
          v128.store(dst, v0);
          v128.store(dst + 16, v1);
        } else {
          v128.store(tmp + 192, v0);
          v128.store(tmp + 208, v1);
          for (let j = 0; j < cols; j++) store<f32>(dst + (<usize>j << 2), load<f32>(tmp + 192 + (<usize>j << 2)));
        }
      }
    }
  }
}

// Weight gradient of the direct 3x3 stride-1 convolution, accumulated over images in SIMD partial sums:
// acc [units, 12, 4] holds, for unit u = (block of 4 output channels ob, input channel c, kernel row ky)
// (ky fastest, then c), the 4-lane partial sums of dw[ob * 4 + o, c, ky, kx] for o < 4, kx < 3. Each call
// adds images [0, n) of dy [n, cOut, outH, outW] (outW a multiple of 4) and of the padded input xp
// [n, cIn, hp, wp] (see direct3x3_pad; wp >= outW + 2); first != 0 starts the sums from zero, last != 0
// then writes dw [cOut, cIn, 3, 3] (adding to it when accumulate != 0). Images are the outer loop so one
// image's dy and xp stay in cache for all the units of a thread.
export function direct3x3_wgrad(
  dy: usize, xp: usize, acc: usize, dw: usize, n: i32, cIn: i32, cOut: i32, outH: i32, outW: i32, hp: i32,
  wp: i32, first: i32, last: i32, accumulate: i32, start: i32, end: i32,
): void {
  const ld = <usize>wp << 2;
  const plane = <usize>(hp * wp) << 2;
  const orow = <usize>outW << 2;
  const oplane = <usize>(outH * outW) << 2;
  if (first) memory.fill(acc + (<usize>(start * 48) << 2), 0, <usize>((end - start) * 48) << 2);
  for (let img = 0; img < n; img++) {
    for (let u = start; u < end; u++) {
      const ky = u % 3;
      const c = (u / 3) % cIn;
      const ob = u / (3 * cIn);
      const pa = acc + (<usize>(u * 48) << 2);
      let a00 = v128.load(pa), a01 = v128.load(pa + 16), a02 = v128.load(pa + 32);
      let a10 = v128.load(pa + 48), a11 = v128.load(pa + 64), a12 = v128.load(pa + 80);
      let a20 = v128.load(pa + 96), a21 = v128.load(pa + 112), a22 = v128.load(pa + 128);
      let a30 = v128.load(pa + 144), a31 = v128.load(pa + 160), a32 = v128.load(pa + 176);
      // Output channels past cOut read channel cOut - 1 again (their sums are never written).
      const k0 = ob * 4;
      const d0 = dy + <usize>(img * cOut + k0) * oplane;
      const d1 = dy + <usize>(img * cOut + min(k0 + 1, cOut - 1)) * oplane;
      const d2 = dy + <usize>(img * cOut + min(k0 + 2, cOut - 1)) * oplane;
      const d3 = dy + <usize>(img * cOut + min(k0 + 3, cOut - 1)) * oplane;
      const xs = xp + <usize>(img * cIn + c) * plane + <usize>ky * ld;
      for (let oy = 0; oy < outH; oy++) {
        const r = <usize>oy * orow;
        const xr = xs + <usize>oy * ld;
        for (let ox = 0; ox < outW; ox += 4) {
          const o = r + (<usize>ox << 2);
          // 12 accumulators + 3 inputs + 1 gradient vector: the 16 registers (one gradient at a time).
          const p = xr + (<usize>ox << 2);
          const x0 = v128.load(p), x1 = v128.load(p + 4), x2 = v128.load(p + 8);
          let gv = v128.load(d0 + o);
          a00 = madd(gv, x0, a00);
          a01 = madd(gv, x1, a01);
          a02 = madd(gv, x2, a02);
          gv = v128.load(d1 + o);
          a10 = madd(gv, x0, a10);
          a11 = madd(gv, x1, a11);
          a12 = madd(gv, x2, a12);
          gv = v128.load(d2 + o);
          a20 = madd(gv, x0, a20);
          a21 = madd(gv, x1, a21);
          a22 = madd(gv, x2, a22);
          gv = v128.load(d3 + o);
          a30 = madd(gv, x0, a30);
          a31 = madd(gv, x1, a31);
          a32 = madd(gv, x2, a32);
        }
      }
      v128.store(pa, a00); v128.store(pa + 16, a01); v128.store(pa + 32, a02);
      v128.store(pa + 48, a10); v128.store(pa + 64, a11); v128.store(pa + 80, a12);
      v128.store(pa + 96, a20); v128.store(pa + 112, a21); v128.store(pa + 128, a22);
      v128.store(pa + 144, a30); v128.store(pa + 160, a31); v128.store(pa + 176, a32);
    }
  }
  if (!last) return;
  for (let u = start; u < end; u++) {
    const ky = u % 3;
    const c = (u / 3) % cIn;
    const ob = u / (3 * cIn);
    const pa = acc + (<usize>(u * 48) << 2);
    for (let o = 0; o < 4; o++) {
      const k = ob * 4 + o;
      if (k >= cOut) break;
      for (let kx = 0; kx < 3; kx++) {
        const s = hsum(v128.load(pa + (<usize>((o * 3 + kx) * 4) << 2)));
        const d = dw + (<usize>(((k * cIn + c) * 3 + ky) * 3 + kx) << 2);
        store<f32>(d, accumulate ? load<f32>(d) + s : s);
      }
    }
  }
}
