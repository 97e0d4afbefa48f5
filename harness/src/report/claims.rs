//! Checking the `[[expect]]` claims after a sweep: measuring each claim's
//! metric per selected configuration (see `spec::expect` for what a claim
//! says), combining the values, judging the comparison, and reporting
//! (`PASS`/`FAIL` lines and `DIR/expectations.json`). Evaluate-only claims are
//! measured in `report::cliff` and judged here.

use super::stats::quantile;
use super::summary::ConfigSummary;
use crate::nn::model::cell;
use crate::run::output::{RunRecord, read_csv, runs_dir};
use crate::spec::expect::select;
use crate::spec::{Config, Expect, Op, Reduce};
use serde::Serialize;
use std::path::Path;

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
            let chosen = select(configs, sel).map_err(|e| std::io::Error::other(e.message))?;
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
}
