//! The adding problem: each step carries a value and a marker; the target,
//! read at the last step, combines the two marked values.
//!
//! - `sum` (Le et al. 2015, Arjovsky et al. 2016): values `U[0,1]`, one marker
//!   in each half of the sequence, target the sum. Predicting 1 gives MSE 1/6.
//! - `mean` (Pascanu et al. 2013): the same inputs, target `(a + b)/2`;
//!   correct when the squared error is below 0.04 (tolerance 0.2).
//! - `hochreiter` (Hochreiter & Schmidhuber 1997): values `U[-1,1]`, the first
//!   marker among the first 10 steps, the second among the first `T/2 - 1`
//!   (distinct), target `0.5 + (X1 + X2)/4`, correct when the error is below 0.04.
//!   Their lengths are drawn from `[T, T + T/10]`: write `seq_len = [T, T + T/10]`.
//!
//! Input features: `[value, marker]`. The shortest lengths these marker
//! positions allow are `AddingVariant::min_len` (in `spec`, where validation reads them).

use super::batch::{Batch, Target, Task, at};
use super::sampling::{index, range};
use crate::spec::AddingVariant;
use kernels::train::init::{SeedRng, uniform01};

/// The adding problem in one of its variants.
#[derive(Clone, Copy, Debug)]
pub struct Adding {
    /// Which paper's definition.
    pub variant: AddingVariant,
}

impl Adding {
    /// The two marker positions of a sequence of length `t_len`.
    fn markers(&self, rng: &mut SeedRng, t_len: usize) -> (usize, usize) {
        match self.variant {
            AddingVariant::Sum | AddingVariant::Mean => (index(rng, t_len / 2), range(rng, t_len / 2, t_len)),
            AddingVariant::Hochreiter => {
                let first_half = t_len / 2 - 1;
                let p1 = index(rng, first_half.min(10));
                loop {
                    let p2 = index(rng, first_half);
                    if p2 != p1 {
                        return (p1, p2);
                    }
                }
            }
        }
    }
}

impl Task for Adding {
    fn input_size(&self) -> usize {
        2
    }
    fn output_size(&self) -> usize {
        1
    }
    fn generate(&self, rng: &mut SeedRng, len: usize, batch: usize) -> Batch {
        let mut x = vec![0.0; len * batch * 2];
        let mut target = Vec::with_capacity(batch);
        for b in 0..batch {
            for t in 0..len {
                let u = uniform01(rng);
                x[at(t, b, 0, batch, 2)] = match self.variant {
                    AddingVariant::Hochreiter => 2.0 * u - 1.0,
                    _ => u,
                };
            }
            let (p1, p2) = self.markers(rng, len);
            x[at(p1, b, 1, batch, 2)] = 1.0;
            x[at(p2, b, 1, batch, 2)] = 1.0;
            let (a, c) = (x[at(p1, b, 0, batch, 2)], x[at(p2, b, 0, batch, 2)]);
            target.push(match self.variant {
                AddingVariant::Sum => a + c,
                AddingVariant::Mean => (a + c) / 2.0,
                AddingVariant::Hochreiter => 0.5 + (a + c) / 4.0,
            });
        }
        Batch { seq_len: len, batch, x, target: Target::Value(target) }
    }
}
