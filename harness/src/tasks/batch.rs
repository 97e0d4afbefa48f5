//! What every generator produces: a [`Batch`] of sequences in the kernels'
//! layout, `x: [T, B, I]` time-major, with its [`Target`]s; and the [`Task`]
//! trait the generators implement.

use kernels::train::init::SeedRng;

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

/// Index of feature `k` of sequence `b` at step `t` in `[T, B, I]`.
pub fn at(t: usize, b: usize, k: usize, batch: usize, input: usize) -> usize {
    (t * batch + b) * input + k
}
