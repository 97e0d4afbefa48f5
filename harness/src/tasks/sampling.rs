//! The random draws the generators share: lengths, positions, and the marked
//! prefixes of the latch and two-sequence problems.

use crate::spec::SeqLen;
use kernels::train::init::{SeedRng, standard_normal, uniform01};

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
