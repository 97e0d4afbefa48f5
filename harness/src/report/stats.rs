//! Statistics shared by the summary, the figures and the claims: quantiles, the Wilson score
//! interval, and the exact one-sided tests and the seeded bootstrap that claims use.
//!
//! Every test here is one-sided and returns the p-value of the observed data in the claimed
//! direction ("greater": the first sample is larger, or more often a success). All are exact
//! (sums over the test's null distribution in `f64`), except the bootstrap, which draws its
//! resamples from a ChaCha generator with a fixed seed, so that its result is the same bits on
//! every run and machine.

use kernels::train::init::{SeedRng, rng_from_seed, uniform01};

/// z for a two-sided 95% interval.
const Z95: f64 = 1.959_963_984_540_054;

/// The 95% Wilson score interval for `k` successes in `n` trials.
pub fn wilson(k: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (k, n, z2) = (k as f64, n as f64, Z95 * Z95);
    let p = k / n;
    let center = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((center - half).max(0.0), (center + half).min(1.0))
}

/// The `q` quantile of sorted values, linearly interpolated (`q` in `[0, 1]`).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    if sorted[lo] == sorted[hi] {
        // Also for infinite values, where the interpolation below would give NaN.
        return sorted[lo];
    }
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// `ln C(n, k)`, summed exactly in `f64` (no gamma function).
fn ln_choose(n: usize, k: usize) -> f64 {
    let k = k.min(n - k);
    (0..k).map(|i| ((n - i) as f64).ln() - ((i + 1) as f64).ln()).sum()
}

/// `P(X = k)` for `X ~ Binomial(n, p)`.
pub fn binomial_pmf(k: usize, n: usize, p: f64) -> f64 {
    if p == 0.0 {
        return f64::from(u8::from(k == 0));
    }
    if p == 1.0 {
        return f64::from(u8::from(k == n));
    }
    (ln_choose(n, k) + k as f64 * p.ln() + (n - k) as f64 * (1.0 - p).ln()).exp()
}

/// `P(X >= k)` for `X ~ Binomial(n, p)`.
pub fn binomial_upper(k: usize, n: usize, p: f64) -> f64 {
    (k..=n).map(|i| binomial_pmf(i, n, p)).sum::<f64>().min(1.0)
}

/// `P(X <= k)` for `X ~ Binomial(n, p)`.
pub fn binomial_lower(k: usize, n: usize, p: f64) -> f64 {
    (0..=k.min(n)).map(|i| binomial_pmf(i, n, p)).sum::<f64>().min(1.0)
}

/// The exact sign test: `plus` observations on the claimed side, `minus` on the other (ties
/// already dropped); `P(X >= plus)` for `X ~ Binomial(plus + minus, ½)`. With no observation
/// left, 1. McNemar's exact test is this test on the discordant pairs.
pub fn sign_test(plus: usize, minus: usize) -> f64 {
    binomial_upper(plus, plus + minus, 0.5)
}

/// Fisher's exact test, one-sided: `k1` successes of `n1` against `k2` of `n2`, alternative
/// "the first rate is larger". `P(X >= k1)` with `X` hypergeometric: `n1` draws from
/// `n1 + n2` with `k1 + k2` successes.
pub fn fisher_greater(k1: usize, n1: usize, k2: usize, n2: usize) -> f64 {
    let (n, k) = (n1 + n2, k1 + k2);
    let total = ln_choose(n, n1);
    let hi = k.min(n1);
    (k1..=hi)
        .filter(|&x| k - x <= n2)
        .map(|x| (ln_choose(k, x) + ln_choose(n - k, n1 - x) - total).exp())
        .sum::<f64>()
        .min(1.0)
}

/// Midranks (1-based, ties share their average rank) of `values`, doubled so that they are integers.
fn doubled_midranks(values: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]].total_cmp(&values[order[i]]).is_eq() {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share (i + j + 2) / 2; doubled: i + j + 2.
        for &o in &order[i..=j] {
            ranks[o] = i + j + 2;
        }
        i = j + 1;
    }
    ranks
}

/// The exact rank-sum (Wilcoxon–Mann–Whitney) test, one-sided "a tends to be larger than b":
/// the permutation distribution of the sum of `a`'s midranks over every way of choosing
/// `|a|` of the pooled values (exact with ties). Returns `(U, p)` with `U` the Mann–Whitney
/// statistic of `a` (pairs with `a > b`, ties counting ½).
pub fn rank_test_greater(a: &[f64], b: &[f64]) -> (f64, f64) {
    let pooled: Vec<f64> = a.iter().chain(b).copied().collect();
    let ranks = doubled_midranks(&pooled);
    let n1 = a.len();
    let observed: usize = ranks[..n1].iter().sum();
    let max_sum: usize = ranks.iter().sum();
    // ways[j][s]: subsets of j of the values seen so far with doubled rank sum s.
    let mut ways = vec![vec![0.0f64; max_sum + 1]; n1 + 1];
    ways[0][0] = 1.0;
    for &r in &ranks {
        for j in (1..=n1).rev() {
            for s in (r..=max_sum).rev() {
                let add = ways[j - 1][s - r];
                if add != 0.0 {
                    ways[j][s] += add;
                }
            }
        }
    }
    let total: f64 = ways[n1].iter().sum();
    let p = ways[n1][observed..].iter().sum::<f64>() / total;
    let u = observed as f64 / 2.0 - (n1 * (n1 + 1)) as f64 / 2.0;
    (u, p.min(1.0))
}

/// The median of values (sorted inside; NaN when empty).
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    quantile(&v, 0.5)
}

/// The seed of every bootstrap: the result depends on the data alone.
pub const BOOTSTRAP_SEED: u64 = 20_131_016;

/// A bootstrap of the median difference.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bootstrap {
    /// The observed median difference (paired: median of `a − b`; unpaired: `median(a) − median(b)`).
    pub estimate: f64,
    /// The one-sided `1 − alpha` percentile bound in the claimed direction (lower for "greater").
    pub bound: f64,
    /// `(k + 1) / (B + 1)`, `k` the resamples whose difference is on the wrong side of 0 or at 0.
    pub p: f64,
}

fn resample(rng: &mut SeedRng, v: &[f64]) -> Vec<f64> {
    (0..v.len()).map(|_| v[((uniform01(rng) * v.len() as f64) as usize).min(v.len() - 1)]).collect()
}

/// A seeded percentile bootstrap of the median difference, `resamples` times, claimed
/// direction `greater` (a > b) or not; paired (`a[i]` with `b[i]`) or not.
pub fn bootstrap_median(a: &[f64], b: &[f64], paired: bool, greater: bool, alpha: f64, resamples: usize) -> Bootstrap {
    let mut rng = rng_from_seed(BOOTSTRAP_SEED);
    let sign = if greater { 1.0 } else { -1.0 };
    let (estimate, stats): (f64, Vec<f64>) = if paired {
        let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
        (median(&d), (0..resamples).map(|_| median(&resample(&mut rng, &d))).collect())
    } else {
        let est = median(a) - median(b);
        (est, (0..resamples).map(|_| median(&resample(&mut rng, a)) - median(&resample(&mut rng, b))).collect())
    };
    let mut sorted = stats.clone();
    sorted.sort_by(f64::total_cmp);
    let bound = if greater { quantile(&sorted, alpha) } else { quantile(&sorted, 1.0 - alpha) };
    let wrong = stats.iter().filter(|&&s| (sign * s).partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)).count();
    Bootstrap { estimate, bound, p: (wrong + 1) as f64 / (resamples + 1) as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1e-300)
    }

    /// Hand-computed binomial tails: P(X >= 10 | 12, ½) = (66 + 12 + 1)/4096, and the sign
    /// test of 28 against 4 (the design's Fig. 6 pilot): (C(32,28) + ... + 1)/2³² = 41449/2³².
    #[test]
    fn binomial_and_sign_tests_match_hand_computed_tails() {
        assert!(close(binomial_upper(10, 12, 0.5), 79.0 / 4096.0));
        assert!(close(sign_test(28, 4), 41449.0 / 4_294_967_296.0));
        assert!(close(sign_test(12, 0), 0.5f64.powi(12)));
        assert_eq!(sign_test(0, 0), 1.0);
        // 0 of 50 at rate 0.2: 0.8^50; P(X <= 1 | 10, 0.3) = 0.7^10 + 10·0.3·0.7^9.
        assert!(close(binomial_lower(0, 50, 0.2), 0.8f64.powi(50)));
        assert!(close(binomial_lower(1, 10, 0.3), 0.7f64.powi(10) + 3.0 * 0.7f64.powi(9)));
        // McNemar as the sign test on discordant pairs: 6 for, 1 against: (7 + 1)/128.
        assert!(close(sign_test(6, 1), 8.0 / 128.0));
    }

    /// Fisher's tea-tasting table: 3 of 4 right against 1 of 4, one-sided p = 17/70; all
    /// right: 1/70; and a 12-of-12 against 0-of-12 table: 1/C(24, 12).
    #[test]
    fn fisher_matches_the_tea_tasting_table() {
        assert!(close(fisher_greater(3, 4, 1, 4), 17.0 / 70.0));
        assert!(close(fisher_greater(4, 4, 0, 4), 1.0 / 70.0));
        assert!(close(fisher_greater(12, 12, 0, 12), 1.0 / 2_704_156.0));
        assert!(close(fisher_greater(0, 5, 0, 5), 1.0));
        // scipy.stats.fisher_exact([[8, 2], [1, 5]], alternative="greater"): (9·21 + 7)/C(16, 10).
        assert!(close(fisher_greater(8, 10, 1, 6), 196.0 / 8008.0));
    }

    /// The exact rank-sum test against enumerations: all of a above all of b (5 and 5):
    /// 1/C(10, 5); scipy.stats.mannwhitneyu([19, 22, 16, 29, 24], [20, 11, 17, 12],
    /// alternative="greater", method="exact"): U = 17, p = 7/126; with ties, against
    /// a brute-force enumeration of the midrank sums.
    #[test]
    fn rank_test_matches_enumerations() {
        let (u, p) = rank_test_greater(&[6.0, 7.0, 8.0, 9.0, 10.0], &[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(u, 25.0);
        assert!(close(p, 1.0 / 252.0));
        let (u, p) = rank_test_greater(&[19.0, 22.0, 16.0, 29.0, 24.0], &[20.0, 11.0, 17.0, 12.0]);
        assert_eq!(u, 17.0);
        assert!(close(p, 7.0 / 126.0), "{p}");
        // Ties: a = [1, 2, 2], b = [2, 3]. Doubled midranks 2, 6, 6, 6, 10; a's sum 14, the
        // smallest of the 10 subsets of size 3 (sums 14 ×3, 18 ×4, 22 ×3): P(S >= 14) = 1.
        let (_, p) = rank_test_greater(&[1.0, 2.0, 2.0], &[2.0, 3.0]);
        assert!(close(p, 1.0));
        let (_, p) = rank_test_greater(&[2.0, 3.0], &[1.0, 2.0, 2.0]);
        // Subsets of size 2 (doubled sums): {2,6} ×3 = 8, {6,6} ×3 = 12, {2,10} = 12,
        // {6,10} ×3 = 16; observed 6 + 10 = 16: P(S >= 16) = 3/10.
        assert!(close(p, 0.3), "{p}");
    }

    #[test]
    fn bootstrap_is_reproducible_and_one_sided() {
        let a = [5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0];
        let b = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        let x = bootstrap_median(&a, &b, true, true, 0.05, 2000);
        assert_eq!(x, bootstrap_median(&a, &b, true, true, 0.05, 2000));
        assert_eq!(x.estimate, 4.0);
        assert!(x.bound == 4.0 && x.p == 1.0 / 2001.0, "{x:?}");
        let y = bootstrap_median(&b, &a, false, true, 0.05, 2000);
        assert!(y.estimate == -4.0 && y.bound < 0.0 && y.p > 0.9, "{y:?}");
    }

    #[test]
    fn wilson_interval_matches_known_values() {
        // 0 of 10: upper bound 0.2775; 5 of 10: [0.2366, 0.7634].
        let (lo, hi) = wilson(0, 10);
        assert!(lo == 0.0 && (hi - 0.2775).abs() < 1e-4, "{lo} {hi}");
        let (lo, hi) = wilson(5, 10);
        assert!((lo - 0.2366).abs() < 1e-4 && (hi - 0.7634).abs() < 1e-4, "{lo} {hi}");
    }

    #[test]
    fn quantiles_interpolate() {
        let v = [1.0, 2.0, 4.0, 8.0];
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 1.0), 8.0);
        assert_eq!(quantile(&v, 0.5), 3.0);
        assert_eq!(quantile(&[1.0, f64::INFINITY, f64::INFINITY], 0.5), f64::INFINITY);
        assert_eq!(quantile(&[1.0, 2.0, f64::INFINITY, f64::INFINITY], 0.5), f64::INFINITY);
    }
}
