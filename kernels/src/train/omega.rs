//! The gradient-flow regularizer Ω of Pascanu, Mikolov & Bengio (2013), in the
//! form their code computes it, for the vanilla RNN.
//!
//! With `δ_k = dL/dh_k` the total gradient reaching step `k` (from
//! [`crate::BackwardOut::dh_all`]), `g_k = δ_k ⊙ f'(a_k)` and
//! `v_k = W_hhᵀ g_k` (the part of `dL/dh_{k-1}` that flows through the
//! recurrence), each step and batch row with `‖δ_k‖² >= bound` contributes
//!
//! ```text
//! ω_k = (‖v_k‖² / ‖δ_k‖² − 1)²,      Ω = Σ ω_k / (number of contributing rows)
//! ```
//!
//! Ω is small when the gradient keeps its norm as it travels back one step.
//! Its gradient treats `δ_k` and `h_k` as constants (as the authors' code
//! does), so only the explicit `W_hh` in `v_k` is differentiated:
//!
//! ```text
//! ∂Ω/∂W_hh = Σ 4 (‖v_k‖²/‖δ_k‖² − 1) / (‖δ_k‖² N) · g_k v_kᵀ
//! ```
//!
//! (`W_hh` indexed `[row i, column j]` as in `h_t = f(W_hh h_{t-1} + …)`.)
//! It is one GEMM over all `T·B` rows.

use crate::activation::Activation;
use crate::gemm::{MatRef, gemm};
use crate::real::Real;

/// What [`add_omega_grad`] measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Omega {
    /// The value of Ω (0 when no row contributes).
    pub value: f64,
    /// Fraction of the `T·B` rows whose `‖δ_k‖² >= bound` (the authors' "steps in the past").
    pub valid_fraction: f64,
}

/// Computes Ω for a vanilla RNN with activation `act` and adds
/// `alpha · ∂Ω/∂W_hh` into `grad_w_hh`.
///
/// `w_hh: [H, H]`; `h_out` and `dh_all: [T·B, H]` (the forward output and the
/// total gradients of the same call); `bound` is the authors' threshold on
/// `‖δ_k‖²` (1e-20 in their code). Allocates `2·T·B·H` values of scratch.
#[track_caller]
#[allow(clippy::too_many_arguments)]
pub fn add_omega_grad<T: Real>(
    act: Activation,
    hidden: usize,
    w_hh: &[T],
    h_out: &[T],
    dh_all: &[T],
    bound: f64,
    alpha: f64,
    grad_w_hh: &mut [T],
) -> Omega {
    const WHAT: &str = "omega::add_omega_grad";
    assert!(hidden > 0, "{WHAT}: `hidden` must be >= 1");
    assert_eq!(w_hh.len(), hidden * hidden, "{WHAT}: `w_hh` must have length H*H");
    assert_eq!(grad_w_hh.len(), hidden * hidden, "{WHAT}: `grad_w_hh` must have length H*H");
    assert_eq!(h_out.len() % hidden, 0, "{WHAT}: `h_out` length must be a multiple of H");
    assert_eq!(dh_all.len(), h_out.len(), "{WHAT}: `dh_all` must have the length of `h_out`");
    let rows = h_out.len() / hidden;
    // g = δ ⊙ f'(a), the derivative taken from the output.
    let mut g: Vec<T> = dh_all.iter().zip(h_out).map(|(&d, &h)| d * act.derivative_from_output(h)).collect();
    let mut v = vec![T::ZERO; rows * hidden];
    gemm(
        crate::simd::level(),
        T::ONE,
        MatRef::row_major(&g, rows, hidden),
        MatRef::row_major(w_hh, hidden, hidden),
        T::ZERO,
        &mut v,
        hidden,
    );
    let mut sum = 0.0;
    let mut count = 0usize;
    let mut scale = vec![0.0f64; rows];
    for r in 0..rows {
        let ysq: f64 = dh_all[r * hidden..][..hidden].iter().map(|&x| x.to_f64() * x.to_f64()).sum();
        if ysq >= bound {
            let xsq: f64 = v[r * hidden..][..hidden].iter().map(|&x| x.to_f64() * x.to_f64()).sum();
            let ratio = xsq / ysq;
            sum += (ratio - 1.0) * (ratio - 1.0);
            count += 1;
            scale[r] = 4.0 * (ratio - 1.0) / ysq;
        }
    }
    if count == 0 {
        return Omega { value: 0.0, valid_fraction: 0.0 };
    }
    let n = count as f64;
    for (row, &s) in g.chunks_exact_mut(hidden).zip(&scale) {
        let s = T::from_f64(alpha * s / n);
        for x in row {
            *x *= s;
        }
    }
    gemm(
        crate::simd::level(),
        T::ONE,
        MatRef::row_major(&g, rows, hidden).t(),
        MatRef::row_major(&v, rows, hidden),
        T::ONE,
        grad_w_hh,
        hidden,
    );
    Omega { value: sum / n, valid_fraction: n / rows as f64 }
}
