//! Checking the `[[expect]]` claims after a sweep (see `spec::expect` for what a claim says):
//! measuring each claim's metric per run or per configuration, judging threshold claims,
//! running the tests of test claims, and reporting (`PASS`/`FAIL`/`REPORT`/`SKIP` lines and
//! `DIR/expectations.json`). The evaluate-only specs' claims are measured in `report::cliff`
//! and judged here.
//!
//! A test passes when its p-value is at most `alpha` and the comparison is not degenerate:
//! two yes/no arms that are both all 0 or both all 1, or two continuous arms whose values are
//! all one and the same number, fail whatever the p-value. A value that is missing (NaN)
//! counts against the claim.

use super::stats::{self, quantile};
use super::summary::ConfigSummary;
use crate::nn::model::cell;
use crate::run::output::{RunRecord, read_csv, runs_dir};
use crate::spec::expect::{self, BOOTSTRAP_RESAMPLES, TestPlan, lookup, select};
use crate::spec::{Config, Expect, Form, Op, Reduce, TestKind, value_text};
use serde::Serialize;
use std::path::Path;

/// The outcome of one claim: one entry of `expectations.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Checked {
    /// The claim in words.
    pub claim: String,
    /// `gate` or `report`.
    pub kind: String,
    /// `pass`, `fail`, `report` (a report claim, computed) or `not checked`.
    pub status: String,
    /// Whether the claim holds (null when not checked or a description).
    pub pass: Option<bool>,
    /// Whether a failure fails the sweep.
    pub gating: bool,
    /// The metric.
    pub metric: String,
    /// Comparison (the test's direction).
    pub op: Option<String>,
    /// Threshold in force (threshold claims; the rate or value under H0 of one-sample tests).
    pub threshold: Option<f64>,
    /// The measured value of a threshold claim (a string for non-finite values).
    #[serde(serialize_with = "opt_number_or_text", skip_serializing_if = "Option::is_none")]
    pub measured: Option<f64>,
    /// The test, for test claims.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<TestOutcome>,
    /// The arms: what each side selected and its values.
    pub arms: Vec<Arm>,
    /// Why not checked, or what else to know.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A test's result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TestOutcome {
    /// `mcnemar`, `fisher`, `sign`, `binomial`, `bootstrap` or `rank`.
    pub name: String,
    /// Significance level.
    pub alpha: f64,
    /// One-sided p-value.
    pub p_value: f64,
    /// The smallest p-value the test could give with these units.
    pub min_p: f64,
    /// Whether the arms were paired by seed (or start).
    pub paired: bool,
    /// Units per arm.
    pub n: Vec<usize>,
    /// The test's statistic(s), by name.
    pub statistic: serde_json::Map<String, serde_json::Value>,
    /// Both arms degenerate (the comparison fails).
    pub degenerate: bool,
}

/// One side of a claim.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Arm {
    /// `where` or `versus`.
    pub role: String,
    /// The configuration's label (or the arm's name).
    pub config: String,
    /// With `best_of`: the chosen value of that key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_of: Option<String>,
    /// Seeds (or starts) in order.
    pub units: Vec<u64>,
    /// The metric per unit (non-finite values as strings).
    #[serde(serialize_with = "numbers_or_text")]
    pub values: Vec<f64>,
    /// A short summary: `k/n` or median [min, max].
    pub summary: String,
}

fn number_or_text_value(v: f64) -> serde_json::Value {
    serde_json::Number::from_f64(v).map_or_else(|| serde_json::Value::String(v.to_string()), serde_json::Value::Number)
}

fn opt_number_or_text<S: serde::Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => number_or_text_value(*v).serialize(s),
        None => s.serialize_none(),
    }
}

fn numbers_or_text<S: serde::Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
    v.iter().map(|&x| number_or_text_value(x)).collect::<Vec<_>>().serialize(s)
}

/// Combines values by `how` (the worst: the maximum for `<`/`<=`, the minimum for `>`/`>=`).
pub fn reduce(values: &[f64], how: Reduce, op: Op) -> f64 {
    let how = match (how, op) {
        (Reduce::Worst, Op::Lt | Op::Le) => Reduce::Max,
        (Reduce::Worst, Op::Gt | Op::Ge) => Reduce::Min,
        (h, _) => h,
    };
    if values.is_empty() || values.iter().any(|v| v.is_nan()) {
        return f64::NAN;
    }
    match how {
        Reduce::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
        Reduce::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        Reduce::Mean => values.iter().sum::<f64>() / values.len() as f64,
        Reduce::Median | Reduce::Worst => stats::median(values),
    }
}

/// A summary of values: `k/n` for yes/no, else the median and the range.
pub fn summarize_values(values: &[f64], boolean: bool) -> String {
    if values.is_empty() {
        return "no values".into();
    }
    if boolean {
        return format!("{}/{}", values.iter().filter(|&&v| v == 1.0).count(), values.len());
    }
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("median {:.4e} [{min:.4e}, {max:.4e}]", stats::median(values))
}

/// The record of a claim that is not checked under this profile.
pub fn not_checked(e: &Expect, profile: &str) -> Checked {
    Checked {
        claim: e.claim.clone(),
        kind: kind_name(e),
        status: "not checked".into(),
        pass: None,
        gating: e.gating(),
        metric: e.metric.clone(),
        op: e.op.map(|o| o.to_string()),
        threshold: e.threshold,
        measured: None,
        test: None,
        arms: Vec::new(),
        note: Some(format!("not checked under profile {profile}")),
    }
}

fn kind_name(e: &Expect) -> String {
    if e.gating() { "gate" } else { "report" }.into()
}

/// Judges a threshold claim on a raw measured value (`reference` applied here).
pub fn judge(e: &Expect, raw: f64, profile: Option<&str>, arms: Vec<Arm>) -> Checked {
    let measured = e.reference.map_or(raw, |r| (raw - r).abs() / r.abs());
    let threshold = e.threshold_for(profile);
    let pass = match (e.op, threshold) {
        (Some(op), Some(t)) => Some(op.holds(measured, t)),
        _ => None,
    };
    Checked {
        claim: e.claim.clone(),
        kind: kind_name(e),
        status: status(e, pass),
        pass,
        gating: e.gating(),
        metric: e.metric.clone(),
        op: e.op.map(|o| o.to_string()),
        threshold,
        measured: Some(measured),
        test: None,
        arms,
        note: None,
    }
}

fn status(e: &Expect, pass: Option<bool>) -> String {
    match (e.gating(), pass) {
        (false, _) => "report",
        (true, Some(true)) => "pass",
        (true, _) => "fail",
    }
    .into()
}

/// Values that are NaN replaced by the value least favourable to the claim: for the
/// claimed-larger side `−inf`, for the other `+inf`.
fn against(values: &[f64], claimed_larger: bool) -> Vec<f64> {
    let bad = if claimed_larger { f64::NEG_INFINITY } else { f64::INFINITY };
    values.iter().map(|&v| if v.is_nan() { bad } else { v }).collect()
}

/// Runs `test` on the values of `where` (`a`) and of `versus` (`b`, or none for a one-sample
/// test against `threshold`), in the claim's direction; `min_p` is what the test can reach.
#[allow(clippy::too_many_arguments)]
pub fn run_test(
    test: TestKind,
    greater: bool,
    alpha: f64,
    threshold: Option<f64>,
    tie_tolerance: f64,
    a: &[f64],
    b: Option<&[f64]>,
    paired: bool,
    min_p: f64,
) -> TestOutcome {
    let mut st = serde_json::Map::new();
    let mut put = |k: &str, v: serde_json::Value| {
        st.insert(k.to_string(), v);
    };
    let a = against(a, greater);
    let b = b.map(|b| against(b, !greater));
    let count = |v: &[f64]| v.iter().filter(|&&x| x == 1.0).count();
    let mut degenerate = false;
    let p = match (test, &b) {
        (TestKind::Mcnemar, Some(b)) => {
            let (ka, kb) = (count(&a), count(b));
            degenerate = (ka == 0 && kb == 0) || (ka == a.len() && kb == b.len());
            let up = a.iter().zip(b).filter(|&(x, y)| *x == 1.0 && *y != 1.0).count();
            let down = a.iter().zip(b).filter(|&(x, y)| *x != 1.0 && *y == 1.0).count();
            let (plus, minus) = if greater { (up, down) } else { (down, up) };
            put("for", plus.into());
            put("against", minus.into());
            put("discordant", (plus + minus).into());
            stats::sign_test(plus, minus)
        }
        (TestKind::Fisher, Some(b)) => {
            let (ka, kb) = (count(&a), count(b));
            degenerate = (ka == 0 && kb == 0) || (ka == a.len() && kb == b.len());
            put("where", format!("{ka}/{}", a.len()).into());
            put("versus", format!("{kb}/{}", b.len()).into());
            if greater {
                stats::fisher_greater(ka, a.len(), kb, b.len())
            } else {
                stats::fisher_greater(a.len() - ka, a.len(), b.len() - kb, b.len())
            }
        }
        (TestKind::Binomial, None) => {
            let (k, n, p0) = (count(&a), a.len(), threshold.unwrap_or(0.5));
            put("successes", k.into());
            put("n", n.into());
            put("p0", p0.into());
            if greater { stats::binomial_upper(k, n, p0) } else { stats::binomial_lower(k, n, p0) }
        }
        (TestKind::Sign, _) => {
            let diffs: Vec<f64> = match &b {
                Some(b) => a.iter().zip(b).map(|(x, y)| if x == y { 0.0 } else { x - y }).collect(),
                None => {
                    let t = threshold.unwrap_or(0.0);
                    a.iter().map(|x| x - t).collect()
                }
            };
            if let Some(b) = &b {
                degenerate = a.iter().chain(b.iter()).all(|&v| v == a[0]);
            }
            let tie = |d: f64| d.abs() <= tie_tolerance || d.is_nan();
            let plus = diffs.iter().filter(|&&d| !tie(d) && (d > 0.0) == greater).count();
            let minus = diffs.iter().filter(|&&d| !tie(d) && (d > 0.0) != greater).count();
            put("for", plus.into());
            put("against", minus.into());
            put("ties", (diffs.len() - plus - minus).into());
            stats::sign_test(plus, minus)
        }
        (TestKind::Rank, Some(b)) => {
            degenerate = a.iter().chain(b.iter()).all(|&v| v == a[0]);
            let (u, p) = if greater { stats::rank_test_greater(&a, b) } else { stats::rank_test_greater(b, &a) };
            put("u", number_or_text_value(u));
            p
        }
        (TestKind::Bootstrap, _) => {
            let zeros;
            let (bb, pair) = match &b {
                Some(b) => {
                    degenerate = a.iter().chain(b.iter()).all(|&v| v == a[0]);
                    (b.as_slice(), paired)
                }
                None => {
                    zeros = vec![threshold.unwrap_or(0.0); a.len()];
                    (zeros.as_slice(), true)
                }
            };
            let r = stats::bootstrap_median(&a, bb, pair, greater, alpha, BOOTSTRAP_RESAMPLES);
            put("median_difference", number_or_text_value(r.estimate));
            put("bound", number_or_text_value(r.bound));
            put("resamples", BOOTSTRAP_RESAMPLES.into());
            r.p
        }
        _ => f64::NAN,
    };
    let mut n = vec![a.len()];
    if let Some(b) = &b {
        n.push(b.len());
    }
    TestOutcome { name: test.name().into(), alpha, p_value: p, min_p, paired, n, statistic: st, degenerate }
}

/// Judges a test claim given its outcome and arms.
pub fn judge_test(e: &Expect, outcome: TestOutcome, arms: Vec<Arm>, profile: Option<&str>) -> Checked {
    let pass = Some(outcome.p_value <= outcome.alpha && !outcome.degenerate);
    Checked {
        claim: e.claim.clone(),
        kind: kind_name(e),
        status: status(e, pass),
        pass,
        gating: e.gating(),
        metric: e.metric.clone(),
        op: e.op.map(|o| o.to_string()),
        threshold: if e.versus.is_some() { None } else { e.threshold_for(profile) },
        measured: None,
        test: Some(outcome),
        arms,
        note: None,
    }
}

/// The value of per-run `metric` for one run (see `spec::expect::RUN_METRICS`).
pub fn run_value(metric: &str, dir: &Path, rec: &RunRecord, lag: Option<usize>) -> std::io::Result<f64> {
    let flag = |b: bool| f64::from(u8::from(b));
    let or_inf = |v: Option<f64>| v.unwrap_or(f64::INFINITY);
    let d = rec.diverged();
    Ok(match metric {
        "solved" | "solved_first" => flag(rec.solved),
        "solved_end" => flag(rec.solved_end),
        "diverged" => flag(d),
        "final_loss" => {
            if d {
                f64::INFINITY
            } else {
                or_inf(rec.final_loss)
            }
        }
        "final_error_rate" => {
            if d {
                1.0
            } else {
                rec.final_error_rate.unwrap_or(1.0)
            }
        }
        "min_error_rate" => rec.min_error_rate.unwrap_or(1.0),
        "final_train_loss" => or_inf(rec.final_train_loss),
        "final_spectral_radius" => rec.final_spectral_radius.unwrap_or(f64::NAN),
        "steps_to_solve" => or_inf(rec.steps_to_solve.map(|s| s as f64)),
        "sequences_to_solve" => or_inf(rec.sequences_to_solve.map(|s| s as f64)),
        "sequences_seen" => rec.sequences_seen as f64,
        "max_grad_norm" => or_inf(rec.max_grad_norm),
        "clip_fraction" => rec.clip_fraction.unwrap_or(f64::NAN),
        "median_effective_lr" => rec.median_effective_lr.unwrap_or(f64::NAN),
        "grad_ratio_at_lag" => {
            let lag = lag.unwrap_or(0);
            let (_, rows) = read_csv(&runs_dir(dir).join(&rec.id).join("grad_norms.csv"))?;
            let last = rows.last().map_or(f64::NAN, |r| r[0]);
            let at = |k: usize| rows.iter().find(|r| r[0] == last && r[1] == k as f64).map_or(f64::NAN, |r| r[2]);
            at(lag) / at(0)
        }
        other => unreachable!("metric {other} was validated"),
    })
}

/// Per-run quantities read back from a run directory (for the aggregate metrics).
struct RunData {
    diverged: bool,
    grad_norms: Vec<f64>,
    final_spectral_radius: Option<f64>,
    final_error_rate: Option<f64>,
    /// Norms at step 0 by lag.
    lags: Vec<f64>,
}

fn run_data(dir: &Path, rec: &RunRecord) -> std::io::Result<RunData> {
    let run = runs_dir(dir).join(&rec.id);
    let (header, rows) = read_csv(&run.join("metrics.csv"))?;
    let gn = header.iter().position(|h| h == "grad_norm").unwrap_or(2);
    let (_, grows) = read_csv(&run.join("grad_norms.csv"))?;
    Ok(RunData {
        diverged: rec.diverged(),
        grad_norms: rows.iter().map(|r| r[gn]).filter(|v| v.is_finite()).collect(),
        final_spectral_radius: rec.final_spectral_radius,
        final_error_rate: rec.final_error_rate,
        lags: grows.iter().filter(|r| r[0] == 0.0).map(|r| r[2]).collect(),
    })
}

fn spike(r: &RunData) -> f64 {
    if r.diverged || r.grad_norms.is_empty() {
        return f64::INFINITY;
    }
    let mut v = r.grad_norms.clone();
    v.sort_by(f64::total_cmp);
    v[v.len() - 1] / quantile(&v, 0.5)
}

/// The value of an aggregate sweep metric for configuration `i`.
pub fn sweep_metric(
    metric: &str,
    dir: &Path,
    config: &Config,
    i: usize,
    summary: &ConfigSummary,
    records: &[RunRecord],
) -> std::io::Result<f64> {
    let s = summary;
    let q = |k: usize| s.final_loss.map_or(f64::NAN, |f| f[k]);
    let simple = match metric {
        "runs" => Some(s.runs as f64),
        "diverged_count" => Some(s.diverged as f64),
        "diverged_fraction" => Some(s.diverged as f64 / s.runs.max(1) as f64),
        "solved_count" => Some(s.solved as f64),
        "success_rate" => Some(s.success_rate),
        "success_end_rate" => Some(s.solved_end as f64 / s.runs.max(1) as f64),
        "success_low" => Some(s.wilson.0),
        "success_high" => Some(s.wilson.1),
        "median_steps_to_solve" => Some(s.median_steps_to_solve.unwrap_or(f64::NAN)),
        "final_loss_min" => Some(q(0)),
        "final_loss_q25" => Some(q(1)),
        "final_loss_median" => Some(q(2)),
        "final_loss_q75" => Some(q(3)),
        "final_loss_max" => Some(q(4)),
        _ => None,
    };
    if let Some(v) = simple {
        return Ok(v);
    }
    let runs: Vec<RunData> =
        records.iter().filter(|r| r.config == i).map(|r| run_data(dir, r)).collect::<std::io::Result<_>>()?;
    let m = &config.spec.model;
    let rho = m.recurrent_scale.unwrap_or(1.0);
    let gamma = match cell(m) {
        kernels::Cell::Rnn(a) => a.derivative_bound(),
        _ => 1.0,
    };
    // r_k / base^k over every lag of every run, combined by `f`.
    let over_lags = |base: f64, f: &dyn Fn(f64, f64) -> f64| {
        let mut worst = f64::NEG_INFINITY;
        for r in &runs {
            let Some(&n0) = r.lags.first() else { return f64::NAN };
            for (k, &n) in r.lags.iter().enumerate() {
                worst = worst.max(f(n / n0, base.powi(k as i32)));
            }
        }
        worst
    };
    Ok(match metric {
        "final_error_rate_median" => {
            stats::median(&runs.iter().map(|r| r.final_error_rate.unwrap_or(1.0)).collect::<Vec<_>>())
        }
        "final_spectral_radius_median" => {
            stats::median(&runs.iter().filter_map(|r| r.final_spectral_radius).collect::<Vec<_>>())
        }
        "grad_spike_ratio" => runs.iter().map(spike).fold(f64::NEG_INFINITY, f64::max),
        "grad_spike_or_diverged_fraction" => {
            runs.iter().filter(|r| spike(r) >= 100.0).count() as f64 / runs.len().max(1) as f64
        }
        "rho_k_max_rel_dev" => over_lags(rho, &|r, b| (r - b).abs() / b),
        "bound_ratio_max" => over_lags(gamma * rho, &|r, b| r / b),
        other => unreachable!("metric {other} was validated"),
    })
}

/// Everything a sweep's claims read.
pub struct SweepData<'a> {
    /// The output directory.
    pub dir: &'a Path,
    /// The configurations.
    pub configs: &'a [Config],
    /// Their summaries.
    pub summaries: &'a [ConfigSummary],
    /// Every run's record, in plan order.
    pub records: &'a [RunRecord],
}

impl SweepData<'_> {
    fn runs_of(&self, i: usize) -> Vec<&RunRecord> {
        self.records.iter().filter(|r| r.config == i).collect()
    }

    /// The per-run values of `metric` of configuration `i`, and its seeds.
    fn values(&self, e: &Expect, i: usize) -> std::io::Result<(Vec<u64>, Vec<f64>)> {
        let runs = self.runs_of(i);
        let values = runs.iter().map(|r| run_value(&e.metric, self.dir, r, e.lag)).collect::<std::io::Result<_>>()?;
        Ok((runs.iter().map(|r| r.seed).collect(), values))
    }

    /// The best of a `best_of` group: most solved at the end, then at first hit, then the
    /// lowest median final loss; the first in plan order on a tie.
    fn best(&self, candidates: &[usize]) -> usize {
        let score = |i: usize| {
            let runs = self.runs_of(i);
            let end = runs.iter().filter(|r| r.solved_end).count();
            let first = runs.iter().filter(|r| r.solved).count();
            let losses: Vec<f64> = runs
                .iter()
                .map(|r| if r.diverged() { f64::INFINITY } else { r.final_loss.unwrap_or(f64::INFINITY) })
                .collect();
            (end, first, stats::median(&losses))
        };
        let mut best = candidates[0];
        for &c in &candidates[1..] {
            let (a, b) = (score(c), score(best));
            if (a.0, a.1) > (b.0, b.1) || ((a.0, a.1) == (b.0, b.1) && a.2 < b.2) {
                best = c;
            }
        }
        best
    }

    fn arm(&self, e: &Expect, role: &str, i: usize, group: bool, boolean: bool) -> std::io::Result<Arm> {
        let (units, values) = self.values(e, i)?;
        let best_of = (group && e.best_of.is_some()).then(|| {
            e.best_of.as_ref().and_then(|k| lookup(&self.configs[i], k)).map_or(String::new(), |v| value_text(&v))
        });
        Ok(Arm {
            role: role.into(),
            config: self.configs[i].label(),
            best_of,
            summary: summarize_values(&values, boolean),
            units,
            values,
        })
    }
}

/// Evaluates every claim of a training sweep under `profile`.
pub fn check_sweep(expects: &[Expect], profile: Option<&str>, data: &SweepData) -> std::io::Result<Vec<Checked>> {
    let mut out = Vec::new();
    let io = |e: crate::spec::SpecError| std::io::Error::other(e.message);
    for e in expects {
        if !e.applies_to(profile) {
            out.push(not_checked(e, profile.unwrap_or("full")));
            continue;
        }
        let boolean = expect::run_metric_is_boolean(&e.metric);
        match e.form() {
            Form::Test => {
                let plan: TestPlan = expect::resolve_test(e, data.configs, profile).map_err(io)?;
                let boolean = plan.boolean;
                let w = data.best(&plan.where_candidates);
                let mut arms = vec![data.arm(e, "where", w, plan.where_candidates.len() > 1, boolean)?];
                let v = plan.versus_candidates.as_ref().map(|c| (data.best(c), c.len() > 1));
                if let Some((v, group)) = v {
                    arms.push(data.arm(e, "versus", v, group, boolean)?);
                }
                let greater = e.op.is_some_and(Op::greater);
                let outcome = run_test(
                    plan.test,
                    greater,
                    e.alpha(),
                    e.threshold_for(profile),
                    e.tie_tolerance.unwrap_or(0.0),
                    &arms[0].values,
                    arms.get(1).map(|a| a.values.as_slice()),
                    plan.paired,
                    plan.min_p,
                );
                out.push(judge_test(e, outcome, arms, profile));
            }
            form => {
                let chosen = select(data.configs, &e.selector).map_err(io)?;
                let mut arms = Vec::new();
                let mut all = Vec::new();
                for &i in &chosen {
                    match boolean {
                        Some(b) => {
                            let arm = data.arm(e, "where", i, false, b)?;
                            all.extend(arm.values.iter().copied());
                            arms.push(arm);
                        }
                        None => {
                            let v = sweep_metric(
                                &e.metric,
                                data.dir,
                                &data.configs[i],
                                i,
                                &data.summaries[i],
                                data.records,
                            )?;
                            all.push(v);
                            arms.push(Arm {
                                role: "where".into(),
                                config: data.configs[i].label(),
                                best_of: None,
                                units: Vec::new(),
                                values: vec![v],
                                summary: format!("{v:.6e}"),
                            });
                        }
                    }
                }
                if form == Form::Describe {
                    let mut c = judge(e, f64::NAN, profile, arms);
                    c.measured = None;
                    out.push(c);
                } else {
                    let raw = reduce(&all, e.reduce, e.op.expect("validated"));
                    out.push(judge(e, raw, profile, arms));
                }
            }
        }
    }
    Ok(out)
}

fn line(c: &Checked) -> String {
    let label = match (c.status.as_str(), c.pass) {
        ("not checked", _) => "SKIP".to_string(),
        ("report", Some(true)) => "REPORT (holds)".to_string(),
        ("report", Some(false)) => "REPORT (does not hold)".to_string(),
        ("report", None) => "REPORT".to_string(),
        (s, _) => s.to_uppercase(),
    };
    let mut s = format!("  {label} {}", c.claim);
    if let Some(n) = &c.note {
        s.push_str(&format!(": {n}"));
        return s;
    }
    if let Some(t) = &c.test {
        let stat: Vec<String> = t.statistic.iter().map(|(k, v)| format!("{k} {v}")).collect();
        s.push_str(&format!(
            ": {} test, p = {:.3e} (alpha {}, min attainable {:.2e}; {}{}{})",
            t.name,
            t.p_value,
            t.alpha,
            t.min_p,
            stat.join(", "),
            if t.paired { "; paired" } else { "" },
            if t.degenerate { "; DEGENERATE: both arms the same constant" } else { "" }
        ));
    } else if let Some(m) = c.measured {
        s.push_str(&format!(
            ": {} = {m:.6e} {} {}",
            c.metric,
            c.op.as_deref().unwrap_or(""),
            c.threshold.map_or(String::new(), |t| format!("{t:e}"))
        ));
    } else {
        s.push_str(&format!(": {}", c.metric));
    }
    for a in &c.arms {
        let best = a.best_of.as_ref().map_or(String::new(), |b| format!(" (best of: {b})"));
        s.push_str(&format!("\n      {} {}{best}: {}", a.role, a.config, a.summary));
    }
    s
}

/// Prints the claims and writes `DIR/expectations.json`; false when a gating claim failed.
pub fn report(dir: &Path, profile: Option<&str>, checked: &[Checked]) -> std::io::Result<bool> {
    if checked.is_empty() {
        return Ok(true);
    }
    println!("claims (profile {}):", profile.unwrap_or("full"));
    for c in checked {
        println!("{}", line(c));
    }
    std::fs::write(dir.join("expectations.json"), serde_json::to_string_pretty(checked)? + "\n")?;
    Ok(checked.iter().all(|c| !c.gating || c.pass != Some(false)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_reduction_follows_the_comparison() {
        let v = [1.0, 3.0, 2.0];
        assert_eq!(reduce(&v, Reduce::Worst, Op::Le), 3.0);
        assert_eq!(reduce(&v, Reduce::Worst, Op::Gt), 1.0);
        assert_eq!(reduce(&v, Reduce::Median, Op::Gt), 2.0);
        assert!(reduce(&[1.0, f64::NAN], Reduce::Max, Op::Le).is_nan());
        assert!(!Op::Le.holds(f64::NAN, 1.0) && !Op::Ge.holds(f64::NAN, 1.0));
    }

    #[test]
    fn degenerate_comparisons_fail_and_missing_values_count_against() {
        let zeros = [0.0; 6];
        let t = run_test(TestKind::Mcnemar, true, 0.05, None, 0.0, &zeros, Some(&zeros), true, 0.016);
        assert!(t.degenerate && t.p_value == 1.0);
        let ones = [1.0; 6];
        let t = run_test(TestKind::Fisher, true, 0.05, None, 0.0, &ones, Some(&ones), false, 0.001);
        assert!(t.degenerate);
        // 6 of 6 against 0 of 6, paired: p = 1/64.
        let t = run_test(TestKind::Mcnemar, true, 0.05, None, 0.0, &ones, Some(&zeros), true, 0.016);
        assert!(!t.degenerate && (t.p_value - 1.0 / 64.0).abs() < 1e-15);
        // A missing value on the claimed side is a loss for the claim.
        let a = [2.0, 2.0, 2.0, 2.0, f64::NAN];
        let b = [1.0; 5];
        let t = run_test(TestKind::Sign, true, 0.05, None, 0.0, &a, Some(&b), true, 0.03);
        assert_eq!((t.statistic["for"].as_u64(), t.statistic["against"].as_u64()), (Some(4), Some(1)));
        // Ties within the tolerance are dropped.
        let t =
            run_test(TestKind::Sign, false, 0.05, None, 0.01, &[1.0, 1.005, 0.5], Some(&[1.0, 1.0, 1.0]), true, 0.1);
        assert_eq!((t.statistic["for"].as_u64(), t.statistic["ties"].as_u64()), (Some(1), Some(2)));
    }
}
