//! Gradient clipping over a set of gradient buffers taken together (e.g. dW_ih, dW_hh, db_ih,
//! db_hh of every layer), as in Pascanu, Mikolov & Bengio 2013, "On the difficulty of training
//! recurrent neural networks", Algorithm 1.

use crate::real::Real;

/// The global L2 norm ‖g‖ = √(Σ_b Σ_i g_bi²) over all elements of all buffers.
///
/// Accumulated in `f64` in a fixed order (buffers in order; within a buffer, four interleaved
/// partial sums over i mod 4, combined as (s₀ + s₁) + (s₂ + s₃)), so the result does not depend
/// on the machine. If the plain sum of squares overflows or becomes so small that underflow could
/// cost accuracy (< 2⁻⁹⁰⁰, only possible for `f64` data), it is recomputed as
/// m·√(Σ (g/m)²) with m = max |g|, so the norm is accurate over the whole `f64` range.
///
/// Returns NaN if any element is NaN, +∞ if any is infinite (and none is NaN), 0 for no
/// elements.
pub fn global_norm<T: Real>(bufs: &[&[T]]) -> f64 {
    norm(bufs.iter().copied())
}

/// [`global_norm`] over any (re-iterable) sequence of buffers.
fn norm<'a, T: Real>(bufs: impl Iterator<Item = &'a [T]> + Clone) -> f64 {
    const TINY: f64 = f64::from_bits(123 << 52); // 2⁻⁹⁰⁰: biased exponent 1023 − 900
    let sum = sum_of_squares(bufs.clone(), 1.0);
    if sum.is_nan() {
        return f64::NAN;
    }
    if sum.is_finite() && sum >= TINY {
        return sum.sqrt();
    }
    // Rare: overflow, an infinite element, all zeros, or tiny values.
    let max = bufs.clone().flatten().fold(0.0f64, |m, &x| m.max(x.to_f64().abs()));
    if max == 0.0 || max.is_infinite() {
        return max;
    }
    max * sum_of_squares(bufs, max).sqrt()
}

/// Σ (g/divisor)² in the documented fixed order.
#[inline]
fn sum_of_squares<'a, T: Real>(bufs: impl Iterator<Item = &'a [T]>, divisor: f64) -> f64 {
    let mut total = 0.0;
    for buf in bufs {
        let mut acc = [0.0f64; 4];
        let mut chunks = buf.chunks_exact(4);
        for chunk in &mut chunks {
            for (a, &x) in acc.iter_mut().zip(chunk) {
                let v = x.to_f64() / divisor;
                *a += v * v;
            }
        }
        for (a, &x) in acc.iter_mut().zip(chunks.remainder()) {
            let v = x.to_f64() / divisor;
            *a += v * v;
        }
        total += (acc[0] + acc[1]) + (acc[2] + acc[3]);
    }
    total
}

#[track_caller]
fn check_threshold(who: &str, threshold: f64) {
    assert!(threshold > 0.0, "{who}: `threshold` must be > 0, got {threshold}");
}

/// Clips by global norm (Pascanu et al. 2013, Algorithm 1): computes ‖g‖ = [`global_norm`] of
/// all buffers and, if it is finite and ‖g‖ > `threshold`, scales every element by the same
/// factor c = threshold/‖g‖ (g ← c·g, computed as `f64` and rounded to `T`), so that the norm
/// becomes `threshold` and the direction is unchanged. Otherwise nothing changes: below the
/// threshold, and when ‖g‖ is NaN or infinite (the caller should treat that as divergence).
///
/// Returns the pre-clip norm ‖g‖.
///
/// # Panics
/// If `threshold` is not > 0 (NaN included). `threshold` = +∞ never clips.
#[track_caller]
pub fn clip_global_norm<T: Real>(bufs: &mut [&mut [T]], threshold: f64) -> f64 {
    check_threshold("clip::clip_global_norm", threshold);
    let norm = norm(bufs.iter().map(|b| &**b));
    if norm.is_finite() && norm > threshold {
        let factor = threshold / norm;
        for x in bufs.iter_mut().flat_map(|b| b.iter_mut()) {
            *x = T::from_f64(x.to_f64() * factor);
        }
    }
    norm
}

/// Clips element-wise: g ← min(max(g, −t), t) with t = `threshold` rounded to `T`; ±∞ are
/// clamped to ±t, NaN stays NaN.
///
/// Returns how many elements were changed (|g| > t).
///
/// # Panics
/// If `threshold` is not > 0 (NaN included).
#[track_caller]
pub fn clip_value<T: Real>(bufs: &mut [&mut [T]], threshold: f64) -> usize {
    check_threshold("clip::clip_value", threshold);
    let t = T::from_f64(threshold);
    let mut clamped = 0;
    for x in bufs.iter_mut().flat_map(|b| b.iter_mut()) {
        if *x > t {
            *x = t;
            clamped += 1;
        } else if *x < -t {
            *x = -t;
            clamped += 1;
        }
    }
    clamped
}
