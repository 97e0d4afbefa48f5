//! Pascanu et al.'s regularizer Ω: value against a one-unit hand computation,
//! gradient against finite differences (δ and h held fixed, as defined).

use crate::common::TestRng;
use kernels::Activation;
use kernels::train::omega::add_omega_grad;

#[test]
fn one_unit_value_by_hand() {
    // H = 1, three rows: g = δ (1 - h²), v = w g, ratio = w² (1 - h²)².
    let (w, h, d) = (1.3f64, [0.2, -0.5, 0.9], [0.7, -1.1, 0.0]);
    let mut grad = [0.0];
    let om = add_omega_grad(Activation::Tanh, 1, &[w], &h, &d, 1e-20, 1.0, &mut grad);
    let terms: Vec<f64> = h[..2].iter().map(|h: &f64| (w * w * (1.0 - h * h).powi(2) - 1.0).powi(2)).collect();
    assert!((om.value - (terms[0] + terms[1]) / 2.0).abs() < 1e-15, "{om:?}");
    assert!((om.valid_fraction - 2.0 / 3.0).abs() < 1e-15);
    // dΩ/dw = Σ 2 (ratio - 1) · 2 w (1 - h²)² / N.
    let dw: f64 = h[..2]
        .iter()
        .map(|h: &f64| 4.0 * (w * w * (1.0 - h * h).powi(2) - 1.0) * w * (1.0 - h * h).powi(2))
        .sum::<f64>()
        / 2.0;
    assert!((grad[0] - dw).abs() < 1e-14, "{} vs {dw}", grad[0]);
}

#[test]
fn gradient_matches_finite_differences() {
    for act in [Activation::Tanh, Activation::Sigmoid, Activation::Linear] {
        let (hidden, rows) = (6, 12);
        let mut rng = TestRng(5);
        let mut w: Vec<f64> = rng.vec(hidden * hidden, 0.6);
        let h: Vec<f64> = rng.vec(rows * hidden, 0.9);
        let mut d: Vec<f64> = rng.vec(rows * hidden, 1.0);
        d[..hidden].fill(0.0); // one row below the bound: excluded
        let alpha = 0.7;
        let mut grad = vec![0.0; hidden * hidden];
        let om = add_omega_grad(act, hidden, &w, &h, &d, 1e-20, alpha, &mut grad);
        assert!((om.valid_fraction - 11.0 / 12.0).abs() < 1e-15);
        let eps = 1e-4;
        for k in 0..w.len() {
            let orig = w[k];
            let mut f = |x: f64| {
                w[k] = x;
                add_omega_grad(act, hidden, &w, &h, &d, 1e-20, 0.0, &mut vec![0.0; hidden * hidden]).value
            };
            let num =
                (-f(orig + 2.0 * eps) + 8.0 * f(orig + eps) - 8.0 * f(orig - eps) + f(orig - 2.0 * eps)) / (12.0 * eps);
            w[k] = orig;
            let err = (grad[k] - alpha * num).abs() / (alpha * num).abs().max(1e-3);
            assert!(err < 1e-7, "{act:?} w[{k}]: analytic {} numeric {}", grad[k], alpha * num);
        }
    }
}
