//! The experiment spec: the typed form of one run's configuration, its
//! defaults, and the range checks made before any run starts.
//!
//! Reading a file, applying `[quick]`, `--set` and `[sweep]`, and locating
//! errors in the file is [`crate::load`]'s job; this module only knows what a
//! valid configuration looks like.

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// One fully resolved configuration (every override and sweep value applied).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Name, description and seeds.
    pub experiment: Experiment,
    /// The network.
    pub model: ModelSpec,
    /// The task and its data.
    pub task: TaskSpec,
    /// Optimisation, evaluation and the success criterion.
    pub train: TrainSpec,
    /// What is logged.
    #[serde(default)]
    pub log: LogSpec,
}

/// `[experiment]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// Name; the default output directory is `runs/<name>`.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// A count `n` (seeds `0..n`) or an explicit list.
    #[serde(default)]
    pub seeds: Seeds,
}

/// The seeds every configuration is run with.
#[derive(Clone, Debug, PartialEq)]
pub enum Seeds {
    /// Seeds `0..n`.
    Count(u64),
    /// These seeds, in this order.
    List(Vec<u64>),
}

impl Default for Seeds {
    fn default() -> Self {
        Seeds::Count(1)
    }
}

impl Seeds {
    /// The seed values.
    pub fn values(&self) -> Vec<u64> {
        match self {
            Seeds::Count(n) => (0..*n).collect(),
            Seeds::List(v) => v.clone(),
        }
    }
}

/// `[model]`: a recurrent layer and a linear readout `y = W_hy h + b_y`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Recurrent cell.
    pub cell: CellKind,
    /// Non-linearity of the vanilla RNN (`cell = "rnn"` only; default tanh).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation: Option<ActivationKind>,
    /// Slope for `x < 0` of `leaky_relu` (default 0.01).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaky_slope: Option<f64>,
    /// Hidden units `H`.
    pub hidden: usize,
    /// Element type of the whole model.
    #[serde(default)]
    pub precision: Precision,
    /// Initialisation of the recurrent matrix (per gate block for LSTM and GRU).
    #[serde(default)]
    pub init: InitKind,
    /// Spectral radius for orthogonal, identity and sparse; standard deviation
    /// for gaussian; half-width for uniform. Default 1, or `1/√H` for gaussian and uniform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrent_scale: Option<f64>,
    /// Non-zeros per row of the sparse init (default 15, at most `hidden`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sparse_nonzeros: Option<usize>,
    /// Standard deviation of the gaussian input weights `W_ih` (default `1/√I`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_scale: Option<f64>,
    /// Standard deviation of the gaussian readout weights `W_hy` (default `1/√H`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_scale: Option<f64>,
    /// Initial forget-gate bias of the LSTM (default 1). Every other bias starts at 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forget_bias: Option<f64>,
}

/// `model.cell`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellKind {
    /// Vanilla RNN.
    Rnn,
    /// LSTM.
    Lstm,
    /// GRU.
    Gru,
}

/// `model.activation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivationKind {
    /// tanh.
    Tanh,
    /// Logistic sigmoid.
    Sigmoid,
    /// ReLU.
    Relu,
    /// Leaky ReLU with `model.leaky_slope`.
    LeakyRelu,
    /// Identity.
    Linear,
}

/// `model.precision`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// Single precision.
    #[default]
    F32,
    /// Double precision.
    F64,
}

/// `model.init`: how `W_hh` starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitKind {
    /// A random orthogonal matrix times the scale.
    #[default]
    Orthogonal,
    /// The identity times the scale (Le et al. 2015).
    Identity,
    /// i.i.d. `N(0, scale²)`.
    Gaussian,
    /// i.i.d. `U[-scale, scale]`.
    Uniform,
    /// `sparse_nonzeros` gaussian entries per row, rescaled to spectral radius `scale`.
    Sparse,
}

/// `[task]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    /// Which task.
    pub kind: TaskKind,
    /// Sequence length: fixed, or `[min, max]` (inclusive) drawn per minibatch.
    /// For `copy` it is the delay `T` (sequences are `T + 20` long).
    pub seq_len: SeqLen,
    /// Adding task only: `sum` (Le et al., Arjovsky et al.; default), `hochreiter` (1997) or `mean` (Pascanu et al.).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<AddingVariant>,
    /// Latch and two-sequence: number of leading informative steps (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_len: Option<usize>,
    /// Latch and two-sequence: variance of the gaussian noise after the prefix (default 0.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_var: Option<f64>,
}

/// `task.kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Adding problem.
    Adding,
    /// Temporal order, 2 marks, 4 classes.
    TemporalOrder,
    /// Temporal order, 3 marks, 8 classes.
    TemporalOrder3,
    /// Copy memory.
    Copy,
    /// Latching (Bengio et al. 1994).
    Latch,
    /// Two-sequence problem.
    TwoSequence,
}

/// `task.variant` of the adding problem.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddingVariant {
    /// Values `U[0,1]`, one marker in each half, target the sum.
    #[default]
    Sum,
    /// Values `U[-1,1]`, target `0.5 + (X1 + X2)/4`, lengths as given.
    Hochreiter,
    /// Values `U[0,1]`, target the mean `(a + b)/2`.
    Mean,
}

/// A fixed sequence length or an inclusive range drawn per minibatch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeqLen {
    /// Shortest length.
    pub min: usize,
    /// Longest length (equal to `min` when fixed).
    pub max: usize,
}

/// `[train]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSpec {
    /// Update rule.
    #[serde(default)]
    pub optimizer: OptimizerKind,
    /// Learning rate.
    pub lr: f64,
    /// Momentum coefficient of `momentum` and `nesterov` (default 0.9).
    #[serde(default = "default_momentum")]
    pub momentum: f64,
    /// Decay of the squared-gradient average of `rmsprop` (default 0.9).
    #[serde(default = "default_decay")]
    pub decay: f64,
    /// Adam's first-moment decay (default 0.9).
    #[serde(default = "default_beta1")]
    pub beta1: f64,
    /// Adam's second-moment decay (default 0.999).
    #[serde(default = "default_beta2")]
    pub beta2: f64,
    /// Denominator guard of `rmsprop` and `adam` (default 1e-8).
    #[serde(default = "default_eps")]
    pub eps: f64,
    /// Sequences per minibatch.
    pub batch: usize,
    /// Parameter updates (0: only the gradient at initialisation is computed and logged).
    pub steps: usize,
    /// Gradient clipping.
    #[serde(default)]
    pub clip: ClipKind,
    /// Norm (for `norm`) or element bound (for `value`) of the clipping (default 1).
    #[serde(default = "default_one")]
    pub clip_threshold: f64,
    /// L1 penalty `λ Σ|w|` on the weight matrices `W_ih, W_hh, W_hy` (not biases).
    /// Penalties enter the gradient; the logged loss is the task loss alone.
    #[serde(default)]
    pub l1: f64,
    /// L2 penalty `(λ/2) Σ w²` on the weight matrices `W_ih, W_hh, W_hy` (not biases).
    #[serde(default)]
    pub l2: f64,
    /// Pascanu et al.'s regularizer Ω: `α·∂Ω/∂W_hh` is added before clipping (0 or absent: off; vanilla RNN only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omega_alpha: Option<f64>,
    /// Ω skips the steps with `‖dL/dh_k‖² <` this (default 1e-20, as the authors' code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omega_bound: Option<f64>,
    /// Truncated BPTT block length; 0 is full BPTT.
    #[serde(default)]
    pub truncate: usize,
    /// Evaluate on the held-out set every this many steps (and after the last).
    #[serde(default = "default_eval_every")]
    pub eval_every: usize,
    /// Held-out sequences, generated once per run.
    #[serde(default = "default_eval_size")]
    pub eval_size: usize,
    /// Regression tasks: a prediction is correct when `|y - target| < success_tolerance`.
    /// Default: the paper's (adding 0.04, or 0.2 for the `mean` variant; two-sequence and latch 0.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_tolerance: Option<f64>,
    /// A run is solved at the first evaluation whose error rate is at most this (default 0.01).
    #[serde(default = "default_success_error_rate")]
    pub success_error_rate: f64,
    /// End a run at the evaluation that solves it.
    #[serde(default)]
    pub stop_on_success: bool,
}

fn default_momentum() -> f64 {
    0.9
}
fn default_decay() -> f64 {
    0.9
}
fn default_beta1() -> f64 {
    0.9
}
fn default_beta2() -> f64 {
    0.999
}
fn default_eps() -> f64 {
    1e-8
}
fn default_one() -> f64 {
    1.0
}
fn default_eval_every() -> usize {
    100
}
fn default_eval_size() -> usize {
    1000
}
fn default_success_error_rate() -> f64 {
    0.01
}

/// `train.optimizer`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    /// Plain gradient descent.
    #[default]
    Sgd,
    /// Heavy-ball momentum.
    Momentum,
    /// Nesterov momentum (Sutskever et al. 2013 form).
    Nesterov,
    /// RMSProp.
    Rmsprop,
    /// Adam.
    Adam,
}

/// `train.clip`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClipKind {
    /// No clipping.
    #[default]
    None,
    /// Rescale the whole gradient to norm `clip_threshold` when above it (Pascanu et al.).
    Norm,
    /// Clamp every component to `[-clip_threshold, clip_threshold]`.
    Value,
}

/// `[log]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSpec {
    /// A metrics row every this many steps (default 1).
    #[serde(default = "default_every")]
    pub every: usize,
    /// Record `‖dL/dh_t‖` for every `t` at step 0 and every this many steps; 0 = never.
    #[serde(default)]
    pub grad_norms_every: usize,
}

fn default_every() -> usize {
    1
}

impl Default for LogSpec {
    fn default() -> Self {
        Self { every: 1, grad_norms_every: 0 }
    }
}

/// A range error found by [`Spec::validate`]: the dotted key and what is wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct Invalid {
    /// Dotted key, e.g. `model.hidden`.
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

fn invalid(key: &str, message: impl Into<String>) -> Invalid {
    Invalid { key: key.into(), message: message.into() }
}

/// Fails with `key` and `what` unless `ok`.
fn check(ok: bool, key: &str, what: impl FnOnce() -> String) -> Result<(), Invalid> {
    if ok { Ok(()) } else { Err(invalid(key, what())) }
}

fn finite_at_least(v: f64, min: f64, key: &str) -> Result<(), Invalid> {
    check(v.is_finite() && v >= min, key, || format!("must be a finite number >= {min}, got {v}"))
}

fn in_unit(v: f64, key: &str) -> Result<(), Invalid> {
    check((0.0..1.0).contains(&v), key, || format!("must be in [0, 1), got {v}"))
}

impl Spec {
    /// Checks every range and every cross-key constraint.
    pub fn validate(&self) -> Result<(), Invalid> {
        let e = &self.experiment;
        check(!e.name.is_empty(), "experiment.name", || "must not be empty".into())?;
        check(
            e.name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) && !e.name.starts_with('.'),
            "experiment.name",
            || format!("`{}` must use only letters, digits, `-`, `_` and `.` (it names a directory)", e.name),
        )?;
        match &e.seeds {
            Seeds::Count(n) => check(*n >= 1, "experiment.seeds", || "must be at least 1".into())?,
            Seeds::List(v) => {
                check(!v.is_empty(), "experiment.seeds", || "must not be an empty list".into())?;
                let mut sorted = v.clone();
                sorted.sort_unstable();
                sorted.dedup();
                check(sorted.len() == v.len(), "experiment.seeds", || "must not repeat a seed".into())?;
            }
        }

        let m = &self.model;
        check(m.hidden >= 1, "model.hidden", || "must be at least 1".into())?;
        if m.cell != CellKind::Rnn {
            check(m.activation.is_none(), "model.activation", || "applies only to cell = \"rnn\"".into())?;
        }
        if let Some(s) = m.leaky_slope {
            check(m.activation == Some(ActivationKind::LeakyRelu), "model.leaky_slope", || {
                "applies only to activation = \"leaky_relu\"".into()
            })?;
            finite_at_least(s, 0.0, "model.leaky_slope")?;
        }
        if let Some(f) = m.forget_bias {
            check(m.cell == CellKind::Lstm, "model.forget_bias", || "applies only to cell = \"lstm\"".into())?;
            check(f.is_finite(), "model.forget_bias", || format!("must be finite, got {f}"))?;
        }
        if let Some(s) = m.recurrent_scale {
            finite_at_least(s, 0.0, "model.recurrent_scale")?;
        }
        if let Some(k) = m.sparse_nonzeros {
            check(m.init == InitKind::Sparse, "model.sparse_nonzeros", || "applies only to init = \"sparse\"".into())?;
            check(k >= 1 && k <= m.hidden, "model.sparse_nonzeros", || {
                format!("must be between 1 and model.hidden = {}, got {k}", m.hidden)
            })?;
        }
        for (v, key) in [(m.input_scale, "model.input_scale"), (m.output_scale, "model.output_scale")] {
            if let Some(v) = v {
                finite_at_least(v, 0.0, key)?;
            }
        }

        let t = &self.task;
        check(t.seq_len.min >= 1, "task.seq_len", || "must be at least 1".into())?;
        check(t.seq_len.min <= t.seq_len.max, "task.seq_len", || {
            format!("[min, max] needs min <= max, got [{}, {}]", t.seq_len.min, t.seq_len.max)
        })?;
        let shortest = crate::tasks::min_seq_len(t);
        check(t.seq_len.min >= shortest, "task.seq_len", || {
            format!("must be at least {shortest} for this task, got {}", t.seq_len.min)
        })?;
        let adding = t.kind == TaskKind::Adding;
        let prefixed = matches!(t.kind, TaskKind::Latch | TaskKind::TwoSequence);
        check(t.variant.is_none() || adding, "task.variant", || "applies only to kind = \"adding\"".into())?;
        if let Some(p) = t.prefix_len {
            check(prefixed, "task.prefix_len", || "applies only to kind = \"latch\" or \"two_sequence\"".into())?;
            check(p >= 1 && p < t.seq_len.min, "task.prefix_len", || {
                format!("must be between 1 and task.seq_len - 1 = {}, got {p}", t.seq_len.min.saturating_sub(1))
            })?;
        }
        if let Some(v) = t.noise_var {
            check(prefixed, "task.noise_var", || "applies only to kind = \"latch\" or \"two_sequence\"".into())?;
            finite_at_least(v, 0.0, "task.noise_var")?;
        }

        let r = &self.train;
        finite_at_least(r.lr, 0.0, "train.lr")?;
        in_unit(r.momentum, "train.momentum")?;
        in_unit(r.decay, "train.decay")?;
        in_unit(r.beta1, "train.beta1")?;
        in_unit(r.beta2, "train.beta2")?;
        check(r.eps.is_finite() && r.eps > 0.0, "train.eps", || format!("must be > 0, got {}", r.eps))?;
        check(r.batch >= 1, "train.batch", || "must be at least 1".into())?;
        if let Some(a) = r.omega_alpha {
            finite_at_least(a, 0.0, "train.omega_alpha")?;
            check(a == 0.0 || matches!(self.model.cell, CellKind::Rnn), "train.omega_alpha", || {
                "Pascanu's Omega is defined for the vanilla RNN only (model.cell = \"rnn\")".into()
            })?;
        }
        if let Some(b) = r.omega_bound {
            check(r.omega_alpha.is_some(), "train.omega_bound", || "applies only with train.omega_alpha".into())?;
            check(b.is_finite() && b > 0.0, "train.omega_bound", || format!("must be > 0, got {b}"))?;
        }
        check(r.clip_threshold.is_finite() && r.clip_threshold > 0.0, "train.clip_threshold", || {
            format!("must be > 0, got {}", r.clip_threshold)
        })?;
        finite_at_least(r.l1, 0.0, "train.l1")?;
        finite_at_least(r.l2, 0.0, "train.l2")?;
        check(r.eval_every >= 1, "train.eval_every", || "must be at least 1".into())?;
        check(r.eval_size >= 1, "train.eval_size", || "must be at least 1".into())?;
        if let Some(tol) = r.success_tolerance {
            check(crate::tasks::is_regression(t.kind), "train.success_tolerance", || {
                "applies only to regression tasks (adding, latch, two_sequence)".into()
            })?;
            check(tol.is_finite() && tol > 0.0, "train.success_tolerance", || format!("must be > 0, got {tol}"))?;
        }
        check((0.0..=1.0).contains(&r.success_error_rate), "train.success_error_rate", || {
            format!("must be in [0, 1], got {}", r.success_error_rate)
        })?;

        check(self.log.every >= 1, "log.every", || "must be at least 1".into())?;
        Ok(())
    }
}

impl<'de> Deserialize<'de> for Seeds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Seeds;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a seed count or a list of seeds (non-negative integers)")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Seeds, E> {
                u64::try_from(v).map(Seeds::Count).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Seeds, E> {
                Ok(Seeds::Count(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Seeds, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<u64>()? {
                    out.push(s);
                }
                Ok(Seeds::List(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Seeds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Seeds::Count(n) => s.serialize_u64(*n),
            Seeds::List(v) => v.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for SeqLen {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SeqLen;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a length or a [min, max] pair of lengths")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SeqLen, E> {
                let n = usize::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))?;
                Ok(SeqLen { min: n, max: n })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SeqLen, E> {
                let n = usize::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))?;
                Ok(SeqLen { min: n, max: n })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SeqLen, A::Error> {
                let min: usize = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let max: usize = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(1, &self))?;
                if seq.next_element::<usize>()?.is_some() {
                    return Err(de::Error::invalid_length(3, &self));
                }
                Ok(SeqLen { min, max })
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for SeqLen {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.min == self.max { s.serialize_u64(self.min as u64) } else { [self.min, self.max].serialize(s) }
    }
}
