//! [`Elem`]: the element types `f32` and `f64` seen through pulp's vector types.

use crate::real::Real;
use pulp::Simd;

/// A [`Real`] with pulp vectors: `V<S>` holds [`Elem::lanes`] values.
///
/// Implemented for `f32` and `f64`. Arithmetic is lane-wise; [`Elem::vfma`] is fused where the
/// level has FMA and `a·b + c` in two roundings at [`super::Level::Scalar`].
/// The `f32` activations are the vector approximations of [`super::math`]; the
/// `f64` ones apply the standard library lane by lane (`f64` is the checking
/// type and keeps full accuracy).
#[allow(missing_docs)]
pub(crate) trait Elem: Real {
    type V<S: Simd>: Copy + core::fmt::Debug + Send + Sync;

    fn lanes<S: Simd>() -> usize;
    fn as_simd<S: Simd>(x: &[Self]) -> (&[Self::V<S>], &[Self]);
    fn as_simd_mut<S: Simd>(x: &mut [Self]) -> (&mut [Self::V<S>], &mut [Self]);
    fn vsplat<S: Simd>(s: S, v: Self) -> Self::V<S>;
    fn vadd<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S>;
    fn vsub<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S>;
    fn vmul<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S>;
    /// `a·b + c`.
    fn vfma<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>, c: Self::V<S>) -> Self::V<S>;
    /// `x > 0 ? a : b`, lane-wise (NaN in `x` selects `b`).
    fn vselect_pos<S: Simd>(s: S, x: Self::V<S>, a: Self::V<S>, b: Self::V<S>) -> Self::V<S>;
    /// `x <= 0 ? a : b`, lane-wise (NaN in `x` selects `b`).
    fn vselect_nonpos<S: Simd>(s: S, x: Self::V<S>, a: Self::V<S>, b: Self::V<S>) -> Self::V<S>;
    fn vtanh<S: Simd>(s: S, a: Self::V<S>) -> Self::V<S>;
    fn vsigmoid<S: Simd>(s: S, a: Self::V<S>) -> Self::V<S>;
    fn vexp<S: Simd>(s: S, a: Self::V<S>) -> Self::V<S>;

    /// The first [`Elem::lanes`] values of `x` (panics if shorter).
    #[inline(always)]
    fn vload<S: Simd>(x: &[Self]) -> Self::V<S> {
        Self::as_simd::<S>(&x[..Self::lanes::<S>()]).0[0]
    }
    /// Stores into the first [`Elem::lanes`] values of `x` (panics if shorter).
    #[inline(always)]
    fn vstore<S: Simd>(x: &mut [Self], v: Self::V<S>) {
        Self::as_simd_mut::<S>(&mut x[..Self::lanes::<S>()]).0[0] = v;
    }
    /// `x.len() <= lanes` values, the other lanes zero (a masked load where the level has one).
    fn vload_part<S: Simd>(s: S, x: &[Self]) -> Self::V<S>;
    /// Stores the first `x.len() <= lanes` lanes (a masked store where the level has one).
    fn vstore_part<S: Simd>(s: S, x: &mut [Self], v: Self::V<S>);
    /// `min(x.len(), lanes)` values, the other lanes zero.
    #[inline(always)]
    fn vload_n<S: Simd>(s: S, x: &[Self]) -> Self::V<S> {
        if x.len() >= Self::lanes::<S>() { Self::vload::<S>(x) } else { Self::vload_part::<S>(s, x) }
    }
    /// Stores the first `min(x.len(), lanes)` lanes.
    #[inline(always)]
    fn vstore_n<S: Simd>(s: S, x: &mut [Self], v: Self::V<S>) {
        if x.len() >= Self::lanes::<S>() { Self::vstore::<S>(x, v) } else { Self::vstore_part::<S>(s, x, v) }
    }
}

macro_rules! lanewise {
    ($t:ty, $s:ident, $a:ident, $f:expr) => {{
        let mut buf = [0.0 as $t; 16];
        <$t as Elem>::vstore::<S>(&mut buf, $a);
        for v in &mut buf[..<$t as Elem>::lanes::<S>()] {
            *v = $f(*v);
        }
        <$t as Elem>::vload::<S>(&buf)
    }};
}

impl Elem for f32 {
    type V<S: Simd> = S::f32s;

    #[inline(always)]
    fn lanes<S: Simd>() -> usize {
        S::F32_LANES
    }
    #[inline(always)]
    fn as_simd<S: Simd>(x: &[Self]) -> (&[Self::V<S>], &[Self]) {
        S::as_simd_f32s(x)
    }
    #[inline(always)]
    fn as_simd_mut<S: Simd>(x: &mut [Self]) -> (&mut [Self::V<S>], &mut [Self]) {
        S::as_mut_simd_f32s(x)
    }
    #[inline(always)]
    fn vsplat<S: Simd>(s: S, v: Self) -> Self::V<S> {
        s.splat_f32s(v)
    }
    #[inline(always)]
    fn vload_part<S: Simd>(s: S, x: &[Self]) -> Self::V<S> {
        s.partial_load_f32s(x)
    }
    #[inline(always)]
    fn vstore_part<S: Simd>(s: S, x: &mut [Self], v: Self::V<S>) {
        s.partial_store_f32s(x, v)
    }
    #[inline(always)]
    fn vadd<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S> {
        s.add_f32s(a, b)
    }
    #[inline(always)]
    fn vsub<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S> {
        s.sub_f32s(a, b)
    }
    #[inline(always)]
    fn vmul<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S> {
        s.mul_f32s(a, b)
    }
    #[inline(always)]
    fn vfma<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>, c: Self::V<S>) -> Self::V<S> {
        s.mul_add_e_f32s(a, b, c)
    }
    #[inline(always)]
    fn vselect_pos<S: Simd>(s: S, x: Self::V<S>, a: Self::V<S>, b: Self::V<S>) -> Self::V<S> {
        s.select_f32s(s.greater_than_f32s(x, s.splat_f32s(0.0)), a, b)
    }
    #[inline(always)]
    fn vselect_nonpos<S: Simd>(s: S, x: Self::V<S>, a: Self::V<S>, b: Self::V<S>) -> Self::V<S> {
        s.select_f32s(s.less_than_or_equal_f32s(x, s.splat_f32s(0.0)), a, b)
    }
    #[inline(always)]
    fn vtanh<S: Simd>(s: S, a: Self::V<S>) -> Self::V<S> {
        super::math::tanh_v(s, a)
    }
    #[inline(always)]
    fn vsigmoid<S: Simd>(s: S, a: Self::V<S>) -> Self::V<S> {
        super::math::sigmoid_v(s, a)
    }
    #[inline(always)]
    fn vexp<S: Simd>(s: S, a: Self::V<S>) -> Self::V<S> {
        super::math::exp_v(s, a)
    }
}

impl Elem for f64 {
    type V<S: Simd> = S::f64s;

    #[inline(always)]
    fn lanes<S: Simd>() -> usize {
        S::F64_LANES
    }
    #[inline(always)]
    fn as_simd<S: Simd>(x: &[Self]) -> (&[Self::V<S>], &[Self]) {
        S::as_simd_f64s(x)
    }
    #[inline(always)]
    fn as_simd_mut<S: Simd>(x: &mut [Self]) -> (&mut [Self::V<S>], &mut [Self]) {
        S::as_mut_simd_f64s(x)
    }
    #[inline(always)]
    fn vsplat<S: Simd>(s: S, v: Self) -> Self::V<S> {
        s.splat_f64s(v)
    }
    #[inline(always)]
    fn vload_part<S: Simd>(s: S, x: &[Self]) -> Self::V<S> {
        s.partial_load_f64s(x)
    }
    #[inline(always)]
    fn vstore_part<S: Simd>(s: S, x: &mut [Self], v: Self::V<S>) {
        s.partial_store_f64s(x, v)
    }
    #[inline(always)]
    fn vadd<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S> {
        s.add_f64s(a, b)
    }
    #[inline(always)]
    fn vsub<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S> {
        s.sub_f64s(a, b)
    }
    #[inline(always)]
    fn vmul<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S> {
        s.mul_f64s(a, b)
    }
    #[inline(always)]
    fn vfma<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>, c: Self::V<S>) -> Self::V<S> {
        s.mul_add_e_f64s(a, b, c)
    }
    #[inline(always)]
    fn vselect_pos<S: Simd>(s: S, x: Self::V<S>, a: Self::V<S>, b: Self::V<S>) -> Self::V<S> {
        s.select_f64s(s.greater_than_f64s(x, s.splat_f64s(0.0)), a, b)
    }
    #[inline(always)]
    fn vselect_nonpos<S: Simd>(s: S, x: Self::V<S>, a: Self::V<S>, b: Self::V<S>) -> Self::V<S> {
        s.select_f64s(s.less_than_or_equal_f64s(x, s.splat_f64s(0.0)), a, b)
    }
    #[inline(always)]
    fn vtanh<S: Simd>(_s: S, a: Self::V<S>) -> Self::V<S> {
        lanewise!(f64, _s, a, f64::tanh)
    }
    #[inline(always)]
    fn vsigmoid<S: Simd>(_s: S, a: Self::V<S>) -> Self::V<S> {
        // The same formula as the scalar path (`crate::activation::sigmoid`).
        lanewise!(f64, _s, a, |v: f64| 1.0 / (1.0 + (-v).exp()))
    }
    #[inline(always)]
    fn vexp<S: Simd>(_s: S, a: Self::V<S>) -> Self::V<S> {
        lanewise!(f64, _s, a, f64::exp)
    }
}
