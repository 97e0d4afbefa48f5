//! Evaluate-only specs: `[experiment]` and `[evaluate]`, no training. They
//! compute losses and gradients at given parameters over a grid. One problem
//! so far, Pascanu et al.'s one-unit "cliff":
//!
//! ```text
//! x_t = w·σ(x_{t-1}) + b,   x_0 = x0,   E = (σ(x_T) − target)²
//! ```
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
//! Claims: `loss`, `dloss_db`, `dloss_dw` at `at = { w = .., b = .. }`
//! (computed at exactly that point), and `spike_ratio`: the largest `|dE/db|`
//! of the scan with `b` inside `within = [lo, hi]` (open) over the median `|dE/db|` of the whole scan.
//!
//! This module holds the spec and its checks; the computation is `run::cliff`,
//! the figures and claim checks `report::cliff`.

use super::error::SpecError;
use super::expect::Expect;
use super::sections::Experiment;
use serde::{Deserialize, Serialize};

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

/// The claim metrics computed at one point `at = { w = .., b = .. }`, in the
/// order of the values `run::cliff::cliff_point` returns.
pub const POINT_METRICS: [&str; 3] = ["loss", "dloss_db", "dloss_dw"];

impl EvalOnly {
    /// Range checks.
    pub fn validate(&self) -> Result<(), SpecError> {
        let e = &self.evaluate;
        let bad = |key: &str, m: String| Err(SpecError::at(format!("evaluate.{key}"), m));
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

    /// Checks one claim's keys against this spec; an error's key is relative to the claim's table.
    pub fn validate_expect(&self, e: &Expect) -> Result<(), SpecError> {
        if !e.selector.is_empty() || e.versus.is_some() {
            return Err(SpecError::at("where", "an evaluate-only spec has no configurations to select"));
        }
        if POINT_METRICS.contains(&e.metric.as_str()) {
            let at =
                e.at.as_ref()
                    .ok_or_else(|| SpecError::at("at", format!("`{}` needs at = {{ w = .., b = .. }}", e.metric)))?;
            for k in ["w", "b"] {
                if point_coord(at, k).is_none() {
                    return Err(SpecError::at(format!("at.{k}"), "must be a number"));
                }
            }
            if let Some(k) = at.keys().find(|k| !["w", "b"].contains(&k.as_str())) {
                return Err(SpecError::at(format!("at.{k}"), "unknown key; `at` takes w and b"));
            }
        } else if e.metric == "spike_ratio" {
            match e.within {
                Some([lo, hi]) if lo < hi => {}
                _ => return Err(SpecError::at("within", "`spike_ratio` needs within = [lo, hi], lo < hi")),
            }
        } else {
            return Err(SpecError::at(
                "metric",
                format!("unknown metric `{}`; one of loss, dloss_db, dloss_dw, spike_ratio", e.metric),
            ));
        }
        Ok(())
    }
}

/// Coordinate `k` (`w` or `b`) of a claim's `at` table, if it is a number.
pub fn point_coord(at: &toml::Table, k: &str) -> Option<f64> {
    match at.get(k)? {
        toml::Value::Float(f) => Some(*f),
        toml::Value::Integer(i) => Some(*i as f64),
        _ => None,
    }
}
