//! Temporary stand-ins for `kernels::{init, clip, regularize}`, which are being
//! written on another branch with exactly these signatures. Delete this module
//! (and switch the `use` lines to `kernels::…`) once they land.

/// Stand-in for `kernels::init`.
pub mod init {
    use kernels::Real;
    use rand_chacha::ChaCha8Rng;
    use rand_chacha::rand_core::{Rng, SeedableRng};

    /// The seeded generator used for all randomness.
    pub type SeedRng = ChaCha8Rng;

    /// A generator seeded from a `u64`.
    pub fn rng_from_seed(seed: u64) -> SeedRng {
        ChaCha8Rng::seed_from_u64(seed)
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn uniform01(rng: &mut SeedRng) -> f64 {
        (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal (Box–Muller).
    pub fn standard_normal(rng: &mut SeedRng) -> f64 {
        let u1 = 1.0 - uniform01(rng);
        let u2 = uniform01(rng);
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// i.i.d. `N(0, std²)`.
    pub fn gaussian<T: Real>(rng: &mut SeedRng, std: f64, out: &mut [T]) {
        for v in out {
            *v = T::from_f64(std * standard_normal(rng));
        }
    }

    /// i.i.d. `U[-a, a]`.
    pub fn uniform<T: Real>(rng: &mut SeedRng, a: f64, out: &mut [T]) {
        for v in out {
            *v = T::from_f64(a * (2.0 * uniform01(rng) - 1.0));
        }
    }

    /// `rho` times a random orthogonal `n×n` matrix (Gram–Schmidt of a gaussian one).
    pub fn orthogonal<T: Real>(rng: &mut SeedRng, n: usize, rho: f64, out: &mut [T]) {
        let mut q: Vec<f64> = (0..n * n).map(|_| standard_normal(rng)).collect();
        for i in 0..n {
            for j in 0..i {
                let d: f64 = (0..n).map(|k| q[i * n + k] * q[j * n + k]).sum();
                for k in 0..n {
                    q[i * n + k] -= d * q[j * n + k];
                }
            }
            let norm = (0..n).map(|k| q[i * n + k] * q[i * n + k]).sum::<f64>().sqrt();
            for k in 0..n {
                q[i * n + k] /= norm;
            }
        }
        for (o, v) in out.iter_mut().zip(q) {
            *o = T::from_f64(rho * v);
        }
    }

    /// `scale · I`.
    pub fn scaled_identity<T: Real>(n: usize, scale: f64, out: &mut [T]) {
        for (i, v) in out.iter_mut().enumerate() {
            *v = if i / n == i % n { T::from_f64(scale) } else { T::ZERO };
        }
    }

    /// `nonzeros_per_row` gaussian entries per row, rescaled to spectral radius `rho`.
    pub fn sparse<T: Real>(rng: &mut SeedRng, n: usize, nonzeros_per_row: usize, rho: f64, out: &mut [T]) {
        let mut a = vec![0.0; n * n];
        for row in a.chunks_exact_mut(n) {
            let mut placed = 0;
            while placed < nonzeros_per_row.min(n) {
                let j = ((uniform01(rng) * n as f64) as usize).min(n - 1);
                if row[j] == 0.0 {
                    row[j] = standard_normal(rng);
                    placed += 1;
                }
            }
        }
        let r = super::linalg::spectral_radius(&a, n);
        let s = if r > 0.0 { rho / r } else { 0.0 };
        for (o, v) in out.iter_mut().zip(a) {
            *o = T::from_f64(s * v);
        }
    }
}

/// Stand-in for `kernels::linalg`.
pub mod linalg {
    /// Spectral radius estimated by Gelfand's formula `‖A^k‖^{1/k}` (power
    /// iteration averaged over many steps; adequate for initialisation).
    pub fn spectral_radius(a: &[f64], n: usize) -> f64 {
        let mut v: Vec<f64> = (0..n).map(|i| 1.0 + (i as f64 * 0.618).fract()).collect();
        let norm0 = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        v.iter_mut().for_each(|x| *x /= norm0);
        let (warm, iters) = (200, 800);
        let mut log_growth = 0.0;
        for it in 0..warm + iters {
            let w: Vec<f64> = (0..n).map(|i| (0..n).map(|j| a[i * n + j] * v[j]).sum()).collect();
            let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm == 0.0 {
                return 0.0;
            }
            if it >= warm {
                log_growth += norm.ln();
            }
            v = w.into_iter().map(|x| x / norm).collect();
        }
        (log_growth / iters as f64).exp()
    }
}

/// Stand-in for `kernels::clip`.
pub mod clip {
    use kernels::Real;

    /// Euclidean norm of all buffers together.
    pub fn global_norm<T: Real>(bufs: &[&[T]]) -> f64 {
        bufs.iter().flat_map(|b| b.iter()).map(|v| v.to_f64() * v.to_f64()).sum::<f64>().sqrt()
    }

    /// Rescales all buffers to norm `threshold` when their norm exceeds it; returns the norm before.
    pub fn clip_global_norm<T: Real>(bufs: &mut [&mut [T]], threshold: f64) -> f64 {
        let norm = global_norm(&bufs.iter().map(|b| &**b).collect::<Vec<_>>());
        if norm > threshold {
            let s = T::from_f64(threshold / norm);
            bufs.iter_mut().flat_map(|b| b.iter_mut()).for_each(|v| *v *= s);
        }
        norm
    }

    /// Clamps every element to `[-threshold, threshold]`; returns how many were clamped.
    pub fn clip_value<T: Real>(bufs: &mut [&mut [T]], threshold: f64) -> usize {
        let t = T::from_f64(threshold);
        let mut n = 0;
        for v in bufs.iter_mut().flat_map(|b| b.iter_mut()) {
            if *v > t || *v < -t {
                *v = v.max(-t).min(t);
                n += 1;
            }
        }
        n
    }
}

/// Stand-in for `kernels::regularize`.
pub mod regularize {
    use kernels::Real;

    /// `λ Σ|w|`.
    pub fn l1_penalty<T: Real>(w: &[T], lambda: f64) -> f64 {
        lambda * w.iter().map(|v| v.to_f64().abs()).sum::<f64>()
    }

    /// `grad += λ sign(w)`.
    pub fn add_l1_grad<T: Real>(w: &[T], lambda: f64, grad: &mut [T]) {
        for (g, &v) in grad.iter_mut().zip(w) {
            let s = if v > T::ZERO {
                1.0
            } else if v < T::ZERO {
                -1.0
            } else {
                0.0
            };
            *g += T::from_f64(lambda * s);
        }
    }

    /// `(λ/2) Σ w²`.
    pub fn l2_penalty<T: Real>(w: &[T], lambda: f64) -> f64 {
        0.5 * lambda * w.iter().map(|v| v.to_f64() * v.to_f64()).sum::<f64>()
    }

    /// `grad += λ w`.
    pub fn add_l2_grad<T: Real>(w: &[T], lambda: f64, grad: &mut [T]) {
        for (g, &v) in grad.iter_mut().zip(w) {
            *g += T::from_f64(lambda) * v;
        }
    }
}
