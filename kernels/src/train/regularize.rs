//! Weight penalties for regularisation: the penalty value (added to the loss) and its gradient
//! (added into a gradient buffer). Sums are accumulated in `f64` in index order.

use crate::real::Real;

#[track_caller]
fn check_lambda(who: &str, lambda: f64) {
    assert!(lambda.is_finite() && lambda >= 0.0, "{who}: `lambda` must be finite and >= 0, got {lambda}");
}

#[track_caller]
fn check_lengths(who: &str, w: usize, grad: usize) {
    assert!(grad == w, "{who}: `grad` has length {grad}, expected w.len() = {w}");
}

/// L1 penalty λ·Σ_i |w_i|.
///
/// # Panics
/// If `lambda` is negative or not finite.
#[track_caller]
pub fn l1_penalty<T: Real>(w: &[T], lambda: f64) -> f64 {
    check_lambda("regularize::l1_penalty", lambda);
    lambda * w.iter().map(|x| x.to_f64().abs()).sum::<f64>()
}

/// Adds the (sub)gradient of the L1 penalty: grad_i += λ·sign(w_i), with sign(0) = 0 (and a NaN
/// weight makes its gradient NaN). λ is rounded to `T` first.
///
/// # Panics
/// If `grad.len() != w.len()`, or `lambda` is negative or not finite.
#[track_caller]
pub fn add_l1_grad<T: Real>(w: &[T], lambda: f64, grad: &mut [T]) {
    const WHO: &str = "regularize::add_l1_grad";
    check_lengths(WHO, w.len(), grad.len());
    check_lambda(WHO, lambda);
    let l = T::from_f64(lambda);
    for (g, &x) in grad.iter_mut().zip(w) {
        if x > T::ZERO {
            *g += l;
        } else if x < T::ZERO {
            *g -= l;
        } else if x != T::ZERO {
            *g += x; // NaN
        }
    }
}

/// L2 penalty (λ/2)·Σ_i w_i².
///
/// # Panics
/// If `lambda` is negative or not finite.
#[track_caller]
pub fn l2_penalty<T: Real>(w: &[T], lambda: f64) -> f64 {
    check_lambda("regularize::l2_penalty", lambda);
    0.5 * lambda * w.iter().map(|x| x.to_f64() * x.to_f64()).sum::<f64>()
}

/// Adds the gradient of the L2 penalty: grad_i += λ·w_i (computed in `T`, λ rounded to `T`).
///
/// # Panics
/// If `grad.len() != w.len()`, or `lambda` is negative or not finite.
#[track_caller]
pub fn add_l2_grad<T: Real>(w: &[T], lambda: f64, grad: &mut [T]) {
    const WHO: &str = "regularize::add_l2_grad";
    check_lengths(WHO, w.len(), grad.len());
    check_lambda(WHO, lambda);
    let l = T::from_f64(lambda);
    for (g, &x) in grad.iter_mut().zip(w) {
        *g += l * x;
    }
}
