//! Whole sequence calls at every SIMD level the host has (levels it lacks are
//! skipped), against the scalar reference: f64 within 1e-12 and f32 within
//! 1e-5 (normwise relative), every cell, edge shapes (H = 1, odd H, B = 1
//! with one and with several GEMV panels, H past a 64-unit panel group, K past
//! one cache block), and the backward
//! outputs the owning API never asks for alone (step norms without `dh_all`,
//! `dh0` or `dc0` alone, truncation).

use crate::common::{all_cells, assert_close, levels};
use crate::driver::{Case, Want};
use kernels::simd::{self, Level};
use kernels::{Dims, Parallelism, Real, reference};

const SHAPES: &[(usize, usize, usize, usize)] = &[
    // (I, H, T, B)
    (1, 1, 1, 1),
    (3, 7, 5, 1),
    (2, 7, 4, 5),
    (5, 33, 6, 3),
    (4, 70, 3, 2),
    (3, 300, 2, 3),
    // Panels of one vector run where they pad less (AVX-512, H mod 2L in
    // 1..=L); these take the two-vector panels: f32 at H = 20, both at H = 64.
    (2, 20, 4, 13),
    (3, 64, 3, 2),
    // B = 1 runs GEMV steps on wider panels: several panels, a partial one.
    (4, 70, 3, 1),
    (3, 300, 2, 1),
];

const WANTS: &[Want] = &[
    Want::ALL,
    Want { dh_all: false, step_norms: true, dh0: false, dc0: false, truncate: None },
    Want { dh_all: false, step_norms: false, dh0: true, dc0: false, truncate: None },
    Want { dh_all: false, step_norms: false, dh0: false, dc0: true, truncate: None },
    Want { dh_all: false, step_norms: true, dh0: true, dc0: true, truncate: Some(2) },
];

fn check<T: Real>(level: Level, tol: f64, par: Parallelism) {
    for cell in all_cells() {
        for &(i, h, t, b) in SHAPES {
            let c = Case::<T>::new(cell, i, h, Dims::new(t, b), 7 + (h * t) as u64);
            let r = reference::forward(&c.rnn, &c.w, c.dims, &c.x, &c.h0, c.c0.as_deref());
            for &want in WANTS {
                let what = format!("{level:?} {cell:?} I={i} H={h} T={t} B={b} {want:?} {}", T::NAME);
                let o = simd::with_level(level, || c.run(par, want));
                assert_close(&format!("{what} h_out"), &o.h_out, &r.h, tol);
                assert_eq!(o.h_inf, o.h_out, "{what}: inference differs from training forward");
                if let Some(cn) = &o.c_n {
                    assert_close(&format!("{what} c_n"), cn, &r.c[r.c.len() - c.h0.len()..], tol);
                    assert_eq!(o.c_inf.as_ref(), Some(cn), "{what}: inference c_n differs");
                }
                let g = reference::backward(
                    &c.rnn,
                    &c.w,
                    c.dims,
                    &c.x,
                    &c.h0,
                    c.c0.as_deref(),
                    &r,
                    Some(&c.dh_out),
                    Some(&c.dh_n),
                    c.dc_n.as_deref(),
                    want.truncate,
                );
                for (name, a, e) in [
                    ("dW_ih", &o.grads.w_ih, &g.weights.w_ih),
                    ("dW_hh", &o.grads.w_hh, &g.weights.w_hh),
                    ("db_ih", &o.grads.b_ih, &g.weights.b_ih),
                    ("db_hh", &o.grads.b_hh, &g.weights.b_hh),
                    ("dx", &o.dx, &g.dx),
                ] {
                    assert_close(&format!("{what} {name}"), a, e, tol);
                }
                if want.dh0 {
                    assert_close(&format!("{what} dh0"), &o.dh0, &g.dh0, tol);
                }
                if want.dc0 && cell.has_cell_state() {
                    assert_close(&format!("{what} dc0"), &o.dc0, &g.dc0, tol);
                }
                if want.step_norms {
                    assert_close(&format!("{what} step_norms"), &o.step_norms, &g.step_norms, tol);
                }
                if want.dh_all && want.step_norms {
                    let bh = c.h0.len();
                    let norms: Vec<T> =
                        o.dh_all.chunks(bh).map(|d| d.iter().map(|&v| v * v).sum::<T>().sqrt()).collect();
                    assert_eq!(norms, o.step_norms, "{what}: dh_all and step_norms disagree");
                }
            }
        }
    }
}

#[test]
fn every_level_equals_reference_f64() {
    for level in levels() {
        check::<f64>(level, 1e-12, Parallelism::Sequential);
    }
}

#[test]
fn every_level_equals_reference_f32() {
    for level in levels() {
        check::<f32>(level, 1e-5, Parallelism::Sequential);
    }
}

#[test]
fn every_level_equals_reference_two_threads() {
    for level in levels() {
        check::<f64>(level, 1e-12, Parallelism::Rayon(2));
    }
}

#[test]
fn levels_agree_with_scalar_level_f32() {
    // The vector levels against the scalar level of the same kernels.
    let c = Case::<f32>::new(kernels::Cell::Lstm, 24, 40, Dims::new(30, 3), 5);
    let base = simd::with_level(Level::Scalar, || c.run(Parallelism::Sequential, Want::ALL));
    for level in levels() {
        let o = simd::with_level(level, || c.run(Parallelism::Sequential, Want::ALL));
        assert_close(&format!("{level:?} h_out"), &o.h_out, &base.h_out, 1e-5);
        assert_close(&format!("{level:?} dW_hh"), &o.grads.w_hh, &base.grads.w_hh, 1e-5);
        assert_close(&format!("{level:?} dx"), &o.dx, &base.dx, 1e-5);
    }
}

#[test]
fn level_names_parse_and_forcing_checks_availability() {
    for level in Level::ALL {
        assert_eq!(Level::parse(level.name()), Some(level));
        assert_eq!(Level::parse(&level.name().to_uppercase()), Some(level));
        if level.is_available() {
            assert_eq!(simd::with_level(level, simd::level), level);
        } else {
            assert!(std::panic::catch_unwind(|| simd::with_level(level, || ())).is_err());
        }
    }
    assert_eq!(Level::parse("sse9"), None);
    assert!(Level::best().is_available());
}
