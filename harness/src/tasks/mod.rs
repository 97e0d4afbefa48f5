//! The tasks: sequence generators following the papers' definitions
//! (see `shared/literature.md`), one file per task.
//!
//! Every generator writes a minibatch in the kernels' layout, `x: [T, B, I]`
//! time-major, with its targets. Lengths are drawn by the caller
//! ([`draw_len`]) so that one minibatch shares one length.

pub mod adding;
pub mod copy;
pub mod latch;
pub mod temporal_order;
pub mod two_sequence;

use crate::spec::{AddingVariant, SeqLen, TaskKind, TaskSpec};
use kernels::init::{SeedRng, standard_normal, uniform01};

/// A minibatch of sequences and their targets.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// Steps `T`.
    pub seq_len: usize,
    /// Sequences `B`.
    pub batch: usize,
    /// Inputs `[T, B, I]`.
    pub x: Vec<f64>,
    /// What the model should output.
    pub target: Target,
}

/// Targets of a minibatch, which also fix where the loss is taken.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// A real value per sequence at the last step (`[B]`), squared error.
    Value(Vec<f64>),
    /// A class per sequence at the last step (`[B]`), cross-entropy.
    Class(Vec<usize>),
    /// A class at every step (`[T, B]`), cross-entropy averaged over all steps;
    /// only steps `>= scored_from` count for the error rate.
    ClassSeq {
        /// Labels `[T, B]`.
        labels: Vec<usize>,
        /// First step whose prediction is scored.
        scored_from: usize,
    },
}

/// A sequence task.
pub trait Task: Send + Sync {
    /// Input features per step `I`.
    fn input_size(&self) -> usize;
    /// Outputs per step: 1 for regression, the number of classes otherwise.
    fn output_size(&self) -> usize;
    /// A minibatch of `batch` sequences whose length parameter is `len`
    /// (the sequence length, or the copy task's delay).
    fn generate(&self, rng: &mut SeedRng, len: usize, batch: usize) -> Batch;
}

/// The generator for `spec`.
pub fn make(spec: &TaskSpec) -> Box<dyn Task> {
    let noise = spec.noise_var.unwrap_or(two_sequence::NOISE_VAR);
    let prefix = spec.prefix_len.unwrap_or(1);
    match spec.kind {
        TaskKind::Adding => Box::new(adding::Adding { variant: spec.variant.unwrap_or_default() }),
        TaskKind::TemporalOrder => Box::new(temporal_order::TemporalOrder { bits: 2 }),
        TaskKind::TemporalOrder3 => Box::new(temporal_order::TemporalOrder { bits: 3 }),
        TaskKind::Copy => Box::new(copy::Copy),
        TaskKind::Latch => Box::new(latch::Latch { prefix_len: prefix, noise_var: noise }),
        TaskKind::TwoSequence => Box::new(two_sequence::TwoSequence { prefix_len: prefix, noise_var: noise }),
    }
}

/// The shortest `seq_len` the task's definition allows.
pub fn min_seq_len(spec: &TaskSpec) -> usize {
    match spec.kind {
        TaskKind::Adding => adding::min_len(spec.variant.unwrap_or_default()),
        TaskKind::TemporalOrder | TaskKind::TemporalOrder3 => temporal_order::MIN_LEN,
        TaskKind::Copy => 1,
        TaskKind::Latch | TaskKind::TwoSequence => 2,
    }
}

/// Whether the task is a regression (squared error) task.
pub fn is_regression(kind: TaskKind) -> bool {
    matches!(kind, TaskKind::Adding | TaskKind::Latch | TaskKind::TwoSequence)
}

/// The paper's tolerance of a regression task: a prediction is correct when `|y - target|` is below it.
pub fn default_tolerance(spec: &TaskSpec) -> f64 {
    match (spec.kind, spec.variant.unwrap_or_default()) {
        (TaskKind::Adding, AddingVariant::Mean) => 0.2,
        (TaskKind::Adding, _) => 0.04,
        _ => 0.2,
    }
}

/// A length drawn uniformly from the inclusive range.
pub fn draw_len(rng: &mut SeedRng, len: SeqLen) -> usize {
    len.min + index(rng, len.max - len.min + 1)
}

/// Uniform in `0..n` (`n >= 1`).
pub fn index(rng: &mut SeedRng, n: usize) -> usize {
    ((uniform01(rng) * n as f64) as usize).min(n - 1)
}

/// Uniform in `lo..hi` (`hi > lo`).
pub fn range(rng: &mut SeedRng, lo: usize, hi: usize) -> usize {
    lo + index(rng, hi - lo)
}

/// The one-input sequences of the latch and two-sequence problems, `[T, B, 1]`:
/// for each sequence a fair coin `c` (`index(rng, 2) == 0`), then `prefix_len`
/// steps of `mark(c)` and gaussian noise of variance `noise_var` after them.
/// Returns the inputs and the coins.
pub fn marked_prefix(
    rng: &mut SeedRng,
    len: usize,
    batch: usize,
    prefix_len: usize,
    noise_var: f64,
    mark: impl Fn(bool) -> f64,
) -> (Vec<f64>, Vec<bool>) {
    let mut x = vec![0.0; len * batch];
    let mut coins = Vec::with_capacity(batch);
    let std = noise_var.sqrt();
    for b in 0..batch {
        let coin = index(rng, 2) == 0;
        for t in 0..len {
            x[t * batch + b] = if t < prefix_len { mark(coin) } else { std * standard_normal(rng) };
        }
        coins.push(coin);
    }
    (x, coins)
}

/// Index of feature `k` of sequence `b` at step `t` in `[T, B, I]`.
pub fn at(t: usize, b: usize, k: usize, batch: usize, input: usize) -> usize {
    (t * batch + b) * input + k
}
