// Shared math helpers (inlined at every use): a SIMD float32 exp and a scalar float64 log.
import { madd } from "./_simd";

// exp(x) on four lanes, Cephes-style: x = n*ln2 + r with |r| <= ln2/2, exp(r) by a degree-6
// polynomial, 2^n built in the exponent bits. About 1 ulp over the normal range. Inputs below
// ln(FLT_MIN) (including -inf) give 0; inputs above 88.37 saturate at exp(88.37) ~ 2.4e38 (never inf);
// NaN stays NaN.
@inline export function expv(x: v128): v128 {
  const lo = f32x4.splat(-87.33654);
  const tiny = f32x4.lt(x, lo);
  // pmax/pmin are single instructions (plain max/min need NaN and -0 fix-ups); NaN passes through
  const v = f32x4.pmin(f32x4.pmax(x, lo), f32x4.splat(88.37));
  // round to nearest by adding 1.5 * 2^23: t's low mantissa bits then hold n (two's complement)
  const t = f32x4.add(f32x4.mul(v, f32x4.splat(1.44269504088896341)), f32x4.splat(12582912.0));
  const n = f32x4.sub(t, f32x4.splat(12582912.0));
  let r = f32x4.sub(v, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = madd(p, r, f32x4.splat(1.3981999507e-3));
  p = madd(p, r, f32x4.splat(8.3334519073e-3));
  p = madd(p, r, f32x4.splat(4.1665795894e-2));
  p = madd(p, r, f32x4.splat(1.6666665459e-1));
  p = madd(p, r, f32x4.splat(5.0000001201e-1));
  const y = f32x4.add(madd(p, f32x4.mul(r, r), r), f32x4.splat(1));
  // bits(t) = 0x4b400000 + n; shifting left by 23 drops the 0x4b400000 part, leaving (n + 127) << 23
  const pow2 = i32x4.shl(i32x4.add(t, i32x4.splat(127)), 23);
  return v128.andnot(f32x4.mul(y, pow2), tiny);
}

// exp of one float through the SIMD path (same result as a lane of expv).
@inline export function expf1(x: f32): f32 {
  return f32x4.extract_lane(expv(f32x4.splat(x)), 0);
}

// Natural log of a positive, finite, normal float64: x = m * 2^e with m in [sqrt(1/2), sqrt(2)),
// log m = 2 atanh(s), s = (m-1)/(m+1), by its series (relative error ~1e-12).
@inline export function logd(x: f64): f64 {
  const bits = reinterpret<u64>(x);
  let e = <i32>((bits >> 52) & 0x7ff) - 1023;
  let m = reinterpret<f64>((bits & 0x000fffffffffffff) | 0x3ff0000000000000);
  if (m > 1.4142135623730951) {
    m *= 0.5;
    e++;
  }
  const s = (m - 1) / (m + 1);
  const s2 = s * s;
  const poly = 1 + s2 * (1.0 / 3 + s2 * (1.0 / 5 + s2 * (1.0 / 7 + s2 * (1.0 / 9 + s2 * (1.0 / 11 + s2 * (1.0 / 13))))));
  return 2 * s * poly + <f64>e * 0.6931471805599453;
}
