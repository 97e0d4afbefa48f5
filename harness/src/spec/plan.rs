//! [`Plan`]: what `spec::load` hands the rest of the harness, everything
//! resolved and validated; and the `[figures]` table.

use super::config::Config;
use super::evaluate::EvalOnly;
use super::expect::Expect;
use serde::Deserialize;
use toml::Value;

/// Everything a sweep needs, fully validated.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The swept keys and their values, in file order.
    pub sweep: Vec<(String, Vec<Value>)>,
    /// The cartesian product of the sweep, the first key varying slowest.
    pub configs: Vec<Config>,
    /// The resolved spec as TOML, written to `DIR/spec.toml`.
    pub resolved: String,
    /// The `[[expect]]` claims, checked after the sweep.
    pub expects: Vec<Expect>,
    /// The active profile (`--profile NAME`; `--quick` is `quick`), `None` for the full spec.
    pub profile: Option<String>,
    /// `[figures]`: extra figures.
    pub figures: Figures,
    /// An evaluate-only spec (`[evaluate]`): no training, `configs` is empty.
    pub evaluate: Option<EvalOnly>,
}

impl Plan {
    /// The active profile's name, as claims and messages use it (`full` without one).
    pub fn profile_name(&self) -> &str {
        self.profile.as_deref().unwrap_or("full")
    }

    /// `experiment.name`: it names the default output directory.
    pub fn name(&self) -> &str {
        match &self.evaluate {
            Some(e) => &e.experiment.name,
            None => &self.configs[0].spec.experiment.name,
        }
    }
}

/// `[figures]`: optional extra figures.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figures {
    /// One figure per value of this swept key (lines: the other swept keys) for
    /// the relative gradient norm against lag (`grad_norms_by_*.svg`) and the
    /// pre-clip gradient norm over training (`grad_norm_training_*.svg`).
    #[serde(default)]
    pub group_by: Option<String>,
    /// Also draw the gradient norm over training (`grad_norm_training*.svg`).
    #[serde(default)]
    pub training_grad_norm: bool,
    /// Published values drawn on `eval_loss.svg`: `[sequences seen, loss]` points.
    #[serde(default)]
    pub paper_points: Vec<[f64; 2]>,
    /// The legend of `paper_points` (default "paper").
    #[serde(default)]
    pub paper_label: Option<String>,
}
