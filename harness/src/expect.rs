//! `[[expect]]`: the claims a spec makes about its own results, checked after
//! the sweep.
//!
//! ```toml
//! [[expect]]
//! claim = "the tanh RNN never amplifies the gradient beyond rho^k"
//! where = { "model.activation" = "tanh" }   # optional: which configurations
//! metric = "bound_ratio_max"                 # a summary column or a derived metric
//! op = "<="                                  # <, <=, >, >=
//! threshold = 1.000001
//! ```
//!
//! Optional keys: `reduce` (how the selected configurations' values combine:
//! `worst` (default: the maximum for `<`/`<=`, the minimum for `>`/`>=`, so the
//! claim must hold for each), `min`, `max`, `mean`, `median`); `versus` (a
//! second selector: the measured value is then `value(where) − value(versus)`,
//! for orderings); `reference` (the measured value becomes the relative error
//! `|value − reference| / |reference|`); `quick_threshold` (the threshold under
//! `--quick`); and, for evaluate-only specs, `at` and `within` (see
//! [`crate::evaluate`]).

use crate::load::{Config, value_text};
use crate::output::{RunRecord, read_csv, runs_dir};
use crate::summary::{ConfigSummary, quantile};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;
use toml::Value;

/// One `[[expect]]` table.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The claim in words.
    pub claim: String,
    /// Selector over the resolved configurations (dotted key = value); empty selects all.
    #[serde(default, rename = "where")]
    pub selector: toml::Table,
    /// A second selector; the measured value is `value(where) - value(versus)`.
    #[serde(default)]
    pub versus: Option<toml::Table>,
    /// The measured quantity.
    pub metric: String,
    /// How the selected configurations' values combine.
    #[serde(default)]
    pub reduce: Reduce,
    /// Comparison.
    pub op: Op,
    /// Threshold.
    pub threshold: f64,
    /// Threshold under `--quick` (default: `threshold`).
    #[serde(default)]
    pub quick_threshold: Option<f64>,
    /// The measured value becomes `|value − reference| / |reference|`.
    #[serde(default)]
    pub reference: Option<f64>,
    /// Evaluate-only specs: the parameters at which a pointwise metric is computed.
    #[serde(default)]
    pub at: Option<toml::Table>,
    /// Evaluate-only specs: an open interval of the scanned parameter.
    #[serde(default)]
    pub within: Option<[f64; 2]>,
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

/// Metrics of a training sweep, per configuration.
pub const SWEEP_METRICS: &[(&str, &str)] = &[
    ("runs", "number of runs"),
    ("diverged", "runs that diverged"),
    ("diverged_fraction", "fraction of runs that diverged"),
    ("solved", "runs that met the success criterion"),
    ("success_rate", "solved / runs"),
    ("success_low", "lower end of the 95% Wilson interval"),
    ("success_high", "upper end of the 95% Wilson interval"),
    ("median_steps_to_solve", "median steps to solve over solved runs (NaN if none)"),
    ("final_loss_min", "final held-out loss quantiles over runs that did not diverge"),
    ("final_loss_q25", ""),
    ("final_loss_median", ""),
    ("final_loss_q75", ""),
    ("final_loss_max", ""),
    ("final_error_rate_median", "median final held-out error rate (diverged runs count as 1)"),
    ("final_spectral_radius_median", "median spectral radius of W_hh at the last evaluation (vanilla RNN)"),
    ("max_grad_norm", "largest pre-clip gradient norm logged over all runs (inf if a run diverged)"),
    ("grad_spike_ratio", "max over runs of max/median of the logged pre-clip gradient norm (inf if diverged)"),
    ("grad_spike_or_diverged_fraction", "fraction of runs that diverged or whose grad_spike_ratio >= 100"),
    ("rho_k_max_rel_dev", "step 0: max over runs and lags k of |r_k − ρ^k|/ρ^k, r_k = ‖dL/dh_(T-k)‖/‖dL/dh_T‖"),
    ("bound_ratio_max", "step 0: max over runs and lags k of r_k / (γρ)^k, γ = the activation's derivative bound"),
];

/// The outcome of one claim.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Checked {
    /// The claim in words.
    pub claim: String,
    /// The metric.
    pub metric: String,
    /// The measured value (a string for non-finite values).
    #[serde(serialize_with = "number_or_text")]
    pub measured: f64,
    /// Comparison.
    pub op: String,
    /// Threshold in force.
    pub threshold: f64,
    /// Whether the claim holds.
    pub pass: bool,
}

fn number_or_text<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() { s.serialize_f64(*v) } else { s.serialize_str(&v.to_string()) }
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
fn lookup(config: &Config, key: &str) -> Option<Value> {
    if let Some((_, v)) = config.params.iter().find(|(k, _)| k == key) {
        return Some(v.clone());
    }
    let mut v = Value::try_from(&config.spec).ok()?;
    for part in key.split('.') {
        v = v.as_table()?.get(part)?.clone();
    }
    Some(v)
}

/// The indices of the configurations `selector` selects; an error names the
/// offending selector key.
pub fn select(configs: &[Config], selector: &toml::Table) -> Result<Vec<usize>, (Option<String>, String)> {
    for key in selector.keys() {
        if configs.iter().all(|c| lookup(c, key).is_none()) {
            return Err((Some(key.clone()), format!("`{key}` is not a key of this spec's configurations")));
        }
    }
    let chosen: Vec<usize> = (0..configs.len())
        .filter(|&i| selector.iter().all(|(k, v)| lookup(&configs[i], k).is_some_and(|x| same(&x, v))))
        .collect();
    if chosen.is_empty() {
        let what = selector.iter().map(|(k, v)| format!("{k} = {}", value_text(v))).collect::<Vec<_>>().join(", ");
        return Err((None, format!("selects no configuration ({what})")));
    }
    Ok(chosen)
}

/// Combines per-configuration values.
pub fn reduce(values: &[f64], how: Reduce, op: Op) -> f64 {
    let how = match (how, op) {
        (Reduce::Worst, Op::Lt | Op::Le) => Reduce::Max,
        (Reduce::Worst, Op::Gt | Op::Ge) => Reduce::Min,
        (h, _) => h,
    };
    if values.iter().any(|v| v.is_nan()) {
        return f64::NAN;
    }
    match how {
        Reduce::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
        Reduce::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        Reduce::Mean => values.iter().sum::<f64>() / values.len() as f64,
        Reduce::Median | Reduce::Worst => {
            let mut v = values.to_vec();
            v.sort_by(f64::total_cmp);
            quantile(&v, 0.5)
        }
    }
}

/// Checks the keys of a training-sweep claim that do not depend on results.
pub fn validate_sweep(e: &Expect, configs: &[Config]) -> Result<(), (Option<String>, String)> {
    if !SWEEP_METRICS.iter().any(|(m, _)| *m == e.metric) {
        let names: Vec<&str> = SWEEP_METRICS.iter().map(|(m, _)| *m).collect();
        return Err((Some("metric".into()), format!("unknown metric `{}`; one of {}", e.metric, names.join(", "))));
    }
    if e.at.is_some() || e.within.is_some() {
        return Err((Some("at".into()), "`at` and `within` apply only to evaluate-only specs".into()));
    }
    validate_common(e)?;
    select(configs, &e.selector).map_err(|(k, m)| (Some(k.map_or("where".into(), |k| format!("where.{k}"))), m))?;
    if let Some(v) = &e.versus {
        select(configs, v).map_err(|(k, m)| (Some(k.map_or("versus".into(), |k| format!("versus.{k}"))), m))?;
    }
    Ok(())
}

/// Checks what every claim needs.
pub fn validate_common(e: &Expect) -> Result<(), (Option<String>, String)> {
    if e.claim.trim().is_empty() {
        return Err((Some("claim".into()), "must not be empty".into()));
    }
    for (v, key) in
        [(Some(e.threshold), "threshold"), (e.quick_threshold, "quick_threshold"), (e.reference, "reference")]
    {
        if let Some(v) = v
            && !v.is_finite()
        {
            return Err((Some(key.into()), format!("must be finite, got {v}")));
        }
    }
    if e.reference == Some(0.0) {
        return Err((Some("reference".into()), "must be non-zero (the error is relative)".into()));
    }
    Ok(())
}

/// Applies `reference` and the comparison to a raw measured value.
pub fn judge(e: &Expect, raw: f64, quick: bool) -> Checked {
    let measured = e.reference.map_or(raw, |r| (raw - r).abs() / r.abs());
    let threshold = if quick { e.quick_threshold.unwrap_or(e.threshold) } else { e.threshold };
    Checked {
        claim: e.claim.clone(),
        metric: e.metric.clone(),
        measured,
        op: e.op.to_string(),
        threshold,
        pass: e.op.holds(measured, threshold),
    }
}

/// Per-run quantities read back from a run directory.
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
    let col = |name: &str| header.iter().position(|h| h == name);
    let gn = col("grad_norm").unwrap_or(2);
    let sr = col("spectral_radius");
    let final_spectral_radius =
        sr.and_then(|c| rows.iter().rev().map(|r| r.get(c).copied().unwrap_or(f64::NAN)).find(|v| v.is_finite()));
    let (_, grows) = read_csv(&run.join("grad_norms.csv"))?;
    Ok(RunData {
        diverged: rec.diverged(),
        grad_norms: rows.iter().map(|r| r[gn]).filter(|v| v.is_finite()).collect(),
        final_spectral_radius,
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

/// The value of a sweep metric for configuration `i`.
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
        "diverged" => Some(s.diverged as f64),
        "diverged_fraction" => Some(s.diverged as f64 / s.runs.max(1) as f64),
        "solved" => Some(s.solved as f64),
        "success_rate" => Some(s.success_rate),
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
    let median = |mut v: Vec<f64>| {
        if v.is_empty() {
            return f64::NAN;
        }
        v.sort_by(f64::total_cmp);
        quantile(&v, 0.5)
    };
    let m = &config.spec.model;
    let rho = m.recurrent_scale.unwrap_or(1.0);
    let gamma = match crate::model::cell(m) {
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
        "final_error_rate_median" => median(runs.iter().map(|r| r.final_error_rate.unwrap_or(1.0)).collect()),
        "final_spectral_radius_median" => median(runs.iter().filter_map(|r| r.final_spectral_radius).collect()),
        "max_grad_norm" => runs
            .iter()
            .map(|r| if r.diverged { f64::INFINITY } else { r.grad_norms.iter().copied().fold(0.0, f64::max) })
            .fold(f64::NEG_INFINITY, f64::max),
        "grad_spike_ratio" => runs.iter().map(spike).fold(f64::NEG_INFINITY, f64::max),
        "grad_spike_or_diverged_fraction" => {
            runs.iter().filter(|r| spike(r) >= 100.0).count() as f64 / runs.len().max(1) as f64
        }
        "rho_k_max_rel_dev" => over_lags(rho, &|r, b| (r - b).abs() / b),
        "bound_ratio_max" => over_lags(gamma * rho, &|r, b| r / b),
        other => unreachable!("metric {other} was validated"),
    })
}

/// Evaluates every claim of a training sweep.
pub fn check_sweep(
    expects: &[Expect],
    quick: bool,
    dir: &Path,
    configs: &[Config],
    summaries: &[ConfigSummary],
    records: &[RunRecord],
) -> std::io::Result<Vec<Checked>> {
    let mut out = Vec::new();
    for e in expects {
        let value = |sel: &toml::Table| -> std::io::Result<f64> {
            let chosen = select(configs, sel).map_err(|(_, m)| std::io::Error::other(m))?;
            let vals = chosen
                .iter()
                .map(|&i| sweep_metric(&e.metric, dir, &configs[i], i, &summaries[i], records))
                .collect::<std::io::Result<Vec<f64>>>()?;
            Ok(reduce(&vals, e.reduce, e.op))
        };
        let mut raw = value(&e.selector)?;
        if let Some(v) = &e.versus {
            raw -= value(v)?;
        }
        out.push(judge(e, raw, quick));
    }
    Ok(out)
}

/// Prints PASS/FAIL lines and writes `DIR/expectations.json`; true when all pass.
pub fn report(dir: &Path, checked: &[Checked]) -> std::io::Result<bool> {
    if checked.is_empty() {
        return Ok(true);
    }
    println!("claims:");
    for c in checked {
        println!(
            "  {} {}: {} = {:.6e} {} {:e}",
            if c.pass { "PASS" } else { "FAIL" },
            c.claim,
            c.metric,
            c.measured,
            c.op,
            c.threshold
        );
    }
    std::fs::write(dir.join("expectations.json"), serde_json::to_string_pretty(checked)? + "\n")?;
    Ok(checked.iter().all(|c| c.pass))
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
    fn integers_match_floats_in_selectors() {
        assert!(same(&Value::Integer(1), &Value::Float(1.0)));
        assert!(!same(&Value::Integer(1), &Value::Float(1.5)));
    }
}
