//! The packed-panel products of the recurrent step, at every SIMD level the
//! host has (levels it lacks are skipped), against plain loops and against the
//! scalar level, over edge shapes (H = 1, odd H, B = 1, K past one block).

use crate::common::{fill, levels};
use kernels::internals as gemm;
use kernels::simd::Level;

const SHAPES: &[(usize, usize, usize)] = &[
    // (B, H, K)
    (1, 1, 1),
    (1, 1, 5),
    (2, 1, 3),
    (1, 7, 7),
    (3, 7, 7),
    (5, 13, 9),
    (1, 64, 64),
    (1, 128, 128),
    (16, 33, 31),
    (7, 40, 300),
    (9, 17, 600),
    (4, 100, 1),
    // Tiles of up to twelve rows with AVX-512 (12; 23 = 12 + 11; 25 = 9 + 8 + 8)
    // and K past the step kernels' block (partial tiles parked between blocks).
    (12, 20, 33),
    (23, 9, 40),
    (25, 33, 17),
    (13, 17, 1100),
];

fn gate_loop(w: &[f64], gh: usize, k: usize, x: &[f64], b: usize) -> Vec<f64> {
    let mut y = vec![0.0; b * gh];
    for i in 0..b {
        for j in 0..gh {
            y[i * gh + j] = (0..k).map(|kk| x[i * k + kk] * w[j * k + kk]).sum();
        }
    }
    y
}

fn col_loop(w: &[f64], r: usize, n: usize, a: &[f64], b: usize) -> Vec<f64> {
    let mut y = vec![0.0; b * n];
    for i in 0..b {
        for c in 0..n {
            y[i * n + c] = (0..r).map(|rr| a[i * r + rr] * w[rr * n + c]).sum();
        }
    }
    y
}

fn assert_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "{what}: element {i}: {g} vs {w}");
    }
}

#[test]
fn gate_product_matches_loops_f64_every_level() {
    for level in levels() {
        for &(b, h, k) in SHAPES {
            for g in [1, 3, 4] {
                let w = fill(g * h * k, 1);
                let x = fill(b * k, 2);
                let mut y = vec![f64::NAN; b * g * h];
                gemm::gate_product(level, &w, g, h, k, &x, b, &mut y);
                let want = gate_loop(&w, g * h, k, &x, b);
                assert_close(&y, &want, 1e-13 * k as f64, &format!("{level:?} G={g} B={b} H={h} K={k}"));
            }
        }
    }
}

#[test]
fn col_product_matches_loops_f64_every_level() {
    for level in levels() {
        for &(b, n, r) in SHAPES {
            let w = fill(r * n, 3);
            let a = fill(b * r, 4);
            let mut y = vec![f64::NAN; b * n];
            gemm::col_product(level, &w, r, n, &a, b, &mut y);
            assert_close(&y, &col_loop(&w, r, n, &a, b), 1e-13 * r as f64, &format!("{level:?} B={b} N={n} R={r}"));
        }
    }
}

#[test]
fn f32_products_match_scalar_level() {
    for level in levels() {
        for &(b, h, k) in SHAPES {
            for g in [1, 4] {
                let w: Vec<f32> = fill(g * h * k, 5).iter().map(|&v| v as f32).collect();
                let x: Vec<f32> = fill(b * k, 6).iter().map(|&v| v as f32).collect();
                let mut y = vec![0.0f32; b * g * h];
                let mut y0 = vec![0.0f32; b * g * h];
                gemm::gate_product(level, &w, g, h, k, &x, b, &mut y);
                gemm::gate_product(Level::Scalar, &w, g, h, k, &x, b, &mut y0);
                for (i, (a, s)) in y.iter().zip(&y0).enumerate() {
                    assert!(
                        (a - s).abs() <= 1e-5 * (k as f32).sqrt(),
                        "{level:?} G={g} B={b} H={h} K={k} [{i}]: {a} vs {s}"
                    );
                }
                let mut c = vec![0.0f32; b * h];
                let mut c0 = vec![0.0f32; b * h];
                gemm::col_product(level, &w[..k * h], k, h, &x, b, &mut c);
                gemm::col_product(Level::Scalar, &w[..k * h], k, h, &x, b, &mut c0);
                for (i, (a, s)) in c.iter().zip(&c0).enumerate() {
                    assert!(
                        (a - s).abs() <= 1e-5 * (k as f32).sqrt(),
                        "{level:?} cols B={b} H={h} K={k} [{i}]: {a} vs {s}"
                    );
                }
            }
        }
    }
}

#[test]
fn rows_are_computed_the_same_in_any_tile() {
    // A row's result must not depend on the rows around it (bitwise), which is
    // what makes batch splitting between threads deterministic.
    for level in levels() {
        let (h, k, g) = (19, 300, 4);
        let w = fill(g * h * k, 7);
        let x = fill(7 * k, 8);
        let mut all = vec![0.0; 7 * g * h];
        gemm::gate_product(level, &w, g, h, k, &x, 7, &mut all);
        for start in 0..6 {
            for rows in [2, 3] {
                let rows = rows.min(7 - start);
                if rows < 2 {
                    continue;
                }
                let mut part = vec![0.0; rows * g * h];
                gemm::gate_product(level, &w, g, h, k, &x[start * k..(start + rows) * k], rows, &mut part);
                assert_eq!(part, all[start * g * h..(start + rows) * g * h], "{level:?} rows {start}+{rows}");
            }
        }
    }
}
