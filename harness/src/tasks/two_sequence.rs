//! The two-sequence problem (Bengio et al. 1994, as restated by Hochreiter &
//! Schmidhuber 1997).
//!
//! Class 1 sequences start with `prefix_len` ones, class 2 with as many
//! minus-ones; the rest is gaussian noise of variance `noise_var` (0.2). The
//! target at the last step is 1 for class 1 and 0 for class 2; correct when
//! the error is below 0.2. The paper draws lengths from `[T, T + T/10]`:
//! write `seq_len = [T, T + T/10]`.

use super::{Batch, Target, Task, index};
use kernels::init::{SeedRng, standard_normal};

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
        let mut x = vec![0.0; len * batch];
        let mut target = Vec::with_capacity(batch);
        let std = self.noise_var.sqrt();
        for b in 0..batch {
            let first = index(rng, 2) == 0;
            let mark = if first { 1.0 } else { -1.0 };
            for t in 0..len {
                x[t * batch + b] = if t < self.prefix_len { mark } else { std * standard_normal(rng) };
            }
            target.push(if first { 1.0 } else { 0.0 });
        }
        Batch { seq_len: len, batch, x, target: Target::Value(target) }
    }
}
