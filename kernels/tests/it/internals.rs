//! Private helpers reached through `kernels::internals`: the bias-gradient
//! column sums and the samplers' integer and logarithm building blocks.

use kernels::internals::{below, col_sums, ln};
use kernels::train::init::{rng_from_seed, uniform01};

#[test]
fn col_sums_contiguous_strided_and_accumulating() {
    // 5 × 3, m[i, j] = 10 i + j; its transpose viewed without a copy.
    let data: Vec<f64> = (0..5).flat_map(|i| (0..3).map(move |j| (10 * i + j) as f64)).collect();
    let expect = [100.0, 105.0, 110.0];
    let mut out = [7.0; 3];
    col_sums(&data, 5, 3, 3, 1, &mut out, false);
    assert_eq!(out, expect);
    col_sums(&data, 5, 3, 3, 1, &mut out, true);
    assert_eq!(out, expect.map(|v| 2.0 * v));
    // Columns of mᵀ are the rows of m: sums 3, 33, 63, 93, 123.
    let mut out_t = [0.0; 5];
    col_sums(&data, 3, 5, 1, 3, &mut out_t, false);
    assert_eq!(out_t, [3.0, 33.0, 63.0, 93.0, 123.0]);
    // A column window of the contiguous matrix (row stride 3, 2 columns).
    let mut out_w = [0.0; 2];
    col_sums(&data[1..], 5, 2, 3, 1, &mut out_w, false);
    assert_eq!(out_w, [105.0, 110.0]);
}

/// The private logarithm agrees with the platform's (itself within 1 ulp of the truth) to
/// 1 ulp, over the range the polar method uses, beyond it, and at powers of two.
#[test]
fn ln_matches_std_within_one_ulp() {
    let mut rng = rng_from_seed(7);
    let powers = (-1000..1000).map(|e| 2f64.powi(e));
    let samples = (0..200_000).map(|i| if i % 2 == 0 { uniform01(&mut rng) } else { 1.0 + 1e6 * uniform01(&mut rng) });
    let mut worst = 0u64;
    for x in powers.chain(samples).filter(|&x| x > 0.0) {
        let (ours, theirs) = (ln(x), x.ln());
        assert_eq!(ours.is_sign_negative(), theirs.is_sign_negative(), "ln({x})");
        worst = worst.max(ours.to_bits().abs_diff(theirs.to_bits()));
    }
    assert!(worst <= 1, "ln differs from std by {worst} ulp");
    assert_eq!(ln(1.0), 0.0);
}

#[test]
fn below_is_in_range_and_covers_it() {
    let mut rng = rng_from_seed(3);
    let mut seen = [0usize; 7];
    for _ in 0..7000 {
        seen[below(&mut rng, 7) as usize] += 1;
    }
    assert!(seen.iter().all(|&c| (800..1200).contains(&c)), "{seen:?}");
}
