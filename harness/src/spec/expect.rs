//! `[[expect]]`: the claims a spec makes about its own results, checked after
//! the sweep.
//!
//! Three forms:
//!
//! - a **threshold** claim: `metric op threshold`, deterministic (every selected run or
//!   configuration, combined by `reduce`); for exact statements such as a bound that must hold
//!   in every run;
//! - a **test**: a one-sided statistical test at `alpha` (default 0.05), chosen by `test` or by
//!   default from the metric and the pairing: with `versus`, `where op versus` (two samples:
//!   `mcnemar`, `fisher`, `sign`, `rank`, `bootstrap`); without, `where op threshold` (one
//!   sample: `binomial` with `threshold` the rate under H0, or `sign`). Any claim with `versus`
//!   is a test;
//! - a **description** (`kind = "report"` without `op`): the metric per arm, printed.
//!
//! `kind = "report"` claims are computed and printed but never change the exit code.
//! `profiles` limits a claim to some profiles (`full` is the spec without a profile).
//! `best_of` (a dotted key) lets a side whose selector matches several configurations
//! (differing only in that key) stand for the best of them.
//!
//! This module holds what a claim says and the checks that need no results,
//! including the smallest p-value a test can reach with the spec's seeds;
//! measuring and judging it is `report::claims`'s job.

use super::config::{Config, value_text};
use super::error::SpecError;
use serde::{Deserialize, Serialize};
use std::fmt;
use toml::Value;

/// One `[[expect]]` table.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The claim in words.
    pub claim: String,
    /// `gate` (default: a failure fails the sweep) or `report` (printed only).
    #[serde(default)]
    pub kind: ClaimKind,
    /// Selector over the resolved configurations (dotted key = value); empty selects all.
    #[serde(default, rename = "where")]
    pub selector: toml::Table,
    /// A second selector: the claim compares `where` with `versus` by a test.
    #[serde(default)]
    pub versus: Option<toml::Table>,
    /// The measured quantity.
    pub metric: String,
    /// The statistical test (default: from the metric and the pairing).
    #[serde(default)]
    pub test: Option<TestKind>,
    /// Significance level of a test (default 0.05).
    #[serde(default)]
    pub alpha: Option<f64>,
    /// Sign tests: pairs (or values) within this of each other (of the threshold) are ties, dropped.
    #[serde(default)]
    pub tie_tolerance: Option<f64>,
    /// A dotted key: a side that selects several configurations, differing only in this key,
    /// is represented by the best of them (most solved at the end, then at first hit, then the
    /// lowest median final loss).
    #[serde(default)]
    pub best_of: Option<String>,
    /// `grad_ratio_at_lag`: the lag `k`.
    #[serde(default)]
    pub lag: Option<usize>,
    /// The profiles under which the claim is checked (`full`: no profile); default all.
    #[serde(default)]
    pub profiles: Option<Vec<String>>,
    /// How the selected values combine (threshold claims).
    #[serde(default)]
    pub reduce: Reduce,
    /// Comparison; for a test, its direction.
    #[serde(default)]
    pub op: Option<Op>,
    /// Threshold (threshold claims, one-sample tests).
    #[serde(default)]
    pub threshold: Option<f64>,
    /// Threshold under the `quick` profile (default: `threshold`).
    #[serde(default)]
    pub quick_threshold: Option<f64>,
    /// The measured value becomes `|value − reference| / |reference|`.
    #[serde(default)]
    pub reference: Option<f64>,
    /// Evaluate-only specs: the parameters at which a pointwise metric is computed.
    #[serde(default)]
    pub at: Option<toml::Table>,
    /// Evaluate-only specs: an open interval `[lo, hi]` of the scanned parameter, or `"bistable"`.
    #[serde(default)]
    pub within: Option<Within>,
}

/// `expect.within`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Within {
    /// An open interval.
    Range([f64; 2]),
    /// A named interval: `"bistable"`, the analytic bistable interval of the cliff's `w`.
    Named(String),
}

/// `expect.kind`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimKind {
    /// A failure fails the sweep (exit 3).
    #[default]
    Gate,
    /// Printed and recorded, never changes the exit code.
    Report,
}

/// `expect.test`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestKind {
    /// Paired yes/no outcomes: exact binomial test on the discordant pairs.
    Mcnemar,
    /// Unpaired yes/no outcomes: Fisher's exact test.
    Fisher,
    /// Paired differences, or values against a threshold: exact sign test.
    Sign,
    /// Yes/no outcomes of one arm against a rate (`threshold`): exact binomial test.
    Binomial,
    /// Seeded bootstrap of the median (difference), 10,000 resamples.
    Bootstrap,
    /// Unpaired values: exact rank-sum (Mann–Whitney) test.
    Rank,
}

impl TestKind {
    /// The name as written in a spec.
    pub fn name(self) -> &'static str {
        match self {
            TestKind::Mcnemar => "mcnemar",
            TestKind::Fisher => "fisher",
            TestKind::Sign => "sign",
            TestKind::Binomial => "binomial",
            TestKind::Bootstrap => "bootstrap",
            TestKind::Rank => "rank",
        }
    }
}

/// `expect.reduce`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reduce {
    /// The value least favourable to the claim.
    #[default]
    Worst,
    /// Minimum.
    Min,
    /// Maximum.
    Max,
    /// Mean.
    Mean,
    /// Median.
    Median,
}

/// `expect.op`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Less than.
    #[serde(rename = "<")]
    Lt,
    /// At most.
    #[serde(rename = "<=")]
    Le,
    /// Greater than.
    #[serde(rename = ">")]
    Gt,
    /// At least.
    #[serde(rename = ">=")]
    Ge,
}

impl Op {
    /// Whether `measured op threshold` holds (NaN never does).
    pub fn holds(self, measured: f64, threshold: f64) -> bool {
        match self {
            Op::Lt => measured < threshold,
            Op::Le => measured <= threshold,
            Op::Gt => measured > threshold,
            Op::Ge => measured >= threshold,
        }
    }

    /// Whether the claim is that values are larger (`>`, `>=`).
    pub fn greater(self) -> bool {
        matches!(self, Op::Gt | Op::Ge)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        })
    }
}

/// Default significance level.
pub const ALPHA: f64 = 0.05;
/// Resamples of the bootstrap.
pub const BOOTSTRAP_RESAMPLES: usize = 10_000;
/// Fewest units per arm the bootstrap accepts.
pub const BOOTSTRAP_MIN_N: usize = 8;

/// Metrics of a training sweep, per configuration (threshold claims only).
pub const SWEEP_METRICS: &[(&str, &str)] = &[
    ("runs", "number of runs"),
    ("diverged_count", "runs that diverged"),
    ("diverged_fraction", "fraction of runs that diverged"),
    ("solved_count", "runs that met the success criterion at some evaluation"),
    ("success_rate", "solved / runs (first hit)"),
    ("success_end_rate", "runs whose last evaluation met the criterion / runs"),
    ("success_low", "lower end of the 95% Wilson interval of success_rate"),
    ("success_high", "upper end of the 95% Wilson interval of success_rate"),
    ("median_steps_to_solve", "median steps to solve over solved runs (NaN if none)"),
    ("final_loss_min", "final held-out loss quantiles over runs that did not diverge"),
    ("final_loss_q25", ""),
    ("final_loss_median", ""),
    ("final_loss_q75", ""),
    ("final_loss_max", ""),
    ("final_error_rate_median", "median final held-out error rate (diverged runs count as 1)"),
    ("final_spectral_radius_median", "median spectral radius of W_hh at the last evaluation (vanilla RNN)"),
    ("grad_spike_ratio", "max over runs of max/median of the logged pre-clip gradient norm (inf if diverged)"),
    ("grad_spike_or_diverged_fraction", "fraction of runs that diverged or whose grad_spike_ratio >= 100"),
    ("rho_k_max_rel_dev", "step 0: max over runs and lags k of |r_k − ρ^k|/ρ^k, r_k = ‖dL/dh_(T-k)‖/‖dL/dh_T‖"),
    ("bound_ratio_max", "step 0: max over runs and lags k of r_k / (γρ)^k, γ = the activation's derivative bound"),
];

/// Metrics of one run: `(name, yes/no, meaning)`. Tests compare them between arms; threshold
/// claims combine them over every run of the selected configurations with `reduce`.
pub const RUN_METRICS: &[(&str, bool, &str)] = &[
    ("solved", true, "some evaluation met the success criterion (first hit)"),
    ("solved_first", true, "the same as solved"),
    ("solved_end", true, "the last evaluation met the criterion (needs stop_on_success = false)"),
    ("diverged", true, "the run diverged"),
    ("final_loss", false, "held-out loss at the last evaluation (+inf if the run diverged)"),
    ("final_error_rate", false, "held-out error rate at the last evaluation (1 if the run diverged)"),
    ("min_error_rate", false, "lowest held-out error rate of any evaluation"),
    ("final_train_loss", false, "minibatch loss at the last step (+inf if not finite)"),
    ("final_spectral_radius", false, "spectral radius of W_hh at the last evaluation (vanilla RNN)"),
    ("steps_to_solve", false, "updates before the first success (+inf if never)"),
    ("sequences_to_solve", false, "training sequences before the first success, batch × steps (+inf if never)"),
    ("sequences_seen", false, "training sequences of the updates made"),
    ("max_grad_norm", false, "largest pre-clip gradient norm (+inf if it became non-finite)"),
    ("clip_fraction", false, "fraction of updates whose pre-clip norm exceeded train.clip_threshold"),
    ("median_effective_lr", false, "median over updates of lr·min(1, clip_threshold/‖g‖) (lr without norm clipping)"),
    ("grad_ratio_at_lag", false, "‖dL/dh_(T−lag)‖ / ‖dL/dh_T‖ at the last recorded step (needs `lag`)"),
];

/// Whether a per-run metric is yes/no (`None` if there is no such per-run metric).
pub fn run_metric_is_boolean(metric: &str) -> Option<bool> {
    RUN_METRICS.iter().find(|(m, _, _)| *m == metric).map(|(_, b, _)| *b)
}

/// The test a claim uses: its `test`, or the default for yes/no or continuous values, two
/// samples or one, paired or not.
pub fn default_test(boolean: bool, two_sample: bool, paired: bool) -> TestKind {
    match (boolean, two_sample, paired) {
        (true, true, true) => TestKind::Mcnemar,
        (true, true, false) => TestKind::Fisher,
        (true, false, _) => TestKind::Binomial,
        (false, true, false) => TestKind::Rank,
        (false, _, _) => TestKind::Sign,
    }
}

/// `C(n, k)` as a float (exact up to 2⁵³).
pub fn choose(n: usize, k: usize) -> f64 {
    if k > n {
        return 0.0;
    }
    let k = k.min(n - k);
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// The smallest p-value `test` can give in the claimed direction with `n1` units in `where`
/// and `n2` in `versus` (paired tests: `n1` pairs), `p0` the rate under H0 of `binomial`.
pub fn min_attainable_p(test: TestKind, greater: bool, n1: usize, n2: usize, p0: f64) -> f64 {
    match test {
        TestKind::Mcnemar | TestKind::Sign => 0.5f64.powi(n1 as i32),
        TestKind::Binomial => {
            if greater {
                p0.powi(n1 as i32)
            } else {
                (1.0 - p0).powi(n1 as i32)
            }
        }
        TestKind::Fisher | TestKind::Rank => 1.0 / choose(n1 + n2, n1),
        TestKind::Bootstrap => {
            if n1.min(if n2 == 0 { n1 } else { n2 }) < BOOTSTRAP_MIN_N {
                1.0
            } else {
                1.0 / (BOOTSTRAP_RESAMPLES as f64 + 1.0)
            }
        }
    }
}

/// The fewest units per arm (seeds, or starts) with which `test` can reach `alpha`, if any up to 10,000.
pub fn units_needed(test: TestKind, greater: bool, two_sample: bool, p0: f64, alpha: f64) -> Option<usize> {
    (1..=10_000).find(|&n| min_attainable_p(test, greater, n, if two_sample { n } else { 0 }, p0) <= alpha)
}

/// How a claim is judged.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Form {
    /// `metric op threshold`, deterministic.
    Threshold,
    /// A statistical test.
    Test,
    /// Printed per arm (`kind = "report"` without `op`).
    Describe,
}

impl Expect {
    /// The form of the claim (valid after [`validate_common`]).
    pub fn form(&self) -> Form {
        if self.test.is_some() || self.versus.is_some() {
            Form::Test
        } else if self.op.is_none() {
            Form::Describe
        } else {
            Form::Threshold
        }
    }

    /// The significance level.
    pub fn alpha(&self) -> f64 {
        self.alpha.unwrap_or(ALPHA)
    }

    /// The threshold in force under `profile` (`quick_threshold` under `quick`).
    pub fn threshold_for(&self, profile: Option<&str>) -> Option<f64> {
        match profile {
            Some("quick") => self.quick_threshold.or(self.threshold),
            _ => self.threshold,
        }
    }

    /// Whether the claim is checked under `profile` (`None`: the full spec).
    pub fn applies_to(&self, profile: Option<&str>) -> bool {
        let name = profile.unwrap_or("full");
        self.profiles.as_ref().is_none_or(|p| p.iter().any(|q| q == name))
    }

    /// Whether a failure fails the sweep.
    pub fn gating(&self) -> bool {
        self.kind == ClaimKind::Gate
    }
}

/// Compares two TOML values; integers and floats compare numerically.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Integer(x), Value::Float(y)) | (Value::Float(y), Value::Integer(x)) => *x as f64 == *y,
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q)),
        _ => a == b,
    }
}

/// The value of dotted `key` in a configuration: its swept value, or the resolved spec's.
pub fn lookup(config: &Config, key: &str) -> Option<Value> {
    if let Some((_, v)) = config.params.iter().find(|(k, _)| k == key) {
        return Some(v.clone());
    }
    let mut v = Value::try_from(&config.spec).ok()?;
    for part in key.split('.') {
        v = v.as_table()?.get(part)?.clone();
    }
    Some(v)
}

/// The indices of the configurations `selector` selects; an error's key is
/// the offending selector key (none when the selector as a whole selects nothing).
pub fn select(configs: &[Config], selector: &toml::Table) -> Result<Vec<usize>, SpecError> {
    for key in selector.keys() {
        if configs.iter().all(|c| lookup(c, key).is_none()) {
            return Err(SpecError::at(key, format!("`{key}` is not a key of this spec's configurations")));
        }
    }
    let chosen: Vec<usize> = (0..configs.len())
        .filter(|&i| selector.iter().all(|(k, v)| lookup(&configs[i], k).is_some_and(|x| same(&x, v))))
        .collect();
    if chosen.is_empty() {
        let what = selector.iter().map(|(k, v)| format!("{k} = {}", value_text(v))).collect::<Vec<_>>().join(", ");
        return Err(SpecError::new(format!("selects no configuration ({what})")));
    }
    Ok(chosen)
}

/// Whether two configurations share their initial weights, minibatches and held-out set for
/// every seed: the same `model` and `task` and the same `train.batch` (see `run::sweep`).
pub fn paired(a: &Config, b: &Config) -> bool {
    a.spec.model == b.spec.model && a.spec.task == b.spec.task && a.spec.train.batch == b.spec.train.batch
}

/// A test claim resolved against the configurations.
#[derive(Clone, Debug, PartialEq)]
pub struct TestPlan {
    /// The test.
    pub test: TestKind,
    /// Yes/no values.
    pub boolean: bool,
    /// Whether `where` and `versus` are paired by seed.
    pub paired: bool,
    /// The candidate configurations of `where` (one, or a `best_of` group).
    pub where_candidates: Vec<usize>,
    /// The candidates of `versus`, if any.
    pub versus_candidates: Option<Vec<usize>>,
    /// Units (seeds) per arm.
    pub n: usize,
    /// The smallest p-value the test can reach with them.
    pub min_p: f64,
}

/// The candidates of one side: one configuration, or several differing only in `best_of`.
fn side(configs: &[Config], chosen: Vec<usize>, best_of: Option<&str>) -> Result<Vec<usize>, SpecError> {
    if chosen.len() == 1 {
        return Ok(chosen);
    }
    let Some(key) = best_of else {
        return Err(SpecError::new(format!(
            "selects {} configurations; a test compares one configuration with one (add keys to the selector, \
             or best_of = \"KEY\" to take the best of a grid)",
            chosen.len()
        )));
    };
    // The resolved configuration without the `best_of` key.
    let rest = |i: usize| -> Option<Value> {
        let mut v = Value::try_from(&configs[i].spec).ok()?;
        let mut t = v.as_table_mut()?;
        let parts: Vec<&str> = key.split('.').collect();
        for part in &parts[..parts.len() - 1] {
            t = t.get_mut(*part)?.as_table_mut()?;
        }
        t.remove(parts[parts.len() - 1]);
        Some(v)
    };
    let first = rest(chosen[0]);
    if let Some(&other) = chosen.iter().find(|&&i| rest(i) != first) {
        return Err(SpecError::new(format!(
            "best_of = \"{key}\": the selected configurations differ in more than `{key}` (`{}` and `{}`)",
            configs[chosen[0]].label(),
            configs[other].label()
        )));
    }
    Ok(chosen)
}

/// Resolves a test claim (its [`Form`] is `Test`) against the configurations: the candidates
/// of each side, the pairing, the test, the number of seeds and the smallest attainable p.
pub fn resolve_test(e: &Expect, configs: &[Config], profile: Option<&str>) -> Result<TestPlan, SpecError> {
    let boolean = run_metric_is_boolean(&e.metric)
        .ok_or_else(|| SpecError::at("metric", format!("a test needs a per-run metric, not `{}`", e.metric)))?;
    let best = e.best_of.as_deref();
    let w = side(configs, select(configs, &e.selector).map_err(|err| err.under("where"))?, best)
        .map_err(|err| err.under("where"))?;
    let v = match &e.versus {
        Some(sel) => Some(
            side(configs, select(configs, sel).map_err(|err| err.under("versus"))?, best)
                .map_err(|err| err.under("versus"))?,
        ),
        None => None,
    };
    let two = v.is_some();
    let paired = v.as_ref().is_some_and(|v| w.iter().all(|&a| v.iter().all(|&b| paired(&configs[a], &configs[b]))));
    if let Some(v) = &v
        && let Some(i) = w.iter().find(|i| v.contains(i))
    {
        return Err(SpecError::at("versus", format!("selects `{}`, which `where` selects too", configs[*i].label())));
    }
    let test = e.test.unwrap_or_else(|| default_test(boolean, two, paired));
    let fits = match test {
        TestKind::Mcnemar => boolean && two && paired,
        TestKind::Fisher => boolean && two,
        TestKind::Binomial => boolean && !two,
        TestKind::Sign => !boolean && (!two || paired),
        TestKind::Rank => !boolean && two,
        TestKind::Bootstrap => !boolean,
    };
    if !fits {
        let what = format!(
            "{} values, {}",
            if boolean { "yes/no" } else { "continuous" },
            if !two {
                "one sample"
            } else if paired {
                "paired samples"
            } else {
                "unpaired samples (the arms differ in model, task or train.batch)"
            }
        );
        return Err(SpecError::at(
            "test",
            format!("`{}` does not apply to {what} (metric `{}`)", test.name(), e.metric),
        ));
    }
    if e.metric == "solved_end" {
        for &i in w.iter().chain(v.iter().flatten()) {
            if configs[i].spec.train.stop_on_success {
                return Err(SpecError::at(
                    "metric",
                    format!(
                        "`solved_end` needs train.stop_on_success = false (`{}` stops at the first hit)",
                        configs[i].label()
                    ),
                ));
            }
        }
    }
    let n = configs[w[0]].spec.experiment.seeds.len();
    let p0 = e.threshold_for(profile).unwrap_or(0.5);
    let greater = e.op.is_some_and(Op::greater);
    let min_p = min_attainable_p(test, greater, n, if two { n } else { 0 }, p0);
    Ok(TestPlan { test, boolean, paired, where_candidates: w, versus_candidates: v, n, min_p })
}

/// The load-time refusal of a test that cannot reach `alpha` with `n` units per arm.
pub fn check_reachable(
    e: &Expect,
    test: TestKind,
    two_sample: bool,
    n: usize,
    min_p: f64,
    profile: Option<&str>,
) -> Result<(), SpecError> {
    let alpha = e.alpha();
    if min_p <= alpha {
        return Ok(());
    }
    let alpha_text = if alpha >= 1e-3 { alpha.to_string() } else { format!("{alpha:e}") };
    let greater = e.op.is_some_and(Op::greater);
    let needs = units_needed(test, greater, two_sample, e.threshold_for(profile).unwrap_or(0.5), alpha)
        .map_or("more than 10,000".to_string(), |k| k.to_string());
    let extra = if test == TestKind::Bootstrap {
        format!(" (the bootstrap needs at least {BOOTSTRAP_MIN_N})")
    } else {
        String::new()
    };
    Err(SpecError::new(format!(
        "claim \"{}\": the {} test with {n} seeds (units) per arm can reach p = {min_p:.3e} at best, above alpha = \
         {alpha_text}; it needs at least {needs} seeds per arm{extra}, or `profiles` without this profile",
        e.claim,
        test.name()
    )))
}

/// Checks a training-sweep claim that is checked under the active profile (the selectors,
/// the metric, and for a test that it can reach `alpha`); an error's key is relative to the
/// claim's table.
pub fn validate_sweep(e: &Expect, configs: &[Config], profile: Option<&str>) -> Result<(), SpecError> {
    let aggregate = SWEEP_METRICS.iter().any(|(m, _)| *m == e.metric);
    if !aggregate && run_metric_is_boolean(&e.metric).is_none() {
        let mut names: Vec<&str> = SWEEP_METRICS.iter().map(|(m, _)| *m).collect();
        names.extend(RUN_METRICS.iter().map(|(m, _, _)| *m));
        return Err(SpecError::at("metric", format!("unknown metric `{}`; one of {}", e.metric, names.join(", "))));
    }
    if e.at.is_some() || e.within.is_some() {
        return Err(SpecError::at("at", "`at` and `within` apply only to evaluate-only specs"));
    }
    let (selected, versus) = if e.form() == Form::Test {
        let plan = resolve_test(e, configs, profile)?;
        check_reachable(e, plan.test, plan.versus_candidates.is_some(), plan.n, plan.min_p, profile)?;
        (plan.where_candidates, plan.versus_candidates.unwrap_or_default())
    } else {
        if e.best_of.is_some() {
            return Err(SpecError::at("best_of", "applies only to tests (with `test` or `versus`)"));
        }
        (select(configs, &e.selector).map_err(|err| err.under("where"))?, Vec::new())
    };
    if e.metric == "grad_ratio_at_lag" {
        let lag = e.lag.ok_or_else(|| SpecError::at("lag", "`grad_ratio_at_lag` needs lag = K"))?;
        for &i in selected.iter().chain(&versus) {
            let s = &configs[i].spec;
            if s.log.grad_norms_every == 0 {
                return Err(SpecError::at(
                    "metric",
                    format!("`grad_ratio_at_lag` needs log.grad_norms_every > 0 (`{}`)", configs[i].label()),
                ));
            }
            if lag >= s.task.seq_len.min {
                return Err(SpecError::at(
                    "lag",
                    format!("must be below the shortest sequence length {}", s.task.seq_len.min),
                ));
            }
        }
    } else if e.lag.is_some() {
        return Err(SpecError::at("lag", "applies only to metric = \"grad_ratio_at_lag\""));
    }
    Ok(())
}

/// Checks what every claim needs (its form and the keys that go with it); an error's key is
/// relative to the claim's table. `profiles` names are checked by the loader.
pub fn validate_common(e: &Expect) -> Result<(), SpecError> {
    if e.claim.trim().is_empty() {
        return Err(SpecError::at("claim", "must not be empty"));
    }
    for (v, key) in [
        (e.threshold, "threshold"),
        (e.quick_threshold, "quick_threshold"),
        (e.reference, "reference"),
        (e.tie_tolerance, "tie_tolerance"),
    ] {
        if let Some(v) = v
            && !v.is_finite()
        {
            return Err(SpecError::at(key, format!("must be finite, got {v}")));
        }
    }
    if e.reference == Some(0.0) {
        return Err(SpecError::at("reference", "must be non-zero (the error is relative)"));
    }
    if e.quick_threshold.is_some() && e.threshold.is_none() {
        return Err(SpecError::at("quick_threshold", "applies only with a threshold"));
    }
    if let Some(p) = &e.profiles
        && p.is_empty()
    {
        return Err(SpecError::at("profiles", "must name at least one profile (`full` is the spec without one)"));
    }
    match e.form() {
        Form::Test => {
            let op = e.op.ok_or_else(|| SpecError::at("op", "a test needs op, its direction (`>` or `<`)"))?;
            let _ = op;
            if let Some(a) = e.alpha
                && !(a > 0.0 && a < 1.0)
            {
                return Err(SpecError::at("alpha", format!("must be in (0, 1), got {a}")));
            }
            if e.reduce != Reduce::Worst {
                return Err(SpecError::at("reduce", "a test compares runs; `reduce` applies to threshold claims"));
            }
            if e.reference.is_some() {
                return Err(SpecError::at("reference", "applies only to threshold claims"));
            }
            let two = e.versus.is_some();
            match (two, e.threshold) {
                (true, Some(_)) => {
                    return Err(SpecError::at("threshold", "a two-sample test (with `versus`) takes no threshold"));
                }
                (false, None) => {
                    return Err(SpecError::at(
                        "threshold",
                        "a one-sample test needs a threshold (binomial: the rate under H0)",
                    ));
                }
                _ => {}
            }
            if e.test == Some(TestKind::Binomial)
                && let Some(p0) = e.threshold
                && !(p0 > 0.0 && p0 < 1.0)
            {
                return Err(SpecError::at(
                    "threshold",
                    format!("the binomial test's rate must be in (0, 1), got {p0}"),
                ));
            }
            if let Some(t) = e.tie_tolerance {
                if t < 0.0 {
                    return Err(SpecError::at("tie_tolerance", format!("must be >= 0, got {t}")));
                }
                if e.test.is_some_and(|t| t != TestKind::Sign) {
                    return Err(SpecError::at("tie_tolerance", "applies only to the sign test"));
                }
            }
        }
        Form::Describe => {
            if e.kind != ClaimKind::Report {
                return Err(SpecError::at(
                    "op",
                    "a claim needs op and threshold (only kind = \"report\" may omit them)",
                ));
            }
            if e.threshold.is_some() {
                return Err(SpecError::at("op", "a threshold needs op"));
            }
        }
        Form::Threshold => {
            if e.threshold.is_none() {
                return Err(SpecError::at("threshold", "a claim with op needs a threshold"));
            }
            for (set, key) in [(e.alpha.is_some(), "alpha"), (e.tie_tolerance.is_some(), "tie_tolerance")] {
                if set {
                    return Err(SpecError::at(key, "applies only to tests (with `test` or `versus`)"));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_match_floats_in_selectors() {
        assert!(same(&Value::Integer(1), &Value::Float(1.0)));
        assert!(!same(&Value::Integer(1), &Value::Float(1.5)));
    }

    #[test]
    fn smallest_attainable_p_values() {
        assert_eq!(min_attainable_p(TestKind::Mcnemar, true, 12, 12, 0.5), 0.5f64.powi(12));
        // 12 of 12 against 0 of 12: 1 / C(24, 12) = 1 / 2,704,156.
        assert!((min_attainable_p(TestKind::Fisher, true, 12, 12, 0.5) - 1.0 / 2_704_156.0).abs() < 1e-18);
        assert!((min_attainable_p(TestKind::Rank, false, 5, 5, 0.5) - 1.0 / 252.0).abs() < 1e-15);
        assert!((min_attainable_p(TestKind::Binomial, false, 50, 0, 0.2) - 0.8f64.powi(50)).abs() < 1e-18);
        assert_eq!(units_needed(TestKind::Sign, true, false, 0.5, 0.05), Some(5));
        assert_eq!(units_needed(TestKind::Fisher, true, true, 0.5, 0.05), Some(3));
        assert_eq!(choose(10, 5), 252.0);
    }

    #[test]
    fn default_tests_follow_the_values_and_the_pairing() {
        assert_eq!(default_test(true, true, true), TestKind::Mcnemar);
        assert_eq!(default_test(true, true, false), TestKind::Fisher);
        assert_eq!(default_test(true, false, false), TestKind::Binomial);
        assert_eq!(default_test(false, true, true), TestKind::Sign);
        assert_eq!(default_test(false, true, false), TestKind::Rank);
        assert_eq!(default_test(false, false, false), TestKind::Sign);
    }
}
