//! Evaluate-only specs: loss and gradients at given parameters over a grid,
//! no training. One problem so far, Pascanu et al.'s one-unit "cliff":
//!
//! ```text
//! x_t = w·σ(x_{t-1}) + b,   x_0 = x0,   E = (σ(x_T) − target)²
//! ```
//!
//! which is exactly a one-unit sigmoid RNN `h_t = σ(w h_{t-1} + b)` with zero
//! input, `h_0 = σ(x0)` and `E = (h_T − target)²`; the kernels compute it in
//! f64 and their BPTT gives `dE/dw` (from `dW_hh`) and `dE/db` (from `db_hh`).
//!
//! ```toml
//! [evaluate]
//! problem = "one_unit_cliff"
//! seq_len = 50              # T
//! x0 = 0.5
//! target = 0.7
//! scan_w = 5.0              # the b scan is at this w
//! scan_b = [-3.0, -2.0]     # inclusive range
//! scan_points = 20001
//! surface_w = [0.0, 10.0]   # optional (w, b) grid for the surface figure
//! surface_b = [-6.0, 0.0]
//! surface_points = [61, 61]
//! ```
//!
//! Outputs: `scan.csv` (`b,loss,dloss_db,dloss_dw`), `surface.csv`
//! (`w,b,loss,dloss_db,dloss_dw`), `plots/cliff_scan.svg`, `plots/cliff_surface.svg`.
//! Claims: `loss`, `dloss_db`, `dloss_dw` at `at = { w = .., b = .. }`
//! (computed at exactly that point), and `spike_ratio`: the largest `|dE/db|`
//! of the scan with `b` inside `within = [lo, hi]` (open) over the median `|dE/db|` of the whole scan.

use crate::expect::{Checked, Expect, judge};
use crate::spec::{Experiment, Invalid};
use kernels::{Activation, BackwardOpts, Cell, Dims, Parallelism, Rnn, Upstream, Weights, activation::sigmoid};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::io;
use std::path::Path;

/// An evaluate-only spec: `[experiment]` and `[evaluate]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalOnly {
    /// Name and description (seeds are unused).
    pub experiment: Experiment,
    /// What to evaluate.
    pub evaluate: EvaluateSpec,
}

/// `[evaluate]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluateSpec {
    /// The problem.
    pub problem: Problem,
    /// Steps `T`.
    pub seq_len: usize,
    /// `x_0` (so `h_0 = σ(x0)`).
    pub x0: f64,
    /// The target of `σ(x_T)`.
    pub target: f64,
    /// `w` of the `b` scan.
    pub scan_w: f64,
    /// Inclusive `b` range of the scan.
    pub scan_b: [f64; 2],
    /// Points of the scan (at least 2).
    pub scan_points: usize,
    /// `w` range of the surface grid.
    #[serde(default)]
    pub surface_w: Option<[f64; 2]>,
    /// `b` range of the surface grid.
    #[serde(default)]
    pub surface_b: Option<[f64; 2]>,
    /// Grid points along `w` and `b`.
    #[serde(default = "default_surface_points")]
    pub surface_points: [usize; 2],
}

fn default_surface_points() -> [usize; 2] {
    [61, 61]
}

/// `evaluate.problem`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// Pascanu et al. (2013), Figure 6.
    OneUnitCliff,
}

const POINT_METRICS: [&str; 3] = ["loss", "dloss_db", "dloss_dw"];

impl EvalOnly {
    /// Range checks.
    pub fn validate(&self) -> Result<(), Invalid> {
        let e = &self.evaluate;
        let bad = |key: &str, m: String| Err(Invalid { key: format!("evaluate.{key}"), message: m });
        if e.seq_len < 1 {
            return bad("seq_len", "must be at least 1".into());
        }
        for (k, v) in [("x0", e.x0), ("target", e.target), ("scan_w", e.scan_w)] {
            if !v.is_finite() {
                return bad(k, format!("must be finite, got {v}"));
            }
        }
        for (k, r) in [("scan_b", Some(e.scan_b)), ("surface_w", e.surface_w), ("surface_b", e.surface_b)] {
            if let Some([lo, hi]) = r
                && !(lo.is_finite() && hi.is_finite() && lo < hi)
            {
                return bad(k, format!("must be [lo, hi] with finite lo < hi, got [{lo}, {hi}]"));
            }
        }
        if e.scan_points < 2 {
            return bad("scan_points", "must be at least 2".into());
        }
        if e.surface_w.is_some() != e.surface_b.is_some() {
            return bad("surface_w", "surface_w and surface_b go together".into());
        }
        if e.surface_points.iter().any(|&n| n < 2) {
            return bad("surface_points", "must be at least 2 each".into());
        }
        Ok(())
    }

    /// Checks one claim's keys against this spec.
    pub fn validate_expect(&self, e: &Expect) -> Result<(), (Option<String>, String)> {
        if !e.selector.is_empty() || e.versus.is_some() {
            return Err((Some("where".into()), "an evaluate-only spec has no configurations to select".into()));
        }
        if POINT_METRICS.contains(&e.metric.as_str()) {
            let at =
                e.at.as_ref().ok_or((Some("at".into()), format!("`{}` needs at = {{ w = .., b = .. }}", e.metric)))?;
            for k in ["w", "b"] {
                if point_coord(at, k).is_none() {
                    return Err((Some(format!("at.{k}")), "must be a number".into()));
                }
            }
            if let Some(k) = at.keys().find(|k| !["w", "b"].contains(&k.as_str())) {
                return Err((Some(format!("at.{k}")), "unknown key; `at` takes w and b".into()));
            }
        } else if e.metric == "spike_ratio" {
            match e.within {
                Some([lo, hi]) if lo < hi => {}
                _ => return Err((Some("within".into()), "`spike_ratio` needs within = [lo, hi], lo < hi".into())),
            }
        } else {
            return Err((
                Some("metric".into()),
                format!("unknown metric `{}`; one of loss, dloss_db, dloss_dw, spike_ratio", e.metric),
            ));
        }
        Ok(())
    }
}

fn point_coord(at: &toml::Table, k: &str) -> Option<f64> {
    match at.get(k)? {
        toml::Value::Float(f) => Some(*f),
        toml::Value::Integer(i) => Some(*i as f64),
        _ => None,
    }
}

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

/// Evaluates the claims.
pub fn check(spec: &EvaluateSpec, results: &Results, expects: &[Expect], quick: bool) -> Vec<Checked> {
    expects
        .iter()
        .map(|e| {
            let raw = if let Some(i) = POINT_METRICS.iter().position(|m| *m == e.metric) {
                let at = e.at.as_ref().expect("validated");
                let (w, b) = (point_coord(at, "w").expect("validated"), point_coord(at, "b").expect("validated"));
                cliff_point(spec, w, b)[i]
            } else {
                let [lo, hi] = e.within.expect("validated");
                let mut all: Vec<f64> = results.scan.iter().map(|(_, v)| v[1].abs()).collect();
                all.sort_by(f64::total_cmp);
                let median = crate::summary::quantile(&all, 0.5);
                let peak = results
                    .scan
                    .iter()
                    .filter(|(b, _)| *b > lo && *b < hi)
                    .map(|(_, v)| v[1].abs())
                    .fold(f64::NAN, f64::max);
                peak / median
            };
            judge(e, raw, quick)
        })
        .collect()
}

/// Writes `scan.csv`, `surface.csv` and the figures.
pub fn write(dir: &Path, spec: &EvaluateSpec, results: &Results) -> io::Result<()> {
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
    let plots = dir.join("plots");
    std::fs::create_dir_all(&plots)?;
    crate::plot::cliff_scan(&plots.join("cliff_scan.svg"), spec.scan_w, &results.scan)?;
    if !results.surface.is_empty() {
        crate::plot::cliff_surface(&plots.join("cliff_surface.svg"), spec, &results.surface)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
