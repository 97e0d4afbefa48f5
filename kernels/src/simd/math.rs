//! Vector `exp`, `tanh` and `sigmoid` for `f32`: `#[inline(always)]` functions
//! of pulp vectors, called by [`super::Elem`] (and through it by the fused cell
//! kernels and `crate::activation`).
//!
//! # Accuracy (`f32`; `f64` uses the standard library lane by lane)
//! - `exp(x)`: Cody–Waite reduction `x = n·ln2 + r`, `|r| <= ln2/2`, degree-6
//!   polynomial (Cephes `expf`), scaling by `2^n` built in the exponent bits.
//!   Relative error below `3e-7` for `-87.3 <= x <= 88.72`; `+inf` above;
//!   `0` below (results that would be denormal are flushed).
//! - `tanh(x)`: `x + x³·P(x²)` (Cephes `tanhf`) for `|x| < 0.625`, else
//!   `sign(x)·(1 - 2/(e^{2|x|} + 1))` with `|x|` clamped at 10. Absolute error
//!   below `2e-7` over all of `f32` (tests check `1e-6` on more than a million
//!   points), relative error below `3e-7` near zero; odd, exact at `±0`.
//! - `sigmoid(x) = 1/(1 + e^{-x})`: absolute error below `2e-7`; flushed to `0`
//!   for `x < -87.3` (where it would turn denormal).
//!
//! NaN inputs give NaN outputs for every function (ReLU included, unlike the
//! scalar `Activation::apply`, which maps NaN to 0). No function produces
//! a denormal from a normal input, and denormal inputs are treated as the
//! tiny numbers they are, so activations never run into the slow microcode path
//! that denormal operands trigger on x86.

// The polynomial coefficients are written as published (Cephes), with more
// digits than an f32 holds.
#![allow(clippy::excessive_precision)]

use pulp::Simd;

const LOG2E: f32 = core::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// `1.5·2^23`: adding it rounds to an integer held in the low mantissa bits.
const SHIFT: f32 = 12_582_912.0;
const EXP_HI: f32 = 88.722_83;
const EXP_LO: f32 = -87.3;

/// `e^x`, lane-wise (see the module docs).
#[inline(always)]
pub(crate) fn exp_v<S: Simd>(s: S, x: S::f32s) -> S::f32s {
    let xc = s.min_f32s(s.max_f32s(x, s.splat_f32s(EXP_LO)), s.splat_f32s(EXP_HI));
    let t = s.mul_add_e_f32s(xc, s.splat_f32s(LOG2E), s.splat_f32s(SHIFT));
    let n = s.sub_f32s(t, s.splat_f32s(SHIFT));
    let r = s.mul_add_e_f32s(n, s.splat_f32s(-LN2_HI), xc);
    let r = s.mul_add_e_f32s(n, s.splat_f32s(-LN2_LO), r);
    let mut p = s.splat_f32s(1.987_569_2e-4);
    p = s.mul_add_e_f32s(p, r, s.splat_f32s(1.398_199_9e-3));
    p = s.mul_add_e_f32s(p, r, s.splat_f32s(8.333_452e-3));
    p = s.mul_add_e_f32s(p, r, s.splat_f32s(4.166_579_6e-2));
    p = s.mul_add_e_f32s(p, r, s.splat_f32s(1.666_666_5e-1));
    p = s.mul_add_e_f32s(p, r, s.splat_f32s(5.000_000_1e-1));
    let r2 = s.mul_f32s(r, r);
    p = s.mul_add_e_f32s(p, r2, s.add_f32s(r, s.splat_f32s(1.0)));
    // n as a two's-complement integer, then 2^(n∓1) from its exponent bits
    // (n ranges over [-126, 128]; the ∓1 keeps both ends representable).
    let ni = s.sub_u32s(s.transmute_u32s_f32s(t), s.splat_u32s(SHIFT.to_bits()));
    let pos = s.greater_than_f32s(n, s.splat_f32s(0.0));
    let bias = s.select_u32s(pos, s.splat_u32s(126), s.splat_u32s(128));
    let factor = s.select_f32s(pos, s.splat_f32s(2.0), s.splat_f32s(0.5));
    let scale = s.transmute_f32s_u32s(s.mul_u32s(s.add_u32s(ni, bias), s.splat_u32s(1 << 23)));
    let mut y = s.mul_f32s(s.mul_f32s(p, scale), factor);
    y = s.select_f32s(s.greater_than_f32s(x, s.splat_f32s(EXP_HI)), s.splat_f32s(f32::INFINITY), y);
    y = s.select_f32s(s.less_than_f32s(x, s.splat_f32s(EXP_LO)), s.splat_f32s(0.0), y);
    s.select_f32s(s.equal_f32s(x, x), y, x)
}

/// `tanh(x)`, lane-wise (see the module docs).
#[inline(always)]
pub(crate) fn tanh_v<S: Simd>(s: S, x: S::f32s) -> S::f32s {
    let ax = s.abs_f32s(x);
    // Small |x|: odd polynomial.
    let z = s.mul_f32s(x, x);
    let mut p = s.splat_f32s(-5.704_988_7e-3);
    p = s.mul_add_e_f32s(p, z, s.splat_f32s(2.063_908_9e-2));
    p = s.mul_add_e_f32s(p, z, s.splat_f32s(-5.373_971_6e-2));
    p = s.mul_add_e_f32s(p, z, s.splat_f32s(1.333_144_2e-1));
    p = s.mul_add_e_f32s(p, z, s.splat_f32s(-3.333_328_2e-1));
    let small = s.mul_add_e_f32s(s.mul_f32s(x, z), p, x);
    // Large |x|: 1 - 2/(e^{2|x|} + 1), sign restored.
    let e = exp_v(s, s.mul_f32s(s.min_f32s(ax, s.splat_f32s(10.0)), s.splat_f32s(2.0)));
    let q = s.sub_f32s(s.splat_f32s(1.0), s.div_f32s(s.splat_f32s(2.0), s.add_f32s(e, s.splat_f32s(1.0))));
    let large = s.select_f32s(s.less_than_f32s(x, s.splat_f32s(0.0)), s.neg_f32s(q), q);
    let y = s.select_f32s(s.less_than_f32s(ax, s.splat_f32s(0.625)), small, large);
    s.select_f32s(s.equal_f32s(x, x), y, x)
}

/// `1 / (1 + e^{-x})`, lane-wise (see the module docs).
#[inline(always)]
pub(crate) fn sigmoid_v<S: Simd>(s: S, x: S::f32s) -> S::f32s {
    let e = exp_v(s, s.neg_f32s(x));
    let y = s.div_f32s(s.splat_f32s(1.0), s.add_f32s(s.splat_f32s(1.0), e));
    s.select_f32s(s.less_than_f32s(x, s.splat_f32s(EXP_LO)), s.splat_f32s(0.0), y)
}
