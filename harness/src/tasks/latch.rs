//! The latching problem (Bengio, Simard & Frasconi 1994).
//!
//! A sequence belongs to class `s = ±1`. Its first `prefix_len` inputs carry
//! the class (`s`), every later input is gaussian noise of variance
//! `noise_var` (0.2), and the target at the last step is `d = 0.8 s`: the
//! network must store one bit and hold it against the noise. Two forms:
//!
//! - [`Latch`] (`task.form = "harness"`): one input, `s` during the prefix and noise after
//!   it; the paper's trainable inputs `h_1..h_L` become the learned input weight times `s`,
//!   which also scales the noise; the model's linear readout gives `y`.
//! - [`LatchPaper`] (`task.form = "paper"`, Bengio et al.'s own form): inputs `1 + 2L`
//!   features. Feature 0 carries the noise (0 during the prefix) and enters through an input
//!   weight frozen at 1, so the noise is unscaled; feature `1 + c·L + t` is 1 at prefix step
//!   `t` of a sequence of class `c` (0 for `s = +1`, 1 for `s = −1`), so that input weight is
//!   the paper's trainable `h_{c,t}`. The model (`nn::model`) has no bias and no readout: the
//!   output is the unit's state `x_T = tanh(a_T)`, the cost `½(x_T − d)²`.
//!
//! Both draw the same random stream (`sampling::marked_prefix`): a fair coin per sequence,
//! then the noise. Squared error; correct when `|y - d|` is below the tolerance (0.2).

use super::batch::{Batch, Target, Task, at};
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

/// The paper form of the latching problem (see the module docs).
#[derive(Clone, Copy, Debug)]
pub struct LatchPaper {
    /// Informative leading steps `L`.
    pub prefix_len: usize,
    /// Variance of the noise after them.
    pub noise_var: f64,
}

impl Task for LatchPaper {
    fn input_size(&self) -> usize {
        1 + 2 * self.prefix_len
    }
    fn output_size(&self) -> usize {
        1
    }
    fn generate(&self, rng: &mut SeedRng, len: usize, batch: usize) -> Batch {
        let sign = |coin: bool| if coin { -1.0 } else { 1.0 };
        let (noise, coins) = marked_prefix(rng, len, batch, self.prefix_len, self.noise_var, sign);
        let inputs = self.input_size();
        let mut x = vec![0.0; len * batch * inputs];
        for (b, &coin) in coins.iter().enumerate() {
            for t in 0..len {
                if t < self.prefix_len {
                    x[at(t, b, 1 + usize::from(coin) * self.prefix_len + t, batch, inputs)] = 1.0;
                } else {
                    x[at(t, b, 0, batch, inputs)] = noise[t * batch + b];
                }
            }
        }
        let target = coins.into_iter().map(|c| TARGET * sign(c)).collect();
        Batch { seq_len: len, batch, x, target: Target::Value(target) }
    }
}
