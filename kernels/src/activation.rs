//! Element-wise activations of the vanilla RNN and the gates: scalar (the
//! reference and the training utilities) and lane-wise (the fused kernels).

use crate::real::Real;
use crate::simd::{Elem, Level, dispatch};
use pulp::{Simd, WithSimd};

/// The non-linearity `f` of a vanilla RNN, `h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// `tanh(a)`; `f' = 1 - h²`.
    Tanh,
    /// `1 / (1 + e^{-a})`; `f' = h (1 - h)`.
    Sigmoid,
    /// `max(a, 0)`; `f' = 1` for `a > 0`, else 0.
    Relu,
    /// `a` for `a > 0`, else `slope · a`; `f' = 1` for `a > 0`, else `slope`.
    /// The slope must be finite and `>= 0` (so that the sign of `h` tells the branch).
    LeakyRelu(f64),
    /// Identity; `f' = 1`.
    Linear,
}

impl Activation {
    /// Applies the activation to a pre-activation `a`.
    #[inline(always)]
    pub fn apply<T: Real>(self, a: T) -> T {
        match self {
            Activation::Tanh => a.tanh(),
            Activation::Sigmoid => sigmoid(a),
            Activation::Relu => {
                if a > T::ZERO {
                    a
                } else {
                    T::ZERO
                }
            }
            Activation::LeakyRelu(s) => {
                if a > T::ZERO {
                    a
                } else {
                    T::from_f64(s) * a
                }
            }
            Activation::Linear => a,
        }
    }

    /// The derivative `f'(a)` expressed through the output `h = f(a)`.
    ///
    /// Exact for every variant (for leaky ReLU because its slope is `>= 0`);
    /// at the kink `a = 0` the ReLUs use the left derivative.
    #[inline(always)]
    pub fn derivative_from_output<T: Real>(self, h: T) -> T {
        match self {
            Activation::Tanh => T::ONE - h * h,
            Activation::Sigmoid => h * (T::ONE - h),
            Activation::Relu => {
                if h > T::ZERO {
                    T::ONE
                } else {
                    T::ZERO
                }
            }
            Activation::LeakyRelu(s) => {
                if h > T::ZERO {
                    T::ONE
                } else {
                    T::from_f64(s)
                }
            }
            Activation::Linear => T::ONE,
        }
    }

    /// Bound on `|f'|` (the `γ` of Pascanu et al.): 1 for tanh, 1/4 for sigmoid,
    /// `max(1, slope)` for leaky ReLU, 1 otherwise.
    pub fn derivative_bound(self) -> f64 {
        match self {
            Activation::Sigmoid => 0.25,
            Activation::LeakyRelu(s) => s.max(1.0),
            _ => 1.0,
        }
    }

    /// Short lower-case name (`tanh`, `sigmoid`, `relu`, `leaky_relu`, `linear`).
    pub fn name(self) -> &'static str {
        match self {
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Relu => "relu",
            Activation::LeakyRelu(_) => "leaky_relu",
            Activation::Linear => "linear",
        }
    }

    /// `f(a)`, lane-wise. Unlike [`Activation::apply`], the ReLUs propagate NaN.
    #[inline(always)]
    pub(crate) fn apply_v<S: Simd, T: Elem>(self, s: S, a: T::V<S>) -> T::V<S> {
        match self {
            Activation::Tanh => T::vtanh(s, a),
            Activation::Sigmoid => T::vsigmoid(s, a),
            Activation::Relu => T::vselect_nonpos(s, a, T::vsplat(s, T::ZERO), a),
            Activation::LeakyRelu(slope) => {
                let slope = T::vsplat(s, T::from_f64(slope));
                T::vselect_pos(s, a, a, T::vmul(s, slope, a))
            }
            Activation::Linear => a,
        }
    }

    /// `f'(a)` from the output `h = f(a)`, lane-wise (as [`Activation::derivative_from_output`]).
    #[inline(always)]
    pub(crate) fn derivative_v<S: Simd, T: Elem>(self, s: S, h: T::V<S>) -> T::V<S> {
        let one = T::vsplat(s, T::ONE);
        match self {
            Activation::Tanh => T::vsub(s, one, T::vmul(s, h, h)),
            Activation::Sigmoid => T::vmul(s, h, T::vsub(s, one, h)),
            Activation::Relu => T::vselect_pos(s, h, one, T::vsplat(s, T::ZERO)),
            Activation::LeakyRelu(slope) => T::vselect_pos(s, h, one, T::vsplat(s, T::from_f64(slope))),
            Activation::Linear => one,
        }
    }

    #[track_caller]
    pub(crate) fn validate(self) {
        if let Activation::LeakyRelu(s) = self {
            assert!(s.is_finite() && s >= 0.0, "Activation::LeakyRelu: slope must be finite and >= 0, got {s}");
        }
    }
}

/// The logistic sigmoid `1 / (1 + e^{-a})`.
#[inline(always)]
pub fn sigmoid<T: Real>(a: T) -> T {
    T::ONE / (T::ONE + (-a).exp())
}

/// A lane-wise map over a slice: what [`map`] computes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum MapOp {
    /// `e^x`.
    Exp,
    /// `f(x)`.
    Apply(Activation),
    /// `f'` from the output `x = f(a)`.
    Derivative(Activation),
}

struct Map<'a, T> {
    op: MapOp,
    x: &'a [T],
    y: &'a mut [T],
}

impl<T: Elem> WithSimd for Map<'_, T> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let op = self.op;
        let f = |v: T::V<S>| match op {
            MapOp::Exp => T::vexp(s, v),
            MapOp::Apply(a) => a.apply_v::<S, T>(s, v),
            MapOp::Derivative(a) => a.derivative_v::<S, T>(s, v),
        };
        let (xv, xt) = T::as_simd::<S>(self.x);
        let (yv, yt) = T::as_simd_mut::<S>(self.y);
        for (y, &x) in yv.iter_mut().zip(xv) {
            *y = f(x);
        }
        if !xt.is_empty() {
            T::vstore_part::<S>(s, yt, f(T::vload_part::<S>(s, xt)));
        }
    }
}

/// `y[i] = op(x[i])` with the lane-wise functions the kernels use, at `level`
/// (lengths checked by the caller): how the tests check them over whole ranges.
pub(crate) fn map<T: Elem>(level: Level, op: MapOp, x: &[T], y: &mut [T]) {
    dispatch(level, Map { op, x, y });
}
