//! Vanilla RNN step: `h_t = f(a_t)`, `a_t = (W_ih x_t + b_ih + b_hh) + W_hh h_{t-1}`.
//!
//! Both biases are folded into the hoisted input projection, so a step is the
//! recurrent product plus one activation.

use crate::activation::Activation;
use crate::real::Real;

/// `h = f(xg + hh)` element-wise; `xg` holds the input projection with both
/// biases, `hh = h_{t-1} · W_hhᵀ`. All three slices are `[B, H]`.
#[inline]
pub fn forward_step<T: Real>(act: Activation, xg: &[T], hh: &[T], h: &mut [T]) {
    for ((h, &x), &r) in h.iter_mut().zip(xg).zip(hh) {
        *h = act.apply(x + r);
    }
}

/// `dg = dh ⊙ f'(a_t)`, the derivative taken from the saved output `h_t`.
/// `dg` is the gradient of the pre-activation, for both weight matrices.
#[inline]
pub fn backward_step<T: Real>(act: Activation, h: &[T], dh: &[T], dg: &mut [T]) {
    for ((g, &h), &d) in dg.iter_mut().zip(h).zip(dh) {
        *g = d * act.derivative_from_output(h);
    }
}
