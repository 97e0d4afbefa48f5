//! The copy memory problem (Arjovsky, Shah & Bengio 2016).
//!
//! With delay `T` (the spec's `seq_len`), a sequence has `T + 20` steps of
//! one-hot symbols out of 10: 10 symbols uniform in `1..=8`, then `T - 1`
//! blanks (0), the delimiter 9, then 10 blanks. The target is `T + 10` blanks
//! followed by the 10 symbols; cross-entropy is averaged over all steps, so
//! the memoryless baseline (blanks, then uniform guesses) is `10 ln 8 / (T + 20)`.
//! The error rate counts the last 10 steps only.

use super::batch::{Batch, Target, Task, at};
use super::sampling::index;
use kernels::train::init::SeedRng;

/// Symbols to remember.
pub const RECALL: usize = 10;
/// Distinct symbols that can be remembered (`1..=ALPHABET`).
pub const ALPHABET: usize = 8;
/// Input symbols: blank, the alphabet, the delimiter.
pub const INPUTS: usize = ALPHABET + 2;
/// The delimiter symbol.
pub const DELIMITER: usize = ALPHABET + 1;

/// The copy memory problem.
#[derive(Clone, Copy, Debug)]
pub struct Copy;

impl Task for Copy {
    fn input_size(&self) -> usize {
        INPUTS
    }
    fn output_size(&self) -> usize {
        ALPHABET + 1
    }
    fn generate(&self, rng: &mut SeedRng, delay: usize, batch: usize) -> Batch {
        let len = delay + 2 * RECALL;
        let mut x = vec![0.0; len * batch * INPUTS];
        let mut labels = vec![0; len * batch];
        for b in 0..batch {
            let mut input = vec![0; len];
            for i in 0..RECALL {
                let s = 1 + index(rng, ALPHABET);
                input[i] = s;
                labels[(delay + RECALL + i) * batch + b] = s;
            }
            input[delay + RECALL - 1] = DELIMITER;
            for (t, &s) in input.iter().enumerate() {
                x[at(t, b, s, batch, INPUTS)] = 1.0;
            }
        }
        Batch { seq_len: len, batch, x, target: Target::ClassSeq { labels, scored_from: delay + RECALL } }
    }
}
