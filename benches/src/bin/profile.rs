//! Runs one benchmark case in a loop, for profilers (`perf record`, callgrind)
//! and quick A/B checks on a noisy machine (the minimum over the runs is the
//! least disturbed one):
//! `cargo run --profile bench -p benches --bin profile -- <cell> <S1..S5|exp> <fwd|fwd_bwd> [threads] [iterations]`.
//!
//! For `fwd` it also times, interleaved, the input projection alone
//! (`T·B × I × G·H`, the same GEMM the forward calls), and reports what the
//! rest (the time loop) achieves.
//!
//! `profile gemm <M> <K> <N> [nn|nt|tn|tt]` times the packed GEMM alone.
//!
//! `profile table <threads> <out.json>` times every cell, shape and mode the way
//! `benches/peers/run_peers.py` times the peers (one warm-up, then the median of
//! at least 5 runs and 1 s), and writes the same JSON, with the FMA peak of the
//! best level, for `benches/peers/table.py`. `benches/peers/run_all.sh` runs it
//! pinned beside the peers.

use benches::{CELLS, Case, SHAPES};
use kernels::Parallelism;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("peak") {
        // The f32 FMA peak of this core at every level it has (best of 5).
        for level in kernels::simd::Level::ALL.into_iter().filter(|l| l.is_available()) {
            println!("fma peak {}: {:.1} GFLOP/s", level.name(), fma_peak(level));
        }
        return;
    }
    if args.first().map(String::as_str) == Some("gemm") {
        let dim = |i: usize| -> usize { args.get(i).and_then(|v| v.parse().ok()).expect("gemm M K N [nn|nt|tn]") };
        gemm(dim(1), dim(2), dim(3), args.get(4).map_or("nn", String::as_str));
        return;
    }
    if args.first().map(String::as_str) == Some("table") {
        let threads: usize = args.get(1).map_or(1, |t| t.parse().expect("threads"));
        let out = args.get(2).map_or("ours.json", String::as_str);
        table(threads, out);
        return;
    }
    if args.len() < 3 {
        eprintln!(
            "usage: profile <rnn_tanh|lstm|gru> <S1..S5|exp> <fwd|fwd_bwd> [threads] [iterations]\n       \
             profile peak | profile gemm <M> <K> <N> [nn|nt|tn|tt] | profile table <threads> <out.json>"
        );
        std::process::exit(2);
    }
    let cell = CELLS.iter().find(|(n, _)| *n == args[0]).expect("cell: rnn_tanh, lstm or gru").1;
    let s = *SHAPES.iter().chain([&benches::EXPERIMENT]).find(|s| s.name == args[1]).expect("shape: S1..S5 or exp");
    let input = if s.name == benches::EXPERIMENT.name { benches::EXPERIMENT_INPUT } else { s.h };
    let fwd_bwd = args[2] == "fwd_bwd";
    let threads: usize = args.get(3).map_or(1, |t| t.parse().expect("threads"));
    let iters: usize = args.get(4).map_or(10, |t| t.parse().expect("iterations"));
    let par = if threads == 1 { Parallelism::Sequential } else { Parallelism::Rayon(threads) };
    let mut case = Case::with_input(cell, s, input);
    let (m, k, n) = (s.t * s.b, input, cell.gates() * s.h);
    let a = vec![0.5f32; m * k];
    let b = vec![0.25f32; k * n];
    let mut c = vec![0.0f32; m * n];
    let (mut best, mut best_mm) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..iters {
        let t = Instant::now();
        let v = if fwd_bwd { case.forward_backward(par) } else { case.forward(par) };
        best = best.min(t.elapsed().as_secs_f64());
        std::hint::black_box(v);
        if !fwd_bwd {
            // The input projection alone, `X · W_ihᵀ` (`W_ih: [G·H, I]`), through the GEMM
            // the forward uses (our packed GEMM at the best level, on the same threads).
            let t = Instant::now();
            kernels::internals::gemm(
                kernels::simd::Level::best(),
                threads,
                (m, n, k),
                1.0,
                (&a, k, 1),
                (&b, 1, k),
                0.0,
                &mut c,
                n,
            );
            best_mm = best_mm.min(t.elapsed().as_secs_f64());
            std::hint::black_box(&c);
        }
    }
    let f = benches::flops_io(cell, s, input, fwd_bwd) as f64;
    print!("{} {} {} t{threads}: min {:.3} ms, {:.1} GFLOP/s", args[0], args[1], args[2], best * 1e3, f / best / 1e9);
    if !fwd_bwd {
        // Forward FLOPs: `2·T·B·I·G·H` in the projection, `2·T·B·H·G·H` in the loop.
        let proj = f * input as f64 / (input + s.h) as f64;
        print!(
            "; projection {:.3} ms {:.1} GFLOP/s; time loop ≈ {:.3} ms {:.1} GFLOP/s",
            best_mm * 1e3,
            proj / best_mm / 1e9,
            (best - best_mm) * 1e3,
            (f - proj) / (best - best_mm) / 1e9
        );
    }
    println!();
}

/// Times `C (M × N) ← A (M × K) · B (K × N)` in f32, one thread, at the best
/// level (minimum of 20 runs), with `A` and `B` stored as given (`n`) or
/// transposed (`t`): `nt` is the input projection `X · W_ihᵀ`, `tn` a weight
/// gradient `dGᵀ · X`, `nn` the input gradient `dG · W_ih`.
fn gemm(m: usize, k: usize, n: usize, form: &str) {
    let a = vec![0.5f32; m * k];
    let b = vec![0.25f32; k * n];
    let mut c = vec![0.0f32; m * n];
    let (ta, tb) = match form {
        "nn" => (false, false),
        "nt" => (false, true),
        "tn" => (true, false),
        "tt" => (true, true),
        _ => panic!("form: nn, nt, tn or tt"),
    };
    let sa = if ta { (&a[..], 1, m) } else { (&a[..], k, 1) };
    let sb = if tb { (&b[..], 1, k) } else { (&b[..], n, 1) };
    let level = kernels::simd::Level::best();
    let mut best = f64::INFINITY;
    for _ in 0..20 {
        let t = Instant::now();
        kernels::internals::gemm(level, 1, (m, n, k), 1.0, sa, sb, 0.0, &mut c, n);
        best = best.min(t.elapsed().as_secs_f64());
        std::hint::black_box(&c);
    }
    let f = 2.0 * (m * n * k) as f64;
    println!("gemm {m}x{k}x{n} {form} {}: min {:.3} ms, {:.1} GFLOP/s", level.name(), best * 1e3, f / best / 1e9);
}

/// The f32 FMA peak of this core at `level`, GFLOP/s (best of 5).
fn fma_peak(level: kernels::simd::Level) -> f64 {
    let (mut best, mut flops) = (f64::INFINITY, 0);
    for _ in 0..5 {
        let t = Instant::now();
        let (v, f) = kernels::internals::fma_peak(level, 1 << 22);
        best = best.min(t.elapsed().as_secs_f64());
        flops = f;
        std::hint::black_box(v);
    }
    flops as f64 / best / 1e9
}

/// Median milliseconds of `f` after one warm-up: at least 5 runs and 1 s, at
/// most 200 runs (the rule of `run_peers.py`).
fn median_ms(mut f: impl FnMut() -> f32) -> f64 {
    std::hint::black_box(f());
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < 5 || (start.elapsed().as_secs_f64() < 1.0 && times.len() < 200) {
        let t = Instant::now();
        std::hint::black_box(f());
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let n = times.len();
    if n % 2 == 1 { times[n / 2] } else { 0.5 * (times[n / 2 - 1] + times[n / 2]) }
}

/// Every cell, shape and mode at `threads`, written as `run_peers.py`'s JSON
/// (`"peer": "ours"`), with the one-core FMA peak of the level the kernels use.
fn table(threads: usize, out: &str) {
    let par = if threads == 1 { Parallelism::Sequential } else { Parallelism::Rayon(threads) };
    let level = kernels::simd::Level::best();
    let peak = fma_peak(level);
    let mut rows = Vec::new();
    for (name, cell) in CELLS {
        for s in SHAPES {
            let mut case = Case::new(cell, s);
            let fwd = median_ms(|| case.forward(par));
            let fwd_bwd = median_ms(|| case.forward_backward(par));
            eprintln!("ours {name} {} t{threads}: fwd {fwd:.3} ms, fwd_bwd {fwd_bwd:.3} ms", s.name);
            rows.push(format!(
                "  {{\"peer\": \"ours\", \"cell\": \"{name}\", \"shape\": \"{}\", \"threads\": {threads}, \"fwd_ms\": {fwd}, \"fwd_bwd_ms\": {fwd_bwd}}}",
                s.name
            ));
        }
    }
    let json = format!(
        "{{\"level\": \"{}\", \"fma_peak_gflops\": {peak}, \"results\": [\n{}\n]}}\n",
        level.name(),
        rows.join(",\n")
    );
    std::fs::write(out, json).unwrap_or_else(|e| panic!("writing {out}: {e}"));
}
