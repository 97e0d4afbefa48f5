//! The latching problem (Bengio, Simard & Frasconi 1994).
//!
//! A sequence belongs to class `s = ±1`. Its first `prefix_len` inputs carry
//! the class (`s`), every later input is gaussian noise of variance
//! `noise_var` (0.2), and the target at the last step is `d = 0.8 s`: the
//! network must store one bit and hold it against the noise. The paper's
//! trainable inputs `h_1..h_L` become the learned input weights times `s`.
//! Squared error; correct when `|y - d|` is below the tolerance (0.2).

use super::batch::{Batch, Target, Task};
use super::sampling::marked_prefix;
use kernels::train::init::SeedRng;

/// The target magnitude `|d|`.
pub const TARGET: f64 = 0.8;

/// The latching problem.
#[derive(Clone, Copy, Debug)]
pub struct Latch {
    /// Informative leading steps.
    pub prefix_len: usize,
    /// Variance of the noise after them.
    pub noise_var: f64,
}

impl Task for Latch {
    fn input_size(&self) -> usize {
        1
    }
    fn output_size(&self) -> usize {
        1
    }
    fn generate(&self, rng: &mut SeedRng, len: usize, batch: usize) -> Batch {
        let sign = |coin: bool| if coin { -1.0 } else { 1.0 };
        let (x, coins) = marked_prefix(rng, len, batch, self.prefix_len, self.noise_var, sign);
        let target = coins.into_iter().map(|c| TARGET * sign(c)).collect();
        Batch { seq_len: len, batch, x, target: Target::Value(target) }
    }
}
