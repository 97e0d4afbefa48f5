//! The typed sections of a training spec (`[experiment]`, `[model]`,
//! `[task]`, `[train]`, `[log]`), their defaults and serde forms, and the
//! facts about each task kind that validation and training need (shortest
//! length, regression or not, default tolerance), kept here so that `spec`
//! does not have to ask `tasks`.
//!
//! Reading a file, applying `[quick]`, `--set` and `[sweep]`, and locating
//! errors is `spec::load`'s job; the range checks are in `spec::validate`.

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
    /// How many seeds (without listing them).
    pub fn len(&self) -> usize {
        match self {
            Seeds::Count(n) => usize::try_from(*n).unwrap_or(usize::MAX),
            Seeds::List(v) => v.len(),
        }
    }

    /// Whether there are none (a spec refuses that at load).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

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
    /// i.i.d. `U[-a, a]` with Glorot's `a = √(6 / (H + H))` (each `H×H` block); `recurrent_scale` not allowed.
    GlorotUniform,
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
    /// Latch only: `harness` (default; the class enters through a learned input weight that
    /// also scales the noise, with a linear readout) or `paper` (Bengio et al. 1994: the unit's
    /// state is the output, trainable per-class inputs, unscaled noise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<LatchForm>,
}

/// `task.form` of the latch problem.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LatchForm {
    /// The class is the input `±1` times a learned weight (which also scales the noise);
    /// a linear readout; squared error `(y − d)²`.
    #[default]
    Harness,
    /// Bengio et al. 1994: `a_t = w·tanh(a_{t−1}) + h_t`, output `x_T = tanh(a_T)`, trainable
    /// inputs `h_{c,1..L}` per class `c`, unscaled noise after them, cost `½(x_T − d)²`.
    Paper,
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

/// Shortest `seq_len` of the temporal order tasks: below it `⌊0.1 l⌋ = 0` and
/// the mark windows are empty.
pub const TEMPORAL_ORDER_MIN_LEN: usize = 10;

impl AddingVariant {
    /// The shortest length the variant's marker positions allow: one marker
    /// in each half (`sum`, `mean`), or two distinct positions among the first
    /// `T/2 − 1` steps (`hochreiter`).
    pub fn min_len(self) -> usize {
        match self {
            AddingVariant::Sum | AddingVariant::Mean => 2,
            AddingVariant::Hochreiter => 6,
        }
    }
}

impl TaskKind {
    /// Whether the task is a regression (squared error) task.
    pub fn is_regression(self) -> bool {
        matches!(self, TaskKind::Adding | TaskKind::Latch | TaskKind::TwoSequence)
    }
}

impl TaskSpec {
    /// The shortest `seq_len` the task's definition allows.
    pub fn min_seq_len(&self) -> usize {
        match self.kind {
            TaskKind::Adding => self.variant.unwrap_or_default().min_len(),
            TaskKind::TemporalOrder | TaskKind::TemporalOrder3 => TEMPORAL_ORDER_MIN_LEN,
            TaskKind::Copy => 1,
            TaskKind::Latch | TaskKind::TwoSequence => 2,
        }
    }

    /// The papers' baseline loss of the task, drawn on the loss figures: chance `ln 4`
    /// (`ln 8`) for temporal order, the constant predictor's MSE for adding (`1/6` for `sum`,
    /// `1/24` for `mean` and `hochreiter`), the memoryless `10 ln 8 / (T + 20)` for copy (at the
    /// shortest `T`), predicting 0 for latch (`0.8² = 0.64`; `½·0.8² = 0.32` in the paper form,
    /// whose cost has the ½) and predicting ½ for two-sequence (`0.25`).
    pub fn baseline_loss(&self) -> f64 {
        match self.kind {
            TaskKind::TemporalOrder => 4f64.ln(),
            TaskKind::TemporalOrder3 => 8f64.ln(),
            TaskKind::Adding => match self.variant.unwrap_or_default() {
                AddingVariant::Sum => 1.0 / 6.0,
                AddingVariant::Mean | AddingVariant::Hochreiter => 1.0 / 24.0,
            },
            TaskKind::Copy => 10.0 * 8f64.ln() / (self.seq_len.min as f64 + 20.0),
            TaskKind::Latch => match self.form.unwrap_or_default() {
                LatchForm::Harness => 0.64,
                LatchForm::Paper => 0.32,
            },
            TaskKind::TwoSequence => 0.25,
        }
    }

    /// The loss of an uninformed predictor, the reference of the divergence test
    /// (`train.diverge_loss_factor`): the baseline, or for copy the uniform guess over its
    /// 9 output classes at every step (`ln 9`), which is what an untrained model starts near.
    pub fn chance_loss(&self) -> f64 {
        match self.kind {
            TaskKind::Copy => 9f64.ln(),
            _ => self.baseline_loss(),
        }
    }

    /// Whether this is the paper form of the latch problem (`task.form = "paper"`).
    pub fn is_paper_latch(&self) -> bool {
        self.kind == TaskKind::Latch && self.form == Some(LatchForm::Paper)
    }

    /// The paper's tolerance of a regression task: a prediction is correct
    /// when `|y - target|` is below it (`train.success_tolerance` overrides it).
    pub fn default_tolerance(&self) -> f64 {
        match (self.kind, self.variant.unwrap_or_default()) {
            (TaskKind::Adding, AddingVariant::Mean) => 0.2,
            (TaskKind::Adding, _) => 0.04,
            _ => 0.2,
        }
    }
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
    /// L1 penalty `λ Σ|w|` on the weight matrices in `penalty_on` (default `W_ih, W_hh, W_hy`; not biases).
    /// Penalties enter the gradient; the logged loss is the task loss alone.
    #[serde(default)]
    pub l1: f64,
    /// L2 penalty `(λ/2) Σ w²` on the weight matrices in `penalty_on`.
    #[serde(default)]
    pub l2: f64,
    /// The matrices `l1` and `l2` penalise: any of `ih`, `hh`, `hy` (default all three).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub penalty_on: Option<Vec<PenaltyTarget>>,
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
    /// An evaluation meets the success criterion when its error rate is at most this
    /// (default 0.01 unless `success_loss` is given alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_error_rate: Option<f64>,
    /// An evaluation meets the success criterion when its held-out loss is at most this
    /// (with `success_error_rate` also given, both must hold).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_loss: Option<f64>,
    /// A run diverges when its pre-clip gradient norm exceeds this (default 1e10, the
    /// threshold of Pascanu et al.'s code), whatever the precision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diverge_norm: Option<f64>,
    /// A run diverges when a held-out loss after step 0 exceeds this multiple (default 10) of
    /// the larger of the task's chance loss and the run's held-out loss at step 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diverge_loss_factor: Option<f64>,
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
/// Default `train.success_error_rate`.
pub const SUCCESS_ERROR_RATE: f64 = 0.01;
/// Default `train.diverge_norm` (Pascanu et al.'s code).
pub const DIVERGE_NORM: f64 = 1e10;
/// Default `train.diverge_loss_factor`.
pub const DIVERGE_LOSS_FACTOR: f64 = 10.0;

impl TrainSpec {
    /// The error-rate bound of the success criterion, if it has one: `success_error_rate`,
    /// or 0.01 when neither it nor `success_loss` is given.
    pub fn error_criterion(&self) -> Option<f64> {
        match (self.success_error_rate, self.success_loss) {
            (Some(r), _) => Some(r),
            (None, None) => Some(SUCCESS_ERROR_RATE),
            (None, Some(_)) => None,
        }
    }

    /// Whether an evaluation with this held-out loss and error rate meets the success criterion.
    pub fn meets_criterion(&self, loss: f64, error_rate: f64) -> bool {
        self.error_criterion().is_none_or(|r| error_rate <= r) && self.success_loss.is_none_or(|l| loss <= l)
    }

    /// Whether the L1/L2 penalties apply to this matrix.
    pub fn penalises(&self, target: PenaltyTarget) -> bool {
        self.penalty_on.as_ref().is_none_or(|v| v.contains(&target))
    }
}

/// `train.penalty_on`: a weight matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PenaltyTarget {
    /// Input weights `W_ih`.
    Ih,
    /// Recurrent weights `W_hh`.
    Hh,
    /// Readout weights `W_hy`.
    Hy,
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
