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
use kernels::Parallelism;
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

criterion_group!(benches, rnn, reference, ceiling);
criterion_main!(benches);
