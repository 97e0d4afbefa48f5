//! The theory the experiments rest on (Pascanu et al. 2013), checked on the
//! kernels' recorded per-step norms `‖dL/dh_t‖`:
//! - linear RNN, `W_hh = ρQ` with `Q` orthogonal, loss on `h_T` only:
//!   `‖dL/dh_{T-k}‖ / ‖dL/dh_T‖ = ρ^k` exactly (to 1e-10 in f64), k up to 100;
//! - tanh RNN (|f'| ≤ 1): the ratio never exceeds `ρ^k`;
//! - sigmoid RNN (|f'| ≤ 1/4): the ratio never exceeds `(ρ/4)^k`.

use kernels::train::init::{gaussian, orthogonal, rng_from_seed};
use kernels::{Activation, BackwardOpts, Cell, Dims, Parallelism, Rnn, Upstream, Weights};

const T: usize = 101;
const B: usize = 3;
const H: usize = 16;

/// Per-lag ratios `‖dL/dh_{T-1-k}‖ / ‖dL/dh_{T-1}‖`, k = 0..T-1.
fn ratios(act: Activation, rho: f64, seed: u64) -> Vec<f64> {
    let rnn = Rnn::new(Cell::Rnn(act), 4, H);
    let mut rng = rng_from_seed(seed);
    let mut w = Weights::<f64>::zeros(&rnn);
    orthogonal(&mut rng, H, rho, &mut w.w_hh);
    gaussian(&mut rng, 0.5, &mut w.w_ih);
    gaussian(&mut rng, 0.1, &mut w.b_ih);
    let mut x = vec![0.0; T * B * 4];
    gaussian(&mut rng, 1.0, &mut x);
    let mut dh_n = vec![0.0; B * H];
    gaussian(&mut rng, 1.0, &mut dh_n);
    let par = Parallelism::Sequential;
    let trace = rnn.forward_train(&w, Dims::new(T, B), &x, None, None, par);
    let g = rnn.backward_trace(
        &w,
        trace,
        Upstream { dh_n: Some(&dh_n), ..Default::default() },
        BackwardOpts::default(),
        par,
    );
    let last = g.step_norms[T - 1];
    (0..T).map(|k| g.step_norms[T - 1 - k] / last).collect()
}

#[test]
fn linear_rnn_gradient_norm_is_rho_to_the_k() {
    for rho in [0.9, 1.0, 1.1] {
        for seed in [1, 2] {
            let r = ratios(Activation::Linear, rho, seed);
            for (k, &ratio) in r.iter().enumerate() {
                let expected = rho.powi(k as i32);
                let err = (ratio / expected - 1.0).abs();
                assert!(err <= 1e-10, "rho={rho} k={k}: ratio {ratio:e}, rho^k {expected:e}, rel err {err:e}");
            }
        }
    }
}

#[test]
fn tanh_rnn_gradient_norm_never_exceeds_rho_to_the_k() {
    for rho in [0.5, 0.9, 1.0, 1.1, 1.5] {
        let r = ratios(Activation::Tanh, rho, 3);
        for (k, &ratio) in r.iter().enumerate() {
            let bound = rho.powi(k as i32) * (1.0 + 1e-12);
            assert!(ratio <= bound, "rho={rho} k={k}: ratio {ratio:e} > rho^k {bound:e}");
        }
        // And tanh really attenuates: strictly below the bound at long lags.
        assert!(r[T - 1] < 0.5 * rho.powi(T as i32 - 1), "rho={rho}: no attenuation");
    }
}

#[test]
fn sigmoid_rnn_gradient_norm_never_exceeds_quarter_rho_to_the_k() {
    for rho in [1.0, 2.0, 4.0, 6.0] {
        let r = ratios(Activation::Sigmoid, rho, 4);
        for (k, &ratio) in r.iter().enumerate() {
            let bound = (rho / 4.0).powi(k as i32) * (1.0 + 1e-12);
            assert!(ratio <= bound, "rho={rho} k={k}: ratio {ratio:e} > (rho/4)^k {bound:e}");
        }
    }
}
