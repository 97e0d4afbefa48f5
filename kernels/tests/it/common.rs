//! Helpers shared by the kernel tests.

use kernels::simd::Level;
use kernels::{Activation, Cell, Real, Rnn, Weights};

/// Every cell and activation the crate supports.
pub fn all_cells() -> Vec<Cell> {
    vec![
        Cell::Rnn(Activation::Tanh),
        Cell::Rnn(Activation::Sigmoid),
        Cell::Rnn(Activation::Relu),
        Cell::Rnn(Activation::LeakyRelu(0.1)),
        Cell::Rnn(Activation::Linear),
        Cell::Lstm,
        Cell::Gru,
    ]
}

/// Every SIMD level this host has (the others are skipped).
pub fn levels() -> Vec<Level> {
    Level::ALL.into_iter().filter(|l| l.is_available()).collect()
}

/// Deterministic values in [-1, 1) (an LCG), for the product tests.
pub fn fill(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

/// SplitMix64: a tiny deterministic generator for test data.
pub struct TestRng(pub u64);

impl TestRng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `[-scale, scale)`.
    pub fn uniform(&mut self, scale: f64) -> f64 {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) * scale
    }
    pub fn vec<T: Real>(&mut self, n: usize, scale: f64) -> Vec<T> {
        (0..n).map(|_| T::from_f64(self.uniform(scale))).collect()
    }
}

/// Random weights: recurrent ones scaled by `1/sqrt(H)` so that long sequences stay finite.
pub fn random_weights<T: Real>(rnn: &Rnn, rng: &mut TestRng) -> Weights<T> {
    let h = rnn.hidden_size() as f64;
    let i = rnn.input_size() as f64;
    Weights {
        w_ih: rng.vec(rnn.w_ih_len(), 1.0 / i.sqrt()),
        w_hh: rng.vec(rnn.w_hh_len(), 1.2 / h.sqrt()),
        b_ih: rng.vec(rnn.bias_len(), 0.5),
        b_hh: rng.vec(rnn.bias_len(), 0.5),
    }
}

/// Normwise relative difference: `max|a - b| / max|b|` (0 when both are all zero).
pub fn rel_diff<T: Real>(a: &[T], b: &[T]) -> f64 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    let mut diff: f64 = 0.0;
    let mut scale: f64 = 0.0;
    for (&x, &y) in a.iter().zip(b) {
        diff = diff.max((x.to_f64() - y.to_f64()).abs());
        scale = scale.max(y.to_f64().abs());
    }
    if diff == 0.0 { 0.0 } else { diff / scale.max(f64::MIN_POSITIVE) }
}

/// Asserts `rel_diff(a, b) <= tol`, naming the buffer.
#[track_caller]
pub fn assert_close<T: Real>(what: &str, a: &[T], b: &[T], tol: f64) {
    let d = rel_diff(a, b);
    assert!(d <= tol, "{what}: relative difference {d:e} > {tol:e}");
    assert!(a.iter().all(|v| v.is_finite()), "{what}: non-finite values");
}
