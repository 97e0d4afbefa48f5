//! Vector activations at every SIMD level the host has, against `f64`.

use crate::common::levels;
use kernels::Activation;
use kernels::simd::{self, Level};

/// The lane-wise maps at the level in force (`simd::with_level`).
mod math {
    use kernels::internals::{map_activation, map_derivative, map_exp};
    use kernels::{Activation, Real, simd};

    pub fn exp<T: Real>(x: &[T], y: &mut [T]) {
        map_exp(simd::level(), x, y);
    }

    pub fn activate<T: Real>(act: Activation, x: &[T], y: &mut [T]) {
        map_activation(simd::level(), act, x, y);
    }

    pub fn derivative_from_output<T: Real>(act: Activation, h: &[T], d: &mut [T]) {
        map_derivative(simd::level(), act, h, d);
    }
}

/// More than a million `f32` values spread over the whole range (every bit
/// pattern with a stride), plus the extremes.
fn inputs() -> Vec<f32> {
    let mut v: Vec<f32> = (0..=u32::MAX).step_by(4093).map(f32::from_bits).filter(|x| !x.is_nan()).collect();
    v.extend([
        0.0,
        -0.0,
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE,
        1e-45,
        -1e-45,
        1e-40,
        -1e-40,
        f32::MAX,
        f32::MIN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::EPSILON,
        0.625,
        -0.625,
        0.624_999_9,
        9.0,
        10.0,
        -10.0,
        20.0,
        -87.3,
        -87.4,
        88.7,
        88.8,
        -88.7,
        -104.0,
    ]);
    // A dense sweep of the interesting region too.
    v.extend((-200_000..=200_000).map(|i| i as f32 * 1e-4));
    assert!(v.len() > 1_000_000);
    v
}

fn max_abs_err(f: impl Fn(&[f32], &mut [f32]), reference: impl Fn(f64) -> f64, level: Level) -> (f64, f32) {
    let x = inputs();
    let mut y = vec![0.0f32; x.len()];
    simd::with_level(level, || f(&x, &mut y));
    let mut worst = (0.0f64, 0.0f32);
    for (&xi, &yi) in x.iter().zip(&y) {
        let e = (yi as f64 - reference(xi as f64)).abs();
        assert!(!e.is_nan(), "{level:?}: NaN output {yi} for input {xi}");
        if e > worst.0 {
            worst = (e, xi);
        }
    }
    worst
}

fn check_nan(f: impl Fn(&[f32], &mut [f32]), level: Level) {
    let x = [f32::NAN, -f32::NAN, f32::from_bits(0x7fc0_0001), 1.0, f32::NAN, 0.0, 2.0, f32::NAN, f32::NAN];
    let mut y = [0.0f32; 9];
    simd::with_level(level, || f(&x, &mut y));
    for (xi, yi) in x.iter().zip(y) {
        assert_eq!(xi.is_nan(), yi.is_nan(), "{level:?}: NaN not propagated exactly ({xi} -> {yi})");
    }
}

#[test]
fn tanh_error_below_1e6_every_level() {
    for level in levels() {
        let f = |x: &[f32], y: &mut [f32]| math::activate(Activation::Tanh, x, y);
        let (e, at) = max_abs_err(f, f64::tanh, level);
        assert!(e <= 1e-6, "{level:?}: tanh max error {e:e} at {at}");
        check_nan(f, level);
    }
}

#[test]
fn sigmoid_error_below_1e6_every_level() {
    for level in levels() {
        let f = |x: &[f32], y: &mut [f32]| math::activate(Activation::Sigmoid, x, y);
        let (e, at) = max_abs_err(f, |v| 1.0 / (1.0 + (-v).exp()), level);
        assert!(e <= 1e-6, "{level:?}: sigmoid max error {e:e} at {at}");
        check_nan(f, level);
    }
}

#[test]
fn tanh_relative_error_near_zero() {
    for level in levels() {
        let x: Vec<f32> = (1..100_000).map(|i| i as f32 * 6e-6).chain([1e-30, 1e-20, 1e-10]).collect();
        let mut y = vec![0.0; x.len()];
        simd::with_level(level, || math::activate(Activation::Tanh, &x, &mut y));
        for (&xi, &yi) in x.iter().zip(&y) {
            let r = (xi as f64).tanh();
            assert!(((yi as f64 - r) / r).abs() < 5e-7, "{level:?}: tanh({xi}) = {yi}, want {r}");
            let mut yn = [0.0f32];
            simd::with_level(level, || math::activate(Activation::Tanh, &[-xi], &mut yn));
            assert_eq!(yn[0], -yi, "{level:?}: tanh not odd at {xi}");
        }
    }
}

#[test]
fn exp_relative_error_every_level() {
    for level in levels() {
        let x = inputs();
        let mut y = vec![0.0f32; x.len()];
        simd::with_level(level, || math::exp(&x, &mut y));
        let mut worst = 0.0f64;
        for (&xi, &yi) in x.iter().zip(&y) {
            let r = (xi as f64).exp();
            if xi < -87.3 {
                assert_eq!(yi, 0.0, "{level:?}: exp({xi}) should flush to 0, got {yi}");
            } else if r > f32::MAX as f64 {
                assert_eq!(yi, f32::INFINITY, "{level:?}: exp({xi}) should overflow");
            } else {
                let e = ((yi as f64 - r) / r).abs();
                worst = worst.max(e);
                assert!(e < 3e-7, "{level:?}: exp({xi}) = {yi}, want {r} (rel {e:e})");
            }
        }
        assert!(worst > 0.0);
        check_nan(math::exp, level);
    }
}

#[test]
fn relus_and_derivatives_match_scalar_every_level() {
    let acts = [Activation::Relu, Activation::LeakyRelu(0.01), Activation::Linear, Activation::LeakyRelu(0.0)];
    let x: Vec<f64> = (-1000..1000).map(|i| i as f64 * 0.37).chain([0.0, -0.0, 1e-300, -1e-300]).collect();
    for level in levels() {
        for act in acts {
            let mut y = vec![0.0; x.len()];
            simd::with_level(level, || math::activate(act, &x, &mut y));
            let mut d = vec![0.0; x.len()];
            simd::with_level(level, || math::derivative_from_output(act, &y, &mut d));
            for ((&xi, &yi), &di) in x.iter().zip(&y).zip(&d) {
                assert_eq!(yi, act.apply(xi), "{level:?} {act:?} at {xi}");
                assert_eq!(di, act.derivative_from_output(yi), "{level:?} {act:?}' at {xi}");
            }
        }
        // NaN propagates through every ReLU (the scalar `apply` maps it to 0 for ReLU).
        for act in [Activation::Relu, Activation::LeakyRelu(0.1)] {
            check_nan(|x, y| math::activate(act, x, y), level);
        }
    }
}

#[test]
fn smooth_derivatives_match_scalar_every_level() {
    let h: Vec<f32> = (-1000..=1000).map(|i| i as f32 * 1e-3).collect();
    for level in levels() {
        for act in [Activation::Tanh, Activation::Sigmoid] {
            let mut d = vec![0.0; h.len()];
            simd::with_level(level, || math::derivative_from_output(act, &h, &mut d));
            for (&hi, &di) in h.iter().zip(&d) {
                let want = act.derivative_from_output(hi);
                assert!((di - want).abs() <= 1e-7, "{level:?} {act:?}' at {hi}: {di} vs {want}");
            }
        }
    }
}

#[test]
fn f64_activations_are_the_standard_library() {
    let x: Vec<f64> = (-3000..3000).map(|i| i as f64 * 0.01).collect();
    for level in levels() {
        let mut y = vec![0.0; x.len()];
        simd::with_level(level, || math::activate(Activation::Tanh, &x, &mut y));
        for (&xi, &yi) in x.iter().zip(&y) {
            assert_eq!(yi, xi.tanh());
        }
        simd::with_level(level, || math::activate(Activation::Sigmoid, &x, &mut y));
        for (&xi, &yi) in x.iter().zip(&y) {
            assert_eq!(yi, Activation::Sigmoid.apply(xi));
        }
    }
}
