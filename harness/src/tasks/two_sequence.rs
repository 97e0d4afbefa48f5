//! The two-sequence problem (Bengio et al. 1994, as restated by Hochreiter &
//! Schmidhuber 1997).
//!
//! Class 1 sequences start with `prefix_len` ones, class 2 with as many
//! minus-ones; the rest is gaussian noise of variance `noise_var` (0.2). The
//! target at the last step is 1 for class 1 and 0 for class 2; correct when
//! the error is below 0.2. The paper draws lengths from `[T, T + T/10]`:
//! write `seq_len = [T, T + T/10]`.

use super::batch::{Batch, Target, Task};
use super::sampling::marked_prefix;
use kernels::train::init::SeedRng;

/// Default noise variance of the latch and two-sequence problems.
pub const NOISE_VAR: f64 = 0.2;

/// The two-sequence problem.
#[derive(Clone, Copy, Debug)]
pub struct TwoSequence {
    /// Informative leading steps.
    pub prefix_len: usize,
    /// Variance of the noise after them.
    pub noise_var: f64,
}

impl Task for TwoSequence {
    fn input_size(&self) -> usize {
        1
    }
    fn output_size(&self) -> usize {
        1
    }
    fn generate(&self, rng: &mut SeedRng, len: usize, batch: usize) -> Batch {
        // Coin up: class 1 (ones, target 1); down: class 2 (minus-ones, target 0).
        let mark = |class1: bool| if class1 { 1.0 } else { -1.0 };
        let (x, coins) = marked_prefix(rng, len, batch, self.prefix_len, self.noise_var, mark);
        let target = coins.into_iter().map(|c| if c { 1.0 } else { 0.0 }).collect();
        Batch { seq_len: len, batch, x, target: Target::Value(target) }
    }
}
