//! Not part of the API: entry points to private kernels, for the integration
//! tests (every SIMD level against a plain computation) and the benchmarks.
//! Each one checks its arguments and runs a non-generic `f32` or `f64`
//! instantiation (see [`crate::Rnn::forward`]).

use crate::Activation;
use crate::activation::{self, MapOp};
use crate::gemm::{self, MatRef};
use crate::real::{Real, cast, cast_mut};
use crate::simd::{Level, panels};

/// `y[i] = e^{x[i]}` with the kernels' vector `exp`, at `level`.
#[track_caller]
pub fn map_exp<T: Real>(level: Level, x: &[T], y: &mut [T]) {
    map(level, MapOp::Exp, x, y);
}

/// `y[i] = f(x[i])` with the kernels' lane-wise activation, at `level`.
#[track_caller]
pub fn map_activation<T: Real>(level: Level, act: Activation, x: &[T], y: &mut [T]) {
    map(level, MapOp::Apply(act), x, y);
}

/// `d[i] = f'` from the outputs `h[i] = f(a_i)`, lane-wise, at `level`.
#[track_caller]
pub fn map_derivative<T: Real>(level: Level, act: Activation, h: &[T], d: &mut [T]) {
    map(level, MapOp::Derivative(act), h, d);
}

#[track_caller]
fn map<T: Real>(level: Level, op: MapOp, x: &[T], y: &mut [T]) {
    assert!(level.is_available(), "map: level {level:?} unavailable");
    assert_eq!(x.len(), y.len(), "map: `x` and `y` differ in length");
    if T::IS_F32 { map_f32(level, op, cast(x), cast_mut(y)) } else { map_f64(level, op, cast(x), cast_mut(y)) }
}

#[inline(never)]
fn map_f32(level: Level, op: MapOp, x: &[f32], y: &mut [f32]) {
    activation::map(level, op, x, y);
}

#[inline(never)]
fn map_f64(level: Level, op: MapOp, x: &[f64], y: &mut [f64]) {
    activation::map(level, op, x, y);
}

/// `Y = X · Wᵀ` through the forward (gate-interleaved) panels of the time loop:
/// `W: [G·H, K]`, `X: [B, K]`, `Y: [B, G·H]`, row-major, at `level`.
/// Allocates its packing buffers.
#[track_caller]
#[allow(clippy::too_many_arguments)]
pub fn gate_product<T: Real>(
    level: Level,
    w: &[T],
    gates: usize,
    hidden: usize,
    k: usize,
    x: &[T],
    b: usize,
    y: &mut [T],
) {
    assert!(level.is_available(), "gate_product: level {level:?} unavailable");
    assert_eq!(w.len(), gates * hidden * k, "gate_product: `w` must be G*H*K");
    assert_eq!(x.len(), b * k, "gate_product: `x` must be B*K");
    assert_eq!(y.len(), b * gates * hidden, "gate_product: `y` must be B*G*H");
    if b == 0 || hidden == 0 || gates == 0 {
        return;
    }
    if k == 0 {
        y.fill(T::ZERO);
        return;
    }
    if T::IS_F32 {
        gate_product_f32(level, cast(w), gates, hidden, k, cast(x), b, cast_mut(y));
    } else {
        gate_product_f64(level, cast(w), gates, hidden, k, cast(x), b, cast_mut(y));
    }
}

#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn gate_product_f32(level: Level, w: &[f32], g: usize, h: usize, k: usize, x: &[f32], b: usize, y: &mut [f32]) {
    panels::gate_product(level, w, g, h, k, x, b, y);
}

#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn gate_product_f64(level: Level, w: &[f64], g: usize, h: usize, k: usize, x: &[f64], b: usize, y: &mut [f64]) {
    panels::gate_product(level, w, g, h, k, x, b, y);
}

/// `Y = A · W` through the backward (column) panels of the time loop:
/// `W: [R, N]`, `A: [B, R]`, `Y: [B, N]`, row-major, at `level`. Allocates its
/// packing buffers.
#[track_caller]
pub fn col_product<T: Real>(level: Level, w: &[T], r: usize, n: usize, a: &[T], b: usize, y: &mut [T]) {
    assert!(level.is_available(), "col_product: level {level:?} unavailable");
    assert_eq!(w.len(), r * n, "col_product: `w` must be R*N");
    assert_eq!(a.len(), b * r, "col_product: `a` must be B*R");
    assert_eq!(y.len(), b * n, "col_product: `y` must be B*N");
    if b == 0 || n == 0 {
        return;
    }
    if r == 0 {
        y.fill(T::ZERO);
        return;
    }
    if T::IS_F32 {
        col_product_f32(level, cast(w), r, n, cast(a), b, cast_mut(y));
    } else {
        col_product_f64(level, cast(w), r, n, cast(a), b, cast_mut(y));
    }
}

#[inline(never)]
fn col_product_f32(level: Level, w: &[f32], r: usize, n: usize, a: &[f32], b: usize, y: &mut [f32]) {
    panels::col_product(level, w, r, n, a, b, y);
}

#[inline(never)]
fn col_product_f64(level: Level, w: &[f64], r: usize, n: usize, a: &[f64], b: usize, y: &mut [f64]) {
    panels::col_product(level, w, r, n, a, b, y);
}

/// `out[j] (+)= Σ_i m[i, j]` over the rows of the `rows × cols` matrix
/// `m[i, j] = data[i·rs + j·cs]`, the column sums the bias gradients use.
pub fn col_sums<T: Real>(data: &[T], rows: usize, cols: usize, rs: usize, cs: usize, out: &mut [T], accumulate: bool) {
    gemm::col_sums(MatRef { data, rows, cols, rs, cs }, out, accumulate);
}

/// The private natural logarithm of the normal sampler (`train::init`).
#[cfg(feature = "train")]
pub fn ln(x: f64) -> f64 {
    crate::train::init::ln(x)
}

/// The private `below(n)` integer sampler of `train::init`.
#[cfg(feature = "train")]
pub fn below(rng: &mut crate::train::init::SeedRng, n: u64) -> u64 {
    crate::train::init::below(rng, n)
}

/// The f32 FMA peak of one core at `level`: `iters` rounds of 12 independent
/// vector FMA chains (enough to cover the FMA latency, 4 cycles on 2 pipes, on
/// every core this crate knows, and few enough to stay in AVX2's 16 registers
/// beside the two operands: 16 chains spilled there and read 54-89 GFLOP/s,
/// against 102-103 with 12 on the same AMD EPYC core, 117 nominal). Returns a
/// value to keep the work alive and the FLOPs done (2 per lane per FMA). Time
/// it to get the machine's peak, so that shares of peak need no number from
/// elsewhere.
pub fn fma_peak(level: Level, iters: usize) -> (f32, u64) {
    struct Peak {
        iters: usize,
    }
    impl pulp::WithSimd for Peak {
        type Output = (f32, u64);
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, s: S) -> (f32, u64) {
            const CHAINS: usize = 12;
            let mut acc = [s.splat_f32s(0.0); CHAINS];
            let (a, b) = (s.splat_f32s(0.999_999), s.splat_f32s(1e-7));
            for _ in 0..self.iters {
                for c in &mut acc {
                    *c = s.mul_add_e_f32s(*c, a, b);
                }
            }
            let sum = acc.iter().fold(s.splat_f32s(0.0), |x, &y| s.add_f32s(x, y));
            (s.reduce_sum_f32s(sum), (self.iters * CHAINS * 2 * S::F32_LANES) as u64)
        }
    }
    assert!(level.is_available(), "fma_peak: level {level:?} unavailable");
    crate::simd::dispatch(level, Peak { iters })
}

/// `C ← α A B + β C` through the crate's packed GEMM at `level`: `A[i, k] =
/// a[i·rsa + k·csa]` (`m × k`), `B[k, j] = b[k·rsb + j·csb]` (`k × n`), `C`
/// row-major with row stride `ldc`, split by rows between `threads` parts.
#[allow(clippy::too_many_arguments)]
pub fn gemm<T: Real>(
    level: Level,
    threads: usize,
    (m, n, k): (usize, usize, usize),
    alpha: T,
    (a, rsa, csa): (&[T], usize, usize),
    (b, rsb, csb): (&[T], usize, usize),
    beta: T,
    c: &mut [T],
    ldc: usize,
) {
    assert!(level.is_available(), "gemm: level {level:?} unavailable");
    let a = MatRef { data: a, rows: m, cols: k, rs: rsa, cs: csa };
    let b = MatRef { data: b, rows: k, cols: n, rs: rsb, cs: csb };
    gemm::par_gemm(level, threads, alpha, a, b, beta, c, ldc, None);
}

/// The same product through matrixmultiply (the oracle).
#[allow(clippy::too_many_arguments)]
pub fn gemm_matrixmultiply<T: Real>(
    (m, n, k): (usize, usize, usize),
    alpha: T,
    (a, rsa, csa): (&[T], usize, usize),
    (b, rsb, csb): (&[T], usize, usize),
    beta: T,
    c: &mut [T],
    ldc: usize,
) {
    let a = MatRef { data: a, rows: m, cols: k, rs: rsa, cs: csa };
    let b = MatRef { data: b, rows: k, cols: n, rs: rsb, cs: csb };
    gemm::gemm_matrixmultiply(alpha, a, b, beta, c, ldc);
}
