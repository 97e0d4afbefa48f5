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
//! [`crate::spec::evaluate`]).
//!
//! This module holds what a claim says and the checks that need no results;
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

/// Checks the keys of a training-sweep claim that do not depend on results;
/// an error's key is relative to the claim's table.
pub fn validate_sweep(e: &Expect, configs: &[Config]) -> Result<(), SpecError> {
    if !SWEEP_METRICS.iter().any(|(m, _)| *m == e.metric) {
        let names: Vec<&str> = SWEEP_METRICS.iter().map(|(m, _)| *m).collect();
        return Err(SpecError::at("metric", format!("unknown metric `{}`; one of {}", e.metric, names.join(", "))));
    }
    if e.at.is_some() || e.within.is_some() {
        return Err(SpecError::at("at", "`at` and `within` apply only to evaluate-only specs"));
    }
    validate_common(e)?;
    select(configs, &e.selector).map_err(|err| err.under("where"))?;
    if let Some(v) = &e.versus {
        select(configs, v).map_err(|err| err.under("versus"))?;
    }
    Ok(())
}

/// Checks what every claim needs; an error's key is relative to the claim's table.
pub fn validate_common(e: &Expect) -> Result<(), SpecError> {
    if e.claim.trim().is_empty() {
        return Err(SpecError::at("claim", "must not be empty"));
    }
    for (v, key) in
        [(Some(e.threshold), "threshold"), (e.quick_threshold, "quick_threshold"), (e.reference, "reference")]
    {
        if let Some(v) = v
            && !v.is_finite()
        {
            return Err(SpecError::at(key, format!("must be finite, got {v}")));
        }
    }
    if e.reference == Some(0.0) {
        return Err(SpecError::at("reference", "must be non-zero (the error is relative)"));
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
}
