//! Evaluate-only specs, computed: Pascanu et al.'s one-unit "cliff" (see
//! `spec::evaluate` for the spec), no training.
//!
//! ```text
//! x_t = w·σ(x_{t-1}) + b,   x_0 = x0,   E = (σ(x_T) − target)²
//! ```
//!
//! is exactly a one-unit sigmoid RNN `h_t = σ(w h_{t-1} + b)` with zero
//! input, `h_0 = σ(x0)` and `E = (h_T − target)²`; the kernels compute it in
//! f64 and their BPTT gives `dE/dw` (from `dW_hh`) and `dE/db` (from `db_hh`).
//!
//! Outputs: `scan.csv` (`b,loss,dloss_db,dloss_dw`) and `surface.csv`
//! (`w,b,loss,dloss_db,dloss_dw`); the figures and the claims are `report::cliff`'s.

use crate::spec::EvaluateSpec;
use kernels::{Activation, BackwardOpts, Cell, Dims, Parallelism, Rnn, Upstream, Weights};

/// The logistic sigmoid, exactly as the kernels compute it.
fn sigmoid(x: f64) -> f64 {
    Activation::Sigmoid.apply(x)
}
use std::fmt::Write as _;
use std::io;
use std::path::Path;

/// `E`, `dE/db`, `dE/dw` at `(w, b)`, by the kernels in f64.
pub fn cliff_point(spec: &EvaluateSpec, w: f64, b: f64) -> [f64; 3] {
    let rnn = Rnn::new(Cell::Rnn(Activation::Sigmoid), 1, 1);
    let mut weights = Weights::<f64>::zeros(&rnn);
    weights.w_hh[0] = w;
    weights.b_hh[0] = b;
    let dims = Dims::new(spec.seq_len, 1);
    let x = vec![0.0; spec.seq_len];
    let h0 = [sigmoid(spec.x0)];
    let trace = rnn.forward_train(&weights, dims, &x, Some(&h0), None, Parallelism::Sequential);
    let e = trace.h_n()[0] - spec.target;
    let dh = [2.0 * e];
    let upstream = Upstream { dh_out: None, dh_n: Some(&dh), dc_n: None };
    let opts = BackwardOpts { accumulate: false, truncate: None };
    let g = rnn.backward_trace(&weights, trace, upstream, opts, Parallelism::Sequential);
    [e * e, g.weights.b_hh[0], g.weights.w_hh[0]]
}

fn linspace([lo, hi]: [f64; 2], n: usize) -> Vec<f64> {
    (0..n).map(|i| if i + 1 == n { hi } else { lo + (hi - lo) * i as f64 / (n - 1) as f64 }).collect()
}

/// The scan and surface results.
pub struct Results {
    /// `(b, [E, dE/db, dE/dw])` at `w = scan_w`.
    pub scan: Vec<(f64, [f64; 3])>,
    /// `(w, b, [E, dE/db, dE/dw])`.
    pub surface: Vec<(f64, f64, [f64; 3])>,
}

/// Computes the scan and the surface.
pub fn compute(spec: &EvaluateSpec) -> Results {
    let scan =
        linspace(spec.scan_b, spec.scan_points).into_iter().map(|b| (b, cliff_point(spec, spec.scan_w, b))).collect();
    let mut surface = Vec::new();
    if let (Some(wr), Some(br)) = (spec.surface_w, spec.surface_b) {
        for w in linspace(wr, spec.surface_points[0]) {
            for b in linspace(br, spec.surface_points[1]) {
                surface.push((w, b, cliff_point(spec, w, b)));
            }
        }
    }
    Results { scan, surface }
}

/// Writes `scan.csv` and, with a surface grid, `surface.csv` (the figures are
/// `report::cliff`'s).
pub fn write(dir: &Path, results: &Results) -> io::Result<()> {
    let mut s = String::from("b,loss,dloss_db,dloss_dw\n");
    for (b, v) in &results.scan {
        writeln!(s, "{b},{},{},{}", v[0], v[1], v[2]).unwrap();
    }
    std::fs::write(dir.join("scan.csv"), s)?;
    if !results.surface.is_empty() {
        let mut s = String::from("w,b,loss,dloss_db,dloss_dw\n");
        for (w, b, v) in &results.surface {
            writeln!(s, "{w},{b},{},{},{}", v[0], v[1], v[2]).unwrap();
        }
        std::fs::write(dir.join("surface.csv"), s)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Problem;

    fn spec() -> EvaluateSpec {
        EvaluateSpec {
            problem: Problem::OneUnitCliff,
            seq_len: 50,
            x0: 0.5,
            target: 0.7,
            scan_w: 5.0,
            scan_b: [-3.0, -2.0],
            scan_points: 11,
            surface_w: None,
            surface_b: None,
            surface_points: [2, 2],
        }
    }

    /// The kernels' value and gradients against a direct recursion and central differences.
    #[test]
    fn cliff_point_matches_a_direct_recursion() {
        let s = spec();
        let direct = |w: f64, b: f64| {
            let mut x: f64 = 0.5;
            for _ in 0..50 {
                x = w * sigmoid(x) + b;
            }
            (sigmoid(x) - 0.7).powi(2)
        };
        for (w, b) in [(5.0, -3.0), (5.0, -2.2), (3.0, -1.0)] {
            let [e, db, dw] = cliff_point(&s, w, b);
            assert!((e - direct(w, b)).abs() < 1e-14, "{e}");
            let h = 1e-6;
            let ndb = (direct(w, b + h) - direct(w, b - h)) / (2.0 * h);
            let ndw = (direct(w + h, b) - direct(w - h, b)) / (2.0 * h);
            assert!((db - ndb).abs() < 1e-7 * (1.0 + ndb.abs()), "{db} vs {ndb}");
            assert!((dw - ndw).abs() < 1e-7 * (1.0 + ndw.abs()), "{dw} vs {ndw}");
        }
    }
}
