//! How fast could a training call be, given that the once-per-sequence GEMMs
//! go through matrixmultiply (as the design mandates)? Compares, in one run:
//!
//! - `gemm`: the measured time of those GEMMs alone, at this shape
//!   (`fwd`: the input projection `[T·B, I] · [I, G·H]`; `fwd_bwd`: that, plus
//!   `dX = dG · W_ih`, `dW_ih = dGᵀ · X`, `dW_hh = dGᵀ · H_prev`);
//! - `step`: the per-step recurrent products (`h_{t-1} · W_hhᵀ`, and backward
//!   `dG_t · W_hh`) at the full FMA peak given as the first argument (GFLOP/s),
//!   i.e. an unreachable lower bound for the time loop;
//! - `floor = gemm + step`, our measured time, and the target time
//!   (best peer of `shared/peers.md` ÷ 2 at S1, S2, S5, ÷ 1.2 at S3, S4).
//!
//! `floor / target > 1` means the target cannot be met with matrixmultiply
//! doing those products, however fast the rest is. When the peers were timed,
//! matrixmultiply's sgemm 1024³ ran at 96 GFLOP/s on this machine (peers.md);
//! the run measures that ceiling first, and `floor @96` rescales the GEMM time
//! to it (`gemm · now / 96`), so a slower day does not inflate the verdict.
//! `cargo run --release -p benches --example floor -- [peak_gflops=117] [iterations=10]`.

use benches::{CELLS, Case, SHAPES};
use kernels::Parallelism;
use kernels::gemm::{MatRef, gemm};
use std::time::Instant;

/// Best peer of `shared/peers.md`, one thread, median ms: `[cell][shape] = (fwd, fwd_bwd)`.
#[allow(clippy::approx_constant)] // 6.28 ms is a measured time, not τ.
const PEERS: [[(f64, f64); 5]; 3] = [
    [(0.131, 0.469), (4.61, 17.8), (35.9, 124.0), (36.6, 134.0), (0.342, 1.99)],
    [(0.621, 1.731), (17.1, 53.8), (143.0, 459.0), (151.0, 495.0), (1.95, 6.28)],
    [(0.510, 1.145), (19.2, 51.9), (109.0, 388.0), (134.0, 454.0), (1.91, 4.70)],
];

/// Minimum over `iters` runs of `f` (after one untimed run), in seconds.
fn best(iters: usize, mut f: impl FnMut()) -> f64 {
    f();
    (0..iters)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let peak: f64 = args.first().map_or(117.0, |a| a.parse().expect("peak GFLOP/s"));
    let iters: usize = args.get(1).map_or(10, |a| a.parse().expect("iterations"));
    let n = 1024;
    let (a, mut c) = (vec![0.5f32; n * n], vec![0.0f32; n * n]);
    let sgemm = 2.0 * (n * n * n) as f64
        / best(5, || gemm(1.0, MatRef::row_major(&a, n, n), MatRef::row_major(&a, n, n), 0.0, &mut c, n))
        / 1e9;
    let to96 = sgemm / 96.0;
    println!(
        "one thread; FMA peak {peak} GFLOP/s; sgemm 1024³ now {sgemm:.1} GFLOP/s (96 in peers.md); ms, minimum of {iters} runs"
    );
    println!(
        "| cell | shape | mode | gemm | step @peak | floor | floor @96 | ours | target | floor @96/target | ours/target |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (ci, &(name, cell)) in CELLS.iter().enumerate() {
        for (si, &s) in SHAPES.iter().enumerate() {
            let (tb, i, h, gh) = (s.t * s.b, s.h, s.h, cell.gates() * s.h);
            let x = vec![0.5f32; tb * i];
            let h_prev = vec![0.5f32; tb * h];
            let dg = vec![0.25f32; tb * gh];
            let w_ih = vec![0.25f32; gh * i];
            let mut xg = vec![0.0f32; tb * gh];
            let mut dx = vec![0.0f32; tb * i];
            let mut dw_ih = vec![0.0f32; gh * i];
            let mut dw_hh = vec![0.0f32; gh * h];
            let mut case = Case::new(cell, s);
            let par = Parallelism::Sequential;
            for (mode, fwd_bwd) in [("fwd", false), ("fwd_bwd", true)] {
                let proj = best(iters, || {
                    gemm(1.0, MatRef::row_major(&x, tb, i), MatRef::row_major(&w_ih, gh, i).t(), 0.0, &mut xg, gh)
                });
                let mut gemm_s = proj;
                if fwd_bwd {
                    gemm_s += best(iters, || {
                        gemm(1.0, MatRef::row_major(&dg, tb, gh), MatRef::row_major(&w_ih, gh, i), 0.0, &mut dx, i)
                    });
                    gemm_s += best(iters, || {
                        gemm(1.0, MatRef::row_major(&dg, tb, gh).t(), MatRef::row_major(&x, tb, i), 0.0, &mut dw_ih, i)
                    });
                    gemm_s += best(iters, || {
                        gemm(
                            1.0,
                            MatRef::row_major(&dg, tb, gh).t(),
                            MatRef::row_major(&h_prev, tb, h),
                            0.0,
                            &mut dw_hh,
                            h,
                        )
                    });
                }
                let step_flops = 2.0 * (tb * h * gh) as f64 * if fwd_bwd { 2.0 } else { 1.0 };
                let step = step_flops / (peak * 1e9);
                let ours = best(iters, || {
                    std::hint::black_box(if fwd_bwd { case.forward_backward(par) } else { case.forward(par) });
                });
                let (pf, pfb) = PEERS[ci][si];
                let factor = if matches!(s.name, "S3" | "S4") { 1.2 } else { 2.0 };
                let target = (if fwd_bwd { pfb } else { pf }) / 1e3 / factor;
                let (floor, floor96) = (gemm_s + step, gemm_s * to96 + step);
                println!(
                    "| {name} | {} | {mode} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.2} | {:.2} |",
                    s.name,
                    gemm_s * 1e3,
                    step * 1e3,
                    floor * 1e3,
                    floor96 * 1e3,
                    ours * 1e3,
                    target * 1e3,
                    floor96 / target,
                    ours / target
                );
            }
        }
    }
}
