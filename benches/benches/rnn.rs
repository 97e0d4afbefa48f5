//! `cargo bench` (at the workspace root) runs this target.
//!
//! Ids `<cell>/<mode>/T<T>_B<B>_H<H>/t<threads>`: cell `rnn_tanh | lstm | gru`,
//! mode `fwd` (inference forward over the sequence) or `fwd_bwd` (training
//! forward + backward with the gradients of every weight, bias and the input,
//! loss = sum of all outputs), `f32`, `I = H`, `h0 = 0`, one or two threads.
//! Throughput is in FLOPs ("elements"): `2·T·B·(I+H)·G·H` for `fwd`, three
//! times that for `fwd_bwd`. For context: `reference/...` (the scalar oracle
//! `kernels::reference`, small shapes only) and `ceiling/sgemm/...`
//! (matrixmultiply on the products a step or a sequence needs).
//!
//! Two threads run in a dedicated two-thread rayon pool with
//! `Parallelism::Rayon(2)`; one thread is `Parallelism::Sequential`.

use benches::{CELLS, Case, SHAPES, flops};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kernels::{BackwardOpts, Cell, Dims, PackedWeights, Parallelism, Rnn, Stack, State, StepOut, Weights};
use std::hint::black_box;
use std::time::Duration;

fn rnn(c: &mut Criterion) {
    let pool2 = rayon::ThreadPoolBuilder::new().num_threads(2).build().expect("two-thread pool");
    for (cell_name, cell) in CELLS {
        for (mode, fwd_bwd) in [("fwd", false), ("fwd_bwd", true)] {
            let mut g = c.benchmark_group(format!("{cell_name}/{mode}"));
            g.warm_up_time(Duration::from_secs(1));
            g.measurement_time(Duration::from_secs(3));
            g.sample_size(10);
            for s in SHAPES {
                g.throughput(Throughput::Elements(flops(cell, s, fwd_bwd)));
                let mut case = Case::new(cell, s);
                g.bench_function(BenchmarkId::new(s.id(), "t1"), |bch| {
                    bch.iter(|| {
                        black_box(if fwd_bwd {
                            case.forward_backward(Parallelism::Sequential)
                        } else {
                            case.forward(Parallelism::Sequential)
                        })
                    })
                });
                g.bench_function(BenchmarkId::new(s.id(), "t2"), |bch| {
                    pool2.install(|| {
                        bch.iter(|| {
                            black_box(if fwd_bwd {
                                case.forward_backward(Parallelism::Rayon(2))
                            } else {
                                case.forward(Parallelism::Rayon(2))
                            })
                        })
                    })
                });
            }
            g.finish();
        }
    }
}

/// The shape the experiments train at (temporal order: T = 60, B = 20,
/// H = 100, vanilla tanh, I = 6 inputs), forward + backward, one thread:
/// `experiment/rnn_tanh/fwd_bwd/T60_B20_H100_I6/t1`.
fn experiment(c: &mut Criterion) {
    let mut g = c.benchmark_group("experiment/rnn_tanh/fwd_bwd");
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));
    g.sample_size(10);
    let s = benches::EXPERIMENT;
    let cell = Cell::Rnn(kernels::Activation::Tanh);
    g.throughput(Throughput::Elements(benches::flops_io(cell, s, benches::EXPERIMENT_INPUT, true)));
    let mut case = Case::with_input(cell, s, benches::EXPERIMENT_INPUT);
    g.bench_function(BenchmarkId::new(format!("{}_I{}", s.id(), benches::EXPERIMENT_INPUT), "t1"), |b| {
        b.iter(|| black_box(case.forward_backward(Parallelism::Sequential)))
    });
    g.finish();
}

fn reference(c: &mut Criterion) {
    // The scalar oracle is slow: S1 and S5 only.
    for (cell_name, cell) in CELLS {
        for (mode, fwd_bwd) in [("fwd", false), ("fwd_bwd", true)] {
            let mut g = c.benchmark_group(format!("reference/{cell_name}/{mode}"));
            g.warm_up_time(Duration::from_secs(1));
            g.measurement_time(Duration::from_secs(3));
            g.sample_size(10);
            for s in [SHAPES[0], SHAPES[4]] {
                g.throughput(Throughput::Elements(flops(cell, s, fwd_bwd)));
                let case = Case::new(cell, s);
                g.bench_function(BenchmarkId::new(s.id(), "t1"), |bch| bch.iter(|| black_box(case.reference(fwd_bwd))));
            }
            g.finish();
        }
    }
}

/// The f32 FMA peak of one core of the machine the benchmarks run on, at every
/// SIMD level it has (`ceiling/fma/<level>`): the denominator of every share
/// of peak quoted in `benches/README.md`.
fn fma(c: &mut Criterion) {
    let mut g = c.benchmark_group("ceiling/fma");
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(2));
    g.sample_size(10);
    let iters = 1 << 20;
    for level in kernels::simd::Level::ALL.into_iter().filter(|l| l.is_available()) {
        g.throughput(Throughput::Elements(kernels::internals::fma_peak(level, 1).1 * iters as u64));
        g.bench_function(level.name(), |b| b.iter(|| black_box(kernels::internals::fma_peak(level, iters))));
    }
    g.finish();
}

fn ceiling(c: &mut Criterion) {
    // matrixmultiply sgemm, one thread, on a step's product (B × H × 4H) and a
    // sequence's input projection (T·B × H × 4H) of each shape, and 1024³.
    let mut g = c.benchmark_group("ceiling/sgemm");
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(2));
    g.sample_size(10);
    let mut shapes: Vec<(usize, usize, usize)> = Vec::new();
    for s in SHAPES {
        shapes.push((s.b, s.h, 4 * s.h));
        shapes.push((s.t * s.b, s.h, 4 * s.h));
    }
    shapes.push((1024, 1024, 1024));
    for (m, k, n) in shapes {
        let a = vec![0.5f32; m * k];
        let b = vec![0.25f32; k * n];
        let mut out = vec![0.0f32; m * n];
        g.throughput(Throughput::Elements((2 * m * k * n) as u64));
        g.bench_function(format!("{m}x{k}x{n}"), |bch| {
            bch.iter(|| {
                // SAFETY: a: m×k, b: k×n, out: m×n, all row-major and distinct.
                unsafe {
                    matrixmultiply::sgemm(
                        m,
                        k,
                        n,
                        1.0,
                        a.as_ptr(),
                        k as isize,
                        1,
                        b.as_ptr(),
                        n as isize,
                        1,
                        0.0,
                        out.as_mut_ptr(),
                        n as isize,
                        1,
                    )
                };
                black_box(out[0])
            })
        });
    }
    g.finish();
}

/// A 2-layer bidirectional LSTM (`I = H`) at S2 and S3, forward and
/// forward + backward, one and two threads (the two directions of a layer run
/// at the same time on two threads). Ids `stack/lstm_l2_bidi/<mode>/<shape>/t<threads>`.
fn stack(c: &mut Criterion) {
    let pool2 = rayon::ThreadPoolBuilder::new().num_threads(2).build().expect("two-thread pool");
    for (mode, fwd_bwd) in [("fwd", false), ("fwd_bwd", true)] {
        let mut g = c.benchmark_group(format!("stack/lstm_l2_bidi/{mode}"));
        g.warm_up_time(Duration::from_secs(1));
        g.measurement_time(Duration::from_secs(3));
        g.sample_size(10);
        for s in [SHAPES[1], SHAPES[2]] {
            let stack = Stack::new(Cell::Lstm, s.h, s.h, 2, true);
            let dims = Dims::new(s.t, s.b);
            let w: Vec<Weights<f32>> = Weights::zeros_for(&stack)
                .into_iter()
                .map(|mut w| {
                    for (k, v) in w.w_hh.iter_mut().enumerate() {
                        *v = ((k % 13) as f32 - 6.0) * 0.01;
                    }
                    w
                })
                .collect();
            let x = vec![0.5f32; s.t * s.b * s.h];
            // Layer 0 is I x 4H per direction, layer 1 2H x 4H: 3 / 2 of a single layer's projection FLOPs.
            let per_layer = 2 * s.t * s.b * 4 * s.h;
            let fwd = 2 * (per_layer * (s.h + s.h) + per_layer * (2 * s.h + s.h));
            g.throughput(Throughput::Elements((if fwd_bwd { 3 * fwd } else { fwd }) as u64));
            let d_out = vec![1.0f32; s.t * s.b * 2 * s.h];
            let run = |par: Parallelism| {
                if fwd_bwd {
                    let t = stack.forward_train(&w, dims, &x, None, None, par);
                    let up = kernels::StackUpstream { d_output: Some(&d_out), dh_n: None, dc_n: None };
                    black_box(stack.backward_trace(&w, t, up, BackwardOpts::default(), par).dx[0])
                } else {
                    black_box(stack.forward_infer(&w, dims, &x, None, None, par).output[0])
                }
            };
            g.bench_function(BenchmarkId::new(s.id(), "t1"), |b| b.iter(|| run(Parallelism::Sequential)));
            g.bench_function(BenchmarkId::new(s.id(), "t2"), |b| {
                pool2.install(|| b.iter(|| run(Parallelism::Rayon(2))))
            });
        }
        g.finish();
    }
}

/// A decode loop of 64 single steps (`B = 1`, LSTM, `I = H = 256`) on
/// weights packed once (`decode/packed`) against a one-step `Rnn::forward`
/// per token, which packs `W_hh` and projects through a GEMM at every call
/// (`decode/repack`).
fn decode(c: &mut Criterion) {
    let (steps, h) = (64, 256);
    let rnn = Rnn::new(Cell::Lstm, h, h);
    let mut w = Weights::<f32>::zeros(&rnn);
    for (k, v) in w.w_hh.iter_mut().enumerate() {
        *v = ((k % 13) as f32 - 6.0) * 0.01;
    }
    let packed = PackedWeights::new(&rnn, w.view());
    let xs = vec![0.25f32; steps * h];
    let mut g = c.benchmark_group("decode/lstm_h256_b1_64steps");
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));
    g.sample_size(10);
    g.throughput(Throughput::Elements((steps * 2 * (h + h) * 4 * h) as u64));
    let (mut hs, mut cs) = ([vec![0.0f32; h], vec![0.0f32; h]], [vec![0.0f32; h], vec![0.0f32; h]]);
    let mut scratch = vec![0.0f32; packed.step_scratch_len(1).max(rnn.forward_scratch_len(Dims::new(1, 1), false))];
    g.bench_function("packed", |b| {
        b.iter(|| {
            for t in 0..steps {
                let ([h0, h1], [c0, c1]) = (&mut hs, &mut cs);
                let (prev, next) = if t % 2 == 0 { ((&*h0, &*c0), (h1, c1)) } else { ((&*h1, &*c1), (h0, c0)) };
                let x = &xs[t * h..][..h];
                packed.step(
                    x,
                    State { h: prev.0, c: Some(prev.1) },
                    StepOut { h: next.0, c: Some(next.1) },
                    &mut scratch,
                    Parallelism::Sequential,
                );
            }
            black_box(hs[0][0])
        })
    });
    g.bench_function("repack", |b| {
        b.iter(|| {
            for t in 0..steps {
                let ([h0, h1], [c0, c1]) = (&mut hs, &mut cs);
                let (prev, next) = if t % 2 == 0 { ((&*h0, &*c0), (h1, c1)) } else { ((&*h1, &*c1), (h0, c0)) };
                let x = &xs[t * h..][..h];
                rnn.forward(
                    w.view(),
                    Dims::new(1, 1),
                    x,
                    State { h: prev.0, c: Some(prev.1) },
                    kernels::ForwardOut { h_out: next.0, h_n: None, c_n: Some(next.1), tape: None },
                    &mut scratch,
                    Parallelism::Sequential,
                );
            }
            black_box(hs[0][0])
        })
    });
    g.finish();
}

criterion_group!(benches, rnn, experiment, reference, fma, ceiling, stack, decode);
criterion_main!(benches);
