//! The packed GEMM of the once-per-sequence products against matrixmultiply
//! (the oracle), at every SIMD level the host has: edge shapes (one row, one
//! column, `K = 1`, sizes past every block), transposed operands, `β = 0`
//! over NaN, accumulation, bitwise equality for every thread count, and the
//! documented summation order, bit for bit.

use crate::common::{fill, levels};
use kernels::internals::{gemm, gemm_matrixmultiply};
use kernels::simd::Level;

const SHAPES: &[(usize, usize, usize)] = &[
    // (m, n, k)
    (1, 1, 1),
    (1, 37, 5),
    (13, 1, 9),
    (7, 5, 1),
    (12, 32, 256),
    (25, 49, 257),
    (145, 33, 300),
    (300, 2050, 3),
    // Several `N` blocks with panels too big to keep in L1 (walked by row panels of `A`).
    (30, 1100, 270),
    (3, 70, 600),
    // Narrow products (run transposed when β = 0), one and several K blocks.
    (100, 3, 7),
    (40, 6, 300),
];

/// Max |ours − oracle| / max |oracle| over `C`.
fn rel(a: &[f64], b: &[f64]) -> f64 {
    let d = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    let s = b.iter().map(|y| y.abs()).fold(0.0, f64::max);
    d / s.max(1e-300)
}

#[test]
fn packed_gemm_matches_matrixmultiply_at_every_level() {
    for level in levels() {
        for &(m, n, k) in SHAPES {
            for trans_a in [false, true] {
                for trans_b in [false, true] {
                    let a = fill(m * k, 1);
                    let b = fill(k * n, 2);
                    let ast = if trans_a { (1, m) } else { (k, 1) };
                    let bst = if trans_b { (1, k) } else { (n, 1) };
                    for beta in [0.0, 1.0, -0.5] {
                        let c0: Vec<f64> = fill(m * n, 3);
                        let mut want = c0.clone();
                        gemm_matrixmultiply((m, n, k), 1.0, (&a, ast.0, ast.1), (&b, bst.0, bst.1), beta, &mut want, n);
                        let mut got = c0.clone();
                        if beta == 0.0 {
                            got.fill(f64::NAN); // β = 0 never reads C
                        }
                        gemm(level, 1, (m, n, k), 1.0, (&a, ast.0, ast.1), (&b, bst.0, bst.1), beta, &mut got, n);
                        let e = rel(&got, &want);
                        assert!(e < 1e-13, "{level:?} m={m} n={n} k={k} tA={trans_a} tB={trans_b} β={beta}: {e:e}");
                        // f32 too.
                        let a32: Vec<f32> = a.iter().map(|&v| v as f32).collect();
                        let b32: Vec<f32> = b.iter().map(|&v| v as f32).collect();
                        let mut w32: Vec<f32> = c0.iter().map(|&v| v as f32).collect();
                        let mut g32 = w32.clone();
                        gemm_matrixmultiply(
                            (m, n, k),
                            1.0,
                            (&a32, ast.0, ast.1),
                            (&b32, bst.0, bst.1),
                            beta as f32,
                            &mut w32,
                            n,
                        );
                        gemm(
                            level,
                            1,
                            (m, n, k),
                            1.0,
                            (&a32, ast.0, ast.1),
                            (&b32, bst.0, bst.1),
                            beta as f32,
                            &mut g32,
                            n,
                        );
                        let (g64, w64): (Vec<f64>, Vec<f64>) =
                            (g32.iter().map(|&v| v as f64).collect(), w32.iter().map(|&v| v as f64).collect());
                        let e = rel(&g64, &w64);
                        assert!(e < 1e-5, "f32 {level:?} m={m} n={n} k={k}: {e:e}");
                    }
                }
            }
        }
    }
}

#[test]
fn packed_gemm_is_bitwise_identical_for_every_thread_count() {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
    for level in levels() {
        let (m, n, k) = (301, 130, 700);
        let a: Vec<f32> = fill(m * k, 4).iter().map(|&v| v as f32).collect();
        let b: Vec<f32> = fill(k * n, 5).iter().map(|&v| v as f32).collect();
        let mut base = vec![0.0f32; m * n];
        gemm(level, 1, (m, n, k), 1.0, (&a, k, 1), (&b, n, 1), 0.0, &mut base, n);
        for threads in [2, 3, 4] {
            let mut c = vec![0.0f32; m * n];
            pool.install(|| gemm(level, threads, (m, n, k), 1.0, (&a, k, 1), (&b, n, 1), 0.0, &mut c, n));
            assert!(c == base, "{level:?}: {threads} threads differ");
        }
    }
}

/// The sum the packed GEMM computes for one element, `α = 1`, `β = 0`: one FMA
/// chain per block of `KC = 256` values of `k`, in order; the blocks added in order.
fn blocked_fma_sum(a: &[f32], b: &[f32]) -> f32 {
    let mut c = 0.0f32;
    for (q, (ab, bb)) in a.chunks(256).zip(b.chunks(256)).enumerate() {
        let acc = ab.iter().zip(bb).fold(0.0f32, |acc, (&x, &y)| x.mul_add(y, acc));
        c = if q == 0 { acc } else { c + acc };
    }
    c
}

/// Every element is the documented sum, bit for bit, whichever way the product
/// runs (wide; narrow, transposed through a buffer; operands transposed), at
/// the levels with FMA.
#[test]
fn packed_gemm_sums_in_the_documented_order() {
    for level in levels().into_iter().filter(|&l| l != Level::Scalar) {
        for &(m, n, k) in &[(37usize, 70usize, 600usize), (100, 3, 7), (40, 6, 300), (13, 1, 513)] {
            let a: Vec<f32> = fill(m * k, 6).iter().map(|&v| v as f32).collect();
            let b: Vec<f32> = fill(k * n, 7).iter().map(|&v| v as f32).collect();
            for (trans_a, trans_b) in [(false, false), (true, false), (false, true)] {
                // The operands stored as asked, holding the same matrices.
                let at: Vec<f32> =
                    if trans_a { (0..m * k).map(|x| a[(x % m) * k + x / m]).collect() } else { a.clone() };
                let bt: Vec<f32> =
                    if trans_b { (0..k * n).map(|x| b[(x % k) * n + x / k]).collect() } else { b.clone() };
                let ast = if trans_a { (1, m) } else { (k, 1) };
                let bst = if trans_b { (1, k) } else { (n, 1) };
                let mut c = vec![f32::NAN; m * n];
                gemm(level, 1, (m, n, k), 1.0, (&at, ast.0, ast.1), (&bt, bst.0, bst.1), 0.0, &mut c, n);
                for i in 0..m {
                    let row = &a[i * k..][..k];
                    for j in 0..n {
                        let col: Vec<f32> = (0..k).map(|kk| b[kk * n + j]).collect();
                        let want = blocked_fma_sum(row, &col);
                        assert!(
                            c[i * n + j].to_bits() == want.to_bits(),
                            "{level:?} {m}x{n}x{k} tA={trans_a} tB={trans_b} [{i}, {j}]: {} vs {want}",
                            c[i * n + j]
                        );
                    }
                }
            }
        }
    }
}
