//! The floating-point element type: `f32` for speed, `f64` for checks.

use core::fmt::{Debug, Display};
use core::iter::Sum;
use core::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A real scalar the kernels are generic over. Implemented for `f32` and `f64` only.
///
/// The public entry points are generic over it; the time loops behind them are
/// compiled once, inside this crate, for `f32` and `f64`.
pub trait Real:
    sealed::Sealed
    + Copy
    + Send
    + Sync
    + Default
    + Debug
    + Display
    + PartialOrd
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + Sum
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// Short name, `"f32"` or `"f64"`.
    const NAME: &'static str;
    /// Whether this is `f32` (denormal control and the vector activations apply to it).
    const IS_F32: bool;
    /// Rounds an `f64` to this type.
    fn from_f64(v: f64) -> Self;
    /// Widens to `f64` (exact).
    fn to_f64(self) -> f64;
    /// e^x.
    fn exp(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Absolute value.
    fn abs(self) -> Self;
    /// Larger of two values (NaN-ignoring, as `f32::max`).
    fn max(self, other: Self) -> Self;
    /// Smaller of two values (NaN-ignoring, as `f32::min`).
    fn min(self, other: Self) -> Self;
    /// Neither NaN nor infinite.
    fn is_finite(self) -> bool;

    /// `C ← α A B + β C` through matrixmultiply, with element strides.
    ///
    /// # Safety
    /// The pointers and strides must describe valid, non-aliasing matrices
    /// (`A`: m×k, `B`: k×n, `C`: m×n) as documented by `matrixmultiply::sgemm`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm_raw(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        beta: Self,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    );
}

macro_rules! impl_real {
    ($t:ty, $name:literal, $is_f32:literal, $gemm:path) => {
        impl Real for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const NAME: &'static str = $name;
            const IS_F32: bool = $is_f32;
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            #[inline(always)]
            fn max(self, other: Self) -> Self {
                <$t>::max(self, other)
            }
            #[inline(always)]
            fn min(self, other: Self) -> Self {
                <$t>::min(self, other)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            #[inline]
            unsafe fn gemm_raw(
                m: usize,
                k: usize,
                n: usize,
                alpha: Self,
                a: *const Self,
                rsa: isize,
                csa: isize,
                b: *const Self,
                rsb: isize,
                csb: isize,
                beta: Self,
                c: *mut Self,
                rsc: isize,
                csc: isize,
            ) {
                // SAFETY: forwarded verbatim; the caller upholds matrixmultiply's contract.
                unsafe { $gemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc) }
            }
        }
    };
}

impl_real!(f32, "f32", true, matrixmultiply::sgemm);
impl_real!(f64, "f64", false, matrixmultiply::dgemm);

/// `x` seen as a slice of `U`, which must be the same type as `T` (panics otherwise).
///
/// Why: a public generic entry point (`Rnn::forward::<T>`) is compiled in every
/// crate that calls it, and so is every generic function it calls. Its body
/// therefore only checks arguments and then calls a *non-generic* `f32` or
/// `f64` function of this crate through this cast, so that the time loops are
/// compiled once, here, not again in each test binary, benchmark and engine.
#[inline(always)]
pub(crate) fn cast<T: Real, U: Real>(x: &[T]) -> &[U] {
    assert!(core::any::TypeId::of::<T>() == core::any::TypeId::of::<U>(), "cast between different types");
    // SAFETY: `T` and `U` are the same type (checked above), so the pointer,
    // length and lifetime describe a valid `[U]`.
    unsafe { core::slice::from_raw_parts(x.as_ptr().cast::<U>(), x.len()) }
}

/// [`cast`] for a mutable slice.
#[inline(always)]
pub(crate) fn cast_mut<T: Real, U: Real>(x: &mut [T]) -> &mut [U] {
    assert!(core::any::TypeId::of::<T>() == core::any::TypeId::of::<U>(), "cast between different types");
    // SAFETY: as in `cast`; the borrow is exclusive and handed on unchanged.
    unsafe { core::slice::from_raw_parts_mut(x.as_mut_ptr().cast::<U>(), x.len()) }
}

/// [`cast`] for one value.
#[inline(always)]
pub(crate) fn cast_scalar<T: Real, U: Real>(v: T) -> U {
    cast::<T, U>(core::slice::from_ref(&v))[0]
}
