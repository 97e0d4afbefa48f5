//! Element-wise activations of the vanilla RNN and the gates.

use crate::real::Real;

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
