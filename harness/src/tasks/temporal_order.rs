//! The temporal order problem (Hochreiter & Schmidhuber 1997, as set up by
//! Pascanu et al. 2013).
//!
//! Each step is a one-hot symbol out of 6. Symbols 2..5 are uniform
//! distractors. In a sequence of length `l`, with `d = ⌊0.1 l⌋`:
//! - 2 bits: `v0 ∈ {0,1}` is put at `p0 ∈ [d, 2d)` and `v1` at
//!   `p1 ∈ [⌊0.5 l⌋, ⌊0.5 l⌋ + d)`; the class is `v0 + 2 v1` (4 classes);
//! - 3 bits: marks in `[⌊0.1l⌋, ⌊0.2l⌋)`, `[⌊0.3l⌋, ⌊0.4l⌋)`, `[⌊0.6l⌋, ⌊0.7l⌋)`,
//!   class `v0 + 2 v1 + 4 v2` (8 classes).
//!
//! The class is predicted at the last step; chance level is `ln 4` (`ln 8`).
//! Below `l = 10` (`spec::TEMPORAL_ORDER_MIN_LEN`, which validation enforces)
//! `d = 0` and the windows are empty.

use super::batch::{Batch, Target, Task, at};
use super::sampling::{index, range};
use kernels::train::init::SeedRng;

/// Symbols per step.
pub const SYMBOLS: usize = 6;

/// Temporal order with 2 or 3 marks.
#[derive(Clone, Copy, Debug)]
pub struct TemporalOrder {
    /// Number of marks: 2 or 3.
    pub bits: usize,
}

/// The windows `[lo, hi)` where the marks go in a sequence of length `l`.
pub fn windows(bits: usize, l: usize) -> Vec<(usize, usize)> {
    let f = |tenths: usize| tenths * l / 10;
    if bits == 2 {
        vec![(f(1), 2 * f(1)), (l / 2, l / 2 + f(1))]
    } else {
        vec![(f(1), f(2)), (f(3), f(4)), (f(6), f(7))]
    }
}

impl Task for TemporalOrder {
    fn input_size(&self) -> usize {
        SYMBOLS
    }
    fn output_size(&self) -> usize {
        1 << self.bits
    }
    fn generate(&self, rng: &mut SeedRng, len: usize, batch: usize) -> Batch {
        let mut x = vec![0.0; len * batch * SYMBOLS];
        let mut labels = Vec::with_capacity(batch);
        let windows = windows(self.bits, len);
        for b in 0..batch {
            let mut symbols: Vec<usize> = (0..len).map(|_| 2 + index(rng, 4)).collect();
            let mut class = 0;
            for (i, &(lo, hi)) in windows.iter().enumerate() {
                let v = index(rng, 2);
                symbols[range(rng, lo, hi)] = v;
                class += v << i;
            }
            for (t, &s) in symbols.iter().enumerate() {
                x[at(t, b, s, batch, SYMBOLS)] = 1.0;
            }
            labels.push(class);
        }
        Batch { seq_len: len, batch, x, target: Target::Class(labels) }
    }
}
