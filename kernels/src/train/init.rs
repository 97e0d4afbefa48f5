//! Seeded weight initialisers. Matrices are row-major n×n: `out[i * n + j]` is W_ij.
//!
//! Reproducibility: the same seed gives the same bits on every machine. The random stream is
//! ChaCha8 ([`rng_from_seed`]); every value is derived from its `next_u64` outputs by code in
//! this module that uses only integer operations, IEEE-754 basic arithmetic and `sqrt` in a
//! fixed order (no `rand` distributions, no `libm` functions, no fused multiply-add): the
//! normal sampler uses its own logarithm ([`standard_normal`]), the QR factorisation and the
//! spectral radius are plain loops. Values are computed in `f64` and rounded to `T` at the end.
//! The order in which the stream is consumed is documented for each function.

use super::linalg::spectral_radius;
use crate::real::Real;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

/// The random generator of all initialisers: ChaCha with 8 rounds (`rand_chacha` 0.10).
pub type SeedRng = ChaCha8Rng;

/// 2⁻⁵³, the spacing of the 53-bit grid the uniform samplers draw from.
const TWO_POW_M53: f64 = 1.0 / (1u64 << 53) as f64;

/// The generator for `seed`: `ChaCha8Rng::seed_from_u64(seed)` (the seed is expanded to 256 bits
/// by `rand_core`'s PCG32-based `seed_from_u64`).
pub fn rng_from_seed(seed: u64) -> SeedRng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// A uniform sample from [0, 1): u = ⌊x / 2¹¹⌋ · 2⁻⁵³ with x = `rng.next_u64()`, i.e. the top 53
/// bits of one 64-bit output. Exact: every value is a multiple of 2⁻⁵³.
pub fn uniform01(rng: &mut SeedRng) -> f64 {
    (rng.next_u64() >> 11) as f64 * TWO_POW_M53
}

/// A uniform sample from the open interval (-1, 1), symmetric about 0 and never 0:
/// v = (2k + 1 − 2⁵³) · 2⁻⁵³ with k the top 53 bits of one `next_u64`. Exact.
fn open_symmetric(rng: &mut SeedRng) -> f64 {
    let k = (rng.next_u64() >> 11) as i64;
    (2 * k + 1 - (1i64 << 53)) as f64 * TWO_POW_M53
}

/// A standard normal sample, N(0, 1), by Marsaglia's polar method: draw v₁, v₂ uniform on the
/// open interval (-1, 1) (one `next_u64` each; see the module docs), s = v₁² + v₂², reject and
/// redraw unless s < 1, return v₁·√(−2 ln s / s). Exact in distribution (up to the 2⁻⁵³ grid
/// of the uniforms); the second normal the pair would give is discarded, so there is no hidden
/// cached state; on average 2.55 words of the stream are used per sample.
///
/// ln is evaluated by a private port of fdlibm's `log` (IEEE basic arithmetic only, error
/// below 1 ulp), not the platform `libm`, so the result is the same on every machine.
pub fn standard_normal(rng: &mut SeedRng) -> f64 {
    loop {
        let v1 = open_symmetric(rng);
        let v2 = open_symmetric(rng);
        let s = v1 * v1 + v2 * v2;
        // s > 0: v1 is never 0.
        if s < 1.0 {
            return v1 * (-2.0 * ln(s) / s).sqrt();
        }
    }
}

// Constants of fdlibm's `log`, by their bits (fdlibm gives them in decimal and hex):
// ln 2 = LN2_HI + LN2_LO with LN2_HI's last 32 bits zero, and the coefficients Lg1..Lg7.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000); // 6.93147180369123816490e-01
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76); // 1.90821492927058770002e-10
const LG1: f64 = f64::from_bits(0x3fe5_5555_5555_5593); // 6.666666666666735130e-01
const LG2: f64 = f64::from_bits(0x3fd9_9999_9997_fa04); // 3.999999999940941908e-01
const LG3: f64 = f64::from_bits(0x3fd2_4924_9422_9359); // 2.857142874366239149e-01
const LG4: f64 = f64::from_bits(0x3fcc_71c5_1d8e_78af); // 2.222219843214978396e-01
const LG5: f64 = f64::from_bits(0x3fc7_4664_96cb_03de); // 1.818357216161805012e-01
const LG6: f64 = f64::from_bits(0x3fc3_9a09_d078_c69f); // 1.531383769920937332e-01
const LG7: f64 = f64::from_bits(0x3fc2_f112_df3e_5244); // 1.479819860511658591e-01

/// Natural logarithm of a positive normal `f64` with basic arithmetic only (so that it gives
/// the same bits everywhere): the algorithm and constants of FreeBSD's `e_log.c` (Sun fdlibm),
/// as simplified in musl. Write x = 2ᵏ(1 + f) with √2/2 ≤ 1 + f < √2, s = f/(2 + f); then
/// ln(1 + f) = f − f²/2 + s(f²/2 + R(s²)) with R(z) = Lg1·z + … + Lg7·z⁷ a minimax fit, and
/// ln x = k·ln 2 + ln(1 + f), ln 2 split into a high and a low part. Error below 1 ulp.
pub(crate) fn ln(x: f64) -> f64 {
    debug_assert!(x.is_normal() && x > 0.0);
    let bits = x.to_bits();
    // Reduce x into [√2/2, √2): shift the high word so that the exponent carries at √2.
    let hx = (bits >> 32) as u32 + (0x3ff0_0000 - 0x3fe6_a09e);
    let k = (hx >> 20) as i32 - 0x3ff;
    let hx = (hx & 0x000f_ffff) + 0x3fe6_a09e;
    let x = f64::from_bits((u64::from(hx) << 32) | (bits & 0xffff_ffff));
    let f = x - 1.0;
    let hfsq = 0.5 * f * f;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * (LG2 + w * (LG4 + w * LG6));
    let t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
    let r = t2 + t1;
    let dk = f64::from(k);
    s * (hfsq + r) + dk * LN2_LO - hfsq + f + dk * LN2_HI
}

/// A uniform integer in [0, m), unbiased (Lemire's multiply-and-reject on `next_u64`).
pub(crate) fn below(rng: &mut SeedRng, m: u64) -> u64 {
    debug_assert!(m > 0);
    let reject_under = m.wrapping_neg() % m; // 2⁶⁴ mod m
    loop {
        let product = u128::from(rng.next_u64()) * u128::from(m);
        if (product as u64) >= reject_under {
            return (product >> 64) as u64;
        }
    }
}

#[track_caller]
fn check_scale(who: &str, name: &str, value: f64) {
    assert!(value.is_finite() && value >= 0.0, "{who}: `{name}` must be finite and >= 0, got {value}");
}

#[track_caller]
fn check_square(who: &str, n: usize, out_len: usize) {
    assert!(n > 0, "{who}: `n` must be positive, got 0");
    assert!(out_len == n * n, "{who}: `out` has length {out_len}, expected n*n = {}", n * n);
}

/// Fills `out` with independent N(0, std²) samples: out_i = std · z_i, z_i from
/// [`standard_normal`] in index order.
///
/// # Panics
/// If `std` is negative or not finite.
#[track_caller]
pub fn gaussian<T: Real>(rng: &mut SeedRng, std: f64, out: &mut [T]) {
    check_scale("init::gaussian", "std", std);
    for x in out {
        *x = T::from_f64(std * standard_normal(rng));
    }
}

/// Fills `out` with independent U(−a, a) samples: out_i = a · v_i, v_i uniform on the open
/// interval (−1, 1) (the 2⁻⁵³ grid (2k + 1 − 2⁵³)·2⁻⁵³, one `next_u64` each, in index order).
/// In `f64` every value lies strictly inside (−a, a); rounding to `f32` can reach ±a.
///
/// # Panics
/// If `a` is negative or not finite.
#[track_caller]
pub fn uniform<T: Real>(rng: &mut SeedRng, a: f64, out: &mut [T]) {
    check_scale("init::uniform", "a", a);
    for x in out {
        *x = T::from_f64(a * open_symmetric(rng));
    }
}

/// Fills `out` (n×n) with ρ·Q, Q a Haar-random (uniformly distributed) orthogonal matrix, so
/// that every eigenvalue of ρ·Q has modulus ρ and every singular value is ρ.
///
/// Q comes from the QR factorisation G = QR of an n×n matrix G of [`standard_normal`] samples
/// (drawn row by row), computed in `f64` by Householder reflections; the columns of Q are then
/// multiplied by sign(R_jj) (sign 0 = +1), which makes the factorisation unique and Q exactly
/// Haar-distributed (Mezzadri 2007, "How to generate random matrices from the classical compact
/// groups"). In `f64`, ‖QᵀQ − I‖_max is a small multiple of n·ε.
///
/// # Panics
/// If `n` is 0, `out.len() != n*n`, or `rho` is negative or not finite.
#[track_caller]
pub fn orthogonal<T: Real>(rng: &mut SeedRng, n: usize, rho: f64, out: &mut [T]) {
    const WHO: &str = "init::orthogonal";
    check_square(WHO, n, out.len());
    check_scale(WHO, "rho", rho);
    let mut a: Vec<f64> = (0..n * n).map(|_| standard_normal(rng)).collect();
    // Householder QR: H_k = I − 2 u_k u_kᵀ maps column k of the remaining block to
    // (R_kk, 0, …, 0); u_k (unit, entries k..n) is stored in row k of `u`.
    let mut u = vec![0.0; n * n];
    let mut r_diag = vec![0.0; n];
    let mut w = vec![0.0; n];
    for k in 0..n {
        let norm = (k..n).map(|i| a[i * n + k] * a[i * n + k]).sum::<f64>().sqrt();
        if norm == 0.0 {
            continue; // H_k = I (u_k stays 0), R_kk = 0
        }
        let x0 = a[k * n + k];
        let alpha = if x0 >= 0.0 { -norm } else { norm };
        r_diag[k] = alpha;
        let uk = &mut u[k * n..(k + 1) * n];
        uk[k] = x0 - alpha;
        for i in k + 1..n {
            uk[i] = a[i * n + k];
        }
        let unorm = uk[k..].iter().map(|v| v * v).sum::<f64>().sqrt();
        for v in &mut uk[k..] {
            *v /= unorm;
        }
        apply_reflector(&mut a, n, &u[k * n..(k + 1) * n], k, &mut w);
    }
    // Q = H_0 H_1 … H_{n−1}, accumulated backwards onto the identity.
    let mut q = vec![0.0; n * n];
    for i in 0..n {
        q[i * n + i] = 1.0;
    }
    for k in (0..n).rev() {
        apply_reflector(&mut q, n, &u[k * n..(k + 1) * n], k, &mut w);
    }
    for i in 0..n {
        for j in 0..n {
            let sign = if r_diag[j] < 0.0 { -1.0 } else { 1.0 };
            out[i * n + j] = T::from_f64(rho * sign * q[i * n + j]);
        }
    }
}

/// m ← (I − 2uuᵀ) m on rows k..n and columns k..n of the n×n row-major `m`; `u` has length n and
/// is zero before index k (left of column k the rows involved are zero in both uses above).
fn apply_reflector(m: &mut [f64], n: usize, u: &[f64], k: usize, w: &mut [f64]) {
    // w = uᵀ m (columns k..n), accumulated row by row for contiguous access.
    w[k..].fill(0.0);
    for i in k..n {
        let ui = u[i];
        for (wj, &mij) in w[k..].iter_mut().zip(&m[i * n + k..(i + 1) * n]) {
            *wj += ui * mij;
        }
    }
    for i in k..n {
        let c = 2.0 * u[i];
        for (mij, &wj) in m[i * n + k..(i + 1) * n].iter_mut().zip(&w[k..]) {
            *mij -= c * wj;
        }
    }
}

/// Fills `out` (n×n) with scale·I: out_ij = scale if i = j, else 0.
///
/// # Panics
/// If `n` is 0, `out.len() != n*n`, or `scale` is not finite.
#[track_caller]
pub fn scaled_identity<T: Real>(n: usize, scale: f64, out: &mut [T]) {
    const WHO: &str = "init::scaled_identity";
    check_square(WHO, n, out.len());
    assert!(scale.is_finite(), "{WHO}: `scale` must be finite, got {scale}");
    out.fill(T::ZERO);
    for i in 0..n {
        out[i * n + i] = T::from_f64(scale);
    }
}

/// Fills `out` (n×n) with a sparse matrix of spectral radius ρ (Pascanu, Mikolov & Bengio 2013,
/// "On the difficulty of training recurrent neural networks": 15 nonzeros per row, ρ = 0.95,
/// for the tanh RNN).
///
/// Each row i gets k = `nonzeros_per_row` distinct columns, chosen uniformly by a partial
/// Fisher–Yates shuffle (Lemire's unbiased bounded integers), each followed by its value, an
/// N(0, 1) sample from [`standard_normal`]; rows are drawn in order. The matrix W is then
/// rescaled to ρ·W/ρ(W), with ρ(W) from [`spectral_radius`] in `f64`, so that its spectral
/// radius is ρ up to rounding. Every row has exactly k nonzeros (for ρ > 0: the normal
/// samples are never 0).
///
/// # Panics
/// If `n` is 0, `out.len() != n*n`, `nonzeros_per_row` is 0 or greater than n, `rho` is
/// negative or not finite, or the drawn W has spectral radius 0 (probability zero: every row
/// has a nonzero, so the graph of W has a cycle).
#[track_caller]
pub fn sparse<T: Real>(rng: &mut SeedRng, n: usize, nonzeros_per_row: usize, rho: f64, out: &mut [T]) {
    const WHO: &str = "init::sparse";
    check_square(WHO, n, out.len());
    let k = nonzeros_per_row;
    assert!(k > 0 && k <= n, "{WHO}: `nonzeros_per_row` = {k} must be in 1..=n = {n}");
    check_scale(WHO, "rho", rho);
    let mut w = vec![0.0; n * n];
    let mut cols: Vec<usize> = (0..n).collect();
    for row in w.chunks_exact_mut(n) {
        for j in 0..k {
            let pick = j + below(rng, (n - j) as u64) as usize;
            cols.swap(j, pick);
            row[cols[j]] = standard_normal(rng);
        }
    }
    let radius = spectral_radius(&w, n);
    assert!(radius > 0.0, "{WHO}: the drawn matrix has spectral radius {radius}; cannot rescale it");
    let factor = rho / radius;
    for (o, &v) in out.iter_mut().zip(&w) {
        *o = T::from_f64(v * factor);
    }
}
