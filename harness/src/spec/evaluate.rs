//! Evaluate-only specs: `[experiment]` and `[evaluate]`, no training. Two problems, both on
//! Pascanu et al.'s one-unit model
//!
//! ```text
//! x_t = w·σ(x_{t-1}) + b,   x_0 = x0,   E = (σ(x_T) − target)²
//! ```
//!
//! - `one_unit_cliff`: `E`, `dE/db`, `dE/dw` over a `b` scan at `scan_w` and an optional
//!   `(w, b)` surface, the refined peak of `|dE/db|`, the attractor switch and the analytic
//!   bistable interval:
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
//!   Claims: `loss`, `dloss_db`, `dloss_dw` at `at = { w = .., b = .. }`; `spike_ratio` (the
//!   largest grid `|dE/db|` with `b` inside `within = [lo, hi]` or `"bistable"` over the scan's
//!   median); and the grid-independent [`CLIFF_METRICS`].
//! - `one_unit_descent` (Fig. 6's point): full-batch gradient descent on `(w, b)` from starts
//!   beside the wall, unclipped and norm-clipped (two arms, the same starts: paired):
//!
//! ```toml
//! [evaluate]
//! problem = "one_unit_descent"
//! seq_len = 50
//! x0 = 0.5
//! target = 0.7
//! w0 = [4.6, 4.8, 5.0]      # starts: every w0 × delta, b0 = b_switch(w0) − delta
//! delta = [0.01, 0.1]
//! lr = 0.1
//! steps = 1000
//! clip_threshold = 1.0
//! jump_len = 1.0            # a jump: an update longer than this after which E is higher
//! valley_loss = 0.02        # in the valley: E below this at the end
//! ```
//!
//!   Claims select an arm with `where = { arm = "clipped" }` (or `"unclipped"`) and use the
//!   per-start metrics [`DESCENT_METRICS`] (threshold claims combine the starts with `reduce`;
//!   tests compare the arms start by start).
//!
//! This module holds the spec and its checks; the computation is `run::cliff`, the figures and
//! claim checks `report::cliff`.

use super::error::SpecError;
use super::expect::{self, Expect, Form, TestKind, Within};
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

/// `[evaluate]`: the problem and its keys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum EvaluateSpec {
    /// Pascanu et al. (2013), Figure 6: the loss surface and its gradient.
    OneUnitCliff(CliffSpec),
    /// Gradient descent from beside the wall, clipped and unclipped.
    OneUnitDescent(DescentSpec),
}

/// `[evaluate]` with `problem = "one_unit_cliff"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CliffSpec {
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

/// `[evaluate]` with `problem = "one_unit_descent"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DescentSpec {
    /// Steps `T` of the unit.
    pub seq_len: usize,
    /// `x_0`.
    pub x0: f64,
    /// The target of `σ(x_T)`.
    pub target: f64,
    /// The `w` of the starts (each must be above 4, where the unit is bistable).
    pub w0: Vec<f64>,
    /// Distances below the wall: a start is `(w0, b_switch(w0) − delta)`.
    pub delta: Vec<f64>,
    /// Learning rate of the full-batch gradient descent.
    pub lr: f64,
    /// Updates per arm and start.
    pub steps: usize,
    /// Norm threshold of the clipped arm.
    pub clip_threshold: f64,
    /// A jump: an update longer than this after which `E` is higher (default 1).
    #[serde(default = "default_jump_len")]
    pub jump_len: f64,
    /// In the valley: final `E` below this (default 0.02).
    #[serde(default = "default_valley_loss")]
    pub valley_loss: f64,
}

fn default_jump_len() -> f64 {
    1.0
}
fn default_valley_loss() -> f64 {
    0.02
}

/// The claim metrics computed at one point `at = { w = .., b = .. }`, in the
/// order of the values `run::cliff::cliff_point` returns.
pub const POINT_METRICS: [&str; 3] = ["loss", "dloss_db", "dloss_dw"];

/// Grid-independent metrics of the cliff scan.
pub const CLIFF_METRICS: &[(&str, &str)] = &[
    ("peak_b_refined", "b of the largest |dE/db|, refined by golden-section search around the grid's maximum"),
    ("peak_ratio_refined", "the refined peak |dE/db| over the median |dE/db| of the scan"),
    ("switch_b", "b where x_T from x0 switches attractor (bisection in the bistable interval)"),
    ("peak_switch_distance", "|peak_b_refined − switch_b|"),
    ("peak_bistable_margin", "distance of the refined peak inside the bistable interval (negative: outside)"),
    ("bistable_low", "lower end of the analytic bistable interval at scan_w"),
    ("bistable_high", "upper end of the analytic bistable interval at scan_w"),
];

/// Per-start metrics of the descent: `(name, yes/no, meaning)`.
pub const DESCENT_METRICS: &[(&str, bool, &str)] = &[
    ("jumped", true, "at least one jump across the valley"),
    ("in_valley", true, "final E below valley_loss"),
    ("jumps", false, "number of jumps"),
    ("final_loss", false, "E after the last update"),
    ("max_step", false, "the longest update"),
];

/// The arms of the descent.
pub const DESCENT_ARMS: [&str; 2] = ["unclipped", "clipped"];

impl EvalOnly {
    /// Range checks.
    pub fn validate(&self) -> Result<(), SpecError> {
        match &self.evaluate {
            EvaluateSpec::OneUnitCliff(c) => c.validate(),
            EvaluateSpec::OneUnitDescent(d) => d.validate(),
        }
    }

    /// Checks one claim's keys against this spec; an error's key is relative to the claim's table.
    pub fn validate_expect(&self, e: &Expect, profile: Option<&str>) -> Result<(), SpecError> {
        match &self.evaluate {
            EvaluateSpec::OneUnitCliff(_) => validate_cliff_expect(e),
            EvaluateSpec::OneUnitDescent(d) => validate_descent_expect(d, e, profile),
        }
    }
}

impl DescentSpec {
    /// The starts, `w0` slowest: `(w0, delta)`.
    pub fn starts(&self) -> Vec<(f64, f64)> {
        self.w0.iter().flat_map(|&w| self.delta.iter().map(move |&d| (w, d))).collect()
    }

    fn validate(&self) -> Result<(), SpecError> {
        let bad = |key: &str, m: String| Err(SpecError::at(format!("evaluate.{key}"), m));
        if self.seq_len < 1 {
            return bad("seq_len", "must be at least 1".into());
        }
        for (k, v) in [("x0", self.x0), ("target", self.target)] {
            if !v.is_finite() {
                return bad(k, format!("must be finite, got {v}"));
            }
        }
        if self.w0.is_empty() || self.w0.iter().any(|&w| !(w.is_finite() && w > 4.0)) {
            return bad("w0", "must be a non-empty list of w > 4 (the unit is bistable only there)".into());
        }
        if self.delta.is_empty() || self.delta.iter().any(|&d| !(d.is_finite() && d > 0.0)) {
            return bad("delta", "must be a non-empty list of numbers > 0".into());
        }
        for (k, v) in [
            ("lr", self.lr),
            ("clip_threshold", self.clip_threshold),
            ("jump_len", self.jump_len),
            ("valley_loss", self.valley_loss),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return bad(k, format!("must be > 0, got {v}"));
            }
        }
        if self.steps < 1 {
            return bad("steps", "must be at least 1".into());
        }
        Ok(())
    }
}

fn validate_cliff_expect(e: &Expect) -> Result<(), SpecError> {
    if !e.selector.is_empty() || e.versus.is_some() {
        return Err(SpecError::at("where", "the cliff has no configurations to select"));
    }
    if e.form() == Form::Test || e.best_of.is_some() {
        return Err(SpecError::at("test", "the cliff's values are deterministic: use op and threshold"));
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
        match &e.within {
            Some(Within::Range([lo, hi])) if lo < hi => {}
            Some(Within::Named(n)) if n == "bistable" => {}
            _ => {
                return Err(SpecError::at("within", "`spike_ratio` needs within = [lo, hi] (lo < hi) or \"bistable\""));
            }
        }
    } else if CLIFF_METRICS.iter().any(|(m, _)| *m == e.metric) {
        if e.at.is_some() || e.within.is_some() {
            return Err(SpecError::at("at", format!("`{}` takes neither `at` nor `within`", e.metric)));
        }
    } else {
        let mut names: Vec<&str> = POINT_METRICS.to_vec();
        names.push("spike_ratio");
        names.extend(CLIFF_METRICS.iter().map(|(m, _)| *m));
        return Err(SpecError::at("metric", format!("unknown metric `{}`; one of {}", e.metric, names.join(", "))));
    }
    Ok(())
}

/// The arm a descent selector names (`arm = "clipped"` or `"unclipped"`).
pub fn descent_arm(selector: &toml::Table) -> Result<usize, SpecError> {
    if let Some(k) = selector.keys().find(|k| *k != "arm") {
        return Err(SpecError::at(k, "the descent's claims select only `arm`"));
    }
    let name = selector.get("arm").and_then(|v| v.as_str()).unwrap_or("");
    DESCENT_ARMS
        .iter()
        .position(|a| *a == name)
        .ok_or_else(|| SpecError::at("arm", "must be arm = \"unclipped\" or arm = \"clipped\""))
}

fn validate_descent_expect(d: &DescentSpec, e: &Expect, profile: Option<&str>) -> Result<(), SpecError> {
    let boolean = DESCENT_METRICS.iter().find(|(m, _, _)| *m == e.metric).map(|(_, b, _)| *b).ok_or_else(|| {
        let names: Vec<&str> = DESCENT_METRICS.iter().map(|(m, _, _)| *m).collect();
        SpecError::at("metric", format!("unknown metric `{}`; one of {}", e.metric, names.join(", ")))
    })?;
    if e.at.is_some() || e.within.is_some() || e.best_of.is_some() || e.lag.is_some() {
        return Err(SpecError::at("at", "the descent's claims take where, versus, metric, test and op"));
    }
    let w = descent_arm(&e.selector).map_err(|err| err.under("where"))?;
    let v = e.versus.as_ref().map(descent_arm).transpose().map_err(|err| err.under("versus"))?;
    if v == Some(w) {
        return Err(SpecError::at("versus", "must select the other arm"));
    }
    if e.form() == Form::Test {
        let two = v.is_some();
        let test = e.test.unwrap_or_else(|| expect::default_test(boolean, two, true));
        let fits = match test {
            TestKind::Mcnemar => boolean && two,
            TestKind::Fisher => boolean && two,
            TestKind::Binomial => boolean && !two,
            TestKind::Sign => !boolean,
            TestKind::Rank => !boolean && two,
            TestKind::Bootstrap => !boolean,
        };
        if !fits {
            return Err(SpecError::at(
                "test",
                format!("`{}` does not apply to metric `{}` here", test.name(), e.metric),
            ));
        }
        let n = d.starts().len();
        let greater = e.op.is_some_and(expect::Op::greater);
        let p0 = e.threshold_for(profile).unwrap_or(0.5);
        let min_p = expect::min_attainable_p(test, greater, n, if two { n } else { 0 }, p0);
        expect::check_reachable(e, test, two, n, min_p, profile)?;
    }
    Ok(())
}

impl CliffSpec {
    /// Range checks.
    fn validate(&self) -> Result<(), SpecError> {
        let e = self;
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
}

/// Coordinate `k` (`w` or `b`) of a claim's `at` table, if it is a number.
pub fn point_coord(at: &toml::Table, k: &str) -> Option<f64> {
    match at.get(k)? {
        toml::Value::Float(f) => Some(*f),
        toml::Value::Integer(i) => Some(*i as f64),
        _ => None,
    }
}
